package engine

import (
	"testing"
	"time"

	"github.com/socketcore/socketcore/core/wire"
)

// CONFORMANCE A.10, PROTOCOL-NOTES §6: 2probe/3probe, a pending GET and a
// GET issued after the probe get "6", "5" completes the upgrade, then the
// WebSocket carries everything and polling with the sid is refused.
func TestUpgrade(t *testing.T) {
	h := newEchoHarness(t)
	sid := h.handshake()
	g := h.get(sid)
	ws := h.request("GET", wsQuery(sid), true, "")
	h.wantAccept(ws)
	h.wantPending(g)
	h.wantIdle()
	h.recv(ws, "2probe")
	h.wantFrames(ws, txt("3probe"))
	h.wantPayload(g, "6")
	h.wantIdle()
	// the suite: a GET after the probe returns "6" (after 100 ms, as Node)
	g = h.get(sid)
	h.wantPending(g)
	h.advance(100 * time.Millisecond)
	h.wantPayload(g, "6")
	h.wantIdle()
	h.recv(ws, "5")
	h.wantNote(wire.SessionUpgraded{SID: sid, Conn: ws})
	h.wantIdle()
	if s := h.e.Session(sid); s.Transport() != "websocket" || s.WebSocket() != ws {
		t.Fatalf("after upgrade: %q %d", s.Transport(), s.WebSocket())
	}
	h.recv(ws, "4hello")
	h.wantMessage(sid, "hello", false)
	h.wantFrames(ws, txt("4hello"))
	h.recvBinary(ws, []byte{1, 2, 3, 4})
	h.wantMessage(sid, "\x01\x02\x03\x04", true)
	h.wantFrames(ws, bin(1, 2, 3, 4))
	h.wantIdle()

	// polling with the sid: 400 "Bad request" (transport mismatch)
	h.wantError(h.get(sid), ErrBadRequest)
	h.wantError(h.post(sid, "4x"), ErrBadRequest)
	// a second WebSocket with the sid is accepted, then closed
	ws2 := h.request("GET", wsQuery(sid), true, "")
	h.wantAccept(ws2)
	h.wantCloseConn(ws2)
	h.wantIdle()
	// the session is untouched
	h.recv(ws, "4still")
	h.wantMessage(sid, "still", false)
	h.wantFrames(ws, txt("4still"))
	h.wantIdle()
}

// "5" while a GET is parked: the GET ends with "6".
func TestUpgradeGetPendingAtUpgrade(t *testing.T) {
	h := newEchoHarness(t)
	sid := h.handshake()
	ws := h.request("GET", wsQuery(sid), true, "")
	h.wantAccept(ws)
	h.recv(ws, "2probe")
	h.wantFrames(ws, txt("3probe"))
	h.wantIdle()
	g := h.get(sid)
	h.advance(100 * time.Millisecond)
	h.wantPayload(g, "6")
	g = h.get(sid) // a client that insists
	h.advance(100 * time.Millisecond)
	h.wantPayload(g, "6")
	g = h.get(sid)
	h.recv(ws, "5")
	// A client pauses polling before "5", so this GET belongs after the
	// upgrade: refused as one (the suite's "same sid after upgrade" race).
	h.wantError(g, ErrBadRequest)
	h.wantNote(wire.SessionUpgraded{SID: sid, Conn: ws})
	h.wantIdle()
}

// Packets queued while the upgrade was under way go out on the WebSocket.
func TestUpgradeFlushesBuffer(t *testing.T) {
	h := newHarness(t, suiteConfig(), nil)
	sid := h.handshake()
	ws := h.request("GET", wsQuery(sid), true, "")
	h.wantAccept(ws)
	h.recv(ws, "2probe")
	h.wantFrames(ws, txt("3probe"))
	s := h.e.Session(sid)
	h.e.Send(s, []wire.Frame{txt("4a"), bin(9)}, false, false)
	h.drain(false)
	h.wantIdle()
	h.recv(ws, "5")
	h.wantNote(wire.SessionUpgraded{SID: sid, Conn: ws})
	h.wantFrames(ws, txt("4a"), bin(9))
	h.wantIdle()
}

// Packets queued before the probe still go to polling while it is the
// transport; a GET during the upgrade gets them instead of "6".
func TestUpgradeGetGetsBufferedPackets(t *testing.T) {
	h := newHarness(t, suiteConfig(), nil)
	sid := h.handshake()
	ws := h.request("GET", wsQuery(sid), true, "")
	h.wantAccept(ws)
	h.recv(ws, "2probe")
	h.wantFrames(ws, txt("3probe"))
	h.e.Send(h.e.Session(sid), []wire.Frame{txt("4a")}, false, false)
	h.drain(false)
	h.wantPayload(h.get(sid), "4a")
	h.wantIdle()
}

// The heartbeat carries on across the upgrade.
func TestUpgradeHeartbeat(t *testing.T) {
	h := newEchoHarness(t)
	sid := h.handshake()
	h.advance(100 * time.Millisecond)
	ws := h.upgrade(sid)
	h.wantIdle()
	h.wantDeadline(t0.Add(interval))
	h.advance(200 * time.Millisecond)
	h.wantFrames(ws, txt("2"))
	h.recv(ws, "3")
	h.advance(interval + timeout)
	h.wantFrames(ws, txt("2"))
	h.wantCloseConn(ws)
	h.wantClosed(sid, wire.ReasonPingTimeout)
	h.wantIdle()
}

// A probe that never sends "5" is closed after UpgradeTimeout; the session
// stays on polling and can upgrade again.
func TestUpgradeTimeout(t *testing.T) {
	cfg := suiteConfig()
	cfg.PingInterval = time.Hour // keep the heartbeat out of the way
	cfg.UpgradeTimeout = 2 * time.Second
	h := newHarness(t, cfg, nil)
	sid := h.handshake()
	h.advance(time.Second)
	ws := h.request("GET", wsQuery(sid), true, "")
	h.wantAccept(ws)
	h.wantDeadline(h.now.Add(2 * time.Second))
	h.recv(ws, "2probe")
	h.wantFrames(ws, txt("3probe"))
	h.advance(2*time.Second - 1)
	h.wantIdle()
	h.advance(1)
	h.wantCloseConn(ws)
	h.wantIdle()
	h.wantDeadline(t0.Add(time.Hour))
	// polling works, and no "6" is forced on it any more
	g := h.get(sid)
	h.wantPending(g)
	h.wantIdle()
	h.in(wire.Closed{Conn: g}) // (this closes the session)
	h.wantClosed(sid, wire.ReasonTransportError)
}

func TestUpgradeAgainAfterTimeout(t *testing.T) {
	cfg := suiteConfig()
	cfg.PingInterval = time.Hour
	h := newHarness(t, cfg, nil)
	sid := h.handshake()
	ws := h.request("GET", wsQuery(sid), true, "")
	h.wantAccept(ws)
	h.advance(cfg.UpgradeTimeout)
	h.wantCloseConn(ws)
	h.in(wire.Closed{Conn: ws}) // the host reports the close it made: ignored
	h.wantIdle()
	h.upgrade(sid)
	h.wantIdle()
}

// Anything but "2probe" then "5" on the probe closes the probe only.
func TestUpgradeBadProbe(t *testing.T) {
	tests := []struct {
		name    string
		frames  []string
		replies int // "3probe" frames before the close
	}{
		{"message before probe", []string{"4hello"}, 0},
		{"wrong probe data", []string{"2probX"}, 0},
		{"upgrade before probe", []string{"5"}, 0},
		{"probe twice", []string{"2probe", "2probe"}, 1},
		{"pong", []string{"3probe"}, 0},
		{"malformed", []string{"abc"}, 0},
		{"message after probe", []string{"2probe", "4hello"}, 1},
		{"close on probe", []string{"1"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := suiteConfig()
			cfg.PingInterval = time.Hour
			h := newHarness(t, cfg, nil)
			sid := h.handshake()
			ws := h.request("GET", wsQuery(sid), true, "")
			h.wantAccept(ws)
			for _, f := range tt.frames {
				h.recv(ws, f)
			}
			for range tt.replies {
				h.wantFrames(ws, txt("3probe"))
			}
			h.wantCloseConn(ws)
			h.wantIdle()
			if s := h.e.Session(sid); s == nil || !s.Open() || s.Transport() != "polling" {
				t.Fatal("the session did not survive a bad probe")
			}
			h.wantDeadline(t0.Add(time.Hour)) // the upgrade timer is gone
			h.upgrade(sid)
		})
	}
}

// The probe's connection fails: the session stays on polling.
func TestUpgradeProbeClosed(t *testing.T) {
	cfg := suiteConfig()
	cfg.PingInterval = time.Hour
	h := newHarness(t, cfg, nil)
	sid := h.handshake()
	ws := h.request("GET", wsQuery(sid), true, "")
	h.wantAccept(ws)
	h.recv(ws, "2probe")
	h.wantFrames(ws, txt("3probe"))
	h.in(wire.Closed{Conn: ws, Error: true})
	h.wantIdle()
	h.wantDeadline(t0.Add(time.Hour))
	g := h.get(sid)
	h.wantPending(g) // no "6": no upgrade under way
	h.wantIdle()
}

// A second WebSocket while a probe is under way is closed (server.ts
// onWebSocket "transport has already been trying to upgrade").
func TestUpgradeSecondProbe(t *testing.T) {
	h := newEchoHarness(t)
	sid := h.handshake()
	ws := h.request("GET", wsQuery(sid), true, "")
	h.wantAccept(ws)
	ws2 := h.request("GET", wsQuery(sid), true, "")
	h.wantAccept(ws2)
	h.wantCloseConn(ws2)
	h.wantIdle()
	h.recv(ws, "2probe")
	h.wantFrames(ws, txt("3probe"))
	h.recv(ws, "5")
	h.wantNote(wire.SessionUpgraded{SID: sid, Conn: ws})
}

// The session closes during the upgrade: the probe is closed too.
func TestUpgradeSessionClosed(t *testing.T) {
	h := newEchoHarness(t)
	sid := h.handshake()
	ws := h.request("GET", wsQuery(sid), true, "")
	h.wantAccept(ws)
	h.recv(ws, "2probe")
	h.wantFrames(ws, txt("3probe"))
	h.advance(interval + timeout)
	h.wantCloseConn(ws)
	h.wantClosed(sid, wire.ReasonPingTimeout)
	h.wantIdle()
	h.wantDeadline(0)
	h.recv(ws, "5") // too late: ignored
	h.wantIdle()
}

// A WebSocket-only session cannot be "upgraded", and polling with its sid
// is a transport mismatch.
func TestWebSocketOnlySession(t *testing.T) {
	h := newEchoHarness(t)
	sid, ws := h.wsHandshake()
	h.wantError(h.get(sid), ErrBadRequest)
	ws2 := h.request("GET", wsQuery(sid), true, "")
	h.wantAccept(ws2)
	h.wantCloseConn(ws2)
	h.wantIdle()
	h.recv(ws, "4x")
	h.wantMessage(sid, "x", false)
	h.wantFrames(ws, txt("4x"))
}

// Requests that name the wrong transport for a session (server.ts verify and
// onWebSocket): a plain request asking for websocket, an upgrade asking for
// polling.
func TestTransportMismatch(t *testing.T) {
	h := newEchoHarness(t)
	sid, _ := h.wsHandshake()
	c := h.request("GET", "EIO=4&transport=websocket&sid="+string(sid), false, "")
	h.wantError(c, ErrBadRequest)
	c = h.request("POST", "EIO=4&transport=websocket&sid="+string(sid), false, "4x")
	h.wantError(c, ErrBadRequest)
	h.wantIdle()

	psid := h.handshake()
	c = h.request("GET", "EIO=4&transport=polling&sid="+string(psid), true, "")
	h.wantAccept(c)
	h.wantCloseConn(c)
	h.wantIdle()
	if s := h.e.Session(psid); s.Transport() != "polling" || !s.Open() {
		t.Fatal("polling session disturbed")
	}
	// and it can still upgrade properly
	h.upgrade(psid)
}
