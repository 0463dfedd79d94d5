package core

import (
	"testing"
	"time"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

func (h *harness) disconnect(id wire.SocketID, close bool) {
	h.t.Helper()
	if err := h.do("Disconnect", func(now clock.Instant) error { return h.s.Disconnect(now, id, close) }); err != nil {
		h.fatalf("Disconnect(%s, %v): %v", id, close, err)
	}
}

// Disconnect(false): the client gets DISCONNECT, the socket leaves with
// "server namespace disconnect" (rooms listed before it leaves them), and
// the session stays for the other namespaces.
func TestDisconnectNamespace(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			h := newHarness(t, testConfig())
			h.s.AddNamespace("/custom", false)
			c := h.connect(tr)
			root := c.join("/")
			custom := c.join("/custom")
			h.s.Join(custom, "room")
			h.disconnect(custom, false)
			c.want("41/custom,")
			h.wantLeft(custom, wire.ReasonServerNamespaceDisconnect, string(custom), "room")
			h.disconnect(root, false)
			c.want("41")
			h.wantLeft(root, wire.ReasonServerNamespaceDisconnect, string(root))
			h.wantIdle()
			if h.s.Connected(root) || h.s.Disconnect(h.now, root, false) != ErrUnknownSocket {
				t.Fatal("socket still there")
			}
			if got := h.s.SocketsIn("/custom", []string{"room"}); len(got) != 0 {
				t.Fatalf("room still has %q", got)
			}
			// the session lives on: the client may connect again
			c.join("/")
			h.wantIdle()
		})
	}
}

// Disconnect(true): every socket of the session gets DISCONNECT, then the
// Engine.IO session closes.
func TestDisconnectCloseSession(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			h := newHarness(t, testConfig())
			h.s.AddNamespace("/custom", false)
			c := h.connect(tr)
			other := h.connect(tr)
			otherID := other.join("/")
			root := c.join("/")
			custom := c.join("/custom")
			h.disconnect(custom, true)
			h.wantLeft(root, wire.ReasonServerNamespaceDisconnect, string(root))
			h.wantLeft(custom, wire.ReasonServerNamespaceDisconnect, string(custom))
			h.wantSession(wire.SessionClosed{SID: c.sid, Reason: wire.ReasonForcedClose})
			c.wantClosedConn("41", "41/custom,")
			h.wantIdle()
			other.wantQuiet()
			if !h.s.Connected(otherID) {
				t.Fatal("another session's socket was disconnected")
			}
		})
	}
}

// CONFORMANCE B: "41" from the client: no reply, "client namespace
// disconnect", and the session stays open (the next frame is a ping).
func TestDisconnectFromClient(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			h := newHarness(t, suiteConfig())
			c := h.connect(tr)
			id := c.join("/")
			c.send("41")
			h.wantLeft(id, wire.ReasonClientNamespaceDisconnect, string(id))
			h.wantIdle()
			h.advance(300 * time.Millisecond)
			c.want("2")
			c.send("3")
			h.wantIdle()
		})
	}
}

// CONFORMANCE B: "41/custom" then an event on "/" is still served.
func TestDisconnectCustomThenEvent(t *testing.T) {
	h := newHarness(t, testConfig())
	h.s.AddNamespace("/custom", false)
	c := h.connectWS()
	root := c.join("/")
	custom := c.join("/custom")
	c.send("41/custom")
	h.wantLeft(custom, wire.ReasonClientNamespaceDisconnect, string(custom))
	c.send(`42["message","x"]`)
	h.wantApp(wire.EventReceived{Socket: root, Name: "message", Data: []byte(`["message","x"]`)})
	h.wantIdle()
}

// The ways a session ends, and the reason its sockets get.
func TestDisconnectReasons(t *testing.T) {
	tests := []struct {
		name   string
		tr     string
		end    func(h *harness, c *tclient)
		reason string
	}{
		{"ping timeout", "websocket", func(h *harness, c *tclient) {
			h.advance(500 * time.Millisecond)
			c.want("2")
			h.popConn(c.ws) // CloseConn
		}, wire.ReasonPingTimeout},
		{"ping timeout polling", "polling", func(h *harness, c *tclient) {
			h.advance(500 * time.Millisecond)
		}, wire.ReasonPingTimeout},
		{"websocket closed", "websocket", func(h *harness, c *tclient) { h.in(wire.Closed{Conn: c.ws}) }, wire.ReasonTransportClose},
		{"websocket failed", "websocket", func(h *harness, c *tclient) { h.in(wire.Closed{Conn: c.ws, Error: true}) }, wire.ReasonTransportError},
		{"GET aborted", "polling", func(h *harness, c *tclient) { c.poll(); h.in(wire.Closed{Conn: c.get}) }, wire.ReasonTransportError},
		{"engine close from websocket", "websocket", func(h *harness, c *tclient) {
			c.send("1")
			h.popConn(c.ws) // CloseConn
		}, wire.ReasonTransportClose},
		{"engine close from polling", "polling", func(h *harness, c *tclient) {
			c.poll()
			c.send("1")
			c.want("6")
		}, wire.ReasonTransportClose},
		{"engine parse error", "websocket", func(h *harness, c *tclient) {
			c.send("x")
			h.popConn(c.ws) // CloseConn
		}, wire.ReasonParseError},
		{"engine parse error polling", "polling", func(h *harness, c *tclient) {
			h.wantRespond(c.post("3\x1e9"), 200, "ok") // see engine TestPollingMalformed
		}, wire.ReasonParseError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, suiteConfig())
			h.s.AddNamespace("/custom", false)
			c := h.connect(tt.tr)
			a := c.join("/")
			b := c.join("/custom")
			tt.end(h, c)
			h.wantSession(wire.SessionClosed{SID: c.sid, Reason: tt.reason})
			h.wantLeft(a, tt.reason, string(a))
			h.wantLeft(b, tt.reason, string(b))
			h.wantIdle()
			if h.s.Connected(a) || h.s.Connected(b) {
				t.Fatal("sockets still connected")
			}
		})
	}
}

// Close: every socket leaves with "server shutting down", every session
// closes and every client is told.
func TestClose(t *testing.T) {
	h := newHarness(t, testConfig())
	h.s.AddNamespace("/custom", false)
	ws := h.connectWS()
	p := h.connectPolling()
	idle := h.connectWS() // joined nothing
	ids := map[wire.SocketID]bool{ws.join("/"): true, ws.join("/custom"): true, p.join("/"): true}
	pc := p.join("/custom")
	ids[pc] = true
	ref := h.emit(Emit{Socket: pc, Data: []byte(`["q"]`), WithAck: true})
	p.want(`42/custom,0["q"]`)
	p.poll()
	h.do("Close", func(now clock.Instant) error { h.s.Close(now); return nil })
	for range 4 {
		d := app[wire.Disconnecting](h)
		if !ids[d.Socket] || d.Reason != wire.ReasonServerShuttingDown {
			t.Fatalf("got %s", describe(d))
		}
		h.wantApp(wire.Disconnected{Socket: d.Socket, Reason: wire.ReasonServerShuttingDown})
		if d.Socket == pc {
			h.wantApp(wire.AckResolved{Ref: ref, Socket: pc, Err: wire.AckDisconnected})
		}
		delete(ids, d.Socket)
	}
	for range 3 {
		o := h.popWhere("SessionClosed", isSession).(wire.SessionClosed)
		if o.Reason != wire.ReasonServerShuttingDown {
			t.Fatalf("got %s", describe(o))
		}
	}
	p.want("1")
	p.wantGone()
	ws.wantClosedConn()
	idle.wantClosedConn()
	h.wantIdle()
	h.wantDeadline(0)
	if len(h.requests) != 0 || len(h.ws) != 0 {
		t.Fatalf("left open: requests %v, websockets %v", h.requests, h.ws)
	}
}
