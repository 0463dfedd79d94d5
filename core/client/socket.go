package client

import (
	"slices"
	"time"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/eio"
	"github.com/socketcore/socketcore/core/internal/jsontext"
	"github.com/socketcore/socketcore/core/internal/order"
	"github.com/socketcore/socketcore/core/sio"
	"github.com/socketcore/socketcore/core/wire"
)

// This file is socket.io-client 4.8 lib/socket.ts: one namespace socket.

// socket is one namespace socket of the manager.
type socket struct {
	nsp       string
	opts      SocketOptions
	active    bool // subscribed to the manager (socket.active)
	connected bool
	id        wire.SocketID
	connectOn *engine // the engine a CONNECT was sent (or auth asked) on
	ids       uint64  // next ack id
	acks      map[uint64]*ackEntry
	sendBuf   []outPacket
	recvBuf   []wire.EventReceived
	queue     []*queueItem
	inAcks    []wire.AckRef
	// connection state recovery (socket.ts _pid, _lastOffset, recovered):
	// the server's private id and the offset of the last event received,
	// sent back with the next CONNECT
	pid        string
	lastOffset string
	hasOffset  bool
	recovered  bool
}

// outPacket is a packet waiting in the offline buffer (sendBuffer).
type outPacket struct {
	p        sio.Packet
	atts     [][]byte
	compress bool
}

// ackEntry is one acknowledgement the socket waits for (socket.acks[id]).
type ackEntry struct {
	ref       wire.AckRef // the application's, 0 for a retries attempt without one
	item      *queueItem  // the retries-queue entry this attempt belongs to
	withError bool        // resolved with an error on timeout/disconnection
	timer     clock.TimerID
}

// queueItem is one emit of a socket with retries (socket._queue).
type queueItem struct {
	e       Emit
	ref     wire.AckRef
	tries   int
	pending bool
}

// Emit is one event for the server. Data is the JSON array ["event",
// args...] with binary arguments as {"_placeholder":true,"num":i}
// indexing Attachments.
type Emit struct {
	Data        []byte
	Attachments [][]byte
	// WithAck asks the server for an acknowledgement: the returned ref
	// resolves exactly once through AckResolved (the server's answer,
	// AckTimedOut, or AckDisconnected).
	WithAck bool
	// Timeout is the acknowledgement timeout (socket.timeout(ms)); 0 means
	// the socket's AckTimeout.
	Timeout time.Duration
	// Volatile drops the packet when the transport cannot take it now
	// (socket.volatile); volatile emits bypass the retries queue.
	Volatile bool
	Compress bool
}

// AddSocket creates the socket of nsp (manager.socket(nsp, opts)), not
// connected; Connect connects it.
func (m *Manager) AddSocket(nsp string, opts SocketOptions) error {
	if nsp == "" {
		nsp = "/"
	}
	if m.sockets[nsp] != nil {
		return ErrSocketExists
	}
	if nsp[0] != '/' || sio.Check(sio.Packet{Type: sio.Connect, Nsp: nsp}, m.limits) != nil {
		return ErrUnknownSocket
	}
	if opts.Auth != nil && !validAuth(opts.Auth, m.limits) {
		return ErrInvalidAuth
	}
	s := &socket{nsp: nsp, opts: opts, acks: make(map[uint64]*ackEntry)}
	m.sockets[nsp] = s
	m.order = append(m.order, s)
	return nil
}

func validAuth(auth []byte, lim sio.Limits) bool {
	return sio.Check(sio.Packet{Type: sio.Connect, Data: auth}, lim) == nil && len(auth) > 0
}

// Connect connects the socket of nsp (socket.connect()): it opens the
// manager if needed and sends CONNECT once the connection is open.
func (m *Manager) Connect(now clock.Instant, nsp string) error {
	m.fire(now)
	s := m.sockets[nsp]
	if s == nil {
		return ErrUnknownSocket
	}
	if s.connected {
		return nil
	}
	s.active = true
	if !m.reconnecting {
		m.open(now, false)
	}
	if m.state == mOpen {
		m.socketOnOpen(now, s)
	}
	return nil
}

// Disconnect disconnects the socket of nsp (socket.disconnect()): the server
// gets DISCONNECT, the socket "io client disconnect", and when it was the
// last active socket the manager closes.
func (m *Manager) Disconnect(now clock.Instant, nsp string) error {
	m.fire(now)
	s := m.sockets[nsp]
	if s == nil {
		return ErrUnknownSocket
	}
	was := s.connected
	if was {
		m.writePacket(sio.Packet{Type: sio.Disconnect, Nsp: s.nsp}, nil)
	}
	m.destroy(now, s)
	if was {
		m.socketOnClose(now, s, wire.ReasonIOClientDisconnect, "")
	}
	return nil
}

// SetAuth answers AuthRequested with the CONNECT payload (a JSON object, or
// nil for none). An answer that comes too late (the connection it was asked
// for is gone) is ignored.
func (m *Manager) SetAuth(now clock.Instant, nsp string, auth []byte) error {
	m.fire(now)
	s := m.sockets[nsp]
	if s == nil {
		return ErrUnknownSocket
	}
	if auth != nil && !validAuth(auth, m.limits) {
		return ErrInvalidAuth
	}
	if !s.active || s.connected || m.state != mOpen || s.connectOn != m.eng {
		return nil
	}
	m.sendConnect(s, auth)
	return nil
}

// Emit sends an event from the socket of nsp (socket.emit). Without a
// connection the packet waits in the socket's offline buffer, unless
// Volatile; with SocketOptions.Retries it goes through the retries queue.
func (m *Manager) Emit(now clock.Instant, nsp string, e Emit) (wire.AckRef, error) {
	m.fire(now)
	s := m.sockets[nsp]
	if s == nil {
		return 0, ErrUnknownSocket
	}
	name, ok := "", false
	if jsontext.Validate(e.Data, m.limits.MaxDepth) == nil {
		name, ok = sio.EventName(e.Data)
	}
	if !ok {
		return 0, ErrInvalidEvent
	}
	if sio.IsReservedEvent(name) {
		return 0, ErrReservedEvent
	}
	p := sio.Packet{Type: eventType(e.Attachments), Nsp: s.nsp, Data: e.Data, Attachments: len(e.Attachments)}
	if err := sio.Check(p, m.limits); err != nil {
		return 0, err
	}
	if len(s.sendBuf)+len(s.queue) >= MaxBuffered && (!s.connected || s.opts.Retries > 0 && !e.Volatile) {
		return 0, ErrBufferFull
	}
	var ref wire.AckRef
	if e.WithAck {
		ref = m.newRef()
	}
	if s.opts.Retries > 0 && !e.Volatile {
		s.queue = append(s.queue, &queueItem{e: e, ref: ref})
		m.drainQueue(now, s, false)
		return ref, nil
	}
	m.emitPacket(now, s, e, ref, nil)
	return ref, nil
}

// Ack answers an acknowledgement the server asked for (EventReceived.Ack)
// with args (a JSON array; nil means []). Refs of a socket that
// disconnected are forgotten: ErrUnknownAck.
func (m *Manager) Ack(now clock.Instant, ref wire.AckRef, args []byte, atts [][]byte) error {
	m.fire(now)
	ia, ok := m.inAcks[ref]
	if !ok {
		return ErrUnknownAck
	}
	m.forgetInAck(ref)
	if len(args) == 0 {
		args = emptyArray
	}
	t := sio.Ack
	if len(atts) > 0 {
		t = sio.BinaryAck
	}
	p := sio.Packet{Type: t, Nsp: ia.s.nsp, ID: ia.id, HasID: true, Data: args, Attachments: len(atts)}
	if err := sio.Check(p, m.limits); err != nil {
		return err
	}
	m.writePacket(p, atts)
	return nil
}

// CancelAck gives up on an acknowledgement asked for with Emit: no
// AckResolved will come for ref. A retried emit stays queued (its delivery
// is what retries promise); only its resolution is dropped.
func (m *Manager) CancelAck(ref wire.AckRef) {
	for _, s := range m.order {
		for id, en := range s.acks {
			if en.ref == ref && en.item == nil {
				m.cancel(&en.timer)
				delete(s.acks, id)
			}
		}
		for _, it := range s.queue {
			if it.ref == ref {
				it.ref = 0
			}
		}
	}
}

var emptyArray = []byte("[]")

func eventType(atts [][]byte) sio.Type {
	if len(atts) > 0 {
		return sio.BinaryEvent
	}
	return sio.Event
}

// writePacket is manager.ts _packet: the packet and its attachments become
// Engine.IO messages of the current engine (dropped when it is closing).
func (m *Manager) writePacket(p sio.Packet, atts [][]byte) {
	e := m.eng
	if e == nil {
		return
	}
	if len(atts) > 0 {
		p.Attachments = len(atts)
	}
	if m.cfg.Parser == sio.MsgpackParser {
		// one binary message; Data passed sio.Check, so it is JSON
		if b, err := sio.AppendMsgpack(nil, p, atts); err == nil {
			m.sendPacket(e, eio.Packet{Type: eio.Message, Data: b, Binary: true})
		}
		return
	}
	m.sendPacket(e, eio.Packet{Type: eio.Message, Data: sio.Append(nil, p)})
	for _, a := range atts {
		m.sendPacket(e, eio.Packet{Type: eio.Message, Data: a, Binary: true})
	}
}

// ---- socket life -----------------------------------------------------------

// socketOnOpen is socket.ts onopen: CONNECT with the auth payload (asked
// from the host first when it is dynamic). A CONNECT already sent on this
// engine is not sent again.
func (m *Manager) socketOnOpen(now clock.Instant, s *socket) {
	if s.connectOn == m.eng {
		return
	}
	s.connectOn = m.eng
	if s.opts.DynamicAuth {
		m.push(wire.AuthRequested{Nsp: s.nsp})
		return
	}
	m.sendConnect(s, s.opts.Auth)
}

func (m *Manager) sendConnect(s *socket, auth []byte) {
	if s.pid != "" {
		auth = recoveryAuth(auth, s.pid, s.lastOffset, s.hasOffset)
	}
	m.writePacket(sio.Packet{Type: sio.Connect, Nsp: s.nsp, Data: auth}, nil)
}

// recoveryAuth is the JS client's Object.assign({pid, offset}, auth): the
// private id and last offset first, the auth's own members after (an auth
// member of the same name wins, in the first position).
func recoveryAuth(auth []byte, pid, offset string, hasOffset bool) []byte {
	var mine, theirs [][2][]byte
	if jsontext.Kind(auth) == '{' {
		jsontext.ObjectMembers(auth, func(k, v []byte) bool {
			theirs = append(theirs, [2][]byte{k, v})
			return true
		})
	}
	pidV := jsontext.AppendQuote(nil, pid)
	offV := jsontext.AppendQuote(nil, offset)
	for i, kv := range theirs {
		switch {
		case jsontext.EqualString(kv[0], "pid"):
			pidV = kv[1]
		case jsontext.EqualString(kv[0], "offset"):
			offV, hasOffset = kv[1], true
		default:
			mine = append(mine, theirs[i])
		}
	}
	b := append([]byte(`{"pid":`), pidV...)
	if hasOffset {
		b = append(append(b, `,"offset":`...), offV...)
	}
	for _, kv := range mine {
		b = append(append(append(append(b, ','), kv[0]...), ':'), kv[1]...)
	}
	return append(b, '}')
}

// destroy is socket.ts destroy: the socket stops listening to the manager,
// which closes when no socket is left.
func (m *Manager) destroy(now clock.Instant, s *socket) {
	s.active = false
	s.connectOn = nil
	m.destroyed(now)
}

// socketOnClose is socket.ts onclose. Unlike the JS client, "disconnect" is
// reported only for a socket that was connected (JS also reports it for a
// socket whose CONNECT was still unanswered, and again for one already
// disconnected when the manager is closed during reconnection).
func (m *Manager) socketOnClose(now clock.Instant, s *socket, reason, desc string) {
	was, id := s.connected, s.id
	s.connected = false
	s.id = ""
	s.connectOn = nil
	for _, ref := range slices.Clone(s.inAcks) {
		m.forgetInAck(ref)
	}
	if was {
		m.push(wire.SocketDisconnected{Nsp: s.nsp, Socket: id, Reason: reason, Description: desc})
	}
	m.clearAcks(now, s)
}

// clearAcks is socket.ts _clearAcks: acknowledgements of packets that were
// sent (not those still in the offline buffer) fail with "socket has been
// disconnected", in ack id order.
func (m *Manager) clearAcks(now clock.Instant, s *socket) {
	ids := make([]uint64, 0, len(s.acks))
	for id := range s.acks {
		ids = append(ids, id)
	}
	order.Sort(ids)
	for _, id := range ids {
		en := s.acks[id]
		if en == nil || s.buffered(id) {
			continue
		}
		delete(s.acks, id)
		m.cancel(&en.timer)
		if en.withError {
			m.resolve(now, s, en, wire.AckDisconnected, nil, nil)
		}
	}
}

func (s *socket) buffered(id uint64) bool {
	for _, op := range s.sendBuf {
		if op.p.HasID && op.p.ID == id {
			return true
		}
	}
	return false
}

// socketOnPacket is socket.ts onpacket.
func (m *Manager) socketOnPacket(now clock.Instant, s *socket, p sio.Packet, atts [][]byte) {
	switch p.Type {
	case sio.Connect:
		sid, pid, ok := connectSID(p.Data)
		if !ok {
			m.push(wire.ConnectError{Nsp: s.nsp, Server: true, Message: "It seems you are trying to reach a Socket.IO server in v2.x with a v3.x client, but they are not compatible (more information here: https://socket.io/docs/v3/migrating-from-2-x-to-3-0/)"})
			return
		}
		m.onconnect(now, s, wire.SocketID(sid), pid)
	case sio.Event, sio.BinaryEvent:
		m.onevent(s, p, atts)
	case sio.Ack, sio.BinaryAck:
		m.onack(now, s, p, atts)
	case sio.Disconnect:
		m.destroy(now, s)
		m.socketOnClose(now, s, wire.ReasonIOServerDisconnect, "")
	case sio.ConnectError:
		m.destroy(now, s)
		msg, data := connectErrorPayload(p.Data)
		m.push(wire.ConnectError{Nsp: s.nsp, Message: msg, Data: data, Server: true})
	}
}

// connectSID reads the "sid" (and "pid", with recovery) of a CONNECT
// reply: {"sid":"...","pid":"..."}.
func connectSID(data []byte) (sid, pid string, ok bool) {
	if jsontext.Kind(data) != '{' {
		return "", "", false
	}
	jsontext.ObjectMembers(data, func(k, v []byte) bool {
		switch {
		case jsontext.EqualString(k, "sid"):
			sid, ok = jsontext.Unquote(v)
		case jsontext.EqualString(k, "pid") && jsontext.Kind(v) == '"':
			pid, _ = jsontext.Unquote(v)
		}
		return true
	})
	return sid, pid, ok && sid != ""
}

// connectErrorPayload reads {"message":..., "data":...} (or a bare string,
// as Socket.IO v2 servers send).
func connectErrorPayload(data []byte) (msg string, extra []byte) {
	switch jsontext.Kind(data) {
	case '"':
		msg, _ = jsontext.Unquote(data)
	case '{':
		jsontext.ObjectMembers(data, func(k, v []byte) bool {
			switch {
			case jsontext.EqualString(k, "message"):
				msg, _ = jsontext.Unquote(v)
			case jsontext.EqualString(k, "data"):
				extra = v
			}
			return true
		})
	}
	return msg, extra
}

// onconnect is socket.ts onconnect. The Connected notification comes before
// the events buffered while connecting (JS emits those first), so a host
// knows the socket id of every event it gets.
func (m *Manager) onconnect(now clock.Instant, s *socket, id wire.SocketID, pid string) {
	s.id = id
	s.connected = true
	s.recovered = pid != "" && s.pid == pid
	s.pid = pid
	var sid wire.SID
	if m.eng != nil {
		sid = m.eng.sid
	}
	m.push(wire.Connected{Socket: id, SID: sid, Nsp: s.nsp, Recovered: s.recovered})
	for _, ev := range s.recvBuf {
		ev.Socket = id
		if ev.Ack == 0 {
			s.noteOffset(ev.Data)
		}
		m.push(ev)
	}
	s.recvBuf = nil
	for _, op := range s.sendBuf {
		m.writePacket(op.p, op.atts)
	}
	s.sendBuf = nil
	m.drainQueue(now, s, true)
}

// onevent is socket.ts onevent.
func (m *Manager) onevent(s *socket, p sio.Packet, atts [][]byte) {
	name, ok := sio.EventName(p.Data)
	if !ok {
		return
	}
	ev := wire.EventReceived{Socket: s.id, Name: name, Data: p.Data, Attachments: atts}
	if p.HasID {
		ev.Ack = m.newRef()
		m.inAcks[ev.Ack] = inAck{s: s, id: p.ID}
		m.inOrder = append(m.inOrder, ev.Ack)
		s.inAcks = append(s.inAcks, ev.Ack)
		for len(m.inAcks) > m.cfg.MaxPendingAcks {
			m.forgetInAck(m.inOrder[0])
		}
	}
	if s.connected {
		if !p.HasID { // JS: the last argument of an event with an ack is the callback
			s.noteOffset(p.Data)
		}
		m.push(ev)
		return
	}
	if len(s.recvBuf) < MaxBuffered {
		s.recvBuf = append(s.recvBuf, ev)
	}
}

// noteOffset is socket.ts emitEvent's bookkeeping: with a private id, a
// string last argument is the offset of the event.
func (s *socket) noteOffset(data []byte) {
	if s.pid == "" {
		return
	}
	var last []byte
	n := 0
	jsontext.ArrayElems(data, func(e []byte) bool { last = e; n++; return true })
	if n > 1 && jsontext.Kind(last) == '"' { // the event name is not an argument
		if off, ok := jsontext.Unquote(last); ok {
			s.lastOffset, s.hasOffset = off, true
		}
	}
}

func (m *Manager) forgetInAck(ref wire.AckRef) {
	ia, ok := m.inAcks[ref]
	if ok {
		delete(m.inAcks, ref)
		if i := slices.Index(ia.s.inAcks, ref); i >= 0 {
			ia.s.inAcks = slices.Delete(ia.s.inAcks, i, i+1)
		}
	}
	if i := slices.Index(m.inOrder, ref); i >= 0 {
		m.inOrder = slices.Delete(m.inOrder, i, i+1)
	}
}

// onack is socket.ts onack.
func (m *Manager) onack(now clock.Instant, s *socket, p sio.Packet, atts [][]byte) {
	if !p.HasID {
		return
	}
	en := s.acks[p.ID]
	if en == nil {
		return
	}
	delete(s.acks, p.ID)
	m.cancel(&en.timer)
	args := p.Data
	if len(args) == 0 {
		args = emptyArray
	}
	m.resolve(now, s, en, wire.AckOK, args, atts)
}

// ---- emitting ----------------------------------------------------------------

// emitPacket is the body of socket.ts emit for a packet that is not queued
// for retries (item is the queue entry when the queue sends it).
func (m *Manager) emitPacket(now clock.Instant, s *socket, e Emit, ref wire.AckRef, item *queueItem) {
	p := sio.Packet{Type: eventType(e.Attachments), Nsp: s.nsp, Data: e.Data, Attachments: len(e.Attachments)}
	if ref != 0 || item != nil {
		p.ID, p.HasID = s.ids, true
		s.ids++
		m.registerAck(now, s, p.ID, ref, item, e.Timeout)
	}
	switch {
	case e.Volatile && !m.transportWritable():
		// discarded; an acknowledgement asked for still resolves (timeout
		// or disconnection), as in JS
	case s.connected:
		m.writePacket(p, e.Attachments)
	default:
		s.sendBuf = append(s.sendBuf, outPacket{p: p, atts: e.Attachments, compress: e.Compress})
	}
}

// registerAck is socket.ts _registerAckCallback.
func (m *Manager) registerAck(now clock.Instant, s *socket, id uint64, ref wire.AckRef, item *queueItem, timeout time.Duration) {
	if timeout <= 0 {
		timeout = s.opts.AckTimeout
	}
	// The application's acknowledgements always resolve (JS emitWithAck's
	// callbacks take an error); a retries attempt without a timeout is
	// silently dropped on disconnection and sent again on reconnection.
	en := &ackEntry{ref: ref, item: item, withError: item == nil || timeout > 0}
	if timeout > 0 {
		en.timer = m.schedule(now.Add(timeout), timerRef{kind: timerAck, s: s, id: id})
	}
	s.acks[id] = en
}

func (m *Manager) ackTimedOut(now clock.Instant, s *socket, id uint64) {
	en := s.acks[id]
	if en == nil {
		return
	}
	en.timer = 0
	delete(s.acks, id)
	s.sendBuf = slices.DeleteFunc(s.sendBuf, func(op outPacket) bool { return op.p.HasID && op.p.ID == id })
	m.resolve(now, s, en, wire.AckTimedOut, nil, nil)
}

// resolve calls the acknowledgement's callback: the retries queue's, or the
// application's (an AckResolved).
func (m *Manager) resolve(now clock.Instant, s *socket, en *ackEntry, err wire.AckError, args []byte, atts [][]byte) {
	if en.item != nil {
		m.queueDone(now, s, en.item, err, args, atts)
		return
	}
	if en.ref != 0 {
		m.push(wire.AckResolved{Ref: en.ref, Socket: s.id, Args: args, Attachments: atts, Err: err})
	}
}

// drainQueue is socket.ts _drainQueue: the head of the queue is sent
// (again) with a new ack id; force resends one already in flight (after a
// reconnection).
func (m *Manager) drainQueue(now clock.Instant, s *socket, force bool) {
	if !s.connected || len(s.queue) == 0 {
		return
	}
	it := s.queue[0]
	if it.pending && !force {
		return
	}
	it.pending = true
	it.tries++
	m.emitPacket(now, s, it.e, 0, it)
}

// queueDone is the callback socket.ts _addToQueue gives each attempt: an
// error keeps the entry for another try until the tries exceed Retries;
// an answer ends it. Unlike JS, which always shifts the head of the queue,
// the entry is removed by identity.
func (m *Manager) queueDone(now clock.Instant, s *socket, it *queueItem, err wire.AckError, args []byte, atts [][]byte) {
	done := err == wire.AckOK || it.tries > s.opts.Retries
	if done {
		if i := slices.Index(s.queue, it); i >= 0 {
			s.queue = slices.Delete(s.queue, i, i+1)
		}
		if it.ref != 0 {
			m.push(wire.AckResolved{Ref: it.ref, Socket: s.id, Args: args, Attachments: atts, Err: err})
		}
	}
	it.pending = false
	m.drainQueue(now, s, false)
}
