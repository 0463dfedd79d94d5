package core

import (
	"slices"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

var transports = []string{"websocket", "polling"}

// CONFORMANCE B: "40" → 40{"sid":<id>} with exactly one key; the socket id
// is not the Engine.IO sid; the socket is in its own room.
func TestConnectMain(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			h := newHarness(t, testConfig())
			c := h.connect(tr)
			id := c.join("/") // checks the reply and Connected
			h.wantIdle()
			if !h.s.Connected(id) || h.s.Transport(id) != tr {
				t.Fatalf("Connected %v, Transport %q", h.s.Connected(id), h.s.Transport(id))
			}
			if got := h.s.Rooms(id); !slices.Equal(got, []string{string(id)}) {
				t.Fatalf("Rooms = %q", got)
			}
			if got := h.s.SocketsIn("/", nil); !slices.Equal(got, []wire.SocketID{id}) {
				t.Fatalf("SocketsIn = %q", got)
			}
			c.wantQuiet()
		})
	}
}

// CONFORMANCE B: both "40/custom," and "40/custom" connect to /custom.
func TestConnectCustomBothForms(t *testing.T) {
	for _, tr := range transports {
		for _, pkt := range []string{"40/custom,", "40/custom"} {
			t.Run(tr+" "+pkt, func(t *testing.T) {
				h := newHarness(t, testConfig())
				if err := h.s.AddNamespace("/custom", false); err != nil {
					t.Fatal(err)
				}
				c := h.connect(tr)
				c.send(pkt)
				c.wantJoined("/custom")
				h.wantIdle()
			})
		}
	}
}

// CONFORMANCE D: two namespaces in one POST get different socket ids.
func TestConnectTwoNamespacesOnePost(t *testing.T) {
	h := newHarness(t, testConfig())
	h.s.AddNamespace("/custom", false)
	c := h.connectPolling()
	c.send("40", `40/custom,{"token":"abc"}`)
	c.poll()
	body := string(h.wantRespondTo(c.get).Body)
	c.get = 0
	a := app[wire.Connected](h)
	b := app[wire.Connected](h)
	if a.Nsp != "/" || b.Nsp != "/custom" || a.Socket == b.Socket || a.SID != c.sid || b.SID != c.sid {
		t.Fatalf("Connected %+v %+v", a, b)
	}
	want := `40{"sid":"` + string(a.Socket) + `"}` + "\x1e" + `40/custom,{"sid":"` + string(b.Socket) + `"}`
	if body != want {
		t.Fatalf("GET %q, want %q", body, want)
	}
	h.wantIdle()
}

// CONFORMANCE B: an unknown namespace gets exactly
// 44/random,{"message":"Invalid namespace"}; the session stays.
func TestConnectUnknownNamespace(t *testing.T) {
	for _, tr := range transports {
		for _, pkt := range []string{"40/random", "40/random,", `40/random,{"token":"1"}`} {
			t.Run(tr+" "+pkt, func(t *testing.T) {
				h := newHarness(t, testConfig())
				c := h.connect(tr)
				c.send(pkt)
				c.want(`44/random,{"message":"Invalid namespace"}`)
				h.wantIdle()
				c.join("/")
				h.wantIdle()
			})
		}
	}
}

// A gated namespace: ConnectRequested with the auth ({} when none), then the
// application's answer.
func TestConnectGatedAccept(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			h := newHarness(t, testConfig())
			h.s.AddNamespace("/admin", true)
			c := h.connect(tr)
			c.send(`40/admin,{"token":"123"}`)
			req := app[wire.ConnectRequested](h)
			if req.SID != c.sid || req.Nsp != "/admin" || string(req.Auth) != `{"token":"123"}` || !req.Known {
				t.Fatalf("got %s", describe(req))
			}
			h.wantIdle()
			c.wantQuiet()
			if h.s.Connected(req.Socket) {
				t.Fatal("connected before AcceptConnect")
			}
			if err := h.do("AcceptConnect", func(now clock.Instant) error { return h.s.AcceptConnect(now, req.Socket) }); err != nil {
				t.Fatal(err)
			}
			if id := c.wantJoined("/admin"); id != req.Socket {
				t.Fatalf("socket %s, announced %s", id, req.Socket)
			}
			h.wantIdle()
			// answering twice is a no-op
			h.do("AcceptConnect", func(now clock.Instant) error { return h.s.AcceptConnect(now, req.Socket) })
			h.do("RejectConnect", func(now clock.Instant) error { return h.s.RejectConnect(now, req.Socket, "x", nil) })
			h.wantIdle()
		})
	}
}

func TestConnectGatedAuthDefault(t *testing.T) {
	h := newHarness(t, testConfig())
	h.s.AddNamespace("/", true) // re-registering "/" changes its gate
	c := h.connectWS()
	c.send("40")
	req := app[wire.ConnectRequested](h)
	if string(req.Auth) != "{}" || req.Nsp != "/" {
		t.Fatalf("got %s", describe(req))
	}
}

// RejectConnect: CONNECT_ERROR {"message","data"}, data left out when empty.
func TestConnectGatedReject(t *testing.T) {
	tests := []struct {
		name    string
		message string
		data    string
		want    string
	}{
		{"with data", "not authorized", `{"code":42}`, `44/admin,{"message":"not authorized","data":{"code":42}}`},
		{"without data", "not authorized", "", `44/admin,{"message":"not authorized"}`},
		{"string data", "no", `"later"`, `44/admin,{"message":"no","data":"later"}`},
		{"message escaped", `say "no"` + "\n", "", `44/admin,{"message":"say \"no\"\n"}`},
	}
	for _, tr := range transports {
		for _, tt := range tests {
			t.Run(tr+" "+tt.name, func(t *testing.T) {
				h := newHarness(t, testConfig())
				h.s.AddNamespace("/admin", true)
				c := h.connect(tr)
				c.send("40/admin,")
				req := app[wire.ConnectRequested](h)
				var data []byte
				if tt.data != "" {
					data = []byte(tt.data)
				}
				h.do("RejectConnect", func(now clock.Instant) error { return h.s.RejectConnect(now, req.Socket, tt.message, data) })
				c.want(tt.want)
				h.wantIdle()
				if h.s.Connected(req.Socket) {
					t.Fatal("rejected socket connected")
				}
				// the client may try again
				c.send("40/admin,")
				req2 := app[wire.ConnectRequested](h)
				if req2.Socket == req.Socket {
					t.Fatal("socket id reused")
				}
			})
		}
	}
}

// The session closes while the application decides: the answer is ignored.
func TestConnectGatedSessionGone(t *testing.T) {
	h := newHarness(t, testConfig())
	h.s.AddNamespace("/admin", true)
	c := h.connectWS()
	c.send("40/admin,")
	req := app[wire.ConnectRequested](h)
	h.in(wire.Closed{Conn: c.ws})
	h.wantSession(wire.SessionClosed{SID: c.sid, Reason: wire.ReasonTransportClose})
	for _, f := range []func(clock.Instant) error{
		func(now clock.Instant) error { return h.s.AcceptConnect(now, req.Socket) },
		func(now clock.Instant) error { return h.s.RejectConnect(now, req.Socket, "no", nil) },
	} {
		if err := h.do("answer", f); err != nil {
			t.Fatal(err)
		}
	}
	h.wantIdle()
}

// DynamicNamespaces: an unknown namespace is announced (Known=false);
// accepting creates it, gated, so later connections go through the
// application too (Known=true).
func TestDynamicNamespaces(t *testing.T) {
	cfg := testConfig()
	cfg.DynamicNamespaces = true
	h := newHarness(t, cfg)
	c := h.connectWS()
	c.send("40/dyn-1,")
	req := app[wire.ConnectRequested](h)
	if req.Known || req.Nsp != "/dyn-1" || string(req.Auth) != "{}" {
		t.Fatalf("got %s", describe(req))
	}
	h.wantIdle()
	if _, _, err := h.s.Broadcast(h.now, Broadcast{Nsp: "/dyn-1", Data: []byte(`["x"]`)}); err != ErrUnknownNamespace {
		t.Fatalf("Broadcast to a namespace not yet created: %v", err)
	}
	h.do("AcceptConnect", func(now clock.Instant) error { return h.s.AcceptConnect(now, req.Socket) })
	id := c.wantJoined("/dyn-1")
	if got := h.s.SocketsIn("/dyn-1", nil); !slices.Equal(got, []wire.SocketID{id}) {
		t.Fatalf("SocketsIn = %q", got)
	}
	// now it exists
	c2 := h.connectWS()
	c2.send(`40/dyn-1,{"k":1}`)
	req = app[wire.ConnectRequested](h)
	if !req.Known || req.SID != c2.sid || string(req.Auth) != `{"k":1}` {
		t.Fatalf("got %s", describe(req))
	}
	h.do("AcceptConnect", func(now clock.Instant) error { return h.s.AcceptConnect(now, req.Socket) })
	c2.wantJoined("/dyn-1")
	// a rejected dynamic namespace is not created
	c.send("40/dyn-2,")
	req = app[wire.ConnectRequested](h)
	h.do("RejectConnect", func(now clock.Instant) error { return h.s.RejectConnect(now, req.Socket, "Invalid namespace", nil) })
	c.want(`44/dyn-2,{"message":"Invalid namespace"}`)
	c.send("40/dyn-2,")
	if req := app[wire.ConnectRequested](h); req.Known {
		t.Fatal("rejected namespace was created")
	}
	h.wantIdle()
}

func TestAddNamespace(t *testing.T) {
	h := newHarness(t, testConfig())
	for _, bad := range []string{"", "admin"} {
		if err := h.s.AddNamespace(bad, false); err == nil {
			t.Errorf("AddNamespace(%q) accepted", bad)
		}
	}
	if err := h.s.AddNamespace("/a", true); err != nil {
		t.Fatal(err)
	}
	if err := h.s.AddNamespace("/a", false); err != nil { // changes the gate
		t.Fatal(err)
	}
	c := h.connectWS()
	c.join("/a")
	h.wantIdle()
}

// CONFORMANCE B: a session that joins nothing is closed after
// connectTimeout (1000 ms in the suite), at exactly that instant.
func TestConnectTimeout(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			h := newHarness(t, testConfig())
			c := h.connect(tr)
			h.wantDeadline(t0.Add(time.Second))
			h.advance(time.Second - 1)
			h.wantIdle()
			h.advance(1)
			h.wantSession(wire.SessionClosed{SID: c.sid, Reason: wire.ReasonForcedClose})
			c.wantClosedConn()
			h.wantIdle()
		})
	}
}

// A refused CONNECT does not count as joining.
func TestConnectTimeoutAfterRefusal(t *testing.T) {
	h := newHarness(t, testConfig())
	c := h.connectWS()
	h.advance(500 * time.Millisecond)
	c.send("40/nope,")
	c.want(`44/nope,{"message":"Invalid namespace"}`)
	h.advance(500 * time.Millisecond)
	h.wantSession(wire.SessionClosed{SID: c.sid, Reason: wire.ReasonForcedClose})
	c.wantClosedConn()
	h.wantIdle()
}

// Joining any namespace stops the timer for good, even after leaving it.
func TestConnectTimeoutJoined(t *testing.T) {
	h := newHarness(t, testConfig())
	c := h.connectWS()
	h.advance(999 * time.Millisecond)
	id := c.join("/")
	c.send("41")
	h.wantLeft(id, wire.ReasonClientNamespaceDisconnect, string(id))
	h.wantDeadline(t0.Add(25 * time.Second)) // only the heartbeat
	h.advance(10 * time.Second)
	h.wantIdle()
}

// CONFORMANCE D: a namespace stays connected across the polling→WebSocket
// upgrade, and what was queued meanwhile arrives on the WebSocket.
func TestConnectAcrossUpgrade(t *testing.T) {
	h := newHarness(t, testConfig())
	c := h.connectPolling()
	id := c.join("/")
	ws := h.newConn()
	h.in(wire.HTTPRequest{Conn: ws, Method: "GET", Query: "EIO=4&transport=websocket&sid=" + string(c.sid), WebSocket: true})
	if o := h.popConn(ws); o != (wire.AcceptWebSocket{Conn: ws}) {
		t.Fatalf("got %s", describe(o))
	}
	h.in(wire.Recv{Conn: ws, Data: []byte("2probe")})
	c.poll()
	h.advance(100 * time.Millisecond) // the noop that ends polling
	c.want("6")
	h.emit(Emit{Socket: id, Data: []byte(`["during"]`)})
	h.in(wire.Recv{Conn: ws, Data: []byte("5")})
	h.wantSession(wire.SessionUpgraded{SID: c.sid, Conn: ws})
	c.ws = ws
	c.want("3probe", `42["during"]`)
	if h.s.Transport(id) != "websocket" {
		t.Fatalf("transport %q", h.s.Transport(id))
	}
	c.send(`42["after"]`)
	ev := app[wire.EventReceived](h)
	if ev.Socket != id || ev.Name != "after" {
		t.Fatalf("got %s", describe(ev))
	}
	h.wantIdle()
}
