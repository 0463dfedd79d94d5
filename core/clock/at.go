package clock

// At returns the instant a live timer is due, or 0 when id is not
// scheduled (fired, cancelled, or 0). Session snapshots (core/snapshot.go)
// carry timers as instants.
func (t *Timers[T]) At(id TimerID) Instant {
	if l, ok := t.live[id]; ok {
		return l.at
	}
	return 0
}
