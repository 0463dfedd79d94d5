package engine

import (
	"errors"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/eio"
	"github.com/socketcore/socketcore/core/internal/b64"
	"github.com/socketcore/socketcore/core/wire"
)

// Handler receives a session's life from the Engine.IO layer, synchronously,
// inside Handle. It is how the Socket.IO layer sits on top; an engine-only
// server has none and reports wire.MessageReceived instead.
type Handler interface {
	Opened(now clock.Instant, s *Session)
	Message(now clock.Instant, s *Session, data []byte, binary bool)
	Closed(now clock.Instant, s *Session, reason string)
}

// ErrUnknownSession is returned by commands naming a session that is not open.
var ErrUnknownSession = errors.New("engine: unknown session")

type connKind uint8

const (
	connGet   connKind = iota + 1 // a parked polling GET
	connWS                        // the session's WebSocket transport
	connProbe                     // a WebSocket probing for the upgrade
)

type connRef struct {
	s    *Session
	kind connKind
}

type timerKind uint8

const (
	timerPing timerKind = iota + 1
	timerPong
	timerUpgrade
	timerClose
	timerUpgradeNoop
)

type timerRef struct {
	s    *Session
	kind timerKind
}

// Server is the Engine.IO server machine. Not safe for concurrent use: one
// owner drives it (STYLE.md §3).
type Server struct {
	cfg      Config
	handler  Handler
	rng      *rand.ChaCha8
	sessions map[wire.SID]*Session
	conns    map[wire.ConnID]connRef
	timers   clock.Timers[timerRef]
	out      []wire.Output
	outHead  int
	dirty    []*Session
	closing  int    // sessions in stateClosing
	openJSON []byte // handshake JSON after the sid, shared by all sessions
	// volatileDropped counts the volatile packets dropped because their
	// polling session had no GET parked (VolatileDropped).
	volatileDropped uint64
	// last is the latest instant an input brought (Handle): the time of a
	// close that a Send causes (a polling buffer that overflowed), which
	// has no instant of its own. Inputs come at least every ping interval
	// per session, so it is recent whenever sessions are open.
	last clock.Instant
}

// NewServer returns an Engine.IO server. h may be nil (engine-only server).
func NewServer(cfg Config, h Handler) *Server {
	cfg.init()
	s := &Server{
		cfg:      cfg,
		handler:  h,
		rng:      rand.NewChaCha8(cfg.Seed),
		sessions: make(map[wire.SID]*Session),
		conns:    make(map[wire.ConnID]connRef),
	}
	return s
}

// Config returns the configuration with defaults applied.
func (e *Server) Config() Config { return e.cfg }

// Session returns the open session sid, or nil.
func (e *Server) Session(sid wire.SID) *Session { return e.sessions[sid] }

// Len is the number of sessions (open or closing).
func (e *Server) Len() int { return len(e.sessions) }

// Closing is the number of closed sessions still waiting for a last
// polling request (included in Len).
func (e *Server) Closing() int { return e.closing }

// Transports counts the open sessions (Len minus Closing) by transport:
// on polling, and on WebSocket (upgraded ones included).
func (e *Server) Transports() (polling, websocket int) {
	for _, s := range e.sessions {
		switch {
		case s.state == stateClosing:
		case s.ws != 0:
			websocket++
		default:
			polling++
		}
	}
	return polling, websocket
}

// VolatileDropped is the number of volatile packets (Send or SendMany with
// volatile) dropped since the server was made because their polling
// session had no GET parked; hosts add the WebSocket ones they drop.
func (e *Server) VolatileDropped() uint64 { return e.volatileDropped }

// Push queues an output for the host, after the ones already queued. The
// Socket.IO layer uses it for its notifications. Frames queued with Send are
// flushed at the next Poll (so one mutation's packets share one polling
// response), which may put them after outputs pushed later in the same
// mutation; notifications carry no ordering against frames.
func (e *Server) Push(o wire.Output) {
	e.out = append(e.out, o)
}

// Poll returns the next output; when none is left it returns wire.Wait with
// the engine's next deadline.
func (e *Server) Poll() wire.Output {
	e.flushDirty()
	if e.outHead < len(e.out) {
		o := e.out[e.outHead]
		e.out[e.outHead] = nil
		e.outHead++
		if e.outHead == len(e.out) {
			e.out, e.outHead = e.out[:0], 0
		}
		return o
	}
	return wire.Wait{Deadline: e.timers.Deadline()}
}

// Deadline is the engine's earliest timer, 0 if none.
func (e *Server) Deadline() clock.Instant { return e.timers.Deadline() }

// Handle feeds one input. It returns an error only for local misuse.
func (e *Server) Handle(now clock.Instant, in wire.Input) error {
	if now > e.last {
		e.last = now
	}
	switch in := in.(type) {
	case wire.HTTPRequest:
		e.request(now, in)
	case wire.Recv:
		e.recv(now, in)
	case wire.Closed:
		e.closed(now, in)
	case wire.Timeout:
		e.timeout(now)
	default:
		return errors.New("engine: unknown input")
	}
	return nil
}

func (e *Server) schedule(s *Session, kind timerKind, at clock.Instant) clock.TimerID {
	return e.timers.Schedule(at, timerRef{s, kind})
}

func (e *Server) cancel(id *clock.TimerID) {
	if *id != 0 {
		e.timers.Cancel(*id)
		*id = 0
	}
}

func (e *Server) timeout(now clock.Instant) {
	for {
		_, ref, ok := e.timers.Expired(now)
		if !ok {
			return
		}
		s := ref.s
		switch ref.kind {
		case timerPing:
			s.pingTimer = 0
			if s.state == stateOpen {
				// the pong deadline runs from when the ping is queued, not delivered
				e.queue(s, wire.Frame{Data: pingFrame}, false)
				if s.state == stateOpen { // queue may have closed it (MaxBufferedBytes)
					s.pongTimer = e.schedule(s, timerPong, now.Add(e.cfg.PingTimeout))
					s.refreshedPong = false
				}
			}
		case timerPong:
			s.pongTimer = 0
			e.close(now, s, wire.ReasonPingTimeout, closeSendClose)
		case timerUpgrade:
			s.upgradeTimer = 0
			if s.probe != 0 {
				e.dropProbe(s)
			}
		case timerClose:
			s.closeTimer = 0
			e.forget(s)
		case timerUpgradeNoop:
			s.noopTimer = 0
			if s.state == stateOpen && s.upgrading && s.get != 0 && len(s.buf) == 0 {
				e.queue(s, wire.Frame{Data: noopFrame}, false)
			}
		}
	}
}

// upgradeNoopDelay is how long a GET parked during an upgrade waits before
// its noop (socket.ts checks every 100 ms).
const upgradeNoopDelay = 100 * time.Millisecond

var (
	pingFrame  = []byte("2")
	pongFrame  = []byte("3")
	pongProbe  = []byte("3probe")
	noopFrame  = []byte("6")
	closeFrame = []byte("1")
)

// ---- HTTP requests -------------------------------------------------------

type query struct {
	eio, transport, sid string
	hasSID              bool
	b64                 bool   // b64 is set and not empty: binary goes as base64
	j                   string // the JSONP callback index
	hasJ                bool   // j is present (even empty): JSONP polling
}

// protocol is the protocol revision a request asks for: 4 for EIO=4, 3 for
// anything else (engine.io computeProtocolRevision: "3rd revision by
// default").
func (q *query) protocol() uint8 {
	if q.eio == "4" {
		return 4
	}
	return 3
}

func parseQuery(q string) query {
	var r query
	for len(q) > 0 {
		var kv string
		if i := indexByte(q, '&'); i >= 0 {
			kv, q = q[:i], q[i+1:]
		} else {
			kv, q = q, ""
		}
		k, v := kv, ""
		if i := indexByte(kv, '='); i >= 0 {
			k, v = kv[:i], kv[i+1:]
		}
		switch k {
		case "EIO":
			r.eio = unescape(v)
		case "transport":
			r.transport = unescape(v)
		case "sid":
			r.sid, r.hasSID = unescape(v), true
		case "b64":
			r.b64 = v != ""
		case "j":
			r.j, r.hasJ = unescape(v), true
		}
	}
	return r
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// unescape decodes %XX and '+' in a query value; malformed escapes stay as is.
func unescape(v string) string {
	if indexByte(v, '%') < 0 && indexByte(v, '+') < 0 {
		return v
	}
	b := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '+':
			b = append(b, ' ')
		case '%':
			if i+2 < len(v) {
				h, ok1 := unhex(v[i+1])
				l, ok2 := unhex(v[i+2])
				if ok1 && ok2 {
					b = append(b, h<<4|l)
					i += 2
					continue
				}
			}
			b = append(b, c)
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func (e *Server) transportAllowed(name string) bool {
	switch name {
	case "polling":
		return e.cfg.Transports&Polling != 0
	case "websocket":
		return e.cfg.Transports&WebSocket != 0
	}
	return false
}

// request implements the official Server.verify / handleRequest /
// handleUpgrade order of checks (engine.io lib/server.ts).
func (e *Server) request(now clock.Instant, r wire.HTTPRequest) {
	q := parseQuery(r.Query)
	if !e.transportAllowed(q.transport) {
		e.Push(errorResponse(r.Conn, ErrUnknownTransport, r.WebSocket))
		return
	}
	if q.hasSID && q.sid != "" {
		s := e.sessions[wire.SID(q.sid)]
		if s == nil {
			e.Push(errorResponse(r.Conn, ErrUnknownSID, r.WebSocket))
			return
		}
		if r.WebSocket {
			if q.protocol() != s.protocol {
				// verify: PROTOCOL_MISMATCH, checked before the upgrade
				e.Push(errorResponse(r.Conn, ErrBadRequest, true))
				return
			}
			if q.transport != "websocket" {
				// server.ts onWebSocket: "transport doesnt handle
				// upgraded requests" — accepted, then closed.
				e.Push(wire.AcceptWebSocket{Conn: r.Conn})
				e.Push(wire.CloseConn{Conn: r.Conn})
				return
			}
			e.upgradeRequest(now, s, r, q.b64)
			return
		}
		// Only polling runs over plain HTTP requests: a plain request
		// naming the websocket transport would otherwise be parked on a
		// WebSocket session and never answered.
		if s.transport() != q.transport || q.transport != "polling" || q.protocol() != s.protocol {
			e.Push(errorResponse(r.Conn, ErrBadRequest, false))
			return
		}
		e.pollingRequest(now, s, r)
		return
	}
	// A handshake (engine.io-protocol §"Handshake").
	if r.Method != "GET" {
		e.Push(errorResponse(r.Conn, ErrBadHandshakeMethod, r.WebSocket))
		return
	}
	if q.transport == "websocket" && !r.WebSocket {
		e.Push(errorResponse(r.Conn, ErrBadRequest, false))
		return
	}
	if q.eio != "4" && !e.cfg.AllowEIO3 {
		e.Push(errorResponse(r.Conn, ErrUnsupportedProtocol, r.WebSocket))
		return
	}
	if r.WebSocket != (q.transport == "websocket") {
		// An upgrade request asking for polling: the official server runs
		// it as a polling handshake on a socket that then never answers;
		// refuse it plainly.
		e.Push(errorResponse(r.Conn, ErrBadRequest, r.WebSocket))
		return
	}
	e.handshake(now, r.Conn, r.WebSocket, &q)
}

func (e *Server) newSID() wire.SID {
	var raw [15]byte
	for i := 0; i < len(raw); i += 8 {
		v := e.rng.Uint64()
		for j := 0; j < 8 && i+j < len(raw); j++ {
			raw[i+j] = byte(v >> (8 * j))
		}
	}
	var out [20]byte
	return wire.SID(b64.AppendEncodeURL(out[:0], raw[:]))
}

// NewID returns a fresh 20-character id from the machine's generator (also
// used by the Socket.IO layer for socket ids).
func (e *Server) NewID() string {
	for {
		sid := e.newSID()
		if e.sessions[sid] == nil {
			return string(sid)
		}
	}
}

func (e *Server) handshakeJSON(sid wire.SID, websocket bool) []byte {
	b := make([]byte, 0, 128)
	b = append(b, `0{"sid":"`...)
	b = append(b, sid...)
	if websocket || e.cfg.DisableUpgrades || e.cfg.Transports&WebSocket == 0 {
		b = append(b, `","upgrades":[],"pingInterval":`...)
	} else {
		b = append(b, `","upgrades":["websocket"],"pingInterval":`...)
	}
	b = strconv.AppendInt(b, e.cfg.PingInterval.Milliseconds(), 10)
	b = append(b, `,"pingTimeout":`...)
	b = strconv.AppendInt(b, e.cfg.PingTimeout.Milliseconds(), 10)
	b = append(b, `,"maxPayload":`...)
	b = strconv.AppendInt(b, int64(e.cfg.MaxPayload), 10)
	return append(b, '}')
}

func (e *Server) handshake(now clock.Instant, conn wire.ConnID, websocket bool, q *query) {
	s := &Session{ID: wire.SID(e.NewID()), state: stateOpen, protocol: q.protocol()}
	if websocket {
		s.wsB64 = q.b64
	} else {
		s.pollB64 = q.b64
		if q.hasJ {
			s.jsonp = jsonpHead(q.j)
		}
	}
	e.sessions[s.ID] = s
	open := wire.Frame{Data: e.handshakeJSON(s.ID, websocket)}
	if websocket {
		s.ws = conn
		e.conns[conn] = connRef{s, connWS}
		e.Push(wire.AcceptWebSocket{Conn: conn})
		e.queue(s, open, false)
	} else {
		s.get = conn
		e.conns[conn] = connRef{s, connGet}
		e.queue(s, open, false)
	}
	if s.protocol == 3 {
		// v3: the client pings; it must do so within pingInterval +
		// pingTimeout of the handshake and of each ping
		s.pongTimer = e.schedule(s, timerPong, now.Add(e.cfg.PingInterval+e.cfg.PingTimeout))
	} else {
		s.pingTimer = e.schedule(s, timerPing, now.Add(e.cfg.PingInterval))
	}
	e.Push(wire.SessionOpened{SID: s.ID, Conn: conn, WebSocket: websocket})
	if e.handler != nil {
		e.handler.Opened(now, s)
	}
}

// pollingRequest is polling.ts onRequest for an existing session.
func (e *Server) pollingRequest(now clock.Instant, s *Session, r wire.HTTPRequest) {
	switch r.Method {
	case "GET":
		if s.get != 0 {
			// Overlapping GETs (polling.ts onPollRequest "overlap from
			// client"): 400 for the newcomer, and the session closes,
			// answering the parked GET with a close packet.
			e.Push(wire.Respond{Conn: r.Conn, Status: 400})
			e.close(now, s, wire.ReasonTransportError, closeSendClose)
			return
		}
		if s.state == stateClosing {
			if len(s.buf) > 0 {
				// the buffer drains first; "1" goes alone in the next
				// response (see close: the official client would drop
				// packets sharing a payload with the close packet)
				e.respondPayload(r.Conn, s, nil)
				return
			}
			e.respondPayload(r.Conn, s, s.lastBody)
			e.forget(s)
			return
		}
		s.get = r.Conn
		e.conns[r.Conn] = connRef{s, connGet}
		if s.upgrading && len(s.buf) == 0 && s.noopTimer == 0 {
			// Polling must end so the client can finish the upgrade: a noop
			// after 100 ms, socket.ts's cadence. A real client paused polling
			// before sending "5", so if "5" comes first this GET was sent
			// after the upgrade and is refused like one (completeUpgrade).
			s.noopTimer = e.schedule(s, timerUpgradeNoop, now.Add(upgradeNoopDelay))
		}
		e.markDirty(s)
	case "POST":
		if s.state == stateClosing {
			e.Push(wire.Respond{Conn: r.Conn, Status: 200, ContentType: ContentTypeOK, Body: okBody})
			return
		}
		if r.TooLarge {
			// engine.io 6.6.13: 413, and the session closes
			e.Push(wire.Respond{Conn: r.Conn, Status: 413})
			e.close(now, s, wire.ReasonTransportError, closeSendClose)
			return
		}
		if r.Binary && s.protocol == 4 {
			// v4 polling is text only (polling.ts onDataRequest "invalid content")
			e.Push(wire.Respond{Conn: r.Conn, Status: 400})
			e.close(now, s, wire.ReasonTransportError, closeSendClose)
			return
		}
		body := r.Body
		if s.jsonp != nil {
			// polling-jsonp.ts onData: the payload is the form field d; a
			// body without exactly one d (or a binary one) is ignored
			var ok bool
			if body, ok = jsonpData(body); !ok || r.Binary {
				e.Push(wire.Respond{Conn: r.Conn, Status: 200, ContentType: ContentTypeOK, Body: okBody})
				return
			}
		}
		decode := eio.DecodePayload
		if s.protocol == 3 {
			decode = eio.DecodePayloadV3
			if r.Binary {
				decode = eio.DecodeBinaryPayloadV3
			}
		}
		clientClosed := false
		err := decode(body, func(p eio.Packet) bool {
			if p.Type == eio.Close {
				clientClosed = true
				return false
			}
			e.packet(now, s, p)
			return s.state == stateOpen
		})
		if err != nil {
			// the official server answers "ok" and closes the session
			e.Push(wire.Respond{Conn: r.Conn, Status: 200, ContentType: ContentTypeOK, Body: okBody})
			e.close(now, s, wire.ReasonParseError, closeSendClose)
			return
		}
		e.Push(wire.Respond{Conn: r.Conn, Status: 200, ContentType: ContentTypeOK, Body: okBody})
		if clientClosed && s.state == stateOpen {
			e.close(now, s, wire.ReasonTransportClose, closeSendNoop)
		}
	default:
		e.Push(wire.Respond{Conn: r.Conn, Status: 500})
	}
}

var okBody = []byte("ok")

// upgradeRequest is onWebSocket for a WebSocket carrying a sid.
func (e *Server) upgradeRequest(now clock.Instant, s *Session, r wire.HTTPRequest, b64 bool) {
	if s.state != stateOpen || s.ws != 0 || s.probe != 0 || e.cfg.DisableUpgrades {
		// already upgraded or upgrading: accepted, then closed (as Node does)
		e.Push(wire.AcceptWebSocket{Conn: r.Conn})
		e.Push(wire.CloseConn{Conn: r.Conn})
		return
	}
	s.probe, s.probeB64 = r.Conn, b64
	e.conns[r.Conn] = connRef{s, connProbe}
	e.Push(wire.AcceptWebSocket{Conn: r.Conn})
	s.upgradeTimer = e.schedule(s, timerUpgrade, now.Add(e.cfg.UpgradeTimeout))
}

// ---- WebSocket and connection events -------------------------------------

func (e *Server) recv(now clock.Instant, in wire.Recv) {
	ref, ok := e.conns[in.Conn]
	if !ok {
		return
	}
	s := ref.s
	if len(in.Data) > e.cfg.MaxPayload {
		e.close(now, s, wire.ReasonTransportError, closeSendClose)
		return
	}
	var (
		p   eio.Packet
		err error
	)
	if s.protocol == 3 {
		p, err = eio.DecodePacketV3(in.Data, in.Binary)
	} else {
		p, err = eio.DecodePacket(in.Data, in.Binary)
	}
	switch ref.kind {
	case connProbe:
		switch {
		case err == nil && p.Type == eio.Ping && !p.Binary && string(p.Data) == "probe" && !s.upgrading:
			e.Push(wire.Send{Conn: in.Conn, Frames: []wire.Frame{{Data: pongProbe}}})
			s.upgrading = true
			if s.get != 0 && len(s.buf) == 0 {
				e.queue(s, wire.Frame{Data: noopFrame}, false)
			}
		case err == nil && p.Type == eio.Upgrade && s.upgrading:
			e.completeUpgrade(now, s)
		default:
			e.dropProbe(s)
		}
	case connWS:
		if err != nil {
			e.close(now, s, wire.ReasonParseError, closeSendClose)
			return
		}
		if p.Type == eio.Close {
			// The client asked to close: the server closes the WebSocket
			// (CONFORMANCE A.9), so the host must be told.
			e.close(now, s, wire.ReasonTransportClose, closeSendClose)
			return
		}
		e.packet(now, s, p)
	}
}

func (e *Server) dropProbe(s *Session) {
	delete(e.conns, s.probe)
	e.Push(wire.CloseConn{Conn: s.probe})
	s.probe = 0
	s.upgrading = false
	e.cancel(&s.upgradeTimer)
}

func (e *Server) completeUpgrade(now clock.Instant, s *Session) {
	e.cancel(&s.upgradeTimer)
	e.cancel(&s.noopTimer)
	if s.get != 0 {
		// a GET that arrived after the probe: the client had paused
		// polling, so it belongs after the upgrade (400, TRANSPORT_MISMATCH)
		delete(e.conns, s.get)
		e.Push(errorResponse(s.get, ErrBadRequest, false))
		s.get = 0
	}
	s.ws, s.probe, s.upgrading, s.wsB64 = s.probe, 0, false, s.probeB64
	e.conns[s.ws] = connRef{s, connWS}
	e.Push(wire.SessionUpgraded{SID: s.ID, Conn: s.ws})
	if len(s.buf) > 0 {
		e.markDirty(s) // packets buffered during the upgrade go out on the WebSocket
	}
}

func (e *Server) closed(now clock.Instant, in wire.Closed) {
	ref, ok := e.conns[in.Conn]
	if !ok {
		return
	}
	delete(e.conns, in.Conn)
	s := ref.s
	switch ref.kind {
	case connProbe:
		s.probe, s.upgrading = 0, false
		e.cancel(&s.upgradeTimer)
	case connGet:
		// polling.ts: "poll connection closed prematurely"
		s.get = 0
		e.close(now, s, wire.ReasonTransportError, closeSendNone)
	case connWS:
		s.ws = 0
		reason := wire.ReasonTransportClose
		if in.Error {
			reason = wire.ReasonTransportError
		}
		e.close(now, s, reason, closeSendNone)
	}
}

// packet is socket.ts onPacket for an open session.
func (e *Server) packet(now clock.Instant, s *Session, p eio.Packet) {
	if s.state != stateOpen {
		return
	}
	if s.protocol == 4 && p.Type != eio.Pong && s.pongTimer != 0 && !s.refreshedPong {
		// engine.io 6.6.13: other traffic while a pong is awaited pushes
		// the pong deadline back, once per ping
		s.refreshedPong = true
		e.cancel(&s.pongTimer)
		s.pongTimer = e.schedule(s, timerPong, now.Add(e.cfg.PingTimeout))
	}
	switch p.Type {
	case eio.Pong:
		if s.protocol == 3 {
			// v3: the server never pings ("invalid heartbeat direction")
			e.close(now, s, wire.ReasonTransportError, closeSendClose)
			return
		}
		e.cancel(&s.pongTimer)
		e.cancel(&s.pingTimer)
		s.pingTimer = e.schedule(s, timerPing, now.Add(e.cfg.PingInterval))
	case eio.Ping:
		if s.protocol == 3 {
			// v3: the client pings; the server answers a bare pong (the
			// ping's data is not echoed) and restarts the liveness timer
			e.cancel(&s.pongTimer)
			s.pongTimer = e.schedule(s, timerPong, now.Add(e.cfg.PingInterval+e.cfg.PingTimeout))
			e.queue(s, wire.Frame{Data: pongFrame}, false)
			return
		}
		// v4: the server pings; a client ping is "invalid heartbeat direction"
		e.close(now, s, wire.ReasonTransportError, closeSendClose)
	case eio.Message:
		if e.handler != nil {
			e.handler.Message(now, s, p.Data, p.Binary)
		} else {
			e.Push(wire.MessageReceived{SID: s.ID, Data: p.Data, Binary: p.Binary})
		}
	}
	// open, upgrade and noop on the active transport are ignored
}
