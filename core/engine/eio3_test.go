package engine

// Engine.IO v3 sessions (Config.AllowEIO3), each point checked against
// engine.io 6.6.13 with allowEIO3 (probed with node_modules/engine.io and
// the official v3 test suite).

import (
	"strconv"
	"strings"
	"testing"

	"github.com/socketcore/socketcore/core/eio"
	"github.com/socketcore/socketcore/core/wire"
)

const liveness = interval + timeout // v3: the client must ping within this

func v3Config() Config {
	c := suiteConfig()
	c.AllowEIO3 = true
	return c
}

func newV3Echo(t *testing.T) *harness {
	h := newHarness(t, v3Config(), nil)
	h.echo = true
	return h
}

func poll3(sid wire.SID) string { return "EIO=3&transport=polling&t=N8hyd6w&sid=" + string(sid) }
func ws3(sid wire.SID) string   { return "EIO=3&transport=websocket&sid=" + string(sid) }

// handshake3 opens a v3 polling session with the handshake query query and
// returns its sid; the response must be exactly one open packet.
func (h *harness) handshake3(query string) wire.SID {
	h.t.Helper()
	c := h.request("GET", query, false, "")
	r := h.wantRespondTo(c)
	if r.Status != 200 || r.ContentType != ContentTypePayload {
		h.t.Fatalf("v3 handshake response %s", describe(r))
	}
	n, rest, ok := strings.Cut(string(r.Body), ":")
	if !ok || n != strconv.Itoa(eio.UTF16Len([]byte(rest))) || rest[0] != '0' {
		h.t.Fatalf("v3 handshake body %q is not one length-prefixed open packet", r.Body)
	}
	o := h.wantOpen([]byte(rest[1:]), true)
	h.wantNote(wire.SessionOpened{SID: o.SID, Conn: c})
	if s := h.e.Session(o.SID); s.Protocol() != 3 {
		h.t.Fatalf("session protocol %d, want 3", s.Protocol())
	}
	return o.SID
}

func (h *harness) get3(sid wire.SID) wire.ConnID {
	h.t.Helper()
	return h.request("GET", poll3(sid), false, "")
}

func (h *harness) post3(sid wire.SID, body string) wire.ConnID {
	h.t.Helper()
	return h.request("POST", poll3(sid), false, body)
}

func (h *harness) postBinary3(sid wire.SID, body []byte) wire.ConnID {
	h.t.Helper()
	c := h.newConn()
	h.in(wire.HTTPRequest{Conn: c, Method: "POST", Query: poll3(sid), Binary: true, Body: body})
	return c
}

// wsHandshake3 opens a v3 WebSocket session (query appended).
func (h *harness) wsHandshake3(extra string) (wire.SID, wire.ConnID) {
	h.t.Helper()
	c := h.request("GET", "EIO=3&transport=websocket"+extra, true, "")
	h.wantAccept(c)
	f := h.wantFrame(c)
	if f.Binary || len(f.Data) == 0 || f.Data[0] != '0' {
		h.t.Fatalf("first WebSocket frame %q", f.Data)
	}
	o := h.wantOpen(f.Data[1:], false)
	h.wantNote(wire.SessionOpened{SID: o.SID, Conn: c, WebSocket: true})
	return o.SID, c
}

// upgrade3 upgrades the v3 polling session sid (no GET parked) to a
// WebSocket opened with query extra appended.
func (h *harness) upgrade3(sid wire.SID, extra string) wire.ConnID {
	h.t.Helper()
	c := h.request("GET", ws3(sid)+extra, true, "")
	h.wantAccept(c)
	h.recv(c, "2probe")
	h.wantFrames(c, txt("3probe"))
	h.recv(c, "5")
	h.wantNote(wire.SessionUpgraded{SID: sid, Conn: c})
	return c
}

// The v3 handshake: one "<length>:<open>" entry with the same keys as v4
// (engine.io 6.6 sends maxPayload to v3 clients too), the liveness timer at
// pingInterval+pingTimeout and no server ping. Any EIO other than "4" is v3
// (computeProtocolRevision); b64 and j do not change the open packet.
func TestV3Handshake(t *testing.T) {
	for _, q := range []string{
		"EIO=3&transport=polling",
		"EIO=3&transport=polling&t=N8hyd6w&b64=1",
		"transport=polling",
		"EIO=abc&transport=polling",
		"EIO=5&transport=polling",
	} {
		t.Run(q, func(t *testing.T) {
			h := newV3Echo(t)
			sid := h.handshake3(q)
			h.wantDeadline(t0.Add(liveness))
			g := h.get3(sid)
			h.advance(liveness - 1)
			h.wantPending(g) // no ping from the server in v3
			h.wantIdle()
		})
	}
	// a WebSocket handshake
	h := newV3Echo(t)
	h.wsHandshake3("")
	h.wantDeadline(t0.Add(liveness))
	h.wantIdle()
	// off, EIO=3 stays refused
	h = newHarness(t, suiteConfig(), nil)
	h.wantError(h.request("GET", "EIO=3&transport=polling", false, ""), ErrUnsupportedProtocol)
	h.wantUpgradeError(h.request("GET", "EIO=3&transport=websocket", true, ""), ErrUnsupportedProtocol)
}

// Polling echo in the text payload (the suite's three message tests): the
// lengths count UTF-16 code units, binary goes as "b4"+base64 to a b64
// client.
func TestV3PollingEcho(t *testing.T) {
	tests := []struct {
		name, body string
		msgs       []wire.MessageReceived
		want       string
	}{
		{"one text", "6:4hello", []wire.MessageReceived{{Data: []byte("hello")}}, "6:4hello"},
		{"three texts", "6:4test16:4test26:4test3", []wire.MessageReceived{{Data: []byte("test1")}, {Data: []byte("test2")}, {Data: []byte("test3")}}, "6:4test16:4test26:4test3"},
		{"text and base64", "6:4hello10:b4AQIDBA==", []wire.MessageReceived{{Data: []byte("hello")}, {Data: []byte{1, 2, 3, 4}, Binary: true}}, "6:4hello10:b4AQIDBA=="},
		{"utf-16 lengths", "4:4😀€2:4é", []wire.MessageReceived{{Data: []byte("😀€")}, {Data: []byte("é")}}, "4:4😀€2:4é"},
		{"empty message and empty entry", "1:40:", []wire.MessageReceived{{Data: []byte{}}}, "1:4"},
		{"leading zeros", "06:4hello", []wire.MessageReceived{{Data: []byte("hello")}}, "6:4hello"},
		{"noop, open and upgrade ignored", "1:61:41:51:0", []wire.MessageReceived{{Data: []byte{}}}, "1:4"},
		{"base64 of an unknown type ignored", "4:b9AQ1:4", []wire.MessageReceived{{Data: []byte{}}}, "1:4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newV3Echo(t)
			sid := h.handshake3("EIO=3&transport=polling&b64=1")
			h.wantOK(h.post3(sid, tt.body))
			for _, m := range tt.msgs {
				m.SID = sid
				h.wantNote(m)
			}
			h.wantPayload(h.get3(sid), tt.want)
			h.wantIdle()
		})
	}
}

// A client that supports binary (no b64) gets the v3 binary payload as soon
// as a payload holds a binary message (the suite's "(binary)" test, byte for
// byte), the text payload otherwise; binary POSTs are decoded.
func TestV3BinaryPayload(t *testing.T) {
	h := newV3Echo(t)
	sid := h.handshake3("EIO=3&transport=polling")
	h.wantOK(h.post3(sid, "6:4hello10:b4AQIDBA=="))
	h.wantMessage(sid, "hello", false)
	h.wantMessage(sid, "\x01\x02\x03\x04", true)
	want := []byte{0, 6, 255, '4', 'h', 'e', 'l', 'l', 'o', 1, 5, 255, 4, 1, 2, 3, 4}
	h.wantRespond(h.get3(sid), 200, ContentTypeBinary, string(want))
	h.wantIdle()

	// text only: the text payload
	h.wantOK(h.post3(sid, "6:4hello"))
	h.wantMessage(sid, "hello", false)
	h.wantPayload(h.get3(sid), "6:4hello")

	// a binary POST (application/octet-stream); text entries count bytes
	body := []byte{0, 8, 255, '4', 0xf0, 0x9f, 0x98, 0x80, 0xe2, 0x82, 0xac, 1, 4, 255, 4, 9, 8, 7, 0, 1, 255, '6', 1, 2, 255, 2, 1}
	h.wantOK(h.postBinary3(sid, body))
	h.wantMessage(sid, "😀€", false)
	h.wantMessage(sid, "\x09\x08\x07", true)
	g := h.get3(sid)
	// the binary ping's pong (queued while the POST is read, before the
	// harness echoes), then the echoes
	want = []byte{0, 1, 255, '3', 0, 8, 255, '4', 0xf0, 0x9f, 0x98, 0x80, 0xe2, 0x82, 0xac, 1, 4, 255, 4, 9, 8, 7}
	h.wantRespond(g, 200, ContentTypeBinary, string(want))
	h.wantIdle()
	h.wantDeadline(h.now.Add(liveness))

	// an empty binary body holds no packet
	h.wantOK(h.postBinary3(sid, nil))
	h.wantIdle()
}

// Malformed v3 POSTs: "ok", and the session closes with "parse error"
// (the suite: a GET afterwards gets 400). A pong is "invalid heartbeat
// direction" (transport error).
func TestV3PollingErrors(t *testing.T) {
	tests := []struct {
		name, body string
		binary     bool
		delivered  []string
		reason     string
	}{
		{"not a payload", "abc", false, nil, wire.ReasonParseError},
		{"empty body", "", false, nil, wire.ReasonParseError},
		{"no colon", "6", false, nil, wire.ReasonParseError},
		{"length past the end", "7:4hello", false, nil, wire.ReasonParseError},
		{"packets before the error are delivered", "2:4a3:4b", false, []string{"a"}, wire.ReasonParseError},
		{"bad type", "1:9", false, nil, wire.ReasonParseError},
		{"a length splitting a surrogate pair", "2:4😀", false, nil, wire.ReasonParseError},
		{"non-digit length", "1.0:4", false, nil, wire.ReasonParseError},
		{"bad base64", "4:b4@@", false, nil, wire.ReasonParseError},
		{"binary: no 255", "\x00\x01", true, nil, wire.ReasonParseError},
		{"binary: short", "\x00\x05\xff4ab", true, nil, wire.ReasonParseError},
		{"binary: structure error delivers nothing", "\x00\x02\xff4a\x00\x09", true, nil, wire.ReasonParseError},
		{"binary: invalid utf-8 after a good one", "\x00\x02\xff4a\x00\x02\xff4\xff", true, []string{"a"}, wire.ReasonParseError},
		{"pong", "1:3", false, nil, wire.ReasonTransportError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newV3Echo(t)
			sid := h.handshake3("EIO=3&transport=polling&b64=1")
			var p wire.ConnID
			if tt.binary {
				p = h.postBinary3(sid, []byte(tt.body))
			} else {
				p = h.post3(sid, tt.body)
			}
			h.wantOK(p)
			for _, d := range tt.delivered {
				h.wantMessage(sid, d, false)
			}
			h.wantClosed(sid, tt.reason)
			h.wantError(h.get3(sid), ErrUnknownSID)
			h.wantIdle()
		})
	}
}

// The v3 heartbeat over polling (the suite's test): the client pings, the
// server answers a bare pong and restarts its liveness timer; without a ping
// the session closes at exactly pingInterval+pingTimeout ("ping timeout").
func TestV3HeartbeatPolling(t *testing.T) {
	h := newV3Echo(t)
	sid := h.handshake3("EIO=3&transport=polling&b64=1")
	for range 3 {
		h.advance(interval)
		h.wantOK(h.post3(sid, "1:2"))
		h.wantDeadline(h.now.Add(liveness))
		h.wantPayload(h.get3(sid), "1:3")
		h.wantIdle()
	}
	// a ping's data is not echoed; messages do not count as pings
	h.wantOK(h.post3(sid, "6:2probe"))
	h.wantPayload(h.get3(sid), "1:3")
	last := h.now
	h.advance(interval)
	h.wantOK(h.post3(sid, "2:4x"))
	h.wantMessage(sid, "x", false)
	h.wantPayload(h.get3(sid), "2:4x")
	h.wantDeadline(last.Add(liveness))
	h.advanceTo(last.Add(liveness - 1))
	h.wantIdle()
	h.advance(1)
	h.wantClosed(sid, wire.ReasonPingTimeout)
	h.wantIdle()
	h.wantDeadline(0)
	// the suite: a POST after the timeout gets 400
	h.wantError(h.post3(sid, "1:2"), ErrUnknownSID)
}

// A GET parked at the ping timeout gets the close packet.
func TestV3HeartbeatTimeoutWithGet(t *testing.T) {
	h := newV3Echo(t)
	sid := h.handshake3("EIO=3&transport=polling&b64=1")
	g := h.get3(sid)
	h.advance(liveness)
	h.wantPayload(g, "1:1")
	h.wantClosed(sid, wire.ReasonPingTimeout)
	h.wantIdle()
}

// The v3 heartbeat over WebSocket, binary pings included; a silent client
// is closed at pingInterval+pingTimeout after its last ping.
func TestV3HeartbeatWebSocket(t *testing.T) {
	h := newV3Echo(t)
	sid, ws := h.wsHandshake3("")
	for _, ping := range []string{"2", "2probe", "2x"} {
		h.advance(interval)
		h.recv(ws, ping)
		h.wantFrames(ws, txt("3"))
		h.wantDeadline(h.now.Add(liveness))
	}
	h.recvBinary(ws, []byte{2, 7})
	h.wantFrames(ws, txt("3"))
	h.advance(liveness - 1)
	h.wantIdle()
	h.advance(1)
	h.wantCloseConn(ws)
	h.wantClosed(sid, wire.ReasonPingTimeout)
	h.wantIdle()

	// the suite's "closes the session upon ping timeout": never pinging
	h = newV3Echo(t)
	sid, ws = h.wsHandshake3("")
	h.advance(liveness)
	h.wantCloseConn(ws)
	h.wantClosed(sid, wire.ReasonPingTimeout)

	// a pong: invalid heartbeat direction
	h = newV3Echo(t)
	sid, ws = h.wsHandshake3("")
	h.recv(ws, "3")
	h.wantCloseConn(ws)
	h.wantClosed(sid, wire.ReasonTransportError)
	h.wantIdle()
}

// v3 WebSocket messages: a binary frame is the type byte and the data both
// ways (the suite's [4,1,2,3,4]); unknown types are ignored; an empty or
// malformed text frame is a parse error. b64=1: binary goes as "b4"+base64.
func TestV3WebSocketMessages(t *testing.T) {
	h := newV3Echo(t)
	sid, ws := h.wsHandshake3("")
	h.recv(ws, "4hello")
	h.wantMessage(sid, "hello", false)
	h.wantFrames(ws, txt("4hello"))
	h.recvBinary(ws, []byte{4, 1, 2, 3, 4})
	h.wantMessage(sid, "\x01\x02\x03\x04", true)
	h.wantFrames(ws, bin(4, 1, 2, 3, 4))
	h.recv(ws, "b4AQI=")
	h.wantMessage(sid, "\x01\x02", true)
	h.wantFrames(ws, bin(4, 1, 2))
	for _, f := range []wire.Recv{{Data: []byte{9, 1}, Binary: true}, {Binary: true}, {Data: []byte("b9AQ==")}, {Data: []byte("b")}, {Data: []byte{6}, Binary: true}} {
		f.Conn = ws
		h.in(f)
		h.wantIdle()
	}
	for _, bad := range []string{"", "abc", "9", "b4@@"} {
		h := newV3Echo(t)
		sid, ws := h.wsHandshake3("")
		h.recv(ws, bad)
		h.wantCloseConn(ws)
		h.wantClosed(sid, wire.ReasonParseError)
		h.wantIdle()
	}
	// the close packet closes (text or binary)
	for _, c := range []wire.Recv{{Data: []byte("1")}, {Data: []byte{1}, Binary: true}} {
		h := newV3Echo(t)
		sid, ws := h.wsHandshake3("")
		c.Conn = ws
		h.in(c)
		h.wantCloseConn(ws)
		h.wantClosed(sid, wire.ReasonTransportClose)
	}

	h = newV3Echo(t)
	sid, ws = h.wsHandshake3("&b64=1")
	h.recvBinary(ws, []byte{4, 1, 2})
	h.wantMessage(sid, "\x01\x02", true)
	h.wantFrames(ws, txt("b4AQI="))
	h.wantIdle()
}

// The upgrade (the suite's three upgrade tests): 2probe/3probe, the parked
// GET ends with "1:6", "5" completes it, and from then on binary goes in the
// WebSocket's own v3 form; polling and a second WebSocket are refused.
func TestV3Upgrade(t *testing.T) {
	h := newV3Echo(t)
	sid := h.handshake3("EIO=3&transport=polling&b64=1")
	ws := h.request("GET", ws3(sid), true, "")
	h.wantAccept(ws)
	h.recv(ws, "2probe")
	h.wantFrames(ws, txt("3probe"))
	g := h.get3(sid)
	h.advance(upgradeNoopDelay)
	h.wantPayload(g, "1:6")
	h.recv(ws, "5")
	h.wantNote(wire.SessionUpgraded{SID: sid, Conn: ws})
	h.recv(ws, "4hello")
	h.wantMessage(sid, "hello", false)
	h.wantFrames(ws, txt("4hello"))
	h.recvBinary(ws, []byte{4, 1})
	h.wantMessage(sid, "\x01", true)
	h.wantFrames(ws, bin(4, 1)) // the polling side was b64, the WebSocket is not
	h.wantError(h.get3(sid), ErrBadRequest)
	ws2 := h.request("GET", ws3(sid), true, "")
	h.wantAccept(ws2)
	h.wantCloseConn(ws2)
	h.wantIdle()
	// the liveness timer goes on over the WebSocket (engine.io 6.6.13
	// drops it at the upgrade; a silent upgraded client is closed here)
	h.recv(ws, "2")
	h.wantFrames(ws, txt("3"))
	h.advance(liveness)
	h.wantCloseConn(ws)
	h.wantClosed(sid, wire.ReasonPingTimeout)

	// an upgrade asking for b64 gets base64 after it
	h = newV3Echo(t)
	sid = h.handshake3("EIO=3&transport=polling")
	ws = h.upgrade3(sid, "&b64=1")
	h.recvBinary(ws, []byte{4, 1})
	h.wantMessage(sid, "\x01", true)
	h.wantFrames(ws, txt("b4AQ=="))

	// a binary "probe" is no probe: the probe WebSocket is dropped
	h = newV3Echo(t)
	sid = h.handshake3("EIO=3&transport=polling")
	ws = h.request("GET", ws3(sid), true, "")
	h.wantAccept(ws)
	h.recvBinary(ws, []byte("\x02probe"))
	h.wantCloseConn(ws)
	h.wantIdle()
}

// A request whose protocol (EIO=4 → 4, anything else → 3) differs from its
// session's is 400 "Bad request" (verify PROTOCOL_MISMATCH), upgrades
// included.
func TestV3ProtocolMismatch(t *testing.T) {
	h := newV3Echo(t)
	sid := h.handshake3("EIO=3&transport=polling")
	h.wantError(h.request("GET", pollQuery(sid), false, ""), ErrBadRequest)
	h.wantError(h.request("POST", pollQuery(sid), false, "4x"), ErrBadRequest)
	h.wantUpgradeError(h.request("GET", wsQuery(sid), true, ""), ErrBadRequest)
	// no EIO is v3
	h.wantPending(h.request("GET", "transport=polling&sid="+string(sid), false, ""))
	h.wantIdle()

	h = newV3Echo(t)
	sid = h.handshake()
	h.wantError(h.get3(sid), ErrBadRequest)
	h.wantError(h.request("GET", "transport=polling&sid="+string(sid), false, ""), ErrBadRequest)
	h.wantUpgradeError(h.request("GET", ws3(sid), true, ""), ErrBadRequest)
	h.wantIdle()
}

// Closing: the client's "1:1" ends a parked GET with "1:6" (the suite's
// "forcefully closes the session"); a server close sends what is buffered,
// then "1:1" alone.
func TestV3Close(t *testing.T) {
	h := newV3Echo(t)
	sid := h.handshake3("EIO=3&transport=polling&b64=1")
	g := h.get3(sid)
	h.wantOK(h.post3(sid, "1:1"))
	h.wantPayload(g, "1:6")
	h.wantClosed(sid, wire.ReasonTransportClose)
	h.wantError(h.get3(sid), ErrUnknownSID)
	h.wantIdle()

	h = newV3Echo(t)
	sid = h.handshake3("EIO=3&transport=polling")
	s := h.e.Session(sid)
	h.e.Send(s, []wire.Frame{txt("4a"), bin(7)}, false, false)
	h.e.CloseSession(h.now, s)
	h.drain(false)
	h.wantClosed(sid, wire.ReasonForcedClose)
	h.wantRespond(h.get3(sid), 200, ContentTypeBinary, "\x00\x02\xff4a\x01\x02\xff\x04\x07")
	h.wantPayload(h.get3(sid), "1:1")
	h.wantError(h.get3(sid), ErrUnknownSID)
	h.wantIdle()
}

// Packets queued for many sessions: one Broadcast per WebSocket form of the
// binary message (v4, v4 b64, v3, v3 b64), frames converted once; text-only
// frames are one Broadcast for all.
func TestV3SendMany(t *testing.T) {
	h := newHarness(t, v3Config(), nil)
	s4, c4 := h.wsHandshake()
	c4b := h.request("GET", "EIO=4&transport=websocket&b64=1", true, "")
	h.wantAccept(c4b)
	h.wantFrame(c4b)
	s4b := h.popNote().(wire.SessionOpened).SID
	s3, c3 := h.wsHandshake3("")
	s3b, c3b := h.wsHandshake3("&b64=1")
	p3 := h.handshake3("EIO=3&transport=polling")
	all := []*Session{h.e.Session(s4), h.e.Session(s4b), h.e.Session(s3), h.e.Session(s3b), h.e.Session(p3)}
	const headText = `451-["x",{"_placeholder":true,"num":0}]` // 39 bytes
	head := txt(headText)
	h.e.SendMany(all, []wire.Frame{head, bin(1, 2)}, false, false)
	h.drain(false)
	h.wantBroadcast([]wire.ConnID{c4}, head, bin(1, 2))
	h.wantBroadcast([]wire.ConnID{c4b}, head, txt("bAQI="))
	h.wantBroadcast([]wire.ConnID{c3}, head, bin(4, 1, 2))
	h.wantBroadcast([]wire.ConnID{c3b}, head, txt("b4AQI="))
	h.wantRespond(h.get3(p3), 200, ContentTypeBinary, "\x00\x03\x09\xff"+headText+"\x01\x03\xff\x04\x01\x02")
	h.wantIdle()
	h.e.SendMany(all, []wire.Frame{txt("42[\"y\"]")}, false, false)
	h.drain(false)
	h.wantBroadcast([]wire.ConnID{c4, c4b, c3, c3b}, txt("42[\"y\"]"))
	h.wantPayload(h.get3(p3), "7:42[\"y\"]")
	h.wantIdle()
	// Send with a flag goes out at once, converted as well
	h.e.Send(h.e.Session(s3), []wire.Frame{bin(5)}, true, false)
	h.e.Send(h.e.Session(s3b), []wire.Frame{bin(5)}, false, true)
	h.drain(false)
	h.wantFrames(c3, bin(4, 5))
	h.wantFrames(c3b, txt("b4BQ=="))
	h.wantIdle()
}

// JSONP polling (j=N at the handshake), which engine.io 6.6 still serves for
// both protocols: ___eio[N]("payload"); POSTs are forms with d=payload, \n
// escapes undone; a v3 client without b64 gets JSON.stringify(Buffer).
func TestJSONP(t *testing.T) {
	h := newV3Echo(t)
	c := h.request("GET", "EIO=3&transport=polling&j=3&b64=1", false, "")
	r := h.wantRespondTo(c)
	body := string(r.Body)
	if r.ContentType != ContentTypePayload || !strings.HasPrefix(body, `___eio[3]("114:0{\"sid\":\"`) || !strings.HasSuffix(body, `\"maxPayload\":1000000}");`) {
		t.Fatalf("JSONP handshake %s", describe(r))
	}
	sid := wire.SID(body[len(`___eio[3]("114:0{\"sid\":\"`):][:20])
	h.wantNote(wire.SessionOpened{SID: sid, Conn: c})
	h.wantOK(h.post3(sid, "d=6%3A4hello10%3Ab4AQIDBA%3D%3D"))
	h.wantMessage(sid, "hello", false)
	h.wantMessage(sid, "\x01\x02\x03\x04", true)
	h.wantPayload(h.get3(sid), `___eio[3]("6:4hello10:b4AQIDBA==");`)
	// \n in the form is a newline, \\n is \n; U+2028 is escaped
	h.wantOK(h.post3(sid, `d=4:4a\nb5:4c\\nd2:4`+"%E2%80%A8"))
	h.wantMessage(sid, "a\nb", false)
	h.wantMessage(sid, `c\nd`, false)
	h.wantMessage(sid, "\u2028", false)
	h.wantPayload(h.get3(sid), `___eio[3]("4:4a\nb5:4c\\nd2:4\u2028");`)
	// no d, or two: ignored
	h.wantOK(h.post3(sid, "x=1"))
	h.wantOK(h.post3(sid, "d=1:4&d=1:4"))
	h.wantIdle()

	// v3 without b64: the binary payload as JSON.stringify(Buffer)
	h = newV3Echo(t)
	c = h.request("GET", "EIO=3&transport=polling&j=x7", false, "")
	r = h.wantRespondTo(c)
	sid = wire.SID(r.Body[len(`___eio[7]("114:0{\"sid\":\"`):][:20])
	h.popNote()
	h.wantOK(h.post3(sid, "d=10%3Ab4AQIDBA%3D%3D"))
	h.wantMessage(sid, "\x01\x02\x03\x04", true)
	h.wantPayload(h.get3(sid), `___eio[7]({"type":"Buffer","data":[1,5,255,4,1,2,3,4]});`)

	// v4
	h = newV3Echo(t)
	c = h.request("GET", "EIO=4&transport=polling&j=2", false, "")
	r = h.wantRespondTo(c)
	sid = wire.SID(r.Body[len(`___eio[2]("0{\"sid\":\"`):][:20])
	h.popNote()
	h.wantOK(h.post(sid, "d=bAQIDBA%3D%3D%1e4a"))
	h.wantMessage(sid, "\x01\x02\x03\x04", true)
	h.wantMessage(sid, "a", false)
	h.wantPayload(h.get(sid), `___eio[2]("bAQIDBA==\u001e4a");`)
	h.wantIdle()
}

func TestJSONPData(t *testing.T) {
	tests := []struct {
		body string
		want string
		ok   bool
	}{
		{"d=abc", "abc", true},
		{"d", "", true},
		{"x=1&d=a+b%21%zz", "a b!%zz", true},
		{"d=1&d=2", "", false},
		{"x=1", "", false},
		{strings.Repeat("&", 999) + "d=1", "1", true},
		{strings.Repeat("&", 1000) + "d=1", "", false},
		{`d=\\\n`, `\\n`, true},
	}
	for _, tt := range tests {
		got, ok := jsonpData([]byte(tt.body))
		if ok != tt.ok || string(got) != tt.want {
			t.Errorf("jsonpData(%q) = %q, %v; want %q, %v", tt.body, got, ok, tt.want, tt.ok)
		}
	}
}
