// Package faults tests a cluster of Go servers (hosts/native on
// adapter/redis) under faults: Redis killed and restarted mid-run, garbage
// on every channel the servers subscribe to, and a server killed while a
// request waits for it. Every test runs its own redis-server on a free
// loopback port (the binary must be installed: apt-get install
// redis-server), and every wait is bounded.
package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/socketcore/socketcore/adapter"
	redisadapter "github.com/socketcore/socketcore/adapter/redis"
	"github.com/socketcore/socketcore/hosts/native"
	"github.com/socketcore/socketcore/internal/leaktest"
	"github.com/socketcore/socketcore/internal/proctest"
)

func TestMain(m *testing.M) {
	code := leaktest.Check(m)
	proctest.Cleanup()
	os.Exit(code)
}

// wait bounds every single wait of the tests.
const wait = 5 * time.Second

// requestsTimeout is the servers' RequestsTimeout: short, as requests that
// wait for a server that cannot answer are part of the tests.
const requestsTimeout = time.Second

// eventually retries cond every 20 ms until it holds, for at most d; cond
// also says what it saw, for the failure.
func eventually(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	for end := time.Now().Add(d); ; {
		ok, saw := cond()
		if ok {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("timed out after %v waiting for %s; last saw %s", d, what, saw)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ---- redis-server --------------------------------------------------------------

// redisServer is a redis-server the test runs on a loopback port.
type redisServer struct {
	t      *testing.T
	bin    string
	dir    string
	port   int
	addr   string
	cmd    *exec.Cmd
	out    *proctest.SyncBuffer
	exited chan struct{}
}

// startRedis starts a redis-server on a free loopback port, killed at the
// end of the test; a missing binary fails the test.
func startRedis(t *testing.T) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server not found: these tests run their own (apt-get install redis-server)")
	}
	r := &redisServer{t: t, bin: bin, dir: t.TempDir()}
	t.Cleanup(func() {
		if r.cmd != nil {
			r.kill()
		}
	})
	for attempt := 0; ; attempt++ {
		r.port = proctest.FreePort(t)
		r.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port))
		err := r.tryStart()
		if err == nil {
			return r
		}
		if attempt == 2 {
			t.Fatalf("redis-server: %v", err)
		}
	}
}

// start (re)starts redis-server on its port, failing the test if it does not answer.
func (r *redisServer) start() {
	r.t.Helper()
	if err := r.tryStart(); err != nil {
		r.t.Fatalf("restarting redis-server on %s: %v", r.addr, err)
	}
}

func (r *redisServer) tryStart() error {
	cmd := exec.Command(r.bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", r.dir)
	r.out = &proctest.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = r.out, r.out
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	r.cmd, r.exited = cmd, exited
	c := redis.NewClient(&redis.Options{Addr: r.addr, MaxRetries: -1})
	defer c.Close()
	for end := time.Now().Add(wait); ; time.Sleep(20 * time.Millisecond) {
		select {
		case <-exited:
			r.cmd = nil
			return fmt.Errorf("exited:\n%s", r.out.String())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(end) {
			r.kill()
			return fmt.Errorf("no PONG within %v (%v):\n%s", wait, err, r.out.String())
		}
	}
}

// kill SIGKILLs redis-server and waits for it to be gone.
func (r *redisServer) kill() {
	r.t.Helper()
	r.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-r.exited:
	case <-time.After(wait):
		r.t.Fatalf("redis-server on %s not gone %v after SIGKILL", r.addr, wait)
	}
	r.cmd = nil
}

// client is a Redis client of the test itself, closed at the end.
func (r *redisServer) client(t *testing.T) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: r.addr})
	t.Cleanup(func() { c.Close() })
	return c
}

// numSub is PUBSUB NUMSUB of one channel.
func numSub(c *redis.Client, channel string) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	m, err := c.PubSubNumSub(ctx, channel).Result()
	return m[channel], err
}

// ---- logs ----------------------------------------------------------------------

// logCounter is a slog.Handler that counts warnings and errors, and
// prints the first ones with -v.
type logCounter struct {
	warn, errs atomic.Int64
	name       string
}

func (l *logCounter) Enabled(context.Context, slog.Level) bool { return true }

func (l *logCounter) Handle(_ context.Context, r slog.Record) error {
	var n int64
	switch {
	case r.Level >= slog.LevelError:
		n = l.errs.Add(1)
	case r.Level >= slog.LevelWarn:
		n = l.warn.Add(1)
	}
	if testing.Verbose() && r.Level >= slog.LevelWarn && n <= 20 { // the first ones of each level
		var b bytes.Buffer
		fmt.Fprintf(&b, "[%s] %s %s", l.name, r.Level, r.Message)
		r.Attrs(func(a slog.Attr) bool {
			s := a.Value.String()
			if len(s) > 120 {
				s = s[:120] + "…"
			}
			fmt.Fprintf(&b, " %s=%q", a.Key, s)
			return true
		})
		fmt.Fprintln(os.Stderr, b.String())
	}
	return nil
}

func (l *logCounter) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logCounter) WithGroup(string) slog.Handler      { return l }

// ---- the Go servers ------------------------------------------------------------

// node is a Go server of the cluster on a loopback httptest listener.
type node struct {
	name string
	srv  *native.Server
	url  string
	uid  string // its adapter's
	log  *logCounter
}

// startNode starts a Go server named name on the Redis at addr (channels
// prefix) with the application, on "/" and the namespaces in nsps: every
// socket joins "room-<name>", a socket's "ping" is answered "pong:<name>",
// and the server-side "whoami" is answered with the server's name.
func startNode(t *testing.T, addr, prefix, name string, nsps ...string) *node {
	t.Helper()
	return startNodeWith(t, addr, prefix, name, nodeConfig{}, nsps...)
}

// nodeConfig changes startNode's defaults.
type nodeConfig struct {
	redis   func(*redis.Options) // changes the Redis client's options
	sharded bool                 // the sharded adapter
}

// startNodeWith is startNode with cfg.
func startNodeWith(t *testing.T, addr, prefix, name string, cfg nodeConfig, nsps ...string) *node {
	t.Helper()
	opts := &redis.Options{Addr: addr}
	if cfg.redis != nil {
		cfg.redis(opts)
	}
	client := redis.NewClient(opts)
	t.Cleanup(func() { client.Close() }) // after the server's Close (cleanups run last first)
	n := &node{name: name, log: &logCounter{name: name}}
	logger := slog.New(n.log)
	srv, err := native.Start(native.Options{
		RequestsTimeout: requestsTimeout,
		Logger:          logger,
		Adapter: func(receive adapter.Receive) (adapter.Adapter, error) {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			a, err := redisadapter.New(ctx, redisadapter.Options{Client: client, Prefix: prefix, Receive: receive, Logger: logger,
				Sharded: cfg.sharded})
			if err == nil {
				n.uid = a.UID()
			}
			return a, err
		},
	})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	n.srv = srv
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
		srv.Close()
	})
	n.url = hs.URL
	for _, nsp := range append([]string{"/"}, nsps...) {
		n.app(nsp)
	}
	return n
}

// app sets the application up on namespace nsp.
func (n *node) app(nsp string) {
	ns := n.srv.Of(nsp)
	ns.OnServerSideEmit("whoami", func(ack native.Ack) { ack(n.name) })
	ns.OnConnection(func(so *native.Socket) {
		so.Join("room-" + n.name)
		so.On("ping", func(ack native.Ack) { ack("pong:" + n.name) })
	})
}

// ---- the clients ---------------------------------------------------------------

// event is what a client received.
type event struct {
	name string
	args native.Args
}

func (e event) String() string {
	b, _ := json.Marshal(e.args.Values())
	return e.name + " " + string(b)
}

// peer is a Go client of one server's namespace.
type peer struct {
	t      *testing.T
	name   string // "<server><nsp>"
	c      *native.ClientSocket
	events chan event // every event but "quiz"
}

// dial connects a client to nsp of n: it answers "quiz" with n's name.
func dial(t *testing.T, n *node, nsp string) *peer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	p := &peer{t: t, name: n.name + nsp, events: make(chan event, 256)}
	c, err := native.DialContext(ctx, n.url+nsp, native.ClientOptions{
		Transports:     []string{"websocket"},
		NoReconnection: true,
	})
	if err != nil {
		t.Fatalf("client of %s: %v", p.name, err)
	}
	t.Cleanup(func() { c.Close() })
	p.c = c
	c.On("quiz", func(ack native.Ack) { ack(n.name) })
	c.OnAny(func(name string, args native.Args) {
		if name == "quiz" {
			return
		}
		select {
		case p.events <- event{name, args}:
		default:
			t.Errorf("client of %s: events overflow at %s", p.name, name)
		}
	})
	return p
}

// expect checks that the client's next event is name with the one string
// argument arg.
func (p *peer) expect(name, arg string) {
	p.t.Helper()
	select {
	case e := <-p.events:
		var got string
		if e.name != name || e.args.Len() != 1 || e.args.Decode(&got) != nil || got != arg {
			p.t.Fatalf("client of %s: got %s, want %s %q", p.name, e, name, arg)
		}
	case <-time.After(wait):
		p.t.Fatalf("client of %s: no %s %q within %v", p.name, name, arg, wait)
	}
}

// quiet checks that the client received nothing more (within settle).
func (p *peer) quiet(settle time.Duration) {
	p.t.Helper()
	select {
	case e := <-p.events:
		p.t.Errorf("client of %s: unexpected %s", p.name, e)
	case <-time.After(settle):
	}
}

// ping is a client → server round trip with an acknowledgement.
func (p *peer) ping(server string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	r, err := p.c.Timeout(wait).EmitWithAck(ctx, "ping")
	var got string
	if err != nil || r.Decode(&got) != nil || got != "pong:"+server {
		p.t.Fatalf("client of %s: ping answered %v, %v", p.name, r.Values(), err)
	}
}

// timed runs f and returns how long it took.
func timed(f func()) time.Duration {
	t0 := time.Now()
	f()
	return time.Since(t0)
}

// strs decodes each reply's first argument as a string.
func strs(replies []native.Args) []string {
	out := make([]string, 0, len(replies))
	for _, r := range replies {
		var s string
		if r.Decode(&s) != nil {
			s = fmt.Sprint(r.Values())
		}
		out = append(out, s)
	}
	return out
}
