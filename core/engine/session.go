package engine

import (
	"slices"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/eio"
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

	state        state
	ws           wire.ConnID // the WebSocket transport, 0 while polling
	get          wire.ConnID // the parked polling GET, 0 if none
	probe        wire.ConnID // a WebSocket probing for the upgrade
	upgrading    bool        // probe answered; waiting for "5"
	buf          []wire.Frame
	bufBytes     int
	dirty        bool
	pingTimer    clock.TimerID
	pongTimer    clock.TimerID
	upgradeTimer clock.TimerID
	closeTimer   clock.TimerID
	noopTimer    clock.TimerID // a noop for a GET parked during an upgrade
	lastBody     []byte        // what a GET on a closing session receives
	// refreshedPong: the pong deadline was already pushed back once for
	// this ping
	refreshedPong bool
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
	if s.ws == 0 && s.get == 0 && s.bufBytes > e.cfg.MaxBufferedBytes {
		e.close(0, s, wire.ReasonTransportError, closeSendClose)
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
			e.pushRaw(wire.Send{Conn: s.ws, Frames: s.buf})
			s.buf, s.bufBytes = nil, 0
		} else if s.get != 0 {
			e.flushPolling(s)
		}
	}
	e.dirty = e.dirty[:0]
}

// payload joins the buffered frames (and extra, if any) into one v4 polling
// payload and empties the buffer.
func (e *Server) payload(s *Session, extra []byte) []byte {
	n := len(extra)
	for _, f := range s.buf {
		n += len(f.Data)*4/3 + 4
	}
	b := make([]byte, 0, n)
	for _, f := range s.buf {
		b = eio.AppendEncodedToPayload(b, f.Data, f.Binary)
	}
	if extra != nil {
		b = eio.AppendEncodedToPayload(b, extra, false)
	}
	for i := range s.buf {
		s.buf[i] = wire.Frame{}
	}
	s.buf, s.bufBytes = s.buf[:0], 0
	return b
}

func (e *Server) flushPolling(s *Session) {
	body := e.payload(s, nil)
	delete(e.conns, s.get)
	e.pushRaw(wire.Respond{Conn: s.get, Status: 200, ContentType: ContentTypePayload, Body: body})
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
			e.pushRaw(wire.Send{Conn: s.ws, Frames: s.buf})
			s.buf, s.bufBytes = nil, 0
		}
		e.pushRaw(wire.Send{Conn: s.ws, Frames: frames, Volatile: volatile, Compress: compress})
		return
	}
	for _, f := range frames {
		e.queue(s, f, volatile)
	}
}

// SendMany queues the same frames for many sessions: every WebSocket session
// is served by one wire.Broadcast output (frames encoded once, written by the
// host to each connection), polling sessions get the frames in their buffers.
func (e *Server) SendMany(sessions []*Session, frames []wire.Frame, volatile, compress bool) {
	e.flushDirty() // keep per-connection order: earlier frames go first
	var conns []wire.ConnID
	for _, s := range sessions {
		if s.state != stateOpen {
			continue
		}
		if s.ws != 0 {
			conns = append(conns, s.ws)
			continue
		}
		for _, f := range frames {
			e.queue(s, f, volatile)
		}
	}
	if len(conns) > 0 {
		e.pushRaw(wire.Broadcast{Conns: conns, Frames: frames, Volatile: volatile, Compress: compress})
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
				e.pushRaw(wire.Send{Conn: s.ws, Frames: s.buf})
			}
			e.pushRaw(wire.CloseConn{Conn: s.ws})
		}
		delete(e.conns, s.ws)
		s.ws = 0
	} else if mode == closeSendClose && reason == wire.ReasonForcedClose && (len(s.buf) > 0 || s.get == 0) {
		// A server-side close lets the buffer drain first (socket.ts close
		// waits for "drain"); the close packet goes in a later response. The
		// official client handles a payload's packets a tick later than a
		// close packet in it, so "41" and "1" must not share one response.
		if s.get != 0 {
			e.flushPolling(s)
		}
		linger, s.lastBody = true, closeFrame
	} else if mode == closeSendNoop && s.get == 0 {
		// The client closed with no GET parked; a GET of its still in
		// flight (sent before its close) gets the noop it would have got
		// had it arrived first, instead of a 400.
		s.buf, s.bufBytes = nil, 0
		linger, s.lastBody = true, noopFrame
	} else if s.get != 0 {
		var body []byte
		switch mode {
		case closeSendNoop:
			body = noopFrame
		default:
			body = e.payload(s, closeFrame)
		}
		delete(e.conns, s.get)
		e.pushRaw(wire.Respond{Conn: s.get, Status: 200, ContentType: ContentTypePayload, Body: body})
		s.get = 0
	}
	if !linger {
		s.buf, s.bufBytes = nil, 0
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
	slices.Sort(ids)
	for _, id := range ids {
		s := e.sessions[id]
		if s.state == stateOpen {
			e.close(now, s, wire.ReasonServerShuttingDown, closeSendClose)
		} else {
			e.forget(s)
		}
	}
}
