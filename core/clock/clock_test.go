package clock

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestInstant(t *testing.T) {
	i := Instant(1_000)
	if got := i.Add(2 * time.Microsecond); got != 3_000 {
		t.Fatalf("Add = %d", got)
	}
	if got := Instant(3_000).Sub(i); got != 2*time.Microsecond {
		t.Fatalf("Sub = %v", got)
	}
	if !i.Before(i+1) || i.Before(i) || (i + 1).Before(i) {
		t.Fatal("Before is not strict <")
	}
}

// op is one step of a Timers script: schedule a timer (at > 0), cancel the
// timer made by an earlier step (cancel > 0, 1-based step index), or drain
// everything due at now (expire > 0).
type op struct {
	at     Instant
	cancel int
	expire Instant
}

func TestTimers(t *testing.T) {
	tests := []struct {
		name string
		ops  []op
		// fired lists, per expire step, the 1-based steps whose timers fire, in order.
		fired    [][]int
		deadline Instant // after the script
	}{
		{
			name:  "earliest first",
			ops:   []op{{at: 30}, {at: 10}, {at: 20}, {expire: 100}},
			fired: [][]int{{2, 3, 1}},
		},
		{
			name:  "FIFO among equal instants",
			ops:   []op{{at: 10}, {at: 5}, {at: 10}, {at: 10}, {expire: 10}},
			fired: [][]int{{2, 1, 3, 4}},
		},
		{
			name:     "only what is due",
			ops:      []op{{at: 10}, {at: 20}, {at: 30}, {expire: 20}},
			fired:    [][]int{{1, 2}},
			deadline: 30,
		},
		{
			name:     "nothing due before the first",
			ops:      []op{{at: 10}, {expire: 9}},
			fired:    [][]int{nil},
			deadline: 10,
		},
		{
			name:     "cancel the earliest",
			ops:      []op{{at: 10}, {at: 20}, {cancel: 1}, {expire: 15}},
			fired:    [][]int{nil},
			deadline: 20,
		},
		{
			name:  "cancel in the middle",
			ops:   []op{{at: 10}, {at: 20}, {at: 30}, {cancel: 2}, {expire: 100}},
			fired: [][]int{{1, 3}},
		},
		{
			name:  "cancel twice and after firing",
			ops:   []op{{at: 10}, {at: 20}, {expire: 10}, {cancel: 1}, {cancel: 2}, {cancel: 2}, {expire: 100}},
			fired: [][]int{{1}, nil},
		},
		{
			name:  "reschedule at the same instant after cancel",
			ops:   []op{{at: 10}, {cancel: 1}, {at: 10}, {expire: 10}},
			fired: [][]int{{3}},
		},
		{
			name:     "two drains",
			ops:      []op{{at: 10}, {at: 20}, {expire: 10}, {at: 15}, {expire: 16}},
			fired:    [][]int{{1}, {4}},
			deadline: 20,
		},
		{
			name:  "scheduling in the past fires at once",
			ops:   []op{{at: 50}, {expire: 40}, {at: 1}, {expire: 40}},
			fired: [][]int{nil, {3}},
			// 50 is still pending
			deadline: 50,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tm Timers[TimerID]
			ids := make([]TimerID, len(tt.ops)+1) // by 1-based step
			step := map[TimerID]int{}
			var fired [][]int
			for i, o := range tt.ops {
				switch {
				case o.at != 0:
					id := tm.Schedule(o.at, 0)
					if id == 0 || step[id] != 0 {
						t.Fatalf("step %d: Schedule returned id %d (zero or reused)", i+1, id)
					}
					if !tm.Pending(id) {
						t.Fatalf("step %d: new timer not pending", i+1)
					}
					ids[i+1], step[id] = id, i+1
				case o.cancel != 0:
					tm.Cancel(ids[o.cancel])
					if tm.Pending(ids[o.cancel]) {
						t.Fatalf("step %d: cancelled timer still pending", i+1)
					}
				default:
					var got []int
					for {
						id, _, ok := tm.Expired(o.expire)
						if !ok {
							break
						}
						if tm.Pending(id) {
							t.Fatalf("step %d: fired timer still pending", i+1)
						}
						got = append(got, step[id])
					}
					fired = append(fired, got)
				}
			}
			if len(fired) != len(tt.fired) {
				t.Fatalf("%d drains, want %d", len(fired), len(tt.fired))
			}
			for i := range fired {
				if !slices.Equal(fired[i], tt.fired[i]) {
					t.Fatalf("drain %d fired steps %v, want %v", i+1, fired[i], tt.fired[i])
				}
			}
			if got := tm.Deadline(); got != tt.deadline {
				t.Fatalf("Deadline = %d, want %d", got, tt.deadline)
			}
		})
	}
}

func TestTimersZeroValue(t *testing.T) {
	var tm Timers[TimerID]
	if tm.Deadline() != 0 || tm.Len() != 0 || tm.Pending(0) || tm.Pending(1) {
		t.Fatal("zero Timers is not empty")
	}
	if _, _, ok := tm.Expired(1 << 62); ok {
		t.Fatal("zero Timers expired something")
	}
	tm.Cancel(0)
	tm.Cancel(42)
}

// TestTimersModel compares Timers with a trivially correct model under a
// random mix of operations, and checks after every step that Deadline is the
// earliest live timer — never a cancelled or fired one.
func TestTimersModel(t *testing.T) {
	type live struct {
		at  Instant
		seq int
	}
	for seed := range uint64(50) {
		r := rand.New(rand.NewPCG(seed, 7))
		var tm Timers[TimerID]
		model := map[TimerID]live{}
		var ids []TimerID
		seq := 0
		now := Instant(0)
		for step := range 400 {
			switch k := r.IntN(10); {
			case k < 5:
				at := now + 1 + Instant(r.IntN(20)) // small range: many ties
				id := tm.Schedule(at, 0)
				seq++
				model[id] = live{at, seq}
				ids = append(ids, id)
			case k < 8 && len(ids) > 0:
				id := ids[r.IntN(len(ids))]
				tm.Cancel(id)
				delete(model, id)
			default:
				now += Instant(r.IntN(8))
				for {
					id, _, ok := tm.Expired(now)
					if !ok {
						break
					}
					l, was := model[id]
					if !was {
						t.Fatalf("seed %d step %d: fired dead timer %d", seed, step, id)
					}
					for oid, o := range model {
						if oid != id && (o.at < l.at || o.at == l.at && o.seq < l.seq) {
							t.Fatalf("seed %d step %d: fired %d (at %d #%d) before %d (at %d #%d)", seed, step, id, l.at, l.seq, oid, o.at, o.seq)
						}
					}
					if l.at > now {
						t.Fatalf("seed %d step %d: fired %d at %d before its instant %d", seed, step, id, now, l.at)
					}
					delete(model, id)
				}
				for _, o := range model {
					if o.at <= now {
						t.Fatalf("seed %d step %d: a timer due at %d was not fired at %d", seed, step, o.at, now)
					}
				}
			}
			want := Instant(0)
			for _, o := range model {
				if want == 0 || o.at < want {
					want = o.at
				}
			}
			if got := tm.Deadline(); got != want {
				t.Fatalf("seed %d step %d: Deadline = %d, want %d", seed, step, got, want)
			}
			if tm.Len() != len(model) {
				t.Fatalf("seed %d step %d: Len = %d, want %d", seed, step, tm.Len(), len(model))
			}
			for _, id := range ids {
				_, want := model[id]
				if tm.Pending(id) != want {
					t.Fatalf("seed %d step %d: Pending(%d) = %v", seed, step, id, !want)
				}
			}
		}
	}
}

func BenchmarkTimersScheduleExpire(b *testing.B) {
	var tm Timers[TimerID]
	b.ReportAllocs()
	now := Instant(1)
	for b.Loop() {
		id := tm.Schedule(now+100, 0)
		tm.Schedule(now+50, 0)
		tm.Cancel(id)
		now += 60
		for {
			if _, _, ok := tm.Expired(now); !ok {
				break
			}
		}
	}
}

// Each timer comes back with the ref it was scheduled with; cancelled ones
// never do.
func TestTimersCarryRefs(t *testing.T) {
	var tm Timers[string]
	tm.Schedule(30, "c")
	a := tm.Schedule(10, "a")
	tm.Schedule(20, "b")
	tm.Cancel(a)
	var got []string
	for {
		_, ref, ok := tm.Expired(100)
		if !ok {
			break
		}
		got = append(got, ref)
	}
	if len(got) != 2 || got[0] != "b" || got[1] != "c" {
		t.Fatalf("refs %v, want [b c]", got)
	}
}
