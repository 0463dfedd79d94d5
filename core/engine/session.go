package engine

import (
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/eio"
	"github.com/socketcore/socketcore/core/internal/order"
	"github.com/socketcore/socketcore/core/wire"
)

type state uint8

const (
	stateOpen    state = iota
	stateClosing       // closed by the server; a polling session waits for its last GET
	stateClosed
)

// Session is one Engine.IO session. Its fields are owned by the Server; the
// Socket.IO layer keeps its own per-session state in Owner.
type Session struct {
	ID wire.SID
	// Owner is free for the layer above (the Socket.IO client state).
	Owner any

	state     state
	protocol  uint8       // Engine.IO protocol revision: 4, or 3 (Config.AllowEIO3)
	ws        wire.ConnID // the WebSocket transport, 0 while polling
	get       wire.ConnID // the parked polling GET, 0 if none
	probe     wire.ConnID // a WebSocket probing for the upgrade
	upgrading bool        // probe answered; waiting for "5"
	buf       []wire.Frame
	bufBytes  int
	// bufZ: a frame in buf was sent compressible (Send's compress), so
	// the polling response holding it may be compressed (Node compresses
	// a payload when some packet of it asked to: packets.some(compress))
	bufZ         bool
	dirty        bool
	pingTimer    clock.TimerID
	pongTimer    clock.TimerID
	upgradeTimer clock.TimerID
	closeTimer   clock.TimerID
	noopTimer    clock.TimerID // a noop for a GET parked during an upgrade
	lastBody     []byte        // the frame a GET on a closing session receives
	// refreshedPong: the pong deadline was already pushed back once for
	// this ping
	refreshedPong bool
	// The transports' formats, fixed by the request that made each (as
	// Node's Transport reads its own request's query): pollB64, a v3
	// polling client that cannot take binary payloads; wsB64 and
	// probeB64, a WebSocket (or probe) whose binary messages go as base64
	// text (b64=1); jsonp, the JSONP callback head of a JSONP polling
	// session (j=N), nil for XHR.
	pollB64, wsB64, probeB64 bool
	jsonp                    []byte
}

func (s *Session) transport() string {
	if s.ws != 0 {
		return "websocket"
	}
	return "polling"
}

// Transport is "polling" or "websocket".
func (s *Session) Transport() string { return s.transport() }

// Open reports whether the session can still carry packets.
func (s *Session) Open() bool { return s.state == stateOpen }

// WebSocket returns the session's WebSocket connection, 0 while polling.
func (s *Session) WebSocket() wire.ConnID { return s.ws }

// Protocol is the session's Engine.IO protocol revision: 4, or 3 for a v3
// client (Socket.IO 2.x) accepted with Config.AllowEIO3. The Socket.IO layer
// serves a v3 session as Node's socket.io does a client whose
// conn.protocol is 3.
func (s *Session) Protocol() int { return int(s.protocol) }

// wsFormat is how binary messages go on s's WebSocket: wsNative (the raw
// frame, v4), wsB64V4 ("b"+base64 text), wsBinV3 (type byte 4 + data),
// wsB64V3 ("b4"+base64 text).
func (s *Session) wsFormat() uint8 {
	f := wsNative
	if s.wsB64 {
		f = wsB64V4
	}
	if s.protocol == 3 {
		f += wsBinV3
	}
	return f
}

const (
	wsNative uint8 = iota
	wsB64V4
	wsBinV3
	wsB64V3
	wsFormats
)

func hasBinary(frames []wire.Frame) bool {
	for _, f := range frames {
		if f.Binary {
			return true
		}
	}
	return false
}

// wsFrames returns frames (AppendPacket form) as written on a WebSocket of
// format f: the same slice unless a binary message must be rewritten.
func wsFrames(frames []wire.Frame, f uint8) []wire.Frame {
	if f == wsNative || !hasBinary(frames) {
		return frames
	}
	out := make([]wire.Frame, len(frames))
	for i, fr := range frames {
		switch {
		case !fr.Binary:
			out[i] = fr
		case f == wsBinV3:
			out[i] = wire.Frame{Data: eio.AppendBinaryMessageV3(make([]byte, 0, 1+len(fr.Data)), fr.Data), Binary: true}
		default:
			out[i] = wire.Frame{Data: eio.AppendBase64Message(nil, fr.Data, f == wsB64V3)}
		}
	}
	return out
}

func (e *Server) markDirty(s *Session) {
	if !s.dirty {
		s.dirty = true
		e.dirty = append(e.dirty, s)
	}
}

func (e *Server) pushRaw(o wire.Output) { e.out = append(e.out, o) }

// queue adds one frame for s and marks it for flushing at the next Poll.
func (e *Server) queue(s *Session, f wire.Frame, volatile bool) {
	if s.state != stateOpen {
		return
	}
	if volatile && s.ws == 0 && s.get == 0 {
		return // polling not writable now: a volatile packet is dropped
	}
	s.buf = append(s.buf, f)
	s.bufBytes += len(f.Data)
	if s.ws == 0 && s.get == 0 && s.bufBytes > e.cfg.MaxBufferedBytes && len(s.buf) > 1 {
		e.close(e.last, s, ReasonSlowConsumer, closeSendClose)
		return
	}
	e.markDirty(s)
}

func (e *Server) flushDirty() {
	if len(e.dirty) == 0 {
		return
	}
	for i, s := range e.dirty {
		e.dirty[i] = nil
		s.dirty = false
		if s.state != stateOpen || len(s.buf) == 0 {
			continue
		}
		if s.ws != 0 {
			e.pushRaw(wire.Send{Conn: s.ws, Frames: wsFrames(s.buf, s.wsFormat())})
			s.buf, s.bufBytes, s.bufZ = nil, 0, false
		} else if s.get != 0 {
			e.flushPolling(s)
		}
	}
	e.dirty = e.dirty[:0]
}

// payload joins the buffered frames (and the text frame extra, if any) into
// one polling payload in s's format, empties the buffer, and returns the
// body and its content type. v4: the frames joined by the separator, binary
// as "b"+base64. v3: "<length>:<packet>" entries, binary as "b4"+base64, or
// (a client that supports binary, when a binary message is in the payload)
// the v3 binary payload. JSONP wraps either in its callback.
func (e *Server) payload(s *Session, extra []byte) ([]byte, string) {
	n := len(extra) + 8
	for _, f := range s.buf {
		n += len(f.Data)*4/3 + 8
	}
	b := make([]byte, 0, n)
	ct := ContentTypePayload
	switch {
	case s.protocol == 4:
		for _, f := range s.buf {
			b = eio.AppendEncodedToPayload(b, f.Data, f.Binary)
		}
		if extra != nil {
			b = eio.AppendEncodedToPayload(b, extra, false)
		}
	case !s.pollB64 && hasBinary(s.buf):
		for _, f := range s.buf {
			b = eio.AppendBinaryPayloadV3(b, f.Data, f.Binary)
		}
		if extra != nil {
			b = eio.AppendBinaryPayloadV3(b, extra, false)
		}
		ct = ContentTypeBinary
	default:
		for _, f := range s.buf {
			b = eio.AppendPayloadV3(b, f.Data, f.Binary)
		}
		if extra != nil {
			b = eio.AppendPayloadV3(b, extra, false)
		}
	}
	for i := range s.buf {
		s.buf[i] = wire.Frame{}
	}
	s.buf, s.bufBytes, s.bufZ = s.buf[:0], 0, false
	if s.jsonp != nil {
		b, ct = appendJSONP(nil, s.jsonp, b, ct == ContentTypeBinary), ContentTypePayload
	}
	return b, ct
}

// respondPayload answers the polling GET conn with payload(s, extra).
func (e *Server) respondPayload(conn wire.ConnID, s *Session, extra []byte) {
	compress := s.bufZ
	body, ct := e.payload(s, extra)
	e.pushRaw(wire.Respond{Conn: conn, Status: 200, ContentType: ct, Body: body, Compress: compress})
}

func (e *Server) flushPolling(s *Session) {
	delete(e.conns, s.get)
	e.respondPayload(s.get, s, nil)
	s.get = 0
}

// Send queues already-encoded Engine.IO frames (eio.AppendPacket form) for s.
// They go out at the next Poll: on the WebSocket, or in the next polling
// response. Volatile frames are dropped when a polling session has no GET
// parked.
func (e *Server) Send(s *Session, frames []wire.Frame, volatile, compress bool) {
	if (volatile || compress) && s.state == stateOpen && s.ws != 0 {
		// the flags are for the host's writer: send now, after what is queued
		if len(s.buf) > 0 {
			e.pushRaw(wire.Send{Conn: s.ws, Frames: wsFrames(s.buf, s.wsFormat())})
			s.buf, s.bufBytes, s.bufZ = nil, 0, false
		}
		e.pushRaw(wire.Send{Conn: s.ws, Frames: wsFrames(frames, s.wsFormat()), Volatile: volatile, Compress: compress})
		return
	}
	if volatile && e.dropVolatile(s) {
		return
	}
	for _, f := range frames {
		e.queue(s, f, volatile)
	}
	s.bufZ = s.bufZ || compress && len(s.buf) > 0
}

// dropVolatile reports whether a volatile packet for s is dropped (and
// counts it): an open polling session with no GET parked is not writable.
func (e *Server) dropVolatile(s *Session) bool {
	if s.state == stateOpen && s.ws == 0 && s.get == 0 {
		e.volatileDropped++
		return true
	}
	return false
}

// SendMany queues the same frames for many sessions: every WebSocket session
// is served by one wire.Broadcast output (frames encoded once, written by the
// host to each connection), polling sessions get the frames in their buffers.
// When the frames hold a binary message, WebSocket sessions that take it in
// another form (v3, b64) get one more Broadcast per form.
func (e *Server) SendMany(sessions []*Session, frames []wire.Frame, volatile, compress bool) {
	e.flushDirty() // keep per-connection order: earlier frames go first
	var groups [wsFormats][]wire.ConnID
	bin := hasBinary(frames)
	for _, s := range sessions {
		if s.state != stateOpen {
			continue
		}
		if s.ws != 0 {
			f := wsNative
			if bin {
				f = s.wsFormat()
			}
			groups[f] = append(groups[f], s.ws)
			continue
		}
		if volatile && e.dropVolatile(s) {
			continue
		}
		for _, f := range frames {
			e.queue(s, f, volatile)
		}
		s.bufZ = s.bufZ || compress && len(s.buf) > 0
	}
	for f, conns := range groups {
		if len(conns) > 0 {
			e.pushRaw(wire.Broadcast{Conns: conns, Frames: wsFrames(frames, uint8(f)), Volatile: volatile, Compress: compress})
		}
	}
}

// CloseSession closes s from the server side ("forced close"): frames queued
// before still go out, then the client gets a close.
func (e *Server) CloseSession(now clock.Instant, s *Session) {
	e.close(now, s, wire.ReasonForcedClose, closeSendClose)
}

type closeMode uint8

const (
	closeSendNone  closeMode = iota // the transport is already gone
	closeSendClose                  // tell the client: close packet / WebSocket close
	closeSendNoop                   // the client closed: end its pending poll with a noop
)

// close ends s with reason and notifies the layer above once.
func (e *Server) close(now clock.Instant, s *Session, reason string, mode closeMode) {
	if s.state != stateOpen {
		return
	}
	e.cancel(&s.pingTimer)
	e.cancel(&s.pongTimer)
	e.cancel(&s.upgradeTimer)
	e.cancel(&s.noopTimer)
	if s.probe != 0 {
		delete(e.conns, s.probe)
		e.pushRaw(wire.CloseConn{Conn: s.probe})
		s.probe, s.upgrading = 0, false
	}
	linger := false
	if s.ws != 0 {
		if mode != closeSendNone {
			if len(s.buf) > 0 {
				e.pushRaw(wire.Send{Conn: s.ws, Frames: wsFrames(s.buf, s.wsFormat())})
			}
			e.pushRaw(wire.CloseConn{Conn: s.ws})
		}
		delete(e.conns, s.ws)
		s.ws = 0
	} else if mode == closeSendClose && (reason == wire.ReasonForcedClose && (len(s.buf) > 0 || s.get == 0) ||
		reason == wire.ReasonServerShuttingDown && len(s.buf) > 0 && s.get != 0) {
		// A server-side close lets the buffer drain first (socket.ts close
		// waits for "drain"); the close packet goes in a later response. The
		// official client handles a payload's packets a tick later than a
		// close packet in it, so "41" and "1" must not share one response;
		// nor may the events a shutdown finds queued for a parked GET: the
		// client would take them after its "disconnect", and get them again
		// from recovery.
		if s.get != 0 {
			e.flushPolling(s)
		}
		linger, s.lastBody = true, closeFrame
	} else if mode == closeSendNoop && s.get == 0 {
		// The client closed with no GET parked; a GET of its still in
		// flight (sent before its close) gets the noop it would have got
		// had it arrived first, instead of a 400.
		s.buf, s.bufBytes, s.bufZ = nil, 0, false
		linger, s.lastBody = true, noopFrame
	} else if s.get != 0 {
		extra := closeFrame
		if mode == closeSendNoop {
			s.buf, s.bufBytes, s.bufZ = nil, 0, false // only the noop
			extra = noopFrame
		}
		delete(e.conns, s.get)
		e.respondPayload(s.get, s, extra)
		s.get = 0
	}
	if !linger {
		s.buf, s.bufBytes, s.bufZ = nil, 0, false
	}
	if linger {
		s.state = stateClosing
		e.closing++
		wait := e.cfg.CloseTimeout
		if mode == closeSendNoop {
			wait = e.cfg.PingTimeout // only an in-flight request can still come
		}
		s.closeTimer = e.schedule(s, timerClose, now.Add(wait))
	} else {
		s.state = stateClosed
		delete(e.sessions, s.ID)
	}
	e.pushRaw(wire.SessionClosed{SID: s.ID, Reason: reason})
	if e.handler != nil {
		e.handler.Closed(now, s, reason)
	}
}

// forget drops a closing session for good.
func (e *Server) forget(s *Session) {
	if s.state == stateClosing {
		e.closing--
	}
	e.cancel(&s.closeTimer)
	if s.get != 0 {
		delete(e.conns, s.get)
		s.get = 0
	}
	s.state = stateClosed
	delete(e.sessions, s.ID)
}

// CloseAll closes every session ("server shutting down"), telling each
// client: a close packet on polling, a WebSocket close otherwise.
func (e *Server) CloseAll(now clock.Instant) {
	ids := make([]wire.SID, 0, len(e.sessions))
	for id := range e.sessions {
		ids = append(ids, id)
	}
	order.Sort(ids)
	for _, id := range ids {
		s := e.sessions[id]
		if s.state == stateOpen {
			e.close(now, s, wire.ReasonServerShuttingDown, closeSendClose)
		} else {
			e.forget(s)
		}
	}
}
