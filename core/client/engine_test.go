package client

import (
	"strings"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

func TestURLs(t *testing.T) {
	cfg := testConfig()
	cfg.NoTimestamp = false
	cfg.Secure = true
	cfg.Path = "/custom"
	cfg.Query = "foo=bar&x=%20"
	h := newHarness(t, cfg)
	h.connectRoot(SocketOptions{})
	get := h.wantFetch("GET")
	prefix := "https://example.com:3000/custom/?foo=bar&x=%20&EIO=4&transport=polling&t="
	if !strings.HasPrefix(get.URL, prefix) || len(get.URL) != len(prefix)+8 {
		t.Fatalf("handshake URL %q, want %q + 8-char token", get.URL, prefix)
	}
	h.respond(get, 200, "0"+openJSON)
	poll := h.wantFetch("GET")
	if !strings.Contains(poll.URL, "&transport=polling&sid=SID1&t=") || poll.URL == get.URL {
		t.Fatalf("poll URL %q", poll.URL)
	}
	d := h.wantDial()
	if d.URL != "wss://example.com:3000/custom/?foo=bar&x=%20&EIO=4&transport=websocket&sid=SID1" {
		t.Fatalf("probe URL %q", d.URL)
	}
}

func TestPollingHandshake(t *testing.T) {
	h := newHarness(t, testConfig())
	h.connectRoot(SocketOptions{Auth: []byte(`{"token":"x"}`)})
	get := h.wantFetch("GET")
	if get.URL != "http://example.com:3000/socket.io/?EIO=4&transport=polling" {
		t.Fatalf("handshake URL %q", get.URL)
	}
	h.wantQuiet()
	h.respond(get, 200, "0"+openJSON)
	h.wantNote(wire.EngineOpened{SID: "SID1", Transport: "polling"})
	post := h.wantFetch("POST")
	if string(post.Body) != `40{"token":"x"}` || post.ContentType != "text/plain;charset=UTF-8" ||
		post.URL != "http://example.com:3000/socket.io/?EIO=4&transport=polling&sid=SID1" {
		t.Fatalf("CONNECT POST %s", describe(post))
	}
	poll := h.wantFetch("GET")
	h.wantDial() // the upgrade probe
	h.respond(post, 200, "ok")
	h.respond(poll, 200, `40{"sid":"S1"}`+"\x1e"+`42["hello",1]`)
	h.wantNote(wire.Connected{Socket: "S1", SID: "SID1", Nsp: "/"})
	h.wantNote(wire.EventReceived{Socket: "S1", Name: "hello", Data: []byte(`["hello",1]`)})
	h.wantFetch("GET")
}

func TestWebSocketHandshake(t *testing.T) {
	h := newHarness(t, wsConfig())
	ws := h.wsSession(SocketOptions{})
	if h.m.eng.t.ws != ws || len(h.fetches) != 0 {
		t.Fatal("a WebSocket-only client made HTTP requests")
	}
	h.do(func(now clock.Instant) error {
		_, err := h.m.Emit(now, "/", Emit{Data: []byte(`["a",{"b":[1,2]}]`)})
		return err
	})
	h.wantFrames(ws, `42["a",{"b":[1,2]}]`)
}

// The upgrade: probe on a WebSocket carrying the sid, pause polling until
// its GET ends (the server answers it with a noop), then "5", and packets
// queued meanwhile go out on the WebSocket after it.
func TestUpgradeProbe(t *testing.T) {
	h := newHarness(t, testConfig())
	h.connectRoot(SocketOptions{})
	poll := h.openPolling(openJSON)
	post := h.wantFetch("POST")
	d := h.wantDial()
	if !strings.Contains(d.URL, "transport=websocket&sid=SID1") {
		t.Fatalf("probe URL %q", d.URL)
	}
	h.respond(post, 200, "ok")
	h.accept(d)
	h.wantFrames(d.Conn, "2probe")
	h.recv(d.Conn, "3probe")
	// paused: the GET is still out, so nothing goes on the WebSocket yet
	h.do(func(now clock.Instant) error {
		_, err := h.m.Emit(now, "/", Emit{Data: []byte(`["queued"]`)})
		return err
	})
	h.wantQuiet()
	h.respond(poll, 200, `40{"sid":"S1"}`+"\x1e6")
	h.wantNote(wire.Connected{Socket: "S1", SID: "SID1", Nsp: "/"})
	h.wantFrames(d.Conn, "5", `42["queued"]`)
	h.wantNote(wire.EngineUpgraded{SID: "SID1", Transport: "websocket"})
	h.wantQuiet() // no new poll
	if len(h.fetches) != 0 {
		t.Fatalf("requests left after the upgrade: %v", h.fetches)
	}
	h.recv(d.Conn, "2")
	h.wantFrames(d.Conn, "3")
}

// A POST in flight also holds the pause back.
func TestUpgradeWaitsForPost(t *testing.T) {
	h := newHarness(t, testConfig())
	h.connectRoot(SocketOptions{})
	poll := h.openPolling(openJSON)
	post := h.wantFetch("POST")
	d := h.wantDial()
	h.accept(d)
	h.wantFrames(d.Conn, "2probe")
	h.recv(d.Conn, "3probe")
	h.respond(poll, 200, "6")
	h.wantQuiet()
	h.respond(post, 200, "ok")
	h.wantFrames(d.Conn, "5")
	h.wantNote(wire.EngineUpgraded{SID: "SID1", Transport: "websocket"})
}

// A failed probe leaves the session on polling.
func TestUpgradeProbeFails(t *testing.T) {
	h := newHarness(t, testConfig())
	h.connectRoot(SocketOptions{})
	poll := h.openPolling(openJSON)
	post := h.wantFetch("POST")
	d := h.wantDial()
	h.refuse(d)
	h.wantNoNote()
	h.respond(post, 200, "ok")
	h.respond(poll, 200, `40{"sid":"S1"}`)
	h.wantNote(wire.Connected{Socket: "S1", SID: "SID1", Nsp: "/"})
	h.wantFetch("GET")

	// and a probe answered with something else than 3probe is closed
	h2 := newHarness(t, testConfig())
	h2.connectRoot(SocketOptions{})
	h2.openPolling(openJSON)
	d2 := h2.wantDial()
	h2.accept(d2)
	h2.wantFrames(d2.Conn, "2probe")
	h2.recv(d2.Conn, "3nope")
	h2.wantCloseConn(d2.Conn)
	h2.wantNoNote()
}

func TestNoUpgrade(t *testing.T) {
	cfg := testConfig()
	cfg.NoUpgrade = true
	h := newHarness(t, cfg)
	h.connectRoot(SocketOptions{})
	h.openPolling(openJSON)
	h.wantFetch("POST")
	for _, o := range h.out {
		if _, ok := o.(wire.Dial); ok {
			t.Fatal("probe despite NoUpgrade")
		}
	}
}

func TestPingAnswered(t *testing.T) {
	h := newHarness(t, testConfig())
	h.connectRoot(SocketOptions{})
	poll := h.openPolling(openJSON)
	post := h.wantFetch("POST")
	h.respond(post, 200, "ok")
	h.respond(poll, 200, "2")
	pong := h.wantFetch("POST")
	if string(pong.Body) != "3" {
		t.Fatalf("pong POST %q", pong.Body)
	}
	h.wantFetch("GET")

	hw := newHarness(t, wsConfig())
	ws := hw.wsSession(SocketOptions{})
	hw.recv(ws, "2")
	hw.wantFrames(ws, "3")
}

// A server that stops pinging is given up pingInterval + pingTimeout after
// the handshake or the last ping: "ping timeout".
func TestDeadServerDetected(t *testing.T) {
	h := newHarness(t, wsConfig())
	ws := h.wsSession(SocketOptions{})
	opened := h.now
	if want := opened.Add(500 * time.Millisecond); h.deadline != want {
		t.Fatalf("deadline +%v, want pingInterval+pingTimeout", h.deadline.Sub(opened))
	}
	h.advance(400 * time.Millisecond)
	h.recv(ws, "2") // a ping pushes it back
	h.wantFrames(ws, "3")
	pinged := h.now
	h.advance(499 * time.Millisecond)
	h.wantNoNote()
	h.advance(time.Millisecond)
	if h.now != pinged.Add(500*time.Millisecond) {
		t.Fatal("clock")
	}
	h.wantCloseConn(ws)
	h.wantNote(wire.EngineClosed{Reason: "ping timeout"})
	h.wantNote(wire.SocketDisconnected{Nsp: "/", Socket: "S1", Reason: "ping timeout"})
}

// An emit made after the ping deadline passed but before the host fed the
// Timeout is not written to the dead connection: it waits in the buffer.
func TestEmitAfterPingExpiry(t *testing.T) {
	h := newHarness(t, wsConfig())
	ws := h.wsSession(SocketOptions{})
	h.now = h.now.Add(time.Second) // no Timeout fed
	h.do(func(now clock.Instant) error {
		_, err := h.m.Emit(now, "/", Emit{Data: []byte(`["late"]`)})
		return err
	})
	h.wantCloseConn(ws)
	h.wantNote(wire.EngineClosed{Reason: "ping timeout"})
	h.wantNote(wire.SocketDisconnected{Nsp: "/", Socket: "S1", Reason: "ping timeout"})
	if st := h.m.Stats(); st.Buffered != 1 {
		t.Fatalf("buffered %d, want 1", st.Buffered)
	}
}

// Closing over polling sends the close packet, and the poll is aborted once
// that POST is done.
func TestPollingCloseSendsClosePacket(t *testing.T) {
	h := newHarness(t, testConfig())
	h.connectRoot(SocketOptions{})
	poll := h.openPolling(openJSON)
	post := h.wantFetch("POST")
	h.wantDial()
	h.respond(post, 200, "ok")
	h.respond(poll, 200, `40{"sid":"S1"}`)
	h.wantNote(wire.Connected{Socket: "S1", SID: "SID1", Nsp: "/"})
	poll = h.wantFetch("GET")
	h.do(func(now clock.Instant) error { return h.m.Disconnect(now, "/") })
	// DISCONNECT first, then (after it drained) the close packet
	disc := h.wantFetch("POST")
	if string(disc.Body) != "41" {
		t.Fatalf("DISCONNECT POST %q", disc.Body)
	}
	h.wantNote(wire.EngineClosed{Reason: "forced close"})
	h.wantNote(wire.SocketDisconnected{Nsp: "/", Socket: "S1", Reason: "io client disconnect"})
	h.respond(disc, 200, "ok")
	closePost := h.wantFetch("POST")
	if string(closePost.Body) != "1" {
		t.Fatalf("close POST %q", closePost.Body)
	}
	h.respond(closePost, 200, "ok")
	h.wantCloseConn(poll.Conn)
	if st := h.m.Stats(); st.Conns != 0 || st.Timers != 0 {
		t.Fatalf("left after close: %+v", st)
	}
}

func TestServerClosePacket(t *testing.T) {
	h := newHarness(t, testConfig())
	h.connectRoot(SocketOptions{})
	poll := h.openPolling(openJSON)
	h.respond(poll, 200, `40{"sid":"S1"}`+"\x1e1")
	h.wantNote(wire.Connected{Socket: "S1", SID: "SID1", Nsp: "/"})
	h.wantNote(wire.EngineClosed{Reason: "transport close", Description: "transport closed by the server"})
	h.wantNote(wire.SocketDisconnected{Nsp: "/", Socket: "S1", Reason: "transport close", Description: "transport closed by the server"})
}

func TestOpenTimeout(t *testing.T) {
	cfg := testConfig()
	cfg.Timeout = 2 * time.Second
	cfg.RandomizationFactor = -1
	h := newHarness(t, cfg)
	h.connectRoot(SocketOptions{})
	get := h.wantFetch("GET")
	h.advance(2 * time.Second)
	h.wantCloseConn(get.Conn)
	h.wantNote(wire.EngineError{Message: "timeout"})
	h.wantNote(wire.ConnectError{Nsp: "/", Message: "timeout"})
	if !h.m.Reconnecting() || h.deadline != h.now.Add(time.Second) {
		t.Fatalf("reconnection not scheduled 1s later (deadline +%v)", h.deadline.Sub(h.now))
	}
}

func TestTransportErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail func(h *harness)
		msg  string
	}{
		{"poll status", func(h *harness) { h.respond(h.wantFetch("GET"), 400, `{"code":1}`) }, "xhr poll error"},
		{"poll network", func(h *harness) { h.failFetch(h.wantFetch("GET")) }, "xhr poll error"},
		{"bad payload", func(h *harness) { h.respond(h.wantFetch("GET"), 200, "x") }, "server error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, testConfig())
			h.connectRoot(SocketOptions{})
			tc.fail(h)
			if e := note[wire.EngineError](h); e.Message != tc.msg {
				t.Fatalf("error %q, want %q", e.Message, tc.msg)
			}
			if e := note[wire.ConnectError](h); e.Message != tc.msg {
				t.Fatalf("connect_error %q, want %q", e.Message, tc.msg)
			}
			if !h.m.Reconnecting() {
				t.Fatal("no reconnection after the first failure")
			}
		})
	}
}

// A transport error on an open session: "transport error" for the sockets.
func TestTransportErrorWhenOpen(t *testing.T) {
	h := newHarness(t, wsConfig())
	ws := h.wsSession(SocketOptions{})
	h.closeWS(ws, true)
	h.wantNote(wire.EngineError{Message: "websocket error"})
	h.wantNote(wire.EngineClosed{Reason: "transport error", Description: "websocket error"})
	h.wantNote(wire.SocketDisconnected{Nsp: "/", Socket: "S1", Reason: "transport error", Description: "websocket error"})

	h2 := newHarness(t, wsConfig())
	ws = h2.wsSession(SocketOptions{})
	h2.closeWS(ws, false)
	h2.wantNote(wire.EngineClosed{Reason: "transport close", Description: "websocket connection closed"})
	h2.wantNote(wire.SocketDisconnected{Nsp: "/", Socket: "S1", Reason: "transport close", Description: "websocket connection closed"})
}

func TestTryAllTransports(t *testing.T) {
	cfg := testConfig()
	cfg.Transports = []string{WebSocket, Polling}
	cfg.TryAllTransports = true
	h := newHarness(t, cfg)
	h.connectRoot(SocketOptions{})
	h.refuse(h.wantDial())
	h.wantNoNote()
	get := h.wantFetch("GET")
	h.respond(get, 200, "0"+openJSON)
	h.wantNote(wire.EngineOpened{SID: "SID1", Transport: "polling"})
}

func TestRememberUpgrade(t *testing.T) {
	cfg := testConfig()
	cfg.RememberUpgrade = true
	cfg.RandomizationFactor = -1
	h := newHarness(t, cfg)
	h.connectRoot(SocketOptions{})
	poll := h.openPolling(openJSON)
	post := h.wantFetch("POST")
	h.respond(post, 200, "ok")
	d := h.wantDial()
	h.accept(d)
	h.recv(d.Conn, "3probe")
	h.respond(poll, 200, "6")
	h.wantNote(wire.EngineUpgraded{SID: "SID1", Transport: "websocket"})
	h.closeWS(d.Conn, false)
	h.wantNote(wire.EngineClosed{Reason: "transport close", Description: "websocket connection closed"})
	h.advance(time.Second)
	h.wantNote(wire.ReconnectAttempt{Attempt: 1})
	h.wantDial() // straight to WebSocket this time
}

func TestInvalidHandshake(t *testing.T) {
	h := newHarness(t, testConfig())
	h.connectRoot(SocketOptions{})
	h.respond(h.wantFetch("GET"), 200, `0{"nosid":1}`)
	if e := note[wire.EngineError](h); e.Message != "server error" {
		t.Fatalf("error %q", e.Message)
	}
}

// Packets larger than maxPayload together are split over several POSTs.
func TestPollingMaxPayload(t *testing.T) {
	h := newHarness(t, testConfig())
	h.connectRoot(SocketOptions{})
	poll := h.openPolling(`{"sid":"SID1","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":30}`)
	post := h.wantFetch("POST")
	h.respond(post, 200, "ok")
	h.respond(poll, 200, `40{"sid":"S1"}`)
	h.wantNote(wire.Connected{Socket: "S1", SID: "SID1", Nsp: "/"})
	h.do(func(now clock.Instant) error {
		for _, d := range []string{`["aaaaaa"]`, `["bbbbbb"]`, `["cccccc"]`} {
			if _, err := h.m.Emit(now, "/", Emit{Data: []byte(d)}); err != nil {
				return err
			}
		}
		return nil
	})
	var bodies []string
	for range 3 {
		p := h.wantFetch("POST")
		bodies = append(bodies, string(p.Body))
		h.respond(p, 200, "ok")
		if len(h.fetches) == 1 { // only the poll left
			break
		}
	}

	// socket.ts _getWritablePackets: 1 + 11 + 2 + 11 = 25 <= 30, + 2 + 11 > 30
	want := `42["aaaaaa"]` + "\x1e" + `42["bbbbbb"]` + "|" + `42["cccccc"]`
	if strings.Join(bodies, "|") != want {
		t.Fatalf("POST bodies %q, want %q", bodies, want)
	}
	if len(bodies) < 2 {
		t.Fatalf("one POST of %d bytes despite maxPayload 20", len(bodies[0]))
	}
}

// A probe that dies after polling was paused for it: polling resumes (JS
// would stay paused until the ping timeout), and what was queued meanwhile
// goes out over polling.
func TestUpgradeProbeFailsWhilePaused(t *testing.T) {
	h := newHarness(t, testConfig())
	h.connectRoot(SocketOptions{})
	poll := h.openPolling(openJSON)
	h.respond(h.wantFetch("POST"), 200, "ok")
	d := h.wantDial()
	h.accept(d)
	h.wantFrames(d.Conn, "2probe")
	h.recv(d.Conn, "3probe") // paused: the poll is still out
	h.emit("/", ev(`["queued"]`))
	h.wantQuiet()
	h.closeWS(d.Conn, true)
	h.wantNoNote()
	h.respond(poll, 200, `40{"sid":"S1"}`)
	h.wantNote(wire.Connected{Socket: "S1", SID: "SID1", Nsp: "/"})
	if p := h.wantFetch("POST"); string(p.Body) != `42["queued"]` {
		t.Fatalf("POST %q", p.Body)
	}
	h.wantFetch("GET") // polling goes on
}

// Closing while the upgrade is in progress waits for it, then closes the
// new transport.
func TestCloseDuringUpgrade(t *testing.T) {
	h := newHarness(t, testConfig())
	h.connectRoot(SocketOptions{})
	poll := h.openPolling(openJSON)
	h.respond(h.wantFetch("POST"), 200, "ok")
	h.respond(poll, 200, `40{"sid":"S1"}`)
	h.wantNote(wire.Connected{Socket: "S1", SID: "SID1", Nsp: "/"})
	poll = h.wantFetch("GET")
	d := h.wantDial()
	h.accept(d)
	h.wantFrames(d.Conn, "2probe")
	h.recv(d.Conn, "3probe")
	h.do(func(now clock.Instant) error { h.m.Close(now); return nil })
	h.wantNote(wire.EngineClosed{Reason: "forced close"})
	h.wantNote(wire.SocketDisconnected{Nsp: "/", Socket: "S1", Reason: "forced close"})
	h.wantQuiet() // the engine waits for the upgrade to end
	h.respond(poll, 200, "6")
	h.wantFrames(d.Conn, "5")
	h.wantCloseConn(d.Conn)
	h.wantNoNote()
	if st := h.m.Stats(); st.Conns != 0 || st.Timers != 0 {
		t.Fatalf("left: %+v", st)
	}
}

// A server whose WebSocket speaks before the handshake, or names no sid,
// is a transport error; packets on a probe after its first are ignored.
func TestProbeIgnoresLaterPackets(t *testing.T) {
	h := newHarness(t, testConfig())
	h.connectRoot(SocketOptions{})
	poll := h.openPolling(openJSON)
	h.respond(h.wantFetch("POST"), 200, "ok")
	d := h.wantDial()
	h.accept(d)
	h.wantFrames(d.Conn, "2probe")
	h.recv(d.Conn, "3probe", `42["early"]`)
	h.wantNoNote()
	h.respond(poll, 200, "6")
	h.wantFrames(d.Conn, "5")
	h.wantNote(wire.EngineUpgraded{SID: "SID1", Transport: "websocket"})
}
