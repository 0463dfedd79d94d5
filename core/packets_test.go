package core

import (
	"testing"

	"github.com/socketcore/socketcore/core/wire"
)

// CONFORMANCE B, PROTOCOL-NOTES §10-11: a packet the server cannot accept
// closes the whole connection (client.ts onerror / close). Sockets of the
// session leave with the engine's reason, "forced close".
func TestBadPacketsCloseTheConnection(t *testing.T) {
	tests := []struct {
		name    string
		joined  bool     // connect "/" first
		packets []string // Engine.IO packets, as client.send takes them
	}{
		{"bad type before connect", false, []string{"4abc"}},
		{"bad type", true, []string{"4abc"}},
		{"empty Socket.IO packet", true, []string{"4"}},
		{"event payload not an array", true, []string{"42{}"}},
		{"event payload a string", true, []string{`42"x"`}},
		{"empty event", true, []string{"42[]"}},
		{"event name not a string", true, []string{`42[{},1]`}},
		{"reserved event name", true, []string{`42["disconnect"]`}},
		{"reserved event name escaped", true, []string{`42["\u0063onnect"]`}},
		{"junk where the ack id goes", true, []string{`42abc["x"]`}},
		{"ack id above 2^53-1", true, []string{`429007199254740992["x"]`}},
		{"not JSON", true, []string{`42["x"`}},
		{"connect payload not an object", true, []string{`40/custom,[1]`}},
		{"disconnect with payload", true, []string{`41{}`}},
		{"duplicate CONNECT", true, []string{"40"}},
		{"packet for a namespace not joined", true, []string{`42/custom,["x"]`}},
		{"packet for an unknown namespace", true, []string{`42/nope,["x"]`}},
		{"ack for a namespace not joined", true, []string{`43/custom,1[]`}},
		{"disconnect for a namespace not joined", true, []string{`41/custom,`}},
		{"event before connect", false, []string{`42["x"]`}},
		{"CONNECT_ERROR from the client", true, []string{`44{"message":"x"}`}},
		{"binary message unannounced", true, []string{"bAQID"}},
		{"text while attachments are due", true, []string{`451-["x",` + ph(0) + `]`, `42["y"]`}},
		{"placeholder out of range", true, []string{`451-["x",` + ph(1) + `]`, "bAQID"}},
		{"too many attachments", true, []string{`4511-["x"]`}},
		{"zero attachments", true, []string{`450-["x"]`}},
	}
	for _, tr := range transports {
		for _, tt := range tests {
			t.Run(tr+" "+tt.name, func(t *testing.T) {
				h := newHarness(t, testConfig())
				h.s.AddNamespace("/custom", false)
				c := h.connect(tr)
				var id wire.SocketID
				if tt.joined {
					id = c.join("/")
				}
				c.send(tt.packets...)
				h.wantSession(wire.SessionClosed{SID: c.sid, Reason: wire.ReasonForcedClose})
				if tt.joined {
					h.wantLeft(id, wire.ReasonForcedClose, string(id))
				}
				c.wantClosedConn()
				h.wantIdle()
				if h.s.Connected(id) {
					t.Fatal("socket still connected")
				}
			})
		}
	}
}

// Good packets that look odd are accepted (PROTOCOL-NOTES §10).
func TestOddButValidPackets(t *testing.T) {
	tests := []struct {
		packet string
		name   string // EventReceived.Name
		data   string
	}{
		{`42[1,"a"]`, "1", `[1,"a"]`},
		{`42[-0.5]`, "-0.5", `[-0.5]`},
		{`42["connected"]`, "connected", `["connected"]`},
		{`42["é😀",{"a":[null,true]}]`, "é😀", `["é😀",{"a":[null,true]}]`},
		{`42[ "x" ]`, "x", `[ "x" ]`},
	}
	for _, tr := range transports {
		for _, tt := range tests {
			t.Run(tr+" "+tt.packet, func(t *testing.T) {
				h := newHarness(t, testConfig())
				c := h.connect(tr)
				id := c.join("/")
				c.send(tt.packet)
				h.wantApp(wire.EventReceived{Socket: id, Name: tt.name, Data: []byte(tt.data)})
				h.wantIdle()
			})
		}
	}
}

// An ACK with an id the server never sent, or no id, is ignored.
func TestStrayAcks(t *testing.T) {
	h := newHarness(t, testConfig())
	c := h.connectWS()
	c.join("/")
	c.send(`433["x"]`, `43["x"]`, `461-5[`+ph(0)+`]`, "bAQID")
	h.wantIdle()
}

// A second CONNECT for a namespace whose first one the application is still
// deciding also closes the connection; the pending socket is dropped.
func TestDuplicatePendingConnect(t *testing.T) {
	h := newHarness(t, testConfig())
	h.s.AddNamespace("/admin", true)
	c := h.connectWS()
	c.send("40/admin,")
	req := app[wire.ConnectRequested](h)
	c.send("40/admin,")
	h.wantSession(wire.SessionClosed{SID: c.sid, Reason: wire.ReasonForcedClose})
	c.wantClosedConn()
	h.wantIdle()
	if err := h.s.AcceptConnect(h.now, req.Socket); err != nil {
		t.Fatal(err)
	}
	h.drain(false)
	h.wantIdle()
}
