package native

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// every wait in these tests is bounded by this
const clientWait = 5 * time.Second

func within[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(clientWait):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

// liveServer is a Server on a fixed loopback address that can be stopped
// and started again on it (the reconnection flow).
type liveServer struct {
	t     *testing.T
	addr  string
	opts  Options
	setup func(*Server)
	srv   *Server
	hs    *httptest.Server
	// connState, if set before start, sees every connection (WebSockets
	// too, as StateHijacked)
	connState func(net.Conn, http.ConnState)
}

func newLiveServer(t *testing.T, opts Options, setup func(*Server)) *liveServer {
	t.Helper()
	ls := &liveServer{t: t, opts: opts, setup: setup}
	ls.start()
	t.Cleanup(ls.stop)
	return ls
}

func (ls *liveServer) start() {
	ls.t.Helper()
	addr := ls.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var l net.Listener
	var err error
	for i := 0; i < 50; i++ { // the old listener's port may take a moment to free
		if l, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		ls.t.Fatalf("listen %s: %v", addr, err)
	}
	ls.addr = l.Addr().String()
	opts := ls.opts
	if opts.Seed == ([32]byte{}) {
		opts.Seed[0] = 7
	}
	ls.srv = NewServer(opts)
	if ls.setup != nil {
		ls.setup(ls.srv)
	}
	ls.hs = &httptest.Server{Listener: l, Config: &http.Server{Handler: ls.srv, ConnState: ls.connState}}
	ls.hs.Start()
}

// stop kills the server as a crash would: connections cut first.
func (ls *liveServer) stop() {
	if ls.hs == nil {
		return
	}
	ls.hs.CloseClientConnections()
	ls.hs.Close()
	ls.srv.Close()
	ls.hs, ls.srv = nil, nil
}

func (ls *liveServer) url() string { return "http://" + ls.addr }

func clientOpts(mode string) ClientOptions {
	o := ClientOptions{Seed: [32]byte{'c'}, ReconnectionDelay: 50 * time.Millisecond, ReconnectionDelayMax: 200 * time.Millisecond}
	switch mode {
	case "websocket":
		o.Transports = []string{"websocket"}
	case "polling":
		o.Transports = []string{"polling"}
	}
	return o
}

var clientModes = []string{"websocket", "polling", "upgrade"}

// appSetup is a small application: welcome on connect, echo with ack,
// ask (the server asks the client), and /chat behind a token.
func appSetup(s *Server) {
	on := func(so *Socket) {
		so.Emit("welcome", so.ID(), so.Namespace().Name(), so.Handshake().Auth)
		so.On("echo", func(args Args, ack Ack) {
			if err := ack(args.Values()...); errors.Is(err, ErrNoAck) {
				so.Emit("echo", args.Values()...)
			}
		})
		so.On("ask", func(n int, ack Ack) {
			res, err := so.Timeout(2*time.Second).EmitWithAck(context.Background(), "question", n)
			if err != nil {
				ack("error", err.Error())
				return
			}
			ack(res.Values()...)
		})
		so.On("disconnect-me", func(closeConn bool) { so.Disconnect(closeConn) })
		so.On("transport", func(ack Ack) { ack(so.Transport()) })
	}
	s.OnConnection(on)
	chat := s.Of("/chat")
	chat.Use(func(so *Socket) error {
		var auth map[string]any
		json.Unmarshal(so.Handshake().Auth, &auth)
		if auth["token"] != "secret" {
			return &ConnectError{Message: "unauthorized", Data: map[string]any{"reason": "bad token"}}
		}
		return nil
	})
	chat.OnConnection(on)
}

func dialWelcome(t *testing.T, url string, opts ClientOptions) (*ClientSocket, string) {
	t.Helper()
	welcome := make(chan string, 1)
	// Dial returns at once; register before the first events can arrive by
	// making the socket with NoAutoConnect and connecting after On.
	opts.NoAutoConnect = true
	s, err := Dial(url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.On("welcome", func(id, nsp string) { welcome <- id })
	if err := s.Connect(); err != nil {
		t.Fatal(err)
	}
	id := within(t, welcome, "welcome")
	if s.ID() != id || !s.Connected() {
		t.Fatalf("socket id %q connected %v, server says %q", s.ID(), s.Connected(), id)
	}
	return s, id
}

func TestClientEventsAndAcks(t *testing.T) {
	for _, mode := range clientModes {
		t.Run(mode, func(t *testing.T) {
			ls := newLiveServer(t, Options{}, appSetup)
			s, _ := dialWelcome(t, ls.url(), clientOpts(mode))
			ctx, cancel := context.WithTimeout(context.Background(), clientWait)
			defer cancel()

			res, err := s.EmitWithAck(ctx, "echo", "a", 1.5, map[string]any{"k": []any{true}}, []byte{1, 2, 3})
			if err != nil {
				t.Fatal(err)
			}
			var (
				a   string
				n   float64
				obj map[string]any
				bin []byte
			)
			if err := res.Decode(&a, &n, &obj, &bin); err != nil || a != "a" || n != 1.5 || obj["k"].([]any)[0] != true || string(bin) != "\x01\x02\x03" {
				t.Fatalf("echo ack %q %v %v %q (%v)", a, n, obj, bin, err)
			}

			// the server asks, the client answers
			s.On("question", func(n int, ack Ack) { ack("answer", n+1) })
			res, err = s.EmitWithAck(ctx, "ask", 41)
			if err != nil {
				t.Fatal(err)
			}
			var word string
			var m int
			if res.Decode(&word, &m); word != "answer" || m != 42 {
				t.Fatalf("ask: %q %d", word, m)
			}

			// an event without ack comes back as an event; OnAny sees it first
			got := make(chan string, 2)
			s.OnAny(func(event string, args Args) { got <- "any:" + event })
			s.On("echo", func(x string) { got <- "echo:" + x })
			if err := s.Emit("echo", "plain"); err != nil {
				t.Fatal(err)
			}
			if a, b := within(t, got, "any"), within(t, got, "echo"); a != "any:echo" || b != "echo:plain" {
				t.Fatalf("order %q %q", a, b)
			}

			if mode == "upgrade" {
				deadline := time.Now().Add(clientWait)
				for {
					res, err := s.EmitWithAck(ctx, "transport")
					var tr string
					if err == nil {
						res.Decode(&tr)
					}
					if tr == "websocket" {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("never upgraded (transport %q, %v)", tr, err)
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}
}

// Namespaces share the Manager's one connection; a refused one reports
// connect_error with the middleware's message and data.
func TestClientMultiplexAndConnectError(t *testing.T) {
	for _, mode := range clientModes {
		t.Run(mode, func(t *testing.T) {
			ls := newLiveServer(t, Options{}, appSetup)
			root, _ := dialWelcome(t, ls.url(), clientOpts(mode))
			m := root.Manager()
			bad := m.Socket("/chat", SocketOptions{Auth: map[string]any{"token": "nope"}})
			errc := make(chan error, 1)
			bad.OnConnectError(func(err error) { errc <- err })
			// registered after Socket: the error may already have been
			// dispatched; connect again to be sure one comes
			bad.Connect()
			err := within(t, errc, "connect_error")
			var ce *ConnectError
			if !errors.As(err, &ce) || ce.Message != "unauthorized" || string(ce.Data.(json.RawMessage)) != `{"reason":"bad token"}` {
				t.Fatalf("connect_error %#v", err)
			}
			if !root.Connected() {
				t.Fatal("a refused namespace took the others down")
			}

			if m.Socket("/chat", SocketOptions{}) != bad {
				t.Fatal("Socket returned a second socket for one namespace")
			}
			// the right token, on a Manager of its own
			chat := make(chan []any, 1)
			c2, err := DialContext(context.Background(), ls.url()+"/chat", ClientOptions{Transports: clientOpts(mode).Transports, SocketOptions: SocketOptions{Auth: map[string]any{"token": "secret"}}})
			if err != nil {
				t.Fatal(err)
			}
			defer c2.Close()
			c2.On("echo", func(args Args) { chat <- args.Values() })
			c2.Emit("echo", "hi")
			if v := within(t, chat, "chat echo"); len(v) != 1 || v[0] != "hi" {
				t.Fatalf("chat echo %v", v)
			}
			st := ls.srv.Stats()
			if st.Sockets < 2 {
				t.Fatalf("server stats %+v", st)
			}
		})
	}
}

func TestClientDialContextRefused(t *testing.T) {
	ls := newLiveServer(t, Options{}, appSetup)
	_, err := DialContext(context.Background(), ls.url()+"/chat", ClientOptions{})
	var ce *ConnectError
	if !errors.As(err, &ce) || ce.Message != "unauthorized" {
		t.Fatalf("DialContext: %v", err)
	}
	_, err = DialContext(context.Background(), ls.url()+"/nowhere", ClientOptions{Transports: []string{"websocket"}})
	if !errors.As(err, &ce) || ce.Message != "Invalid namespace" {
		t.Fatalf("unknown namespace: %v", err)
	}
	// nothing listening, no reconnection: the transport error
	_, err = DialContext(context.Background(), "http://127.0.0.1:1", ClientOptions{NoReconnection: true, Transports: []string{"websocket"}})
	if !errors.As(err, &ce) || ce.Message != "websocket error" {
		t.Fatalf("dead address: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err = DialContext(ctx, "http://127.0.0.1:1", ClientOptions{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("dead address with reconnection: %v", err)
	}
}

func TestClientDisconnectReasons(t *testing.T) {
	for _, mode := range clientModes {
		t.Run(mode, func(t *testing.T) {
			ls := newLiveServer(t, Options{}, appSetup)
			s, _ := dialWelcome(t, ls.url(), clientOpts(mode))
			reasons := make(chan string, 4)
			s.OnDisconnect(func(r string) { reasons <- r })
			s.Emit("disconnect-me", false)
			if r := within(t, reasons, "disconnect"); r != "io server disconnect" {
				t.Fatalf("reason %q", r)
			}
			connected := make(chan struct{}, 1)
			s.OnConnect(func() { connected <- struct{}{} })
			s.Connect() // no automatic reconnection after a server disconnect; manual works
			within(t, connected, "manual reconnect")
			s.Disconnect()
			if r := within(t, reasons, "disconnect"); r != "io client disconnect" {
				t.Fatalf("reason %q", r)
			}
			if s.Connected() || s.Manager().Reconnecting() {
				t.Fatal("still connected or reconnecting after Disconnect")
			}
		})
	}
}

// The server goes away and comes back on the same address: the client
// reconnects, re-joins, flushes its buffer and drops its volatile emits.
func TestClientReconnects(t *testing.T) {
	for _, mode := range clientModes {
		t.Run(mode, func(t *testing.T) {
			var mu sync.Mutex
			var got []string
			setup := func(s *Server) {
				appSetup(s)
				s.OnConnection(func(so *Socket) {
					so.On("note", func(x string) { mu.Lock(); got = append(got, x); mu.Unlock() })
				})
			}
			ls := newLiveServer(t, Options{}, setup)
			opts := clientOpts(mode)
			var authCalls atomic.Int32
			opts.AuthFunc = func() any { return map[string]any{"n": authCalls.Add(1)} }
			s, _ := dialWelcome(t, ls.url(), opts)
			reasons := make(chan string, 4)
			s.OnDisconnect(func(r string) { reasons <- r })
			attempts := make(chan int, 100)
			s.Manager().On("reconnect_attempt", func(n int) { attempts <- n })
			reconnected := make(chan int, 1)
			s.Manager().On("reconnect", func(n int) { reconnected <- n })
			welcomes := make(chan json.RawMessage, 1)
			s.On("welcome", func(id, nsp string, auth json.RawMessage) { welcomes <- auth })

			ls.stop()
			if r := within(t, reasons, "disconnect"); r != "transport close" && r != "transport error" {
				t.Fatalf("reason %q", r)
			}
			if err := s.Emit("note", "buffered"); err != nil {
				t.Fatal(err)
			}
			if err := s.Volatile().Emit("note", "volatile"); err != nil {
				t.Fatal(err)
			}
			within(t, attempts, "a failed attempt")
			ls.start()
			within(t, reconnected, "reconnect")
			if auth := within(t, welcomes, "welcome again"); string(auth) != `{"n":2}` {
				t.Fatalf("auth function not evaluated again: %s", auth)
			}
			ctx, cancel := context.WithTimeout(context.Background(), clientWait)
			defer cancel()
			if _, err := s.EmitWithAck(ctx, "echo", "sync"); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if strings.Join(got, ",") != "buffered" {
				t.Fatalf("server got %q, want the buffered emit only", got)
			}
		})
	}
}

// retries: an emit whose acknowledgement times out is sent again until the
// server answers.
func TestClientRetries(t *testing.T) {
	var seen atomic.Int32
	ls := newLiveServer(t, Options{}, func(s *Server) {
		appSetup(s)
		s.OnConnection(func(so *Socket) {
			so.On("flaky", func(x string, ack Ack) {
				if seen.Add(1) >= 3 {
					ack("ok", x)
				}
			})
		})
	})
	opts := clientOpts("websocket")
	opts.Retries = 5
	opts.AckTimeout = 100 * time.Millisecond
	s, _ := dialWelcome(t, ls.url(), opts)
	ctx, cancel := context.WithTimeout(context.Background(), clientWait)
	defer cancel()
	res, err := s.EmitWithAck(ctx, "flaky", "x")
	if err != nil {
		t.Fatal(err)
	}
	var ok string
	res.Decode(&ok)
	if ok != "ok" || seen.Load() != 3 {
		t.Fatalf("ack %q after %d deliveries, want ok after 3", ok, seen.Load())
	}
	opts.Retries = 1
	s2, _ := dialWelcome(t, ls.url(), opts)
	seen.Store(-100)
	_, err = s2.EmitWithAck(ctx, "flaky", "y")
	if !errors.Is(err, ErrAckTimeout) || seen.Load() != -98 {
		t.Fatalf("err %v after %d deliveries, want a timeout after 2", err, seen.Load()+100)
	}
}

func TestClientAckTimeoutAndContext(t *testing.T) {
	ls := newLiveServer(t, Options{}, func(s *Server) {
		appSetup(s)
		s.OnConnection(func(so *Socket) { so.On("never", func(ack Ack) {}) })
	})
	s, _ := dialWelcome(t, ls.url(), clientOpts("websocket"))
	if _, err := s.Timeout(50*time.Millisecond).EmitWithAck(context.Background(), "never"); !errors.Is(err, ErrAckTimeout) || err.Error() != "operation has timed out" {
		t.Fatalf("timeout: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.EmitWithAck(ctx, "never"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ctx: %v", err)
	}
	if st := s.Manager().Stats(); st.Acks != 0 {
		t.Fatalf("abandoned acknowledgement kept: %+v", st)
	}
	if err := s.Emit("disconnect"); err == nil {
		t.Fatal("reserved event name accepted")
	}
	// the socket disconnecting fails what waits
	res := make(chan error, 1)
	go func() { _, err := s.EmitWithAck(context.Background(), "never"); res <- err }()
	time.Sleep(50 * time.Millisecond)
	s.Emit("disconnect-me", true)
	if err := within(t, res, "ack failure"); !errors.Is(err, ErrSocketDisconnected) {
		t.Fatalf("after disconnect: %v", err)
	}
}

func TestClientListeners(t *testing.T) {
	ls := newLiveServer(t, Options{}, appSetup)
	s, _ := dialWelcome(t, ls.url(), clientOpts("websocket"))
	var calls []string
	var mu sync.Mutex
	done := make(chan struct{}, 10)
	rec := func(name string) func(string) {
		return func(x string) { mu.Lock(); calls = append(calls, name+x); mu.Unlock(); done <- struct{}{} }
	}
	off := s.On("echo", rec("a"))
	s.Once("echo", rec("b"))
	s.On("echo", rec("c"))
	s.Emit("echo", "1")
	for range 3 {
		within(t, done, "listeners")
	}
	off()
	s.Emit("echo", "2")
	within(t, done, "listener")
	s.Off("echo")
	s.On("echo", rec("d"))
	s.Emit("echo", "3")
	within(t, done, "listener")
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(calls, " ") != "a1 b1 c1 c2 d3" {
		t.Fatalf("calls %q", calls)
	}
	for _, bad := range []struct {
		event string
		fn    any
	}{{"connect", func(int) {}}, {"disconnect", func(error) {}}, {"echo", 3}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("On(%q, %T) did not panic", bad.event, bad.fn)
				}
			}()
			s.On(bad.event, bad.fn)
		}()
	}
}

// Closing never leaves goroutines behind (TestMain checks), in any state.
func TestClientCloseInAnyState(t *testing.T) {
	ls := newLiveServer(t, Options{}, appSetup)
	for _, mode := range clientModes {
		// connected
		s, _ := dialWelcome(t, ls.url(), clientOpts(mode))
		s.Close()
		s.Close()
		if err := s.Emit("x"); !errors.Is(err, ErrClosed) {
			t.Fatalf("emit after Close: %v", err)
		}
		// dialing a dead address, reconnecting
		d, err := Dial("http://127.0.0.1:1", clientOpts(mode))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(30 * time.Millisecond)
		d.Close()
		// a Manager with several sockets
		m, err := NewManager(ls.url(), clientOpts(mode))
		if err != nil {
			t.Fatal(err)
		}
		m.Socket("/", SocketOptions{})
		m.Socket("/chat", SocketOptions{Auth: map[string]any{"token": "secret"}})
		time.Sleep(30 * time.Millisecond)
		m.Close()
	}
	deadline := time.Now().Add(clientWait)
	for ls.srv.Stats().Sessions != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("server still holds %+v after every client closed", ls.srv.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Close from inside a listener must not wait for that listener.
func TestClientCloseFromListener(t *testing.T) {
	ls := newLiveServer(t, Options{}, appSetup)
	s, _ := dialWelcome(t, ls.url(), clientOpts("websocket"))
	closed := make(chan error, 1)
	s.OnDisconnect(func(string) { closed <- s.Close() })
	s.Emit("disconnect-me", false)
	if err := within(t, closed, "Close from a listener"); err != nil {
		t.Fatal(err)
	}
	if err := s.Emit("x"); !errors.Is(err, ErrClosed) {
		t.Fatalf("emit after Close: %v", err)
	}
}

func TestClientOptionsErrors(t *testing.T) {
	for _, u := range []string{"ftp://x", "http://", "::"} {
		if _, err := Dial(u, ClientOptions{}); err == nil {
			t.Errorf("Dial(%q) accepted", u)
		}
	}
	if _, err := Dial("http://127.0.0.1:1", ClientOptions{Transports: []string{"carrier-pigeon"}}); err == nil {
		t.Error("unknown transport accepted")
	}
}
