//go:build linux

// Command bench measures cross-node broadcast fanout in a two-node Socket.IO
// cluster on Redis: two socketcore servers (bench-server mode, --redis)
// against two Node socket.io 4.8.4 servers on @socket.io/redis-adapter
// (node-server.mjs), in the same run, alternating.
//
// Each run starts two fresh servers of one kind in a cluster of its own (a
// random adapter key), connects -n WebSocket clients split evenly between
// them (raw Engine.IO v4 over gorilla/websocket, BENCH-PROTOCOL.md of the
// neutral load generator), each joining room "bench", and one more client on
// node 1 that emits "broadcast" at -rates per second for -d, with payloads
// {"seq":k,"ts":µs,"t":"x…"}; the servers do io.to("bench").emit("tick",
// payload). Every member records when each tick arrives. A run reports
// deliveries/s, latency p50/p99/p999, missing and duplicate deliveries, for
// the members on node 1 (local: the sender's node) and on node 2 (remote:
// through Redis), and the CPU used by the servers, the generator and Redis.
//
// Servers are pinned to -server-cpu and the generator to -gen-cpu with
// taskset (when present), so both nodes share one core (a Go server then
// runs with GOMAXPROCS=1, like Node's single thread); Redis is not pinned.
// Latency is measured on the generator's own monotonic clock, so it includes
// the generator's reading delays (the same for both kinds).
//
// The machine may be shared: each run first waits (bounded) for a quiet
// second, and records what else kept the CPUs busy and how long the
// generator's and the servers' threads waited for a CPU. The summary gives,
// per rate and kind, the median (min–max) over the repetitions and the
// Go/Node ratio of the medians; -out keeps every run as a JSON line.
//
// From the repository root:
//
//	go run ./tests/cluster/bench [-n 1000] [-rates 10,100] [-d 10s] [-reps 3] [-out runs.jsonl]
//
// or `make bench-cluster`. -h lists every flag.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// config is the command line.
type config struct {
	kinds       []string
	n           int
	rates       []float64
	dur         time.Duration
	reps        int
	size        int
	drain       time.Duration
	redisURL    string
	socketcore  string
	nodeBin     string
	nodeScript  string
	serverCPU   int
	genCPU      int
	srcIPs      int
	conc        int
	connectWait time.Duration
	out         string
	logDir      string
	cpuProfile  string
	quietBusy   float64
	quietWait   time.Duration
	taskset     string // path of taskset, "" when absent
}

func parseFlags() *config {
	c := &config{}
	kinds := flag.String("kinds", "go,node", "server kinds to compare, alternating: go (socketcore bench-server), node (node-server.mjs)")
	rates := flag.String("rates", "10,100", "broadcasts per second, comma-separated (one set of runs each)")
	flag.IntVar(&c.n, "n", 1000, "room members, split evenly between the two nodes")
	flag.DurationVar(&c.dur, "d", 10*time.Second, "sending window of each run")
	flag.IntVar(&c.reps, "reps", 3, "repetitions of each (rate, kind)")
	flag.IntVar(&c.size, "size", 100, "approximate payload size in bytes (padded with a \"t\" field)")
	flag.DurationVar(&c.drain, "drain", 15*time.Second, "how long to wait for late deliveries after the last broadcast")
	flag.StringVar(&c.redisURL, "redis", "redis://127.0.0.1:6379", "the clusters' Redis")
	flag.StringVar(&c.socketcore, "socketcore", "", "socketcore binary (empty: go build ./hosts/native/cmd/socketcore into -logs)")
	flag.StringVar(&c.nodeBin, "node", "node", "Node.js binary")
	flag.StringVar(&c.nodeScript, "node-server", "tests/cluster/bench/node-server.mjs", "the Node server script")
	flag.IntVar(&c.serverCPU, "server-cpu", 1, "CPU the servers are pinned to (-1: not pinned)")
	flag.IntVar(&c.genCPU, "gen-cpu", 0, "CPU this generator is pinned to (-1: not pinned)")
	flag.IntVar(&c.srcIPs, "srcips", 8, "spread client sockets over 127.0.0.1..127.0.0.<srcips>")
	flag.IntVar(&c.conc, "conc", 64, "WebSocket handshakes in flight while connecting members")
	flag.DurationVar(&c.connectWait, "connect-timeout", 60*time.Second, "bound on connecting and joining all members")
	flag.StringVar(&c.out, "out", "", "append one JSON line per run to this file")
	flag.Float64Var(&c.quietBusy, "quiet-busy", 30, "before each run, wait until the machine's CPUs were busy less than this (% of one CPU, summed over CPUs) for 1 s")
	flag.DurationVar(&c.quietWait, "quiet-wait", 90*time.Second, "how long to wait for that quiet moment before running anyway (0: do not wait)")
	flag.StringVar(&c.cpuProfile, "cpuprofile", "", "write the generator's CPU profile here (to check that it is not the bottleneck)")
	flag.StringVar(&c.logDir, "logs", "", "folder for server logs (and the built socketcore); empty: a new temporary folder")
	flag.Parse()
	if flag.NArg() > 0 {
		log.Fatalf("unexpected arguments %q", flag.Args())
	}
	for _, k := range strings.Split(*kinds, ",") {
		if k = strings.TrimSpace(k); k != "go" && k != "node" {
			log.Fatalf("-kinds: %q is neither go nor node", k)
		}
		c.kinds = append(c.kinds, strings.TrimSpace(k))
	}
	for _, r := range strings.Split(*rates, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(r), 64)
		if err != nil || v <= 0 {
			log.Fatalf("-rates: bad rate %q", r)
		}
		c.rates = append(c.rates, v)
	}
	switch {
	case c.n < 2:
		log.Fatal("-n: need at least 2 members (one per node)")
	case c.reps < 1 || c.dur <= 0 || c.conc < 1:
		log.Fatal("-reps, -d and -conc must be positive")
	}
	for _, r := range c.rates {
		// Samples are kept exactly: bound their memory (4 bytes each).
		if total := float64(c.n) * r * c.dur.Seconds(); total > 50e6 {
			log.Fatalf("-n × rate × -d = %.0f deliveries per run: more than the 50 M this tool keeps", total)
		}
	}
	c.taskset, _ = exec.LookPath("taskset")
	return c
}

// pinSelf re-executes this program under taskset on cpu (once), so that
// every thread of the generator stays on it and GOMAXPROCS follows.
func pinSelf(c *config) {
	const marker = "CLUSTERBENCH_PINNED"
	if c.genCPU < 0 || c.taskset == "" || os.Getenv(marker) != "" {
		return
	}
	exe, err := os.Executable()
	if err == nil {
		argv := append([]string{c.taskset, "-c", strconv.Itoa(c.genCPU), exe}, os.Args[1:]...)
		err = syscall.Exec(c.taskset, argv, append(os.Environ(), marker+"=1"))
	}
	log.Printf("cannot pin the generator to CPU %d (%v): running unpinned", c.genCPU, err)
}

func main() {
	log.SetFlags(log.Ltime)
	log.SetPrefix("bench: ")
	cfg := parseFlags()
	pinSelf(cfg)

	// Stop the servers on ^C / SIGTERM.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		log.Printf("%v: stopping the servers", s)
		stopAll()
		os.Exit(130)
	}()

	if err := prepare(cfg); err != nil {
		log.Fatal(err)
	}
	ropts, err := goredis.ParseURL(cfg.redisURL)
	if err != nil {
		log.Fatalf("-redis: %v", err)
	}
	rc := goredis.NewClient(ropts)
	defer rc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	redisVersion, err := rc.Info(ctx, "server").Result()
	cancel()
	if err != nil {
		log.Fatalf("Redis at %s is not reachable (%v): start one, e.g. redis-server --port 6379 --save '' --appendonly no", ropts.Addr, err)
	}
	printHeader(cfg, infoField(redisVersion, "redis_version"))

	var out *os.File
	if cfg.out != "" {
		if out, err = os.OpenFile(cfg.out, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
			log.Fatal(err)
		}
		defer out.Close()
	}

	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}

	var results []runResult
	for _, rate := range cfg.rates {
		for rep := 1; rep <= cfg.reps; rep++ {
			// ABBA order (go, node, node, go, …) so that a drift in the
			// machine's load weighs on both kinds alike.
			kinds := slices.Clone(cfg.kinds)
			if rep%2 == 0 {
				slices.Reverse(kinds)
			}
			for _, kind := range kinds {
				res := runGuarded(cfg, rc, kind, rate, rep)
				results = append(results, res)
				log.Print(res.summary())
				if out != nil {
					b, _ := json.Marshal(res)
					out.Write(append(b, '\n'))
				}
			}
		}
	}
	printTable(os.Stdout, cfg, results)
}

// prepare checks the tools a run needs and builds socketcore when no
// binary is given.
func prepare(cfg *config) error {
	if cfg.logDir == "" {
		d, err := os.MkdirTemp("", "clusterbench-")
		if err != nil {
			return err
		}
		cfg.logDir = d
	} else if err := os.MkdirAll(cfg.logDir, 0o755); err != nil {
		return err
	}
	if cfg.taskset == "" && (cfg.serverCPU >= 0 || cfg.genCPU >= 0) {
		log.Print("taskset not found: servers and generator are NOT pinned")
	}
	for _, k := range cfg.kinds {
		switch k {
		case "go":
			if cfg.socketcore == "" {
				cfg.socketcore = filepath.Join(cfg.logDir, "socketcore")
				log.Printf("building %s", cfg.socketcore)
				cmd := exec.Command("go", "build", "-o", cfg.socketcore, "./hosts/native/cmd/socketcore")
				cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
				if err := cmd.Run(); err != nil {
					return fmt.Errorf("building socketcore (run from the repository root, or pass -socketcore): %w", err)
				}
			}
			if _, err := os.Stat(cfg.socketcore); err != nil {
				return fmt.Errorf("-socketcore: %w", err)
			}
		case "node":
			if _, err := exec.LookPath(cfg.nodeBin); err != nil {
				return fmt.Errorf("-node: %w", err)
			}
			if _, err := os.Stat(cfg.nodeScript); err != nil {
				return fmt.Errorf("-node-server (run from the repository root): %w", err)
			}
		}
	}
	return nil
}

// runGuarded runs once under a watchdog: a run that overstays its bound
// stops the servers and ends the program.
func runGuarded(cfg *config, rc *goredis.Client, kind string, rate float64, rep int) runResult {
	bound := cfg.connectWait + 2*time.Minute + cfg.dur + cfg.drain
	dog := time.AfterFunc(bound, func() {
		log.Printf("%s rate %g rep %d still running after %v: stopping the servers and giving up", kind, rate, rep, bound)
		stopAll()
		os.Exit(3)
	})
	defer dog.Stop()
	res, err := run(cfg, rc, kind, rate, rep)
	if err != nil {
		res.Error = err.Error()
	}
	return res
}

// run is one measurement: two fresh servers of kind, the members, the
// sending window, the drain, and the figures.
func run(cfg *config, rc *goredis.Client, kind string, rate float64, rep int) (res runResult, err error) {
	total := int(math.Round(rate * cfg.dur.Seconds()))
	res = runResult{
		Kind: kind, Rep: rep, N: cfg.n, Rate: rate, DurationS: cfg.dur.Seconds(), Broadcasts: total,
		Key: "clusterbench-" + randHex(6), Start: time.Now().UTC().Format(time.RFC3339),
	}
	if total < 1 {
		return res, errors.New("rate × duration is less than one broadcast")
	}
	res.PreBusyPct, res.QuietWaitS = waitQuiet(cfg)
	res.Load1 = loadAvg1()

	// Two servers of one kind in a cluster of their own. Deferred calls
	// run last first: the clients close before the servers stop.
	var srv [2]*server
	for i := range srv {
		if srv[i], err = startServer(cfg, kind, i+1, res.Key); err != nil {
			return res, err
		}
		defer srv[i].stop()
	}
	addrs := [2]string{srv[0].addr, srv[1].addr}
	res.ServerAffinity = affinity(srv[0].pid)

	clk := clock{epoch: time.Now()}
	d := dialer{srcIPs: cfg.srcIPs}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.connectWait)
	defer cancel()
	t0 := time.Now()
	members, err := connectMembers(ctx, d, addrs, cfg.n, total, cfg.conc)
	if err != nil {
		return res, err
	}
	res.ConnectS = time.Since(t0).Seconds()
	var delivered atomic.Int64
	for _, m := range members {
		go m.read(clk, &delivered)
	}
	defer func() {
		for _, m := range members {
			m.close()
		}
		for _, m := range members {
			<-m.done
		}
	}()
	sc, err := d.dial(ctx, addrs[0], cfg.n)
	if err != nil {
		return res, fmt.Errorf("sender: %w", err)
	}
	snd := newSender(sc, cfg.size)
	defer snd.close()
	if err := probeCluster(snd, clk, members); err != nil {
		return res, err
	}
	time.Sleep(500 * time.Millisecond) // let the probes' traffic settle

	// The sending window: broadcast k is due at start + k/rate. A late
	// sender sends at once (catching up with the schedule, so the window
	// keeps its length) and records how late it was, and how long each
	// write took.
	before := snapshot(rc, srv)
	startUS := clk.now()
	start := time.Now()
	late := make([]int32, 0, total) // µs
	var writeMax time.Duration
	for k := range total {
		due := start.Add(time.Duration(float64(k) * float64(time.Second) / rate))
		if w := time.Until(due); w > 0 {
			time.Sleep(w)
		}
		late = append(late, int32(min(time.Since(due).Microseconds(), math.MaxInt32)))
		t := time.Now()
		if err := snd.broadcast(int64(k), clk.now()); err != nil {
			return res, fmt.Errorf("sender: broadcast %d: %w", k, err)
		}
		writeMax = max(writeMax, time.Since(t))
	}
	sendEnd := snapshot(rc, srv)
	window := sendEnd.at.Sub(before.at)
	res.SendWindowS = window.Seconds()
	slices.Sort(late)
	res.SenderLateP99Ms, res.SenderLateMaxMs = quantile(late, 0.99), quantile(late, 1)
	res.SenderWriteMaxMs = ms(writeMax)

	// Drain: wait for every delivery, or the deadline.
	expected := int64(cfg.n) * int64(total)
	deadline := time.Now().Add(cfg.drain)
	for delivered.Load() < expected && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	after := snapshot(rc, srv)
	res.DrainS = after.at.Sub(sendEnd.at).Seconds()

	for i, s := range srv {
		res.ServerCPUPct[i] = pct(sendEnd.server[i]-before.server[i], window)
		if !s.running() {
			res.ServersDied++
		}
	}
	res.GenCPUPct = pct(sendEnd.self-before.self, window)
	res.GenRunqWaitPct = pct(sendEnd.selfWait-before.selfWait, window)
	res.ServerRunqWaitPct = pct(sendEnd.serverWait[0]-before.serverWait[0]+sendEnd.serverWait[1]-before.serverWait[1], window)
	if before.redis >= 0 && sendEnd.redis >= 0 {
		res.RedisCPUPct = pct(sendEnd.redis-before.redis, window)
	}
	res.CPUBusyPct = busyPct(before.cpus, sendEnd.cpus)
	res.SoftirqPct = softirqPct(before.cpus, sendEnd.cpus)
	// Whatever else kept the CPUs busy: other tenants of the machine, and
	// kernel work charged to no process (softirq is not subtracted: with
	// tick-based accounting the task that was interrupted is charged too).
	res.OtherCPUPct = -res.ServerCPUPct[0] - res.ServerCPUPct[1] - res.GenCPUPct - res.RedisCPUPct
	for _, b := range res.CPUBusyPct {
		res.OtherCPUPct += b
	}
	for _, m := range members {
		if !m.alive() {
			res.ReceiversLost++
		}
	}

	// The read loops end before their data is read.
	for _, m := range members {
		m.close()
	}
	for _, m := range members {
		<-m.done
	}
	res.Local, res.Remote, res.All = sideStats(members, total, startUS, float64(total)/rate)
	if res.All.Delivered > 0 {
		cpu := after.server[0] - before.server[0] + after.server[1] - before.server[1]
		res.ServerUsPerDelivery = float64(cpu.Microseconds()) / float64(res.All.Delivered)
	}
	return res, nil
}

// waitQuiet waits (up to -quiet-wait) for a second in which all CPUs
// together were busy less than -quiet-busy % (the machine is shared: other
// tenants' bursts would otherwise land in the measurement). It returns the
// last second's busy % and the time waited.
func waitQuiet(cfg *config) (busy float64, waited float64) {
	start := time.Now()
	for {
		a := readCPUTimes()
		time.Sleep(time.Second)
		busy = 0
		for _, b := range busyPct(a, readCPUTimes()) {
			busy += b
		}
		if busy < cfg.quietBusy || time.Since(start) >= cfg.quietWait {
			return busy, time.Since(start).Seconds()
		}
	}
}

// probeCluster broadcasts probes until one reaches every member (up to 30
// tries, 1 s each): both nodes then take part in the cluster.
func probeCluster(snd *sender, clk clock, members []*member) error {
	reached := 0
	for id := int64(1); id <= 30; id++ {
		if err := snd.broadcast(-id, clk.now()); err != nil {
			return fmt.Errorf("probe: %w", err)
		}
		for wait := time.Now().Add(time.Second); time.Now().Before(wait); time.Sleep(10 * time.Millisecond) {
			reached = 0
			for _, m := range members {
				if m.lastProbe.Load() >= id {
					reached++
				}
			}
			if reached == len(members) {
				return nil
			}
		}
	}
	return fmt.Errorf("cluster probe: the last probe reached %d of %d members", reached, len(members))
}

// cpuSnapshot is the CPU time used so far by the two servers, this
// generator and Redis, and the per-CPU counters.
type cpuSnapshot struct {
	at         time.Time
	server     [2]time.Duration
	serverWait [2]time.Duration // run-queue waits
	self       time.Duration
	selfWait   time.Duration
	redis      time.Duration // -1: unknown
	cpus       cpuTimes
}

func snapshot(rc *goredis.Client, srv [2]*server) cpuSnapshot {
	s := cpuSnapshot{at: time.Now(), self: selfCPU(), selfWait: runqWait(os.Getpid()), cpus: readCPUTimes()}
	for i, p := range srv {
		s.server[i], _ = procCPU(p.pid)
		s.serverWait[i] = runqWait(p.pid)
	}
	s.redis = redisCPU(context.Background(), rc)
	return s
}

func pct(cpu, window time.Duration) float64 {
	if window <= 0 {
		return 0
	}
	return 100 * cpu.Seconds() / window.Seconds()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// infoField is one "key:value" field of a Redis INFO answer.
func infoField(info, key string) string {
	for _, line := range strings.Split(info, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && k == key {
			return v
		}
	}
	return "?"
}

// affinity is the CPUs a process may run on (Cpus_allowed_list).
func affinity(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(infoField(string(b), "Cpus_allowed_list"))
}

// printHeader records the conditions of the measurement.
func printHeader(cfg *config, redisVersion string) {
	nodeVersion := "-"
	if out, err := exec.Command(cfg.nodeBin, "--version").Output(); err == nil {
		nodeVersion = strings.TrimSpace(string(out))
	}
	pin := func(cpu int) string {
		if cpu < 0 || cfg.taskset == "" {
			return "not pinned"
		}
		return "CPU " + strconv.Itoa(cpu)
	}
	fmt.Printf("# cluster fanout: %s, %d CPUs, load1 %.2f; generator %s (%s, GOMAXPROCS %d), servers %s, Redis %s (not pinned) at %s\n",
		runtime.Version(), len(readCPUTimes().busy), loadAvg1(), pin(cfg.genCPU), "allowed "+affinity(os.Getpid()),
		runtime.GOMAXPROCS(0), pin(cfg.serverCPU), redisVersion, cfg.redisURL)
	fmt.Printf("# node %s; socketcore %s; logs in %s\n", nodeVersion, cfg.socketcore, cfg.logDir)
}
