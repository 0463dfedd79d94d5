// Package recovery tests connection state recovery across the servers of
// a Redis cluster (native.Recovery.Shared, adapter/redis's recovery
// store): a Go client (native.Dial) whose server went away — closed, or a
// separate socketcore process SIGKILLed — comes back through a proxy on
// another server and gets its socket and every packet it missed. Redis is
// REDIS_URL's (internal/redistest); every wait is bounded.
package recovery

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/socketcore/socketcore/adapter"
	redisadapter "github.com/socketcore/socketcore/adapter/redis"
	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/hosts/native"
	"github.com/socketcore/socketcore/internal/leaktest"
	"github.com/socketcore/socketcore/internal/proctest"
	"github.com/socketcore/socketcore/internal/redistest"
	"github.com/socketcore/socketcore/wasm/host"
	"github.com/socketcore/socketcore/wasm/wasmtest"
)

// wasmMachines compiles core.wasm: the factory of its server role.
func wasmMachines(t *testing.T) native.NewMachine {
	t.Helper()
	var opts host.Options
	if d, err := os.UserCacheDir(); err == nil {
		opts.CacheDir = d + "/socketcore/wazero"
	}
	mod, err := host.Compile(context.Background(), wasmtest.Bytes(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mod.Close(context.Background()) })
	return func(cfg core.Config) (native.Machine, error) { return mod.NewMachine(context.Background(), cfg) }
}

func TestMain(m *testing.M) {
	code := leaktest.Check(m)
	proctest.Cleanup()
	wasmtest.Cleanup()
	os.Exit(code)
}

// wait bounds every single wait.
const wait = 10 * time.Second

func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	proctest.Eventually(t, wait, what, cond)
}

func within[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wait):
		t.Fatalf("timed out after %v waiting for %s", wait, what)
		var zero T
		return zero
	}
}

func randomPrefix(t *testing.T) string {
	var b [6]byte
	rand.Read(b[:])
	return "screc-" + hex.EncodeToString(b[:])
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// ---- servers -------------------------------------------------------------------

// server is an in-process Go server of the cluster.
type server struct {
	srv  *native.Server
	hs   *httptest.Server
	addr string
}

// connection is what a server's connection handler saw.
type connection struct {
	id        string
	recovered bool
	data      any
	server    int
}

// newServer starts server i of the cluster prefix: recovery shared
// through Redis with the given window; every socket joins "team" and gets
// Data {"user":"ann"} unless recovered.
func newServer(t *testing.T, i int, prefix string, window time.Duration, conns chan<- connection, machine ...native.NewMachine) *server {
	t.Helper()
	client := redis.NewClient(redistest.Options(t))
	opts := native.Options{
		Adapter: func(r adapter.Receive) (adapter.Adapter, error) {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			return redisadapter.New(ctx, redisadapter.Options{Client: client, Prefix: prefix, Receive: r, Logger: quietLogger()})
		},
		Recovery:        &native.Recovery{MaxDisconnectionDuration: window, Shared: true},
		RequestsTimeout: time.Second,
		Logger:          quietLogger(),
	}
	rand.Read(opts.Seed[:])
	if len(machine) > 0 {
		opts.Machine = machine[0]
	}
	srv, err := native.Start(opts)
	if err != nil {
		client.Close()
		t.Fatal(err)
	}
	srv.OnConnection(func(so *native.Socket) {
		if !so.Recovered() {
			so.Data = map[string]any{"user": "ann"}
			so.Join("team")
		}
		so.On("join", func(room string, ack native.Ack) { so.Join(room); ack("ok") })
		if conns != nil {
			conns <- connection{id: so.ID(), recovered: so.Recovered(), data: so.Data, server: i}
		}
	})
	s := &server{srv: srv, hs: httptest.NewServer(srv)}
	s.addr = strings.TrimPrefix(s.hs.URL, "http://")
	t.Cleanup(func() {
		s.close()
		client.Close()
	})
	return s
}

// waitCluster waits until every server counts n servers (their
// subscriptions are confirmed: a broadcast reaches them all).
func waitCluster(t *testing.T, n int, servers ...*server) {
	t.Helper()
	for _, s := range servers {
		eventually(t, "the cluster to form", func() (bool, string) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			got, err := s.srv.ServerCount(ctx)
			return got == n && err == nil, fmt.Sprint(got, err)
		})
	}
}

func (s *server) close() {
	if s.hs != nil {
		s.hs.CloseClientConnections()
		s.hs.Close()
		s.srv.Close()
		s.hs = nil
	}
}

// ---- the socketcore command ----------------------------------------------------

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// process is a socketcore bench-server (its "join" event joins a room) in
// the cluster, as a separate process.
type process struct {
	cmd  *exec.Cmd
	addr string
	done chan struct{}
}

// the command's slog line (text format): msg="socketcore: bench server" url=http://HOST/socket.io/
var listening = regexp.MustCompile(`bench server" url=http://([^/\s]+)/socket\.io/`)

func startProcess(t *testing.T, prefix string, window time.Duration, extra ...string) *process {
	t.Helper()
	args := append([]string{"bench-server", "--addr", "127.0.0.1:0", "--redis", redistest.URL(), "--redis-key", prefix,
		"--recovery", window.String()}, extra...)
	cmd := exec.Command(proctest.Socketcore(t), args...)
	cmd.Env = os.Environ()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		cmd.Wait()
	}()
	t.Cleanup(p.kill)
	p.addr = within(t, addr, "the socketcore process to listen")
	return p
}

// kill SIGKILLs the process: no goodbye, nothing saved.
func (p *process) kill() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-p.done
}

// ---- the proxy: one address, a backend that can change or be down ----------------

type proxy struct {
	ln      net.Listener
	mu      sync.Mutex
	backend string
	down    bool
	conns   map[net.Conn]struct{}
	wg      sync.WaitGroup
}

func newProxy(t *testing.T, backend string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, backend: backend, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) url() string { return "http://" + p.ln.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		backend, down := p.backend, p.down
		p.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		b, err := net.DialTimeout("tcp", backend, time.Second)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[b] = struct{}{}, struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		pipe := func(dst, src net.Conn) {
			defer p.wg.Done()
			io.Copy(dst, src)
			dst.Close()
			src.Close()
			p.mu.Lock()
			delete(p.conns, dst)
			delete(p.conns, src)
			p.mu.Unlock()
		}
		go pipe(b, c)
		go pipe(c, b)
	}
}

// set points new connections at backend; down refuses them.
func (p *proxy) set(backend string, down bool) {
	p.mu.Lock()
	p.backend, p.down = backend, down
	p.mu.Unlock()
}

// cut closes every connection through the proxy.
func (p *proxy) cut() {
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
}

func (p *proxy) close() {
	p.ln.Close()
	p.cut()
	p.wg.Wait()
}
