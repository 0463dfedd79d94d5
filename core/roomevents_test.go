package core

import (
	"slices"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// memberLog renders the harness's RoomJoined/RoomLeft outputs in order
// ("+room@id", "-room@id"), then forgets them.
func (h *harness) memberLog() []string {
	var got []string
	for _, o := range h.memberEvents {
		switch o := o.(type) {
		case wire.RoomJoined:
			got = append(got, "+"+o.Room+"@"+string(o.Socket))
		case wire.RoomLeft:
			got = append(got, "-"+o.Room+"@"+string(o.Socket))
		}
	}
	h.memberEvents = nil
	return got
}

func roomEventsConfig() Config {
	c := testConfig()
	c.RoomEvents = true
	return c
}

func wantLog(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s: room events %q, want %q", what, got, want)
	}
}

// Every membership change of a socket is reported once, whoever asked:
// its own room at connection (before Connected), Join and Leave, the
// application's SocketsJoin/SocketsLeave, and every room at disconnection
// (before Disconnected), as Node's adapter emits join-room and leave-room.
// Joining a room twice or leaving one it is not in reports nothing.
func TestRoomEvents(t *testing.T) {
	h := newHarness(t, roomEventsConfig())
	h.s.AddNamespace("/custom", false)
	c1, c2 := h.connectWS(), h.connectPolling()
	id1 := c1.join("/")
	wantLog(t, "connect", h.memberLog(), "+"+string(id1)+"@"+string(id1))
	id2 := c2.join("/")
	cid := c1.join("/custom")
	wantLog(t, "connect", h.memberLog(), "+"+string(id2)+"@"+string(id2), "+"+string(cid)+"@"+string(cid))

	h.do("Join", func(clock.Instant) error { return h.s.Join(id1, "a", "b", "a") })
	h.do("Join again", func(clock.Instant) error { return h.s.Join(id1, "b") })
	h.do("Leave", func(clock.Instant) error { return h.s.Leave(id1, "a") })
	h.do("Leave again", func(clock.Instant) error { return h.s.Leave(id1, "a") })
	h.do("Leave never joined", func(clock.Instant) error { return h.s.Leave(id2, "zzz") })
	wantLog(t, "join/leave", h.memberLog(), "+a@"+string(id1), "+b@"+string(id1), "-a@"+string(id1))

	h.do("SocketsJoin", func(now clock.Instant) error {
		return h.s.SocketsJoin(now, Target{Nsp: "/", Except: []string{"b"}}, "c")
	})
	h.do("SocketsLeave", func(now clock.Instant) error {
		return h.s.SocketsLeave(now, Target{Nsp: "/"}, "b", "c")
	})
	wantLog(t, "socketsJoin/Leave", h.memberLog(), "+c@"+string(id2), "-b@"+string(id1), "-c@"+string(id2))

	// a client disconnect: every room, then Disconnected
	h.do("Join", func(clock.Instant) error { return h.s.Join(id2, "d") })
	h.memberLog()
	c2.send("41")
	wantLog(t, "client disconnect", h.memberLog(), "-"+string(id2)+"@"+string(id2), "-d@"+string(id2))
	h.wantLeft(id2, wire.ReasonClientNamespaceDisconnect, string(id2), "d")

	// the server closes a whole session: every socket of it leaves its rooms
	h.do("Disconnect", func(now clock.Instant) error { return h.s.Disconnect(now, id1, true) })
	wantLog(t, "session closed", h.memberLog(), "-"+string(id1)+"@"+string(id1), "-"+string(cid)+"@"+string(cid))
	if n := len(h.members); n != 0 {
		t.Fatalf("memberships left: %v", h.members)
	}
}

// Off (the default) the core says nothing about memberships.
func TestRoomEventsOff(t *testing.T) {
	h := newHarness(t, testConfig())
	c := h.connectWS()
	id := c.join("/")
	h.do("Join", func(clock.Instant) error { return h.s.Join(id, "r") })
	c.send("41")
	h.wantLeft(id, wire.ReasonClientNamespaceDisconnect, string(id), "r")
	if len(h.memberEvents) != 0 {
		t.Fatalf("room events with RoomEvents off: %v", h.memberEvents)
	}
}

// In a cluster the membership changes another server asks for are
// reported too, and they sit between the cluster's room events as Node's
// adapter orders them: create-room, join-room ... leave-room, delete-room.
func TestRoomEventsCluster(t *testing.T) {
	tc := newTestCluster(t, 2)
	a, b := tc.nodes[0], tc.nodes[1]
	b.s.cfg.RoomEvents = true // (the harness reads the flag from the config)
	b1 := b.connectWS()
	idb := b1.join("/")
	b.memberLog()
	b.roomEvents = nil

	a.do("SocketsJoin", func(now clock.Instant) error { return a.s.SocketsJoin(now, Target{Nsp: "/"}, "team") })
	tc.pump()
	a.do("SocketsLeave", func(now clock.Instant) error { return a.s.SocketsLeave(now, Target{Nsp: "/"}, "team") })
	tc.pump()
	wantLog(t, "remote socketsJoin/Leave", b.memberLog(), "+team@"+string(idb), "-team@"+string(idb))

	// the order against RoomCreated/RoomDeleted, on one server
	var order []string
	b.onOutput = func(o wire.Output) {
		switch o := o.(type) {
		case wire.RoomCreated:
			order = append(order, "create "+o.Room)
		case wire.RoomDeleted:
			order = append(order, "delete "+o.Room)
		case wire.RoomJoined:
			order = append(order, "join "+o.Room)
		case wire.RoomLeft:
			order = append(order, "leave "+o.Room)
		}
	}
	b.do("Join", func(clock.Instant) error { return b.s.Join(idb, "x") })
	b.do("Leave", func(clock.Instant) error { return b.s.Leave(idb, "x") })
	if want := []string{"create x", "join x", "leave x", "delete x"}; !slices.Equal(order, want) {
		t.Fatalf("order %q, want %q", order, want)
	}
}

// A recovered socket gets its rooms back before Connected, and each
// comes out as a RoomJoined (Node re-joins them in the socket's
// constructor, through the adapter).
func TestRoomEventsRecovery(t *testing.T) {
	cfg := recoveryConfig()
	cfg.RoomEvents = true
	h := newHarness(t, cfg)
	a := h.connectWS()
	id, pid, _ := a.connectRecovering("")
	h.do("Join", func(clock.Instant) error { return h.s.Join(id, "room") })
	h.broadcast(Broadcast{Nsp: "/", Data: []byte(`["news"]`)})
	offset := lastArg(t, string(h.popBroadcast([]wire.ConnID{a.ws}).Frames[0].Data))
	h.memberLog()
	h.in(wire.Closed{Conn: a.ws, Error: true})
	h.wantLeft(id, wire.ReasonTransportError)
	h.wantSession(wire.SessionClosed{SID: a.sid, Reason: "transport error"})
	wantLog(t, "transport lost", h.memberLog(), "-"+string(id)+"@"+string(id), "-room@"+string(id))

	h.advance(time.Second)
	back := h.connectWS()
	back.send("40" + resumePayload(pid, offset))
	if f := back.text(); len(f) < 3 || f[:3] != "40{" {
		t.Fatalf("CONNECT reply %q", f)
	}
	if c := app[wire.Connected](h); !c.Recovered || c.Socket != id {
		t.Fatalf("not recovered: %+v", c)
	}
	wantLog(t, "recovered", h.memberLog(), "+"+string(id)+"@"+string(id), "+room@"+string(id))
}
