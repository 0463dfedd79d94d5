package client

import (
	"testing"
	"time"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

func closeEngine(h *harness) {
	h.t.Helper()
	h.do(func(now clock.Instant) error { h.m.CloseEngine(now); return nil })
}

// CloseEngine is manager.engine.close(): the transport closes, the sockets
// disconnect with "forced close", and, unlike Close, the manager
// reconnects and re-joins its namespaces.
func TestCloseEngineReconnects(t *testing.T) {
	cfg := wsConfig()
	cfg.RandomizationFactor = -1
	h := newHarness(t, cfg)
	ws := h.wsSession(SocketOptions{})
	closeEngine(h)
	h.wantCloseConn(ws)
	h.wantNote(wire.EngineClosed{Reason: wire.ReasonForcedClose})
	h.wantNote(wire.SocketDisconnected{Nsp: "/", Socket: "S1", Reason: wire.ReasonForcedClose})
	h.wantNoNote()
	if !h.m.Reconnecting() || h.deadline != h.now.Add(time.Second) {
		t.Fatalf("reconnecting %v, next attempt +%v, want 1s", h.m.Reconnecting(), h.deadline.Sub(h.now))
	}
	h.advance(time.Second)
	h.wantNote(wire.ReconnectAttempt{Attempt: 1})
	d := h.wantDial()
	h.accept(d)
	h.recv(d.Conn, `0{"sid":"SID2","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}`)
	h.wantNote(wire.EngineOpened{SID: "SID2", Transport: "websocket"})
	h.wantNote(wire.Reconnected{Attempt: 1})
	h.wantFrames(d.Conn, "40")
	h.recv(d.Conn, `40{"sid":"S2"}`)
	h.wantNote(wire.Connected{Socket: "S2", SID: "SID2", Nsp: "/"})

	// A second call on the closed engine, and one without reconnection:
	// nothing more than the close.
	closeEngine(h)
	h.wantCloseConn(d.Conn)
	note[wire.EngineClosed](h)
	note[wire.SocketDisconnected](h)
	closeEngine(h)
	h.wantNoNote()
}

func TestCloseEngineWithoutReconnection(t *testing.T) {
	cfg := wsConfig()
	cfg.NoReconnection = true
	h := newHarness(t, cfg)
	ws := h.wsSession(SocketOptions{})
	closeEngine(h)
	h.wantCloseConn(ws)
	h.wantNote(wire.EngineClosed{Reason: wire.ReasonForcedClose})
	h.wantNote(wire.SocketDisconnected{Nsp: "/", Socket: "S1", Reason: wire.ReasonForcedClose})
	if h.deadline != 0 || h.m.Reconnecting() {
		t.Fatal("reconnecting despite NoReconnection")
	}
	if st := h.m.Stats(); st.Conns != 0 || st.Timers != 0 {
		t.Fatalf("left after CloseEngine: %+v", st)
	}
	// the socket is still active: a manual Connect opens a new engine
	h.do(func(now clock.Instant) error { return h.m.Connect(now, "/") })
	h.wantDial()
}

// Over polling the close packet goes out first (transport.ts close());
// packets still buffered are flushed before it (socket.ts close() waits
// for "drain").
func TestCloseEnginePollingFlushesFirst(t *testing.T) {
	cfg := testConfig()
	cfg.Transports = []string{Polling}
	cfg.NoReconnection = true
	h := newHarness(t, cfg)
	h.connectRoot(SocketOptions{})
	get := h.openPolling(`{"sid":"SID1","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}`)
	h.respond(h.wantFetch("POST"), 200, "ok") // CONNECT "/"
	h.respond(get, 200, `40{"sid":"S1"}`)
	h.wantNote(wire.Connected{Socket: "S1", SID: "SID1", Nsp: "/"})
	get = h.wantFetch("GET")
	emit := func(ev string) {
		h.do(func(now clock.Instant) error { _, err := h.m.Emit(now, "/", Emit{Data: []byte(ev)}); return err })
	}
	emit(`["a"]`)
	post := h.wantFetch("POST")
	emit(`["b"]`) // waits in the write buffer while "a" is posted
	closeEngine(h)
	h.wantNoNote()
	h.respond(post, 200, "ok")
	flush := h.wantFetch("POST")
	if string(flush.Body) != `42["b"]` {
		t.Fatalf("flushed %q", flush.Body)
	}
	h.wantNoNote()
	h.respond(flush, 200, "ok")
	closing := h.wantFetch("POST")
	if string(closing.Body) != "1" {
		t.Fatalf("close POST body %q, want the close packet", closing.Body)
	}
	h.wantNote(wire.EngineClosed{Reason: wire.ReasonForcedClose})
	h.wantNote(wire.SocketDisconnected{Nsp: "/", Socket: "S1", Reason: wire.ReasonForcedClose})
	h.respond(closing, 200, "ok")
	h.wantCloseConn(get.Conn)
}

// While the engine is still opening there is no session to close: as in
// socket.io-client the manager hears nothing and the open timeout ends
// the attempt.
func TestCloseEngineWhileOpening(t *testing.T) {
	cfg := wsConfig()
	cfg.Timeout = 5 * time.Second
	h := newHarness(t, cfg)
	h.connectRoot(SocketOptions{})
	d := h.wantDial()
	closeEngine(h)
	h.wantCloseConn(d.Conn)
	h.wantNoNote()
	h.advance(5 * time.Second)
	h.wantNote(wire.EngineError{Message: "timeout"})
}
