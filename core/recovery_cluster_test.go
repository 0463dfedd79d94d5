package core

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// fakeStore is a recovery store with the semantics adapter/redis gives
// (wire.RecoveryState): one log per namespace, live snapshots and saved
// sessions by pid, conditional writes, lookups that consume.
type fakeStore struct {
	log   map[string][]wire.RecoveryPacket
	live  map[string]wire.RecoverySession
	saved map[string]wire.RecoverySession
	// lookups the store has not answered yet (a test answers them)
	lookups []wire.RecoveryLookup
}

func newFakeStore() *fakeStore {
	return &fakeStore{log: map[string][]wire.RecoveryPacket{}, live: map[string]wire.RecoverySession{},
		saved: map[string]wire.RecoverySession{}}
}

// take performs the store outputs of h (recording, snapshots) and queues
// its lookups; the other outputs stay queued.
func (st *fakeStore) take(h *harness) {
	keep := h.out[:0]
	for _, o := range h.out {
		switch o := o.(type) {
		case wire.RecoveryRecord:
			st.log[o.Nsp] = append(st.log[o.Nsp], o.Packet)
		case wire.RecoverySession:
			st.write(o)
		case wire.RecoveryLookup:
			st.lookups = append(st.lookups, o)
		case wire.ClusterPublish:
			if m := o.Msg; m.Type == wire.ClusterBroadcast && m.Offset != "" {
				st.log[m.Nsp] = append(st.log[m.Nsp], wire.RecoveryPacket{Offset: m.Offset, Rooms: m.Rooms,
					Except: m.Except, Data: m.Data, Attachments: m.Attachments})
			}
			keep = append(keep, o)
		default:
			keep = append(keep, o)
		}
	}
	h.out = keep
}

func (st *fakeStore) write(s wire.RecoverySession) {
	cur, ok := st.live[s.PID]
	mine := ok && cur.Node == s.Node
	switch s.State {
	case wire.RecoveryLive:
		if !ok || mine {
			st.live[s.PID] = s
		}
	case wire.RecoveryResumed:
		st.live[s.PID] = s
		delete(st.saved, s.PID)
	case wire.RecoverySaved:
		if mine {
			delete(st.live, s.PID)
			st.saved[s.PID] = s
		}
	case wire.RecoveryGone:
		if mine {
			delete(st.live, s.PID)
		}
	case wire.RecoveryUnused:
		st.saved[s.PID] = s
	}
}

// answer performs the oldest lookup.
func (st *fakeStore) answer(t *testing.T) wire.RecoveryFound {
	t.Helper()
	if len(st.lookups) == 0 {
		t.Fatal("no lookup to answer")
	}
	l := st.lookups[0]
	st.lookups = st.lookups[1:]
	f := wire.RecoveryFound{Ref: l.Ref}
	if s, ok := st.saved[l.PID]; ok {
		delete(st.saved, l.PID)
		f.Found, f.Session = true, s
	} else if s, ok := st.live[l.PID]; ok {
		delete(st.live, l.PID)
		f.Found, f.Session = true, s
	}
	if f.Found && f.Session.Node != l.Node {
		for i, p := range st.log[l.Nsp] {
			if p.Offset == l.Offset {
				f.OffsetFound, f.Packets = true, slices.Clone(st.log[l.Nsp][i+1:])
			}
		}
	}
	return f
}

func storeConfig(seed byte) Config {
	c := recoveryConfig()
	c.Cluster = true
	c.RecoveryStore = true
	c.Seed[0], c.Seed[8], c.Seed[16] = seed, seed, seed
	return c
}

// storeCluster is two servers sharing a bus and a store, in virtual time.
type storeCluster struct {
	t     *testing.T
	nodes []*harness
	st    *fakeStore
	down  []bool // a dead server: it neither publishes nor receives
}

func newStoreCluster(t *testing.T, n int) *storeCluster {
	sc := &storeCluster{t: t, st: newFakeStore(), down: make([]bool, n)}
	for i := range n {
		sc.nodes = append(sc.nodes, newHarness(t, storeConfig(byte('A'+i))))
	}
	return sc
}

// pump performs every server's store outputs and moves its publications.
func (sc *storeCluster) pump() {
	sc.t.Helper()
	for round := 0; ; round++ {
		if round > 100 {
			sc.t.Fatal("cluster messages never settle")
		}
		moved := false
		for i, h := range sc.nodes {
			if sc.down[i] {
				continue
			}
			sc.st.take(h)
			for {
				o := h.popClusterPublish()
				if o == nil {
					break
				}
				moved = true
				for j, other := range sc.nodes {
					if j != i && !sc.down[j] {
						other.in(wire.ClusterReceived{Msg: o.Msg})
					}
				}
				if o.CountServers {
					h.in(wire.ClusterServers{RequestID: o.Msg.RequestID, Servers: len(sc.nodes)})
				}
			}
		}
		if !moved {
			return
		}
	}
}

// takeRecovery removes the recovery outputs of h, returning them.
func takeRecovery(h *harness) []wire.Output {
	var out []wire.Output
	keep := h.out[:0]
	for _, o := range h.out {
		switch o.(type) {
		case wire.RecoveryRecord, wire.RecoverySession, wire.RecoveryLookup:
			out = append(out, o)
		default:
			keep = append(keep, o)
		}
	}
	h.out = keep
	return out
}

// Offsets are named where a packet originates: the publication carries
// the name, the other servers deliver and keep the packet under it; what
// is not published (socket emits, local broadcasts) is recorded. Another
// server's broadcast without a name (Node, the emitter) gets a local one
// and is not recorded.
func TestStoreOffsetsAreClusterWide(t *testing.T) {
	sc := newStoreCluster(t, 2)
	a, b := sc.nodes[0], sc.nodes[1]
	ca, cb := a.connectWS(), b.connectWS()
	ida, _, _ := ca.connectRecovering("")
	cb.connectRecovering("")
	takeRecovery(a)
	takeRecovery(b)

	a.broadcast(Broadcast{Nsp: "/", Data: []byte(`["news",1]`)})
	p := a.popClusterPublish()
	if p == nil || p.Msg.Offset == "" || string(p.Msg.Data) != `["news",1]` {
		t.Fatalf("publication %+v, want a named broadcast", p)
	}
	off := p.Msg.Offset
	if !strings.HasPrefix(off, a.s.rec.prefix) {
		t.Fatalf("offset %q is not named by its server (%s)", off, a.s.rec.prefix)
	}
	if got := nextText(ca); got != `42["news",1,"`+off+`"]` {
		t.Fatalf("got %q", got)
	}
	if r := takeRecovery(a); len(r) != 0 {
		t.Fatalf("a published broadcast is recorded through its publication, not %v", r)
	}
	b.in(wire.ClusterReceived{Msg: p.Msg})
	if got := nextText(cb); got != `42["news",1,"`+off+`"]` {
		t.Fatalf("got %q", got)
	}
	if r := takeRecovery(b); len(r) != 0 {
		t.Fatalf("another server's broadcast was recorded here: %v", r)
	}
	if _, ok := b.s.rec.offsets[off]; !ok {
		t.Fatal("the receiving server did not keep it under its name")
	}

	// not published: recorded
	a.emit(Emit{Socket: ida, Data: []byte(`["private"]`)})
	f := nextText(ca)
	r := takeRecovery(a)
	rec, ok := r[0].(wire.RecoveryRecord)
	if len(r) != 1 || !ok || rec.Nsp != "/" || string(rec.Packet.Data) != `["private"]` ||
		!slices.Equal(rec.Packet.Rooms, []string{string(ida)}) || f != `42["private","`+rec.Packet.Offset+`"]` {
		t.Fatalf("socket emit %q recorded as %v", f, r)
	}
	a.broadcast(Broadcast{Nsp: "/", Data: []byte(`["local"]`), Local: true})
	nextText(ca)
	if r := takeRecovery(a); len(r) != 1 || a.popClusterPublish() != nil {
		t.Fatalf("local broadcast: %v", r)
	}
	// neither: acks, volatile
	a.broadcast(Broadcast{Nsp: "/", Data: []byte(`["vol"]`), Volatile: true})
	if p := a.popClusterPublish(); p == nil || p.Msg.Offset != "" {
		t.Fatalf("volatile publication %+v", p)
	}

	// a Node server's broadcast: local offset, not recorded
	b.in(wire.ClusterReceived{Msg: wire.ClusterMessage{Type: wire.ClusterBroadcast, Nsp: "/", Data: []byte(`["node"]`)}})
	if got := lastArg(t, nextText(cb)); !strings.HasPrefix(got, b.s.rec.prefix) {
		t.Fatalf("unnamed broadcast delivered with offset %q, want one of %s", got, b.s.rec.prefix)
	}
	if r := takeRecovery(b); len(r) != 0 {
		t.Fatalf("recorded: %v", r)
	}
}

// Every connected socket has a snapshot (coalesced per drain); a
// recoverable departure saves it, another removes it.
func TestStoreSnapshots(t *testing.T) {
	h := newHarness(t, storeConfig('A'))
	c := h.connectWS()
	id, pid, _ := c.connectRecovering("")
	if !strings.HasPrefix(pid, h.s.rec.prefix) || len(pid) != 20 {
		t.Fatalf("pid %q does not start with the node id %s", pid, h.s.rec.prefix)
	}
	want := func(what string, st wire.RecoveryState, rooms ...string) {
		t.Helper()
		r := takeRecovery(h)
		if len(r) != 1 {
			t.Fatalf("%s: %d recovery outputs %v, want one snapshot", what, len(r), r)
		}
		s := r[0].(wire.RecoverySession)
		if s.State != st || s.PID != pid || s.Socket != id || s.Nsp != "/" || s.Node != h.s.rec.prefix || !slices.Equal(s.Rooms, rooms) {
			t.Fatalf("%s: %+v, want %v with rooms %q", what, s, st, rooms)
		}
	}
	want("connect", wire.RecoveryLive, string(id))
	if err := h.do("Join", func(clock.Instant) error { return h.s.Join(id, "a", "b") }); err != nil {
		t.Fatal(err)
	}
	want("two joins, one drain", wire.RecoveryLive, string(id), "a", "b")
	h.do("Leave", func(clock.Instant) error { return h.s.Leave(id, "a") })
	want("leave", wire.RecoveryLive, string(id), "b")
	h.do("Join again", func(clock.Instant) error { return h.s.Join(id, "b") })
	if r := takeRecovery(h); len(r) != 0 {
		t.Fatalf("no change, yet %v", r)
	}

	// a join and the departure in one drain: the snapshot first, then the save
	h.s.Join(id, "c") // no drain before the close
	h.in(wire.Closed{Conn: c.ws, Error: true})
	r := takeRecovery(h)
	if len(r) != 2 || r[0].(wire.RecoverySession).State != wire.RecoveryLive || r[1].(wire.RecoverySession).State != wire.RecoverySaved ||
		!slices.Equal(r[1].(wire.RecoverySession).Rooms, []string{string(id), "b", "c"}) {
		t.Fatalf("departure: %v", r)
	}
	if h.s.SetRecoveryData(id, []byte(`{}`)) == nil {
		t.Fatal("with a store, sessions are not kept in memory")
	}
	h.out = nil

	d := h.connectWS()
	did, dpid, _ := d.connectRecovering("")
	takeRecovery(h)
	d.send("41")
	r = takeRecovery(h)
	if len(r) != 1 || r[0].(wire.RecoverySession).State != wire.RecoveryGone || r[0].(wire.RecoverySession).PID != dpid ||
		r[0].(wire.RecoverySession).Socket != did {
		t.Fatalf("namespace disconnect: %v", r)
	}
}

// next pops the next frame to c, sent to it alone or in a broadcast.
func next(c *tclient) wire.Frame {
	c.h.t.Helper()
	h := c.h
	for i, o := range h.out {
		if b, ok := o.(wire.Broadcast); ok {
			if j := slices.Index(b.Conns, c.ws); j >= 0 {
				f := b.Frames[0]
				if len(b.Frames) > 1 {
					// the rest goes as a broadcast of its own to c
					h.out = slices.Insert(h.out, i+1, wire.Output(wire.Broadcast{Conns: []wire.ConnID{c.ws}, Frames: b.Frames[1:]}))
				}
				b.Conns = slices.Delete(slices.Clone(b.Conns), j, j+1)
				if len(b.Conns) == 0 {
					h.out = slices.Delete(h.out, i, i+1)
				} else {
					h.out[i] = b
				}
				return f
			}
			continue
		}
		if oc, ok := outConn(o); ok && oc == c.ws {
			return c.frame()
		}
	}
	h.fatalf("no frame for conn %d; queued:%s", c.ws, h.dump())
	return wire.Frame{}
}

func nextText(c *tclient) string { c.h.t.Helper(); return string(next(c).Data) }

// readConnect reads a recovery's CONNECT answer (after the missed
// packets): the socket id and pid.
func readConnect(t *testing.T, c *tclient) (wire.SocketID, string) {
	t.Helper()
	f := nextText(c)
	var m struct{ Sid, Pid string }
	if !strings.HasPrefix(f, "40{") || json.Unmarshal([]byte(f[2:]), &m) != nil {
		t.Fatalf("CONNECT answer %q", f)
	}
	return wire.SocketID(m.Sid), m.Pid
}

// A server dies with a socket on it; its client comes back on another
// server and gets its socket (id, rooms, data) and every packet it missed,
// from every server, in order, exactly once — the missed ones before the
// CONNECT answer. The server that held it is told to let go of the id.
func TestStoreRecoveryOnAnotherServer(t *testing.T) {
	sc := newStoreCluster(t, 2)
	a, b := sc.nodes[0], sc.nodes[1]
	ca := a.connectWS()
	id, pid, _ := ca.connectRecovering("")
	a.do("Join", func(clock.Instant) error { return a.s.Join(id, "team") })
	sc.pump()
	// the host adds socket.data to the snapshot it writes
	s := sc.st.live[pid]
	s.Data = []byte(`{"user":"ann"}`)
	sc.st.live[pid] = s

	cb := b.connectWS()
	bid, _, _ := cb.connectRecovering("")
	sc.pump()
	b.broadcast(Broadcast{Nsp: "/", Rooms: []string{"team"}, Data: []byte(`["seen",0]`)})
	sc.pump()
	offset := lastArg(t, nextText(ca))

	// a dies: no save, its snapshot stays
	sc.down[0] = true
	b.broadcast(Broadcast{Nsp: "/", Rooms: []string{"team"}, Data: []byte(`["m1"]`)})
	b.broadcast(Broadcast{Nsp: "/", Rooms: []string{"other"}, Data: []byte(`["not-for-it"]`)})
	b.broadcast(Broadcast{Nsp: "/", Rooms: []string{string(id)}, Data: []byte(`["m2",` + ph(0) + `]`), Attachments: [][]byte{{7}}})
	b.emit(Emit{Socket: bid, Data: []byte(`["b's own"]`)})
	b.broadcast(Broadcast{Nsp: "/", Except: []string{"team"}, Data: []byte(`["not-team"]`)})
	b.broadcast(Broadcast{Nsp: "/", Data: []byte(`["m3"]`)})
	sc.pump()
	b.out = nil

	back := b.connectWS()
	back.send("40" + resumePayload(pid, offset))
	r := takeRecovery(b)
	lk, ok := r[0].(wire.RecoveryLookup)
	if len(r) != 1 || !ok || lk.PID != pid || lk.Offset != offset || lk.Nsp != "/" || lk.Node != b.s.rec.prefix {
		t.Fatalf("lookup %v", r)
	}
	back.wantQuiet() // it waits for the store
	if st := b.s.Stats(); st.Pending != 1 {
		t.Fatalf("a waiting socket is pending: %+v", st)
	}
	sc.st.lookups = []wire.RecoveryLookup{lk}
	found := sc.st.answer(t)
	if !found.Found || !found.OffsetFound {
		t.Fatalf("store answer %+v", found)
	}
	b.in(found)
	want := []string{`42["m1","`, `451-["m2",` + ph(0) + `,"`, `42["m3","`}
	for i, w := range want {
		if got := nextText(back); !strings.HasPrefix(got, w) {
			t.Fatalf("missed packet %d: %q, want %s...", i, got, w)
		}
		if i == 1 {
			if f := back.frame(); !f.Binary || len(f.Data) != 1 || f.Data[0] != 7 {
				t.Fatalf("attachment %+v", f)
			}
		}
	}
	if rid, rpid := readConnect(t, back); rid != id || rpid != pid {
		t.Fatalf("recovered as %s/%s, want %s/%s", rid, rpid, id, pid)
	}
	back.wantQuiet()
	p := b.popClusterPublish()
	if p == nil || p.Msg.Type != wire.ClusterDisconnectSockets || !slices.Equal(p.Msg.Rooms, []string{string(id)}) {
		t.Fatalf("the other servers are not told to let go of %s: %+v", id, p)
	}
	r = takeRecovery(b)
	conn := app[wire.Connected](b)
	if conn.Socket != id || !conn.Recovered || string(conn.Data) != `{"user":"ann"}` {
		t.Fatalf("Connected %+v", conn)
	}
	if rooms := b.s.Rooms(id); !slices.Equal(rooms, []string{string(id), "team"}) {
		t.Fatalf("rooms %q", rooms)
	}
	if len(r) != 1 || r[0].(wire.RecoverySession).State != wire.RecoveryResumed || r[0].(wire.RecoverySession).Node != b.s.rec.prefix {
		t.Fatalf("after recovery %v, want a Resumed snapshot held by b", r)
	}
	sc.st.write(r[0].(wire.RecoverySession))
	if st := b.s.Stats(); st.Pending != 0 {
		t.Fatalf("stats %+v", st)
	}

	// it is a live socket of b now
	b.broadcast(Broadcast{Nsp: "/", Rooms: []string{"team"}, Data: []byte(`["after"]`)})
	if f := b.popBroadcast([]wire.ConnID{back.ws}); !strings.HasPrefix(string(f.Frames[0].Data), `42["after","`) {
		t.Fatalf("after recovery %q", f.Frames[0].Data)
	}
	// a late write of the dead server (its stale snapshot) does not
	// replace b's
	sc.st.write(wire.RecoverySession{State: wire.RecoveryLive, PID: pid, Socket: id, Node: a.s.rec.prefix})
	sc.st.write(wire.RecoverySession{State: wire.RecoveryGone, PID: pid, Socket: id, Node: a.s.rec.prefix})
	if s := sc.st.live[pid]; s.Node != b.s.rec.prefix {
		t.Fatalf("store holds %+v", s)
	}
}

// What does not recover gets a fresh socket: no session under the pid
// (forged, expired, consumed), an offset the log does not have, another
// namespace's pid, a store that does not answer.
func TestStoreRecoveryRefusals(t *testing.T) {
	setup := func(t *testing.T) (*storeCluster, wire.SocketID, string, string) {
		sc := newStoreCluster(t, 2)
		a := sc.nodes[0]
		c := a.connectWS()
		id, pid, _ := c.connectRecovering("")
		a.broadcast(Broadcast{Nsp: "/", Data: []byte(`["x"]`)})
		sc.pump()
		offset := lastArg(t, nextText(c))
		sc.down[0] = true
		return sc, id, pid, offset
	}
	fresh := func(t *testing.T, sc *storeCluster, id wire.SocketID, payload string, answer func(wire.RecoveryLookup) wire.RecoveryFound) {
		t.Helper()
		b := sc.nodes[1]
		c := b.connectWS()
		c.send("40" + payload)
		if r := takeRecovery(b); len(r) == 1 {
			if lk, ok := r[0].(wire.RecoveryLookup); ok && answer != nil {
				b.in(answer(lk))
			}
		}
		got, pid := readConnect(t, c)
		if got == id || !strings.HasPrefix(pid, b.s.rec.prefix) {
			t.Fatalf("recovered (%s, pid %s) with %s", got, pid, payload)
		}
		if conn := app[wire.Connected](b); conn.Recovered || conn.Socket != got {
			t.Fatalf("Connected %+v", conn)
		}
	}
	storeAnswer := func(sc *storeCluster) func(wire.RecoveryLookup) wire.RecoveryFound {
		return func(lk wire.RecoveryLookup) wire.RecoveryFound {
			sc.st.lookups = append(sc.st.lookups, lk)
			return sc.st.answer(t)
		}
	}
	t.Run("forged pid", func(t *testing.T) {
		sc, id, _, offset := setup(t)
		fresh(t, sc, id, resumePayload("AAAAAAAAAAAAAAAAAAAA", offset), storeAnswer(sc))
	})
	t.Run("expired", func(t *testing.T) {
		sc, id, pid, offset := setup(t)
		delete(sc.st.live, pid) // the store's TTL
		fresh(t, sc, id, resumePayload(pid, offset), storeAnswer(sc))
	})
	t.Run("consumed", func(t *testing.T) {
		sc, id, pid, offset := setup(t)
		sc.st.lookups = append(sc.st.lookups, wire.RecoveryLookup{PID: pid})
		sc.st.answer(t)
		fresh(t, sc, id, resumePayload(pid, offset), storeAnswer(sc))
	})
	t.Run("unknown offset", func(t *testing.T) {
		sc, id, pid, _ := setup(t)
		fresh(t, sc, id, resumePayload(pid, "nope"), storeAnswer(sc))
	})
	t.Run("another pid's session", func(t *testing.T) {
		sc, id, pid, offset := setup(t)
		fresh(t, sc, id, resumePayload(pid, offset), func(lk wire.RecoveryLookup) wire.RecoveryFound {
			f := storeAnswer(sc)(lk)
			f.Session.PID = "BBBBBBBBBBBBBBBBBBBB" // a store that answers with someone else's
			return f
		})
	})
	t.Run("another namespace", func(t *testing.T) {
		sc, id, pid, offset := setup(t)
		sc.nodes[1].s.AddNamespace("/custom", false)
		b := sc.nodes[1]
		c := b.connectWS()
		c.send("40/custom," + resumePayload(pid, offset))
		lk := takeRecovery(b)[0].(wire.RecoveryLookup)
		sc.st.lookups = append(sc.st.lookups, lk)
		b.in(sc.st.answer(t))
		if f := nextText(c); !strings.HasPrefix(f, "40/custom,{") || strings.Contains(f, string(id)) {
			t.Fatalf("CONNECT answer %q", f)
		}
	})
	t.Run("no answer", func(t *testing.T) {
		sc, id, pid, offset := setup(t)
		b := sc.nodes[1]
		c := b.connectWS()
		c.send("40" + resumePayload(pid, offset))
		lk := takeRecovery(b)[0].(wire.RecoveryLookup)
		b.advance(b.s.lookupTimeout())
		got, _ := readConnect(t, c)
		if got == id {
			t.Fatal("recovered without an answer")
		}
		app[wire.Connected](b)
		takeRecovery(b) // the fresh socket's snapshot
		// the late answer's session goes back to the store
		sc.st.lookups = append(sc.st.lookups, lk)
		b.in(sc.st.answer(t))
		r := takeRecovery(b)
		if len(r) != 1 || r[0].(wire.RecoverySession).State != wire.RecoveryUnused || r[0].(wire.RecoverySession).PID != pid {
			t.Fatalf("late answer: %v", r)
		}
		sc.st.write(r[0].(wire.RecoverySession))
		if _, ok := sc.st.saved[pid]; !ok {
			t.Fatal("the session is lost")
		}
	})
	t.Run("client left meanwhile", func(t *testing.T) {
		sc, _, pid, offset := setup(t)
		b := sc.nodes[1]
		c := b.connectWS()
		c.send("40" + resumePayload(pid, offset))
		lk := takeRecovery(b)[0].(wire.RecoveryLookup)
		b.in(wire.Closed{Conn: c.ws})
		b.out = nil
		sc.st.lookups = append(sc.st.lookups, lk)
		b.in(sc.st.answer(t))
		r := takeRecovery(b)
		if len(r) != 1 || r[0].(wire.RecoverySession).State != wire.RecoveryUnused {
			t.Fatalf("answer for a closed session: %v", r)
		}
		if st := b.s.Stats(); st.Pending != 0 || st.Sockets != 0 {
			t.Fatalf("stats %+v", st)
		}
	})
}

// A session this server holds is restored from its memory, which also
// has what servers that name no offsets sent; the store's log is not
// needed. A socket of that id still connected here (its client's dead
// connection, before the ping timeout) is closed first.
func TestStoreRecoveryOnTheSameServer(t *testing.T) {
	sc := newStoreCluster(t, 1)
	h := sc.nodes[0]
	old := h.connectWS()
	id, pid, _ := old.connectRecovering("")
	h.do("Join", func(clock.Instant) error { return h.s.Join(id, "team") })
	h.broadcast(Broadcast{Nsp: "/", Data: []byte(`["seen"]`)})
	offset := lastArg(t, nextText(old))
	sc.pump()
	// the connection is dead but the server does not know yet
	h.in(wire.ClusterReceived{Msg: wire.ClusterMessage{Type: wire.ClusterBroadcast, Nsp: "/", Rooms: []string{"team"}, Data: []byte(`["from-node"]`)}})
	h.broadcast(Broadcast{Nsp: "/", Rooms: []string{"team"}, Data: []byte(`["mine"]`)})
	h.out = nil
	sc.pump()

	back := h.connectWS()
	back.send("40" + resumePayload(pid, offset))
	lk := takeRecovery(h)[0].(wire.RecoveryLookup)
	sc.st.lookups = []wire.RecoveryLookup{lk}
	f := sc.st.answer(t)
	if !f.Found || f.OffsetFound || f.Packets != nil {
		t.Fatalf("store answer %+v: the log is not read for the holder", f)
	}
	h.in(f)
	// the old socket goes first
	r := takeRecovery(h)
	if len(r) != 2 || r[0].(wire.RecoverySession).State != wire.RecoveryGone || r[1].(wire.RecoverySession).State != wire.RecoveryResumed {
		t.Fatalf("snapshots %v, want the old socket's Gone then the Resumed one", r)
	}
	if f := nextText(old); f != "41" {
		t.Fatalf("old connection got %q", f)
	}
	h.wantLeft(id, wire.ReasonServerNamespaceDisconnect, string(id), "team")
	for _, w := range []string{`42["from-node","`, `42["mine","`} {
		if got := nextText(back); !strings.HasPrefix(got, w) {
			t.Fatalf("missed %q, want %s...", got, w)
		}
	}
	if rid, _ := readConnect(t, back); rid != id {
		t.Fatalf("recovered as %s", rid)
	}
	if c := app[wire.Connected](h); !c.Recovered {
		t.Fatalf("Connected %+v", c)
	}
	if p := h.popClusterPublish(); p != nil {
		t.Fatalf("published %+v: nobody else holds it", p.Msg)
	}
	if rooms := h.s.Rooms(id); !slices.Equal(rooms, []string{string(id), "team"}) {
		t.Fatalf("rooms %q", rooms)
	}
}

// What reaches a server while its lookup is out is merged with the log:
// the log may or may not have it yet, and the socket gets it once.
func TestStoreRecoveryMergesWhatCameDuringTheLookup(t *testing.T) {
	sc := newStoreCluster(t, 3)
	b, c := sc.nodes[1], sc.nodes[2]
	id, back, lk := resumingOnAnother(t, sc)
	c.broadcast(Broadcast{Nsp: "/", Data: []byte(`["in-log"]`)})
	sc.pump() // recorded, and delivered to b while it waits
	sc.st.lookups = []wire.RecoveryLookup{lk}
	f := sc.st.answer(t) // the store read after it: in the answer too
	c.broadcast(Broadcast{Nsp: "/", Data: []byte(`["not-in-log"]`)})
	sc.pump()
	b.in(f)
	for _, w := range []string{`42["in-log","`, `42["not-in-log","`} {
		if got := nextText(back); !strings.HasPrefix(got, w) {
			t.Fatalf("missed %q, want %s...", got, w)
		}
	}
	if rid, _ := readConnect(t, back); rid != id {
		t.Fatalf("recovered as %s", rid)
	}
	back.wantQuiet()
}

// resumingOnAnother: a socket of node 0 saw one broadcast of node 2, node
// 0 went down, and its client asks node 1 to resume it — node 1's store
// lookup is out (lk), not answered yet.
func resumingOnAnother(t *testing.T, sc *storeCluster) (wire.SocketID, *tclient, wire.RecoveryLookup) {
	t.Helper()
	a, b, c := sc.nodes[0], sc.nodes[1], sc.nodes[2]
	ca := a.connectWS()
	id, pid, _ := ca.connectRecovering("")
	sc.pump()
	c.broadcast(Broadcast{Nsp: "/", Data: []byte(`["seen"]`)})
	sc.pump()
	offset := lastArg(t, nextText(ca))
	sc.down[0] = true
	back := b.connectWS()
	back.send("40" + resumePayload(pid, offset))
	return id, back, takeRecovery(b)[0].(wire.RecoveryLookup)
}
