package handler

import (
	"encoding/json"
	"net/url"
	"regexp"
	"time"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// The e2e test application of tests/e2e/APP.md, written as data over the
// core's records: every callback of the Node app (an ack to answer later, a
// timer) is a map entry, so the whole state can be carried between
// instances.

// appConfig is the core's configuration; store: recovery through the
// handler's store (an instance per request, recovery.go).
func appConfig(opts Options, store bool) core.Config {
	cfg := core.Config{DynamicNamespaces: true}
	cfg.PingInterval = 500 * time.Millisecond
	cfg.PingTimeout = 2000 * time.Millisecond
	cfg.Seed = opts.Seed
	if opts.RecoveryWindow > 0 {
		cfg.RecoveryWindow = opts.RecoveryWindow
		cfg.RecoveryMaxPackets, cfg.RecoveryMaxBytes = opts.RecoveryMaxPackets, opts.RecoveryMaxBytes
		cfg.RecoveryStore = store
	}
	return cfg
}

var dynName = regexp.MustCompile(`^/dyn-[a-z0-9]+$`)

type sockInfo struct {
	Nsp   string          `json:"nsp"`
	Auth  json.RawMessage `json:"auth"`
	Query json.RawMessage `json:"query"` // handshake query "foo", or null
	Data  json.RawMessage `json:"data,omitempty"`
	Rec   bool            `json:"rec,omitempty"`
	SID   wire.SID        `json:"sid"`
}

type appTimer struct {
	At  clock.Instant `json:"at"`
	Ack wire.AckRef   `json:"ack"`
}

// app is the application's state; exported fields are what a snapshot keeps.
type app struct {
	srv *core.Server

	Reasons   map[wire.SocketID]string        `json:"reasons"`
	Sockets   map[wire.SocketID]*sockInfo     `json:"sockets"`
	Pending   map[wire.SocketID]*sockInfo     `json:"pending"` // ConnectRequested, not Connected yet
	SIDQuery  map[wire.SID]json.RawMessage    `json:"sidQuery"`
	Asks      map[wire.AckRef]wire.AckRef     `json:"asks"`   // question ref → the ask's ack
	BAcks     map[wire.AckRef]wire.AckRef     `json:"backs"`  // broadcast-ack ref → its ack
	Timers    []appTimer                      `json:"timers"` // slow-ack
	ConnQuery map[wire.ConnID]json.RawMessage `json:"-"`      // this call's handshake conn → foo
	Open      map[wire.SID]bool               `json:"open"`   // the open Engine.IO sessions
	// With an instance per request: broadcasts with acks as one ask per
	// target socket (each socket's pending ack travels in its session's
	// snapshot; a core broadcast-ack lives in one machine only).
	Groups  map[wire.AckRef]*ackGroup   `json:"groups,omitempty"`  // by the ask's ack
	GroupOf map[wire.AckRef]wire.AckRef `json:"groupOf,omitempty"` // target's ack ref → group

	perRequest bool
	recovery   bool // in-memory recovery: the app attaches socket.data to a saved session

	bySID map[wire.SID]map[wire.SocketID]bool // the connected sockets of a session (from Sockets)
}

func newApp(srv *core.Server) *app {
	a := &app{srv: srv,
		Reasons: map[wire.SocketID]string{}, Sockets: map[wire.SocketID]*sockInfo{},
		Pending: map[wire.SocketID]*sockInfo{}, SIDQuery: map[wire.SID]json.RawMessage{},
		Asks: map[wire.AckRef]wire.AckRef{}, BAcks: map[wire.AckRef]wire.AckRef{},
		ConnQuery: map[wire.ConnID]json.RawMessage{}, Open: map[wire.SID]bool{},
		bySID: map[wire.SID]map[wire.SocketID]bool{},
	}
	srv.AddNamespace("/", true)
	srv.AddNamespace("/chat", true)
	return a
}

// fill makes the maps a decoded state left nil.
func (a *app) fill() {
	if a.Reasons == nil {
		a.Reasons = map[wire.SocketID]string{}
	}
	if a.Sockets == nil {
		a.Sockets = map[wire.SocketID]*sockInfo{}
	}
	if a.Pending == nil {
		a.Pending = map[wire.SocketID]*sockInfo{}
	}
	if a.SIDQuery == nil {
		a.SIDQuery = map[wire.SID]json.RawMessage{}
	}
	if a.Asks == nil {
		a.Asks = map[wire.AckRef]wire.AckRef{}
	}
	if a.BAcks == nil {
		a.BAcks = map[wire.AckRef]wire.AckRef{}
	}
	if a.ConnQuery == nil {
		a.ConnQuery = map[wire.ConnID]json.RawMessage{}
	}
	if a.Groups == nil {
		a.Groups = map[wire.AckRef]*ackGroup{}
	}
	if a.GroupOf == nil {
		a.GroupOf = map[wire.AckRef]wire.AckRef{}
	}
	a.bySID = map[wire.SID]map[wire.SocketID]bool{}
	for id, si := range a.Sockets {
		a.index(id, si.SID)
	}
}

type ackGroup struct {
	Left     int          `json:"left"`
	Replies  []wire.Reply `json:"replies"`
	TimedOut bool         `json:"timedOut,omitempty"`
}

func (a *app) index(id wire.SocketID, sid wire.SID) {
	m := a.bySID[sid]
	if m == nil {
		m = map[wire.SocketID]bool{}
		a.bySID[sid] = m
	}
	m[id] = true
}

// socketData is a socket's data (JSON), nil if none.
func (a *app) socketData(id wire.SocketID) []byte {
	si := a.Sockets[id]
	if si == nil {
		si = a.Pending[id]
	}
	if si == nil || len(si.Data) == 0 {
		return nil
	}
	return si.Data
}

func (a *app) unindex(id wire.SocketID) {
	si := a.Sockets[id]
	if si == nil {
		return
	}
	if m := a.bySID[si.SID]; m != nil {
		delete(m, id)
		if len(m) == 0 {
			delete(a.bySID, si.SID)
		}
	}
}

// noteQuery records the "foo" parameter of a request that may open a session.
func (a *app) noteQuery(c wire.ConnID, rawQuery string) {
	q, _ := url.ParseQuery(rawQuery)
	if q.Get("sid") != "" {
		return
	}
	v := json.RawMessage("null")
	if q.Has("foo") {
		v = mustJSON(q.Get("foo"))
	}
	a.ConnQuery[c] = v
}

func (a *app) deadline() clock.Instant {
	var d clock.Instant
	for _, t := range a.Timers {
		if d == 0 || t.At < d {
			d = t.At
		}
	}
	return d
}

// fire answers the slow-acks that are due.
func (a *app) fire(now clock.Instant) bool {
	fired := false
	keep := a.Timers[:0]
	for _, t := range a.Timers {
		if t.At <= now {
			a.srv.Ack(t.Ack, []byte(`["late"]`), nil)
			fired = true
		} else {
			keep = append(keep, t)
		}
	}
	a.Timers = keep
	return fired
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case float64:
		return x != 0
	case string:
		return x != ""
	}
	return true
}

func (a *app) output(now clock.Instant, o wire.Output) {
	switch o := o.(type) {
	case wire.SessionOpened:
		a.Open[o.SID] = true
		if q, ok := a.ConnQuery[o.Conn]; ok {
			a.SIDQuery[o.SID] = q
		}
	case wire.SessionClosed:
		delete(a.SIDQuery, o.SID)
		delete(a.Open, o.SID)
	case wire.ConnectRequested:
		a.connectRequested(now, o)
	case wire.Connected:
		a.connected(now, o)
	case wire.EventReceived:
		a.event(now, o)
	case wire.AckResolved:
		a.ackResolved(o)
	case wire.BroadcastAckResolved:
		if ack, ok := a.BAcks[o.Ref]; ok {
			delete(a.BAcks, o.Ref)
			a.broadcastAckResolved(o, ack)
		}
	case wire.Disconnecting:
		if si := a.Sockets[o.Socket]; a.recovery && si != nil && len(si.Data) > 0 {
			// kept with its session if it may come back (an error when
			// the reason is not recoverable: nothing was saved)
			a.srv.SetRecoveryData(o.Socket, si.Data)
		}
	case wire.Disconnected:
		a.Reasons[o.Socket] = o.Reason
		a.unindex(o.Socket)
		delete(a.Sockets, o.Socket)
	}
}

func (a *app) connectRequested(now clock.Instant, o wire.ConnectRequested) {
	var auth map[string]any
	json.Unmarshal(o.Auth, &auth)
	switch {
	case o.Recovered:
		// its middleware ran at its first connection (Node's
		// skipMiddlewares: true, APP.md)
	case !o.Known && !dynName.MatchString(o.Nsp):
		a.srv.RejectConnect(now, o.Socket, "Invalid namespace", nil)
		return
	case o.Nsp == "/" && truthy(auth["reject"]):
		a.srv.RejectConnect(now, o.Socket, "rejected", []byte(`{"code":42}`))
		return
	case o.Nsp == "/chat" && auth["token"] != "secret":
		a.srv.RejectConnect(now, o.Socket, "unauthorized", []byte(`{"reason":"bad token"}`))
		return
	}
	q := a.SIDQuery[o.SID]
	if q == nil {
		q = json.RawMessage("null")
	}
	auth0 := json.RawMessage(o.Auth)
	if len(auth0) == 0 {
		auth0 = json.RawMessage("{}")
	}
	a.Pending[o.Socket] = &sockInfo{Nsp: o.Nsp, Auth: auth0, Query: q, Data: o.Data, Rec: o.Recovered, SID: o.SID}
	a.srv.AcceptConnect(now, o.Socket)
}

func (a *app) connected(now clock.Instant, o wire.Connected) {
	si := a.Pending[o.Socket]
	delete(a.Pending, o.Socket)
	if si == nil {
		si = &sockInfo{Nsp: o.Nsp, Auth: json.RawMessage("{}"), Query: json.RawMessage("null")}
	}
	si.SID = o.SID
	a.Sockets[o.Socket] = si
	a.index(o.Socket, si.SID)
	welcome := map[string]any{"id": o.Socket, "nsp": o.Nsp, "auth": si.Auth, "query": si.Query}
	a.emit(now, o.Socket, "welcome", welcome)
}

func (a *app) emit(now clock.Instant, id wire.SocketID, name string, args ...any) {
	a.srv.Emit(now, core.Emit{Socket: id, Data: mustJSON(append([]any{name}, args...))})
}

func (a *app) ack(ref wire.AckRef, args ...any) {
	if ref != 0 {
		if args == nil {
			args = []any{}
		}
		a.srv.Ack(ref, mustJSON(args), nil)
	}
}

func roomList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, r := range x {
			if s, ok := r.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func (a *app) event(now clock.Instant, e wire.EventReceived) {
	var raw []json.RawMessage
	if json.Unmarshal(e.Data, &raw) != nil || len(raw) == 0 {
		return
	}
	args := raw[1:]
	arg := func(i int, v any) {
		if i < len(args) {
			json.Unmarshal(args[i], v)
		}
	}
	si := a.Sockets[e.Socket]
	nsp := "/"
	if si != nil {
		nsp = si.Nsp
	}
	switch e.Name {
	case "echo":
		if e.Ack != 0 {
			a.srv.Ack(e.Ack, mustJSON(args), e.Attachments)
		} else {
			a.srv.Emit(now, core.Emit{Socket: e.Socket, Data: e.Data, Attachments: e.Attachments})
		}
	case "ask":
		var ms float64
		arg(1, &ms)
		var payload json.RawMessage = json.RawMessage("null")
		if len(args) > 0 {
			payload = args[0]
		}
		ref, err := a.srv.Emit(now, core.Emit{Socket: e.Socket, Data: mustJSON([]any{"question", payload}), Attachments: e.Attachments,
			WithAck: true, Timeout: time.Duration(ms * float64(time.Millisecond))})
		if err == nil && ref != 0 {
			a.Asks[ref] = e.Ack
		}
	case "slow-ack":
		var ms float64
		arg(0, &ms)
		if e.Ack != 0 {
			a.Timers = append(a.Timers, appTimer{At: now.Add(time.Duration(ms * float64(time.Millisecond))), Ack: e.Ack})
		}
	case "join":
		var room string
		arg(0, &room)
		a.srv.Join(e.Socket, room)
		a.ack(e.Ack, "ok")
	case "leave":
		var room string
		arg(0, &room)
		a.srv.Leave(e.Socket, room)
		a.ack(e.Ack, "ok")
	case "broadcast":
		var spec struct {
			Room   any               `json:"room"`
			Except any               `json:"except"`
			Event  string            `json:"event"`
			Args   []json.RawMessage `json:"args"`
		}
		arg(0, &spec)
		data := append([]json.RawMessage{mustJSON(spec.Event)}, spec.Args...)
		a.srv.Broadcast(now, core.Broadcast{Nsp: nsp, Rooms: roomList(spec.Room), Except: roomList(spec.Except),
			Data: mustJSON(data), Attachments: e.Attachments})
		a.ack(e.Ack, "ok")
	case "broadcast-ack":
		var spec struct {
			Room      string  `json:"room"`
			TimeoutMs float64 `json:"timeoutMs"`
		}
		arg(0, &spec)
		if a.perRequest {
			a.groupAsk(now, e.Ack, nsp, spec.Room, time.Duration(spec.TimeoutMs*float64(time.Millisecond)))
			return
		}
		ref, _, err := a.srv.Broadcast(now, core.Broadcast{Nsp: nsp, Rooms: []string{spec.Room}, Data: []byte(`["poll"]`),
			WithAck: true, Timeout: time.Duration(spec.TimeoutMs * float64(time.Millisecond))})
		if err == nil && ref != 0 {
			a.BAcks[ref] = e.Ack
		}
	case "disconnect-me":
		var closeConn bool
		arg(0, &closeConn)
		a.srv.Disconnect(now, e.Socket, closeConn)
	case "last-reason":
		var id string
		arg(0, &id)
		if r, ok := a.Reasons[wire.SocketID(id)]; ok {
			a.ack(e.Ack, r)
		} else {
			a.ack(e.Ack, nil)
		}
	case "count":
		a.ack(e.Ack, len(a.srv.SocketsIn(nsp, nil)))
	case "data-set":
		if si != nil && len(args) > 0 {
			si.Data = args[0]
		}
		a.ack(e.Ack, "ok")
	case "data-get":
		if si == nil || len(si.Data) == 0 {
			a.ack(e.Ack, map[string]any{})
		} else {
			a.ack(e.Ack, si.Data)
		}
	case "recovered?":
		a.ack(e.Ack, si != nil && si.Rec)
	}
}

// groupAsk emits "poll" with an ack to each socket of the room and answers
// ack once all replied or timed out, as a broadcast with acks does.
func (a *app) groupAsk(now clock.Instant, ack wire.AckRef, nsp, room string, timeout time.Duration) {
	g := &ackGroup{Replies: []wire.Reply{}}
	for _, id := range a.srv.SocketsIn(nsp, []string{room}) {
		ref, err := a.srv.Emit(now, core.Emit{Socket: id, Data: []byte(`["poll"]`), WithAck: true, Timeout: timeout})
		if err == nil && ref != 0 {
			a.GroupOf[ref] = ack
			g.Left++
		}
	}
	if g.Left == 0 {
		a.broadcastAckResolved(wire.BroadcastAckResolved{Ref: ack}, ack)
		return
	}
	a.Groups[ack] = g
}

func (a *app) groupReply(o wire.AckResolved) bool {
	gack, ok := a.GroupOf[o.Ref]
	if !ok {
		return false
	}
	delete(a.GroupOf, o.Ref)
	g := a.Groups[gack]
	if g == nil {
		return true
	}
	if o.Err == wire.AckOK {
		g.Replies = append(g.Replies, wire.Reply{Socket: o.Socket, Args: o.Args, Attachments: o.Attachments})
	} else {
		g.TimedOut = true // a timeout, or the socket left first: no reply by the deadline
	}
	if g.Left--; g.Left == 0 {
		delete(a.Groups, gack)
		a.broadcastAckResolved(wire.BroadcastAckResolved{Ref: gack, Replies: g.Replies, TimedOut: g.TimedOut}, gack)
	}
	return true
}

func (a *app) ackResolved(o wire.AckResolved) {
	if a.groupReply(o) {
		return
	}
	ack, ok := a.Asks[o.Ref]
	if !ok {
		return
	}
	delete(a.Asks, o.Ref)
	switch o.Err {
	case wire.AckTimedOut:
		a.ack(ack, map[string]any{"ok": false, "error": "operation has timed out"})
	case wire.AckDisconnected:
		a.ack(ack, map[string]any{"ok": false, "error": "socket has been disconnected"})
	default:
		var vals []json.RawMessage
		json.Unmarshal(o.Args, &vals)
		answer := json.RawMessage("null")
		if len(vals) > 0 {
			answer = vals[0]
		}
		a.srv.Ack(ack, mustJSON([]any{map[string]any{"ok": true, "answer": answer}}), o.Attachments)
	}
}

func (a *app) broadcastAckResolved(o wire.BroadcastAckResolved, ack wire.AckRef) {
	responses := []any{}
	var atts [][]byte
	for _, r := range o.Replies {
		var vals []any
		json.Unmarshal(r.Args, &vals)
		var first any
		if len(vals) > 0 {
			first = renumber(vals[0], len(atts))
		}
		responses = append(responses, first)
		atts = append(atts, r.Attachments...)
	}
	var errText any
	if o.TimedOut {
		errText = "operation has timed out"
	}
	a.srv.Ack(ack, mustJSON([]any{map[string]any{"err": errText, "responses": responses}}), atts)
}

// renumber shifts the binary placeholders of v by off (replies of several
// clients merged into one ack with their attachments one after another).
func renumber(v any, off int) any {
	switch x := v.(type) {
	case map[string]any:
		if x["_placeholder"] == true {
			if n, ok := x["num"].(float64); ok {
				return map[string]any{"_placeholder": true, "num": int(n) + off}
			}
		}
		for k, e := range x {
			x[k] = renumber(e, off)
		}
	case []any:
		for i, e := range x {
			x[i] = renumber(e, off)
		}
	}
	return v
}
