package core

// The harness drives a core.Server as a host does: one input or command at
// a virtual instant, then a drain of Poll until Wait. Each drain is checked
// against the host contract and the Socket.IO invariants (see check), and
// its outputs are queued for the want* helpers, which consume them in order
// per connection and in order among notifications (x/net/http2
// connframes_test.go style). The fuzz target uses the same checks.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
	"github.com/socketcore/socketcore/internal/wiretest"
)

// t0 is where the virtual clock starts (any non-zero instant).
const t0 = clock.Instant(1_000_000_000_000)

// testConfig is the Socket.IO suite's server (CONFORMANCE-SERVERS.md B),
// with a heartbeat slow enough to stay out of the way unless a test wants it.
func testConfig() Config {
	c := Config{ConnectTimeout: time.Second}
	c.PingInterval = 25 * time.Second
	c.PingTimeout = 20 * time.Second
	c.MaxPayload = 1_000_000
	c.Seed = [32]byte{'c', 'o', 'r', 'e'}
	return c
}

// suiteConfig has the suite's own heartbeat (300/200 ms).
func suiteConfig() Config {
	c := testConfig()
	c.PingInterval = 300 * time.Millisecond
	c.PingTimeout = 200 * time.Millisecond
	return c
}

type harness struct {
	t        testing.TB
	s        *Server
	now      clock.Instant
	deadline clock.Instant
	out      []wire.Output
	lastConn wire.ConnID
	keep     bool // queue outputs for want* (the fuzz target drops them)
	onOutput func(wire.Output)

	// host bookkeeping
	requests map[wire.ConnID]bool // open HTTP requests (value: WebSocket upgrade)
	ws       map[wire.ConnID]bool // open WebSockets

	// invariant bookkeeping
	sids      map[wire.SID]bool        // opened sessions → still open
	sockets   map[wire.SocketID]string // connected sockets → state ("connected", "disconnecting")
	ever      map[wire.SocketID]bool   // every socket id ever announced
	issued    map[wire.AckRef]bool     // refs returned by Emit/Broadcast with WithAck
	resolved  map[wire.AckRef]int
	inRefs    map[wire.AckRef]bool // EventReceived.Ack refs
	connReqs  map[wire.SocketID]bool
	lastInput string
	// RoomCreated/RoomDeleted, which the want* helpers do not queue
	roomEvents []wire.Output
	// RoomJoined/RoomLeft (Config.RoomEvents), not queued either, and the
	// memberships they add up to (checked against Rooms after each drain)
	memberEvents []wire.Output
	members      map[wire.SocketID][]string
}

func newHarness(t testing.TB, cfg Config) *harness {
	h := &harness{
		t:        t,
		s:        NewServer(cfg),
		now:      t0,
		keep:     true,
		requests: map[wire.ConnID]bool{},
		ws:       map[wire.ConnID]bool{},
		sids:     map[wire.SID]bool{},
		sockets:  map[wire.SocketID]string{},
		ever:     map[wire.SocketID]bool{},
		issued:   map[wire.AckRef]bool{},
		resolved: map[wire.AckRef]int{},
		inRefs:   map[wire.AckRef]bool{},
		connReqs: map[wire.SocketID]bool{},
		members:  map[wire.SocketID][]string{},
	}
	return h
}

func (h *harness) fatalf(format string, args ...any) {
	h.t.Helper()
	h.t.Fatalf("at %s after %s: %s", h.rel(h.now), h.lastInput, fmt.Sprintf(format, args...))
}

func (h *harness) rel(i clock.Instant) string {
	if i == 0 {
		return "none"
	}
	return "t0+" + i.Sub(t0).String()
}

func (h *harness) newConn() wire.ConnID {
	h.lastConn++
	return h.lastConn
}

// in feeds one input and drains.
func (h *harness) in(in wire.Input) {
	h.t.Helper()
	h.lastInput = fmt.Sprintf("%T", in)
	switch in := in.(type) {
	case wire.HTTPRequest:
		h.requests[in.Conn] = in.WebSocket
	case wire.Closed:
		delete(h.requests, in.Conn)
		delete(h.ws, in.Conn)
	}
	if err := h.s.Handle(h.now, in); err != nil {
		h.fatalf("Handle(%T): %v", in, err)
	}
	_, timeout := in.(wire.Timeout)
	h.drain(timeout)
}

// do runs an application command at the current instant and drains.
func (h *harness) do(name string, f func(now clock.Instant) error) error {
	h.t.Helper()
	h.lastInput = name
	err := f(h.now)
	h.drain(false)
	return err
}

func (h *harness) drain(afterTimeout bool) {
	h.t.Helper()
	for n := 0; ; n++ {
		if n > 1_000_000 {
			h.fatalf("Poll never returned Wait")
		}
		o := h.s.Poll()
		if w, ok := o.(wire.Wait); ok {
			if w.Deadline != 0 && w.Deadline < h.now {
				h.fatalf("Wait.Deadline %s is in the past", h.rel(w.Deadline))
			}
			if afterTimeout && w.Deadline != 0 && w.Deadline <= h.now {
				h.fatalf("after Timeout the deadline is still %s", h.rel(w.Deadline))
			}
			h.deadline = w.Deadline
			h.checkMembers()
			return
		}
		h.check(o)
		if h.onOutput != nil {
			h.onOutput(o)
		}
		switch o.(type) {
		case wire.RoomCreated, wire.RoomDeleted, wire.RoomJoined, wire.RoomLeft: // kept apart (check)
		default:
			if h.keep {
				h.out = append(h.out, o)
			}
		}
	}
}

// check asserts the host contract and the invariants on one output.
func (h *harness) check(o wire.Output) {
	h.t.Helper()
	switch o := o.(type) {
	case nil:
		h.fatalf("Poll returned nil")
	case wire.Respond:
		if _, ok := h.requests[o.Conn]; !ok {
			h.fatalf("Respond to conn %d, which is not an open request", o.Conn)
		}
		delete(h.requests, o.Conn)
	case wire.AcceptWebSocket:
		if ws, ok := h.requests[o.Conn]; !ok || !ws {
			h.fatalf("AcceptWebSocket for conn %d, which is not an open upgrade request", o.Conn)
		}
		delete(h.requests, o.Conn)
		h.ws[o.Conn] = true
	case wire.Send:
		if !h.ws[o.Conn] || len(o.Frames) == 0 {
			h.fatalf("Send to conn %d (open WebSocket: %v) with %d frames", o.Conn, h.ws[o.Conn], len(o.Frames))
		}
	case wire.Broadcast:
		if len(o.Conns) == 0 || len(o.Frames) == 0 {
			h.fatalf("empty Broadcast")
		}
		seen := map[wire.ConnID]bool{}
		for _, c := range o.Conns {
			if !h.ws[c] || seen[c] {
				h.fatalf("Broadcast to conn %d (open WebSocket: %v, repeated: %v)", c, h.ws[c], seen[c])
			}
			seen[c] = true
		}
	case wire.CloseConn:
		if _, req := h.requests[o.Conn]; !req && !h.ws[o.Conn] {
			h.fatalf("CloseConn for conn %d, neither a WebSocket nor an open request", o.Conn)
		}
		delete(h.requests, o.Conn)
		delete(h.ws, o.Conn)
	case wire.SessionOpened:
		if _, seen := h.sids[o.SID]; seen || h.ever[wire.SocketID(o.SID)] {
			h.fatalf("SessionOpened with a used id %s", o.SID)
		}
		h.sids[o.SID] = true
	case wire.ConnectRequested:
		reused := h.ever[o.Socket] && !(o.Recovered && h.sockets[o.Socket] == "")
		if _, sid := h.sids[wire.SID(o.Socket)]; reused || sid || !h.sids[o.SID] || !json.Valid(o.Auth) || o.Auth[0] != '{' {
			h.fatalf("bad ConnectRequested %+v", o)
		}
		h.ever[o.Socket] = true
		h.connReqs[o.Socket] = true
	case wire.Connected:
		reused := h.ever[o.Socket] && !(o.Recovered && h.sockets[o.Socket] == "")
		if _, sid := h.sids[wire.SID(o.Socket)]; !h.connReqs[o.Socket] && reused || sid || !h.sids[o.SID] {
			h.fatalf("bad Connected %+v", o)
		}
		delete(h.connReqs, o.Socket)
		h.ever[o.Socket] = true
		h.sockets[o.Socket] = "connected"
		if h.s.cfg.RoomEvents && !slices.Contains(h.members[o.Socket], string(o.Socket)) {
			h.fatalf("Connected %s before RoomJoined of its own room (rooms %q)", o.Socket, h.members[o.Socket])
		}
	case wire.EventReceived:
		if h.sockets[o.Socket] != "connected" {
			h.fatalf("EventReceived for socket %s in state %q", o.Socket, h.sockets[o.Socket])
		}
		if o.Data != nil && (!json.Valid(o.Data) || o.Data[0] != '[') {
			h.fatalf("EventReceived.Data %q is not a JSON array", o.Data)
		}
		if o.Ack != 0 {
			if h.inRefs[o.Ack] || h.issued[o.Ack] {
				h.fatalf("EventReceived.Ack %d reused", o.Ack)
			}
			h.inRefs[o.Ack] = true
		}
	case wire.AckResolved:
		h.resolve(o.Ref)
		if o.Err == wire.AckOK && (o.Args != nil && !json.Valid(o.Args)) {
			h.fatalf("AckResolved.Args %q", o.Args)
		}
	case wire.BroadcastAckResolved:
		h.resolve(o.Ref)
		seen := map[wire.SocketID]bool{}
		for _, r := range o.Replies {
			if r.Socket == "" {
				continue // another server's client (the cluster does not say which)
			}
			if seen[r.Socket] {
				h.fatalf("BroadcastAckResolved %d: two replies from %s", o.Ref, r.Socket)
			}
			seen[r.Socket] = true
		}
	case wire.Disconnecting:
		if h.sockets[o.Socket] != "connected" {
			h.fatalf("Disconnecting for socket %s in state %q", o.Socket, h.sockets[o.Socket])
		}
		// (a cluster's socketsLeave may take a socket out of its own room,
		// as Node's does)
		if !h.s.cfg.Cluster && (len(o.Rooms) == 0 || o.Rooms[0] != string(o.Socket)) {
			h.fatalf("Disconnecting rooms %q do not start with the socket's own room", o.Rooms)
		}
		h.sockets[o.Socket] = "disconnecting"
	case wire.Disconnected:
		if h.sockets[o.Socket] != "disconnecting" {
			h.fatalf("Disconnected for socket %s in state %q", o.Socket, h.sockets[o.Socket])
		}
		delete(h.sockets, o.Socket)
		if len(h.members[o.Socket]) != 0 {
			h.fatalf("Disconnected %s without RoomLeft for %q", o.Socket, h.members[o.Socket])
		}
	case wire.SessionClosed:
		if !h.sids[o.SID] {
			h.fatalf("SessionClosed for %s, not open", o.SID)
		}
		h.sids[o.SID] = false
	case wire.SessionUpgraded:
		if !h.sids[o.SID] || !h.ws[o.Conn] {
			h.fatalf("SessionUpgraded %+v for a session or WebSocket that is not open", o)
		}
	case wire.MessageReceived:
		h.fatalf("MessageReceived from a Socket.IO server")
	case wire.ClusterPublish:
		if !h.s.cfg.Cluster {
			h.fatalf("ClusterPublish from a server outside a cluster: %+v", o)
		}
		if o.CountServers != (o.Msg.RequestID != "" && !o.Msg.Type.IsResponse()) {
			h.fatalf("ClusterPublish %s: CountServers %v with request id %q", o.Msg.Type, o.CountServers, o.Msg.RequestID)
		}
	case wire.ClusterRequestDone:
		h.resolve(o.Ref)
	case wire.RoomCreated, wire.RoomDeleted:
		if !h.s.cfg.Cluster {
			h.fatalf("%T from a server outside a cluster", o)
		}
		h.roomEvents = append(h.roomEvents, o)
	case wire.RoomJoined:
		if !h.s.cfg.RoomEvents || slices.Contains(h.members[o.Socket], o.Room) {
			h.fatalf("RoomJoined %+v (RoomEvents %v, rooms %q)", o, h.s.cfg.RoomEvents, h.members[o.Socket])
		}
		h.members[o.Socket] = append(h.members[o.Socket], o.Room)
		h.memberEvents = append(h.memberEvents, o)
	case wire.RoomLeft:
		i := slices.Index(h.members[o.Socket], o.Room)
		if !h.s.cfg.RoomEvents || i < 0 {
			h.fatalf("RoomLeft %+v (RoomEvents %v, rooms %q)", o, h.s.cfg.RoomEvents, h.members[o.Socket])
		}
		if h.members[o.Socket] = slices.Delete(h.members[o.Socket], i, i+1); len(h.members[o.Socket]) == 0 {
			delete(h.members, o.Socket)
		}
		h.memberEvents = append(h.memberEvents, o)
	case wire.RecoveryRecord, wire.RecoverySession, wire.RecoveryLookup:
		if !h.s.storeOn() {
			h.fatalf("%T without a recovery store", o)
		}
	case wire.ServerSideEmitReceived:
		if o.Ack != 0 {
			if h.inRefs[o.Ack] || h.issued[o.Ack] {
				h.fatalf("ServerSideEmitReceived.Ack %d reused", o.Ack)
			}
			h.inRefs[o.Ack] = true
		}
	default:
		h.fatalf("unknown output %T", o)
	}
}

// checkMembers asserts, after a drain, that the RoomJoined and RoomLeft
// outputs add up to every connected socket's rooms (Config.RoomEvents).
func (h *harness) checkMembers() {
	h.t.Helper()
	if !h.s.cfg.RoomEvents {
		return
	}
	for id, st := range h.sockets {
		if st != "connected" {
			continue
		}
		got, want := slices.Sorted(slices.Values(h.members[id])), slices.Sorted(slices.Values(h.s.Rooms(id)))
		if !slices.Equal(got, want) {
			h.fatalf("socket %s: room events add up to %q, its rooms are %q", id, got, want)
		}
	}
}

func (h *harness) resolve(ref wire.AckRef) {
	h.t.Helper()
	if !h.issued[ref] {
		h.fatalf("ack %d resolved but never issued", ref)
	}
	h.resolved[ref]++
	if h.resolved[ref] > 1 {
		h.fatalf("ack %d resolved twice", ref)
	}
}

// advance moves the clock, feeding Timeout at each deadline on the way.
func (h *harness) advance(d time.Duration) {
	h.t.Helper()
	h.advanceTo(h.now.Add(d))
}

func (h *harness) advanceTo(at clock.Instant) {
	h.t.Helper()
	for n := 0; h.deadline != 0 && h.deadline <= at; n++ {
		if n > 100_000 {
			h.fatalf("timers livelock")
		}
		h.now = h.deadline
		h.in(wire.Timeout{})
	}
	if at > h.now {
		h.now = at
	}
}

// ---- app commands (recording the refs they issue) --------------------------

func (h *harness) emit(e Emit) wire.AckRef {
	h.t.Helper()
	var ref wire.AckRef
	err := h.do("Emit", func(now clock.Instant) error {
		var err error
		ref, err = h.s.Emit(now, e)
		if ref != 0 {
			h.issue(ref)
		}
		return err
	})
	if err != nil {
		h.fatalf("Emit: %v", err)
	}
	return ref
}

func (h *harness) broadcast(b Broadcast) (wire.AckRef, int) {
	h.t.Helper()
	var ref wire.AckRef
	var n int
	err := h.do("Broadcast", func(now clock.Instant) error {
		var err error
		ref, n, err = h.s.Broadcast(now, b)
		if ref != 0 {
			h.issue(ref)
		}
		return err
	})
	if err != nil {
		h.fatalf("Broadcast: %v", err)
	}
	return ref, n
}

// issue records a ref before the drain that might resolve it.
func (h *harness) issue(ref wire.AckRef) {
	if h.issued[ref] || h.inRefs[ref] {
		h.fatalf("ref %d issued twice", ref)
	}
	h.issued[ref] = true
}

func (h *harness) ack(ref wire.AckRef, args string, atts ...[]byte) {
	h.t.Helper()
	var b []byte
	if args != "" {
		b = []byte(args)
	}
	if err := h.do("Ack", func(clock.Instant) error { return h.s.Ack(ref, b, atts) }); err != nil {
		h.fatalf("Ack(%d): %v", ref, err)
	}
}

// ---- clients ----------------------------------------------------------------

// tclient is one Engine.IO session seen from the test: WebSocket (ws != 0)
// or polling (get is its parked GET, if any).
type tclient struct {
	h   *harness
	sid wire.SID
	ws  wire.ConnID
	get wire.ConnID
}

func pollQuery(sid wire.SID) string { return "EIO=4&transport=polling&t=x&sid=" + string(sid) }

func (h *harness) connectPolling() *tclient {
	h.t.Helper()
	c := h.newConn()
	h.in(wire.HTTPRequest{Conn: c, Method: "GET", Query: "EIO=4&transport=polling&t=x"})
	r := h.popConn(c).(wire.Respond)
	if r.Status != 200 || !bytes.HasPrefix(r.Body, []byte(`0{"sid":"`)) {
		h.fatalf("handshake: %s", describe(r))
	}
	sid := wire.SID(r.Body[9:29])
	h.wantSession(wire.SessionOpened{SID: sid, Conn: c})
	return &tclient{h: h, sid: sid}
}

func (h *harness) connectWS() *tclient {
	h.t.Helper()
	c := h.newConn()
	h.in(wire.HTTPRequest{Conn: c, Method: "GET", Query: "EIO=4&transport=websocket", WebSocket: true})
	if o := h.popConn(c); o != (wire.AcceptWebSocket{Conn: c}) {
		h.fatalf("got %s, want AcceptWebSocket", describe(o))
	}
	cl := &tclient{h: h, ws: c}
	f := cl.frame()
	if !bytes.HasPrefix(f.Data, []byte(`0{"sid":"`)) {
		h.fatalf("first frame %q", f.Data)
	}
	cl.sid = wire.SID(f.Data[9:29])
	h.wantSession(wire.SessionOpened{SID: cl.sid, Conn: c, WebSocket: true})
	return cl
}

// connect returns a client of the given transport ("websocket" or "polling").
func (h *harness) connect(transport string) *tclient {
	h.t.Helper()
	if transport == "websocket" {
		return h.connectWS()
	}
	return h.connectPolling()
}

// send sends Engine.IO packets (e.g. "40", "42[\"x\"]", "bAQID" for binary):
// one frame each on WebSocket, one POST on polling.
func (c *tclient) send(packets ...string) {
	c.h.t.Helper()
	if c.ws != 0 {
		for _, p := range packets {
			if strings.HasPrefix(p, "b") {
				b, err := base64.StdEncoding.DecodeString(p[1:])
				if err != nil {
					c.h.fatalf("bad test packet %q", p)
				}
				c.h.in(wire.Recv{Conn: c.ws, Data: b, Binary: true})
			} else {
				c.h.in(wire.Recv{Conn: c.ws, Data: []byte(p)})
			}
		}
		return
	}
	p := c.post(strings.Join(packets, "\x1e"))
	c.h.wantRespond(p, 200, "ok")
}

// post sends a raw polling body and returns the request's conn.
func (c *tclient) post(body string) wire.ConnID {
	c.h.t.Helper()
	p := c.h.newConn()
	c.h.in(wire.HTTPRequest{Conn: p, Method: "POST", Query: pollQuery(c.sid), Body: []byte(body)})
	return p
}

// poll parks a GET (polling clients).
func (c *tclient) poll() {
	c.h.t.Helper()
	if c.get == 0 {
		c.get = c.h.newConn()
		c.h.in(wire.HTTPRequest{Conn: c.get, Method: "GET", Query: pollQuery(c.sid)})
	}
}

// frame pops the next frame written to the WebSocket.
func (c *tclient) frame() wire.Frame {
	c.h.t.Helper()
	h := c.h
	for i, o := range h.out {
		switch o := o.(type) {
		case wire.Send:
			if o.Conn != c.ws {
				continue
			}
			f := o.Frames[0]
			if len(o.Frames) == 1 {
				h.out = slices.Delete(h.out, i, i+1)
			} else {
				o.Frames = o.Frames[1:]
				h.out[i] = o
			}
			return f
		case wire.Broadcast:
			if slices.Contains(o.Conns, c.ws) {
				h.fatalf("next output for conn %d is %s", c.ws, describe(o))
			}
		default:
			if oc, ok := outConn(o); ok && oc == c.ws {
				h.fatalf("conn %d: got %s, want a frame", c.ws, describe(o))
			}
		}
	}
	h.fatalf("no frame for conn %d; queued:%s", c.ws, h.dump())
	return wire.Frame{}
}

// want checks what the client receives next: the frames on WebSocket, or
// (polling) the body of its next GET, made of the same packets joined by
// \x1e with binary ones as "b"+base64. Frames are written as Engine.IO
// packets: "40{...}", or "b"+base64 for binary.
func (c *tclient) want(packets ...string) {
	c.h.t.Helper()
	if c.ws != 0 {
		for _, p := range packets {
			f := c.frame()
			got := string(f.Data)
			if f.Binary {
				got = "b" + base64.StdEncoding.EncodeToString(f.Data)
			}
			if got != p {
				c.h.fatalf("conn %d: got frame %q, want %q", c.ws, got, p)
			}
		}
		return
	}
	c.poll()
	g := c.get
	c.get = 0
	c.h.wantRespond(g, 200, strings.Join(packets, "\x1e"))
}

// wantQuiet checks that nothing is waiting for the client (polling: its GET
// stays parked).
func (c *tclient) wantQuiet() {
	c.h.t.Helper()
	if c.ws == 0 {
		c.poll()
	}
	conn := c.ws
	if conn == 0 {
		conn = c.get
	}
	for _, o := range c.h.out {
		if oc, ok := outConn(o); ok && oc == conn {
			c.h.fatalf("conn %d: unexpected %s", conn, describe(o))
		}
		if b, ok := o.(wire.Broadcast); ok && slices.Contains(b.Conns, conn) {
			c.h.fatalf("conn %d: unexpected %s", conn, describe(o))
		}
	}
}

// wantClosedConn checks that the server closed the client's transport:
// CloseConn on WebSocket (after the pending frames, if given); on polling
// the pending packets in one GET and the close packet "1" alone in the next
// (never together: the official client would drop the packets), after which
// the sid is unknown.
func (c *tclient) wantClosedConn(pending ...string) {
	c.h.t.Helper()
	if c.ws != 0 {
		c.want(pending...)
		if o := c.h.popConn(c.ws); o != (wire.CloseConn{Conn: c.ws}) {
			c.h.fatalf("conn %d: got %s, want CloseConn", c.ws, describe(o))
		}
		return
	}
	if len(pending) > 0 {
		c.want(pending...)
	}
	c.want("1")
	c.wantGone()
}

// wantGone checks that the session is unknown (polling: GET → 400 code 1).
func (c *tclient) wantGone() {
	c.h.t.Helper()
	g := c.h.newConn()
	c.h.in(wire.HTTPRequest{Conn: g, Method: "GET", Query: pollQuery(c.sid)})
	c.h.wantRespond(g, 400, `{"code":1,"message":"Session ID unknown"}`)
}

// join sends CONNECT for nsp ("/" or "/custom") on an ungated namespace and
// returns the socket id from the reply, checking that the reply payload is
// exactly {"sid":<id>} and the Connected notification.
func (c *tclient) join(nsp string) wire.SocketID {
	c.h.t.Helper()
	if nsp == "/" {
		c.send("40")
	} else {
		c.send("40" + nsp + ",")
	}
	return c.wantJoined(nsp)
}

// wantJoined checks the CONNECT reply for nsp and Connected.
func (c *tclient) wantJoined(nsp string) wire.SocketID {
	c.h.t.Helper()
	prefix := "40"
	if nsp != "/" {
		prefix += nsp + ","
	}
	var f string
	if c.ws != 0 {
		f = string(c.frame().Data)
	} else {
		c.poll()
		f = string(c.h.wantRespondTo(c.get).Body)
		c.get = 0
	}
	if !strings.HasPrefix(f, prefix+"{") {
		c.h.fatalf("CONNECT reply %q, want %s{...}", f, prefix)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(f[len(prefix):]), &m); err != nil || len(m) != 1 {
		c.h.fatalf("CONNECT reply payload %q must have exactly one key, sid", f[len(prefix):])
	}
	id, ok := m["sid"].(string)
	if !ok || len(id) != 20 || wire.SID(id) == c.sid {
		c.h.fatalf("CONNECT reply sid %q (engine sid %s)", m["sid"], c.sid)
	}
	c.h.wantApp(wire.Connected{Socket: wire.SocketID(id), SID: c.sid, Nsp: nsp})
	return wire.SocketID(id)
}

// ---- the output queue -------------------------------------------------------

func outConn(o wire.Output) (wire.ConnID, bool) {
	switch o := o.(type) {
	case wire.Respond:
		return o.Conn, true
	case wire.AcceptWebSocket:
		return o.Conn, true
	case wire.Send:
		return o.Conn, true
	case wire.CloseConn:
		return o.Conn, true
	}
	return 0, false
}

func isTransport(o wire.Output) bool {
	switch o.(type) {
	case wire.Respond, wire.AcceptWebSocket, wire.Send, wire.Broadcast, wire.CloseConn:
		return true
	}
	return false
}

func isSession(o wire.Output) bool {
	switch o.(type) {
	case wire.SessionOpened, wire.SessionUpgraded, wire.SessionClosed:
		return true
	}
	return false
}

func describe(o wire.Output) string {
	switch o := o.(type) {
	case wire.Respond:
		return fmt.Sprintf("Respond{conn %d, %d %q, %q}", o.Conn, o.Status, o.ContentType, o.Body)
	case wire.Send:
		return fmt.Sprintf("Send{conn %d, %s}", o.Conn, describeFrames(o.Frames))
	case wire.Broadcast:
		return fmt.Sprintf("Broadcast{conns %v, %s}", o.Conns, describeFrames(o.Frames))
	case wire.ConnectRequested:
		return fmt.Sprintf("ConnectRequested{%s %s %q auth %s known=%v}", o.Socket, o.SID, o.Nsp, o.Auth, o.Known)
	case wire.EventReceived:
		return fmt.Sprintf("EventReceived{%s %q %s atts %x ack %d}", o.Socket, o.Name, o.Data, o.Attachments, o.Ack)
	case wire.AckResolved:
		return fmt.Sprintf("AckResolved{ref %d %s %s atts %x err %d}", o.Ref, o.Socket, o.Args, o.Attachments, o.Err)
	case wire.BroadcastAckResolved:
		var b strings.Builder
		for _, r := range o.Replies {
			fmt.Fprintf(&b, " %s:%s", r.Socket, r.Args)
			if len(r.Attachments) > 0 {
				fmt.Fprintf(&b, "+%x", r.Attachments)
			}
		}
		return fmt.Sprintf("BroadcastAckResolved{ref %d timedOut=%v replies%s}", o.Ref, o.TimedOut, b.String())
	}
	return fmt.Sprintf("%T%+v", o, o)
}

func describeFrames(fs []wire.Frame) string { return wiretest.Frames(fs) }

func (h *harness) dump() string { return wiretest.Dump(h.out, describe) }

func (h *harness) popConn(c wire.ConnID) wire.Output {
	h.t.Helper()
	for i, o := range h.out {
		if b, ok := o.(wire.Broadcast); ok && slices.Contains(b.Conns, c) {
			h.fatalf("next output for conn %d is %s", c, describe(o))
		}
		if oc, ok := outConn(o); ok && oc == c {
			h.out = slices.Delete(h.out, i, i+1)
			return o
		}
	}
	h.fatalf("no output for conn %d; queued:%s", c, h.dump())
	return nil
}

func (h *harness) wantRespondTo(c wire.ConnID) wire.Respond {
	h.t.Helper()
	o := h.popConn(c)
	r, ok := o.(wire.Respond)
	if !ok {
		h.fatalf("conn %d: got %s, want a Respond", c, describe(o))
	}
	return r
}

func (h *harness) wantRespond(c wire.ConnID, status int, body string) {
	h.t.Helper()
	r := h.wantRespondTo(c)
	if r.Status != status || string(r.Body) != body {
		h.fatalf("conn %d: got %s, want %d %q", c, describe(r), status, body)
	}
}

// wantBroadcast pops the next Broadcast and checks its conns and frames
// (written as in client.want).
func (h *harness) wantBroadcast(conns []wire.ConnID, packets ...string) wire.Broadcast {
	h.t.Helper()
	for i, o := range h.out {
		b, ok := o.(wire.Broadcast)
		if !ok {
			continue
		}
		var got []string
		for _, f := range b.Frames {
			if f.Binary {
				got = append(got, "b"+base64.StdEncoding.EncodeToString(f.Data))
			} else {
				got = append(got, string(f.Data))
			}
		}
		if !slices.Equal(b.Conns, conns) || !slices.Equal(got, packets) {
			h.fatalf("got %s, want conns %v and %q", describe(b), conns, packets)
		}
		h.out = slices.Delete(h.out, i, i+1)
		return b
	}
	h.fatalf("no Broadcast; queued:%s", h.dump())
	return wire.Broadcast{}
}

func (h *harness) popWhere(what string, pred func(wire.Output) bool) wire.Output {
	h.t.Helper()
	for i, o := range h.out {
		if pred(o) {
			h.out = slices.Delete(h.out, i, i+1)
			return o
		}
	}
	h.fatalf("no %s queued; queued:%s", what, h.dump())
	return nil
}

// popApp pops the first Socket.IO notification.
func (h *harness) popApp() wire.Output {
	h.t.Helper()
	return h.popWhere("notification", func(o wire.Output) bool { return !isTransport(o) && !isSession(o) })
}

// wantApp pops the first Socket.IO notification and compares it with want.
func (h *harness) wantApp(want wire.Output) {
	h.t.Helper()
	if got := h.popApp(); describe(got) != describe(want) {
		h.fatalf("got %s, want %s", describe(got), describe(want))
	}
}

// app pops the first Socket.IO notification, which must be a T.
func app[T wire.Output](h *harness) T {
	h.t.Helper()
	o := h.popApp()
	v, ok := o.(T)
	if !ok {
		var want T
		h.fatalf("got %s, want a %T", describe(o), want)
	}
	return v
}

// wantSession pops the first Engine.IO session notification.
func (h *harness) wantSession(want wire.Output) {
	h.t.Helper()
	got := h.popWhere("session notification", isSession)
	if describe(got) != describe(want) {
		h.fatalf("got %s, want %s", describe(got), describe(want))
	}
}

// wantGone checks Disconnecting (with rooms) then Disconnected for a socket.
func (h *harness) wantLeft(id wire.SocketID, reason string, rooms ...string) {
	h.t.Helper()
	d := app[wire.Disconnecting](h)
	if d.Socket != id || d.Reason != reason || (rooms != nil && !slices.Equal(d.Rooms, rooms)) {
		h.fatalf("got %s, want Disconnecting{%s %q rooms %q}", describe(d), id, reason, rooms)
	}
	h.wantApp(wire.Disconnected{Socket: id, Reason: reason})
}

func (h *harness) wantIdle() {
	h.t.Helper()
	if len(h.out) > 0 {
		h.fatalf("unexpected outputs:%s", h.dump())
	}
}

func (h *harness) wantDeadline(want clock.Instant) {
	h.t.Helper()
	if h.deadline != want {
		h.fatalf("deadline %s, want %s", h.rel(h.deadline), h.rel(want))
	}
}

// ph is a binary placeholder.
func ph(n int) string { return fmt.Sprintf(`{"_placeholder":true,"num":%d}`, n) }
