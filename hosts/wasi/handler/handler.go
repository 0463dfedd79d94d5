// Package handler is the socketcore WASI edge handler: it answers the
// requests a GRIP proxy (Pushpin locally, Fastly Fanout in production)
// makes for its clients, running the Socket.IO core and the e2e test
// application (tests/e2e/APP.md) over them.
//
// The proxy holds every client connection. A polling request reaches the
// handler as itself; a request the core parks (a long-poll GET) is answered
// with a GRIP hold on its own channel, and completed later by a publish.
// A WebSocket reaches it as WebSocket-over-HTTP events; each WebSocket is
// subscribed to its own channel, so frames the core writes to it while
// handling another request are publishes. The handler does no I/O: Serve
// takes a request and the time and returns the response, the publish items
// and the next deadline (when the caller must call Serve with a Tick
// request). It is a plain Go package, compiled into the wasip1 command
// hosts/wasi/cmd/wasi-handler.
//
// It must not import a host (hosts/native) nor do I/O of its own.
package handler

import (
	"bytes"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// Request is one request of the proxy, or a tick (the deadline passed).
type Request struct {
	Tick   bool              `json:"tick,omitempty"`
	Method string            `json:"method,omitempty"`
	Path   string            `json:"path,omitempty"`
	Query  string            `json:"query,omitempty"`
	Header map[string]string `json:"header,omitempty"` // canonical names; only those the handler reads
	Body   []byte            `json:"body,omitempty"`
}

// Response is the answer to a Request, plus what the caller must do next.
type Response struct {
	Status int               `json:"status"`
	Header map[string]string `json:"header,omitempty"`
	Body   []byte            `json:"body,omitempty"`
	// Publish goes to the proxy's publish API, in order, before the response
	// is sent: a response must not overtake frames the core wrote earlier
	// to the same connection (and publishes of every call keep their order).
	Publish []Item `json:"publish,omitempty"`
	// Deadline is when to call Serve with a tick (Unix ns; 0: none).
	Deadline int64 `json:"deadline,omitempty"`
}

// Headers the handler reads (Request.Header keys).
var RequestHeaders = []string{"Content-Type", "Connection-Id", "Grip-Sig", "Grip-Last", "Origin"}

// Options configures a Handler.
type Options struct {
	Path string // default "/socket.io/"
	// HoldTimeout bounds a held long-poll on the proxy (Grip-Timeout). It
	// must exceed the ping interval, which always releases a parked GET
	// first; default 60s.
	HoldTimeout time.Duration
	Seed        [32]byte
	// Grip, if set, refuses (403) every request whose Grip-Sig does not
	// verify, before anything reads it (gripsig.go).
	Grip *GripVerifier
	// RecoveryWindow enables connection state recovery (Node's
	// connectionStateRecovery.maxDisconnectionDuration; 0 is off): in the
	// core's memory with a warm instance, in the handler's state with an
	// instance per request (recovery.go). RecoveryMaxPackets and
	// RecoveryMaxBytes bound the packets kept (defaults 10,000 and 4 MiB).
	RecoveryWindow     time.Duration
	RecoveryMaxPackets int
	RecoveryMaxBytes   int
}

// Handler is the state of one deployment: the core machine, the
// connections it knows and the application's data. It is not safe for
// concurrent use: the caller serializes Serve calls.
type Handler struct {
	opts Options
	srv  *core.Server
	app  *app

	NextConn wire.ConnID              // the last connection id given
	WS       map[string]wire.ConnID   // proxy Connection-Id → the core's conn
	Deadline clock.Instant            // the core's next deadline
	Epoch    string                   // names this deployment's connection and room channels
	Polls    map[wire.SID]*PollState  // polling sessions' holds (poll.go)
	WSSID    map[wire.ConnID]wire.SID // a WebSocket's session
	Subs     Subs                     // WebSockets' room and namespace channels (rooms.go)
	Rec      *RecStore                // per-request recovery store (recovery.go); nil otherwise
	heldSID  map[wire.ConnID]wire.SID // a held GET's session (from Polls)

	// per call
	now  int64
	cur  call
	resp Response
}

// call is the request being served.
type call struct {
	http   wire.ConnID // a polling request's conn
	ws     wire.ConnID // the WebSocket of a websocket-events request
	events []byte      // events for that WebSocket
	open   bool        // an OPEN being answered
	accept bool        // the core accepted the WebSocket
	closed bool        // a CLOSE for it is in events
	pub    []Item
	status int
	ctype  string
	body   []byte
	done   bool // the polling request got its Respond
	wsPub  bool // frames for ws go through publishes from now on (rooms.go)
}

// New creates a handler with a fresh machine (a warm instance).
func New(opts Options) *Handler { return newHandler(opts, false) }

// newHandler creates a handler; perRequest: its state travels between
// instances (Save, Load).
func newHandler(opts Options, perRequest bool) *Handler {
	if opts.Path == "" {
		opts.Path = "/socket.io/"
	}
	if opts.HoldTimeout <= 0 {
		opts.HoldTimeout = 60 * time.Second
	}
	if opts.RecoveryMaxPackets <= 0 {
		opts.RecoveryMaxPackets = 10_000
	}
	if opts.RecoveryMaxBytes <= 0 {
		opts.RecoveryMaxBytes = 4 << 20
	}
	h := &Handler{opts: opts, WS: map[string]wire.ConnID{},
		Epoch: hex.EncodeToString(opts.Seed[:4]), Polls: map[wire.SID]*PollState{}, WSSID: map[wire.ConnID]wire.SID{},
		heldSID: map[wire.ConnID]wire.SID{}}
	h.Subs.init()
	useStore := perRequest && opts.RecoveryWindow > 0
	if useStore {
		h.Rec = &RecStore{}
		h.Rec.init()
	}
	h.srv = core.NewServer(appConfig(opts, useStore))
	h.app = newApp(h.srv)
	h.app.perRequest = perRequest
	h.app.recovery = opts.RecoveryWindow > 0 && !useStore
	return h
}

// Serve handles one request at now (Unix ns).
func (h *Handler) Serve(now int64, req Request) Response {
	h.cur = call{}
	h.resp = Response{}
	h.now = now
	if r := h.opts.refuse(now, req); r != nil {
		// before anything reads the request or moves the state
		r.Deadline = int64(h.nextDeadline())
		return *r
	}
	h.gcPolls()
	if h.Rec != nil {
		h.Rec.expire(now, h.opts)
	}
	t := clock.Instant(now)
	if req.Tick || (h.Deadline != 0 && t >= h.Deadline) {
		// a deadline that passed (a tick, or a platform without timers
		// that only runs on requests): fire it first
		h.srv.Handle(t, wire.Timeout{})
		h.drain(t)
	}
	if h.app.fire(t) {
		h.drain(t)
	}
	switch {
	case req.Tick:
		h.resp.Status = 204
	case !strings.HasPrefix(req.Path, h.opts.Path):
		h.resp = Response{Status: 404, Header: map[string]string{"Content-Type": "text/plain"}, Body: []byte("not found\n")}
	case mediaType(req.Header["Content-Type"]) == ContentTypeEvents:
		h.serveWS(t, req)
	default:
		h.servePolling(t, req)
	}
	clear(h.app.ConnQuery)
	h.resp.Publish = h.cur.pub
	h.resp.Deadline = int64(h.nextDeadline())
	return h.resp
}

func (h *Handler) nextDeadline() clock.Instant {
	d := h.Deadline
	if a := h.app.deadline(); a != 0 && (d == 0 || a < d) {
		d = a
	}
	return d
}

func mediaType(v string) string {
	v, _, _ = strings.Cut(v, ";")
	return strings.ToLower(strings.TrimSpace(v))
}

func (h *Handler) newConn() wire.ConnID {
	h.NextConn++
	return h.NextConn
}

// servePolling feeds a polling request (or a plain GET that is a
// WebSocket upgrade the proxy did not turn into events: refused by the core).
func (h *Handler) servePolling(t clock.Instant, req Request) {
	sid := querySID(req.Query)
	if h.retry(req, sid) {
		return
	}
	if ps := h.Polls[sid]; ps != nil && req.Method == "GET" {
		ps.Answer = nil // the client's next GET: it has the last answer
	}
	c := h.newConn()
	h.cur.http = c
	h.app.noteQuery(c, req.Query)
	h.srv.Handle(t, wire.HTTPRequest{
		Conn:   c,
		Method: req.Method,
		Query:  req.Query,
		Binary: mediaType(req.Header["Content-Type"]) == "application/octet-stream",
		Body:   req.Body,
	})
	h.drain(t)
	hdr := map[string]string{"Access-Control-Allow-Origin": "*"}
	if h.cur.done {
		hdr["Content-Type"] = h.cur.ctype
		h.resp = Response{Status: h.cur.status, Header: hdr, Body: h.cur.body}
		return
	}
	if sid == "" {
		// only a session's GET is parked; anything else is a core bug
		h.resp = Response{Status: 500, Header: map[string]string{"Content-Type": "text/plain"}, Body: []byte("unanswered request\n")}
		return
	}
	// Parked: hold it on the session's channel until the core answers it.
	h.hold(sid, h.park(sid, c))
}

func (h *Handler) wsChannel(c wire.ConnID) string {
	return "w" + h.Epoch + ":" + strconv.FormatUint(uint64(c), 10)
}

// serveWS feeds the events of one WebSocket-over-HTTP request.
func (h *Handler) serveWS(t clock.Instant, req Request) {
	cid := req.Header["Connection-Id"]
	evs, err := ParseEvents(req.Body)
	if err != nil || cid == "" {
		h.resp = Response{Status: 400, Header: map[string]string{"Content-Type": "text/plain"}, Body: []byte("bad websocket-events request\n")}
		return
	}
	c, known := h.WS[cid]
	h.cur.ws = c
	if known {
		h.Subs.confirm(c) // the proxy read our last response before sending this
	}
	for _, ev := range evs {
		switch ev.Type {
		case "OPEN":
			if known {
				continue
			}
			c = h.newConn()
			h.WS[cid], h.cur.ws, h.cur.open, known = c, c, true, true
			h.app.noteQuery(c, req.Query)
			if sid := querySID(req.Query); sid != "" {
				h.WSSID[c] = sid // an upgrade
			}
			h.srv.Handle(t, wire.HTTPRequest{Conn: c, Method: "GET", Query: req.Query, WebSocket: true})
			h.drain(t)
			if !h.cur.accept {
				// refused: the proxy answers the upgrade with our response
				delete(h.WS, cid)
				st := h.cur.status
				if st == 0 {
					st = 400
				}
				h.resp = Response{Status: st, Header: map[string]string{"Content-Type": h.cur.ctype}, Body: h.cur.body}
				return
			}
		case "TEXT", "BINARY":
			if known && !h.cur.closed {
				h.srv.Handle(t, wire.Recv{Conn: c, Data: ev.Content, Binary: ev.Type == "BINARY"})
				h.drain(t)
			}
		case "PING":
			h.cur.events = AppendEvent(h.cur.events, "PONG", orEmpty(ev.Content))
		case "CLOSE":
			if known {
				delete(h.WS, cid)
				h.forgetWS(c)
				h.srv.Handle(t, wire.Closed{Conn: c})
				h.drain(t)
			}
			if !h.cur.closed {
				h.cur.events = AppendEvent(h.cur.events, "CLOSE", ev.Content)
				h.cur.closed = true
			}
		case "DISCONNECT":
			if known {
				delete(h.WS, cid)
				h.forgetWS(c)
				h.srv.Handle(t, wire.Closed{Conn: c, Error: true})
				h.drain(t)
			}
		}
	}
	if known && !h.cur.closed {
		if _, open := h.WSSID[c]; open {
			for _, m := range h.Subs.reconcile(c, h.wantChannels(c)) {
				h.cur.events = AppendEvent(h.cur.events, "TEXT", m)
			}
		}
	}
	hdr := map[string]string{"Content-Type": ContentTypeEvents}
	if h.cur.open {
		hdr["Sec-WebSocket-Extensions"] = GripExtension
	}
	h.resp = Response{Status: 200, Header: hdr, Body: h.cur.events}
}

// forgetWS drops what the handler knows of a closed WebSocket.
func (h *Handler) forgetWS(c wire.ConnID) {
	delete(h.WSSID, c)
	h.Subs.drop(c)
}

func orEmpty(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// drain performs the machine's outputs until Wait.
func (h *Handler) drain(t clock.Instant) {
	for i := 0; i < 1<<20; i++ {
		switch o := h.srv.Poll().(type) {
		case wire.Wait:
			h.Deadline = o.Deadline
			return
		case wire.Respond:
			h.respond(o)
		case wire.AcceptWebSocket:
			if o.Conn == h.cur.ws && h.cur.open {
				h.cur.accept = true
				h.cur.events = AppendEvent(h.cur.events, "OPEN", nil)
				h.cur.events = AppendEvent(h.cur.events, "TEXT", Control("subscribe", h.wsChannel(o.Conn)))
			}
		case wire.Send:
			for _, f := range o.Frames {
				h.frame(o.Conn, f)
			}
		case wire.Broadcast:
			h.broadcast(o)
		case wire.CloseConn:
			h.closeConn(o.Conn)
		case wire.SessionOpened:
			if o.WebSocket {
				h.WSSID[o.Conn] = o.SID
			}
			h.app.output(t, o)
		case wire.SessionUpgraded:
			h.WSSID[o.Conn] = o.SID
			h.app.output(t, o)
		case wire.SessionClosed:
			if ps := h.Polls[o.SID]; ps != nil {
				ps.Closed = true
			}
			h.app.output(t, o)
		case wire.RecoveryRecord, wire.RecoverySession, wire.RecoveryLookup:
			h.recoveryOutput(t, o) // recovery.go
		default:
			h.app.output(t, o)
		}
	}
}

func (h *Handler) respond(o wire.Respond) {
	if o.Conn == h.cur.http || (o.Conn == h.cur.ws && h.cur.open && !h.cur.accept) {
		h.cur.done, h.cur.status, h.cur.ctype, h.cur.body = true, o.Status, o.ContentType, o.Body
		return
	}
	h.answerHeld(o.Conn, &HTTPMessage{
		Code:    o.Status,
		Headers: map[string]string{"Content-Type": o.ContentType, "Access-Control-Allow-Origin": "*"},
		Body:    string(o.Body),
	})
}

// broadcast sends a broadcast's frames: once to a channel whose subscribers
// are exactly its connections (rooms.go), else to each connection.
func (h *Handler) broadcast(o wire.Broadcast) {
	if ch := h.Subs.exact(o.Conns); ch != "" && (!slices.Contains(o.Conns, h.cur.ws) || h.cur.wsPub || !h.cur.hasFrames()) {
		if slices.Contains(o.Conns, h.cur.ws) {
			// the current WebSocket gets this through the proxy: its later
			// frames must follow it there, not overtake it in the response
			h.cur.wsPub = true
		}
		for _, f := range o.Frames {
			h.cur.pub = append(h.cur.pub, Item{Channel: ch, Formats: Formats{WS: &WSMessage{Content: f.Data, Binary: f.Binary}}})
		}
		return
	}
	for _, c := range o.Conns {
		for _, f := range o.Frames {
			h.frame(c, f)
		}
	}
}

// hasFrames reports whether the response to the current WebSocket carries
// frames already.
func (c *call) hasFrames() bool {
	evs, _ := ParseEvents(c.events)
	for _, ev := range evs {
		if (ev.Type == "TEXT" && !bytes.HasPrefix(ev.Content, []byte("c:"))) || ev.Type == "BINARY" {
			return true
		}
	}
	return false
}

func (h *Handler) frame(c wire.ConnID, f wire.Frame) {
	if c == h.cur.ws && c != 0 && !h.cur.wsPub {
		if h.cur.closed {
			return
		}
		typ := "TEXT"
		if f.Binary {
			typ = "BINARY"
		}
		h.cur.events = AppendEvent(h.cur.events, typ, orEmpty(f.Data))
		return
	}
	m := &WSMessage{Content: f.Data, Binary: f.Binary}
	h.cur.pub = append(h.cur.pub, Item{Channel: h.wsChannel(c), Formats: Formats{WS: m}})
}

func (h *Handler) closeConn(c wire.ConnID) {
	switch {
	case c == h.cur.ws && c != 0 && !h.cur.wsPub:
		if !h.cur.closed {
			h.cur.events = AppendEvent(h.cur.events, "CLOSE", nil)
			h.cur.closed = true
		}
	case c == h.cur.http:
		if !h.cur.done {
			h.cur.done, h.cur.status, h.cur.ctype, h.cur.body = true, 400, "text/plain", nil
		}
	default:
		for cid, wc := range h.WS {
			if wc == c {
				h.cur.pub = append(h.cur.pub, Item{Channel: h.wsChannel(c), Formats: Formats{WS: &WSMessage{Action: "close"}}})
				delete(h.WS, cid)
				h.forgetWS(c)
				if c == h.cur.ws {
					h.cur.closed = true
				}
				return
			}
		}
		// a held long-poll: complete it empty
		h.answerHeld(c, &HTTPMessage{Code: 400, Headers: map[string]string{"Content-Type": "text/plain", "Access-Control-Allow-Origin": "*"}})
	}
}
