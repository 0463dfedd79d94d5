package conformance

import (
	"fmt"
	"time"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/engine"
	"github.com/socketcore/socketcore/core/wire"
)

// EngineScenarios is the table of the engine-only machine (d.E): the plain
// Engine.IO server that the official engine.io v4 suite is pointed at.
// Conn ids are chosen by each scenario; sids come from the machine.
var EngineScenarios = []Scenario{
	{Name: "engine handshake", Steps: func(d *D) {
		d.PollOpen(1)
		d.WantBody(1, `"upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":65536}`)
		d.WSOpen(2)
		d.WantSent(2, `"upgrades":[],"pingInterval":300`)
		// The official server's errors.
		for i, q := range []string{
			"EIO=4&transport=carrier-pigeon", // unknown transport
			"EIO=3&transport=polling",        // unsupported protocol
			"transport=polling",              // no protocol version
			"EIO=4&transport=polling&sid=nope",
		} {
			d.In(wire.HTTPRequest{Conn: wire.ConnID(10 + i), Method: "GET", Query: q})
		}
		d.In(wire.HTTPRequest{Conn: 20, Method: "POST", Query: "EIO=4&transport=polling"}) // bad handshake method
		d.In(wire.HTTPRequest{Conn: 21, Method: "GET", Query: "EIO=4&transport=websocket&sid=nope", WebSocket: true})
		d.In(wire.HTTPRequest{Conn: 22, Method: "GET", Query: "EIO=4&transport=websocket"}) // no upgrade header
		d.Query("Stats", func() any { return d.E.Stats() })
	}},
	{Name: "engine handshake, websocket only", Config: func(c *core.Config) { c.Transports = engine.WebSocket }, Steps: func(d *D) {
		d.In(wire.HTTPRequest{Conn: 1, Method: "GET", Query: "EIO=4&transport=polling"})
		d.WSOpen(2)
	}},
	{Name: "engine polling echo", Steps: func(d *D) {
		sid := d.PollOpen(1)
		d.Get(2, sid) // parked
		d.Post(3, sid, "4hello\x1ebAQID\x1e4wörld")
		d.Echo() // the first echo answers the parked GET, the others wait
		d.Post(4, sid, "4no GET parked")
		d.Echo()
		d.EngineSend(sid, []wire.Frame{Msg("volatile, no GET")}, true, false) // dropped
		d.EngineSend(sid, []wire.Frame{Msg("compressed")}, false, true)
		d.Get(5, sid)
		d.WantBody(5, "bAQID\x1e4wörld\x1e4no GET parked\x1e4compressed")
		d.EngineSend("nope", []wire.Frame{Msg("x")}, false, false) // engine.ErrUnknownSession
		d.Get(6, sid)
		d.Get(7, sid) // a second GET: the session closes
		d.Advance(time.Second)
	}},
	{Name: "engine polling heartbeat and client close", Steps: func(d *D) {
		sid := d.PollOpen(1)
		d.Get(2, sid)
		d.Advance(300 * time.Millisecond) // the ping answers the parked GET
		d.WantBody(2, "2")
		d.Post(3, sid, "3")
		d.Get(4, sid)
		d.Advance(300 * time.Millisecond)
		d.Post(5, sid, "3\x1e4bye")
		d.Echo()
		d.Get(6, sid)
		d.Post(7, sid, "1") // the client closes with a GET parked
		d.Advance(time.Second)
	}},
	{Name: "engine websocket upgrade", Steps: func(d *D) {
		sid := d.PollOpen(1)
		d.Get(2, sid) // parked during the upgrade
		d.In(wire.HTTPRequest{Conn: 5, Method: "GET", Query: "EIO=4&transport=websocket&sid=" + string(sid), WebSocket: true})
		Must[wire.AcceptWebSocket](d)
		d.WS(5, "2probe")
		d.WantSent(5, "3probe")
		d.WantBody(2, "6")
		d.Post(3, sid, "4during the upgrade")
		d.Echo() // buffered for the new transport
		d.WS(5, "5")
		Must[wire.SessionUpgraded](d)
		d.WS(5, "4after")
		d.Echo()
		d.WantSent(5, "4after")
		d.WSBin(5, []byte{0xca, 0xfe})
		d.Echo()
		d.EngineSend(sid, []wire.Frame{Msg("flags")}, true, true)
		d.Get(6, sid) // polling after the upgrade: refused
		d.Advance(300 * time.Millisecond)
		d.WS(5, "3")
		d.In(wire.Closed{Conn: 5})
		d.Advance(time.Second)
	}},
	{Name: "engine ping timeout", Steps: func(d *D) {
		d.WSOpen(1)
		sid := d.PollOpen(2)
		d.Advance(300 * time.Millisecond) // both pinged; polling has no GET: buffered
		d.WantSent(1, "2")
		d.WS(1, "3")
		d.Get(3, sid)
		d.WantBody(3, "2")
		d.Advance(250 * time.Millisecond) // no pong on polling: ping timeout
		d.Advance(300 * time.Millisecond) // the WebSocket is pinged again
		d.Advance(250 * time.Millisecond) // and does not answer
		d.Query("Stats", func() any { return d.E.Stats() })
	}},
	{Name: "engine close all", Steps: func(d *D) {
		d.WSOpen(1)
		p := d.PollOpen(2)
		d.Get(3, p) // parked
		q := d.PollOpen(4)
		d.EngineSend(q, []wire.Frame{Msg("pending")}, false, false) // no GET
		d.CloseAll()
		d.Get(5, q)
		d.Get(6, p)
		d.Advance(time.Minute)
	}},
	{Name: "engine limits and bad input", Config: func(c *core.Config) {
		c.MaxPayload = 16
		c.MaxBufferedBytes = 64
	}, Steps: func(d *D) {
		sid := d.PollOpen(1)
		d.In(wire.HTTPRequest{Conn: 2, Method: "POST", Query: "EIO=4&transport=polling&sid=" + string(sid), TooLarge: true})
		sid = d.PollOpen(3)
		d.Post(4, sid, "4x\x1e9nonsense") // an unknown packet type
		d.WSOpen(5)
		d.WS(5, "4 more than sixteen bytes")
		d.In(wire.Recv{Conn: 99, Data: []byte("4nobody")})
		d.In(wire.Closed{Conn: 98, Error: true})
		d.WSOpen(6)
		d.WSBin(6, []byte{1, 2, 3})
		d.Echo()
		d.WS(6, "") // an empty frame
		q := d.PollOpen(7)
		for i := 0; i < 8; i++ { // over MaxBufferedBytes with no GET
			d.EngineSend(q, []wire.Frame{Msg("0123456789")}, false, false)
		}
	}},
}

// Msg is the frame of an Engine.IO text message.
func Msg(s string) wire.Frame { return wire.Frame{Data: []byte("4" + s)} }

// EngineSend runs EngineMachine.Send.
func (d *D) EngineSend(sid wire.SID, fs []wire.Frame, volatile, compress bool) {
	d.Do(fmt.Sprintf("Send %s %s volatile=%v compress=%v", sid, frames(fs), volatile, compress), func(clock.Instant) any {
		return d.E.Send(sid, fs, volatile, compress)
	})
}

// CloseAll runs EngineMachine.CloseAll.
func (d *D) CloseAll() {
	d.Do("CloseAll", func(now clock.Instant) any { d.E.CloseAll(now); return nil })
}

// Echo sends every message of the last drain back to its session, as the
// Engine.IO conformance server does (EngineServer.SendLocked).
func (d *D) Echo() {
	var ms []wire.MessageReceived
	for _, o := range d.Out {
		if m, ok := o.(wire.MessageReceived); ok {
			ms = append(ms, m)
		}
	}
	for _, m := range ms {
		f := wire.Frame{Data: m.Data, Binary: true}
		if !m.Binary {
			f = Msg(string(m.Data))
		}
		d.EngineSend(m.SID, []wire.Frame{f}, false, false)
	}
}
