package conformance

import (
	"strings"
	"time"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// Scenarios is the table. Conn ids are chosen by each scenario, as a host
// would; everything else (sids, socket ids, refs) comes from the machine.
var Scenarios = []Scenario{
	{Name: "polling session", Steps: func(d *D) {
		sid := d.PollOpen(1)
		d.WantBody(1, `"upgrades":["websocket"]`)
		d.Get(2, sid) // parked
		d.Post(3, sid, "40")
		d.WantBody(2, `40{"sid":`)
		id := Must[wire.Connected](d).Socket
		d.Post(4, sid, `42["hello",1]`+"\x1e"+`421["with ack"]`)
		if ev := Must[wire.EventReceived](d); ev.Name != "hello" {
			d.Fatalf("event %q", ev.Name)
		}
		var ref wire.AckRef
		for _, o := range d.Out {
			if ev, ok := o.(wire.EventReceived); ok && ev.Ack != 0 {
				ref = ev.Ack
			}
		}
		d.Ack(ref, `["acked"]`)
		d.Emit(core.Emit{Socket: id, Data: []byte(`["hi","there"]`)})
		d.Get(5, sid)
		d.WantBody(5, `431["acked"]`)
		d.WantBody(5, `42["hi","there"]`)
		d.Query("Transport", func() any { return d.M.Transport(id) })
		d.Get(6, sid)
		d.Advance(300 * time.Millisecond) // the ping goes out on the parked GET
		d.Post(7, sid, "3")
		d.Get(8, sid)
		d.Advance(250 * time.Millisecond)
		d.Post(9, sid, "1") // the client closes
		d.Advance(time.Second)
	}},
	{Name: "websocket session", Steps: func(d *D) {
		sid := d.WSOpen(1)
		if sid == "" {
			d.Fatalf("no sid")
		}
		d.WS(1, "40")
		id := Must[wire.Connected](d).Socket
		d.WantSent(1, `40{"sid":"`+string(id)+`"}`)
		d.WS(1, `42["echo","x"]`)
		d.WS(1, `427["ack me",{"a":[1,2]}]`)
		ref := Must[wire.EventReceived](d).Ack
		d.Ack(ref, `["done"]`)
		d.WantSent(1, `437["done"]`)
		d.Ack(ref, `["twice"]`) // ErrUnknownAck
		d.Advance(300 * time.Millisecond)
		d.WantSent(1, "2")
		d.WS(1, "3")
		d.Advance(300 * time.Millisecond)
		d.Advance(250 * time.Millisecond) // no pong: ping timeout
		Must[wire.Disconnected](d)
		d.In(wire.Closed{Conn: 1})
	}},
	{Name: "upgrade", Steps: func(d *D) {
		sid := d.PollOpen(1)
		d.Post(2, sid, "40")
		id := Must[wire.Connected](d).Socket
		d.Get(3, sid)
		d.Get(4, sid) // parked during the upgrade
		d.In(wire.HTTPRequest{Conn: 5, Method: "GET", Query: "EIO=4&transport=websocket&sid=" + string(sid), WebSocket: true})
		Must[wire.AcceptWebSocket](d)
		d.WS(5, "2probe")
		d.WantSent(5, "3probe")
		d.WantBody(4, "6")
		d.Emit(core.Emit{Socket: id, Data: []byte(`["during"]`)})
		d.WS(5, "5")
		Must[wire.SessionUpgraded](d)
		d.Query("Transport", func() any { return d.M.Transport(id) })
		d.Emit(core.Emit{Socket: id, Data: []byte(`["after"]`)})
		d.WantSent(5, `42["after"]`)
		d.Get(6, sid) // polling after the upgrade: refused
		d.Advance(time.Second)
	}},
	{Name: "upgrade timeout and refused probes", Config: func(c *core.Config) { c.UpgradeTimeout = 500 * time.Millisecond }, Steps: func(d *D) {
		sid := d.PollOpen(1)
		d.Post(2, sid, "40")
		d.In(wire.HTTPRequest{Conn: 3, Method: "GET", Query: "EIO=4&transport=websocket&sid=" + string(sid), WebSocket: true})
		d.In(wire.HTTPRequest{Conn: 4, Method: "GET", Query: "EIO=4&transport=websocket&sid=" + string(sid), WebSocket: true}) // second probe
		d.WS(3, "2probe")
		d.Advance(600 * time.Millisecond) // no "5": the probe is dropped
		d.In(wire.HTTPRequest{Conn: 5, Method: "GET", Query: "EIO=4&transport=websocket&sid=" + string(sid), WebSocket: true})
		d.WS(5, "2nonsense") // a bad probe
		d.In(wire.HTTPRequest{Conn: 6, Method: "GET", Query: "EIO=4&transport=polling&sid=" + string(sid), WebSocket: true})
	}},
	{Name: "namespaces and middleware", Steps: func(d *D) {
		d.Do("AddNamespace /admin gated", func(clock.Instant) any { return d.M.AddNamespace("/admin", true) })
		d.Do("AddNamespace /open", func(clock.Instant) any { return d.M.AddNamespace("/open", false) })
		d.WSOpen(1)
		d.WS(1, `40/admin,{"token":"t"}`)
		req := Must[wire.ConnectRequested](d)
		d.Do("AcceptConnect", func(now clock.Instant) any { return d.M.AcceptConnect(now, req.Socket) })
		d.WantSent(1, `40/admin,{"sid":"`)
		d.WS(1, `40/admin,`) // a second CONNECT for one namespace closes the session
		d.WSOpen(2)
		d.WS(2, `40/admin,`)
		req = Must[wire.ConnectRequested](d)
		d.Do("RejectConnect", func(now clock.Instant) any {
			return d.M.RejectConnect(now, req.Socket, "not authorized", []byte(`{"code":42}`))
		})
		d.WantSent(2, `44/admin,{"message":"not authorized","data":{"code":42}}`)
		d.WS(2, `40/nope,`)
		d.WantSent(2, `44/nope,{"message":"Invalid namespace"}`)
		d.WS(2, `40/open,`)
		open := Must[wire.Connected](d).Socket
		d.WS(2, `40`)
		d.WS(2, `42/open,["in open"]`)
		d.WS(2, `41/open,`)
		d.Query("Connected", func() any { return d.M.Connected(open) })
		d.WS(2, `42/open,["not joined"]`) // a packet for a namespace not joined
		d.Do("AcceptConnect unknown", func(now clock.Instant) any { return d.M.AcceptConnect(now, "nobody") })
		d.Do("AddNamespace bad", func(clock.Instant) any { return d.M.AddNamespace("bad", false) })
	}},
	{Name: "dynamic namespaces", Config: func(c *core.Config) { c.DynamicNamespaces = true }, Steps: func(d *D) {
		d.WSOpen(1)
		d.WS(1, `40/dyn-1,`)
		req := Must[wire.ConnectRequested](d)
		if req.Known {
			d.Fatalf("unknown namespace reported as known")
		}
		d.Do("AcceptConnect", func(now clock.Instant) any { return d.M.AcceptConnect(now, req.Socket) })
		d.WSOpen(2)
		d.WS(2, `40/dyn-1,`)
		req = Must[wire.ConnectRequested](d)
		d.Do("RejectConnect", func(now clock.Instant) any { return d.M.RejectConnect(now, req.Socket, "later", nil) })
		d.WS(2, `40/dyn-2,`)
		req = Must[wire.ConnectRequested](d)
		d.In(wire.Closed{Conn: 2}) // gone before the answer
		d.Do("AcceptConnect after close", func(now clock.Instant) any { return d.M.AcceptConnect(now, req.Socket) })
		d.Query("Stats", func() any { return d.M.Stats() })
	}},
	{Name: "rooms and broadcasts", Steps: func(d *D) {
		a := d.WSConnect(1, "/")
		b := d.WSConnect(2, "/")
		c := d.WSConnect(3, "/")
		psid := d.PollOpen(4)
		d.Post(5, psid, "40")
		p := Must[wire.Connected](d).Socket
		d.Get(6, psid)
		d.Get(7, psid) // parked: broadcasts answer it
		for _, j := range []struct {
			id    wire.SocketID
			rooms []string
		}{{a, []string{"red", "blue"}}, {b, []string{"red"}}, {c, []string{"blue", "muted"}}, {p, []string{"red", "muted"}}} {
			d.Do("Join "+strings.Join(j.rooms, ","), func(clock.Instant) any { return d.M.Join(j.id, j.rooms...) })
		}
		d.Query("Rooms a", func() any { return d.M.Rooms(a) })
		d.Query("SocketsIn red", func() any { return d.M.SocketsIn("/", []string{"red"}) })
		d.Query("SocketsIn red,blue", func() any { return d.M.SocketsIn("/", []string{"red", "blue"}) })
		d.Query("SocketsIn /", func() any { return d.M.SocketsIn("/", nil) })
		d.Broadcast(core.Broadcast{Nsp: "/", Data: []byte(`["all"]`)})
		d.Get(8, psid)
		d.Broadcast(core.Broadcast{Nsp: "/", Rooms: []string{"red", "blue"}, Except: []string{"muted"}, Data: []byte(`["some"]`)})
		d.Broadcast(core.Broadcast{Nsp: "/", Rooms: []string{"nobody"}, Data: []byte(`["none"]`)})
		d.Broadcast(core.Broadcast{Nsp: "/", Rooms: []string{"blue"}, Data: []byte(`["bin",{"_placeholder":true,"num":0}]`),
			Attachments: [][]byte{{1, 2, 3}}, Volatile: true, Compress: true, Local: true})
		d.Do("Leave red", func(clock.Instant) any { return d.M.Leave(b, "red") })
		d.Do("Leave own room", func(clock.Instant) any { return d.M.Leave(a, string(a)) })
		d.Query("Rooms a", func() any { return d.M.Rooms(a) })
		d.Broadcast(core.Broadcast{Nsp: "/", Rooms: []string{"red", string(c)}, Data: []byte(`["red"]`)})
		d.Do("Join unknown", func(clock.Instant) any { return d.M.Join("nobody", "x") })
		d.Do("Leave unknown", func(clock.Instant) any { return d.M.Leave("nobody", "x") })
		d.Query("Rooms unknown", func() any { return d.M.Rooms("nobody") })
		d.Query("SocketsIn unknown nsp", func() any { return d.M.SocketsIn("/nope", nil) })
		d.Broadcast(core.Broadcast{Nsp: "/nope", Data: []byte(`["x"]`)})
		d.In(wire.Closed{Conn: 2, Error: true})
		d.Get(9, psid)
	}},
	{Name: "broadcast acknowledgements", Config: slowPing, Steps: func(d *D) {
		a := d.WSConnect(1, "/")
		d.WSConnect(2, "/")
		d.WSConnect(3, "/")
		ref, n := d.Broadcast(core.Broadcast{Nsp: "/", Data: []byte(`["vote"]`), WithAck: true, Timeout: time.Second})
		if n != 3 || ref == 0 {
			d.Fatalf("broadcast: ref %d, %d targets", ref, n)
		}
		d.WS(1, `430["yes"]`)
		d.WS(2, `430["no"]`)
		d.Advance(1100 * time.Millisecond) // 3 never answers: timed out with two replies
		if r := Must[wire.BroadcastAckResolved](d); !r.TimedOut || len(r.Replies) != 2 {
			d.Fatalf("resolved %+v", r)
		}
		d.Broadcast(core.Broadcast{Nsp: "/", Data: []byte(`["again"]`), WithAck: true})
		d.WS(1, `431["a"]`)
		d.WS(2, `461-1[{"_placeholder":true,"num":0}]`)
		d.WSBin(2, []byte{9, 9})
		d.In(wire.Closed{Conn: 3}) // without a timeout a departed target stops counting
		Must[wire.BroadcastAckResolved](d)
		d.Broadcast(core.Broadcast{Nsp: "/", Rooms: []string{"empty"}, WithAck: true, Data: []byte(`["nobody"]`)})
		d.Disconnect(a)
	}},
	{Name: "emit acknowledgements", Config: slowPing, Steps: func(d *D) {
		a := d.WSConnect(1, "/")
		d.Emit(core.Emit{Socket: a, Data: []byte(`["t"]`), WithAck: true, Timeout: 500 * time.Millisecond})
		d.Advance(600 * time.Millisecond)
		if r := Must[wire.AckResolved](d); r.Err != wire.AckTimedOut {
			d.Fatalf("resolved %+v", r)
		}
		d.WS(1, "3") // pong
		d.WS(1, `430["late"]`)
		d.Emit(core.Emit{Socket: a, Data: []byte(`["answered"]`), WithAck: true, Timeout: time.Second})
		d.WS(1, `431["yes",2]`)
		d.Emit(core.Emit{Socket: a, Data: []byte(`["bin",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{0xff}}, WithAck: true})
		d.WS(1, `461-2[{"_placeholder":true,"num":0}]`)
		d.WSBin(1, []byte("att"))
		d.Emit(core.Emit{Socket: a, Data: []byte(`["pending"]`), WithAck: true})
		d.Emit(core.Emit{Socket: a, Data: []byte(`["volatile"]`), Volatile: true, Compress: true})
		d.In(wire.Closed{Conn: 1, Error: true}) // the pending ack resolves as disconnected
		d.Emit(core.Emit{Socket: a, Data: []byte(`["gone"]`)})
	}},
	{Name: "heartbeat and connect timeout", Steps: func(d *D) {
		d.WSOpen(1) // never joins a namespace
		d.WSConnect(2, "/")
		for i := 0; i < 4; i++ {
			d.Advance(300 * time.Millisecond)
			d.WS(2, "3")
		}
		d.Advance(2 * time.Second)
	}},
	{Name: "limits", Config: func(c *core.Config) {
		c.MaxAttachments = 2
		c.MaxPendingAcks = 2
		c.MaxBufferedBytes = 1024
		c.MaxDepth = 4
	}, Steps: func(d *D) {
		a := d.WSConnect(1, "/")
		d.WS(1, `421["a"]`)
		first := Must[wire.EventReceived](d).Ack
		d.WS(1, `422["b"]`)
		d.WS(1, `423["c"]`) // the oldest unanswered ack is forgotten
		d.Ack(first, "")
		d.WS(1, `42["deep",[[[[[1]]]]]]`) // deeper than MaxDepth
		d.WSConnect(2, "/")
		d.WS(2, `453-["x",{"_placeholder":true,"num":0}]`) // three attachments > 2
		d.WSConnect(3, "/")
		d.WS(3, "4"+strings.Repeat("x", 1<<16)) // over MaxPayload
		psid := d.PollOpen(4)
		d.Post(5, psid, "40")
		p := Must[wire.Connected](d).Socket
		d.Get(6, psid)
		for i := 0; i < 20; i++ { // no GET parked: the buffer overflows
			d.Emit(core.Emit{Socket: p, Data: []byte(`["` + strings.Repeat("y", 100) + `"]`)})
		}
		psid2 := d.PollOpen(7)
		d.In(wire.HTTPRequest{Conn: 8, Method: "POST", Query: "EIO=4&transport=polling&sid=" + string(psid2), TooLarge: true})
		d.Emit(core.Emit{Socket: a, Data: []byte(`["still here"]`)})
	}},
	{Name: "bad input", Steps: func(d *D) {
		for i, q := range []struct{ method, query string }{
			{"GET", "EIO=4&transport=carrier-pigeon"},
			{"GET", "EIO=3&transport=polling"},
			{"GET", "EIO=4&transport=polling&sid=unknown"},
			{"POST", "EIO=4&transport=polling"},
			{"OPTIONS", "EIO=4&transport=polling"},
			{"GET", "EIO=4&transport=websocket"},
			{"GET", ""},
			{"GET", "EIO=4&transport=polling&sid=%zz&x"},
		} {
			d.In(wire.HTTPRequest{Conn: wire.ConnID(100 + i), Method: q.method, Query: q.query})
		}
		d.In(wire.HTTPRequest{Conn: 120, Method: "GET", Query: "EIO=4&transport=polling", WebSocket: true})
		d.In(wire.Recv{Conn: 999, Data: []byte("40")}) // unknown conn
		d.In(wire.Closed{Conn: 999})
		for i, msg := range []string{"", "x", "9", "4", "42[", `42["ok"]`, "40/x", `43notanumber[]`, `49[]`, `42{"not":"array"}`} {
			c := wire.ConnID(10 + i)
			d.WSConnect(c, "/")
			d.WS(c, msg)
		}
		d.WSConnect(30, "/")
		d.WSBin(30, []byte{1, 2, 3}) // a binary frame no packet announced
		d.WSConnect(31, "/")
		d.WS(31, "2") // a ping from the client: wrong heartbeat direction
		sid := d.PollOpen(40)
		d.Get(41, sid)
		d.Get(42, sid) // overlapping GETs
		sid = d.PollOpen(43)
		d.Post(44, sid, "garbage\x1e")
		sid = d.PollOpen(45)
		d.In(wire.HTTPRequest{Conn: 46, Method: "POST", Query: "EIO=4&transport=polling&sid=" + string(sid), Binary: true, Body: []byte{0}})
		sid = d.PollOpen(47)
		d.In(wire.HTTPRequest{Conn: 48, Method: "PUT", Query: "EIO=4&transport=polling&sid=" + string(sid)})
		d.In(wire.HTTPRequest{Conn: 49, Method: "GET", Query: "EIO=4&transport=websocket&sid=" + string(sid)})
		d.Do("Disconnect unknown", func(now clock.Instant) any { return d.M.Disconnect(now, "nobody", false) })
		d.Emit(core.Emit{Socket: "nobody", Data: []byte(`["x"]`)})
		d.Ack(12345, "[]")
		d.Query("Connected unknown", func() any { return d.M.Connected("nobody") })
		d.Query("Transport unknown", func() any { return d.M.Transport("nobody") })
		d.Do("Handle nil", func(now clock.Instant) any { return d.M.Handle(now, nil) })
	}},
	{Name: "binary events", Steps: func(d *D) {
		a := d.WSConnect(1, "/")
		d.WS(1, `452-["up",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
		d.WSBin(1, []byte{0})
		d.WSBin(1, []byte{1, 2})
		if ev := Must[wire.EventReceived](d); len(ev.Attachments) != 2 {
			d.Fatalf("attachments %d", len(ev.Attachments))
		}
		d.WS(1, "bAQID") // "b"+base64: a binary message on a text frame
		d.Emit(core.Emit{Socket: a, Data: []byte(`["down",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{0xde, 0xad}}})
		psid := d.PollOpen(2)
		d.Post(3, psid, "40")
		p := Must[wire.Connected](d).Socket
		d.Get(4, psid)
		d.Emit(core.Emit{Socket: p, Data: []byte(`["down",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{0xbe, 0xef}}})
		d.Get(5, psid)
		d.WantBody(5, "bvu8=")
		d.Post(6, psid, `451-["up",{"_placeholder":true,"num":0}]`+"\x1e"+"bAQI=")
		d.Emit(core.Emit{Socket: a, Data: []byte(`["bad placeholder",{"_placeholder":true,"num":5}]`), Attachments: [][]byte{{1}}})
		d.WS(1, `451-["up",{"_placeholder":true,"num":3}]`) // a placeholder past the attachments
		d.WSBin(1, []byte{0})
	}},
	{Name: "server disconnect and close", Steps: func(d *D) {
		d.Do("AddNamespace /chat", func(clock.Instant) any { return d.M.AddNamespace("/chat", false) })
		a := d.WSConnect(1, "/")
		d.WS(1, "40/chat,")
		achat := Must[wire.Connected](d).Socket
		d.Do("Disconnect socket", func(now clock.Instant) any { return d.M.Disconnect(now, achat, false) })
		d.WantSent(1, "41/chat,")
		d.Do("Disconnect session", func(now clock.Instant) any { return d.M.Disconnect(now, a, true) })
		psid := d.PollOpen(2)
		d.Post(3, psid, "40")
		p := Must[wire.Connected](d).Socket
		d.Get(4, psid)
		d.Emit(core.Emit{Socket: p, Data: []byte(`["before close"]`)})
		d.Do("Disconnect polling session", func(now clock.Instant) any { return d.M.Disconnect(now, p, true) })
		d.Get(5, psid) // the buffer first
		d.Get(6, psid) // then the close packet
		d.Get(7, psid)
		d.WSConnect(8, "/")
		psid = d.PollOpen(9)
		d.Post(10, psid, "40")
		d.Get(11, psid)
		d.Get(12, psid)
		d.Do("Close", func(now clock.Instant) any { d.M.Close(now); return nil })
		d.Advance(time.Minute)
		d.Query("Stats", func() any { return d.M.Stats() })
	}},
	{Name: "client closes", Steps: func(d *D) {
		d.WSConnect(1, "/")
		d.WS(1, "1") // the close packet on a WebSocket
		d.WSConnect(2, "/")
		d.In(wire.Closed{Conn: 2})
		d.WSConnect(3, "/")
		d.In(wire.Closed{Conn: 3, Error: true})
		sid := d.PollOpen(4)
		d.Post(5, sid, "40")
		d.Get(6, sid)
		d.Get(7, sid)
		d.In(wire.Closed{Conn: 7}) // the parked GET's client went away
		sid = d.PollOpen(8)
		d.Post(9, sid, "40\x1e1")
		d.Get(10, sid)
	}},
}

// Disconnect disconnects a socket from the server side.
func (d *D) Disconnect(id wire.SocketID) {
	d.Do("Disconnect "+string(id), func(now clock.Instant) any { return d.M.Disconnect(now, id, false) })
}

// slowPing keeps sessions that do not answer pings alive for a minute.
func slowPing(c *core.Config) {
	c.PingInterval = 25 * time.Second
	c.PingTimeout = 20 * time.Second
}
