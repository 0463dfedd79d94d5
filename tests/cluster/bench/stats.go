//go:build linux

package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// runResult is one run's figures (one JSON line with -out).
type runResult struct {
	Kind       string  `json:"kind"` // go | node
	Rep        int     `json:"rep"`
	N          int     `json:"n"` // members
	Rate       float64 `json:"rate"`
	DurationS  float64 `json:"duration_s"`
	Broadcasts int     `json:"broadcasts"`
	Key        string  `json:"redis_key"`
	Start      string  `json:"start"`
	Load1      float64 `json:"load1"`        // at the start of the run
	PreBusyPct float64 `json:"pre_busy_pct"` // all CPUs' busy % (100 = one CPU) in the second before the run
	QuietWaitS float64 `json:"quiet_wait_s"` // time spent waiting for a quiet machine

	ConnectS         float64 `json:"connect_s"`          // connecting and joining every member
	SendWindowS      float64 `json:"send_window_s"`      // measured sending window
	SenderLateP99Ms  float64 `json:"sender_late_p99_ms"` // how late broadcasts left, against the schedule
	SenderLateMaxMs  float64 `json:"sender_late_max_ms"`
	SenderWriteMaxMs float64 `json:"sender_write_max_ms"` // longest single WebSocket write of the sender
	DrainS           float64 `json:"drain_s"`             // last broadcast → last delivery (or the deadline)

	Local  side `json:"local"`  // members on node 1, the sender's node
	Remote side `json:"remote"` // members on node 2: every tick crossed Redis
	All    side `json:"all"`

	ServerCPUPct        [2]float64 `json:"server_cpu_pct"`         // node 1, node 2, over the sending window; 100 = one core
	ServerUsPerDelivery float64    `json:"server_us_per_delivery"` // both servers' CPU, send start → drain end, per delivery
	GenCPUPct           float64    `json:"gen_cpu_pct"`            // this generator, over the sending window
	GenRunqWaitPct      float64    `json:"gen_runq_wait_pct"`      // generator threads runnable but not running (schedstat), % of the window
	ServerRunqWaitPct   float64    `json:"server_runq_wait_pct"`   // the same for both servers' threads together
	RedisCPUPct         float64    `json:"redis_cpu_pct"`          // Redis (INFO cpu, shared with other users), sending window
	CPUBusyPct          []float64  `json:"cpu_busy_pct"`           // each CPU's busy share (anyone's), sending window
	SoftirqPct          float64    `json:"softirq_pct"`            // softirq on all CPUs (100 = one CPU), sending window
	OtherCPUPct         float64    `json:"other_cpu_pct"`          // busy − servers − generator − Redis: other tenants, kernel
	ServerAffinity      string     `json:"server_affinity"`        // node 1's Cpus_allowed_list

	ReceiversLost int    `json:"receivers_lost"` // members whose connection ended during the run
	ServersDied   int    `json:"servers_died"`
	Error         string `json:"error,omitempty"`
}

// side is the delivery figures of a set of members.
type side struct {
	Members    int   `json:"members"`
	Expected   int64 `json:"expected"`
	Delivered  int64 `json:"delivered"` // first deliveries
	Missing    int64 `json:"missing"`   // never delivered by the drain deadline
	Duplicates int64 `json:"duplicates"`
	Bad        int64 `json:"bad"` // unparsable or out-of-range ticks
	// DeliveriesPerS is Delivered over the span from the first broadcast to
	// the last delivery (at least the nominal window, broadcasts/rate): what
	// the cluster sustained, backlog included.
	DeliveriesPerS float64 `json:"deliveries_per_s"`
	P50Ms          float64 `json:"p50_ms"`
	P99Ms          float64 `json:"p99_ms"`
	P999Ms         float64 `json:"p999_ms"`
	MaxMs          float64 `json:"max_ms"`
}

// sideStats computes the figures of the local members, the remote ones
// and all of them. startUS is the clock at the first broadcast, window the
// nominal sending window (broadcasts / rate), in seconds.
func sideStats(members []*member, total int, startUS int64, window float64) (local, remote, all side) {
	var lat [2][]int32
	var last [2]int64
	var sides [2]side
	for _, m := range members {
		i := 0
		if m.remote {
			i = 1
		}
		s := &sides[i]
		s.Members++
		s.Expected += int64(total)
		s.Delivered += int64(len(m.lat))
		s.Duplicates += m.dups
		s.Bad += m.bad
		lat[i] = append(lat[i], m.lat...)
		last[i] = max(last[i], m.lastUS)
	}
	finish := func(s *side, l []int32, lastUS int64) {
		s.Missing = s.Expected - s.Delivered
		// At least the nominal sending window: broadcasts k = 0..total-1
		// leave over (total-1)/rate, and the last one's deliveries within
		// one period complete the window.
		span := max(float64(lastUS-startUS)/1e6, window)
		s.DeliveriesPerS = float64(s.Delivered) / span
		slices.Sort(l)
		s.P50Ms, s.P99Ms, s.P999Ms = quantile(l, 0.5), quantile(l, 0.99), quantile(l, 0.999)
		if len(l) > 0 {
			s.MaxMs = float64(l[len(l)-1]) / 1000
		}
	}
	for i := range sides {
		finish(&sides[i], lat[i], last[i])
	}
	all = side{
		Members:    sides[0].Members + sides[1].Members,
		Expected:   sides[0].Expected + sides[1].Expected,
		Delivered:  sides[0].Delivered + sides[1].Delivered,
		Duplicates: sides[0].Duplicates + sides[1].Duplicates,
		Bad:        sides[0].Bad + sides[1].Bad,
	}
	finish(&all, append(lat[0], lat[1]...), max(last[0], last[1]))
	return sides[0], sides[1], all
}

// quantile of sorted µs samples, in ms (nearest rank); NaN when empty.
func quantile(sorted []int32, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return float64(sorted[min(max(i, 0), len(sorted)-1)]) / 1000
}

// summary is the one-line progress report of a run.
func (r runResult) summary() string {
	head := fmt.Sprintf("%-4s %g/s rep %d:", r.Kind, r.Rate, r.Rep)
	if r.Error != "" {
		return head + " FAILED: " + r.Error
	}
	return fmt.Sprintf("%s %.0f deliveries/s; p50/p99/p999 local %.1f/%.1f/%.1f ms, remote %.1f/%.1f/%.1f ms; "+
		"missing %d, dup %d; server CPU %.0f%%+%.0f%% (%.1f µs/delivery, runq wait %.0f%%), gen %.0f%% (runq wait %.0f%%), redis %.0f%%, busy %s, others %.0f%%; sender late p99/max %.1f/%.1f ms (write max %.1f); lost %d",
		head, r.All.DeliveriesPerS, r.Local.P50Ms, r.Local.P99Ms, r.Local.P999Ms, r.Remote.P50Ms, r.Remote.P99Ms,
		r.Remote.P999Ms, r.All.Missing, r.All.Duplicates, r.ServerCPUPct[0], r.ServerCPUPct[1], r.ServerUsPerDelivery,
		r.ServerRunqWaitPct, r.GenCPUPct, r.GenRunqWaitPct, r.RedisCPUPct, fmtPcts(r.CPUBusyPct), r.OtherCPUPct,
		r.SenderLateP99Ms, r.SenderLateMaxMs, r.SenderWriteMaxMs, r.ReceiversLost)
}

func fmtPcts(p []float64) string {
	s := make([]string, len(p))
	for i, v := range p {
		s[i] = fmt.Sprintf("%.0f%%", v)
	}
	return strings.Join(s, "/")
}

// metric is one row of the summary table.
type metric struct {
	name string
	get  func(r runResult) float64
	sum  bool // show the total over the reps instead of the median
	unit string
}

func busy(cpu int) func(r runResult) float64 {
	return func(r runResult) float64 {
		if cpu < len(r.CPUBusyPct) {
			return r.CPUBusyPct[cpu]
		}
		return math.NaN()
	}
}

var metrics = []metric{
	{name: "deliveries/s (all)", get: func(r runResult) float64 { return r.All.DeliveriesPerS }},
	{name: "deliveries/s local (node 1)", get: func(r runResult) float64 { return r.Local.DeliveriesPerS }},
	{name: "deliveries/s remote (node 2)", get: func(r runResult) float64 { return r.Remote.DeliveriesPerS }},
	{name: "p50 local", unit: "ms", get: func(r runResult) float64 { return r.Local.P50Ms }},
	{name: "p50 remote", unit: "ms", get: func(r runResult) float64 { return r.Remote.P50Ms }},
	{name: "p99 local", unit: "ms", get: func(r runResult) float64 { return r.Local.P99Ms }},
	{name: "p99 remote", unit: "ms", get: func(r runResult) float64 { return r.Remote.P99Ms }},
	{name: "p999 local", unit: "ms", get: func(r runResult) float64 { return r.Local.P999Ms }},
	{name: "p999 remote", unit: "ms", get: func(r runResult) float64 { return r.Remote.P999Ms }},
	{name: "max (all)", unit: "ms", get: func(r runResult) float64 { return r.All.MaxMs }},
	{name: "missing local, total of reps", sum: true, get: func(r runResult) float64 { return float64(r.Local.Missing) }},
	{name: "missing remote, total of reps", sum: true, get: func(r runResult) float64 { return float64(r.Remote.Missing) }},
	{name: "duplicates, total of reps", sum: true, get: func(r runResult) float64 { return float64(r.All.Duplicates) }},
	{name: "receivers lost, total of reps", sum: true, get: func(r runResult) float64 { return float64(r.ReceiversLost) }},
	{name: "server CPU, both nodes (send window)", unit: "%", get: func(r runResult) float64 { return r.ServerCPUPct[0] + r.ServerCPUPct[1] }},
	{name: "server CPU node 1 (sender's)", unit: "%", get: func(r runResult) float64 { return r.ServerCPUPct[0] }},
	{name: "server CPU node 2", unit: "%", get: func(r runResult) float64 { return r.ServerCPUPct[1] }},
	{name: "server CPU per delivery (to drain end)", unit: "µs", get: func(r runResult) float64 { return r.ServerUsPerDelivery }},
	{name: "generator CPU", unit: "%", get: func(r runResult) float64 { return r.GenCPUPct }},
	{name: "generator threads waiting for a CPU", unit: "% of window", get: func(r runResult) float64 { return r.GenRunqWaitPct }},
	{name: "server threads waiting for a CPU", unit: "% of window", get: func(r runResult) float64 { return r.ServerRunqWaitPct }},
	{name: "Redis CPU (shared)", unit: "%", get: func(r runResult) float64 { return r.RedisCPUPct }},
	{name: "other CPU use (other tenants, kernel)", unit: "%", get: func(r runResult) float64 { return r.OtherCPUPct }},
	{name: "softirq, all CPUs (mostly charged to the above too)", unit: "%", get: func(r runResult) float64 { return r.SoftirqPct }},
	{name: "CPU 0 busy (anyone)", unit: "%", get: busy(0)},
	{name: "CPU 1 busy (anyone)", unit: "%", get: busy(1)},
	{name: "sender late, p99", unit: "ms", get: func(r runResult) float64 { return r.SenderLateP99Ms }},
	{name: "sender late, max", unit: "ms", get: func(r runResult) float64 { return r.SenderLateMaxMs }},
	{name: "drain", unit: "s", get: func(r runResult) float64 { return r.DrainS }},
	{name: "load1 at start", get: func(r runResult) float64 { return r.Load1 }},
	{name: "machine busy before the run (100 = one CPU)", unit: "%", get: func(r runResult) float64 { return r.PreBusyPct }},
}

// printTable prints, per rate, each metric's median (min–max) per kind over
// the successful runs, and the ratio of the first kind's median to the
// second's (Go/Node with the default -kinds).
func printTable(w io.Writer, cfg *config, results []runResult) {
	for _, rate := range cfg.rates {
		byKind := map[string][]runResult{}
		var failed []string
		for _, r := range results {
			if r.Rate != rate {
				continue
			}
			if r.Error != "" {
				failed = append(failed, fmt.Sprintf("%s rep %d: %s", r.Kind, r.Rep, r.Error))
				continue
			}
			byKind[r.Kind] = append(byKind[r.Kind], r)
		}
		fmt.Fprintf(w, "\n## %d members on 2 nodes × %g broadcasts/s for %v (offered %.0f deliveries/s); median (min–max) of the runs\n\n",
			cfg.n, rate, cfg.dur, float64(cfg.n)*rate)
		head := "| metric |"
		rule := "| --- |"
		for _, k := range cfg.kinds {
			head += fmt.Sprintf(" %s (%d runs) |", k, len(byKind[k]))
			rule += " --- |"
		}
		ratio := len(cfg.kinds) == 2
		if ratio {
			head += fmt.Sprintf(" %s/%s |", cfg.kinds[0], cfg.kinds[1])
			rule += " --- |"
		}
		fmt.Fprintln(w, head)
		fmt.Fprintln(w, rule)
		for _, m := range metrics {
			name := m.name
			if m.unit != "" {
				name += " (" + m.unit + ")"
			}
			row := "| " + name + " |"
			var mid []float64
			for _, k := range cfg.kinds {
				var vals []float64
				for _, r := range byKind[k] {
					if v := m.get(r); !math.IsNaN(v) {
						vals = append(vals, v)
					}
				}
				cell, v := aggregate(vals, m.sum)
				row += " " + cell + " |"
				mid = append(mid, v)
			}
			if ratio {
				row += " " + ratioCell(mid[0], mid[1], m.sum) + " |"
			}
			fmt.Fprintln(w, row)
		}
		for _, f := range failed {
			fmt.Fprintln(w, "\nFAILED:", f)
		}
	}
}

// aggregate is a cell (median (min–max), or the total) and its value.
func aggregate(vals []float64, sum bool) (string, float64) {
	if len(vals) == 0 {
		return "–", math.NaN()
	}
	if sum {
		var t float64
		for _, v := range vals {
			t += v
		}
		return fmt.Sprintf("%.0f", t), t
	}
	slices.Sort(vals)
	med := vals[len(vals)/2]
	if len(vals)%2 == 0 {
		med = (vals[len(vals)/2-1] + vals[len(vals)/2]) / 2
	}
	if len(vals) == 1 {
		return num(med), med
	}
	return fmt.Sprintf("%s (%s–%s)", num(med), num(vals[0]), num(vals[len(vals)-1])), med
}

func ratioCell(a, b float64, sum bool) string {
	if sum || math.IsNaN(a) || math.IsNaN(b) || b == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f", a/b)
}

// num prints with about three significant digits.
func num(v float64) string {
	switch a := math.Abs(v); {
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}
