// Package client runs the Go client (hosts/native) against two servers that
// implement the e2e application contract (tests/e2e/APP.md): ours
// (tests/e2e.NewApp on hosts/native) and the official Node server
// (tests/e2e/node-app.mjs on socket.io 4.8.4), in every transport mode.
// Both servers can be killed and restarted on the same port, which is the
// reconnection flow.
package client

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/socketcore/socketcore/hosts/native"
	"github.com/socketcore/socketcore/internal/leaktest"
	"github.com/socketcore/socketcore/internal/nodetest"
	"github.com/socketcore/socketcore/tests/e2e"
)

func TestMain(m *testing.M) { leaktest.Main(m) }

// wait bounds every single wait of these tests.
const wait = 5 * time.Second

// server is an APP.md server that can be stopped (killed: connections cut)
// and started again on the same port.
type server interface {
	URL() string
	Stop()
	Start()
}

type target struct {
	name  string
	start func(t *testing.T) server
}

var targets = []target{
	{"go", startGo},
	{"node", startNode},
}

var modes = []string{"websocket", "polling", "upgrade"}

// ---- ours ------------------------------------------------------------------

type goServer struct {
	t    *testing.T
	addr string
	srv  *native.Server
	hs   *httptest.Server
}

func startGo(t *testing.T) server {
	s := &goServer{t: t, addr: "127.0.0.1:0"}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

func (s *goServer) URL() string { return "http://" + s.addr }

func (s *goServer) Start() {
	s.t.Helper()
	var l net.Listener
	var err error
	for i := 0; i < 100; i++ {
		if l, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("listen on %s: %v", s.addr, err)
	}
	s.addr = l.Addr().String()
	s.srv = e2e.NewApp(native.Options{})
	s.hs = &httptest.Server{Listener: l, Config: &http.Server{Handler: s.srv}}
	s.hs.Start()
}

func (s *goServer) Stop() {
	if s.hs == nil {
		return
	}
	s.hs.CloseClientConnections()
	s.hs.Close()
	s.srv.Close()
	s.hs, s.srv = nil, nil
}

// ---- Node's ----------------------------------------------------------------

func repoRoot(t *testing.T) string { return nodetest.RepoRoot(t) }

type nodeServer struct {
	t    *testing.T
	root string
	node string
	port int
	cmd  *exec.Cmd
}

func startNode(t *testing.T) server {
	t.Helper()
	root := repoRoot(t)
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node not found: install Node.js 20+ (apt-get install nodejs npm), then run `npm ci` at the repository root (`make test` does)")
	}
	if _, err := os.Stat(filepath.Join(root, "node_modules", "socket.io", "package.json")); err != nil {
		t.Fatal("node_modules/socket.io missing: run `npm ci` at the repository root (`make test` does)")
	}
	s := &nodeServer{t: t, root: root, node: node}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

func (s *nodeServer) URL() string { return "http://127.0.0.1:" + strconv.Itoa(s.port) }

func (s *nodeServer) Start() {
	s.t.Helper()
	for try := 0; ; try++ {
		err := s.start()
		if err == nil {
			return
		}
		if try == 50 || s.port == 0 {
			s.t.Fatalf("starting tests/e2e/node-app.mjs: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // the old process's port may take a moment
	}
}

func (s *nodeServer) start() error {
	cmd := exec.Command(s.node, filepath.Join("tests", "e2e", "node-app.mjs"))
	cmd.Dir = s.root
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(s.port))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		for sc.Scan() { // keep draining until the process ends
		}
	}()
	select {
	case line, ok := <-lines:
		port, perr := strconv.Atoi(strings.TrimPrefix(line, "listening "))
		if !ok || !strings.HasPrefix(line, "listening ") || perr != nil {
			cmd.Process.Kill()
			cmd.Wait()
			return &startError{line}
		}
		s.port, s.cmd = port, cmd
		return nil
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		return &startError{"no `listening <port>` line within 10s"}
	}
}

type startError struct{ msg string }

func (e *startError) Error() string { return "node-app.mjs: " + e.msg }

// Stop kills the process (a crash: no goodbye to the clients).
func (s *nodeServer) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.cmd = nil
}

// ---- client helpers ----------------------------------------------------------

func opts(mode string) native.ClientOptions {
	o := native.ClientOptions{
		Seed:                 [32]byte{'x'},
		ReconnectionDelay:    100 * time.Millisecond,
		ReconnectionDelayMax: 400 * time.Millisecond,
		Timeout:              wait,
	}
	switch mode {
	case "websocket":
		o.Transports = []string{"websocket"}
	case "polling":
		o.Transports = []string{"polling"}
	}
	return o
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

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return c
}

// welcome is the APP.md welcome payload.
type welcome struct {
	ID    string         `json:"id"`
	Nsp   string         `json:"nsp"`
	Auth  map[string]any `json:"auth"`
	Query any            `json:"query"`
}

// dial connects a socket (not connecting before its listeners are set) and
// waits for its welcome.
func dial(t *testing.T, url string, o native.ClientOptions) (*native.ClientSocket, welcome) {
	t.Helper()
	o.NoAutoConnect = true
	s, err := native.Dial(url, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	w := make(chan welcome, 1)
	s.On("welcome", func(v welcome) { w <- v })
	if err := s.Connect(); err != nil {
		t.Fatal(err)
	}
	return s, within(t, w, "welcome on "+url)
}

// join makes a socket of m (with its listeners set by setup) and waits for
// its welcome.
func join(t *testing.T, m *native.Manager, nsp string, so native.SocketOptions, setup func(*native.ClientSocket)) (*native.ClientSocket, welcome) {
	t.Helper()
	w := make(chan welcome, 1)
	s := m.Socket(nsp, so) // NoAutoConnect managers only
	s.On("welcome", func(v welcome) { w <- v })
	if setup != nil {
		setup(s)
	}
	if err := s.Connect(); err != nil {
		t.Fatal(err)
	}
	return s, within(t, w, "welcome on "+nsp)
}

func call(t *testing.T, s *native.ClientSocket, event string, args ...any) native.Args {
	t.Helper()
	res, err := s.EmitWithAck(ctx(t), event, args...)
	if err != nil {
		t.Fatalf("%s: %v", event, err)
	}
	return res
}
