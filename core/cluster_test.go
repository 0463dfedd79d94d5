package core

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// testCluster is servers joined by a perfect bus, in virtual time: pump
// moves every ClusterPublish to the other servers and answers
// CountServers with the number of servers (an adapter's NUMSUB).
type testCluster struct {
	t     *testing.T
	nodes []*harness
	// silent servers are counted but never get messages (a node that
	// subscribed and then hung).
	silent int
	// seen keeps every published message, for assertions.
	seen []wire.ClusterMessage
}

func newTestCluster(t *testing.T, n int) *testCluster {
	tc := &testCluster{t: t}
	for i := 0; i < n; i++ {
		cfg := testConfig()
		cfg.Cluster = true
		cfg.Seed[0] = byte('a' + i)
		cfg.Seed[8] = byte('a' + i)
		tc.nodes = append(tc.nodes, newHarness(t, cfg))
	}
	return tc
}

// pump delivers until no server has anything left to publish.
func (tc *testCluster) pump() {
	tc.t.Helper()
	for round := 0; ; round++ {
		if round > 100 {
			tc.t.Fatal("cluster messages never settle")
		}
		moved := false
		for i, h := range tc.nodes {
			for {
				o := h.popClusterPublish()
				if o == nil {
					break
				}
				moved = true
				tc.seen = append(tc.seen, o.Msg)
				for j, other := range tc.nodes {
					if j != i {
						other.in(wire.ClusterReceived{Msg: o.Msg})
					}
				}
				if o.CountServers {
					h.in(wire.ClusterServers{RequestID: o.Msg.RequestID, Servers: len(tc.nodes) + tc.silent})
				}
			}
		}
		if !moved {
			return
		}
	}
}

// advance moves every server's clock.
func (tc *testCluster) advance(d time.Duration) {
	for _, h := range tc.nodes {
		h.advance(d)
	}
	tc.pump()
}

func (h *harness) popClusterPublish() *wire.ClusterPublish {
	for i, o := range h.out {
		if p, ok := o.(wire.ClusterPublish); ok {
			h.out = slices.Delete(h.out, i, i+1)
			return &p
		}
	}
	return nil
}

// command runs a core call that returns a ref, issuing it.
func (h *harness) command(name string, f func(now clock.Instant) (wire.AckRef, error)) wire.AckRef {
	h.t.Helper()
	var ref wire.AckRef
	if err := h.do(name, func(now clock.Instant) error {
		var err error
		ref, err = f(now)
		if ref != 0 {
			h.issue(ref)
		}
		return err
	}); err != nil {
		h.fatalf("%s: %v", name, err)
	}
	return ref
}

// A broadcast reaches the targeted sockets of every server, with rooms and
// except applied on each; Local stays on its server.
func TestClusterBroadcast(t *testing.T) {
	tc := newTestCluster(t, 2)
	a, b := tc.nodes[0], tc.nodes[1]
	a1, b1, b2 := a.connectWS(), b.connectWS(), b.connectWS()
	ida1, idb1, idb2 := a1.join("/"), b1.join("/"), b2.join("/")
	b.s.Join(idb1, "r")
	a.s.Join(ida1, "r")
	b.s.Join(idb2, "x")
	a.wantIdle()
	b.wantIdle()

	a.broadcast(Broadcast{Nsp: "/", Rooms: []string{"r"}, Except: []string{"x"}, Data: []byte(`["news",1]`)})
	a.wantBroadcast([]wire.ConnID{a1.ws}, `42["news",1]`)
	tc.pump()
	b.wantBroadcast([]wire.ConnID{b1.ws}, `42["news",1]`)
	b.wantIdle()
	a.wantIdle()

	// binary and flags travel too
	a.broadcast(Broadcast{Nsp: "/", Data: []byte(`["bin",` + ph(0) + `]`), Attachments: [][]byte{{1, 2}}, Volatile: true})
	a.wantBroadcast([]wire.ConnID{a1.ws}, `451-["bin",`+ph(0)+`]`, "bAQI=")
	tc.pump()
	last := tc.seen[len(tc.seen)-1]
	if last.Type != wire.ClusterBroadcast || !last.Volatile || len(last.Attachments) != 1 {
		t.Fatalf("published %+v", last)
	}
	b.wantBroadcast([]wire.ConnID{b1.ws, b2.ws}, `451-["bin",`+ph(0)+`]`, "bAQI=")

	// Local: nothing published
	n := len(tc.seen)
	a.broadcast(Broadcast{Nsp: "/", Data: []byte(`["local"]`), Local: true})
	a.wantBroadcast([]wire.ConnID{a1.ws}, `42["local"]`)
	tc.pump()
	if len(tc.seen) != n {
		t.Fatalf("a Local broadcast was published: %+v", tc.seen[n:])
	}
	b.wantIdle()
}

// socketsJoin / socketsLeave / disconnectSockets apply on every server,
// exactly once on the sender.
func TestClusterSocketsJoinLeaveDisconnect(t *testing.T) {
	tc := newTestCluster(t, 2)
	a, b := tc.nodes[0], tc.nodes[1]
	a1, b1, b2 := a.connectWS(), b.connectWS(), b.connectWS()
	ida1, idb1, idb2 := a1.join("/"), b1.join("/"), b2.join("/")

	if err := a.do("SocketsJoin", func(now clock.Instant) error {
		return a.s.SocketsJoin(now, Target{Nsp: "/", Except: []string{string(idb2)}}, "team", "blue")
	}); err != nil {
		t.Fatal(err)
	}
	tc.pump()
	if got := a.s.Rooms(ida1); !slices.Equal(got, []string{string(ida1), "team", "blue"}) {
		t.Fatalf("a1 rooms %q", got)
	}
	if got := b.s.Rooms(idb1); !slices.Equal(got, []string{string(idb1), "team", "blue"}) {
		t.Fatalf("b1 rooms %q", got)
	}
	if got := b.s.Rooms(idb2); !slices.Equal(got, []string{string(idb2)}) {
		t.Fatalf("b2 rooms %q", got)
	}
	a.do("SocketsLeave", func(now clock.Instant) error {
		return a.s.SocketsLeave(now, Target{Nsp: "/", Rooms: []string{"team"}}, "blue")
	})
	tc.pump()
	if got := b.s.Rooms(idb1); !slices.Equal(got, []string{string(idb1), "team"}) {
		t.Fatalf("b1 rooms after leave %q", got)
	}
	// Local: only on a
	a.do("SocketsJoin local", func(now clock.Instant) error {
		return a.s.SocketsJoin(now, Target{Nsp: "/", Local: true}, "here")
	})
	tc.pump()
	if slices.Contains(b.s.Rooms(idb1), "here") || !slices.Contains(a.s.Rooms(ida1), "here") {
		t.Fatal("a Local socketsJoin crossed servers, or did not apply here")
	}

	a.do("DisconnectSockets", func(now clock.Instant) error {
		return a.s.DisconnectSockets(now, Target{Nsp: "/", Rooms: []string{"team"}}, false)
	})
	a1.want("41")
	a.wantLeft(ida1, wire.ReasonServerNamespaceDisconnect)
	tc.pump()
	b1.want("41")
	b.wantLeft(idb1, wire.ReasonServerNamespaceDisconnect)
	b.wantIdle()
	if !b.s.Connected(idb2) {
		t.Fatal("b2 was not targeted")
	}
}

// fetchSockets gathers every server's sockets; allRooms the union of rooms.
func TestClusterFetchSocketsAndAllRooms(t *testing.T) {
	tc := newTestCluster(t, 3)
	a, b, c := tc.nodes[0], tc.nodes[1], tc.nodes[2]
	a1, b1, c1 := a.connectWS(), b.connectWS(), c.connectWS()
	ida1, idb1, idc1 := a1.join("/"), b1.join("/"), c1.join("/")
	a.s.Join(ida1, "r")
	c.s.Join(idc1, "r", "s")

	ref := a.command("FetchSockets", func(now clock.Instant) (wire.AckRef, error) {
		return a.s.FetchSockets(now, Target{Nsp: "/", Rooms: []string{"r"}})
	})
	tc.pump()
	done := app[wire.ClusterRequestDone](a)
	want := []wire.ClusterSocket{
		{ID: ida1, Rooms: []string{string(ida1), "r"}},
		{ID: idc1, Rooms: []string{string(idc1), "r", "s"}},
	}
	if done.Ref != ref || done.TimedOut || done.Answers != 3 || done.Expected != 3 || describeSockets(done.Sockets) != describeSockets(want) {
		t.Fatalf("fetch: %+v", done)
	}

	ref = a.command("AllRooms", func(now clock.Instant) (wire.AckRef, error) { return a.s.AllRooms(now, "/", false) })
	tc.pump()
	done = app[wire.ClusterRequestDone](a)
	wantRooms := []string{string(ida1), string(idb1), string(idc1), "r", "s"}
	slices.Sort(wantRooms)
	if done.Ref != ref || !slices.Equal(done.Rooms, wantRooms) {
		t.Fatalf("allRooms: %+v, want %q", done, wantRooms)
	}
	for _, h := range tc.nodes {
		h.wantIdle()
		if st := h.s.Stats(); st.OutAcks != 0 || st.Timers != 0 {
			t.Fatalf("left behind: %+v", st)
		}
	}
}

func describeSockets(ss []wire.ClusterSocket) string {
	var b strings.Builder
	for _, s := range ss {
		b.WriteString(string(s.ID) + "[" + strings.Join(s.Rooms, ",") + "] ")
	}
	return b.String()
}

// A server that is counted but never answers: the request times out at
// RequestsTimeout with the answers so far.
func TestClusterRequestTimeout(t *testing.T) {
	tc := newTestCluster(t, 2)
	tc.silent = 1
	a, b := tc.nodes[0], tc.nodes[1]
	b1 := b.connectWS()
	idb1 := b1.join("/")
	ref := a.command("FetchSockets", func(now clock.Instant) (wire.AckRef, error) {
		return a.s.FetchSockets(now, Target{Nsp: "/"})
	})
	tc.pump()
	a.wantIdle()
	if st := a.s.Stats(); st.OutAcks != 1 {
		t.Fatalf("pending request not counted: %+v", st)
	}
	a.advance(5*time.Second - 1)
	a.wantIdle()
	a.advance(1)
	done := app[wire.ClusterRequestDone](a)
	if done.Ref != ref || !done.TimedOut || done.Answers != 2 || done.Expected != 3 || len(done.Sockets) != 1 || done.Sockets[0].ID != idb1 {
		t.Fatalf("timed out fetch: %+v", done)
	}
	// a late answer is ignored
	a.in(wire.ClusterReceived{Msg: wire.ClusterMessage{Type: wire.ClusterFetchSocketsResponse, Nsp: "/", RequestID: tc.seen[0].RequestID}})
	a.wantIdle()
	if st := a.s.Stats(); st.OutAcks != 0 || st.Timers != 0 {
		t.Fatalf("left behind: %+v", st)
	}
}

// serverSideEmit reaches the other servers' application; with acks, each
// answers once and the sender gets the replies.
func TestClusterServerSideEmit(t *testing.T) {
	tc := newTestCluster(t, 3)
	a, b, c := tc.nodes[0], tc.nodes[1], tc.nodes[2]
	a.do("ServerSideEmit", func(now clock.Instant) error {
		_, err := a.s.ServerSideEmit(now, "/", []byte(`["hello",1]`), nil, false)
		return err
	})
	tc.pump()
	for _, h := range []*harness{b, c} {
		h.wantApp(wire.ServerSideEmitReceived{Nsp: "/", Data: []byte(`["hello",1]`)})
	}
	a.wantIdle()

	ref := a.command("ServerSideEmit ack", func(now clock.Instant) (wire.AckRef, error) {
		return a.s.ServerSideEmit(now, "/", []byte(`["q"]`), nil, true)
	})
	tc.pump()
	rb := app[wire.ServerSideEmitReceived](b)
	rc := app[wire.ServerSideEmitReceived](c)
	if rb.Ack == 0 || rc.Ack == 0 {
		t.Fatal("no ack refs")
	}
	b.ack(rb.Ack, `["from b"]`)
	tc.pump()
	a.wantIdle()
	c.ack(rc.Ack, `["from c"]`)
	tc.pump()
	done := app[wire.ClusterRequestDone](a)
	if done.Ref != ref || done.TimedOut || len(done.Replies) != 2 || string(done.Replies[0].Args) != `["from b"]` || string(done.Replies[1].Args) != `["from c"]` {
		t.Fatalf("serverSideEmit acks: %+v", done)
	}
	if err := b.s.Ack(rb.Ack, nil, nil); err != ErrUnknownAck {
		t.Fatalf("second answer: %v", err)
	}
}

// A broadcast with acks across servers: the sender waits for every
// server's client count and then every announced ack; the other servers
// pass their clients' acks back one by one and tell their application
// nothing.
func TestClusterBroadcastAck(t *testing.T) {
	tc := newTestCluster(t, 2)
	a, b := tc.nodes[0], tc.nodes[1]
	a1, b1, b2 := a.connectWS(), b.connectWS(), b.connectWS()
	ida1, idb1, idb2 := a1.join("/"), b1.join("/"), b2.join("/")

	ref, n := a.broadcast(Broadcast{Nsp: "/", Data: []byte(`["poll"]`), WithAck: true, Timeout: 2 * time.Second})
	if n != 1 {
		t.Fatalf("local targets %d", n)
	}
	a.wantBroadcast([]wire.ConnID{a1.ws}, `420["poll"]`)
	tc.pump()
	b.wantBroadcast([]wire.ConnID{b1.ws, b2.ws}, `420["poll"]`)
	a1.send(`430["a1"]`)
	a.wantIdle() // b's clients have not answered
	b1.send(`430["b1"]`)
	tc.pump()
	a.wantIdle()
	b2.send(`430["b2"]`)
	tc.pump()
	b.wantIdle() // no BroadcastAckResolved on the relaying server
	got := app[wire.BroadcastAckResolved](a)
	if got.Ref != ref || got.TimedOut || len(got.Replies) != 3 {
		t.Fatalf("resolved %s", describe(got))
	}
	if got.Replies[0].Socket != ida1 || string(got.Replies[1].Args) != `["b1"]` || string(got.Replies[2].Args) != `["b2"]` {
		t.Fatalf("replies %s", describe(got))
	}
	_ = idb1
	_ = idb2
	for _, h := range tc.nodes {
		h.wantIdle()
		if st := h.s.Stats(); st.OutAcks != 0 || st.Timers != 0 {
			t.Fatalf("left behind: %+v", st)
		}
	}

	// One silent client: the timeout resolves with the others' replies.
	ref, _ = a.broadcast(Broadcast{Nsp: "/", Data: []byte(`["again"]`), WithAck: true, Timeout: time.Second})
	a.wantBroadcast([]wire.ConnID{a1.ws}, `421["again"]`)
	tc.pump()
	b.wantBroadcast([]wire.ConnID{b1.ws, b2.ws}, `421["again"]`)
	b1.send(`431["b1"]`)
	a1.send(`431["a1"]`)
	tc.pump()
	a.wantIdle()
	tc.advance(time.Second)
	got = app[wire.BroadcastAckResolved](a)
	if got.Ref != ref || !got.TimedOut || len(got.Replies) != 2 {
		t.Fatalf("timed out: %s", describe(got))
	}
	for _, h := range tc.nodes {
		h.wantIdle()
		if st := h.s.Stats(); st.OutAcks != 0 || st.Timers != 0 {
			t.Fatalf("left behind: %+v", st)
		}
	}
}

// A broadcast with acks and no local target still waits for the others.
func TestClusterBroadcastAckNoLocalTargets(t *testing.T) {
	tc := newTestCluster(t, 2)
	a, b := tc.nodes[0], tc.nodes[1]
	b1 := b.connectWS()
	b1.join("/")
	ref, _ := a.broadcast(Broadcast{Nsp: "/", Data: []byte(`["x"]`), WithAck: true, Timeout: time.Second})
	tc.pump()
	b.wantBroadcast([]wire.ConnID{b1.ws}, `420["x"]`)
	b1.send(`430[]`)
	tc.pump()
	got := app[wire.BroadcastAckResolved](a)
	if got.Ref != ref || got.TimedOut || len(got.Replies) != 1 || string(got.Replies[0].Args) != `[]` {
		t.Fatalf("resolved %s", describe(got))
	}
	// and a server with no target answers a count of 0
	for _, m := range tc.seen {
		if m.Type == wire.ClusterBroadcastClientCount && m.ClientCount != 1 {
			t.Fatalf("client count %d", m.ClientCount)
		}
	}
}

// Without Config.Cluster nothing is published, and requests resolve at
// once with this server's answer.
func TestClusterOff(t *testing.T) {
	h := newHarness(t, testConfig())
	c1 := h.connectWS()
	id := c1.join("/")
	h.broadcast(Broadcast{Nsp: "/", Data: []byte(`["x"]`)})
	h.wantBroadcast([]wire.ConnID{c1.ws}, `42["x"]`)
	ref := h.command("FetchSockets", func(now clock.Instant) (wire.AckRef, error) {
		return h.s.FetchSockets(now, Target{Nsp: "/"})
	})
	done := app[wire.ClusterRequestDone](h)
	if done.Ref != ref || len(done.Sockets) != 1 || done.Sockets[0].ID != id || done.TimedOut {
		t.Fatalf("%+v", done)
	}
	ref = h.command("ServerSideEmit", func(now clock.Instant) (wire.AckRef, error) {
		return h.s.ServerSideEmit(now, "/", []byte(`["x"]`), nil, true)
	})
	h.wantApp(wire.ClusterRequestDone{Ref: ref})
	h.wantIdle()
}

// Messages for an unknown namespace, unknown request ids and answers of
// the wrong type are ignored.
func TestClusterIgnoresStrayMessages(t *testing.T) {
	tc := newTestCluster(t, 1)
	h := tc.nodes[0]
	for _, m := range []wire.ClusterMessage{
		{Type: wire.ClusterBroadcast, Nsp: "/nope", Data: []byte(`["x"]`)},
		{Type: wire.ClusterFetchSocketsResponse, Nsp: "/", RequestID: "unknown"},
		{Type: wire.ClusterBroadcastAck, Nsp: "/", RequestID: "unknown"},
		{Type: wire.ClusterType(200), Nsp: "/"},
	} {
		h.in(wire.ClusterReceived{Msg: m})
		h.wantIdle()
	}
	ref := h.command("AllRooms", func(now clock.Instant) (wire.AckRef, error) { return h.s.AllRooms(now, "/", false) })
	id := tc.nodes[0].popClusterPublish().Msg.RequestID
	h.in(wire.ClusterReceived{Msg: wire.ClusterMessage{Type: wire.ClusterFetchSocketsResponse, Nsp: "/", RequestID: id}})
	h.in(wire.ClusterServers{RequestID: id, Servers: 2})
	h.wantIdle() // a FetchSockets answer does not complete an AllRooms request
	h.in(wire.ClusterReceived{Msg: wire.ClusterMessage{Type: wire.ClusterAllRoomsResponse, Nsp: "/", RequestID: id, JoinRooms: []string{"z"}}})
	done := app[wire.ClusterRequestDone](h)
	if done.Ref != ref || !slices.Equal(done.Rooms, []string{"z"}) {
		t.Fatalf("%+v", done)
	}
}

// Rooms coming and going are reported in a cluster (for adapters that
// subscribe per room), once each, socket id rooms included.
func TestClusterRoomEvents(t *testing.T) {
	tc := newTestCluster(t, 1)
	h := tc.nodes[0]
	c1, c2 := h.connectWS(), h.connectWS()
	id1, id2 := c1.join("/"), c2.join("/")
	h.s.Join(id1, "r")
	h.s.Join(id2, "r")
	h.s.Leave(id1, "r")
	h.s.Leave(id2, "r")
	c1.send("41")
	h.wantLeft(id1, wire.ReasonClientNamespaceDisconnect)
	var got []string
	for _, o := range h.roomEvents {
		switch o := o.(type) {
		case wire.RoomCreated:
			got = append(got, "+"+o.Room)
		case wire.RoomDeleted:
			got = append(got, "-"+o.Room)
		}
	}
	want := []string{"+" + string(id1), "+" + string(id2), "+r", "-r", "-" + string(id1)}
	if !slices.Equal(got, want) {
		t.Fatalf("room events %q, want %q", got, want)
	}
	// and none outside a cluster
	h2 := newHarness(t, testConfig())
	c := h2.connectWS()
	h2.s.Join(c.join("/"), "r")
	if len(h2.roomEvents) != 0 {
		t.Fatalf("room events outside a cluster: %v", h2.roomEvents)
	}
}
