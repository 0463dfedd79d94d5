package core

// The Socket.IO layer for Engine.IO v3 clients (eio3.go), each transcript
// checked against socket.io 4.8.4 with allowEIO3 (probed). These tests drive
// the machine with a small host of their own: the shared harness's
// invariants say a socket id is never an engine sid, which v3 ids are.

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/eio"
	"github.com/socketcore/socketcore/core/engine"
	"github.com/socketcore/socketcore/core/wire"
)

type v3host struct {
	t    *testing.T
	s    *Server
	now  clock.Instant
	out  []wire.Output
	conn wire.ConnID
}

func newV3Host(t *testing.T) *v3host {
	cfg := testConfig()
	cfg.AllowEIO3 = true
	return &v3host{t: t, s: NewServer(cfg), now: t0}
}

func (h *v3host) drain() {
	for {
		o := h.s.Poll()
		if _, ok := o.(wire.Wait); ok {
			return
		}
		h.out = append(h.out, o)
	}
}

func (h *v3host) in(in wire.Input) {
	h.t.Helper()
	if err := h.s.Handle(h.now, in); err != nil {
		h.t.Fatal(err)
	}
	h.drain()
}

func (h *v3host) do(f func(now clock.Instant) error) {
	h.t.Helper()
	if err := f(h.now); err != nil {
		h.t.Fatal(err)
	}
	h.drain()
}

func (h *v3host) request(method, query string, ws bool, body []byte) wire.ConnID {
	h.t.Helper()
	h.conn++
	h.in(wire.HTTPRequest{Conn: h.conn, Method: method, Query: query, WebSocket: ws, Body: body})
	return h.conn
}

// pop removes the first output satisfying pred.
func (h *v3host) pop(what string, pred func(wire.Output) bool) wire.Output {
	h.t.Helper()
	for i, o := range h.out {
		if pred(o) {
			h.out = append(h.out[:i], h.out[i+1:]...)
			return o
		}
	}
	h.t.Fatalf("no %s in %s", what, describeAll(h.out))
	return nil
}

func describeAll(out []wire.Output) string {
	var b strings.Builder
	for _, o := range out {
		b.WriteString("\n\t" + describe(o))
	}
	return b.String()
}

func (h *v3host) respond(c wire.ConnID) wire.Respond {
	h.t.Helper()
	return h.pop("response", func(o wire.Output) bool { r, ok := o.(wire.Respond); return ok && r.Conn == c }).(wire.Respond)
}

func (h *v3host) wantNote(want wire.Output) {
	h.t.Helper()
	got := h.pop("notification", func(o wire.Output) bool { return !isTransport(o) })
	if describe(got) != describe(want) {
		h.t.Fatalf("got %s, want %s", describe(got), describe(want))
	}
}

func (h *v3host) wantIdle() {
	h.t.Helper()
	if len(h.out) > 0 {
		h.t.Fatalf("unexpected outputs:%s", describeAll(h.out))
	}
}

// v3poll is a v3 polling client.
type v3poll struct {
	h   *v3host
	sid wire.SID
	b64 bool
}

func (c *v3poll) query() string {
	return "EIO=3&transport=polling&t=x&sid=" + string(c.sid)
}

// connect opens a v3 polling session, which joins "/" at once: the
// handshake response carries the open packet and, "/" being ungated, "40".
func (h *v3host) connectPolling(b64 bool) *v3poll {
	h.t.Helper()
	q := "EIO=3&transport=polling&t=x"
	if b64 {
		q += "&b64=1"
	}
	r := h.respond(h.request("GET", q, false, nil))
	var packets []string
	if err := eio.DecodePayloadV3(r.Body, func(p eio.Packet) bool {
		packets = append(packets, string(eio.AppendPacket(nil, p)))
		return true
	}); err != nil || len(packets) != 2 || !strings.HasPrefix(packets[0], `0{"sid":"`) || packets[1] != "40" {
		h.t.Fatalf("v3 handshake response %q (%v)", r.Body, err)
	}
	c := &v3poll{h: h, sid: wire.SID(packets[0][9:29]), b64: b64}
	h.wantNote(wire.SessionOpened{SID: c.sid, Conn: h.conn})
	h.wantNote(wire.Connected{Socket: wire.SocketID(c.sid), SID: c.sid, Nsp: "/"})
	return c
}

// post sends Engine.IO packets (AppendPacket form) in a v3 text payload.
func (c *v3poll) post(packets ...string) {
	c.h.t.Helper()
	var b []byte
	for _, p := range packets {
		b = eio.AppendPayloadV3(b, []byte(p), false)
	}
	if r := c.h.respond(c.h.request("POST", c.query(), false, b)); string(r.Body) != "ok" {
		c.h.t.Fatalf("POST %q: %s", b, describe(r))
	}
}

// get returns the body and content type of the next GET.
func (c *v3poll) get() ([]byte, string) {
	c.h.t.Helper()
	r := c.h.respond(c.h.request("GET", c.query(), false, nil))
	if r.Status != 200 {
		c.h.t.Fatalf("GET: %s", describe(r))
	}
	return r.Body, r.ContentType
}

func (c *v3poll) want(body string) {
	c.h.t.Helper()
	if got, _ := c.get(); string(got) != body {
		c.h.t.Fatalf("GET %q, want %q", got, body)
	}
}

// Polling, "/" and a second namespace (its query is the auth), events and
// acknowledgements both ways, binary in the v3 binary payload, namespace
// disconnect.
func TestV3SocketIOPolling(t *testing.T) {
	h := newV3Host(t)
	c := h.connectPolling(false)
	root := wire.SocketID(c.sid)
	h.wantIdle()

	// an event with an ack from the client, answered
	c.post(`421["ev",1]`)
	ev := h.pop("EventReceived", func(o wire.Output) bool { _, ok := o.(wire.EventReceived); return ok }).(wire.EventReceived)
	if ev.Socket != root || ev.Name != "ev" || string(ev.Data) != `["ev",1]` || ev.Ack == 0 {
		t.Fatalf("got %+v", ev)
	}
	h.do(func(clock.Instant) error { return h.s.Ack(ev.Ack, []byte(`[2]`), nil) })
	c.want(`6:431[2]`)

	// a second namespace with a query: path "/chat", auth from the query
	h.do(func(clock.Instant) error { return h.s.AddNamespace("/chat", false) })
	c.post(`40/chat?a=b&c&a=z,`)
	chat := wire.SocketID("/chat#" + string(c.sid))
	h.wantNote(wire.Connected{Socket: chat, SID: c.sid, Nsp: "/chat"})
	c.want(`8:40/chat,`)
	if got := h.s.Rooms(chat); len(got) != 1 || got[0] != string(chat) {
		t.Fatalf("rooms %q", got)
	}

	// the server emits with a binary attachment and an ack: the binary
	// payload, the attachment after type byte 4
	var ref wire.AckRef
	h.do(func(now clock.Instant) (err error) {
		ref, err = h.s.Emit(now, Emit{Socket: chat, Data: []byte(`["bin",` + ph(0) + `]`), Attachments: [][]byte{{1, 2, 3}}, WithAck: true})
		return err
	})
	body, ct := c.get()
	head := `451-/chat,0["bin",` + ph(0) + `]`
	want := append([]byte{0, byte(len(head) / 10), byte(len(head) % 10), 255}, head...)
	want = append(want, 1, 4, 255, 4, 1, 2, 3)
	if ct != engine.ContentTypeBinary || !bytes.Equal(body, want) {
		t.Fatalf("GET %q %q, want the binary payload %q", ct, body, want)
	}
	// the client's binary ack, in a binary POST
	bhead := `461-/chat,0[` + ph(0) + `]`
	post := append([]byte{0, byte(len(bhead) / 10), byte(len(bhead) % 10), 255}, bhead...)
	post = append(post, 1, 3, 255, 4, 9, 9)
	h.conn++
	h.in(wire.HTTPRequest{Conn: h.conn, Method: "POST", Query: c.query(), Binary: true, Body: post})
	if r := h.respond(h.conn); string(r.Body) != "ok" {
		t.Fatalf("binary POST: %s", describe(r))
	}
	res := h.pop("AckResolved", func(o wire.Output) bool { _, ok := o.(wire.AckResolved); return ok }).(wire.AckResolved)
	if res.Ref != ref || res.Err != wire.AckOK || string(res.Args) != `[`+ph(0)+`]` || len(res.Attachments) != 1 || !bytes.Equal(res.Attachments[0], []byte{9, 9}) {
		t.Fatalf("got %+v", res)
	}

	// the client leaves "/chat"; "/" stays
	c.post(`41/chat,`)
	h.wantNote(wire.Disconnecting{Socket: chat, Reason: wire.ReasonClientNamespaceDisconnect, Rooms: []string{string(chat)}})
	h.wantNote(wire.Disconnected{Socket: chat, Reason: wire.ReasonClientNamespaceDisconnect})
	h.wantIdle()
	if !h.s.Connected(root) || h.s.Connected(chat) {
		t.Fatal("wrong sockets left")
	}
	// a b64 client gets binary as "b4"+base64 in the text payload
	c2 := h.connectPolling(true)
	h.do(func(now clock.Instant) error {
		_, err := h.s.Emit(now, Emit{Socket: wire.SocketID(c2.sid), Data: []byte(`["bin",` + ph(0) + `]`), Attachments: [][]byte{{1, 2, 3}}})
		return err
	})
	c2.want("41:451-[\"bin\",{\"_placeholder\":true,\"num\":0}]6:b4AQID")
}

// Gated namespaces: ConnectRequested carries the v3 ids and the query as
// auth; a refusal sends err.data || err.message (socket.io 4.8.4 with
// allowEIO3 sends 44/deny,"nope"); an unknown namespace keeps
// {"message":"Invalid namespace"}. A gated "/" is asked for at the handshake.
func TestV3SocketIOConnect(t *testing.T) {
	h := newV3Host(t)
	h.do(func(clock.Instant) error { return h.s.AddNamespace("/", true) })
	h.do(func(clock.Instant) error { return h.s.AddNamespace("/deny", true) })
	r := h.respond(h.request("GET", "EIO=3&transport=polling&b64=1", false, nil))
	n, body, _ := strings.Cut(string(r.Body), ":")
	if !strings.HasPrefix(body, `0{"sid":"`) || n != strconv.Itoa(len(body)) {
		t.Fatalf("handshake %q: want the open packet alone", r.Body)
	}
	c := &v3poll{h: h, sid: wire.SID(body[9:29]), b64: true}
	h.wantNote(wire.SessionOpened{SID: c.sid, Conn: h.conn})
	h.wantNote(wire.ConnectRequested{Socket: wire.SocketID(c.sid), SID: c.sid, Nsp: "/", Auth: []byte("{}"), Known: true})
	h.wantIdle()
	h.do(func(now clock.Instant) error { return h.s.AcceptConnect(now, wire.SocketID(c.sid)) })
	h.wantNote(wire.Connected{Socket: wire.SocketID(c.sid), SID: c.sid, Nsp: "/"})
	c.want("2:40")

	deny := wire.SocketID("/deny#" + string(c.sid))
	for _, tt := range []struct{ data, want string }{
		{"", `14:44/deny,"nope"`},
		{`{"x":1}`, `15:44/deny,{"x":1}`},
		{`0`, `14:44/deny,"nope"`},
		{`null`, `14:44/deny,"nope"`},
		{`"d"`, `11:44/deny,"d"`},
	} {
		c.post(`40/deny?token=t%C3%A9+1,`)
		h.wantNote(wire.ConnectRequested{Socket: deny, SID: c.sid, Nsp: "/deny", Auth: []byte(`{"token":"té 1"}`), Known: true})
		var data []byte
		if tt.data != "" {
			data = []byte(tt.data)
		}
		h.do(func(now clock.Instant) error { return h.s.RejectConnect(now, deny, "nope", data) })
		c.want(tt.want)
	}
	c.post(`40/nope,`)
	c.want(`39:44/nope,{"message":"Invalid namespace"}`)
	h.wantIdle()

	// with dynamic namespaces the host's "Invalid namespace" for one it
	// does not create is client.ts's refusal ({message}); its middleware's
	// refusal of one it would create is a v3 one
	h.s.cfg.DynamicNamespaces = true
	dyn := wire.SocketID("/dyn#" + string(c.sid))
	for _, tt := range []struct{ message, want string }{
		{"Invalid namespace", `38:44/dyn,{"message":"Invalid namespace"}`},
		{"no", `11:44/dyn,"no"`},
	} {
		c.post(`40/dyn,`)
		h.wantNote(wire.ConnectRequested{Socket: dyn, SID: c.sid, Nsp: "/dyn", Auth: []byte(`{}`)})
		h.do(func(now clock.Instant) error { return h.s.RejectConnect(now, dyn, tt.message, nil) })
		c.want(tt.want)
	}
	h.wantIdle()
}

// WebSocket: the open packet and "40" in the first Send, binary frames as
// type byte 4 + data, and a broadcast reaching v3 and v4 WebSockets at once.
func TestV3SocketIOWebSocket(t *testing.T) {
	h := newV3Host(t)
	ws3 := h.request("GET", "EIO=3&transport=websocket", true, nil)
	h.pop("AcceptWebSocket", func(o wire.Output) bool { return o == wire.AcceptWebSocket{Conn: ws3} })
	send := h.pop("Send", func(o wire.Output) bool { s, ok := o.(wire.Send); return ok && s.Conn == ws3 }).(wire.Send)
	if len(send.Frames) != 2 || !bytes.HasPrefix(send.Frames[0].Data, []byte(`0{"sid":"`)) || string(send.Frames[1].Data) != "40" {
		t.Fatalf("first frames %s", describeFrames(send.Frames))
	}
	sid3 := wire.SID(send.Frames[0].Data[9:29])
	h.wantNote(wire.SessionOpened{SID: sid3, Conn: ws3, WebSocket: true})
	h.wantNote(wire.Connected{Socket: wire.SocketID(sid3), SID: sid3, Nsp: "/"})

	ws4 := h.request("GET", "EIO=4&transport=websocket", true, nil)
	h.pop("AcceptWebSocket", func(o wire.Output) bool { return o == wire.AcceptWebSocket{Conn: ws4} })
	h.pop("Send", func(o wire.Output) bool { s, ok := o.(wire.Send); return ok && s.Conn == ws4 })
	h.pop("SessionOpened", func(o wire.Output) bool { _, ok := o.(wire.SessionOpened); return ok })
	h.in(wire.Recv{Conn: ws4, Data: []byte("40")})
	h.pop("Send", func(o wire.Output) bool { s, ok := o.(wire.Send); return ok && s.Conn == ws4 })
	h.pop("Connected", func(o wire.Output) bool { _, ok := o.(wire.Connected); return ok })
	h.wantIdle()

	// a binary event from the v3 client
	h.in(wire.Recv{Conn: ws3, Data: []byte(`451-["up",` + ph(0) + `]`)})
	h.in(wire.Recv{Conn: ws3, Data: []byte{4, 7, 7}, Binary: true})
	ev := h.pop("EventReceived", func(o wire.Output) bool { _, ok := o.(wire.EventReceived); return ok }).(wire.EventReceived)
	if ev.Name != "up" || len(ev.Attachments) != 1 || !bytes.Equal(ev.Attachments[0], []byte{7, 7}) {
		t.Fatalf("got %+v", ev)
	}
	h.do(func(now clock.Instant) error {
		_, _, err := h.s.Broadcast(now, Broadcast{Nsp: "/", Data: []byte(`["all",` + ph(0) + `]`), Attachments: [][]byte{{5}}})
		return err
	})
	head := wire.Frame{Data: []byte(`451-["all",` + ph(0) + `]`)}
	var got []string
	for range 2 {
		b := h.pop("Broadcast", func(o wire.Output) bool { _, ok := o.(wire.Broadcast); return ok }).(wire.Broadcast)
		got = append(got, describe(b))
	}
	want := []string{
		describe(wire.Broadcast{Conns: []wire.ConnID{ws4}, Frames: []wire.Frame{head, {Data: []byte{5}, Binary: true}}}),
		describe(wire.Broadcast{Conns: []wire.ConnID{ws3}, Frames: []wire.Frame{head, {Data: []byte{4, 5}, Binary: true}}}),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	h.wantIdle()
}

func TestV3Namespace(t *testing.T) {
	// each checked with new URL(nsp, "https://socket.io") in Node 20
	tests := []struct{ in, path, auth string }{
		{"/", "/", "{}"},
		{"/chat", "/chat", "{}"},
		{"/chat?a=b&c&a=z", "/chat", `{"a":"z","c":""}`},
		{"/a/../b", "/b", "{}"},
		{"/é", "/%C3%A9", "{}"},
		{"/x#frag?y", "/x", "{}"},
		{"/x?2=a&1=b&k=c", "/x", `{"1":"b","2":"a","k":"c"}`},
		{"/x?a=%zz+%41", "/x", `{"a":"%zz A"}`},
		{"/a b\"<>`{}", "/a%20b%22%3C%3E%60%7B%7D", "{}"},
		{"/a/./b/.", "/a/b/", "{}"},
		{"/a/%2e%2E/b", "/b", "{}"},
		{"/..", "/", "{}"},
		{"/a\\b", "/a/b", "{}"},
		{"/x?=1&&b", "/x", `{"":"1","b":""}`},
		{"/chat ", "/chat", "{}"},
		{"/c\th", "/ch", "{}"},
	}
	for _, tt := range tests {
		path, auth := v3Namespace(tt.in)
		if path != tt.path || string(auth) != tt.auth {
			t.Errorf("v3Namespace(%q) = %q, %s; want %q, %s", tt.in, path, auth, tt.path, tt.auth)
		}
	}
}
