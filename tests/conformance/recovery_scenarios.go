package conformance

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// RecoveryScenarios is the table of connection state recovery
// (core/recovery.go, Node's connectionStateRecovery), played by Run like
// Scenarios. The scenarios act as the client does: they read the private
// id (pid) from the CONNECT answer and the offset from the last event
// they received, and come back with both in the CONNECT payload. Nothing
// of this crosses the ABI but the configuration, SetRecoveryData, and the
// recovered and data fields of ConnectRequested and Connected; the rest
// is on the wire, which the transcripts compare.
var RecoveryScenarios = []Scenario{
	{Name: "recovery: a lost websocket comes back", Config: recovery(time.Minute), Steps: func(d *D) {
		a := d.WSConnect(1, "/")
		if c := Must[wire.Connected](d); c.Recovered || c.Data != nil {
			d.Fatalf("a first connection recovered: %+v", c)
		}
		_, pid := d.ConnectReply(1, "/")
		other := d.WSConnect(2, "/")
		d.Join(a, "room")
		d.Broadcast(core.Broadcast{Nsp: "/", Data: []byte(`["news",1]`)})
		offset := d.Offset(1)
		d.WantSent(1, `42["news",1,"`+offset+`"]`)
		// Neither kept nor given an offset: with an ack, volatile.
		d.Emit(core.Emit{Socket: a, Data: []byte(`["asked"]`), WithAck: true})
		d.WantFrames(1, `420["asked"]`)
		d.Broadcast(core.Broadcast{Nsp: "/", Data: []byte(`["vol"]`), Volatile: true})
		d.WantFrames(1, `42["vol"]`)

		// The WebSocket breaks; the host attaches the socket's data.
		d.In(wire.Closed{Conn: 1, Error: true})
		if r := Must[wire.AckResolved](d); r.Err != wire.AckDisconnected {
			d.Fatalf("the pending ack: %+v", r) // acks are not recovered (nor in Node)
		}
		d.SetRecoveryData(a, `{"user":"ann"}`)

		// Meanwhile: for it (its room, its own id, everyone), and not.
		d.Advance(time.Second)
		d.Broadcast(core.Broadcast{Nsp: "/", Rooms: []string{"room"}, Data: []byte(`["to-room"]`)})
		d.Emit(core.Emit{Socket: other, Data: []byte(`["to-other"]`)})
		d.Broadcast(core.Broadcast{Nsp: "/", Rooms: []string{string(a)}, Data: []byte(`["to-id",{"_placeholder":true,"num":0}]`),
			Attachments: [][]byte{{7}}})
		d.Broadcast(core.Broadcast{Nsp: "/", Except: []string{"room"}, Data: []byte(`["not-room"]`)})
		d.Broadcast(core.Broadcast{Nsp: "/", Data: []byte(`["all"]`)})
		d.Emit(core.Emit{Socket: a, Data: []byte(`["away"]`)}) // ErrUnknownSocket: it is not connected

		// A forged pid gets a fresh socket and leaves the owner's session.
		d.ConnectWith(3, "/", Resume("AAAAAAAAAAAAAAAAAAAA", offset))
		if c := Must[wire.Connected](d); c.Socket == a || c.Recovered {
			d.Fatalf("a forged pid recovered: %+v", c)
		}

		// Back on a new session, with the pid and the last offset it saw:
		// what it missed for it, in order, then the same id and its data
		// (Node's order: the client buffers the events until connected).
		d.ConnectWith(4, "/", Resume(pid, offset))
		if c := Must[wire.Connected](d); c.Socket != a || !c.Recovered || string(c.Data) != `{"user":"ann"}` {
			d.Fatalf("recovered %+v, want %s with its data", c, a)
		}
		if id, p := d.ConnectReply(4, "/"); id != a || p != pid {
			d.Fatalf("CONNECT answer %s %s, want %s %s", id, p, a, pid)
		}
		d.WantFrames(4, `42["to-room","`, `451-["to-id",{"_placeholder":true,"num":0},"`, `42["all","`, `40{"sid":"`+string(a)+`","pid":"`+pid+`"}`)
		if rooms := d.Rooms(a); len(rooms) != 2 || rooms[1] != "room" {
			d.Fatalf("rooms after recovery %q", rooms)
		}
		d.Query("Connected", func() any { return d.M.Connected(a) })
		d.Broadcast(core.Broadcast{Nsp: "/", Rooms: []string{"room"}, Data: []byte(`["again"]`)})
		d.WantSent(4, `42["again","`)

		// The saved session is consumed: no data to attach any more, and
		// the same pid again gets a fresh socket.
		d.SetRecoveryData(a, `{}`)
		d.ConnectWith(5, "/", Resume(pid, offset))
		if c := Must[wire.Connected](d); c.Socket == a || c.Recovered {
			d.Fatalf("a replayed pid recovered again: %+v", c)
		}
	}},
	{Name: "recovery: refusals and the window", Config: func(c *core.Config) {
		recovery(10 * time.Second)(c)
		c.RecoveryMaxPackets = 3
	}, Steps: func(d *D) {
		d.Do("AddNamespace /other", func(clock.Instant) any { return d.M.AddNamespace("/other", false) })
		a := d.WSConnect(1, "/")
		_, pid := d.ConnectReply(1, "/")
		d.WSConnect(2, "/") // stays: it sees the offsets handed out meanwhile
		d.Broadcast(core.Broadcast{Nsp: "/", Data: []byte(`["x"]`)})
		old := d.Offset(1)
		d.In(wire.Closed{Conn: 1, Error: false}) // transport close: recoverable too
		var newest string
		for i := range 3 {
			d.Broadcast(core.Broadcast{Nsp: "/", Data: []byte(fmt.Sprintf(`["y",%d]`, i))})
			newest = d.Offset(2)
		}
		fresh := func(conn wire.ConnID, nsp, payload string) {
			d.t.Helper()
			d.ConnectWith(conn, nsp, payload)
			if c, ok := Find[wire.Connected](d); !ok || c.Socket == a || c.Recovered {
				d.Fatalf("%s on %s: %+v, want a fresh socket", payload, nsp, c)
			}
		}
		fresh(3, "/", Resume(pid, old))                       // past RecoveryMaxPackets: no longer kept
		fresh(4, "/", Resume("AAAAAAAAAAAAAAAAAAAA", newest)) // a forged pid
		fresh(5, "/", `{"pid":"`+pid+`"}`)                    // no offset
		fresh(6, "/", `{"pid":"`+pid+`","offset":3}`)         // not a string
		fresh(7, "/other", Resume(pid, newest))               // another namespace
		// A socket that leaves on purpose is not saved.
		c := d.WSConnect(8, "/")
		d.WS(8, "41")
		d.SetRecoveryData(c, `{}`)
		// None of that consumed a's session, but the window passes.
		d.Advance(11 * time.Second)
		d.SetRecoveryData(a, `{"late":true}`)
		fresh(9, "/", Resume(pid, newest))
		d.Query("Stats", func() any { return d.M.Stats() })
	}},
	{Name: "recovery: through a gated namespace", Config: recovery(time.Minute), Steps: func(d *D) {
		d.Do("AddNamespace /g gated", func(clock.Instant) any { return d.M.AddNamespace("/g", true) })
		d.WSOpen(1)
		d.WS(1, "40/g,")
		req := Must[wire.ConnectRequested](d)
		if req.Recovered {
			d.Fatalf("a first connection recovered: %+v", req)
		}
		d.Do("AcceptConnect", func(now clock.Instant) any { return d.M.AcceptConnect(now, req.Socket) })
		_, pid := d.ConnectReply(1, "/g")
		d.Broadcast(core.Broadcast{Nsp: "/g", Data: []byte(`["x"]`)})
		offset := d.Offset(1)
		d.In(wire.Closed{Conn: 1, Error: true})
		d.SetRecoveryData(req.Socket, `{"n":1}`)
		d.Broadcast(core.Broadcast{Nsp: "/g", Data: []byte(`["missed"]`)})

		// The application decides, knowing it is a recovery and its data;
		// nothing reaches the client before.
		d.ConnectWith(2, "/g", Resume(pid, offset))
		again := Must[wire.ConnectRequested](d)
		if again.Socket != req.Socket || !again.Recovered || string(again.Data) != `{"n":1}` {
			d.Fatalf("ConnectRequested %+v, want %s recovered with its data", again, req.Socket)
		}
		d.WantFrames(2)
		d.Do("AcceptConnect recovered", func(now clock.Instant) any { return d.M.AcceptConnect(now, again.Socket) })
		d.WantFrames(2, `42/g,["missed","`, `40/g,{"sid":"`+string(req.Socket)+`","pid":"`+pid+`"}`)
		if c := Must[wire.Connected](d); !c.Recovered || string(c.Data) != `{"n":1}` {
			d.Fatalf("Connected %+v", c)
		}

		// Lost again; this time the application refuses it.
		d.Broadcast(core.Broadcast{Nsp: "/g", Data: []byte(`["y"]`)})
		offset = d.Offset(2)
		d.In(wire.Closed{Conn: 2, Error: false})
		d.ConnectWith(3, "/g", Resume(pid, offset))
		again = Must[wire.ConnectRequested](d)
		if again.Socket != req.Socket || !again.Recovered || again.Data != nil {
			d.Fatalf("ConnectRequested %+v, want %s recovered without data", again, req.Socket)
		}
		d.Do("RejectConnect recovered", func(now clock.Instant) any {
			return d.M.RejectConnect(now, again.Socket, "not again", nil)
		})
		d.WantFrames(3, `44/g,{"message":"not again"}`)
		d.Query("Connected", func() any { return d.M.Connected(again.Socket) })
	}},
	{Name: "recovery: a polling session's ping timeout, back on a websocket", Config: func(c *core.Config) {
		c.RecoveryWindow = time.Minute
	}, Steps: func(d *D) {
		sid := d.PollOpen(1)
		d.Post(2, sid, "40")
		a := Must[wire.Connected](d).Socket
		d.Get(3, sid)
		_, pid := d.ConnectReply(3, "/")
		d.Emit(core.Emit{Socket: a, Data: []byte(`["direct"]`)}) // kept under its own id
		d.Get(4, sid)
		offset := d.Offset(4)
		d.Advance(300 * time.Millisecond) // the ping waits for a GET that never comes
		d.Advance(250 * time.Millisecond) // ping timeout
		if r := Must[wire.Disconnecting](d); r.Reason != wire.ReasonPingTimeout {
			d.Fatalf("left with %q", r.Reason)
		}
		d.Emit(core.Emit{Socket: a, Data: []byte(`["gone"]`)}) // ErrUnknownSocket: not kept
		d.Broadcast(core.Broadcast{Nsp: "/", Data: []byte(`["everyone"]`)})
		d.ConnectWith(5, "/", Resume(pid, offset))
		if c := Must[wire.Connected](d); c.Socket != a || !c.Recovered || c.Data != nil {
			d.Fatalf("recovered %+v, want %s without data", c, a)
		}
		d.WantFrames(5, `42["everyone","`, `40{"sid":"`+string(a)+`","pid":"`+pid+`"}`)
		d.Query("Transport", func() any { return d.M.Transport(a) })
	}},
}

// recovery turns connection state recovery on with window (and pings slow
// enough not to end sessions in between).
func recovery(window time.Duration) func(*core.Config) {
	return func(c *core.Config) {
		slowPing(c)
		c.RecoveryWindow = window
	}
}

// Resume is the CONNECT payload of a client coming back: its private id
// and the offset of the last event it received.
func Resume(pid, offset string) string {
	b, _ := json.Marshal(map[string]string{"pid": pid, "offset": offset})
	return string(b)
}

// ConnectWith opens a WebSocket session on conn and sends CONNECT to nsp
// with payload (a JSON object, the client's auth).
func (d *D) ConnectWith(conn wire.ConnID, nsp, payload string) {
	d.t.Helper()
	d.WSOpen(conn)
	if nsp == "/" {
		d.WS(conn, "40"+payload)
	} else {
		d.WS(conn, "40"+nsp+","+payload)
	}
}

// SetRecoveryData runs Machine.SetRecoveryData.
func (d *D) SetRecoveryData(id wire.SocketID, data string) {
	d.Do("SetRecoveryData "+string(id)+" "+data, func(clock.Instant) any { return d.M.SetRecoveryData(id, []byte(data)) })
}

// Sent returns the text packets the last drain wrote to conn, in order:
// the frames of a Send to it or of a Broadcast including it, and the
// packets of a polling response to it. Binary frames are left out.
func (d *D) Sent(conn wire.ConnID) []string {
	var out []string
	add := func(fs []wire.Frame) {
		for _, f := range fs {
			if !f.Binary {
				out = append(out, string(f.Data))
			}
		}
	}
	for _, o := range d.Out {
		switch o := o.(type) {
		case wire.Send:
			if o.Conn == conn {
				add(o.Frames)
			}
		case wire.Broadcast:
			for _, c := range o.Conns {
				if c == conn {
					add(o.Frames)
				}
			}
		case wire.Respond:
			if o.Conn == conn && o.Status == 200 && len(o.Body) > 0 {
				out = append(out, strings.Split(string(o.Body), "\x1e")...)
			}
		}
	}
	return out
}

// WantFrames checks that the last drain wrote exactly these text packets
// to conn, in order, each given by a prefix (Engine.IO type included).
func (d *D) WantFrames(conn wire.ConnID, prefixes ...string) {
	d.t.Helper()
	got := d.Sent(conn)
	ok := len(got) == len(prefixes)
	for i := 0; ok && i < len(got); i++ {
		ok = strings.HasPrefix(got[i], prefixes[i])
	}
	if !ok {
		d.Fatalf("sent to %d: %q, want packets starting with %q", conn, got, prefixes)
	}
}

// ConnectReply reads the CONNECT answer for nsp that the last drain sent
// to conn, as a client does: the socket id and the private id (pid).
func (d *D) ConnectReply(conn wire.ConnID, nsp string) (wire.SocketID, string) {
	d.t.Helper()
	prefix := "40"
	if nsp != "/" {
		prefix += nsp + ","
	}
	for _, p := range d.Sent(conn) {
		if !strings.HasPrefix(p, prefix+"{") {
			continue
		}
		var m struct{ Sid, Pid string }
		if err := json.Unmarshal([]byte(p[len(prefix):]), &m); err != nil || m.Sid == "" || m.Pid == "" {
			d.Fatalf("CONNECT answer %q: no sid and pid (%v)", p, err)
		}
		return wire.SocketID(m.Sid), m.Pid
	}
	d.Fatalf("no CONNECT answer for %s sent to %d", nsp, conn)
	return "", ""
}

// Offset reads the recovery offset of the last event the last drain sent
// to conn, as a client keeps it: the event's last argument, a string.
func (d *D) Offset(conn wire.ConnID) string {
	d.t.Helper()
	offset := ""
	for _, p := range d.Sent(conn) {
		// "42[...]", "42/nsp,[...]", "421[...]", "451-[...]": events
		if len(p) < 3 || p[0] != '4' || (p[1] != '2' && p[1] != '5') {
			continue
		}
		i := strings.IndexByte(p, '[')
		var args []json.RawMessage
		if i < 0 || json.Unmarshal([]byte(p[i:]), &args) != nil || len(args) == 0 ||
			json.Unmarshal(args[len(args)-1], &offset) != nil {
			d.Fatalf("event %q has no offset", p)
		}
	}
	if offset == "" {
		d.Fatalf("no event sent to %d", conn)
	}
	return offset
}
