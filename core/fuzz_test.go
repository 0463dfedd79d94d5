package core

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// FuzzServerInputs decodes the fuzz bytes into a bounded sequence of host
// inputs (handshakes, POSTs, GETs, WebSocket messages, closes, the clock
// moving) and application commands (Emit, Broadcast, Join, Leave,
// Disconnect, Ack, AcceptConnect, RejectConnect, Close) on the ids the
// server handed out, and checks after every step, through the harness:
//
//   - no panic, and Poll always ends with Wait;
//   - Wait.Deadline is 0 or not before now, and after a Timeout it is later
//     than now (the deadline is where work is, and time moves on);
//   - every Respond answers an open request, once; AcceptWebSocket only
//     answers an upgrade request; Send, Broadcast and CloseConn only name
//     open WebSockets (or, for CloseConn, open requests); a Broadcast names
//     each connection once;
//   - socket ids are unique and never an Engine.IO sid; Connected,
//     Disconnecting, Disconnected come in that order per socket, and events
//     only come from connected sockets, with JSON-array data;
//   - each AckRef resolves at most once, and only refs the application got;
//     EventReceived.Ack refs are never reused.
//
// At the end it calls Close and runs the clock out, and checks that every
// ack resolved exactly once, no timer is left, and every request and
// WebSocket was answered or closed.
func FuzzServerInputs(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
		if len(s) > 0 && s[0]&16 == 0 { // the same with Config.RoomEvents (checked by the harness)
			f.Add(append([]byte{s[0] | 16}, s[1:]...))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		runFuzz(t, data)
	})
}

// The kinds of step; a step starts with one byte, kind = byte % numKinds.
const (
	opPollHandshake = iota
	opWSHandshake
	opPost
	opWSText
	opWSBinary
	opGet
	opClosed
	opAdvance
	opEmit
	opBroadcast
	opJoinLeave
	opDisconnect
	opAck
	opAnswerConnect
	opUpgrade
	opOddRequest
	opPong
	opClose
	opClusterIn
	opClusterCmd
	opRecover
	opStoreAnswer
	numKinds
)

// fuzzDict holds the Engine.IO packets the fuzzer mostly sends: valid ones
// for every Socket.IO path, and the suite's malformed ones.
var fuzzDict = []string{
	"40", "40/custom,", "40/admin,", `40/admin,{"token":"x"}`, "40/dyn,", "40/custom", `40{"a":1}`,
	"41", "41/custom,", "41/admin,",
	`42["msg",1]`, `42/custom,["msg"]`, `427["ack",{}]`, `42/custom,9["x"]`, `42/admin,3["y"]`,
	"430[]", `431["r"]`, `432[1,2]`, `43/custom,0["r"]`, `43/admin,0[]`,
	`451-["b",{"_placeholder":true,"num":0}]`, `451-3["b",{"_placeholder":true,"num":0}]`,
	`461-0[{"_placeholder":true,"num":0}]`, `461-1[{"_placeholder":true,"num":0}]`,
	`452-["b",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`,
	"bAQID", "b", "2", "3", "5", "6", "1", "2probe", "0",
	"4abc", "42{}", `42abc["x"]`, `429007199254740992["x"]`, `44{"message":"x"}`, "4", "x", "",
}

var fuzzQueries = []string{
	"EIO=4&transport=polling", "EIO=4", "transport=polling", "EIO=5&transport=polling",
	"EIO=4&transport=websocket", "EIO=4&transport=abc", "EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA",
}

type fuzzReader struct{ b []byte }

func (r *fuzzReader) more() bool { return len(r.b) > 0 }

func (r *fuzzReader) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *fuzzReader) bytes(n int) []byte {
	n = min(n, len(r.b))
	b := r.b[:n:n]
	r.b = r.b[n:]
	return b
}

// fsess is one session as the fuzzing host knows it.
type fsess struct {
	sid        wire.SID
	ws, probe  wire.ConnID
	get        wire.ConnID
	closed     bool
	upgradeReq wire.ConnID // the last upgrade request, until answered
}

type fuzzer struct {
	h        *harness
	r        *fuzzReader
	sessions []*fsess
	sockets  []wire.SocketID // connected, in order
	pending  []wire.SocketID // ConnectRequested, unanswered
	inRefs   []wire.AckRef
	reqIDs   []string // request ids the server published
	lookups  []wire.RecoveryLookup
}

func runFuzz(t testing.TB, data []byte) {
	r := &fuzzReader{b: data}
	cfg := suiteConfig()
	cfg.MaxPayload = 512
	cfg.MaxBufferedBytes = 2048
	cfg.UpgradeTimeout = 700 * time.Millisecond
	cfg.CloseTimeout = 2 * time.Second
	flags := r.byte()
	cfg.DynamicNamespaces = flags&1 != 0
	cfg.Cluster = flags&2 != 0
	cfg.RoomEvents = flags&16 != 0 // the harness checks they add up to Rooms
	if flags&4 != 0 {
		cfg.RecoveryWindow = 3 * time.Second
		cfg.RecoveryMaxPackets = 8
		cfg.RecoveryStore = flags&8 != 0
	}
	h := newHarness(t, cfg)
	h.keep = false
	h.s.AddNamespace("/custom", false)
	h.s.AddNamespace("/admin", true)
	fz := &fuzzer{h: h, r: r}
	h.onOutput = fz.observe
	for step := 0; step < 300 && r.more(); step++ {
		fz.step(r.byte())
	}
	fz.finish()
}

// observe follows what the server told the host.
func (fz *fuzzer) observe(o wire.Output) {
	switch o := o.(type) {
	case wire.SessionOpened:
		s := &fsess{sid: o.SID}
		if o.WebSocket {
			s.ws = o.Conn
		}
		fz.sessions = append(fz.sessions, s)
	case wire.SessionUpgraded:
		if s := fz.session(o.SID); s != nil {
			s.ws, s.probe = o.Conn, 0
		}
	case wire.SessionClosed:
		if s := fz.session(o.SID); s != nil {
			s.closed = true
		}
	case wire.AcceptWebSocket:
		for _, s := range fz.sessions {
			if s.upgradeReq == o.Conn {
				s.probe, s.upgradeReq = o.Conn, 0
			}
		}
	case wire.Respond:
		fz.forget(o.Conn)
	case wire.CloseConn:
		fz.forget(o.Conn)
	case wire.Connected:
		fz.sockets = append(fz.sockets, o.Socket)
		if i := slices.Index(fz.pending, o.Socket); i >= 0 {
			fz.pending = slices.Delete(fz.pending, i, i+1)
		}
	case wire.ConnectRequested:
		fz.pending = append(fz.pending, o.Socket)
	case wire.Disconnected:
		if i := slices.Index(fz.sockets, o.Socket); i >= 0 {
			fz.sockets = slices.Delete(fz.sockets, i, i+1)
		}
	case wire.EventReceived:
		if o.Ack != 0 {
			fz.inRefs = append(fz.inRefs, o.Ack)
		}
	case wire.ServerSideEmitReceived:
		if o.Ack != 0 {
			fz.inRefs = append(fz.inRefs, o.Ack)
		}
	case wire.RecoveryLookup:
		fz.lookups = append(fz.lookups, o)
	case wire.ClusterPublish:
		if o.Msg.RequestID != "" && len(fz.reqIDs) < 64 {
			fz.reqIDs = append(fz.reqIDs, o.Msg.RequestID)
		}
	}
}

func (fz *fuzzer) forget(c wire.ConnID) {
	for _, s := range fz.sessions {
		if s.get == c {
			s.get = 0
		}
		if s.ws == c {
			s.ws = 0
		}
		if s.probe == c {
			s.probe = 0
		}
		if s.upgradeReq == c {
			s.upgradeReq = 0
		}
	}
}

func (fz *fuzzer) session(sid wire.SID) *fsess {
	for _, s := range fz.sessions {
		if s.sid == sid {
			return s
		}
	}
	return nil
}

// pick chooses a session (closed ones too: their sids are good inputs).
func (fz *fuzzer) pick() *fsess {
	b := fz.r.byte() // always consumed, so that seeds stay aligned
	if len(fz.sessions) == 0 {
		return nil
	}
	return fz.sessions[int(b)%len(fz.sessions)]
}

func (fz *fuzzer) socket() wire.SocketID {
	b := fz.r.byte()
	if len(fz.sockets) == 0 || b == 255 {
		return "AAAAAAAAAAAAAAAAAAAA" // unknown
	}
	return fz.sockets[int(b)%len(fz.sockets)]
}

// packet is a dictionary entry, or raw bytes.
func (fz *fuzzer) packet() string {
	b := fz.r.byte()
	if b < 224 {
		return fuzzDict[int(b)%len(fuzzDict)]
	}
	return string(fz.r.bytes(int(b - 224)))
}

func (fz *fuzzer) request(method, query string, ws bool, body []byte) wire.ConnID {
	h := fz.h
	c := h.newConn()
	req := wire.HTTPRequest{Conn: c, Method: method, Query: query, WebSocket: ws, Body: body}
	if len(body) > h.s.Config().MaxPayload {
		req.Body, req.TooLarge = nil, true // what the host does
	}
	h.in(req)
	return c
}

func (fz *fuzzer) step(op byte) {
	h, r := fz.h, fz.r
	switch op % numKinds {
	case opPollHandshake:
		if len(fz.sessions) < maxFuzzSessions {
			fz.request("GET", "EIO=4&transport=polling&t=f", false, nil)
		}
	case opWSHandshake:
		if len(fz.sessions) < maxFuzzSessions {
			fz.request("GET", "EIO=4&transport=websocket", true, nil)
		}
	case opPost:
		s := fz.pick()
		if s == nil {
			return
		}
		n := 1 + int(r.byte()%3)
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fz.packet()
		}
		fz.request("POST", pollQuery(s.sid), false, []byte(strings.Join(parts, "\x1e")))
	case opWSText, opWSBinary:
		s := fz.pick()
		if s == nil {
			return
		}
		c := s.ws
		if sel := r.byte(); c == 0 || (s.probe != 0 && sel&1 == 0) {
			c = s.probe
		}
		if c == 0 {
			return
		}
		if op%numKinds == opWSText {
			h.in(wire.Recv{Conn: c, Data: []byte(fz.packet())})
		} else {
			h.in(wire.Recv{Conn: c, Data: slices.Clone(r.bytes(int(r.byte() % 8))), Binary: true})
		}
	case opGet:
		s := fz.pick()
		if s == nil {
			return
		}
		c := fz.request("GET", pollQuery(s.sid), false, nil)
		if _, open := h.requests[c]; open && s.get == 0 {
			s.get = c
		}
	case opClosed:
		s := fz.pick()
		if s == nil {
			return
		}
		var c wire.ConnID
		switch r.byte() % 4 {
		case 0:
			c = s.ws
		case 1:
			c = s.get
		case 2:
			c = s.probe
		default:
			c = wire.ConnID(r.byte()) // anything, maybe long gone
		}
		if c != 0 {
			h.in(wire.Closed{Conn: c, Error: r.byte()&1 == 1})
		}
	case opAdvance:
		h.advance(time.Duration(r.byte()) * 5 * time.Millisecond)
	case opEmit:
		id := fz.socket()
		o := r.byte()
		e := Emit{Socket: id, Data: []byte(`["e",` + strconv.Itoa(int(o)) + `]`), WithAck: o&1 != 0, Volatile: o&4 != 0, Timeout: fuzzTimeout(o)}
		if o&2 != 0 {
			e.Data = []byte(`["bin",` + ph(0) + `]`)
			e.Attachments = [][]byte{{o}}
		}
		fz.cmd("Emit", func(now clock.Instant) error {
			ref, err := h.s.Emit(now, e)
			if ref != 0 {
				h.issue(ref)
			}
			return err
		})
	case opBroadcast:
		o := r.byte()
		b := Broadcast{
			Nsp:     []string{"/", "/custom", "/admin", "/nope"}[r.byte()%4],
			Rooms:   fz.rooms(r.byte()),
			Except:  fz.rooms(r.byte()),
			Data:    []byte(`["b"]`),
			WithAck: o&1 != 0, Volatile: o&4 != 0, Timeout: fuzzTimeout(o),
		}
		if o&2 != 0 {
			b.Data = []byte(`["bin",` + ph(0) + `]`)
			b.Attachments = [][]byte{{1, 2}}
		}
		fz.cmd("Broadcast", func(now clock.Instant) error {
			ref, n, err := h.s.Broadcast(now, b)
			if ref != 0 {
				h.issue(ref)
			}
			if n < 0 || (err == nil && !b.WithAck && ref != 0) {
				h.fatalf("Broadcast returned ref %d, n %d", ref, n)
			}
			return err
		})
	case opJoinLeave:
		id := fz.socket()
		o := r.byte()
		room := []string{"r1", "r2", "r3"}[o%3]
		if o&4 != 0 {
			fz.cmd("Leave", func(clock.Instant) error { return h.s.Leave(id, room) })
		} else {
			fz.cmd("Join", func(clock.Instant) error { return h.s.Join(id, room) })
		}
	case opDisconnect:
		id := fz.socket()
		close := r.byte()&1 == 1
		fz.cmd("Disconnect", func(now clock.Instant) error { return h.s.Disconnect(now, id, close) })
	case opAck:
		var ref wire.AckRef = 999_999
		if b := r.byte(); len(fz.inRefs) > 0 {
			ref = fz.inRefs[int(b)%len(fz.inRefs)]
		}
		var args []byte
		var atts [][]byte
		switch r.byte() % 3 {
		case 1:
			args = []byte(`[1,"two"]`)
		case 2:
			args = []byte(`[` + ph(0) + `]`)
			atts = [][]byte{{9}}
		}
		fz.cmd("Ack", func(clock.Instant) error { return h.s.Ack(ref, args, atts) })
	case opAnswerConnect:
		id := wire.SocketID("AAAAAAAAAAAAAAAAAAAA")
		if b := r.byte(); len(fz.pending) > 0 {
			id = fz.pending[int(b)%len(fz.pending)]
		}
		if r.byte()&1 == 0 {
			fz.cmd("AcceptConnect", func(now clock.Instant) error { return h.s.AcceptConnect(now, id) })
		} else {
			fz.cmd("RejectConnect", func(now clock.Instant) error { return h.s.RejectConnect(now, id, "no", []byte(`{"why":1}`)) })
		}
		if i := slices.Index(fz.pending, id); i >= 0 { // answered
			fz.pending = slices.Delete(fz.pending, i, i+1)
		}
	case opUpgrade:
		s := fz.pick()
		if s == nil {
			return
		}
		c := h.newConn()
		s.upgradeReq = c
		h.in(wire.HTTPRequest{Conn: c, Method: "GET", Query: "EIO=4&transport=websocket&sid=" + string(s.sid), WebSocket: true})
		if s.upgradeReq == c { // not made the probe: refused or closed at once
			s.upgradeReq = 0
		}
	case opOddRequest:
		o := r.byte()
		q := fuzzQueries[int(o)%len(fuzzQueries)]
		if len(fz.sessions) >= maxFuzzSessions {
			q = "EIO=5&transport=polling" // no more sessions: keep runs short
		}
		method := []string{"GET", "POST", "PUT", "OPTIONS"}[(o>>4)%4]
		if s := fz.pick(); s != nil && o&8 != 0 {
			q = pollQuery(s.sid)
		}
		c := h.newConn()
		h.in(wire.HTTPRequest{Conn: c, Method: method, Query: q, WebSocket: o&4 != 0 && method == "GET", Binary: o&2 != 0,
			Body: []byte("4x"), TooLarge: o&1 != 0 && method == "POST"})
	case opPong:
		for _, s := range fz.sessions {
			if s.closed {
				continue
			}
			if s.ws != 0 {
				h.in(wire.Recv{Conn: s.ws, Data: []byte("3")})
			} else {
				fz.request("POST", pollQuery(s.sid), false, []byte("3"))
			}
		}
	case opClose:
		if r.byte() == 0xc1 { // rarely: it ends every session
			fz.cmd("Close", func(now clock.Instant) error { h.s.Close(now); return nil })
		}
	case opRecover:
		s := fz.pick()
		if s == nil {
			return
		}
		nsp := []string{"", "/custom,", "/admin,"}[r.byte()%3]
		packet := "40" + nsp + fz.recoverPayload(r.byte())
		if s.ws != 0 {
			h.in(wire.Recv{Conn: s.ws, Data: []byte(packet)})
		} else {
			fz.request("POST", pollQuery(s.sid), false, []byte(packet))
		}
	case opStoreAnswer:
		fz.storeAnswer(r.byte(), r.byte())
	case opClusterIn:
		if !h.s.cfg.Cluster {
			return
		}
		o := r.byte()
		id := fz.requestID(r.byte())
		if o&0x80 != 0 {
			h.in(wire.ClusterServers{RequestID: id, Servers: int(o&7) - 1})
			return
		}
		m := wire.ClusterMessage{
			Type: wire.ClusterType(o % 14), Nsp: []string{"/", "/custom", "/admin", "/nope"}[(o>>4)&3], RequestID: id,
			Rooms: fz.rooms(r.byte()), Except: fz.rooms(r.byte()), JoinRooms: fz.rooms(r.byte()),
			Data: []byte(`["c",1]`), Volatile: o&8 != 0, Close: o&8 != 0, Timeout: fuzzTimeout(o),
			ClientCount: int(r.byte()%5) - 1,
			Sockets:     []wire.ClusterSocket{{ID: "BBBBBBBBBBBBBBBBBBBB", Rooms: []string{"x"}}},
		}
		if r.byte()&1 != 0 {
			m.Data = []byte(`["bin",` + ph(0) + `]`)
			m.Attachments = [][]byte{{3}}
		}
		h.in(wire.ClusterReceived{Msg: m})
	case opClusterCmd:
		o := r.byte()
		t := Target{Nsp: []string{"/", "/custom", "/admin", "/nope"}[(o>>4)&3], Rooms: fz.rooms(r.byte()),
			Except: fz.rooms(r.byte()), Local: o&8 != 0}
		issue := func(ref wire.AckRef, err error) error {
			if ref != 0 {
				h.issue(ref)
			}
			return err
		}
		switch o % 6 {
		case 0:
			fz.cmd("SocketsJoin", func(now clock.Instant) error { return h.s.SocketsJoin(now, t, "r1", "r3") })
		case 1:
			fz.cmd("SocketsLeave", func(now clock.Instant) error { return h.s.SocketsLeave(now, t, "r1") })
		case 2:
			fz.cmd("DisconnectSockets", func(now clock.Instant) error { return h.s.DisconnectSockets(now, t, o&0x80 != 0) })
		case 3:
			fz.cmd("FetchSockets", func(now clock.Instant) error { return issue(h.s.FetchSockets(now, t)) })
		case 4:
			fz.cmd("AllRooms", func(now clock.Instant) error { return issue(h.s.AllRooms(now, t.Nsp, t.Local)) })
		case 5:
			fz.cmd("ServerSideEmit", func(now clock.Instant) error {
				return issue(h.s.ServerSideEmit(now, t.Nsp, []byte(`["s"]`), nil, o&0x80 != 0))
			})
		}
	}
}

// recoverPayload builds a CONNECT payload that tries to recover a saved
// session (looked up in the server: the fuzzer plays a client that kept
// its pid and last offset), or a stray one.
func (fz *fuzzer) recoverPayload(b byte) string {
	rec := &fz.h.s.rec
	pids := make([]string, 0, len(rec.sessions))
	for pid := range rec.sessions {
		pids = append(pids, pid)
	}
	slices.Sort(pids)
	pid, offset := "AAAAAAAAAAAAAAAAAAAA", "0"
	if len(pids) > 0 && b&1 == 0 {
		pid = pids[int(b>>1)%len(pids)]
	}
	if len(rec.packets) > 0 && b&2 == 0 {
		offset = rec.packets[int(b>>2)%len(rec.packets)].offset
	}
	return `{"pid":"` + pid + `","offset":"` + offset + `"}`
}

// storeAnswer answers a lookup (or a stray ref) as a recovery store
// would, or would not: a session of this server or another, of a socket
// that is connected or not, with or without the log's packets.
func (fz *fuzzer) storeAnswer(o, b byte) {
	h := fz.h
	f := wire.RecoveryFound{Ref: wire.AckRef(b)}
	lk := wire.RecoveryLookup{PID: "AAAAAAAAAAAAAAAAAAAA", Nsp: "/", Offset: "0"}
	if len(fz.lookups) > 0 && o&0x80 == 0 {
		i := int(b) % len(fz.lookups)
		lk = fz.lookups[i]
		fz.lookups = slices.Delete(fz.lookups, i, i+1)
		f.Ref = lk.Ref
	}
	if o&1 != 0 {
		node := "ZZZZZZ"
		if o&2 != 0 {
			node = h.s.rec.prefix
		}
		sid := wire.SocketID("CCCCCCCCCCCCCCCCCCCC")
		if o&4 != 0 {
			sid = fz.socket()
		}
		f.Found = true
		f.Session = wire.RecoverySession{State: wire.RecoveryLive, PID: lk.PID, Socket: sid, Nsp: lk.Nsp,
			Rooms: append([]string{string(sid)}, fz.rooms(b)...), Node: node, Data: []byte(`{"n":1}`)}
	}
	if o&8 != 0 {
		f.OffsetFound = true
		f.Packets = []wire.RecoveryPacket{
			{Offset: "ZZZZZZ1", Rooms: fz.rooms(o >> 4), Data: []byte(`["s",1]`)},
			{Offset: lk.Offset, Data: []byte(`["bin",` + ph(0) + `]`), Attachments: [][]byte{{1}}},
		}
	}
	h.in(f)
}

// requestID picks a request id the server published, or a stray one.
func (fz *fuzzer) requestID(b byte) string {
	if b < 32 || len(fz.reqIDs) == 0 {
		return []string{"", "stray"}[b&1]
	}
	return fz.reqIDs[int(b)%len(fz.reqIDs)]
}

// maxFuzzSessions bounds the sessions of one run (opPong visits them all).
const maxFuzzSessions = 24

func fuzzTimeout(o byte) time.Duration {
	return []time.Duration{0, 50 * time.Millisecond, 400 * time.Millisecond, 2 * time.Second}[(o>>3)&3]
}

// rooms picks a small set of rooms (maybe a socket's own room).
func (fz *fuzzer) rooms(b byte) []string {
	var out []string
	if b&1 != 0 {
		out = append(out, "r1")
	}
	if b&2 != 0 {
		out = append(out, "r2")
	}
	if b&4 != 0 && len(fz.sockets) > 0 {
		out = append(out, string(fz.sockets[int(b>>3)%len(fz.sockets)]))
	}
	return out
}

// cmd runs an application command; it may only fail with the documented
// errors for ids that are unknown or gone.
func (fz *fuzzer) cmd(name string, f func(now clock.Instant) error) {
	h := fz.h
	err := h.do(name, f)
	switch err {
	case nil, ErrUnknownSocket, ErrUnknownAck, ErrUnknownNamespace:
	default:
		h.fatalf("%s: unexpected error %v", name, err)
	}
}

func (fz *fuzzer) finish() {
	h := fz.h
	h.do("Close", func(now clock.Instant) error { h.s.Close(now); return nil })
	h.advance(time.Hour)
	for ref := range h.issued {
		if h.resolved[ref] != 1 {
			h.fatalf("ack %d resolved %d times by the end", ref, h.resolved[ref])
		}
	}
	if h.deadline != 0 {
		h.fatalf("a timer is left at %s", h.rel(h.deadline))
	}
	if len(h.requests) != 0 || len(h.ws) != 0 {
		h.fatalf("after Close, open requests %v and WebSockets %v", h.requests, h.ws)
	}
	if len(h.sockets) != 0 {
		h.fatalf("after Close, sockets %v", h.sockets)
	}
	if len(h.s.rec.lookups) != 0 || len(h.s.rec.dirty) != 0 {
		h.fatalf("after Close the server still holds %d lookups, %d snapshots", len(h.s.rec.lookups), len(h.s.rec.dirty))
	}
	inAcks := len(h.s.inAcks)
	if len(h.s.sockets) != 0 || len(h.s.pending) != 0 || len(h.s.outAcks) != 0 || inAcks != 0 || h.s.eng.Len() != 0 || len(h.s.requests) != 0 {
		h.fatalf("after Close the server still holds %d sockets, %d pending, %d acks out, %d acks in, %d sessions, %d cluster requests",
			len(h.s.sockets), len(h.s.pending), len(h.s.outAcks), inAcks, h.s.eng.Len(), len(h.s.requests))
	}
}

// ---- seeds ------------------------------------------------------------------

// seed builds a fuzz input step by step.
type seed []byte

func (s seed) op(kind byte, args ...byte) seed { return append(append(s, kind), args...) }

// pk is the reader byte that picks dictionary packet p.
func pk(p string) byte {
	i := slices.Index(fuzzDict, p)
	if i < 0 {
		panic("not in fuzzDict: " + p)
	}
	return byte(i)
}

func fuzzSeeds() [][]byte {
	var seeds []seed
	// WebSocket session: connect, event with ack answered, emit with ack
	// answered and one timing out, heartbeat kept, broadcast with acks,
	// namespace disconnect.
	seeds = append(seeds, seed{0}.
		op(opWSHandshake).
		op(opWSText, 0, 1, pk("40")).
		op(opWSText, 0, 1, pk(`427["ack",{}]`)).
		op(opAck, 0, 1).
		op(opEmit, 0, 1|3<<3). // ack, 2s
		op(opWSText, 0, 1, pk("430[]")).
		op(opEmit, 0, 1|1<<3). // ack, 50ms
		op(opAdvance, 20).
		op(opPong).
		op(opJoinLeave, 0, 0).
		op(opBroadcast, 1|2<<3, 0, 1, 0).
		op(opWSText, 0, 1, pk(`432[1,2]`)).
		op(opAdvance, 50).
		op(opPong).
		op(opDisconnect, 0, 0).
		op(opAdvance, 200))
	// Polling session: two namespaces in one POST, binary event with its
	// attachment, rooms, broadcast, then silence until the ping timeout.
	seeds = append(seeds, seed{0}.
		op(opPollHandshake).
		op(opGet, 0).
		op(opPost, 0, 1, pk("40"), pk("40/custom,")).
		op(opGet, 0).
		op(opPost, 0, 1, pk(`451-["b",{"_placeholder":true,"num":0}]`), pk("bAQID")).
		op(opJoinLeave, 0, 1).
		op(opBroadcast, 2, 0, 2, 0).
		op(opGet, 0).
		op(opEmit, 0, 2|4).
		op(opAdvance, 120))
	// Upgrade: probe, GET answered with noop, upgrade, WebSocket traffic,
	// a second WebSocket refused, GET after upgrade refused.
	seeds = append(seeds, seed{0}.
		op(opPollHandshake).
		op(opPost, 0, 0, pk("40")).
		op(opGet, 0).
		op(opUpgrade, 0).
		op(opWSText, 0, 0, pk("2probe")).
		op(opGet, 0).
		op(opEmit, 0, 0).
		op(opWSText, 0, 0, pk("5")).
		op(opWSText, 0, 1, pk(`42["msg",1]`)).
		op(opWSBinary, 0, 1, 3, 1, 2, 3).
		op(opUpgrade, 0).
		op(opGet, 0).
		op(opAdvance, 200))
	// Middleware: gated namespace accepted and rejected, dynamic namespace.
	seeds = append(seeds, seed{1}.
		op(opWSHandshake).
		op(opWSText, 0, 1, pk("40/admin,")).
		op(opAnswerConnect, 0, 0).
		op(opWSText, 0, 1, pk("40/dyn,")).
		op(opAnswerConnect, 0, 1).
		op(opWSText, 0, 1, pk("40/dyn,")).
		op(opAnswerConnect, 0, 0).
		op(opBroadcast, 1|2<<3, 2, 0, 0).
		op(opWSText, 0, 1, pk(`43/admin,0[]`)).
		op(opDisconnect, 1, 1))
	// Protocol violations: malformed Engine.IO and Socket.IO packets,
	// overlapping GETs, an aborted GET, odd requests, a buffer overflow.
	seeds = append(seeds, seed{0}.
		op(opPollHandshake).op(opPollHandshake).op(opWSHandshake).op(opWSHandshake).
		op(opPost, 0, 0, pk("4abc")).
		op(opGet, 1).op(opGet, 1).
		op(opWSText, 2, 1, pk(`429007199254740992["x"]`)).
		op(opWSText, 3, 1, 0xe3, 'a', 'b', 'c').
		op(opOddRequest, 0x21).op(opOddRequest, 0x13).op(opOddRequest, 0x0c).
		op(opPollHandshake).
		op(opGet, 4).
		op(opClosed, 4, 1).
		op(opPollHandshake).
		op(opPost, 5, 0, pk("40")).
		op(opEmit, 0, 0).op(opEmit, 0, 0).op(opEmit, 0, 0).op(opEmit, 0, 0).op(opEmit, 0, 0).
		op(opEmit, 0, 2).op(opEmit, 0, 2).op(opEmit, 0, 2).op(opEmit, 0, 2).op(opEmit, 0, 2).
		op(opClose, 0xc1))
	// Long-running: many sessions, broadcast acks under churn, timeouts.
	var long seed = seed{0}
	for i := range 12 {
		long = long.op(opWSHandshake).op(opWSText, byte(i), 1, pk("40")).op(opJoinLeave, byte(i), byte(i%3))
	}
	for i := range 10 {
		long = long.op(opBroadcast, 1|2<<3, 0, 3, 0).
			op(opWSText, byte(i), 0, pk("430[]")).
			op(opAdvance, 30).op(opPong).
			op(opDisconnect, byte(i*5), byte(i%2))
	}
	seeds = append(seeds, long)
	// Recovery: a socket, broadcasts it sees, its transport lost, more
	// broadcasts, a new session that recovers it, then the window passes.
	seeds = append(seeds, seed{4}.
		op(opWSHandshake).op(opWSText, 0, 1, pk("40")).
		op(opJoinLeave, 0, 0).
		op(opBroadcast, 0, 0, 1, 0).op(opEmit, 0, 0).
		op(opClosed, 0, 0, 1).
		op(opBroadcast, 0, 0, 1, 0).op(opBroadcast, 0, 1, 0, 0).
		op(opWSHandshake).
		op(opRecover, 1, 0, 0).
		op(opRecover, 1, 0, 0).
		op(opAdvance, 250).op(opPong).op(opAdvance, 250).op(opPong))
	// Recovery store: a socket whose server is another, its lookup
	// answered with a session and packets; one from this server; one
	// unanswered until it times out; snapshots as rooms change.
	seeds = append(seeds, seed{4 | 8 | 2}.
		op(opWSHandshake).op(opWSText, 0, 1, pk("40")).
		op(opJoinLeave, 0, 0).
		op(opBroadcast, 0, 0, 1, 0).op(opEmit, 0, 0).
		op(opClosed, 0, 0, 1).
		op(opWSHandshake).
		op(opRecover, 1, 0, 0).
		op(opStoreAnswer, 1|8, 0).
		op(opRecover, 1, 0, 0).
		op(opStoreAnswer, 1|2|4, 0).
		op(opRecover, 1, 0, 0).
		op(opAdvance, 250).op(opAdvance, 250).
		op(opStoreAnswer, 1, 0))
	// Cluster: two sockets, every cluster command, answers to the requests
	// (matched by the ids the server published), counts, stray messages.
	seeds = append(seeds, seed{2}.
		op(opWSHandshake).op(opWSText, 0, 1, pk("40")).
		op(opWSHandshake).op(opWSText, 1, 1, pk("40")).
		op(opClusterCmd, 0, 1, 0).               // socketsJoin r1
		op(opClusterCmd, 3, 1, 0).               // fetchSockets in r1
		op(opClusterIn, 5, 40, 0, 0, 0, 1, 0).   // fetch answer to the first id
		op(opClusterIn, 0x83, 40).               // 2 servers for it
		op(opClusterCmd, 4, 0, 0).               // allRooms
		op(opClusterCmd, 0x85, 0, 0).            // serverSideEmit with ack
		op(opClusterIn, 7, 0x21, 0, 0, 0, 1, 0). // another server's serverSideEmit with a stray id
		op(opAck, 0, 1).
		op(opBroadcast, 1|2<<3, 0, 0, 0).      // broadcast with acks, published
		op(opClusterIn, 9, 44, 0, 0, 0, 3, 0). // a client count
		op(opClusterIn, 1, 1, 1, 0, 0, 0, 1).  // another server's broadcast with acks
		op(opWSText, 0, 1, pk("430[]")).
		op(opClusterCmd, 2, 1, 0). // disconnectSockets in r1
		op(opAdvance, 250).op(opAdvance, 250))
	out := make([][]byte, len(seeds))
	for i, s := range seeds {
		out[i] = s
	}
	return out
}
