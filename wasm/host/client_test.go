package host

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/client"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
	"github.com/socketcore/socketcore/hosts/native"
	"github.com/socketcore/socketcore/tests/e2e"
	"github.com/socketcore/socketcore/wasm/abi"
)

// cdriver is a minimal host of a ClientMachine for the tests: one owner
// goroutine runs the machine (tasks in, Poll drained, outputs performed,
// one timer), each Fetch runs on a goroutine, each WebSocket has a reader
// goroutine; notifications go to events.
type cdriver struct {
	t      *testing.T
	m      *ClientMachine
	start  time.Time
	tasks  chan func(now clock.Instant)
	events chan wire.Output
	quit   chan struct{}
	done   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// owned by the run goroutine
	fetches map[wire.ConnID]context.CancelFunc
	conns   map[wire.ConnID]*websocket.Conn
}

func newCDriver(t *testing.T, cfg client.Config) *cdriver {
	t.Helper()
	m, err := testModule.NewClientMachine(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &cdriver{
		t: t, m: m, start: time.Now(),
		tasks: make(chan func(clock.Instant), 256), events: make(chan wire.Output, 4096),
		quit: make(chan struct{}), done: make(chan struct{}), ctx: ctx, cancel: cancel,
		fetches: map[wire.ConnID]context.CancelFunc{}, conns: map[wire.ConnID]*websocket.Conn{},
	}
	go d.run()
	t.Cleanup(d.stop)
	return d
}

func (d *cdriver) now() clock.Instant { return clock.Instant(time.Since(d.start)) + 1 }

func (d *cdriver) stop() {
	select {
	case <-d.quit:
		return
	default:
	}
	close(d.quit)
	<-d.done
	d.cancel()
	d.wg.Wait()
	d.m.Release(context.Background())
}

// do runs f on the owner goroutine and waits for it (and the drain after it).
func (d *cdriver) do(f func(now clock.Instant)) {
	ch := make(chan struct{})
	d.post(func(now clock.Instant) { f(now); close(ch) })
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		d.t.Fatal("driver stuck")
	}
}

func (d *cdriver) post(f func(now clock.Instant)) {
	select {
	case d.tasks <- f:
	case <-d.quit:
	}
}

func (d *cdriver) run() {
	defer close(d.done)
	defer func() {
		for _, c := range d.conns {
			c.Close()
		}
	}()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		select {
		case <-d.quit:
			return
		case f := <-d.tasks:
			f(d.now())
		case <-timer.C:
			d.m.Handle(d.now(), wire.Timeout{})
		}
		deadline := d.drain()
		timer.Stop()
		if deadline != 0 {
			wait := time.Duration(deadline - d.now())
			if wait < 0 {
				wait = 0
			}
			timer.Reset(wait)
		} else {
			timer.Reset(time.Hour)
		}
	}
}

func (d *cdriver) drain() clock.Instant {
	for i := 0; i < 100000; i++ {
		o := d.m.Poll()
		switch o := o.(type) {
		case wire.Wait:
			return o.Deadline
		case wire.Fetch:
			ctx, cancel := context.WithCancel(d.ctx)
			d.fetches[o.Conn] = cancel
			d.wg.Add(1)
			go d.fetch(ctx, o)
		case wire.Dial:
			d.wg.Add(1)
			go d.dial(o)
		case wire.Send:
			if c := d.conns[o.Conn]; c != nil {
				c.SetWriteDeadline(time.Now().Add(5 * time.Second))
				for _, f := range o.Frames {
					typ := websocket.TextMessage
					if f.Binary {
						typ = websocket.BinaryMessage
					}
					if c.WriteMessage(typ, f.Data) != nil {
						break
					}
				}
			}
		case wire.CloseConn:
			if cancel := d.fetches[o.Conn]; cancel != nil {
				delete(d.fetches, o.Conn)
				cancel()
			} else if c := d.conns[o.Conn]; c != nil {
				delete(d.conns, o.Conn)
				c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
				c.Close()
			}
		default:
			select {
			case d.events <- o:
			default:
				d.t.Error("events channel full")
			}
		}
	}
	d.t.Error("drain did not end")
	return 0
}

func (d *cdriver) fetch(ctx context.Context, f wire.Fetch) {
	defer d.wg.Done()
	var body io.Reader
	if f.Method == http.MethodPost {
		body = bytes.NewReader(f.Body)
	}
	var in wire.Input = wire.Closed{Conn: f.Conn, Error: true}
	if req, err := http.NewRequestWithContext(ctx, f.Method, f.URL, body); err == nil {
		if f.ContentType != "" {
			req.Header.Set("Content-Type", f.ContentType)
		}
		if res, err := http.DefaultClient.Do(req); err == nil {
			b, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err == nil {
				in = wire.HTTPResponse{Conn: f.Conn, Status: res.StatusCode, Body: b}
			}
		}
	}
	d.post(func(now clock.Instant) {
		if _, ok := d.fetches[f.Conn]; ok {
			delete(d.fetches, f.Conn)
			d.m.Handle(now, in)
		}
	})
}

func (d *cdriver) dial(o wire.Dial) {
	defer d.wg.Done()
	c, res, err := websocket.DefaultDialer.DialContext(d.ctx, o.URL, nil)
	if res != nil && res.Body != nil {
		res.Body.Close()
	}
	if err != nil {
		d.post(func(now clock.Instant) { d.m.Handle(now, wire.Closed{Conn: o.Conn, Error: true}) })
		return
	}
	go func() { <-d.done; c.Close() }()
	d.post(func(now clock.Instant) {
		d.conns[o.Conn] = c
		d.m.Handle(now, wire.Dialed{Conn: o.Conn})
	})
	for {
		typ, data, err := c.ReadMessage()
		if err != nil {
			d.post(func(now clock.Instant) {
				if d.conns[o.Conn] == c {
					delete(d.conns, o.Conn)
					d.m.Handle(now, wire.Closed{Conn: o.Conn})
				}
			})
			return
		}
		d.post(func(now clock.Instant) {
			if d.conns[o.Conn] == c {
				d.m.Handle(now, wire.Recv{Conn: o.Conn, Data: data, Binary: typ == websocket.BinaryMessage})
			}
		})
	}
}

// next returns the next notification for which keep is true, skipping the
// others; it fails the test after 10 s.
func (d *cdriver) next(what string, keep func(o wire.Output) bool) wire.Output {
	d.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case o := <-d.events:
			if keep(o) {
				return o
			}
		case <-timeout:
			d.t.Fatalf("timed out waiting for %s", what)
			return nil
		}
	}
}

// all waits for one notification matching each of keep, in any order
// (skipping the others), and returns them in keep's order.
func (d *cdriver) all(what string, keep ...func(o wire.Output) bool) []wire.Output {
	d.t.Helper()
	got := make([]wire.Output, len(keep))
	for range keep {
		d.next(what, func(o wire.Output) bool {
			for i, k := range keep {
				if got[i] == nil && k(o) {
					got[i] = o
					return true
				}
			}
			return false
		})
	}
	return got
}

func isConnected(nsp string) func(o wire.Output) bool {
	return func(o wire.Output) bool { c, ok := o.(wire.Connected); return ok && c.Nsp == nsp }
}

func (d *cdriver) connected(nsp string) wire.Connected {
	d.t.Helper()
	return d.next("connect "+nsp, func(o wire.Output) bool {
		if ce, ok := o.(wire.ConnectError); ok {
			d.t.Fatalf("connect_error %+v", ce)
		}
		c, ok := o.(wire.Connected)
		return ok && c.Nsp == nsp
	}).(wire.Connected)
}

func (d *cdriver) event(name string) wire.EventReceived {
	d.t.Helper()
	return d.next("event "+name, func(o wire.Output) bool {
		e, ok := o.(wire.EventReceived)
		return ok && e.Name == name
	}).(wire.EventReceived)
}

func (d *cdriver) acked(ref wire.AckRef) wire.AckResolved {
	d.t.Helper()
	return d.next("ack", func(o wire.Output) bool {
		a, ok := o.(wire.AckResolved)
		return ok && a.Ref == ref
	}).(wire.AckResolved)
}

func (d *cdriver) emit(nsp string, e client.Emit) wire.AckRef {
	d.t.Helper()
	var ref wire.AckRef
	var err error
	d.do(func(now clock.Instant) { ref, err = d.m.Emit(now, nsp, e) })
	if err != nil {
		d.t.Fatalf("emit %s: %v", e.Data, err)
	}
	return ref
}

func startApp(t *testing.T, addr string) (*native.Server, *httptest.Server) {
	t.Helper()
	srv := e2e.NewApp(native.Options{})
	ts := httptest.NewUnstartedServer(srv)
	if addr != "" {
		var l net.Listener
		var err error
		for i := 0; i < 50; i++ { // the old listener's port may take a moment
			if l, err = net.Listen("tcp", addr); err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			t.Fatal(err)
		}
		ts.Listener.Close()
		ts.Listener = l
	}
	ts.Start()
	return srv, ts
}

// The client role in core.wasm against the native server running the e2e
// app, in every transport mode: connect with auth, events both ways,
// acknowledgements both ways, binary, a second namespace multiplexed,
// disconnect, and the manager's reconnection after the server restarts.
func TestClientMachineAgainstNative(t *testing.T) {
	for _, mode := range []struct {
		name       string
		transports []string
		upgrade    bool
	}{
		{"websocket", []string{client.WebSocket}, false},
		{"polling", []string{client.Polling}, false},
		{"upgrade", nil, true},
	} {
		t.Run(mode.name, func(t *testing.T) {
			srv, ts := startApp(t, "")
			addr := ts.Listener.Addr().String()
			d := newCDriver(t, client.Config{
				Host: addr, Transports: mode.transports, NoUpgrade: !mode.upgrade,
				ReconnectionDelay: 50 * time.Millisecond, ReconnectionDelayMax: 100 * time.Millisecond,
			})
			d.do(func(now clock.Instant) {
				if err := d.m.AddSocket("/", client.SocketOptions{Auth: []byte(`{"who":"wasm"}`)}); err != nil {
					t.Error(err)
				}
				if err := d.m.AddSocket("/chat", client.SocketOptions{DynamicAuth: true}); err != nil {
					t.Error(err)
				}
				if err := d.m.AddSocket("/", client.SocketOptions{}); !errors.Is(err, client.ErrSocketExists) {
					t.Errorf("second socket of /: %v", err)
				}
				if err := d.m.Connect(now, "/"); err != nil {
					t.Error(err)
				}
			})
			isWelcome := func(o wire.Output) bool { e, ok := o.(wire.EventReceived); return ok && e.Name == "welcome" }
			isUpgrade := func(o wire.Output) bool { _, ok := o.(wire.EngineUpgraded); return ok }
			var c wire.Connected
			var w wire.EventReceived
			if mode.upgrade { // the upgrade may finish before the connect, or after the welcome
				got := d.all("connect, welcome and upgrade", isConnected("/"), isWelcome, isUpgrade)
				c, w = got[0].(wire.Connected), got[1].(wire.EventReceived)
			} else {
				c = d.connected("/")
				w = d.event("welcome")
			}
			if !strings.Contains(string(w.Data), `"auth":{"who":"wasm"}`) || !strings.Contains(string(w.Data), string(c.Socket)) {
				t.Errorf("welcome %s for %s", w.Data, c.Socket)
			}

			// an acknowledgement from the server, with binary both ways
			ref := d.emit("/", client.Emit{Data: []byte(`["echo",1,{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1, 2, 3}}, WithAck: true, Timeout: 5 * time.Second})
			a := d.acked(ref)
			if a.Err != wire.AckOK || string(a.Args) != `[1,{"_placeholder":true,"num":0}]` || len(a.Attachments) != 1 || !bytes.Equal(a.Attachments[0], []byte{1, 2, 3}) {
				t.Errorf("echo ack %+v", a)
			}
			// an event from the server without an ack
			d.emit("/", client.Emit{Data: []byte(`["echo","hé"]`)})
			if e := d.event("echo"); string(e.Data) != `["echo","hé"]` {
				t.Errorf("echo event %s", e.Data)
			}
			// an acknowledgement the server asks for
			ref = d.emit("/", client.Emit{Data: []byte(`["ask",{"q":1},2000]`), WithAck: true})
			q := d.event("question")
			if q.Ack == 0 {
				t.Fatal("question without ack")
			}
			d.do(func(now clock.Instant) {
				if err := d.m.Ack(now, q.Ack, []byte(`[42]`), nil); err != nil {
					t.Error(err)
				}
				if err := d.m.Ack(now, q.Ack, nil, nil); !errors.Is(err, client.ErrUnknownAck) {
					t.Errorf("second ack: %v", err)
				}
			})
			if a := d.acked(ref); string(a.Args) != `[{"answer":42,"ok":true}]` {
				t.Errorf("ask %s", a.Args)
			}
			// misuse maps to the client's errors
			d.do(func(now clock.Instant) {
				if _, err := d.m.Emit(now, "/", client.Emit{Data: []byte(`["connect"]`)}); !errors.Is(err, client.ErrReservedEvent) {
					t.Errorf("reserved: %v", err)
				}
				if _, err := d.m.Emit(now, "/", client.Emit{Data: []byte(`{}`)}); !errors.Is(err, client.ErrInvalidEvent) {
					t.Errorf("invalid: %v", err)
				}
				if _, err := d.m.Emit(now, "/nope", client.Emit{Data: []byte(`["x"]`)}); !errors.Is(err, client.ErrUnknownSocket) {
					t.Errorf("unknown: %v", err)
				}
			})

			// a second namespace on the same connection, with an auth function
			d.do(func(now clock.Instant) { d.m.Connect(now, "/chat") })
			d.next("auth requested", func(o wire.Output) bool { r, ok := o.(wire.AuthRequested); return ok && r.Nsp == "/chat" })
			d.do(func(now clock.Instant) {
				if err := d.m.SetAuth(now, "/chat", []byte(`{"token":"secret"}`)); err != nil {
					t.Error(err)
				}
			})
			cc := d.connected("/chat")
			if cc.SID != c.SID {
				t.Errorf("/chat on session %s, / on %s: not multiplexed", cc.SID, c.SID)
			}

			// the server restarts: both sockets come back by themselves
			srv.Close()
			ts.CloseClientConnections()
			ts.Close()
			d.next("disconnect", func(o wire.Output) bool { s, ok := o.(wire.SocketDisconnected); return ok && s.Nsp == "/" })
			srv2, ts2 := startApp(t, addr)
			defer ts2.Close()
			defer srv2.Close()
			d.next("auth requested again", func(o wire.Output) bool { r, ok := o.(wire.AuthRequested); return ok && r.Nsp == "/chat" })
			d.do(func(now clock.Instant) { d.m.SetAuth(now, "/chat", []byte(`{"token":"secret"}`)) })
			back := d.all("reconnect, connect / and /chat",
				func(o wire.Output) bool { _, ok := o.(wire.Reconnected); return ok }, isConnected("/"), isConnected("/chat"))
			if back[1].(wire.Connected).Socket == c.Socket {
				t.Errorf("same socket id after a restart")
			}

			// manager.engine.close(): "forced close", then the manager
			// reconnects by itself (unlike Close)
			d.do(func(now clock.Instant) { d.m.CloseEngine(now) })
			if s := d.next("forced close", func(o wire.Output) bool { s, ok := o.(wire.SocketDisconnected); return ok && s.Nsp == "/" }).(wire.SocketDisconnected); s.Reason != wire.ReasonForcedClose {
				t.Errorf("engine close reason %q", s.Reason)
			}
			d.next("auth requested after the engine closed", func(o wire.Output) bool { r, ok := o.(wire.AuthRequested); return ok && r.Nsp == "/chat" })
			d.do(func(now clock.Instant) { d.m.SetAuth(now, "/chat", []byte(`{"token":"secret"}`)) })
			d.all("reconnect, connect / and /chat after the engine closed",
				func(o wire.Output) bool { _, ok := o.(wire.Reconnected); return ok }, isConnected("/"), isConnected("/chat"))

			// disconnect one namespace, then close
			d.do(func(now clock.Instant) { d.m.Disconnect(now, "/chat") })
			if s := d.next("chat disconnect", func(o wire.Output) bool { s, ok := o.(wire.SocketDisconnected); return ok && s.Nsp == "/chat" }).(wire.SocketDisconnected); s.Reason != wire.ReasonIOClientDisconnect {
				t.Errorf("chat reason %q", s.Reason)
			}
			d.do(func(now clock.Instant) { d.m.Close(now) })
			if s := d.next("close", func(o wire.Output) bool { s, ok := o.(wire.SocketDisconnected); return ok && s.Nsp == "/" }).(wire.SocketDisconnected); s.Reason != wire.ReasonForcedClose {
				t.Errorf("close reason %q", s.Reason)
			}
			if st := d.m.Stats(); st.Sockets != 2 || st.Acks != 0 || st.InAcks != 0 {
				t.Errorf("stats after close %+v", st)
			}
		})
	}
}

// The client role's calls before ClientConfig, of the wrong role, and an
// invalid configuration.
func TestClientMachineStates(t *testing.T) {
	ctx := context.Background()
	if _, err := testModule.NewClientMachine(ctx, client.Config{}); !errors.Is(err, client.ErrConfig) {
		t.Errorf("no host: %v", err)
	}
	if _, err := testModule.NewClientMachine(ctx, client.Config{Host: "h", Transports: []string{"carrier pigeon"}}); !errors.Is(err, client.ErrConfig) {
		t.Errorf("bad transport: %v", err)
	}
	c, err := testModule.NewClientMachine(ctx, client.Config{Host: "h"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release(ctx)
	if err := c.command(1, client.Config{Host: "h"}); err == nil {
		t.Error("second ClientConfig accepted")
	}
	// a server command on a client machine is the role status
	if _, err := c.query(1, abi.Join{Socket: "s"}); !errors.Is(err, client.ErrUnknownInput) {
		t.Errorf("server command through the client API: %v", err)
	}
	c.mu.Lock()
	b, err := c.instance.call(1, abi.Join{Socket: "s"})
	c.mu.Unlock()
	var re *RejectedError
	if b != nil || !errors.As(err, &re) || re.Status != abi.StatusRole {
		t.Errorf("Join on a client: %v", err)
	}
	if o, ok := c.Poll().(wire.Wait); !ok || o.Deadline != 0 {
		t.Errorf("idle poll %#v", o)
	}
	if err := c.AddSocket("/", client.SocketOptions{Auth: []byte(`[1]`)}); !errors.Is(err, client.ErrInvalidAuth) {
		t.Errorf("array auth: %v", err)
	}
	if err := c.Connect(1, "/x"); !errors.Is(err, client.ErrUnknownSocket) {
		t.Errorf("unknown socket: %v", err)
	}
	// a server machine refuses client calls with the role status
	s, err := testModule.NewMachine(ctx, core.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release(ctx)
	for _, r := range []any{abi.ClientOpen{}, wire.Dialed{Conn: 1}, client.Config{Host: "h"}} {
		if st := rawCall(t, &s.instance, r); st != abi.StatusRole {
			t.Errorf("%T on a server machine: status %d", r, st)
		}
	}
	for _, r := range []any{abi.StatsQuery{}, abi.Snapshot{SID: "x"}, wire.HTTPRequest{Conn: 1, Method: "GET"}} {
		if st := rawCall(t, &c.instance, r); st != abi.StatusRole {
			t.Errorf("%T on a client machine: status %d", r, st)
		}
	}
}

// rawCall sends any record with sio_handle and returns the status (0 or
// the reply's length when positive).
func rawCall(t *testing.T, m *instance, r any) abi.Status {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	k, rec, err := abi.Append(nil, r)
	if err != nil {
		t.Fatal(err)
	}
	m.mem.Write(m.ptr, rec)
	s := m.stack[:]
	s[0], s[1], s[2], s[3], s[4] = 1, uint64(k), uint64(m.ptr), uint64(len(rec)), uint64(m.size)
	if err := m.invoke("sio_handle", m.handle, s); err != nil {
		t.Fatal(err)
	}
	return abi.Status(int64(s[0]))
}
