package core

import (
	"slices"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// CONFORMANCE B: events with and without ack ids, the application's answer
// through Server.Ack.
func TestEvents(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			h := newHarness(t, testConfig())
			c := h.connect(tr)
			id := c.join("/")

			c.send(`42["message",1,"2",{"3":[true]}]`)
			h.wantApp(wire.EventReceived{Socket: id, Name: "message", Data: []byte(`["message",1,"2",{"3":[true]}]`)})
			h.wantIdle()

			c.send(`42456["message-with-ack",1,"2",{"3":[false]}]`)
			ev := app[wire.EventReceived](h)
			if ev.Ack == 0 || ev.Name != "message-with-ack" || string(ev.Data) != `["message-with-ack",1,"2",{"3":[false]}]` {
				t.Fatalf("got %s", describe(ev))
			}
			h.ack(ev.Ack, `[1,"2",{"3":[false]}]`)
			c.want(`43456[1,"2",{"3":[false]}]`)
			if err := h.s.Ack(ev.Ack, nil, nil); err != ErrUnknownAck {
				t.Fatalf("second Ack: %v", err)
			}

			// CONFORMANCE D: an empty ack
			c.send(`4212["message-with-ack"]`)
			ev = app[wire.EventReceived](h)
			h.ack(ev.Ack, "")
			c.want(`4312[]`)
			h.wantIdle()
		})
	}
}

func TestAckUnknownRef(t *testing.T) {
	h := newHarness(t, testConfig())
	if err := h.s.Ack(12345, nil, nil); err != ErrUnknownAck {
		t.Fatalf("Ack(unknown) = %v", err)
	}
	c := h.connectWS()
	id := c.join("/")
	c.send(`427["x"]`)
	ev := app[wire.EventReceived](h)
	c.send("41") // the socket leaves before the answer
	h.wantLeft(id, wire.ReasonClientNamespaceDisconnect, string(id))
	if err := h.s.Ack(ev.Ack, nil, nil); err != ErrUnknownAck {
		t.Fatalf("Ack after disconnect = %v", err)
	}
	h.wantIdle()
}

func TestEventsCustomNamespace(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			h := newHarness(t, testConfig())
			h.s.AddNamespace("/custom", false)
			c := h.connect(tr)
			root := c.join("/")
			custom := c.join("/custom")
			c.send(`42/custom,7["x",1]`, `42["y"]`)
			ev := app[wire.EventReceived](h)
			if ev.Socket != custom || ev.Name != "x" || ev.Ack == 0 {
				t.Fatalf("got %s", describe(ev))
			}
			h.wantApp(wire.EventReceived{Socket: root, Name: "y", Data: []byte(`["y"]`)})
			h.ack(ev.Ack, `["ok"]`)
			c.want(`43/custom,7["ok"]`)
			h.wantIdle()
		})
	}
}

// CONFORMANCE B: binary events are reassembled (452-[...] + 2 frames) and
// can be sent back; a binary ack answers with 462-<id>.
func TestBinaryEvents(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			h := newHarness(t, testConfig())
			c := h.connect(tr)
			id := c.join("/")
			atts := [][]byte{{1, 2, 3}, {4, 5, 6}}

			c.send(`452-["message",`+ph(0)+`,`+ph(1)+`]`, "bAQID", "bBAUG")
			h.wantApp(wire.EventReceived{Socket: id, Name: "message", Data: []byte(`["message",` + ph(0) + `,` + ph(1) + `]`), Attachments: atts})
			h.wantIdle()
			h.emit(Emit{Socket: id, Data: []byte(`["message-back",` + ph(0) + `,` + ph(1) + `]`), Attachments: atts})
			c.want(`452-["message-back",`+ph(0)+`,`+ph(1)+`]`, "bAQID", "bBAUG")

			c.send(`452-789["message-with-ack",`+ph(0)+`,`+ph(1)+`]`, "bAQID", "bBAUG")
			ev := app[wire.EventReceived](h)
			if ev.Ack == 0 || len(ev.Attachments) != 2 {
				t.Fatalf("got %s", describe(ev))
			}
			h.ack(ev.Ack, `[`+ph(0)+`,`+ph(1)+`]`, ev.Attachments...)
			c.want(`462-789[`+ph(0)+`,`+ph(1)+`]`, "bAQID", "bBAUG")
			h.wantIdle()
		})
	}
}

// CONFORMANCE D: a binary attachment over polling comes in the same POST.
func TestBinaryEventPollingOnePost(t *testing.T) {
	h := newHarness(t, testConfig())
	c := h.connectPolling()
	id := c.join("/")
	p := c.post(`451-["message",` + ph(0) + `]` + "\x1ebAQID")
	h.wantRespond(p, 200, "ok")
	ev := app[wire.EventReceived](h)
	if ev.Socket != id || len(ev.Attachments) != 1 || string(ev.Attachments[0]) != "\x01\x02\x03" {
		t.Fatalf("got %s", describe(ev))
	}
	h.emit(Emit{Socket: id, Data: []byte(`["message-back",` + ph(0) + `]`), Attachments: ev.Attachments})
	c.want(`451-["message-back",`+ph(0)+`]`, "bAQID")
}

// Emit: ack ids count per namespace from 0; the answer resolves the ref
// once; a late or repeated answer is ignored.
func TestEmitWithAck(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			h := newHarness(t, testConfig())
			c := h.connect(tr)
			id := c.join("/")
			r0 := h.emit(Emit{Socket: id, Data: []byte(`["q0"]`), WithAck: true})
			r1 := h.emit(Emit{Socket: id, Data: []byte(`["q1"]`), WithAck: true, Timeout: time.Minute})
			h.emit(Emit{Socket: id, Data: []byte(`["plain"]`)})
			if r0 == 0 || r1 == 0 || r0 == r1 {
				t.Fatalf("refs %d %d", r0, r1)
			}
			c.want(`420["q0"]`, `421["q1"]`, `42["plain"]`)
			h.wantIdle()
			c.send(`431["a1"]`)
			h.wantApp(wire.AckResolved{Ref: r1, Socket: id, Args: []byte(`["a1"]`)})
			h.wantDeadline(t0.Add(25 * time.Second)) // the ack timer is gone: only the heartbeat
			c.send(`431["again"]`, `430[]`)
			h.wantApp(wire.AckResolved{Ref: r0, Socket: id, Args: []byte(`[]`)})
			c.send(`430["again"]`)
			h.wantIdle()
		})
	}
}

// A binary answer to an emit.
func TestEmitBinaryAckReply(t *testing.T) {
	h := newHarness(t, testConfig())
	c := h.connectWS()
	id := c.join("/")
	ref := h.emit(Emit{Socket: id, Data: []byte(`["file",` + ph(0) + `]`), Attachments: [][]byte{{0xff}}, WithAck: true})
	c.want(`451-0["file",`+ph(0)+`]`, "b/w==")
	c.send(`461-0[`+ph(0)+`]`, "bAQID")
	h.wantApp(wire.AckResolved{Ref: ref, Socket: id, Args: []byte(`[` + ph(0) + `]`), Attachments: [][]byte{{1, 2, 3}}})
	h.wantIdle()
}

// An unanswered emit times out at exactly now+Timeout.
func TestEmitAckTimeout(t *testing.T) {
	h := newHarness(t, testConfig())
	c := h.connectWS()
	id := c.join("/")
	h.advance(100 * time.Millisecond)
	start := h.now
	ref := h.emit(Emit{Socket: id, Data: []byte(`["q"]`), WithAck: true, Timeout: 5 * time.Second})
	c.want(`420["q"]`)
	h.wantDeadline(start.Add(5 * time.Second))
	h.advance(5*time.Second - 1)
	h.wantIdle()
	h.advance(1)
	h.wantApp(wire.AckResolved{Ref: ref, Socket: id, Err: wire.AckTimedOut})
	h.wantIdle()
	h.wantDeadline(t0.Add(25 * time.Second)) // the heartbeat
	c.send(`430["late"]`)
	h.wantIdle()
}

// A socket that leaves resolves its pending acks as AckDisconnected, and
// their timers go.
func TestEmitAckDisconnect(t *testing.T) {
	tests := []struct {
		name   string
		leave  func(h *harness, c *tclient, id wire.SocketID)
		reason string
	}{
		{"client namespace disconnect", func(h *harness, c *tclient, id wire.SocketID) { c.send("41") }, wire.ReasonClientNamespaceDisconnect},
		{"server namespace disconnect", func(h *harness, c *tclient, id wire.SocketID) {
			h.do("Disconnect", func(now clock.Instant) error { return h.s.Disconnect(now, id, false) })
			c.want("41")
		}, wire.ReasonServerNamespaceDisconnect},
		{"transport close", func(h *harness, c *tclient, id wire.SocketID) {
			h.in(wire.Closed{Conn: c.ws})
			h.wantSession(wire.SessionClosed{SID: c.sid, Reason: wire.ReasonTransportClose})
		}, wire.ReasonTransportClose},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, testConfig())
			c := h.connectWS()
			id := c.join("/")
			r0 := h.emit(Emit{Socket: id, Data: []byte(`["a"]`), WithAck: true, Timeout: time.Second})
			r1 := h.emit(Emit{Socket: id, Data: []byte(`["b"]`), WithAck: true})
			c.want(`420["a"]`, `421["b"]`)
			tt.leave(h, c, id)
			h.wantLeft(id, tt.reason, string(id))
			h.wantApp(wire.AckResolved{Ref: r0, Socket: id, Err: wire.AckDisconnected})
			h.wantApp(wire.AckResolved{Ref: r1, Socket: id, Err: wire.AckDisconnected})
			h.wantIdle()
			h.advance(2 * time.Second) // no timeout later
			h.wantIdle()
		})
	}
}

func TestEmitErrorsAndVolatile(t *testing.T) {
	h := newHarness(t, testConfig())
	if _, err := h.s.Emit(h.now, Emit{Socket: "nope", Data: []byte(`["x"]`)}); err != ErrUnknownSocket {
		t.Fatalf("Emit to unknown socket: %v", err)
	}
	h.s.AddNamespace("/custom", false)
	c := h.connectPolling()
	root := c.join("/")
	custom := c.join("/custom")
	h.emit(Emit{Socket: root, Data: []byte(`["dropped"]`), Volatile: true})
	h.emit(Emit{Socket: custom, Data: []byte(`["kept"]`)})
	c.want(`42/custom,["kept"]`)
	c.poll()
	h.emit(Emit{Socket: root, Data: []byte(`["volatile"]`), Volatile: true})
	c.want(`42["volatile"]`)
	h.wantIdle()
}

// Ack ids are per namespace and shared by emits and broadcasts
// (namespace.ts _ids).
func TestAckIDsPerNamespace(t *testing.T) {
	h := newHarness(t, testConfig())
	h.s.AddNamespace("/custom", false)
	c := h.connectWS()
	root := c.join("/")
	custom := c.join("/custom")
	h.emit(Emit{Socket: root, Data: []byte(`["a"]`), WithAck: true})
	h.emit(Emit{Socket: custom, Data: []byte(`["b"]`), WithAck: true})
	h.broadcast(Broadcast{Nsp: "/", Data: []byte(`["c"]`), WithAck: true})
	h.broadcast(Broadcast{Nsp: "/custom", Data: []byte(`["d"]`), WithAck: true})
	h.emit(Emit{Socket: root, Data: []byte(`["e"]`), WithAck: true})
	c.want(`420["a"]`, `42/custom,0["b"]`)
	h.wantBroadcast([]wire.ConnID{c.ws}, `421["c"]`)
	h.wantBroadcast([]wire.ConnID{c.ws}, `42/custom,1["d"]`)
	c.want(`422["e"]`)
	h.wantIdle()
}

func TestRoomsOfSocket(t *testing.T) {
	h := newHarness(t, testConfig())
	c := h.connectWS()
	id := c.join("/")
	for _, err := range []error{
		h.s.Join(id, "a", "b", "a"),
		h.s.Leave(id, "b"),
		h.s.Leave(id, "never"),
		h.s.Join(id, "c"),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := h.s.Rooms(id); !slices.Equal(got, []string{string(id), "a", "c"}) {
		t.Fatalf("Rooms = %q", got)
	}
	if h.s.Join("nope", "a") != ErrUnknownSocket || h.s.Leave("nope", "a") != ErrUnknownSocket || h.s.Rooms("nope") != nil ||
		h.s.Connected("nope") || h.s.Transport("nope") != "" || h.s.SocketsIn("/nope", nil) != nil {
		t.Fatal("unknown socket/namespace not reported")
	}
}

// socket.io-parser accepts an event or ack without payload; the official
// server emits nothing for the event, and an ack without arguments resolves
// with none.
func TestPayloadlessEventAndAck(t *testing.T) {
	h := newHarness(t, testConfig())
	c := h.connectWS()
	id := c.join("/")
	c.send(`42`)
	c.send(`427`)
	h.wantIdle()
	ref := h.emit(Emit{Socket: id, Data: []byte(`["q"]`), WithAck: true})
	c.want(`420["q"]`)
	c.send(`430`)
	h.wantApp(wire.AckResolved{Ref: ref, Socket: id, Args: []byte(`[]`)})
	h.wantIdle()
}

// Unanswered acknowledgements are bounded per socket: the oldest is dropped.
func TestPendingAcksBounded(t *testing.T) {
	cfg := testConfig()
	cfg.MaxPendingAcks = 3
	h := newHarness(t, cfg)
	c := h.connectWS()
	c.join("/")
	var refs []wire.AckRef
	for i := 0; i < 5; i++ {
		c.send(`42` + string(rune('0'+i)) + `["x"]`)
		refs = append(refs, app[wire.EventReceived](h).Ack)
	}
	if st := h.s.Stats(); st.InAcks != 3 {
		t.Fatalf("pending acks %d, want 3", st.InAcks)
	}
	if err := h.s.Ack(refs[0], nil, nil); err != ErrUnknownAck {
		t.Fatalf("the oldest ack should be gone: %v", err)
	}
	h.ack(refs[4], `[4]`)
	c.want(`434[4]`)
	h.wantIdle()
}
