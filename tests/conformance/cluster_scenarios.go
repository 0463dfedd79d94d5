package conformance

import (
	"fmt"
	"slices"
	"time"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// ClusterScenarios is the table of servers of a cluster (core/cluster.go):
// each scenario's servers are joined by the bus of C, and every server's
// inputs, commands and outputs, including what crosses the bus, make one
// transcript. Conn ids are per server.
var ClusterScenarios = []ClusterScenario{
	{Name: "cluster broadcast", Config: slowPing, Steps: func(c *C) {
		a, b := c.N[0], c.N[1]
		a1 := a.WSConnect(1, "/")
		b1 := b.WSConnect(1, "/")
		b2 := b.WSConnect(2, "/")
		a.Join(a1, "r")
		b.Join(b1, "r")
		b.Join(b2, "r", "x")
		c.Pump() // joins are local: nothing to send
		a.Broadcast(core.Broadcast{Nsp: "/", Rooms: []string{"r"}, Except: []string{"x"}, Data: []byte(`["news",1]`)})
		a.WantSent(1, `42["news",1]`)
		c.Pump()
		b.WantSent(1, `42["news",1]`)
		// Binary and flags travel too, the other way.
		b.Broadcast(core.Broadcast{Nsp: "/", Data: []byte(`["bin",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1, 2}},
			Volatile: true, Compress: true})
		c.Pump()
		a.WantSent(1, `451-["bin",{"_placeholder":true,"num":0}]`)
		if p := Last[wire.ClusterPublish](b); p.Msg.Type != wire.ClusterBroadcast || !p.Msg.Volatile || !p.Msg.Compress || len(p.Msg.Attachments) != 1 {
			b.Fatalf("published %+v", p)
		}
		// Local stays on its server.
		a.Broadcast(core.Broadcast{Nsp: "/", Data: []byte(`["local"]`), Local: true})
		c.Pump()
		// A namespace only a has: the others ignore its broadcasts.
		a.Do("AddNamespace /chat", func(clock.Instant) any { return a.M.AddNamespace("/chat", false) })
		a.WS(1, "40/chat,")
		a.Broadcast(core.Broadcast{Nsp: "/chat", Data: []byte(`["chat only"]`)})
		c.Pump()
		b.Broadcast(core.Broadcast{Nsp: "/chat", Data: []byte(`["unknown here"]`)}) // ErrUnknownNamespace, nothing sent
		c.Pump()
	}},
	{Name: "cluster socketsJoin, socketsLeave, disconnectSockets", Config: slowPing, Steps: func(c *C) {
		a, b := c.N[0], c.N[1]
		a1 := a.WSConnect(1, "/")
		b1 := b.WSConnect(1, "/")
		b2 := b.WSConnect(2, "/")
		a.SocketsJoin(core.Target{Nsp: "/", Except: []string{string(b2)}}, "team", "blue")
		c.Pump()
		a.Rooms(a1)
		b.Rooms(b1)
		if rooms := b.Rooms(b2); len(rooms) != 1 {
			b.Fatalf("b2 joined %q", rooms)
		}
		a.SocketsLeave(core.Target{Nsp: "/", Rooms: []string{"team"}}, "blue")
		c.Pump()
		if rooms := b.Rooms(b1); !slices.Equal(rooms, []string{string(b1), "team"}) {
			b.Fatalf("b1 rooms %q", rooms)
		}
		b.SocketsJoin(core.Target{Nsp: "/", Local: true}, "here")
		c.Pump()
		a.Rooms(a1)
		b.Rooms(b2)
		b.SocketsJoin(core.Target{Nsp: "/nope"}, "x") // ErrUnknownNamespace
		b.SocketsLeave(core.Target{Nsp: "/nope"}, "x")
		b.DisconnectSockets(core.Target{Nsp: "/nope"}, false)
		c.Pump()
		a.DisconnectSockets(core.Target{Nsp: "/", Rooms: []string{"team"}}, false)
		a.WantSent(1, "41")
		c.Pump()
		b.WantSent(1, "41")
		Must[wire.Disconnected](b)
		b.Query("Connected b2", func() any { return b.M.Connected(b2) })
		// With closeSession, from the other side: the whole sessions go.
		b.DisconnectSockets(core.Target{Nsp: "/"}, true)
		c.Pump()
		a.WSConnect(2, "/")
		b.DisconnectSockets(core.Target{Nsp: "/"}, true)
		c.Pump()
		Must[wire.CloseConn](a)
	}},
	{Name: "cluster fetchSockets and allRooms", Nodes: 3, Config: slowPing, Steps: func(c *C) {
		a, b, x := c.N[0], c.N[1], c.N[2]
		a1 := a.WSConnect(1, "/")
		b1 := b.WSConnect(1, "/")
		x.WSConnect(1, "/")
		a.Join(a1, "r")
		b.Join(b1, "r", "s")
		ref := a.FetchSockets(core.Target{Nsp: "/", Rooms: []string{"r"}})
		c.Pump()
		done := a.Done(ref)
		if len(done.Sockets) != 2 || done.Sockets[0].ID != a1 || done.Sockets[1].ID != b1 ||
			string(done.Sockets[1].Handshake) != `{"server":1}` || done.TimedOut || done.Answers != 3 || done.Expected != 3 {
			a.Fatalf("fetchSockets %+v", done)
		}
		ref = a.FetchSockets(core.Target{Nsp: "/", Except: []string{"r"}})
		c.Pump()
		a.Done(ref)
		a.FetchSockets(core.Target{Nsp: "/", Local: true}) // at once, nothing sent
		c.Pump()
		ref = b.AllRooms("/", false)
		c.Pump()
		if done := b.Done(ref); len(done.Rooms) != 5 || !slices.IsSorted(done.Rooms) {
			b.Fatalf("allRooms %+v", done)
		}
		b.AllRooms("/", true)
		c.Pump()
		a.FetchSockets(core.Target{Nsp: "/nope"}) // ErrUnknownNamespace
		a.AllRooms("/nope", false)
		// A namespace only a has: nobody else answers, the request times out
		// with a's own sockets.
		a.Do("AddNamespace /chat", func(clock.Instant) any { return a.M.AddNamespace("/chat", false) })
		a.WS(1, "40/chat,")
		ref = a.FetchSockets(core.Target{Nsp: "/chat"})
		c.Pump()
		c.Advance(5 * time.Second) // the default RequestsTimeout
		if done := a.Done(ref); !done.TimedOut || len(done.Sockets) != 1 || done.Answers != 1 || done.Expected != 3 {
			a.Fatalf("fetchSockets /chat %+v", done)
		}
	}},
	{Name: "cluster serverSideEmit", Nodes: 3, Config: slowPing, Steps: func(c *C) {
		a, b, x := c.N[0], c.N[1], c.N[2]
		if ref := a.ServerSideEmit("/", `["note","hi"]`, nil, false); ref != 0 {
			a.Fatalf("ref %d without ack", ref)
		}
		c.Pump()
		Last[wire.ServerSideEmitReceived](x)
		ref := a.ServerSideEmit("/", `["ping",{"_placeholder":true,"num":0}]`, [][]byte{{1, 2}}, true)
		c.Pump()
		bAck := Last[wire.ServerSideEmitReceived](b).Ack
		xAck := Last[wire.ServerSideEmitReceived](x).Ack
		if bAck == 0 || xAck == 0 {
			a.Fatalf("no acks asked: %d %d", bAck, xAck)
		}
		b.Ack(bAck, `["pong","b"]`)
		c.Pump()
		x.Ack(xAck, `[{"_placeholder":true,"num":0}]`, []byte{9})
		b.Ack(bAck, `["twice"]`) // ErrUnknownAck
		c.Pump()
		if done := a.Done(ref); len(done.Replies) != 2 || done.TimedOut || done.Answers != 2 || done.Expected != 2 {
			a.Fatalf("serverSideEmit %+v", done)
		}
		// No answer (nothing to say) is an empty array.
		ref = b.ServerSideEmit("/", `["ping"]`, nil, true)
		c.Pump()
		a.Ack(Last[wire.ServerSideEmitReceived](a).Ack, "")
		x.Ack(Last[wire.ServerSideEmitReceived](x).Ack, "")
		c.Pump()
		b.Done(ref)
		a.ServerSideEmit("/nope", `["x"]`, nil, true) // ErrUnknownNamespace
	}},
	{Name: "cluster broadcast acknowledgements", Config: slowPing, Steps: func(c *C) {
		a, b := c.N[0], c.N[1]
		a.WSConnect(1, "/")
		b.WSConnect(1, "/")
		b.WSConnect(2, "/")
		ref, n := a.Broadcast(core.Broadcast{Nsp: "/", Data: []byte(`["quiz"]`), WithAck: true, Timeout: 2 * time.Second})
		if n != 1 || ref == 0 {
			a.Fatalf("broadcast: ref %d, %d targets", ref, n)
		}
		a.WS(1, `430["a"]`) // the local answer: the remote ones are still due
		c.Pump()            // b delivers, then announces 2 clients
		b.WantSent(1, `420["quiz"]`)
		b.WS(1, `430["b1"]`)
		c.Pump()
		b.WS(2, `461-0[{"_placeholder":true,"num":0}]`)
		b.WSBin(2, []byte{7})
		c.Pump()
		if r := Last[wire.BroadcastAckResolved](a); r.Ref != ref || r.TimedOut || len(r.Replies) != 3 {
			a.Fatalf("resolved %+v", r)
		}
		// From b; b2 never answers: timed out with two replies.
		ref, _ = b.Broadcast(core.Broadcast{Nsp: "/", Data: []byte(`["again"]`), WithAck: true, Timeout: time.Second})
		b.WS(1, `431["b1"]`)
		c.Pump()
		a.WantSent(1, `421["again"]`)
		a.WS(1, `431["a"]`)
		c.Pump()
		c.Advance(1100 * time.Millisecond)
		if r := Last[wire.BroadcastAckResolved](b); r.Ref != ref || !r.TimedOut || len(r.Replies) != 2 {
			b.Fatalf("resolved %+v", r)
		}
		b.WS(2, `431["late"]`)
		c.Pump()
		// Local with acks: nothing crosses.
		a.Broadcast(core.Broadcast{Nsp: "/", Data: []byte(`["local"]`), WithAck: true, Local: true})
		a.WS(1, `432[]`)
		c.Pump()
	}},
	{Name: "cluster request timeouts", Silent: 1, Config: func(cfg *core.Config) {
		slowPing(cfg)
		cfg.RequestsTimeout = 500 * time.Millisecond
	}, Steps: func(c *C) {
		a, b := c.N[0], c.N[1]
		a.WSConnect(1, "/")
		b.WSConnect(1, "/")
		// A silent server is counted and never answers.
		ref := a.FetchSockets(core.Target{Nsp: "/"})
		c.Pump()
		c.Advance(600 * time.Millisecond)
		if done := a.Done(ref); !done.TimedOut || len(done.Sockets) != 2 || done.Answers != 2 || done.Expected != 3 {
			a.Fatalf("fetchSockets %+v", done)
		}
		ref = b.AllRooms("/", false)
		c.Pump()
		c.Advance(600 * time.Millisecond)
		b.Done(ref)
		ref = a.ServerSideEmit("/", `["ping"]`, nil, true)
		c.Pump()
		b.Ack(Last[wire.ServerSideEmitReceived](b).Ack, `["pong"]`)
		c.Pump()
		c.Advance(600 * time.Millisecond)
		if done := a.Done(ref); !done.TimedOut || len(done.Replies) != 1 || done.Answers != 1 || done.Expected != 2 {
			a.Fatalf("serverSideEmit %+v", done)
		}
		// A broadcast with acks and no Timeout waits RequestsTimeout for the
		// silent server's count.
		ref, _ = a.Broadcast(core.Broadcast{Nsp: "/", Data: []byte(`["quiz"]`), WithAck: true})
		a.WS(1, `430["a"]`)
		c.Pump()
		b.WS(1, `430["b"]`)
		c.Pump()
		c.Advance(600 * time.Millisecond)
		if r := Last[wire.BroadcastAckResolved](a); r.Ref != ref || !r.TimedOut || len(r.Replies) != 2 {
			a.Fatalf("resolved %+v", r)
		}
		// Lost messages (and so no server count): the request times out alone.
		ref = a.FetchSockets(core.Target{Nsp: "/"})
		c.Drop()
		c.Advance(600 * time.Millisecond)
		a.Done(ref)
		ref = a.ServerSideEmit("/", `["ping"]`, nil, true)
		c.Drop()
		c.Advance(600 * time.Millisecond)
		a.Done(ref)
	}},
	{Name: "cluster messages nobody asked for", Config: func(cfg *core.Config) {
		slowPing(cfg)
		cfg.MaxPendingAcks = 2
	}, Steps: func(c *C) {
		a := c.N[0]
		a1 := a.WSConnect(1, "/")
		a.Join(a1, "r")
		ref := a.FetchSockets(core.Target{Nsp: "/"})
		id := Last[wire.ClusterPublish](a).Msg.RequestID
		c.Drop()
		for _, m := range []wire.ClusterMessage{
			{Type: 0, Nsp: "/"},
			{Type: 200, Nsp: "/", RequestID: id},
			{Type: wire.ClusterBroadcast, Nsp: "/nope", Data: []byte(`["x"]`)},
			{Type: wire.ClusterFetchSockets, Nsp: "/"},                                                                    // no request id: no answer
			{Type: wire.ClusterAllRooms, Nsp: "/"},                                                                        // likewise
			{Type: wire.ClusterAllRoomsResponse, Nsp: "/", RequestID: "unknown", JoinRooms: []string{"z"}},                // not ours
			{Type: wire.ClusterBroadcastAck, Nsp: "/", RequestID: id, Data: []byte(`[1]`)},                                // a fetch is no broadcast
			{Type: wire.ClusterServerSideEmitResponse, Nsp: "/", RequestID: id},                                           // likewise
			{Type: wire.ClusterBroadcast, Nsp: "/", RequestID: "theirs", Rooms: []string{"empty"}, Data: []byte(`["q"]`)}, // counts 0
			{Type: wire.ClusterBroadcast, Nsp: "/", Except: []string{"r"}, Data: []byte(`["nobody"]`)},
			{Type: wire.ClusterSocketsJoin, Nsp: "/", JoinRooms: []string{"from far"}},
			{Type: wire.ClusterSocketsLeave, Nsp: "/", Rooms: []string{"from far"}, JoinRooms: []string{"r"}},
		} {
			a.In(wire.ClusterReceived{Msg: m})
		}
		a.Rooms(a1)
		a.In(wire.ClusterServers{RequestID: "unknown", Servers: 2})
		a.In(wire.ClusterServers{RequestID: id, Servers: 0}) // a failed count: wait for the timeout
		a.In(wire.ClusterServers{RequestID: id, Servers: -1})
		// Other servers' serverSideEmit acks are bounded by MaxPendingAcks:
		// the oldest is forgotten.
		for _, rid := range []string{"r1", "r2", "r3"} {
			a.In(wire.ClusterReceived{Msg: wire.ClusterMessage{Type: wire.ClusterServerSideEmit, Nsp: "/", RequestID: rid, Data: []byte(`["ask"]`)}})
		}
		last := Last[wire.ServerSideEmitReceived](a).Ack
		a.Ack(last-2, `["too late"]`) // ErrUnknownAck
		a.Ack(last, `["ok"]`)
		c.Drop()
		c.Advance(5 * time.Second)
		a.Done(ref)
	}},
}

// Join runs Machine.Join.
func (d *D) Join(id wire.SocketID, rooms ...string) {
	d.Do(fmt.Sprintf("Join %s %q", id, rooms), func(clock.Instant) any { return d.M.Join(id, rooms...) })
}

// Rooms queries Machine.Rooms.
func (d *D) Rooms(id wire.SocketID) []string {
	return d.Query("Rooms "+string(id), func() any { return d.M.Rooms(id) }).([]string)
}
