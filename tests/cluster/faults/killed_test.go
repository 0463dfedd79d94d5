package faults

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/socketcore/socketcore/hosts/native"
	"github.com/socketcore/socketcore/internal/proctest"
)

// process is a socketcore command the test runs.
type process struct {
	cmd    *exec.Cmd
	url    string
	uid    string
	exited chan struct{}
	log    *proctest.SyncBuffer
}

var (
	// the command's slog lines (text format): msg="socketcore: serving
	// Socket.IO" url=http://HOST/socket.io/ ..., msg="socketcore: joined
	// the Redis cluster" ... uid=UID
	servingRe = regexp.MustCompile(`serving Socket\.IO" url=(http://[^/\s]+)/`)
	joinedRe  = regexp.MustCompile(`joined the Redis cluster" .*uid=(\S+)`)
)

// startProcess runs `socketcore serve` on a free loopback port, joined to
// the Redis at addr, and returns once it serves.
func startProcess(t *testing.T, addr, prefix string) *process {
	t.Helper()
	cmd := exec.Command(proctest.Socketcore(t), "serve", "--addr", "127.0.0.1:0", "--client-js", "",
		"--redis", "redis://"+addr, "--redis-key", prefix, "--requests-timeout", requestsTimeout.String())
	cmd.Dir = t.TempDir()
	cmd.WaitDelay = time.Second
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{}), log: &proctest.SyncBuffer{}}
	cmd.Stdout = p.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		defer close(p.exited)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(p.log, line)
			if m := joinedRe.FindStringSubmatch(line); m != nil {
				p.uid = m[1] // before the serving line, which closes ready
			}
			if m := servingRe.FindStringSubmatch(line); m != nil && p.url == "" {
				p.url = m[1]
				close(ready)
			}
		}
		cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGKILL)
		select {
		case <-p.exited:
		case <-time.After(wait):
			t.Errorf("socketcore process not gone %v after SIGKILL", wait)
		}
		if t.Failed() {
			t.Logf("socketcore process output:\n%s", p.log.String())
		}
	})
	select {
	case <-ready:
	case <-p.exited:
		t.Fatalf("socketcore exited before serving:\n%s", p.log.String())
	case <-time.After(2 * wait):
		t.Fatalf("socketcore not serving within %v:\n%s", 2*wait, p.log.String())
	}
	return p
}

// TestNodeKilledMidRequest: a server of the cluster (a socketcore process)
// stops answering while it is still counted (SIGSTOP: its Redis
// connection stays open), then dies (SIGKILL). Requests from the other
// servers end at the requests timeout with what they got, and once the
// process is gone the cluster counts one server less and requests complete
// at once again.
func TestNodeKilledMidRequest(t *testing.T) {
	r := startRedis(t)
	admin := r.client(t)
	const prefix = "killed"
	proc := startProcess(t, r.addr, prefix)
	a, b := startNode(t, r.addr, prefix, "a"), startNode(t, r.addr, prefix, "b")
	eventually(t, wait, "the three servers subscribed", func() (bool, string) {
		n, err := numSub(admin, prefix+"-request#/#")
		return err == nil && n == 3, fmt.Sprint(n, err)
	})
	pa, pb := dial(t, a, "/"), dial(t, b, "/")
	wantIDs := []string{pa.c.ID(), pb.c.ID()}
	sort.Strings(wantIDs)

	// sse is a's ServerSideEmitWithAck; the process has no handler and
	// answers with nothing (a reply without arguments: "").
	sse := func() ([]string, error, time.Duration) {
		var replies []native.Args
		var err error
		d := timed(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
			defer cancel()
			replies, err = a.srv.Of("/").ServerSideEmitWithAck(ctx, "whoami")
		})
		got := strs(replies)
		sort.Strings(got)
		return got, err, d
	}
	fetch := func() ([]string, error, time.Duration) {
		var socks []native.RemoteSocket
		var err error
		d := timed(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
			defer cancel()
			socks, err = a.srv.FetchSockets(ctx)
		})
		var ids []string
		for _, s := range socks {
			ids = append(ids, s.ID)
		}
		sort.Strings(ids)
		return ids, err, d
	}
	poll := func() ([]string, error, time.Duration) {
		var replies []native.Args
		var err error
		d := timed(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
			defer cancel()
			replies, err = a.srv.Of("/").Timeout(requestsTimeout).EmitWithAck(ctx, "quiz")
		})
		got := strs(replies)
		sort.Strings(got)
		return got, err, d
	}
	// fast is how long a request every server answers may take.
	const fast = 500 * time.Millisecond

	// 1. Everyone answers.
	if got, err, d := sse(); err != nil || !slices.Equal(got, []string{"", "b"}) || d > fast {
		t.Fatalf("ServerSideEmitWithAck with the process up: %q, %v in %v", got, err, d)
	}
	if got, err, d := fetch(); err != nil || !slices.Equal(got, wantIDs) || d > fast {
		t.Fatalf("FetchSockets with the process up: %q, %v in %v; want %q", got, err, d, wantIDs)
	}
	if got, err, d := poll(); err != nil || !slices.Equal(got, []string{"a", "b"}) || d > fast {
		t.Fatalf("EmitWithAck with the process up: %q, %v in %v", got, err, d)
	}

	// 2. The process stops answering but is still counted.
	if err := proc.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	if n, err := numSub(admin, prefix+"-request#/#"); err != nil || n != 3 {
		t.Fatalf("NUMSUB with the process stopped: %d, %v", n, err)
	}
	var wg sync.WaitGroup
	wg.Add(3)
	inTime := func(d time.Duration) bool { return d >= requestsTimeout-100*time.Millisecond && d <= requestBound }
	// early reports a request that completed before the timeout with the
	// live servers' answers only: the server count is Redis's NUMSUB at the
	// moment of the request (as in Node), and under heavy load a live
	// server's subscription being remade makes it count one server less.
	// Tolerated (and logged) only with exactly the live servers' answers.
	early := func(what string, err error, d time.Duration) bool {
		if err == nil && d < requestsTimeout-100*time.Millisecond {
			t.Logf("%s completed after %v with the live servers' answers: Redis counted one server less then", what, d)
			return true
		}
		return false
	}
	go func() {
		defer wg.Done()
		// the answers so far (b's) and the timeout
		got, err, d := sse()
		if !slices.Equal(got, []string{"b"}) || !(errors.Is(err, native.ErrClusterTimeout) && inTime(d) || early("ServerSideEmitWithAck", err, d)) {
			t.Errorf("ServerSideEmitWithAck with the process stopped: %q, %v in %v", got, err, d)
		}
	}()
	go func() {
		defer wg.Done()
		// as Node's fetchSockets rejects: nothing but the timeout
		got, err, d := fetch()
		// (the process holds no socket: the live servers' answers are all of them)
		if !(errors.Is(err, native.ErrClusterTimeout) && len(got) == 0 && inTime(d) ||
			slices.Equal(got, wantIDs) && early("FetchSockets", err, d)) {
			t.Errorf("FetchSockets with the process stopped: %q, %v in %v", got, err, d)
		}
	}()
	go func() {
		defer wg.Done()
		// the process never says how many acknowledgements to expect
		got, err, d := poll()
		if !slices.Equal(got, []string{"a", "b"}) || !(errors.Is(err, native.ErrAckTimeout) && inTime(d) || early("EmitWithAck", err, d)) {
			t.Errorf("EmitWithAck with the process stopped: %q, %v in %v", got, err, d)
		}
	}()
	// Killed mid-request.
	time.Sleep(requestsTimeout / 2)
	if err := proc.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-proc.exited:
	case <-time.After(wait):
		t.Fatalf("socketcore process not gone %v after SIGKILL", wait)
	}
	wg.Wait()

	// 3. Its connections gone, it is no longer counted.
	eventually(t, wait, "the cluster to count two servers", func() (bool, string) {
		var saw []string
		ok := true
		for _, n := range []*node{a, b} {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			c, err := n.srv.ServerCount(ctx)
			cancel()
			saw = append(saw, fmt.Sprint(n.name, ":", c, err))
			ok = ok && err == nil && c == 2
		}
		return ok, strings.Join(saw, " ")
	})
	if n, err := numSub(admin, prefix+"-response#/#"+proc.uid+"#"); proc.uid == "" || err != nil || n != 0 {
		t.Errorf("the process's own response channel (uid %q): %d subscribers, %v", proc.uid, n, err)
	}
	if got, err, d := sse(); err != nil || !slices.Equal(got, []string{"b"}) || d > fast {
		t.Errorf("ServerSideEmitWithAck with the process gone: %q, %v in %v", got, err, d)
	}
	if got, err, d := fetch(); err != nil || !slices.Equal(got, wantIDs) || d > fast {
		t.Errorf("FetchSockets with the process gone: %q, %v in %v", got, err, d)
	}
	if got, err, d := poll(); err != nil || !slices.Equal(got, []string{"a", "b"}) || d > fast {
		t.Errorf("EmitWithAck with the process gone: %q, %v in %v", got, err, d)
	}
	for _, p := range []*peer{pa, pb} {
		p.quiet(0)
	}
}
