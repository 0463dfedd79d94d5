// Package clock owns the core's notion of time: an Instant supplied by the host
// and a deadline table (Timers). It never reads a clock: every instant comes in
// as an argument (STYLE.md §3, "Time is an argument").
//
// It may import only the standard library's pure packages.
package clock

import (
	"container/heap"
	"time"
)

// Instant is a point on the host's monotonic clock, in nanoseconds. Zero means
// "no instant" (no deadline scheduled).
type Instant int64

// Add returns i+d.
func (i Instant) Add(d time.Duration) Instant { return i + Instant(d) }

// Sub returns i-j as a Duration.
func (i Instant) Sub(j Instant) time.Duration { return time.Duration(i - j) }

// Before reports whether i is strictly before j.
func (i Instant) Before(j Instant) bool { return i < j }

// TimerID names a scheduled timer. Zero is never a valid id.
type TimerID uint64

type entry struct {
	at  Instant
	id  TimerID
	seq uint64 // FIFO among equal instants, so firing order is deterministic
}

type entryHeap []entry

func (h entryHeap) Len() int { return len(h) }
func (h entryHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h entryHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *entryHeap) Push(x any)   { *h = append(*h, x.(entry)) }
func (h *entryHeap) Pop() any     { o := *h; e := o[len(o)-1]; *h = o[:len(o)-1]; return e }
func (h entryHeap) top() (entry, bool) {
	if len(h) == 0 {
		return entry{}, false
	}
	return h[0], true
}

// Timers is a deadline table: a min-heap of (instant, id) with lazy
// cancellation, each timer carrying what it means to its owner (a value of
// T). Not safe for concurrent use; the zero value is ready.
type Timers[T any] struct {
	h    entryHeap
	live map[TimerID]live[T]
	next TimerID
	seq  uint64
}

type live[T any] struct {
	at  Instant
	ref T
}

// Schedule arranges for Expired to return (id, ref) once now >= at.
func (t *Timers[T]) Schedule(at Instant, ref T) TimerID {
	if t.live == nil {
		t.live = make(map[TimerID]live[T])
	}
	t.next++
	t.seq++
	id := t.next
	t.live[id] = live[T]{at, ref}
	heap.Push(&t.h, entry{at: at, id: id, seq: t.seq})
	return id
}

// Cancel forgets id. Cancelling an unknown or fired id is a no-op.
func (t *Timers[T]) Cancel(id TimerID) {
	if id != 0 {
		delete(t.live, id)
	}
}

// Pending reports whether id is scheduled and not yet fired or cancelled.
func (t *Timers[T]) Pending(id TimerID) bool {
	_, ok := t.live[id]
	return ok
}

// Len is the number of live timers.
func (t *Timers[T]) Len() int { return len(t.live) }

func (t *Timers[T]) prune() {
	for {
		e, ok := t.h.top()
		if !ok {
			return
		}
		if l, ok := t.live[e.id]; ok && l.at == e.at {
			return
		}
		heap.Pop(&t.h)
	}
}

// Deadline is the earliest live instant, or 0 when nothing is scheduled.
func (t *Timers[T]) Deadline() Instant {
	t.prune()
	e, ok := t.h.top()
	if !ok {
		return 0
	}
	return e.at
}

// Expired pops the earliest timer due at or before now, with its ref. ok is
// false when none is due.
func (t *Timers[T]) Expired(now Instant) (id TimerID, ref T, ok bool) {
	t.prune()
	e, has := t.h.top()
	if !has || e.at > now {
		return 0, ref, false
	}
	heap.Pop(&t.h)
	ref = t.live[e.id].ref
	delete(t.live, e.id)
	return e.id, ref, true
}
