// Package drain tests the graceful drain of the socketcore command
// (native.Server.Shutdown on SIGTERM) in a rolling restart: two socketcore
// processes in a Redis cluster with shared connection state recovery,
// behind a load balancer, official socket.io-client sockets on every
// transport, a steady broadcast from a third server of the cluster; each
// process in turn is sent SIGTERM and started again. Every client must get
// every broadcast exactly once, in order, and end connected; every process
// must exit 0 within the drain timeout. Redis is REDIS_URL's
// (internal/redistest), with a key prefix of the test's own; every wait is
// bounded.
package drain

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/socketcore/socketcore/adapter"
	redisadapter "github.com/socketcore/socketcore/adapter/redis"
	"github.com/socketcore/socketcore/hosts/native"
	"github.com/socketcore/socketcore/internal/leaktest"
	"github.com/socketcore/socketcore/internal/nodetest"
	"github.com/socketcore/socketcore/internal/proctest"
	"github.com/socketcore/socketcore/internal/redistest"
)

func TestMain(m *testing.M) {
	code := leaktest.Check(m)
	proctest.Cleanup()
	os.Exit(code)
}

const (
	// wait bounds every single wait.
	wait = 15 * time.Second
	// drainTimeout is the processes' --drain-timeout.
	drainTimeout = 10 * time.Second
	// window is the recovery window (--recovery).
	window = 30 * time.Second
	// tickEvery paces the broadcast.
	tickEvery = 10 * time.Millisecond
)

// The client sockets: WebSocket only, polling then WebSocket, polling only.
var modes = []string{"websocket", "upgrade", "polling", "websocket", "upgrade", "polling", "websocket", "upgrade"}

// A rolling restart of a 2-server cluster under a steady broadcast loses
// nothing: SIGTERM server A (it drains: new sessions go to B, its sockets
// leave with "server shutting down" and recover on B with what they
// missed), start A again, then the same for B.
func TestRollingRestartLosesNothing(t *testing.T) {
	rdb := redistest.Client(t)
	prefix := randomPrefix()
	t.Cleanup(func() { cleanRedis(rdb, prefix) })
	bin := proctest.Socketcore(t)
	root := nodetest.RepoRoot(t)
	node := nodetest.Node(t, root, "socket.io-client")

	a := startProcess(t, bin, "A", proctest.FreePort(t), prefix)
	b := startProcess(t, bin, "B", proctest.FreePort(t), prefix)
	g := startBroadcaster(t, prefix)
	waitServers(t, g, 3)
	lb := newBalancer(t, a.addr, b.addr)

	cl := startClients(t, node, root, lb.url(), modes)
	cl.waitAll("every client to connect and upgrade", func(c *clientState) bool {
		return c.connected && len(c.connects) == 1 && (c.mode != "upgrade" || c.upgrades == 1)
	})

	ticks := startTicks(t, g)
	cl.waitAll("the first broadcasts", func(c *clientState) bool { return len(c.seqs) >= 5 })

	for _, p := range []*process{a, b} {
		before := cl.disconnected()
		p.terminate(t)
		// its clients come back (through the balancer: on the other server)
		eventually(t, "clients to leave "+p.name, func() (bool, string) {
			n := cl.disconnected()
			return n > before, fmt.Sprint(n, " disconnections")
		})
		cl.waitAll("every client to be connected after "+p.name+"'s drain", func(c *clientState) bool {
			return c.connected && len(c.disconnects) == len(c.connects)-1
		})
		t.Logf("%d clients moved off %s", cl.disconnected()-before, p.name)
		p.start(t)
		waitServers(t, g, 3)
		// every client is live again (its missed broadcasts replayed)
		next := ticks.current() + 1
		cl.waitAll(fmt.Sprintf("broadcast %d after %s's restart", next, p.name), func(c *clientState) bool {
			return len(c.seqs) > 0 && c.seqs[len(c.seqs)-1] >= next
		})
	}
	last := ticks.stopAfter(20) // a few more on the restarted cluster
	cl.waitAll(fmt.Sprintf("every client to get broadcast %d", last), func(c *clientState) bool {
		return len(c.seqs) > 0 && c.seqs[len(c.seqs)-1] >= last
	})

	cl.mu.Lock()
	defer cl.mu.Unlock()
	for i, c := range cl.clients {
		want := make([]int, last)
		for j := range want {
			want[j] = j + 1
		}
		if !slices.Equal(c.seqs, want) {
			t.Errorf("client %d (%s) got broadcasts %s, want 1..%d once each, in order", i, c.mode, describeSeqs(c.seqs), last)
		}
		if !c.connected {
			t.Errorf("client %d (%s) ended disconnected", i, c.mode)
		}
		if len(c.connects) < 2 {
			t.Errorf("client %d (%s) never reconnected (connects %v)", i, c.mode, c.connects)
		}
		for k, rec := range c.connects[1:] {
			if !rec {
				t.Errorf("client %d (%s): reconnection %d was not recovered (reasons %q)", i, c.mode, k+1, c.disconnects)
			}
		}
		for _, r := range c.disconnects {
			// a WebSocket gets the close; a poll may fail first (its
			// session closed while no GET was parked)
			if r != "transport close" && (c.mode == "websocket" || r != "transport error") {
				t.Errorf("client %d (%s) left with %q", i, c.mode, r)
			}
		}
		for _, id := range c.ids[1:] {
			if id != c.ids[0] {
				t.Errorf("client %d (%s) changed id: %q", i, c.mode, c.ids)
				break
			}
		}
		t.Logf("client %d (%s): %d broadcasts, disconnects %q, connect errors %d", i, c.mode, len(c.seqs), c.disconnects, c.connectErrors)
	}
	t.Logf("new sessions per backend (A %s, B %s): %v", a.addr, b.addr, lb.sessions())
}

// describeSeqs summarizes a received sequence: its length, then the first
// place where it is not 1, 2, 3, ...
func describeSeqs(seqs []int) string {
	for i, s := range seqs {
		if s != i+1 {
			lo, hi := max(i-3, 0), min(i+4, len(seqs))
			return fmt.Sprintf("(%d of them; from index %d: %v)", len(seqs), lo, seqs[lo:hi])
		}
	}
	return fmt.Sprintf("(%d of them, 1..%d)", len(seqs), len(seqs))
}

func randomPrefix() string {
	var b [6]byte
	rand.Read(b[:])
	return "scdrain-" + hex.EncodeToString(b[:])
}

// cleanRedis removes the keys the test's servers left (recovery streams,
// sessions).
func cleanRedis(rdb *redis.Client, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		rdb.Del(ctx, iter.Val())
	}
}

func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	proctest.Eventually(t, wait, what, cond)
}

// ---- the broadcaster: a third server of the cluster, in the test ------------------

// startBroadcaster starts an in-process server of the cluster (no
// clients): its broadcasts are recorded in the recovery store, as any
// server's with Recovery.Shared.
func startBroadcaster(t *testing.T, prefix string) *native.Server {
	t.Helper()
	client := redis.NewClient(redistest.Options(t))
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := native.Start(native.Options{
		Adapter: func(r adapter.Receive) (adapter.Adapter, error) {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			return redisadapter.New(ctx, redisadapter.Options{Client: client, Prefix: prefix, Receive: r, Logger: quiet})
		},
		Recovery:        &native.Recovery{MaxDisconnectionDuration: window, Shared: true},
		RequestsTimeout: 2 * time.Second,
		Logger:          quiet,
	})
	if err != nil {
		client.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Close()
		client.Close()
	})
	return srv
}

// waitServers waits until srv counts n servers in the cluster.
func waitServers(t *testing.T, srv *native.Server, n int) {
	t.Helper()
	eventually(t, fmt.Sprintf("%d servers in the cluster", n), func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		got, err := srv.ServerCount(ctx)
		return got == n && err == nil, fmt.Sprint(got, err)
	})
}

// ticks broadcasts "tick" 1, 2, 3, ... from the broadcaster, steadily.
type ticks struct {
	srv  *native.Server
	mu   sync.Mutex
	seq  int
	stop chan int // the number of ticks still to send
	done chan struct{}
}

func startTicks(t *testing.T, srv *native.Server) *ticks {
	tk := &ticks{srv: srv, stop: make(chan int), done: make(chan struct{})}
	go tk.run(t)
	t.Cleanup(func() {
		select {
		case tk.stop <- 0:
		case <-tk.done:
		}
		<-tk.done
	})
	return tk
}

func (tk *ticks) run(t *testing.T) {
	defer close(tk.done)
	every := time.NewTicker(tickEvery)
	defer every.Stop()
	left := -1 // forever
	for left != 0 {
		select {
		case n := <-tk.stop:
			left = n
			continue
		case <-every.C:
		}
		tk.mu.Lock()
		tk.seq++
		seq := tk.seq
		tk.mu.Unlock()
		if err := tk.srv.Emit("tick", seq); err != nil {
			t.Errorf("broadcast %d: %v", seq, err)
			return
		}
		if left > 0 {
			left--
		}
	}
}

// current is the last tick's number.
func (tk *ticks) current() int {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	return tk.seq
}

// stopAfter sends n more ticks, stops, and returns the last one's number.
func (tk *ticks) stopAfter(n int) int {
	tk.stop <- n
	<-tk.done
	tk.mu.Lock()
	defer tk.mu.Unlock()
	return tk.seq
}

// ---- the socketcore processes ---------------------------------------------------

// process is a `socketcore serve` of the cluster, on a fixed address.
type process struct {
	name, bin, addr, prefix string
	cmd                     *exec.Cmd
	out                     *proctest.SyncBuffer
	exited                  chan struct{}
}

func startProcess(t *testing.T, bin, name string, port int, prefix string) *process {
	t.Helper()
	p := &process{name: name, bin: bin, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), prefix: prefix, out: &proctest.SyncBuffer{}}
	t.Cleanup(func() {
		if p.cmd != nil && p.running() {
			p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.exited
		}
		if t.Failed() {
			t.Logf("%s's output:\n%s", p.name, p.out.String())
		}
	})
	p.start(t)
	return p
}

// start runs the process and waits until it listens.
func (p *process) start(t *testing.T) {
	t.Helper()
	cmd := exec.Command(p.bin, "serve", "--addr", p.addr, "--redis", redistest.URL(), "--redis-key", p.prefix,
		"--recovery", window.String(), "--drain-timeout", drainTimeout.String(), "--requests-timeout", "2s",
		"--client-js", "", "--sdk", "")
	cmd.Env = os.Environ()
	fmt.Fprintf(p.out, "---- %s starts\n", p.name)
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	p.cmd, p.exited = cmd, exited
	eventually(t, p.name+" to listen on "+p.addr, func() (bool, string) {
		if !p.running() {
			return false, "it exited: " + p.cmd.ProcessState.String()
		}
		c, err := net.DialTimeout("tcp", p.addr, time.Second)
		if err != nil {
			return false, err.Error()
		}
		c.Close()
		return true, ""
	})
}

func (p *process) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// terminate sends SIGTERM and checks that the process drains and exits 0
// within the drain timeout (nothing holds its drain: it takes
// milliseconds).
func (p *process) terminate(t *testing.T) {
	t.Helper()
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(drainTimeout):
		t.Fatalf("%s did not exit within the drain timeout (%v) of SIGTERM", p.name, drainTimeout)
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("%s exited with %s after SIGTERM", p.name, p.cmd.ProcessState)
	}
	t.Logf("%s drained and exited 0 in %v", p.name, time.Since(start).Round(time.Millisecond))
}

// ---- the official clients --------------------------------------------------------

// clientState is what one client socket saw.
type clientState struct {
	mode          string
	seqs          []int
	connects      []bool // recovered, per connect
	ids           []string
	disconnects   []string // reasons
	connectErrors int
	upgrades      int
	connected     bool
}

// clients is clients.mjs in a node process.
type clients struct {
	t       *testing.T
	mu      sync.Mutex
	clients []*clientState
	fatal   string
	lines   []string // the last lines, for failures
}

func startClients(t *testing.T, node, root, url string, modes []string) *clients {
	t.Helper()
	cl := &clients{t: t}
	for _, m := range modes {
		cl.clients = append(cl.clients, &clientState{mode: m})
	}
	cmd := exec.Command(node, filepath.Join(root, "tests", "cluster", "drain", "clients.mjs"), url, strings.Join(modes, ","))
	cmd.Dir = root
	stderr := &proctest.SyncBuffer{}
	cmd.Stderr = stderr
	stdin, stdout := nodetest.Start(t, cmd)
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			cl.line(sc.Bytes())
		}
	}()
	t.Cleanup(func() {
		stdin.Close() // the script closes its sockets and exits
		select {
		case <-read:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-read
		}
		cmd.Wait()
		if t.Failed() && stderr.String() != "" {
			t.Logf("node stderr:\n%s", stderr.String())
		}
	})
	return cl
}

func (cl *clients) line(b []byte) {
	var l struct {
		C         int    `json:"c"`
		Type      string `json:"type"`
		ID        string `json:"id"`
		Recovered bool   `json:"recovered"`
		Seq       int    `json:"seq"`
		Reason    string `json:"reason"`
		Message   string `json:"message"`
	}
	err := json.Unmarshal(b, &l)
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if err != nil || l.C < 0 || l.C >= len(cl.clients) {
		cl.fatal = "clients.mjs printed " + string(b)
		return
	}
	if l.Type != "tick" {
		cl.lines = append(cl.lines, string(b))
		if len(cl.lines) > 200 {
			cl.lines = cl.lines[100:]
		}
	}
	c := cl.clients[l.C]
	switch l.Type {
	case "connect":
		c.connected = true
		c.connects = append(c.connects, l.Recovered)
		c.ids = append(c.ids, l.ID)
	case "tick":
		c.seqs = append(c.seqs, l.Seq)
	case "upgrade":
		c.upgrades++
	case "disconnect":
		c.connected = false
		c.disconnects = append(c.disconnects, l.Reason)
	case "connect_error":
		c.connectErrors++
	default:
		cl.fatal = "clients.mjs printed " + string(b)
	}
}

// disconnected counts the disconnections of every client so far.
func (cl *clients) disconnected() int {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	n := 0
	for _, c := range cl.clients {
		n += len(c.disconnects)
	}
	return n
}

// waitAll waits until cond holds for every client.
func (cl *clients) waitAll(what string, cond func(c *clientState) bool) {
	cl.t.Helper()
	eventually(cl.t, what, func() (bool, string) {
		cl.mu.Lock()
		defer cl.mu.Unlock()
		if cl.fatal != "" {
			cl.t.Fatal(cl.fatal)
		}
		for i, c := range cl.clients {
			if !cond(c) {
				return false, fmt.Sprintf("client %d (%s): connected %v, connects %v, disconnects %q, %d broadcasts; last lines:\n%s",
					i, c.mode, c.connected, c.connects, c.disconnects, len(c.seqs), strings.Join(cl.lines[max(len(cl.lines)-20, 0):], "\n"))
			}
		}
		return true, ""
	})
}
