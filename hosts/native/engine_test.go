package native

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/engine"
	"github.com/socketcore/socketcore/core/wire"
	"github.com/socketcore/socketcore/wasm/host"
	"github.com/socketcore/socketcore/wasm/wasmtest"
)

var (
	coreWasmOnce  sync.Once
	coreWasmBytes []byte
	coreWasmErr   error
)

// coreWasm returns core.wasm ($SOCKETCORE_CORE_WASM, or built once), read
// into memory so that a file built for this binary can go at once.
func coreWasm(t *testing.T) []byte {
	t.Helper()
	coreWasmOnce.Do(func() {
		var path string
		if path, coreWasmErr = wasmtest.Build(); coreWasmErr == nil {
			coreWasmBytes, coreWasmErr = os.ReadFile(path)
		}
		wasmtest.Cleanup()
	})
	if coreWasmErr != nil {
		t.Fatal(coreWasmErr)
	}
	return coreWasmBytes
}

// wasmEngines compiles core.wasm and returns the factory of its engine
// role; the module is closed with the test.
func wasmEngines(t *testing.T, opts host.Options) NewEngineMachine {
	t.Helper()
	if d, err := os.UserCacheDir(); err == nil && opts.CacheDir == "" {
		opts.CacheDir = d + "/socketcore/wazero"
	}
	mod, err := host.Compile(context.Background(), coreWasm(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mod.Close(context.Background()) })
	return func(cfg engine.Config) (EngineMachine, error) {
		return mod.NewEngineMachine(context.Background(), cfg)
	}
}

// startEcho starts an echo EngineServer (the conformance server's) on
// loopback, closed with the test.
func startEcho(t *testing.T, opts Options, f NewEngineMachine) (*EngineServer, *httptest.Server) {
	t.Helper()
	opts.Seed[0] = 1
	e, err := StartEngine(opts, f)
	if err != nil {
		t.Fatal(err)
	}
	e.OnMessage = func(e *EngineServer, sid string, data []byte, binary bool) { e.SendLocked(sid, data, binary) }
	hs := httptest.NewServer(e)
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
		e.Close()
		http.DefaultClient.CloseIdleConnections()
	})
	return e, hs
}

func do(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// sidOf takes the sid out of an open packet.
func sidOf(t *testing.T, open string) string {
	t.Helper()
	_, rest, ok := strings.Cut(open, `0{"sid":"`)
	sid, _, ok2 := strings.Cut(rest, `"`)
	if !ok || !ok2 {
		t.Fatalf("open packet %q", open)
	}
	return sid
}

func dialEngine(t *testing.T, hs *httptest.Server, query string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(hs.URL, "http")+"/engine.io/?EIO=4&transport=websocket"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func readMsg(t *testing.T, c *websocket.Conn) (int, string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	typ, b, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return typ, string(b)
}

// The echo server answers the same on the native engine and on core.wasm's
// engine role: polling, WebSocket, binary, the upgrade.
func TestEngineServerMachines(t *testing.T) {
	for _, c := range []struct {
		name string
		f    func(t *testing.T) NewEngineMachine
	}{
		{"native", func(*testing.T) NewEngineMachine { return nil }},
		{"wasm", func(t *testing.T) NewEngineMachine { return wasmEngines(t, host.Options{}) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, hs := startEcho(t, Options{}, c.f(t))
			url := hs.URL + "/engine.io/?EIO=4&transport=polling"
			st, open := do(t, "GET", url, "")
			if st != 200 || !strings.Contains(open, `"upgrades":["websocket"]`) {
				t.Fatalf("handshake: %d %q", st, open)
			}
			sid := sidOf(t, open)
			if st, b := do(t, "POST", url+"&sid="+sid, "4hello\x1ebAQID"); st != 200 || b != "ok" {
				t.Fatalf("POST: %d %q", st, b)
			}
			if st, b := do(t, "GET", url+"&sid="+sid, ""); st != 200 || b != "4hello\x1ebAQID" {
				t.Fatalf("echo on polling: %d %q", st, b)
			}
			if st, b := do(t, "GET", url+"&sid=nope", ""); st != 400 || !strings.Contains(b, "Session ID unknown") {
				t.Fatalf("unknown sid: %d %q", st, b)
			}
			// Upgrade the polling session.
			ws := dialEngine(t, hs, "&sid="+sid)
			ws.WriteMessage(websocket.TextMessage, []byte("2probe"))
			if _, m := readMsg(t, ws); m != "3probe" {
				t.Fatalf("probe answer %q", m)
			}
			ws.WriteMessage(websocket.TextMessage, []byte("5"))
			ws.WriteMessage(websocket.TextMessage, []byte("4upgraded"))
			if _, m := readMsg(t, ws); m != "4upgraded" {
				t.Fatalf("echo after the upgrade %q", m)
			}
			// A WebSocket session from the start, with a binary message.
			ws2 := dialEngine(t, hs, "")
			if _, m := readMsg(t, ws2); !strings.HasPrefix(m, `0{"sid":"`) {
				t.Fatalf("open packet %q", m)
			}
			ws2.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3})
			if typ, m := readMsg(t, ws2); typ != websocket.BinaryMessage || m != "\x01\x02\x03" {
				t.Fatalf("binary echo %d %q", typ, m)
			}
		})
	}
}

// lockedBuffer is a log destination for several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var errEngineTrap = errors.New("core.wasm trapped in sio_handle: unreachable")

// failingEngine is the native engine that can be made to fail the way
// core.wasm does after a trap.
type failingEngine struct {
	EngineMachine
	seed [32]byte
	mu   sync.Mutex
	arm  bool // the next Recv fails
	err  error
}

func (m *failingEngine) Handle(now clock.Instant, in wire.Input) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	if _, ok := in.(wire.Recv); ok && m.arm {
		m.err = errEngineTrap
		return m.err
	}
	return m.EngineMachine.Handle(now, in)
}

func (m *failingEngine) Poll() wire.Output {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return wire.Wait{}
	}
	return m.EngineMachine.Poll()
}

func (m *failingEngine) Err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

// A machine that fails is replaced: pending requests get 500, WebSockets
// close, and clients start over on a new machine with another seed; when
// no new machine can be made, every request gets 503.
func TestEngineServerRestartsFailedMachine(t *testing.T) {
	var (
		mu       sync.Mutex
		machines []*failingEngine
		refuse   bool
	)
	factory := func(cfg engine.Config) (EngineMachine, error) {
		mu.Lock()
		defer mu.Unlock()
		if refuse {
			return nil, errors.New("core.wasm: no memory")
		}
		n, _ := NativeEngineMachine(cfg)
		m := &failingEngine{EngineMachine: n, seed: cfg.Seed}
		machines = append(machines, m)
		return m, nil
	}
	logs := &lockedBuffer{}
	e, hs := startEcho(t, Options{Logger: slog.New(slog.NewTextHandler(logs, nil))}, factory)
	url := hs.URL + "/engine.io/?EIO=4&transport=polling"
	_, open := do(t, "GET", url, "")
	sid := sidOf(t, open)
	parked := make(chan int, 1)
	go func() {
		res, err := http.Get(url + "&sid=" + sid)
		if err != nil {
			parked <- 0
			return
		}
		res.Body.Close()
		parked <- res.StatusCode
	}()
	for deadline := time.Now().Add(5 * time.Second); ; {
		n := 0
		e.d.call(func(clock.Instant) { n = len(e.d.reqs) })
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the GET never parked")
		}
		time.Sleep(5 * time.Millisecond)
	}
	ws := dialEngine(t, hs, "")
	readMsg(t, ws)
	mu.Lock()
	machines[0].mu.Lock()
	machines[0].arm = true
	machines[0].mu.Unlock()
	mu.Unlock()
	ws.WriteMessage(websocket.TextMessage, []byte("4boom"))
	if st := <-parked; st != http.StatusInternalServerError {
		t.Errorf("parked GET got %d, want 500", st)
	}
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("the WebSocket was not closed")
			}
			break
		}
	}
	if !strings.Contains(logs.String(), "restarting it") || !strings.Contains(logs.String(), errEngineTrap.Error()) {
		t.Errorf("logs: %s", logs)
	}
	// The new machine serves; it never hands out the old sids.
	st, open2 := do(t, "GET", url, "")
	if st != 200 || sidOf(t, open2) == sid {
		t.Fatalf("after the restart: %d %q", st, open2)
	}
	if st, _ := do(t, "GET", url+"&sid="+sid, ""); st != 400 {
		t.Errorf("the old session answered %d", st)
	}
	mu.Lock()
	if len(machines) != 2 || machines[0].seed == machines[1].seed {
		t.Errorf("%d machines, seeds equal: %v", len(machines), len(machines) == 2 && machines[0].seed == machines[1].seed)
	}
	machines[1].mu.Lock()
	machines[1].arm = true
	machines[1].mu.Unlock()
	refuse = true
	mu.Unlock()
	ws2 := dialEngine(t, hs, "")
	readMsg(t, ws2)
	ws2.WriteMessage(websocket.TextMessage, []byte("4boom"))
	for deadline := time.Now().Add(5 * time.Second); ; {
		st, _ := do(t, "GET", url, "")
		if st == http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d without a machine", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "no new Engine.IO machine") {
		t.Errorf("logs: %s", logs)
	}
}

// A real core.wasm trap (the guest runs out of memory on a 12 MiB body):
// the request gets 500 and the next client a new machine.
func TestEngineServerWasmTrap(t *testing.T) {
	logs := &lockedBuffer{}
	f := wasmEngines(t, host.Options{MemoryLimitPages: 128}) // 8 MiB
	_, hs := startEcho(t, Options{MaxHTTPBufferSize: 16 << 20, Logger: slog.New(slog.NewTextHandler(logs, nil))}, f)
	url := hs.URL + "/engine.io/?EIO=4&transport=polling"
	_, open := do(t, "GET", url, "")
	sid := sidOf(t, open)
	if st, _ := do(t, "POST", url+"&sid="+sid, "4"+strings.Repeat("x", 12<<20)); st != http.StatusInternalServerError {
		t.Fatalf("POST of 12 MiB into 8 MiB: %d, want 500", st)
	}
	if !strings.Contains(logs.String(), "core.wasm trapped") {
		t.Errorf("logs: %s", logs)
	}
	st, open2 := do(t, "GET", url, "")
	if st != 200 || sidOf(t, open2) == sid {
		t.Fatalf("after the trap: %d %q", st, open2)
	}
}

// StartEngine reports the factory's error; NewEngineServer keeps working
// for existing callers; Close twice is harmless.
func TestStartEngine(t *testing.T) {
	boom := errors.New("core.wasm: bad module")
	if _, err := StartEngine(Options{}, func(engine.Config) (EngineMachine, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("StartEngine = %v", err)
	}
	e := NewEngineServer(Options{})
	if e.Path() != "/engine.io/" {
		t.Errorf("Path = %q", e.Path())
	}
	e.Close()
	e.Close()
	// The native machine: Send by sid, Stats and Config.
	m, _ := NativeEngineMachine(engine.Config{PingInterval: time.Second})
	q := m.(interface {
		Stats() core.Stats
		Config() engine.Config
	})
	if err := m.Send("nope", nil, false, false); err != engine.ErrUnknownSession {
		t.Errorf("Send(unknown) = %v", err)
	}
	m.Handle(1, wire.HTTPRequest{Conn: 1, Method: "GET", Query: "EIO=4&transport=polling"})
	if st := q.Stats(); st != (core.Stats{Sessions: 1}) || q.Config().PingInterval != time.Second || q.Config().PingTimeout != 20*time.Second {
		t.Errorf("Stats %+v Config %+v", st, q.Config())
	}
}
