package core

// The server with the msgpack parser (Config.Parser = sio.MsgpackParser,
// socket.io-msgpack-parser): every packet is one binary message; records
// keep the default parser's form (JSON data, placeholders + attachments).
// The expected bytes are written out in hex; core/sio/testdata/msgpack.json
// holds the real parser's vectors.

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/sio"
	"github.com/socketcore/socketcore/core/wire"
)

func msgpackConfig() Config {
	c := testConfig()
	c.Parser = sio.MsgpackParser
	return c
}

// mph is a binary Engine.IO packet from hex (spaces ignored), as
// tclient.send and want take it.
func mph(s string) string {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return "b" + base64.StdEncoding.EncodeToString(b)
}

// mpp is the binary Engine.IO packet of p as the msgpack parser writes it.
func mpp(p sio.Packet, atts ...[]byte) string {
	b, err := sio.AppendMsgpack(nil, p, atts)
	if err != nil {
		panic(err)
	}
	return "b" + base64.StdEncoding.EncodeToString(b)
}

// What socket.io-client@4.8.4 with the msgpack parser sends (see
// core/sio/testdata/msgpack.json): CONNECT without auth has data: undefined.
const (
	mpConnectRoot   = "83 a474797065 00 a464617461 d40000 a36e7370 a12f"
	mpConnectCustom = "83 a474797065 00 a464617461 d40000 a36e7370 a72f637573746f6d"
)

// readMsgpack pops the next message the client gets, which must be one
// binary message, and decodes it.
func (c *tclient) readMsgpack() sio.Packet {
	c.h.t.Helper()
	var b []byte
	if c.ws != 0 {
		f := c.frame()
		if !f.Binary {
			c.h.fatalf("text frame %q with the msgpack parser", f.Data)
		}
		b = f.Data
	} else {
		c.poll()
		body := string(c.h.wantRespondTo(c.get).Body)
		c.get = 0
		if !strings.HasPrefix(body, "b") || strings.Contains(body, "\x1e") {
			c.h.fatalf("polling body %q, want one binary packet", body)
		}
		var err error
		if b, err = base64.StdEncoding.DecodeString(body[1:]); err != nil {
			c.h.fatalf("polling body %q: %v", body, err)
		}
	}
	p, _, err := sio.DecodeMsgpack(b, sio.Limits{})
	if err != nil {
		c.h.fatalf("message %x: %v", b, err)
	}
	return p
}

// joinMsgpack connects nsp as the official client does and checks the
// reply: exactly {type: 0, data: {sid}, nsp}.
func (c *tclient) joinMsgpack(nsp string) wire.SocketID {
	c.h.t.Helper()
	if nsp == "/" {
		c.send(mph(mpConnectRoot))
	} else {
		c.send(mph(mpConnectCustom))
	}
	p := c.readMsgpack()
	var m map[string]any
	if p.Type != sio.Connect || p.Nsp != nsp || json.Unmarshal(p.Data, &m) != nil || len(m) != 1 {
		c.h.fatalf("CONNECT reply %+v %s", p, p.Data)
	}
	id, _ := m["sid"].(string)
	if len(id) != 20 {
		c.h.fatalf("CONNECT reply sid %q", m["sid"])
	}
	c.h.wantApp(wire.Connected{Socket: wire.SocketID(id), SID: c.sid, Nsp: nsp})
	return wire.SocketID(id)
}

func TestMsgpackConnect(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			h := newHarness(t, msgpackConfig())
			h.s.AddNamespace("/custom", false)
			c := h.connect(tr)
			id := c.joinMsgpack("/")
			// the reply's exact bytes: {type, data: {sid}, nsp}
			c.send(mph(mpConnectCustom))
			want := "83 a474797065 00 a464617461 81 a3736964 b4 %s a36e7370 a72f637573746f6d"
			p := c.readMsgpack()
			var m map[string]string
			json.Unmarshal(p.Data, &m)
			h.wantApp(wire.Connected{Socket: wire.SocketID(m["sid"]), SID: c.sid, Nsp: "/custom"})
			raw, _ := sio.AppendMsgpack(nil, p, nil)
			if got, w := hex.EncodeToString(raw), strings.ReplaceAll(strings.Replace(want, "%s", hex.EncodeToString([]byte(m["sid"])), 1), " ", ""); got != w {
				t.Fatalf("CONNECT reply %s, want %s", got, w)
			}
			// a namespace nobody registered: CONNECT_ERROR {message}
			c.send(mph("82 a474797065 00 a36e7370 a5 2f6e6f7065"))
			c.want(mph("83 a474797065 04 a464617461 81 a76d657373616765 b1 496e76616c6964206e616d657370616365 a36e7370 a52f6e6f7065"))
			// the server disconnects "/": {type: 1, nsp}
			h.do("Disconnect", func(now clock.Instant) error { return h.s.Disconnect(now, id, false) })
			c.want(mph("82 a474797065 01 a36e7370 a12f"))
			h.wantLeft(id, wire.ReasonServerNamespaceDisconnect, string(id))
			h.wantIdle()
		})
	}
}

func TestMsgpackAuthAndRefusal(t *testing.T) {
	h := newHarness(t, msgpackConfig())
	h.s.AddNamespace("/custom", true)
	c := h.connect("websocket")
	// {type: 0, data: {token: "t", n: 1.5, b: <bin>}, nsp: "/custom"}: binary in auth is refused
	c.send(mph("83 a474797065 00 a464617461 82 a5746f6b656e a174 a162 c40101 a36e7370 a72f637573746f6d"))
	h.wantSession(wire.SessionClosed{SID: c.sid, Reason: wire.ReasonForcedClose})
	c.wantClosedConn()
	h.wantIdle()

	c = h.connect("websocket")
	c.send(mph("83 a474797065 00 a464617461 82 a5746f6b656e a174 a16e cb3ff8000000000000 a36e7370 a72f637573746f6d"))
	req := app[wire.ConnectRequested](h)
	if req.Nsp != "/custom" || string(req.Auth) != `{"token":"t","n":1.5}` {
		t.Fatalf("ConnectRequested %+v, auth %s", req, req.Auth)
	}
	h.do("RejectConnect", func(now clock.Instant) error {
		return h.s.RejectConnect(now, req.Socket, "unauthorized", []byte(`{"reason":"bad"}`))
	})
	// {type: 4, data: {message, data: {reason}}, nsp}
	c.want(mph("83 a474797065 04 a464617461 82 a76d657373616765 ac 756e617574686f72697a6564 a464617461 81 a6726561736f6e a3626164 a36e7370 a72f637573746f6d"))
	h.wantIdle()
}

func TestMsgpackEventsAndAcks(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			h := newHarness(t, msgpackConfig())
			c := h.connect(tr)
			id := c.joinMsgpack("/")
			// the client: {type: 2, data: ["up", <01 02 03>, {deep: [<ff>]}], options: {compress: true}, id: 7, nsp: "/"}
			c.send(mph("85 a474797065 02 a464617461 93 a27570 c403010203 81 a464656570 91 c401ff" +
				" a76f7074696f6e73 81 a8636f6d7072657373 c3 a26964 07 a36e7370 a12f"))
			ev := app[wire.EventReceived](h)
			if ev.Name != "up" || string(ev.Data) != `["up",{"_placeholder":true,"num":0},{"deep":[{"_placeholder":true,"num":1}]}]` ||
				len(ev.Attachments) != 2 || !bytes.Equal(ev.Attachments[0], []byte{1, 2, 3}) || !bytes.Equal(ev.Attachments[1], []byte{0xff}) || ev.Ack == 0 {
				t.Fatalf("EventReceived %s", describe(ev))
			}
			// the answer: {id: 7, type: 3, data: ["ok", <09>], nsp: "/"}
			h.ack(ev.Ack, `["ok",{"_placeholder":true,"num":0}]`, []byte{9})
			c.want(mph("84 a26964 07 a474797065 03 a464617461 92 a26f6b c40109 a36e7370 a12f"))

			// the server asks: {type: 2, data: ["q", 1, -2, 0.5, "é"], id: 0, nsp: "/"}
			ref := h.emit(Emit{Socket: id, Data: []byte(`["q",1,-2,0.5,"é"]`), WithAck: true})
			c.want(mph("84 a474797065 02 a464617461 95 a171 01 fe cb3fe0000000000000 a2c3a9 a26964 00 a36e7370 a12f"))
			// the client answers {type: 3, id: 0, data: [<0a0b>, null], nsp: "/"}
			c.send(mph("84 a474797065 03 a26964 00 a464617461 92 c4020a0b c0 a36e7370 a12f"))
			res := app[wire.AckResolved](h)
			if res.Ref != ref || string(res.Args) != `[{"_placeholder":true,"num":0},null]` || len(res.Attachments) != 1 || !bytes.Equal(res.Attachments[0], []byte{0x0a, 0x0b}) {
				t.Fatalf("AckResolved %s", describe(res))
			}
			// an event with no ack and a numeric name
			c.send(mph("83 a474797065 02 a464617461 92 2a a178 a36e7370 a12f"))
			h.wantApp(wire.EventReceived{Socket: id, Name: "42", Data: []byte(`[42,"x"]`)})
			// an event named null: valid for the parser, nothing to deliver
			c.send(mph("83 a474797065 02 a464617461 91 c0 a36e7370 a12f"))
			h.wantIdle()
			if !h.s.Connected(id) {
				t.Fatal("disconnected")
			}
		})
	}
}

func TestMsgpackBroadcastEncodedOnce(t *testing.T) {
	h := newHarness(t, msgpackConfig())
	a, b, p := h.connect("websocket"), h.connect("websocket"), h.connect("polling")
	a.joinMsgpack("/")
	b.joinMsgpack("/")
	p.joinMsgpack("/")
	h.broadcast(Broadcast{Nsp: "/", Data: []byte(`["news",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1, 2}}})
	frame := mph("83 a474797065 02 a464617461 92 a46e657773 c4020102 a36e7370 a12f")
	bc := h.wantBroadcast([]wire.ConnID{a.ws, b.ws}, frame)
	if len(bc.Frames) != 1 {
		t.Fatalf("%d frames", len(bc.Frames))
	}
	p.want(frame)
	h.wantIdle()
}

// A message the msgpack parser cannot take closes the connection, as
// client.ts onerror does on the Decoder's exception.
func TestMsgpackBadMessagesCloseTheConnection(t *testing.T) {
	tests := []struct {
		name    string
		joined  bool
		packets []string
	}{
		{"text message", true, []string{`42["x"]`}},
		{"text message before connect", false, []string{"40"}},
		{"malformed", true, []string{mph("83 a474797065 02")}},
		{"trailing byte", true, []string{mph("82 a474797065 01 a36e7370 a12f 00")}},
		{"not a map", true, []string{mph("93 02 91 a178 a12f")}},
		{"type 5", true, []string{mph("83 a474797065 05 a464617461 91 a178 a36e7370 a12f")}},
		{"namespace a number", true, []string{mph("82 a474797065 01 a36e7370 01")}},
		{"event data a map", true, []string{mph("83 a474797065 02 a464617461 80 a36e7370 a12f")}},
		{"id 1.5", true, []string{mph("84 a474797065 02 a464617461 91 a178 a26964 cb3ff8000000000000 a36e7370 a12f")}},
		{"reserved event name", true, []string{mph("83 a474797065 02 a464617461 91 aa646973636f6e6e656374 a36e7370 a12f")}},
		{"too many attachments", true, []string{mph("83 a474797065 02 a464617461 9c a178" + strings.Repeat(" c40101", 11) + " a36e7370 a12f")}},
		{"too deep", true, []string{mph("83 a474797065 03 a464617461" + strings.Repeat(" 91", 65) + " c0 a36e7370 a12f")}},
		{"duplicate CONNECT", true, []string{mph(mpConnectRoot)}},
		{"packet for a namespace not joined", true, []string{mph("83 a474797065 02 a464617461 91 a178 a36e7370 a72f637573746f6d")}},
		{"CONNECT_ERROR from the client", true, []string{mph("83 a474797065 04 a464617461 a178 a36e7370 a12f")}},
	}
	for _, tr := range transports {
		for _, tt := range tests {
			t.Run(tr+" "+tt.name, func(t *testing.T) {
				h := newHarness(t, msgpackConfig())
				h.s.AddNamespace("/custom", false)
				c := h.connect(tr)
				var id wire.SocketID
				if tt.joined {
					id = c.joinMsgpack("/")
				}
				c.send(tt.packets...)
				h.wantSession(wire.SessionClosed{SID: c.sid, Reason: wire.ReasonForcedClose})
				if tt.joined {
					h.wantLeft(id, wire.ReasonForcedClose, string(id))
				}
				c.wantClosedConn()
				h.wantIdle()
			})
		}
	}
}

// With the default parser a binary message that no packet announced is a
// parse error; with the msgpack parser it is how every packet comes.
func TestMsgpackDefaultParserUnchanged(t *testing.T) {
	h := newHarness(t, testConfig())
	c := h.connect("websocket")
	c.send(mph(mpConnectRoot))
	h.wantSession(wire.SessionClosed{SID: c.sid, Reason: wire.ReasonForcedClose})
	c.wantClosedConn()
	h.wantIdle()
}

// FuzzServerMsgpack drives a server with the msgpack parser: two WebSocket
// clients and one polling client join "/" (and one "/custom"), then the
// fuzz bytes become a sequence of steps — a binary message (length-prefixed,
// from the bytes), an answer to the last acknowledgement asked, or an
// emit/broadcast with JSON data cut from the bytes — checked by the
// harness on every drain (no panic, host contract, invariants). At the end
// Close leaves nothing behind.
func FuzzServerMsgpack(f *testing.F) {
	for _, s := range []string{
		mpConnectCustom,
		"84 a474797065 02 a464617461 92 a27570 c403010203 a26964 07 a36e7370 a12f",
		"84 a474797065 03 a26964 00 a464617461 91 c0 a36e7370 a12f",
		"82 a474797065 01 a36e7370 a12f",
		"83 a474797065 02 a464617461 d5050102 a36e7370 a12f",
	} {
		b, _ := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
		f.Add(append([]byte{0, byte(len(b))}, b...))
		f.Add(append([]byte{4, byte(len(b))}, b...))
	}
	f.Add([]byte{2, 10, '[', '"', 'e', '"', ',', '1', ',', '{', '}', ']', 1, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := msgpackConfig()
		cfg.MaxPayload = 512
		cfg.MaxDepth = 6
		cfg.MaxAttachments = 3
		h := newHarness(t, cfg)
		h.s.AddNamespace("/custom", false)
		clients := []*tclient{h.connect("websocket"), h.connect("websocket"), h.connect("polling")}
		var ids []wire.SocketID
		for _, c := range clients {
			ids = append(ids, c.joinMsgpack("/"))
		}
		ids = append(ids, clients[0].joinMsgpack("/custom"))
		h.keep = false
		var refs []wire.AckRef
		h.onOutput = func(o wire.Output) {
			if ev, ok := o.(wire.EventReceived); ok && ev.Ack != 0 {
				refs = append(refs, ev.Ack)
			}
		}
		for step := 0; step < 64 && len(data) >= 2; step++ {
			op, n := data[0], int(data[1])
			data = data[2:]
			msg := data[:min(n, len(data))]
			data = data[len(msg):]
			c := clients[int(op>>3)%len(clients)]
			switch op % 4 {
			case 0: // a binary message from a client
				if !h.s.Connected(ids[int(op>>3)%len(clients)]) {
					continue
				}
				if c.ws != 0 {
					h.in(wire.Recv{Conn: c.ws, Data: bytes.Clone(msg), Binary: true})
				} else {
					p := h.newConn()
					h.in(wire.HTTPRequest{Conn: p, Method: "POST", Query: pollQuery(c.sid),
						Body: []byte("b" + base64.StdEncoding.EncodeToString(msg))})
				}
			case 1: // answer the last acknowledgement asked
				if len(refs) > 0 {
					ref := refs[len(refs)-1]
					refs = refs[:len(refs)-1]
					h.do("Ack", func(clock.Instant) error { h.s.Ack(ref, msg, [][]byte{{1}}); return nil })
				}
			case 2: // an emit with host-made JSON (invalid JSON is not sent)
				id := ids[int(op>>3)%len(ids)]
				if h.s.Connected(id) {
					h.do("Emit", func(now clock.Instant) error {
						_, err := h.s.Emit(now, Emit{Socket: id, Data: bytes.Clone(msg), Attachments: [][]byte{{2}}})
						return err
					})
				}
			case 3: // a broadcast to "/"
				h.do("Broadcast", func(now clock.Instant) error {
					_, _, err := h.s.Broadcast(now, Broadcast{Nsp: "/", Data: bytes.Clone(msg)})
					return err
				})
			}
		}
		h.do("Close", func(now clock.Instant) error { h.s.Close(now); return nil })
		h.advance(time.Hour)
		if st := h.s.Stats(); st.Sockets != 0 || st.Sessions != 0 || st.InAcks != 0 || st.OutAcks != 0 {
			t.Fatalf("after Close: %+v", st)
		}
	})
}
