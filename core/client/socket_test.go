package client

import (
	"errors"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

func (h *harness) emit(nsp string, e Emit) wire.AckRef {
	h.t.Helper()
	var ref wire.AckRef
	h.do(func(now clock.Instant) error {
		var err error
		ref, err = h.m.Emit(now, nsp, e)
		return err
	})
	return ref
}

func ev(data string) Emit { return Emit{Data: []byte(data)} }

// Emits made before the connection wait in the offline buffer and go out in
// order right after CONNECT is answered.
func TestOfflineBufferFlushed(t *testing.T) {
	h := newHarness(t, wsConfig())
	h.connectRoot(SocketOptions{})
	h.emit("/", ev(`["a"]`))
	ref := h.emit("/", Emit{Data: []byte(`["b"]`), WithAck: true})
	d := h.wantDial()
	h.accept(d)
	h.recv(d.Conn, `0{"sid":"SID1","upgrades":[],"pingInterval":300,"pingTimeout":200}`)
	h.wantNote(wire.EngineOpened{SID: "SID1", Transport: "websocket"})
	h.wantFrames(d.Conn, "40")
	h.emit("/", ev(`["c"]`)) // CONNECT not answered yet: buffered too
	h.wantQuiet()
	h.recv(d.Conn, `40{"sid":"S1"}`)
	h.wantNote(wire.Connected{Socket: "S1", SID: "SID1", Nsp: "/"})
	h.wantFrames(d.Conn, `42["a"]`, `420["b"]`, `42["c"]`)
	h.recv(d.Conn, `430["ok"]`)
	h.wantNote(wire.AckResolved{Ref: ref, Socket: "S1", Args: []byte(`["ok"]`)})
}

// Volatile emits are dropped while the transport cannot take them: no
// connection, a connection being opened, a polling POST in flight.
func TestVolatile(t *testing.T) {
	h := newHarness(t, testConfig())
	h.connectRoot(SocketOptions{})
	h.emit("/", Emit{Data: []byte(`["v0"]`), Volatile: true}) // handshake in flight
	poll := h.openPolling(`{"sid":"SID1","upgrades":[],"pingInterval":300,"pingTimeout":200}`)
	post := h.wantFetch("POST")                               // CONNECT
	h.emit("/", Emit{Data: []byte(`["v1"]`), Volatile: true}) // POST in flight
	h.respond(post, 200, "ok")
	h.respond(poll, 200, `40{"sid":"S1"}`)
	h.wantNote(wire.Connected{Socket: "S1", SID: "SID1", Nsp: "/"})
	h.wantFetch("GET")
	h.wantQuiet()
	h.emit("/", Emit{Data: []byte(`["v2"]`), Volatile: true}) // writable: sent
	if p := h.wantFetch("POST"); string(p.Body) != `42["v2"]` {
		t.Fatalf("volatile POST %q", p.Body)
	}

	hw := newHarness(t, wsConfig())
	ws := hw.wsSession(SocketOptions{})
	hw.closeWS(ws, false)
	note[wire.EngineClosed](hw)
	note[wire.SocketDisconnected](hw)
	hw.emit("/", Emit{Data: []byte(`["dropped"]`), Volatile: true})
	hw.emit("/", ev(`["kept"]`))
	if st := hw.m.Stats(); st.Buffered != 1 {
		t.Fatalf("buffered %d, want only the non-volatile emit", st.Buffered)
	}
	hw.advance(2 * time.Second)
	d := hw.wantDial()
	hw.accept(d)
	hw.recv(d.Conn, `0{"sid":"SID2","upgrades":[],"pingInterval":300,"pingTimeout":200}`)
	hw.wantFrames(d.Conn, "40")
	hw.recv(d.Conn, `40{"sid":"S2"}`)
	hw.wantFrames(d.Conn, `42["kept"]`)
}

func TestAckTimeoutAndDisconnect(t *testing.T) {
	h := newHarness(t, wsConfig())
	ws := h.wsSession(SocketOptions{AckTimeout: time.Second})
	r1 := h.emit("/", Emit{Data: []byte(`["a"]`), WithAck: true})
	r2 := h.emit("/", Emit{Data: []byte(`["b"]`), WithAck: true, Timeout: 100 * time.Millisecond})
	h.wantFrames(ws, `420["a"]`, `421["b"]`)
	h.recv(ws, "2") // keep the session alive
	h.advance(100 * time.Millisecond)
	h.wantNote(wire.AckResolved{Ref: r2, Socket: "S1", Err: wire.AckTimedOut})
	h.recv(ws, `431["late"]`) // answer after the timeout: ignored
	h.wantNoNote()
	r3 := h.emit("/", Emit{Data: []byte(`["c"]`), WithAck: true, Timeout: time.Hour})
	h.closeWS(ws, false)
	note[wire.EngineClosed](h)
	note[wire.SocketDisconnected](h)
	h.wantNote(wire.AckResolved{Ref: r1, Err: wire.AckDisconnected})
	h.wantNote(wire.AckResolved{Ref: r3, Err: wire.AckDisconnected})
	if st := h.m.Stats(); st.Acks != 0 {
		t.Fatalf("acks left: %+v", st)
	}
}

// An acknowledgement of a packet still in the offline buffer waits for the
// reconnection (the packet keeps its id); its timeout also drops the packet.
func TestBufferedAckKeepsID(t *testing.T) {
	cfg := wsConfig()
	cfg.RandomizationFactor = -1
	h := newHarness(t, cfg)
	ws := h.wsSession(SocketOptions{})
	h.closeWS(ws, false)
	note[wire.EngineClosed](h)
	note[wire.SocketDisconnected](h)
	keep := h.emit("/", Emit{Data: []byte(`["keep"]`), WithAck: true})
	h.emit("/", Emit{Data: []byte(`["drop"]`), WithAck: true, Timeout: 500 * time.Millisecond})
	h.advance(500 * time.Millisecond)
	note[wire.AckResolved](h)
	h.advance(500 * time.Millisecond)
	d := h.wantDial()
	h.accept(d)
	h.recv(d.Conn, `0{"sid":"SID2","upgrades":[],"pingInterval":300,"pingTimeout":200}`)
	h.wantFrames(d.Conn, "40")
	h.recv(d.Conn, `40{"sid":"S2"}`)
	h.wantFrames(d.Conn, `420["keep"]`)
	h.recv(d.Conn, `430[1]`)
	note[wire.ReconnectAttempt](h)
	note[wire.EngineOpened](h)
	note[wire.Reconnected](h)
	note[wire.Connected](h)
	h.wantNote(wire.AckResolved{Ref: keep, Socket: "S2", Args: []byte(`[1]`)})
}

// retries: one emit at a time; an attempt that times out is sent again
// with a new id; after Retries more attempts the last error resolves it.
func TestRetries(t *testing.T) {
	h := newHarness(t, wsConfig())
	ws := h.wsSession(SocketOptions{Retries: 2, AckTimeout: 100 * time.Millisecond})
	r1 := h.emit("/", Emit{Data: []byte(`["one"]`), WithAck: true})
	r2 := h.emit("/", Emit{Data: []byte(`["two"]`), WithAck: true})
	h.wantFrames(ws, `420["one"]`) // "two" waits for "one"
	h.recv(ws, `430["ok1"]`)
	h.wantNote(wire.AckResolved{Ref: r1, Socket: "S1", Args: []byte(`["ok1"]`)})
	h.wantFrames(ws, `421["two"]`)
	h.advance(100 * time.Millisecond)
	h.wantFrames(ws, `422["two"]`)
	h.advance(100 * time.Millisecond)
	h.wantFrames(ws, `423["two"]`)
	h.wantNoNote()
	h.advance(100 * time.Millisecond)
	h.wantNote(wire.AckResolved{Ref: r2, Socket: "S1", Err: wire.AckTimedOut})
	h.wantQuiet()

	// an emit without an ack callback is acknowledged all the same
	h.emit("/", ev(`["fire"]`))
	h.wantFrames(ws, `424["fire"]`)
	h.recv(ws, "434[]")
	h.wantNoNote()
	if st := h.m.Stats(); st.Buffered != 0 || st.Acks != 0 {
		t.Fatalf("left: %+v", st)
	}
}

// retries across a reconnection: without an ackTimeout the attempt in
// flight is dropped silently when the connection goes and sent again (new
// id) once the socket is back.
func TestRetriesAcrossReconnection(t *testing.T) {
	cfg := wsConfig()
	cfg.RandomizationFactor = -1
	h := newHarness(t, cfg)
	ws := h.wsSession(SocketOptions{Retries: 1})
	ref := h.emit("/", Emit{Data: []byte(`["once"]`), WithAck: true})
	h.wantFrames(ws, `420["once"]`)
	h.closeWS(ws, false)
	note[wire.EngineClosed](h)
	note[wire.SocketDisconnected](h)
	h.wantNoNote()
	h.advance(time.Second)
	d := h.wantDial()
	h.accept(d)
	h.recv(d.Conn, `0{"sid":"SID2","upgrades":[],"pingInterval":300,"pingTimeout":200}`)
	h.wantFrames(d.Conn, "40")
	h.recv(d.Conn, `40{"sid":"S2"}`)
	h.wantFrames(d.Conn, `421["once"]`)
	h.recv(d.Conn, `431["done"]`)
	note[wire.ReconnectAttempt](h)
	note[wire.EngineOpened](h)
	note[wire.Reconnected](h)
	note[wire.Connected](h)
	h.wantNote(wire.AckResolved{Ref: ref, Socket: "S2", Args: []byte(`["done"]`)})
}

// With an ackTimeout, a disconnection is a failed try of the attempt in
// flight: it counts against Retries, and the entry is resent (with a new id)
// on the next connection until the tries run out.
func TestRetriesDisconnectCounts(t *testing.T) {
	cfg := wsConfig()
	cfg.RandomizationFactor = -1
	h := newHarness(t, cfg)
	ws := h.wsSession(SocketOptions{Retries: 1, AckTimeout: time.Hour})
	ref := h.emit("/", Emit{Data: []byte(`["x"]`), WithAck: true})
	h.wantFrames(ws, `420["x"]`)
	h.closeWS(ws, false)
	note[wire.EngineClosed](h)
	note[wire.SocketDisconnected](h)
	h.wantNoNote() // 1 try, 1 retry left
	h.advance(time.Second)
	note[wire.ReconnectAttempt](h)
	d := h.wantDial()
	h.accept(d)
	h.recv(d.Conn, `0{"sid":"SID2","upgrades":[],"pingInterval":300,"pingTimeout":200}`)
	h.wantFrames(d.Conn, "40")
	h.recv(d.Conn, `40{"sid":"S2"}`)
	h.wantFrames(d.Conn, `421["x"]`)
	note[wire.EngineOpened](h)
	note[wire.Reconnected](h)
	note[wire.Connected](h)
	h.closeWS(d.Conn, false)
	note[wire.EngineClosed](h)
	note[wire.SocketDisconnected](h)
	h.wantNote(wire.AckResolved{Ref: ref, Err: wire.AckDisconnected})
	if st := h.m.Stats(); st.Buffered != 0 || st.Acks != 0 {
		t.Fatalf("left: %+v", st)
	}
}

func TestConnectErrorClosesManager(t *testing.T) {
	h := newHarness(t, wsConfig())
	h.connectRoot(SocketOptions{Auth: []byte(`{"reject":true}`)})
	d := h.wantDial()
	h.accept(d)
	h.recv(d.Conn, `0{"sid":"SID1","upgrades":[],"pingInterval":300,"pingTimeout":200}`)
	h.wantNote(wire.EngineOpened{SID: "SID1", Transport: "websocket"})
	h.wantFrames(d.Conn, `40{"reject":true}`)
	h.recv(d.Conn, `44{"message":"rejected","data":{"code":42}}`)
	// the only socket is gone: the manager closes, no reconnection
	h.wantNote(wire.EngineClosed{Reason: "forced close"})
	h.wantNote(wire.ConnectError{Nsp: "/", Message: "rejected", Data: []byte(`{"code":42}`), Server: true})
	h.wantCloseConn(d.Conn)
	if h.deadline != 0 {
		t.Fatal("timer left after connect_error")
	}
}

// Namespaces share one Engine.IO connection; a refused one does not affect
// the others.
func TestMultiplexing(t *testing.T) {
	h := newHarness(t, wsConfig())
	ws := h.wsSession(SocketOptions{})
	for _, nsp := range []string{"/chat", "/nope"} {
		h.do(func(now clock.Instant) error { return h.m.AddSocket(nsp, SocketOptions{}) })
		h.do(func(now clock.Instant) error { return h.m.Connect(now, nsp) })
	}
	h.wantFrames(ws, "40/chat,", "40/nope,")
	h.recv(ws, `40/chat,{"sid":"C1"}`, `44/nope,{"message":"Invalid namespace"}`)
	h.wantNote(wire.Connected{Socket: "C1", SID: "SID1", Nsp: "/chat"})
	h.wantNote(wire.ConnectError{Nsp: "/nope", Message: "Invalid namespace", Server: true})
	h.recv(ws, `42/chat,["x"]`, `42["y"]`, `42/nope,["ignored"]`)
	h.wantNote(wire.EventReceived{Socket: "C1", Name: "x", Data: []byte(`["x"]`)})
	h.wantNote(wire.EventReceived{Socket: "S1", Name: "y", Data: []byte(`["y"]`)})
	h.wantNoNote()
	// a namespace disconnect keeps the connection while others remain
	h.do(func(now clock.Instant) error { return h.m.Disconnect(now, "/chat") })
	h.wantFrames(ws, "41/chat,")
	h.wantNote(wire.SocketDisconnected{Nsp: "/chat", Socket: "C1", Reason: "io client disconnect"})
	h.wantQuiet()
	h.do(func(now clock.Instant) error { return h.m.Disconnect(now, "/") })
	h.wantFrames(ws, "41")
	h.wantNote(wire.EngineClosed{Reason: "forced close"})
	h.wantNote(wire.SocketDisconnected{Nsp: "/", Socket: "S1", Reason: "io client disconnect"})
	h.wantCloseConn(ws)
}

func TestServerDisconnect(t *testing.T) {
	h := newHarness(t, wsConfig())
	ws := h.wsSession(SocketOptions{})
	h.recv(ws, "41")
	h.wantNote(wire.EngineClosed{Reason: "forced close"})
	h.wantNote(wire.SocketDisconnected{Nsp: "/", Socket: "S1", Reason: "io server disconnect"})
	h.wantCloseConn(ws)
	if h.deadline != 0 {
		t.Fatal("reconnecting after io server disconnect")
	}
}

func TestParseError(t *testing.T) {
	cfg := wsConfig()
	h := newHarness(t, cfg)
	ws := h.wsSession(SocketOptions{})
	h.recv(ws, `42["connect"]`) // a reserved name is an invalid payload
	ec := note[wire.EngineClosed](h)
	if ec.Reason != "parse error" {
		t.Fatalf("reason %q", ec.Reason)
	}
	if sd := note[wire.SocketDisconnected](h); sd.Reason != "parse error" {
		t.Fatalf("socket reason %q", sd.Reason)
	}
	h.wantCloseConn(ws)
	if !h.m.Reconnecting() {
		t.Fatal("no reconnection after a parse error")
	}
}

func TestBinary(t *testing.T) {
	h := newHarness(t, wsConfig())
	ws := h.wsSession(SocketOptions{})
	ref := h.emit("/", Emit{Data: []byte(`["up",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1, 2}}, WithAck: true})
	h.wantFrames(ws, `451-0["up",{"_placeholder":true,"num":0}]`, "\x00\x01\x02")
	h.recv(ws, `461-0[{"_placeholder":true,"num":0}]`, "\x00\x03")
	got := note[wire.AckResolved](h)
	if got.Ref != ref || string(got.Args) != `[{"_placeholder":true,"num":0}]` || len(got.Attachments) != 1 || got.Attachments[0][0] != 3 {
		t.Fatalf("binary ack %s", describe(got))
	}
	h.recv(ws, `452-["down",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]`, "\x00a", "\x00b")
	e := note[wire.EventReceived](h)
	if e.Name != "down" || len(e.Attachments) != 2 || string(e.Attachments[1]) != "b" {
		t.Fatalf("binary event %s", describe(e))
	}
	// over polling, binary goes base64 in the payload
	hp := newHarness(t, testConfig())
	hp.connectRoot(SocketOptions{})
	poll := hp.openPolling(`{"sid":"SID1","upgrades":[],"pingInterval":300,"pingTimeout":200}`)
	hp.respond(hp.wantFetch("POST"), 200, "ok")
	hp.respond(poll, 200, `40{"sid":"S1"}`+"\x1e"+`451-["b",{"_placeholder":true,"num":0}]`+"\x1ebAQI=")
	hp.wantNote(wire.Connected{Socket: "S1", SID: "SID1", Nsp: "/"})
	if e := note[wire.EventReceived](hp); string(e.Attachments[0]) != "\x01\x02" {
		t.Fatalf("polling binary %s", describe(e))
	}
	hp.emit("/", Emit{Data: []byte(`["b",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1, 2}}})
	if p := hp.wantFetch("POST"); string(p.Body) != `451-["b",{"_placeholder":true,"num":0}]`+"\x1ebAQI=" {
		t.Fatalf("binary POST %q", p.Body)
	}
}

// The server's acknowledgement requests are answered with Ack; refs of a
// connection that is gone are forgotten.
func TestServerAck(t *testing.T) {
	h := newHarness(t, wsConfig())
	ws := h.wsSession(SocketOptions{})
	h.recv(ws, `427["question",1]`)
	e := note[wire.EventReceived](h)
	if e.Ack == 0 {
		t.Fatal("no ack ref")
	}
	h.do(func(now clock.Instant) error { return h.m.Ack(now, e.Ack, []byte(`["answer"]`), nil) })
	h.wantFrames(ws, `437["answer"]`)
	if err := h.m.Ack(h.now, e.Ack, nil, nil); !errors.Is(err, ErrUnknownAck) {
		t.Fatalf("second Ack: %v", err)
	}
	h.recv(ws, `428["q2"]`)
	e = note[wire.EventReceived](h)
	h.closeWS(ws, false)
	if err := h.m.Ack(h.now, e.Ack, nil, nil); !errors.Is(err, ErrUnknownAck) {
		t.Fatalf("Ack after disconnection: %v", err)
	}
}

func TestDynamicAuth(t *testing.T) {
	h := newHarness(t, wsConfig())
	h.connectRoot(SocketOptions{DynamicAuth: true})
	d := h.wantDial()
	h.accept(d)
	h.recv(d.Conn, `0{"sid":"SID1","upgrades":[],"pingInterval":300,"pingTimeout":200}`)
	h.wantNote(wire.EngineOpened{SID: "SID1", Transport: "websocket"})
	h.wantNote(wire.AuthRequested{Nsp: "/"})
	h.wantQuiet()
	if err := h.m.SetAuth(h.now, "/", []byte(`[1]`)); !errors.Is(err, ErrInvalidAuth) {
		t.Fatalf("array auth: %v", err)
	}
	h.do(func(now clock.Instant) error { return h.m.SetAuth(now, "/", []byte(`{"token":1}`)) })
	h.wantFrames(d.Conn, `40{"token":1}`)
	h.do(func(now clock.Instant) error { return h.m.SetAuth(now, "/", []byte(`{"token":2}`)) }) // CONNECT not answered yet
	h.wantFrames(d.Conn, `40{"token":2}`)
}

func TestCommandErrors(t *testing.T) {
	h := newHarness(t, wsConfig())
	if _, err := h.m.Emit(h.now, "/", ev(`["x"]`)); !errors.Is(err, ErrUnknownSocket) {
		t.Fatalf("emit on unknown socket: %v", err)
	}
	h.do(func(now clock.Instant) error { return h.m.AddSocket("/", SocketOptions{}) })
	if err := h.m.AddSocket("/", SocketOptions{}); !errors.Is(err, ErrSocketExists) {
		t.Fatalf("AddSocket twice: %v", err)
	}
	if err := h.m.AddSocket("/a", SocketOptions{Auth: []byte(`"str"`)}); !errors.Is(err, ErrInvalidAuth) {
		t.Fatalf("string auth: %v", err)
	}
	for _, data := range []string{`["disconnect"]`, `["connect_error",1]`} {
		if _, err := h.m.Emit(h.now, "/", ev(data)); !errors.Is(err, ErrReservedEvent) {
			t.Fatalf("%s: %v", data, err)
		}
	}
	for _, data := range []string{``, `[]`, `{"a":1}`, `[true]`, `["x"`} {
		if _, err := h.m.Emit(h.now, "/", ev(data)); !errors.Is(err, ErrInvalidEvent) {
			t.Fatalf("%q: %v", data, err)
		}
	}
	if err := h.m.Handle(h.now, wire.HTTPRequest{}); !errors.Is(err, ErrUnknownInput) {
		t.Fatalf("server input: %v", err)
	}
	if _, err := New(Config{}); !errors.Is(err, ErrConfig) {
		t.Fatalf("no host: %v", err)
	}
	if _, err := New(Config{Host: "h", Transports: []string{"webtransport"}}); !errors.Is(err, ErrConfig) {
		t.Fatalf("unknown transport: %v", err)
	}
}

func TestCancelAck(t *testing.T) {
	h := newHarness(t, wsConfig())
	ws := h.wsSession(SocketOptions{})
	ref := h.emit("/", Emit{Data: []byte(`["a"]`), WithAck: true, Timeout: 300 * time.Millisecond})
	h.wantFrames(ws, `420["a"]`)
	h.m.CancelAck(ref)
	h.advance(300 * time.Millisecond)
	h.wantNoNote()
	if st := h.m.Stats(); st.Acks != 0 {
		t.Fatalf("acks %+v", st)
	}
}
