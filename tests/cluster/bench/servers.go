//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// server is one node of the cluster under test: a child process, pinned to
// the server CPU when taskset exists.
type server struct {
	name    string // "go-1", "node-2", ...
	addr    string // 127.0.0.1:port
	pid     int
	logPath string

	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has been reaped
	waitErr error         // set before exited is closed
}

// live holds the servers not yet stopped, so that an interrupt or the
// watchdog can stop them (by PID) before the benchmark exits.
var live = struct {
	sync.Mutex
	m map[*server]bool
}{m: map[*server]bool{}}

// stopAll stops every server still running (interrupt, watchdog).
func stopAll() {
	live.Lock()
	list := make([]*server, 0, len(live.m))
	for s := range live.m {
		list = append(list, s)
	}
	live.Unlock()
	for _, s := range list {
		s.stop()
	}
}

// freePort asks the kernel for a loopback port that is free right now (the
// machine is shared: fixed ports could collide with other tests).
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startServer starts node idx (1 or 2) of the given kind ("go" or "node")
// in the cluster named by key, and returns once it accepts TCP connections.
func startServer(cfg *config, kind string, idx int, key string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var argv, env []string
	switch kind {
	case "go":
		argv = []string{cfg.socketcore, "bench-server", "--addr", addr, "--redis", cfg.redisURL, "--redis-key", key}
	case "node":
		argv = []string{cfg.nodeBin, cfg.nodeScript}
		env = []string{"PORT=" + strconv.Itoa(port), "REDIS_URL=" + cfg.redisURL, "KEY=" + key}
	default:
		return nil, fmt.Errorf("unknown server kind %q", kind)
	}
	if cfg.serverCPU >= 0 && cfg.taskset != "" {
		argv = append([]string{cfg.taskset, "-c", strconv.Itoa(cfg.serverCPU)}, argv...)
	}
	s := &server{name: fmt.Sprintf("%s-%d", kind, idx), addr: addr, exited: make(chan struct{})}
	s.logPath = filepath.Join(cfg.logDir, s.name+".log")
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child has its own copy
	fmt.Fprintf(logf, "==== %s %s: %s\n", time.Now().Format(time.RFC3339), key, strings.Join(argv, " "))

	s.cmd = exec.Command(argv[0], argv[1:]...)
	s.cmd.Env = append(os.Environ(), env...)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	// Killed with us if we die without cleaning up. (taskset execs the
	// server, which keeps both the PID and this setting.)
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", s.name, err)
	}
	s.pid = s.cmd.Process.Pid
	live.Lock()
	live.m[s] = true
	live.Unlock()
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()

	// Both kinds connect to Redis before they listen.
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return s, nil
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("%s exited before listening (%v); log %s:\n%s", s.name, s.waitErr, s.logPath, tail(s.logPath))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("%s not listening on %s after 20s; log %s:\n%s", s.name, addr, s.logPath, tail(s.logPath))
		}
	}
}

// stop terminates the server by its PID: SIGTERM, then SIGKILL after 5 s.
func (s *server) stop() {
	live.Lock()
	delete(live.m, s)
	live.Unlock()
	select {
	case <-s.exited:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// running reports whether the process is still alive.
func (s *server) running() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// tail returns the last lines of a log file, for error messages.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return "\t" + strings.Join(lines, "\n\t")
}

// userHZ is the unit of /proc's CPU times (USER_HZ, 100 on every Linux ABI
// this runs on).
const userHZ = 100

// procCPU is the CPU time (user + system, all threads) a process has used,
// from /proc/PID/stat (10 ms resolution).
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: count from its ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(ut+st) * time.Second / userHZ, nil
}

// runqWait is how long the threads of a process have waited on a run
// queue, runnable but not running (the second field of each thread's
// /proc/PID/task/TID/schedstat; 0 when schedstats are off): the CPU
// contention the process met.
func runqWait(pid int) time.Duration {
	dirs, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var total int64
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if f := strings.Fields(string(b)); err == nil && len(f) >= 2 {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			total += n
		}
	}
	return time.Duration(total)
}

// selfCPU is the benchmark process's own CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuTimes is one /proc/stat line per CPU: busy and total jiffies, to show
// how busy each core was over a window (whoever used it: the machine is
// shared).
type cpuTimes struct{ busy, softirq, total []int64 }

func readCPUTimes() cpuTimes {
	var t cpuTimes
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return t
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || !strings.HasPrefix(f[0], "cpu") || f[0] == "cpu" {
			continue
		}
		// user nice system idle iowait irq softirq steal [guest…, already
		// counted in user]
		var total, idle, softirq int64
		for j, v := range f[1:min(len(f), 9)] {
			n, _ := strconv.ParseInt(v, 10, 64)
			total += n
			switch j {
			case 3, 4:
				idle += n
			case 6:
				softirq = n
			}
		}
		t.busy = append(t.busy, total-idle)
		t.softirq = append(t.softirq, softirq)
		t.total = append(t.total, total)
	}
	return t
}

// busyPct is each CPU's busy share between two readings, in %.
func busyPct(a, b cpuTimes) []float64 {
	var out []float64
	for i := range min(len(a.busy), len(b.busy)) {
		dt := b.total[i] - a.total[i]
		if dt <= 0 {
			out = append(out, 0)
			continue
		}
		out = append(out, 100*float64(b.busy[i]-a.busy[i])/float64(dt))
	}
	return out
}

// softirqPct is the softirq time of all CPUs between two readings, in %
// of one CPU (the loopback network's receive path runs there, charged to
// no process).
func softirqPct(a, b cpuTimes) float64 {
	var si, total int64
	for i := range min(len(a.busy), len(b.busy)) {
		si += b.softirq[i] - a.softirq[i]
		total += b.total[i] - a.total[i]
	}
	if total <= 0 {
		return 0
	}
	return 100 * float64(si) / (float64(total) / float64(len(a.busy)))
}

// redisCPU is Redis's own CPU time (INFO cpu: used_cpu_user +
// used_cpu_sys, every thread), or -1 when INFO fails.
func redisCPU(ctx context.Context, rc *goredis.Client) time.Duration {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	info, err := rc.Info(ctx, "cpu").Result()
	if err != nil {
		return -1
	}
	var secs float64
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_user" || k == "used_cpu_sys") {
			f, _ := strconv.ParseFloat(v, 64)
			secs += f
		}
	}
	return time.Duration(secs * float64(time.Second))
}

// loadAvg1 is the 1-minute load average.
func loadAvg1() float64 {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
