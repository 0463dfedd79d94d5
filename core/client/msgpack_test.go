package client

import (
	"strings"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/sio"
	"github.com/socketcore/socketcore/core/wire"
)

// Both machines with the msgpack parser, in every transport mode: every
// packet is one binary message, and events, acknowledgements, binary and
// connect_error go through as with the default parser.
func TestPairMsgpack(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			cfg := transportConfig(mode)
			cfg.Parser = sio.MsgpackParser
			p := newPair(t, cfg)
			p.scfg.Parser = sio.MsgpackParser
			p.start()
			l := p.logServer()
			text := 0
			p.onServer = func(o wire.Output) {
				if s, ok := o.(wire.Send); ok {
					for _, f := range s.Frames {
						if !f.Binary && len(f.Data) > 0 && f.Data[0] == '4' {
							text++ // a Socket.IO packet as text
						}
					}
				}
				switch o := o.(type) {
				case wire.EventReceived:
					l.events = append(l.events, o)
				case wire.AckResolved:
					l.acks = append(l.acks, o)
				case wire.Connected:
					l.sockets[o.Nsp] = o.Socket
				}
			}
			p.gate = func(o wire.ConnectRequested) (bool, string) {
				return strings.Contains(string(o.Auth), "secret"), "unauthorized"
			}
			p.add("/", SocketOptions{Auth: []byte(`{"a":1}`)})
			p.add("/chat", SocketOptions{})
			p.add("/secure", SocketOptions{Auth: []byte(`{"token":"bad"}`)})
			p.until(time.Second, "connected", func() bool { return p.connected("/") && p.connected("/chat") })
			ce, _ := p.lastNote(func(o wire.Output) bool { _, ok := o.(wire.ConnectError); return ok }).(wire.ConnectError)
			if ce.Nsp != "/secure" || ce.Message != "unauthorized" || string(ce.Data) != `{"code":42}` {
				t.Fatalf("connect_error %s", describe(ce))
			}
			if mode == "upgrade" {
				p.until(time.Second, "upgraded", func() bool { return countNotes[wire.EngineUpgraded](p) == 1 })
			}
			ref := p.emit("/chat", Emit{Data: []byte(`["hello",{"_placeholder":true,"num":0},2.5]`), Attachments: [][]byte{{0xff, 0}}, WithAck: true})
			if len(l.events) != 1 || l.events[0].Name != "hello" || l.events[0].Ack == 0 || len(l.events[0].Attachments) != 1 ||
				string(l.events[0].Attachments[0]) != "\xff\x00" || string(l.events[0].Data) != `["hello",{"_placeholder":true,"num":0},2.5]` {
				t.Fatalf("server got %+v", l.events)
			}
			p.server(func(now clock.Instant, s *core.Server) error {
				return s.Ack(l.events[0].Ack, []byte(`["hi",{"_placeholder":true,"num":0}]`), [][]byte{{7}})
			})
			if a, ok := p.ackResolved(ref); !ok || string(a.Args) != `["hi",{"_placeholder":true,"num":0}]` || len(a.Attachments) != 1 || a.Attachments[0][0] != 7 {
				t.Fatalf("ack %s", describe(a))
			}
			var sref wire.AckRef
			p.server(func(now clock.Instant, s *core.Server) error {
				var err error
				sref, err = s.Emit(now, core.Emit{Socket: l.sockets["/"], Data: []byte(`["news",1]`), WithAck: true})
				return err
			})
			e := p.events[len(p.events)-1]
			if e.Name != "news" || e.Ack == 0 || string(e.Data) != `["news",1]` {
				t.Fatalf("client got %s", describe(e))
			}
			p.do(func(now clock.Instant) error { return p.c.Ack(now, e.Ack, []byte(`["thanks"]`), nil) })
			if len(l.acks) != 1 || l.acks[0].Ref != sref || string(l.acks[0].Args) != `["thanks"]` {
				t.Fatalf("server ack %+v", l.acks)
			}
			if text != 0 {
				t.Fatalf("%d Socket.IO packets sent as text", text)
			}
		})
	}
}

// A client whose parser is not the server's fails as the JS client does:
// the server refuses its text CONNECT (parse error), or it cannot read the
// server's binary one.
func TestPairParserMismatch(t *testing.T) {
	for _, clientMsgpack := range []bool{false, true} {
		cfg := transportConfig("websocket")
		cfg.NoReconnection = true
		if clientMsgpack {
			cfg.Parser = sio.MsgpackParser
		}
		p := newPair(t, cfg)
		if !clientMsgpack {
			p.scfg.Parser = sio.MsgpackParser
			p.start()
		}
		p.add("/", SocketOptions{})
		p.run(time.Second)
		if p.connected("/") {
			t.Fatalf("client msgpack=%v: connected", clientMsgpack)
		}
	}
}
