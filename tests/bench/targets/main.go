// Command targets reads the results of `make bench` (the shared bench.sh's
// results/*.jsonl) and says which of the performance targets of issue 6 hold,
// from medians of the same run:
//
//	echo:    acks/s ours/node >= 1.5; server CPU per ack ours/node <= 0.6; p99 ours/raw <= 1.2
//	fanout:  server CPU per delivery ours <= raw (every configuration);
//	         1000 x 100/s: nothing missing in any run, p99 <= 100 ms;
//	         5000 x 10/s: nothing missing in any run, p99 ours/raw <= 2
//	connect: N=19500: server RSS per idle WebSocket <= 10,000 bytes, every connection alive after the hold
//
// A target whose figures are absent (a phase not run, a server missing) is
// reported as not measured. The exit status is 0 whatever holds: the figures
// are the output.
//
//	go run ./tests/bench/targets RESULTS_DIR
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
)

// run is one JSON line of a results file (the fields the targets use).
type run struct {
	Server string `json:"server"`
	Error  string `json:"error"`
	// echo
	C         int     `json:"c"`
	AcksPerS  float64 `json:"acks_per_s"`
	P99ms     float64 `json:"p99_ms"`
	ServerCPU float64 `json:"server_cpu_pct"`
	// fanout
	N            int     `json:"n"`
	Rate         float64 `json:"rate"`
	DeliveriesPS float64 `json:"deliveries_per_s"`
	Missing      int     `json:"missing"`
	// connect
	OK             int     `json:"ok"`
	BytesPerConn   float64 `json:"bytes_per_conn"`
	AliveAfterHold int     `json:"alive_after_hold"`
}

// verdict is one target's line.
type verdict struct {
	Name   string
	Figure string
	Status string // "holds", "MISSED", "not measured"
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: targets RESULTS_DIR")
		os.Exit(2)
	}
	dir := os.Args[1]
	load := func(name string) []run {
		rs, err := readRuns(filepath.Join(dir, name+".jsonl"))
		if err != nil && !os.IsNotExist(err) {
			fmt.Fprintln(os.Stderr, "targets:", err)
			os.Exit(1)
		}
		return rs
	}
	vs := evaluate(load("echo"), load("fanout"), load("connect"))
	print(os.Stdout, vs)
}

func readRuns(path string) ([]run, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []run
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var r run
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		if r.Error == "" {
			out = append(out, r)
		}
	}
	return out, sc.Err()
}

func median(xs []float64) (float64, bool) {
	if len(xs) == 0 {
		return 0, false
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2], true
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2, true
}

// med is the median of f over the runs of server that match keep.
func med(rs []run, server string, keep func(run) bool, f func(run) (float64, bool)) (float64, bool) {
	var xs []float64
	for _, r := range rs {
		if r.Server == server && keep(r) {
			if x, ok := f(r); ok {
				xs = append(xs, x)
			}
		}
	}
	return median(xs)
}

func field(get func(run) float64) func(run) (float64, bool) {
	return func(r run) (float64, bool) { return get(r), true }
}

// cpuPer is server CPU microseconds per operation at rate ops/s.
func cpuPer(rate func(run) float64) func(run) (float64, bool) {
	return func(r run) (float64, bool) {
		if rate(r) <= 0 {
			return 0, false
		}
		return r.ServerCPU / 100 / rate(r) * 1e6, true
	}
}

func evaluate(echo, fanout, connect []run) []verdict {
	var vs []verdict
	ratio := func(name, unit string, a, b float64, okA, okB bool, holds func(float64) bool) {
		if !okA || !okB || b == 0 {
			vs = append(vs, verdict{name, "", "not measured"})
			return
		}
		r := a / b
		st := "MISSED"
		if holds(r) {
			st = "holds"
		}
		vs = append(vs, verdict{name, fmt.Sprintf("%.2f (ours %.4g, other %.4g %s)", r, a, b, unit), st})
	}
	all := func(run) bool { return true }

	acks := field(func(r run) float64 { return r.AcksPerS })
	oa, okO := med(echo, "ours", all, acks)
	na, okN := med(echo, "node", all, acks)
	ratio("echo: acks/s ours/node >= 1.5", "acks/s", oa, na, okO, okN, func(x float64) bool { return x >= 1.5 })
	cpu := cpuPer(func(r run) float64 { return r.AcksPerS })
	oc, okO := med(echo, "ours", all, cpu)
	nc, okN := med(echo, "node", all, cpu)
	ratio("echo: server CPU per ack ours/node <= 0.6", "µs", oc, nc, okO, okN, func(x float64) bool { return x <= 0.6 })
	p99 := field(func(r run) float64 { return r.P99ms })
	op, okO := med(echo, "ours", all, p99)
	rp, okR := med(echo, "raw", all, p99)
	ratio("echo: p99 ours/raw <= 1.2", "ms", op, rp, okO, okR, func(x float64) bool { return x <= 1.2 })

	type cfg struct {
		n    int
		rate float64
	}
	var cfgs []cfg
	seen := map[cfg]bool{}
	for _, r := range fanout {
		c := cfg{r.N, r.Rate}
		if !seen[c] {
			seen[c] = true
			cfgs = append(cfgs, c)
		}
	}
	is := func(c cfg) func(run) bool { return func(r run) bool { return r.N == c.n && r.Rate == c.rate } }
	perDelivery := cpuPer(func(r run) float64 { return r.DeliveriesPS })
	for _, c := range cfgs {
		o, okO := med(fanout, "ours", is(c), perDelivery)
		w, okR := med(fanout, "raw", is(c), perDelivery)
		ratio(fmt.Sprintf("fanout %d x %g/s: server CPU per delivery ours/raw <= 1", c.n, c.rate), "µs", o, w, okO, okR,
			func(x float64) bool { return x <= 1 })
	}
	missing := func(c cfg) (int, int) {
		miss, runs := 0, 0
		for _, r := range fanout {
			if r.Server == "ours" && is(c)(r) {
				miss += r.Missing
				runs++
			}
		}
		return miss, runs
	}
	c1 := cfg{1000, 100}
	if miss, runs := missing(c1); runs == 0 {
		vs = append(vs, verdict{"fanout 1000 x 100/s: every delivery arrives, p99 <= 100 ms", "", "not measured"})
	} else {
		p, _ := med(fanout, "ours", is(c1), p99)
		st := "MISSED"
		if miss == 0 && p <= 100 {
			st = "holds"
		}
		vs = append(vs, verdict{"fanout 1000 x 100/s: every delivery arrives, p99 <= 100 ms",
			fmt.Sprintf("%d missing over %d runs, p99 %.1f ms", miss, runs, p), st})
	}
	c2 := cfg{5000, 10}
	if miss, runs := missing(c2); runs == 0 {
		vs = append(vs, verdict{"fanout 5000 x 10/s: every delivery arrives, p99 ours/raw <= 2", "", "not measured"})
	} else {
		o, okO := med(fanout, "ours", is(c2), p99)
		w, okR := med(fanout, "raw", is(c2), p99)
		if !okR || w == 0 {
			vs = append(vs, verdict{"fanout 5000 x 10/s: every delivery arrives, p99 ours/raw <= 2",
				fmt.Sprintf("%d missing over %d runs, raw not measured", miss, runs), "not measured"})
		} else {
			st := "MISSED"
			if miss == 0 && okO && o/w <= 2 {
				st = "holds"
			}
			vs = append(vs, verdict{"fanout 5000 x 10/s: every delivery arrives, p99 ours/raw <= 2",
				fmt.Sprintf("%d missing over %d runs, p99 %.1f / %.1f ms = %.2f", miss, runs, o, w, o/w), st})
		}
	}

	at := func(r run) bool { return r.N == 19500 }
	b, okB := med(connect, "ours", at, func(r run) (float64, bool) { return r.BytesPerConn, r.OK > 0 })
	if !okB {
		vs = append(vs, verdict{"idle WebSocket at 19,500 connections <= 10,000 B of server RSS, all alive", "", "not measured"})
	} else {
		alive := true
		for _, r := range connect {
			if r.Server == "ours" && at(r) && (r.OK != 19500 || r.AliveAfterHold != r.OK) {
				alive = false
			}
		}
		st := "MISSED"
		if b <= 10000 && alive {
			st = "holds"
		}
		vs = append(vs, verdict{"idle WebSocket at 19,500 connections <= 10,000 B of server RSS, all alive",
			fmt.Sprintf("%.0f B per connection, all alive: %v", b, alive), st})
	}
	return vs
}

func print(w io.Writer, vs []verdict) {
	fmt.Fprintln(w, "\n### issue 6 targets (medians of this run)")
	fmt.Fprintln(w, "| target | figure | status |")
	fmt.Fprintln(w, "|---|---|---|")
	held := 0
	for _, v := range vs {
		if v.Status == "holds" {
			held++
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", v.Name, v.Figure, v.Status)
	}
	fmt.Fprintf(w, "\n%d of %d targets hold.\n", held, len(vs))
}
