package native

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// failingMachine is the native core that can be made to fail the way
// core.wasm does after a trap: the failing call returns the error, Err
// reports it, and from then on Poll is Wait and every call fails.
type failingMachine struct {
	*core.Server
	seed [32]byte
	mu   sync.Mutex
	arm  bool // the next Handle of a Recv fails
	err  error
}

var errTrap = errors.New("core.wasm trapped in sio_handle: unreachable")

func (m *failingMachine) Handle(now clock.Instant, in wire.Input) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	if _, ok := in.(wire.Recv); ok && m.arm {
		m.err = errTrap
		return m.err
	}
	return m.Server.Handle(now, in)
}

func (m *failingMachine) Poll() wire.Output {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return wire.Wait{}
	}
	return m.Server.Poll()
}

func (m *failingMachine) Err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

func (m *failingMachine) trapOnNextRecv() {
	m.mu.Lock()
	m.arm = true
	m.mu.Unlock()
}

// A machine that fails is replaced: its sockets end with "transport
// error", awaited acks fail, pending requests get 500, WebSockets close,
// and clients reconnect to the new machine, which knows the namespaces and
// never reuses the old machine's ids.
func TestFailedMachineRestarts(t *testing.T) {
	var (
		mu       sync.Mutex
		machines []*failingMachine
		logs     = &syncWriter{w: new(bytes.Buffer)}
	)
	factory := func(c core.Config) (Machine, error) {
		mu.Lock()
		defer mu.Unlock()
		m := &failingMachine{Server: core.NewServer(c), seed: c.Seed}
		machines = append(machines, m)
		return m, nil
	}
	reasons := make(chan string, 4)
	ackErr := make(chan error, 1)
	logger := slog.New(slog.NewTextHandler(logs, nil))
	var seen []Event // the observers see the lost socket and sessions leave
	var seenMu sync.Mutex
	watch := ObserverFunc(func(e Event) {
		if e.Kind == SocketDisconnected || e.Kind == SessionClosed {
			seenMu.Lock()
			seen = append(seen, e)
			seenMu.Unlock()
		}
	})
	srv, hs := newTestServer(t, Options{Machine: factory, Logger: logger, Observers: []Observer{watch}}, func(s *Server) {
		s.Of("/chat").OnConnection(func(so *Socket) {})
		s.OnConnection(func(so *Socket) {
			so.OnDisconnect(func(reason string) { reasons <- reason })
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_, err := so.EmitWithAck(ctx, "question") // the client never answers
				ackErr <- err
			}()
		})
	})

	w, _, _ := dialWS(t, hs, "", nil)
	first := w.connect("")
	if got := w.read(); !strings.HasPrefix(got, `420["question"`) {
		t.Fatalf("expected the question, got %q", got)
	}
	// a polling session with a long-poll pending when the machine fails
	_, open := get(t, hs.URL+"/socket.io/?EIO=4&transport=polling", nil)
	sid := open[strings.Index(open, `"sid":"`)+7:]
	sid = sid[:strings.IndexByte(sid, '"')]
	poll := make(chan int, 1)
	go func() {
		res, err := http.Get(hs.URL + "/socket.io/?EIO=4&transport=polling&sid=" + sid)
		if err != nil {
			poll <- -1
			return
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		poll <- res.StatusCode
	}()
	eventually(t, "the long-poll to wait", func() bool {
		var n int
		srv.d.call(func(clock.Instant) { n = len(srv.d.reqs) })
		return n == 1
	})

	mu.Lock()
	machines[0].trapOnNextRecv()
	mu.Unlock()
	w.send(`42["anything"]`)

	w.expectClosed()
	if got := within(t, reasons, "the disconnect handler"); got != "transport error" {
		t.Fatalf("disconnect reason %q, want \"transport error\"", got)
	}
	if err := within(t, ackErr, "the awaited ack to fail"); !errors.Is(err, ErrClosed) {
		t.Fatalf("awaited ack: %v, want ErrClosed", err)
	}
	if code := within(t, poll, "the long-poll's answer"); code != http.StatusInternalServerError {
		t.Fatalf("pending long-poll answered %d, want 500", code)
	}
	seenMu.Lock()
	var kinds []string
	for _, e := range seen {
		kinds = append(kinds, e.Kind.String()+" "+e.Reason)
	}
	seenMu.Unlock()
	slices.Sort(kinds)
	if want := []string{"session_closed transport error", "session_closed transport error", "socket_disconnected transport error"}; !slices.Equal(kinds, want) {
		t.Fatalf("observed %q, want %q", kinds, want)
	}
	if m := srv.Metrics(); !slices.Contains(m.Disconnects, ReasonCount{Reason: "transport error", Count: 1}) {
		t.Fatalf("disconnects counted %v", m.Disconnects)
	}
	mu.Lock()
	n := len(machines)
	mu.Unlock()
	if n != 2 {
		t.Fatalf("%d machines made, want 2", n)
	}
	if machines[0].seed == machines[1].seed {
		t.Fatal("the new machine got the old machine's seed")
	}
	if l := logs.String(); !strings.Contains(l, "unreachable") {
		t.Fatalf("the failure was not logged: %q", l)
	}

	// The old session is unknown to the new machine; a new client is served
	// on "/" and on "/chat", which the new machine knows.
	res, body := get(t, hs.URL+"/socket.io/?EIO=4&transport=polling&sid="+sid, nil)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Session ID unknown") {
		t.Fatalf("old sid after the restart: %d %q", res.StatusCode, body)
	}
	w2, _, _ := dialWS(t, hs, "", nil)
	if second := w2.connect(""); second == first {
		t.Fatal("the new machine reused a socket id")
	}
	w2.send(`40/chat,`)
	if got := w2.read(); !strings.HasPrefix(got, `40/chat,{"sid":`) {
		if strings.HasPrefix(got, `420["question"`) {
			got = w2.read()
		}
		if !strings.HasPrefix(got, `40/chat,{"sid":`) {
			t.Fatalf("connect to /chat after the restart: %q", got)
		}
	}
	if st := srv.Stats(); st.Sessions != 1 || st.Namespaces < 2 {
		t.Fatalf("stats after the restart: %+v", st)
	}
}

// When no new machine can be made, every request is answered 503 rather
// than left hanging.
func TestFailedMachineWithoutReplacement(t *testing.T) {
	var calls int
	var first *failingMachine
	factory := func(c core.Config) (Machine, error) {
		calls++
		if calls > 1 {
			return nil, errors.New("core.wasm: no memory")
		}
		first = &failingMachine{Server: core.NewServer(c)}
		return first, nil
	}
	_, hs := newTestServer(t, Options{Machine: factory, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, nil)
	w, _, _ := dialWS(t, hs, "", nil)
	w.connect("")
	first.trapOnNextRecv()
	w.send(`42["x"]`)
	w.expectClosed()
	for i := 0; i < 5; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "GET", hs.URL+"/socket.io/?EIO=4&transport=polling", nil)
		res, err := http.DefaultClient.Do(req)
		cancel()
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("request %d answered %d, want 503", i, res.StatusCode)
		}
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// A machine that fails on every connection is not restarted for ever: past
// the burst the server refuses with 503.
func TestFailedMachineRestartStorm(t *testing.T) {
	var mu sync.Mutex
	made := 0
	factory := func(c core.Config) (Machine, error) {
		mu.Lock()
		defer mu.Unlock()
		made++
		m := &failingMachine{Server: core.NewServer(c)}
		m.arm = true // every Recv fails
		return m, nil
	}
	_, hs := newTestServer(t, Options{Machine: factory, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, nil)
	for i := 0; i < restartBurst+3; i++ {
		w, res, err := dialWS(t, hs, "", nil)
		if err != nil {
			if res == nil || res.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("dial %d: %v", i, err)
			}
			continue
		}
		w.read()
		w.send("40")
		w.expectClosed()
	}
	mu.Lock()
	n := made
	mu.Unlock()
	if n != restartBurst+1 {
		t.Fatalf("%d machines made, want %d (the first and %d restarts)", n, restartBurst+1, restartBurst)
	}
	res, _ := get(t, hs.URL+"/socket.io/?EIO=4&transport=polling", nil)
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("after the storm: %d, want 503", res.StatusCode)
	}
}
