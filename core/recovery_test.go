package core

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

func recoveryConfig() Config {
	c := testConfig()
	c.RecoveryWindow = 2 * time.Minute
	return c
}

// connectRecovering sends CONNECT to "/" with payload and reads the reply:
// the socket id, the private id and the Connected notification.
func (c *tclient) connectRecovering(payload string) (wire.SocketID, string, wire.Connected) {
	c.h.t.Helper()
	c.send("40" + payload)
	f := string(c.frame().Data)
	var m struct{ Sid, Pid string }
	if !strings.HasPrefix(f, "40{") || json.Unmarshal([]byte(f[2:]), &m) != nil || len(m.Sid) != 20 || len(m.Pid) != 20 {
		c.h.fatalf("CONNECT reply %q, want 40{sid,pid}", f)
	}
	return wire.SocketID(m.Sid), m.Pid, app[wire.Connected](c.h)
}

// text pops the next text frame of a WebSocket client.
func (c *tclient) text() string {
	c.h.t.Helper()
	return string(c.frame().Data)
}

// lastArg is the last argument of an event packet ("42[...]"): the offset.
func lastArg(t *testing.T, packet string) string {
	t.Helper()
	var args []any
	if err := json.Unmarshal([]byte(packet[strings.IndexByte(packet, '['):]), &args); err != nil || len(args) == 0 {
		t.Fatalf("packet %q: %v", packet, err)
	}
	s, _ := args[len(args)-1].(string)
	return s
}

// popBroadcast pops the next Broadcast, checking its connections only.
func (h *harness) popBroadcast(conns []wire.ConnID) wire.Broadcast {
	h.t.Helper()
	o := h.popWhere("Broadcast", func(o wire.Output) bool { _, ok := o.(wire.Broadcast); return ok })
	b := o.(wire.Broadcast)
	if !slices.Equal(b.Conns, conns) {
		h.fatalf("Broadcast to %v, want %v", b.Conns, conns)
	}
	return b
}

func resumePayload(pid, offset string) string {
	b, _ := json.Marshal(map[string]string{"pid": pid, "offset": offset})
	return string(b)
}

// A socket that lost its transport comes back within the window with its
// id, rooms and data, and gets every packet it missed that targeted it, in
// order, exactly once; the ones for others are not replayed.
func TestRecoveryRestoresSocketAndMissedPackets(t *testing.T) {
	h := newHarness(t, recoveryConfig())
	a, other := h.connectWS(), h.connectWS()
	id, pid, conn := a.connectRecovering("")
	if conn.Recovered {
		t.Fatal("a first connection is not a recovery")
	}
	otherID, _, _ := other.connectRecovering("")
	h.s.Join(id, "room")

	// offsets are appended to events without ack that are not volatile
	h.broadcast(Broadcast{Nsp: "/", Data: []byte(`["news",1]`)})
	b := h.popBroadcast([]wire.ConnID{a.ws, other.ws})
	first := string(b.Frames[0].Data)
	offset := lastArg(t, first)
	if !strings.HasPrefix(first, `42["news",1,"`) || offset == "" {
		t.Fatalf("broadcast %q has no offset", first)
	}
	h.emit(Emit{Socket: id, Data: []byte(`["asked"]`), WithAck: true})
	a.want(`420["asked"]`)
	h.broadcast(Broadcast{Nsp: "/", Data: []byte(`["vol"]`), Volatile: true})
	h.wantBroadcast([]wire.ConnID{a.ws, other.ws}, `42["vol"]`)

	// the transport breaks; the host attaches the socket's data
	h.in(wire.Closed{Conn: a.ws, Error: true})
	h.wantLeft(id, wire.ReasonTransportError)
	if r := app[wire.AckResolved](h); r.Err != wire.AckDisconnected {
		t.Fatalf("the pending ack: %+v", r) // acks are not recovered (nor in Node)
	}
	h.wantSession(wire.SessionClosed{SID: a.sid, Reason: "transport error"})
	if err := h.s.SetRecoveryData(id, []byte(`{"user":"ann"}`)); err != nil {
		t.Fatal(err)
	}

	// meanwhile: for it (its room, its own id, everyone), and not for it
	h.advance(time.Second)
	h.broadcast(Broadcast{Nsp: "/", Rooms: []string{"room"}, Data: []byte(`["to-room"]`)})
	h.emit(Emit{Socket: otherID, Data: []byte(`["to-other"]`)})
	if got := other.text(); !strings.HasPrefix(got, `42["to-other","`) {
		t.Fatalf("other got %q", got)
	}
	h.broadcast(Broadcast{Nsp: "/", Rooms: []string{string(id)}, Data: []byte(`["to-id",` + ph(0) + `]`), Attachments: [][]byte{{7}}})
	h.broadcast(Broadcast{Nsp: "/", Except: []string{"room"}, Data: []byte(`["not-room"]`)})
	h.popBroadcast([]wire.ConnID{other.ws})
	h.broadcast(Broadcast{Nsp: "/", Data: []byte(`["all"]`)})
	h.popBroadcast([]wire.ConnID{other.ws})
	h.wantIdle()

	// back within the window, on a new session, with the last offset it saw
	// what it missed comes first, then the CONNECT reply (as from Node)
	back := h.connectWS()
	back.send("40" + resumePayload(pid, offset))
	got := []string{back.text(), back.text()}
	att := back.frame()
	got = append(got, back.text())
	if !strings.HasPrefix(got[0], `42["to-room","`) || !strings.HasPrefix(got[1], `451-["to-id",`+ph(0)+`,"`) || !strings.HasPrefix(got[2], `42["all","`) ||
		!att.Binary || len(att.Data) != 1 {
		t.Fatalf("missed packets %q", got)
	}
	var reply struct{ Sid, Pid string }
	if f := back.text(); !strings.HasPrefix(f, "40{") || json.Unmarshal([]byte(f[2:]), &reply) != nil || reply.Sid != string(id) || reply.Pid != pid {
		t.Fatalf("CONNECT reply %q, want sid %s pid %s", f, id, pid)
	}
	if rconn := app[wire.Connected](h); rconn.Socket != id || !rconn.Recovered || string(rconn.Data) != `{"user":"ann"}` {
		t.Fatalf("recovered %+v, want %s with data", rconn, id)
	}
	back.wantQuiet()
	if rooms := h.s.Rooms(id); !slices.Equal(rooms, []string{string(id), "room"}) {
		t.Fatalf("rooms after recovery %q", rooms)
	}
	// it is a live socket again: broadcasts reach it
	h.broadcast(Broadcast{Nsp: "/", Rooms: []string{"room"}, Data: []byte(`["again"]`)})
	if f := h.popBroadcast([]wire.ConnID{back.ws}); !strings.HasPrefix(string(f.Frames[0].Data), `42["again","`) {
		t.Fatalf("after recovery %q", f.Frames[0].Data)
	}

	// the saved session is consumed: the same pid again gets a fresh socket
	dup := h.connectWS()
	did, dpid, dconn := dup.connectRecovering(resumePayload(pid, offset))
	if did == id || dpid == pid || dconn.Recovered {
		t.Fatalf("a replayed pid recovered again: %s %s %+v", did, dpid, dconn)
	}
}

// What does not recover: a forged pid, an unknown offset, another
// namespace's pid, a socket that left on purpose, a session past the
// window — each gets a fresh socket.
func TestRecoveryRefusals(t *testing.T) {
	type setup struct {
		h      *harness
		id     wire.SocketID
		pid    string
		offset string
	}
	// prepare: a socket with a pid, one kept packet, and its departure
	prepare := func(t *testing.T, leave func(h *harness, c *tclient, id wire.SocketID)) setup {
		h := newHarness(t, recoveryConfig())
		h.s.AddNamespace("/custom", false)
		c := h.connectWS()
		id, pid, _ := c.connectRecovering("")
		h.broadcast(Broadcast{Nsp: "/", Data: []byte(`["x"]`)})
		offset := lastArg(t, string(h.popBroadcast([]wire.ConnID{c.ws}).Frames[0].Data))
		leave(h, c, id)
		return setup{h, id, pid, offset}
	}
	dropped := func(h *harness, c *tclient, id wire.SocketID) {
		h.in(wire.Closed{Conn: c.ws, Error: false})
		h.wantLeft(id, wire.ReasonTransportClose)
		h.wantSession(wire.SessionClosed{SID: c.sid, Reason: "transport close"})
	}
	fresh := func(t *testing.T, s setup, payload string) {
		t.Helper()
		c := s.h.connectWS()
		id, _, conn := c.connectRecovering(payload)
		if id == s.id || conn.Recovered {
			t.Fatalf("recovered with %s", payload)
		}
	}
	t.Run("forged pid", func(t *testing.T) {
		s := prepare(t, dropped)
		fresh(t, s, resumePayload("AAAAAAAAAAAAAAAAAAAA", s.offset))
	})
	t.Run("unknown offset", func(t *testing.T) {
		s := prepare(t, dropped)
		fresh(t, s, resumePayload(s.pid, "nope"))
	})
	t.Run("no offset", func(t *testing.T) {
		s := prepare(t, dropped)
		fresh(t, s, `{"pid":"`+s.pid+`"}`)
		fresh(t, s, `{"pid":"`+s.pid+`","offset":3}`)
	})
	t.Run("other namespace", func(t *testing.T) {
		s := prepare(t, dropped)
		c := s.h.connectWS()
		c.send(`40/custom,` + resumePayload(s.pid, s.offset))
		f := c.text()
		if strings.Contains(f, string(s.id)) {
			t.Fatalf("recovered into another namespace: %q", f)
		}
		s.h.popApp()
	})
	t.Run("left on purpose", func(t *testing.T) {
		s := prepare(t, func(h *harness, c *tclient, id wire.SocketID) {
			c.send("41")
			h.wantLeft(id, wire.ReasonClientNamespaceDisconnect)
		})
		if err := s.h.s.SetRecoveryData(s.id, []byte(`{}`)); err != ErrUnknownSocket {
			t.Fatalf("a socket that left on purpose was saved: %v", err)
		}
		fresh(t, s, resumePayload(s.pid, s.offset))
	})
	t.Run("past the window", func(t *testing.T) {
		s := prepare(t, dropped)
		s.h.advance(2*time.Minute + time.Millisecond)
		if len(s.h.s.rec.sessions) != 0 || len(s.h.s.rec.packets) != 0 {
			t.Fatalf("kept past the window: %d sessions, %d packets", len(s.h.s.rec.sessions), len(s.h.s.rec.packets))
		}
		fresh(t, s, resumePayload(s.pid, s.offset))
	})
}

// The forged attempt does not consume the real owner's session.
func TestRecoveryForgedAttemptLeavesOwner(t *testing.T) {
	h := newHarness(t, recoveryConfig())
	c := h.connectWS()
	id, pid, _ := c.connectRecovering("")
	h.broadcast(Broadcast{Nsp: "/", Data: []byte(`["x"]`)})
	offset := lastArg(t, string(h.popBroadcast([]wire.ConnID{c.ws}).Frames[0].Data))
	h.in(wire.Closed{Conn: c.ws, Error: true})
	h.wantLeft(id, wire.ReasonTransportError)
	h.wantSession(wire.SessionClosed{SID: c.sid, Reason: "transport error"})
	forger := h.connectWS()
	if fid, _, fconn := forger.connectRecovering(resumePayload(pid+"x", offset)); fid == id || fconn.Recovered {
		t.Fatal("a forged pid recovered")
	}
	owner := h.connectWS()
	if rid, _, rconn := owner.connectRecovering(resumePayload(pid, offset)); rid != id || !rconn.Recovered {
		t.Fatalf("the owner did not recover: %s %+v", rid, rconn)
	}
}

// A gated namespace: the host decides (ConnectRequested.Recovered with the
// data); once accepted the socket gets its CONNECT, then what it missed.
func TestRecoveryThroughGatedNamespace(t *testing.T) {
	h := newHarness(t, recoveryConfig())
	h.s.AddNamespace("/g", true)
	c := h.connectWS()
	c.send("40/g,")
	req := app[wire.ConnectRequested](h)
	h.do("Accept", func(now clock.Instant) error { return h.s.AcceptConnect(now, req.Socket) })
	f := c.text()
	var m struct{ Sid, Pid string }
	json.Unmarshal([]byte(f[len("40/g,"):]), &m)
	app[wire.Connected](h)
	h.broadcast(Broadcast{Nsp: "/g", Data: []byte(`["x"]`)})
	offset := lastArg(t, string(h.popBroadcast([]wire.ConnID{c.ws}).Frames[0].Data))
	h.in(wire.Closed{Conn: c.ws, Error: true})
	h.wantLeft(req.Socket, wire.ReasonTransportError)
	h.wantSession(wire.SessionClosed{SID: c.sid, Reason: "transport error"})
	h.s.SetRecoveryData(req.Socket, []byte(`{"n":1}`))
	h.broadcast(Broadcast{Nsp: "/g", Data: []byte(`["missed"]`)})

	back := h.connectWS()
	back.send(`40/g,` + resumePayload(m.Pid, offset))
	again := app[wire.ConnectRequested](h)
	if again.Socket != req.Socket || !again.Recovered || string(again.Data) != `{"n":1}` {
		t.Fatalf("ConnectRequested %+v", again)
	}
	back.wantQuiet() // nothing before the application's decision
	h.do("Accept", func(now clock.Instant) error { return h.s.AcceptConnect(now, again.Socket) })
	if f := back.text(); !strings.HasPrefix(f, `42/g,["missed","`) {
		t.Fatalf("missed %q", f)
	}
	if f := back.text(); !strings.Contains(f, string(req.Socket)) {
		t.Fatalf("CONNECT %q", f)
	}
	if conn := app[wire.Connected](h); !conn.Recovered || string(conn.Data) != `{"n":1}` {
		t.Fatalf("Connected %+v", conn)
	}
}

// The kept packets are bounded: past RecoveryMaxPackets the oldest offsets
// are gone, and a client that last saw one of them gets a fresh socket.
func TestRecoveryBounds(t *testing.T) {
	cfg := recoveryConfig()
	cfg.RecoveryMaxPackets = 3
	h := newHarness(t, cfg)
	c := h.connectWS()
	id, pid, _ := c.connectRecovering("")
	h.broadcast(Broadcast{Nsp: "/", Data: []byte(`["x"]`)})
	old := lastArg(t, string(h.popBroadcast([]wire.ConnID{c.ws}).Frames[0].Data))
	h.in(wire.Closed{Conn: c.ws, Error: true})
	h.wantLeft(id, wire.ReasonTransportError)
	h.wantSession(wire.SessionClosed{SID: c.sid, Reason: "transport error"})
	for i := 0; i < 3; i++ {
		h.broadcast(Broadcast{Nsp: "/", Data: []byte(`["y"]`)})
	}
	back := h.connectWS()
	if rid, _, rconn := back.connectRecovering(resumePayload(pid, old)); rid == id || rconn.Recovered {
		t.Fatal("recovered from an offset that was dropped")
	}
	if len(h.s.rec.packets) != 3 {
		t.Fatalf("%d packets kept, bound 3", len(h.s.rec.packets))
	}
	// and in time: after the window nothing is kept, no timer is left
	h.in(wire.Closed{Conn: back.ws, Error: false})
	h.advance(3 * time.Minute)
	if len(h.s.rec.packets) != 0 || len(h.s.rec.sessions) != 0 || h.s.Stats().Timers != 0 {
		t.Fatalf("after the window: %d packets, %d sessions, %d timers", len(h.s.rec.packets), len(h.s.rec.sessions), h.s.Stats().Timers)
	}
}

// Without a window nothing changes on the wire: no pid, no offsets.
func TestRecoveryOff(t *testing.T) {
	h := newHarness(t, testConfig())
	c := h.connectWS()
	c.join("/")
	h.broadcast(Broadcast{Nsp: "/", Data: []byte(`["x"]`)})
	h.wantBroadcast([]wire.ConnID{c.ws}, `42["x"]`)
}

// A polling client that stopped polling while broadcasts overflowed its
// buffer (engine: "slow consumer") is recoverable like a broken transport,
// late in the server's life too: its session is saved at the time of the
// close, not at the machine's start.
func TestRecoveryAfterSlowConsumer(t *testing.T) {
	cfg := recoveryConfig()
	cfg.MaxBufferedBytes = 4096
	h := newHarness(t, cfg)
	h.advance(10 * time.Minute) // far past the window, counted from the start
	a := h.connectPolling()
	a.send("40")
	a.poll()
	var m struct{ Sid, Pid string }
	if f := string(h.wantRespondTo(a.get).Body); !strings.HasPrefix(f, "40{") || json.Unmarshal([]byte(f[2:]), &m) != nil || m.Pid == "" {
		t.Fatalf("CONNECT reply %q", f)
	}
	a.get = 0
	id, pid := wire.SocketID(m.Sid), m.Pid
	app[wire.Connected](h)
	// it gets one broadcast (its last offset), then stops polling while
	// broadcasts pile up past the buffer
	h.broadcast(Broadcast{Nsp: "/", Data: []byte(`["first"]`)})
	a.poll()
	first := string(h.wantRespondTo(a.get).Body)
	a.get = 0
	offset := lastArg(t, first)
	for i := 0; i < 10; i++ {
		h.broadcast(Broadcast{Nsp: "/", Data: []byte(`["news","` + strings.Repeat("x", 1000) + `"]`)})
	}
	h.wantLeft(id, "slow consumer")
	h.wantSession(wire.SessionClosed{SID: a.sid, Reason: "slow consumer"})
	h.advance(time.Second)
	back := h.connectWS()
	back.send("40" + resumePayload(pid, offset))
	for i := 0; i < 10; i++ { // what it missed first, then the CONNECT reply
		if f := back.text(); !strings.HasPrefix(f, `42["news","x`) {
			t.Fatalf("missed packet %d: %.40q", i, f)
		}
	}
	var reply struct{ Sid, Pid string }
	if f := back.text(); !strings.HasPrefix(f, "40{") || json.Unmarshal([]byte(f[2:]), &reply) != nil {
		t.Fatalf("CONNECT reply %q", f)
	}
	rid, rpid, rconn := wire.SocketID(reply.Sid), reply.Pid, app[wire.Connected](h)
	if rid != id || rpid != pid || !rconn.Recovered {
		t.Fatalf("after a slow consumer's close: %s %s %+v, want %s recovered", rid, rpid, rconn, id)
	}
}
