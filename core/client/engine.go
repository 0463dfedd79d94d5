package client

import (
	"slices"
	"strconv"
	"time"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/eio"
	"github.com/socketcore/socketcore/core/internal/jsontext"
	"github.com/socketcore/socketcore/core/wire"
)

// This file is engine.io-client 6.6 (lib/socket.ts, transport.ts,
// transports/polling.ts, transports/websocket.ts) as a machine: the host
// performs the requests and WebSockets, the engine decides everything else.

type tkind uint8

const (
	kPolling tkind = iota + 1
	kWebSocket
)

type tstate uint8

const (
	tsOpening tstate = iota + 1
	tsOpen
	tsPausing // polling, while the upgrade waits for its requests to end
	tsPaused
	tsClosed
)

// transport is one polling transport (its in-flight GET and POST) or one
// WebSocket.
type transport struct {
	kind      tkind
	state     tstate
	writable  bool
	probe     bool // the WebSocket probing for the upgrade
	probeDone bool // the probe's first packet has been seen
	ws        wire.ConnID
	get       wire.ConnID // in-flight poll
	post      wire.ConnID // in-flight POST of packets
	closePost wire.ConnID // in-flight POST of the close packet
}

func (t *transport) name() string {
	if t.kind == kWebSocket {
		return WebSocket
	}
	return Polling
}

type estate uint8

const (
	esOpening estate = iota + 1
	esOpen
	esClosing
	esClosed
)

// engine is one Engine.IO session attempt (engine.io-client Socket).
type engine struct {
	state        estate
	sid          wire.SID
	transports   []string
	upgrades     []string
	pingInterval time.Duration
	pingTimeout  time.Duration
	maxPayload   int
	t            *transport
	probe        *transport
	upgrading    bool
	buf          []eio.Packet // writeBuffer
	prevLen      int          // packets of buf in the in-flight POST
	pingTimer    clock.TimerID
	closeOnDrain bool // close() waits for buf to drain
	closeOnUpg   bool // close() waits for the upgrade to end
	dirty        bool
}

type connKind uint8

const (
	cGet connKind = iota + 1
	cPost
	cClosePost
	cWS
)

type connRef struct {
	e    *engine
	t    *transport
	kind connKind
}

func (m *Manager) newConn(e *engine, t *transport, kind connKind) wire.ConnID {
	m.next++
	m.conns[m.next] = connRef{e: e, t: t, kind: kind}
	return m.next
}

func (m *Manager) markDirty(e *engine) {
	if !e.dirty {
		e.dirty = true
		m.dirty = append(m.dirty, e)
	}
}

// ---- URLs ------------------------------------------------------------------

const tokenChars = "0123456789abcdefghijklmnopqrstuvwxyz"

// url is transport.ts createUri: the user's query first, then EIO, the
// transport, the sid once known, and for polling the cache-busting "t".
func (m *Manager) url(kind tkind, sid wire.SID) string {
	b := make([]byte, 0, 96+len(m.cfg.Host)+len(m.cfg.Path)+len(m.cfg.Query))
	switch {
	case kind == kWebSocket && m.cfg.Secure:
		b = append(b, "wss://"...)
	case kind == kWebSocket:
		b = append(b, "ws://"...)
	case m.cfg.Secure:
		b = append(b, "https://"...)
	default:
		b = append(b, "http://"...)
	}
	b = append(b, m.cfg.Host...)
	b = append(b, m.cfg.Path...)
	b = append(b, '?')
	if m.cfg.Query != "" {
		b = append(b, m.cfg.Query...)
		b = append(b, '&')
	}
	b = append(b, "EIO=4&transport="...)
	if kind == kWebSocket {
		b = append(b, WebSocket...)
	} else {
		b = append(b, Polling...)
	}
	if sid != "" {
		b = append(b, "&sid="...)
		b = append(b, sid...)
	}
	if kind == kPolling && !m.cfg.NoTimestamp {
		b = append(b, "&t="...)
		v := m.tokens.Uint64()
		for range 8 {
			b = append(b, tokenChars[v%36])
			v /= 36
		}
	}
	return string(b)
}

// ---- opening ---------------------------------------------------------------

// engOpen is socket.ts _open: the first transport (or WebSocket when
// rememberUpgrade says it worked before).
func (m *Manager) engOpen(now clock.Instant, e *engine) {
	name := e.transports[0]
	if m.cfg.RememberUpgrade && m.priorWebsocket && slices.Contains(e.transports, WebSocket) {
		name = WebSocket
	}
	e.state = esOpening
	t := &transport{kind: kPolling, state: tsOpening}
	if name == WebSocket {
		t.kind = kWebSocket
	}
	e.t = t
	if t.kind == kWebSocket {
		t.ws = m.newConn(e, t, cWS)
		m.push(wire.Dial{Conn: t.ws, URL: m.url(kWebSocket, "")})
		return
	}
	m.poll(e, t)
}

func (m *Manager) poll(e *engine, t *transport) {
	t.get = m.newConn(e, t, cGet)
	m.push(wire.Fetch{Conn: t.get, Method: "GET", URL: m.url(kPolling, e.sid)})
}

// ---- host reports ----------------------------------------------------------

func (m *Manager) httpResponse(now clock.Instant, in wire.HTTPResponse) {
	ref, ok := m.conns[in.Conn]
	if !ok {
		return
	}
	delete(m.conns, in.Conn)
	e, t := ref.e, ref.t
	switch ref.kind {
	case cGet:
		t.get = 0
		if t.state == tsClosed {
			return
		}
		if in.Status != 200 {
			m.transportError(now, e, t, "xhr poll error", strconv.Itoa(in.Status))
			return
		}
		m.pollData(now, e, t, in.Body)
	case cPost:
		t.post = 0
		if t.state == tsClosed {
			return
		}
		if in.Status != 200 {
			m.transportError(now, e, t, "xhr post error", strconv.Itoa(in.Status))
			return
		}
		m.postDone(now, e, t)
	case cClosePost:
		m.closePostDone(t)
	}
}

func (m *Manager) closePostDone(t *transport) {
	t.closePost = 0
	if t.get != 0 {
		// the server had its chance to end the poll; abort it
		delete(m.conns, t.get)
		m.push(wire.CloseConn{Conn: t.get})
		t.get = 0
	}
}

func (m *Manager) dialed(now clock.Instant, in wire.Dialed) {
	ref, ok := m.conns[in.Conn]
	if !ok {
		m.push(wire.CloseConn{Conn: in.Conn}) // given up on meanwhile
		return
	}
	t := ref.t
	if t.state != tsOpening {
		return
	}
	t.state, t.writable = tsOpen, true
	if t.probe {
		// socket.ts _probe: ping "probe" on the new transport
		m.push(wire.Send{Conn: t.ws, Frames: []wire.Frame{{Data: pingProbe}}})
	}
	// otherwise the server speaks first: the open packet
}

var (
	pingProbe    = []byte("2probe")
	upgradeFrame = []byte("5")
	closePayload = []byte("1")
)

func (m *Manager) recv(now clock.Instant, in wire.Recv) {
	ref, ok := m.conns[in.Conn]
	if !ok {
		return
	}
	e, t := ref.e, ref.t
	if t.state == tsClosed {
		return
	}
	p, err := eio.DecodePacket(in.Data, in.Binary)
	if t.probe {
		if t.probeDone {
			return // only the first packet counts (transport.once("packet"))
		}
		t.probeDone = true
		if err == nil && p.Type == eio.Pong && string(p.Data) == "probe" {
			m.upgradeStart(now, e, t)
		} else {
			m.probeFailed(now, e, t)
		}
		return
	}
	if err != nil {
		// engine.io-parser's "parser error" packet → Error("server error")
		m.transportError(now, e, t, "server error", "parser error")
		return
	}
	m.onPacket(now, e, t, p)
}

func (m *Manager) closed(now clock.Instant, in wire.Closed) {
	ref, ok := m.conns[in.Conn]
	if !ok {
		return
	}
	delete(m.conns, in.Conn)
	e, t := ref.e, ref.t
	switch ref.kind {
	case cGet:
		t.get = 0
		if t.state != tsClosed {
			m.transportError(now, e, t, "xhr poll error", "")
		}
	case cPost:
		t.post = 0
		if t.state != tsClosed {
			m.transportError(now, e, t, "xhr post error", "")
		}
	case cClosePost:
		m.closePostDone(t)
	case cWS:
		if t.state == tsClosed {
			return
		}
		wasOpening := t.state == tsOpening
		t.state, t.writable = tsClosed, false
		switch {
		case t.probe:
			m.probeFailed(now, e, t)
		case wasOpening || in.Error:
			m.transportError(now, e, t, "websocket error", "")
		default:
			m.transportClosed(now, e, t, "websocket connection closed")
		}
	}
}

// pollData is polling.ts onData: every packet of the payload, then the next
// poll while the transport is open.
func (m *Manager) pollData(now clock.Instant, e *engine, t *transport, body []byte) {
	err := eio.DecodePayload(body, func(p eio.Packet) bool {
		if t.state == tsOpening && p.Type == eio.Open {
			t.state, t.writable = tsOpen, true
		}
		if p.Type == eio.Close {
			m.transportClosed(now, e, t, "transport closed by the server")
			return false
		}
		m.onPacket(now, e, t, p)
		return t.state != tsClosed
	})
	if t.state == tsClosed {
		return
	}
	if err != nil {
		m.transportError(now, e, t, "server error", "parser error")
		return
	}
	if t.state == tsPausing {
		m.checkPaused(now, e, t)
		return
	}
	if t.state == tsOpen {
		m.poll(e, t)
	}
}

// postDone is the polling transport's "drain".
func (m *Manager) postDone(now clock.Instant, e *engine, t *transport) {
	t.writable = true
	if t == e.t {
		m.onDrain(e)
	}
	if t.state == tsPausing {
		m.checkPaused(now, e, t)
	}
}

// ---- packets ---------------------------------------------------------------

// onPacket is socket.ts _onPacket.
func (m *Manager) onPacket(now clock.Instant, e *engine, t *transport, p eio.Packet) {
	if t != e.t || e.state == esClosed {
		return
	}
	switch p.Type {
	case eio.Open:
		if e.state == esOpening {
			m.onHandshake(now, e, p.Data)
		}
	case eio.Ping:
		if e.state == esOpening {
			return // no heartbeat before the handshake
		}
		m.sendPacket(e, eio.Packet{Type: eio.Pong})
		m.resetPing(now, e)
	case eio.Message:
		m.ondata(now, e, p.Data, p.Binary)
	}
	// close over a WebSocket, pong, upgrade and noop mean nothing here
}

type handshake struct {
	sid          string
	upgrades     []string
	pingInterval int64
	pingTimeout  int64
	maxPayload   int64
}

func parseHandshake(data []byte) (h handshake, ok bool) {
	if jsontext.Validate(data, 8) != nil || jsontext.Kind(data) != '{' {
		return h, false
	}
	var hasSID bool
	num := func(v []byte) int64 {
		n, err := strconv.ParseFloat(string(v), 64)
		if err != nil || n < 0 || n > 1<<40 {
			return 0
		}
		return int64(n)
	}
	jsontext.ObjectMembers(data, func(k, v []byte) bool {
		switch {
		case jsontext.EqualString(k, "sid"):
			h.sid, hasSID = jsontext.Unquote(v)
		case jsontext.EqualString(k, "upgrades"):
			jsontext.ArrayElems(v, func(el []byte) bool {
				if s, ok := jsontext.Unquote(el); ok {
					h.upgrades = append(h.upgrades, s)
				}
				return true
			})
		case jsontext.EqualString(k, "pingInterval"):
			h.pingInterval = num(v)
		case jsontext.EqualString(k, "pingTimeout"):
			h.pingTimeout = num(v)
		case jsontext.EqualString(k, "maxPayload"):
			h.maxPayload = num(v)
		}
		return true
	})
	return h, hasSID && h.sid != ""
}

// onHandshake is socket.ts onHandshake + onOpen.
func (m *Manager) onHandshake(now clock.Instant, e *engine, data []byte) {
	h, ok := parseHandshake(data)
	if !ok {
		m.transportError(now, e, e.t, "server error", "invalid handshake")
		return
	}
	e.sid = wire.SID(h.sid)
	for _, u := range h.upgrades {
		if slices.Contains(e.transports, u) {
			e.upgrades = append(e.upgrades, u)
		}
	}
	e.pingInterval = time.Duration(h.pingInterval) * time.Millisecond
	e.pingTimeout = time.Duration(h.pingTimeout) * time.Millisecond
	e.maxPayload = int(h.maxPayload)
	e.state = esOpen
	m.priorWebsocket = e.t.kind == kWebSocket
	m.engineOpened(now, e)
	m.markDirty(e)
	if e.state == esOpen && !m.cfg.NoUpgrade && e.t.kind == kPolling && slices.Contains(e.upgrades, WebSocket) {
		m.probe(e)
	}
	if e.state != esClosed {
		m.resetPing(now, e)
	}
}

func (m *Manager) resetPing(now clock.Instant, e *engine) {
	m.cancel(&e.pingTimer)
	e.pingTimer = m.schedule(now.Add(e.pingInterval+e.pingTimeout), timerRef{kind: timerPing, e: e})
}

// sendPacket is socket.ts _sendPacket; the flush happens at Poll.
func (m *Manager) sendPacket(e *engine, p eio.Packet) {
	if e.state == esClosing || e.state == esClosed {
		return
	}
	e.buf = append(e.buf, p)
	m.markDirty(e)
}

// flush is socket.ts flush.
func (m *Manager) flush(e *engine) {
	for e.state != esClosed && e.t != nil && e.t.writable && !e.upgrading && len(e.buf) > 0 && e.prevLen == 0 {
		t := e.t
		if t.kind == kWebSocket {
			frames := make([]wire.Frame, len(e.buf))
			for i, p := range e.buf {
				frames[i] = wire.Frame{Data: eio.AppendPacket(nil, p), Binary: p.Binary}
			}
			m.push(wire.Send{Conn: t.ws, Frames: frames})
			e.prevLen = len(e.buf)
			m.onDrain(e) // a WebSocket write drains at once
			continue
		}
		if t.state != tsOpen {
			return
		}
		n := m.writablePackets(e)
		var body []byte
		for _, p := range e.buf[:n] {
			if len(body) > 0 {
				body = append(body, eio.Separator)
			}
			body = eio.AppendPayloadPacket(body, p)
		}
		e.prevLen = n
		t.writable = false
		t.post = m.newConn(e, t, cPost)
		m.push(wire.Fetch{Conn: t.post, Method: "POST", URL: m.url(kPolling, e.sid), ContentType: "text/plain;charset=UTF-8", Body: body})
		return
	}
}

// writablePackets is socket.ts _getWritablePackets: a polling POST carries
// at most maxPayload bytes (counting the encoded packets, so binary ones
// count in base64).
func (m *Manager) writablePackets(e *engine) int {
	if e.maxPayload <= 0 || len(e.buf) <= 1 {
		return len(e.buf)
	}
	size := 1
	for i, p := range e.buf {
		l := len(p.Data)
		if p.Binary {
			l = 1 + (len(p.Data)+2)/3*4
		}
		size += l
		if i > 0 && size > e.maxPayload {
			return i
		}
		size += 2
	}
	return len(e.buf)
}

// onDrain is socket.ts _onDrain.
func (m *Manager) onDrain(e *engine) {
	e.buf = e.buf[e.prevLen:]
	e.prevLen = 0
	if len(e.buf) > 0 {
		m.markDirty(e)
		return
	}
	e.buf = nil
	if e.closeOnDrain {
		e.closeOnDrain = false
		if e.upgrading {
			e.closeOnUpg = true
		} else {
			m.engClose(m.now, e, wire.ReasonForcedClose, "")
		}
	}
}

// ---- the upgrade (socket.ts _probe, polling.ts pause) ----------------------

func (m *Manager) probe(e *engine) {
	t := &transport{kind: kWebSocket, state: tsOpening, probe: true}
	m.priorWebsocket = false
	e.probe = t
	t.ws = m.newConn(e, t, cWS)
	m.push(wire.Dial{Conn: t.ws, URL: m.url(kWebSocket, e.sid)})
}

func (m *Manager) upgradeStart(now clock.Instant, e *engine, probe *transport) {
	if e.probe != probe || e.state == esClosed {
		m.closeTransport(e, probe)
		return
	}
	e.upgrading = true
	m.priorWebsocket = true
	t := e.t
	t.state = tsPausing
	m.checkPaused(now, e, t)
}

// checkPaused completes the pause once no poll and no POST are in flight.
func (m *Manager) checkPaused(now clock.Instant, e *engine, t *transport) {
	if t.state != tsPausing || t.get != 0 || !t.writable {
		return
	}
	t.state = tsPaused
	p := e.probe
	if e.state == esClosed || p == nil {
		return
	}
	// setTransport: the paused polling transport is dropped without a close
	// packet (nothing is in flight on it)
	e.probe = nil
	p.probe = false
	e.t = p
	m.push(wire.Send{Conn: p.ws, Frames: []wire.Frame{{Data: upgradeFrame}}})
	if e == m.eng && m.subs == subsOpen {
		m.push(wire.EngineUpgraded{SID: e.sid, Transport: WebSocket})
	}
	e.upgrading = false
	m.markDirty(e)
	if e.closeOnUpg {
		e.closeOnUpg = false
		m.engClose(now, e, wire.ReasonForcedClose, "")
	}
}

// probeFailed is the probe's onerror/freezeTransport. Unlike the JS client,
// a polling transport already paused for the upgrade resumes (JS leaves it
// paused until the ping timeout).
func (m *Manager) probeFailed(now clock.Instant, e *engine, t *transport) {
	m.closeTransport(e, t)
	if e.probe != t {
		return
	}
	e.probe = nil
	if e.upgrading {
		e.upgrading = false
		if old := e.t; old.kind == kPolling && (old.state == tsPausing || old.state == tsPaused) {
			old.state = tsOpen
			if old.get == 0 && e.state != esClosed {
				m.poll(e, old)
			}
		}
		m.markDirty(e)
	}
	if e.closeOnUpg {
		e.closeOnUpg = false
		m.engClose(now, e, wire.ReasonForcedClose, "")
	}
}

// ---- closing ---------------------------------------------------------------

// transportClosed is the transport's "close" event.
func (m *Manager) transportClosed(now clock.Instant, e *engine, t *transport, desc string) {
	if t.probe {
		m.probeFailed(now, e, t)
		return
	}
	m.closeTransport(e, t)
	if t == e.t {
		m.engClose(now, e, wire.ReasonTransportClose, desc)
	}
}

// transportError is the transport's "error" event (socket.ts _onError).
func (m *Manager) transportError(now clock.Instant, e *engine, t *transport, msg, desc string) {
	if t.probe {
		m.probeFailed(now, e, t)
		return
	}
	if t != e.t || e.state == esClosed {
		m.closeTransport(e, t)
		return
	}
	m.priorWebsocket = false
	if m.cfg.TryAllTransports && len(e.transports) > 1 && e.state == esOpening {
		m.closeTransport(e, t)
		e.transports = e.transports[1:]
		m.engOpen(now, e)
		return
	}
	m.engineError(now, e, msg, desc)
	m.engClose(now, e, wire.ReasonTransportError, msg)
}

// engineClose is socket.ts close(): after the write buffer drains and any
// upgrade ends, the session closes with "forced close".
func (m *Manager) engineClose(now clock.Instant, e *engine) {
	if e.state != esOpening && e.state != esOpen {
		return
	}
	e.state = esClosing
	switch {
	case len(e.buf) > 0:
		e.closeOnDrain = true
		m.markDirty(e)
	case e.upgrading:
		e.closeOnUpg = true
	default:
		m.engClose(now, e, wire.ReasonForcedClose, "")
	}
}

// engClose is socket.ts _onClose.
func (m *Manager) engClose(now clock.Instant, e *engine, reason, desc string) {
	if e.state == esClosed {
		return
	}
	m.cancel(&e.pingTimer)
	m.closeTransport(e, e.t)
	e.state = esClosed
	if e.probe != nil {
		p := e.probe
		e.probe = nil
		m.closeTransport(e, p)
	}
	e.upgrading = false
	m.engineClosed(now, e, reason, desc)
	e.buf, e.prevLen = nil, 0
}

// closeTransport is transport.ts close(): a polling transport that is open
// sends the close packet (and its poll is aborted once that POST is done),
// other requests are aborted, a WebSocket is closed.
func (m *Manager) closeTransport(e *engine, t *transport) {
	if t == nil || t.state == tsClosed {
		return
	}
	wasOpen := t.state == tsOpen
	t.state, t.writable = tsClosed, false
	if t.kind == kWebSocket {
		delete(m.conns, t.ws)
		m.push(wire.CloseConn{Conn: t.ws})
		return
	}
	if wasOpen && e.sid != "" {
		t.closePost = m.newConn(e, t, cClosePost)
		m.push(wire.Fetch{Conn: t.closePost, Method: "POST", URL: m.url(kPolling, e.sid), ContentType: "text/plain;charset=UTF-8", Body: closePayload})
		return
	}
	if t.get != 0 {
		delete(m.conns, t.get)
		m.push(wire.CloseConn{Conn: t.get})
		t.get = 0
	}
}
