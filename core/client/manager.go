package client

import (
	"errors"
	"math/rand/v2"
	"slices"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/sio"
	"github.com/socketcore/socketcore/core/wire"
)

// Errors for local misuse (never for what the server does).
var (
	ErrUnknownInput  = errors.New("client: unknown input")
	ErrUnknownSocket = errors.New("client: unknown namespace socket")
	ErrSocketExists  = errors.New("client: namespace socket already exists")
	ErrReservedEvent = errors.New("client: reserved event name")
	ErrInvalidEvent  = errors.New("client: event data must be a JSON array starting with the event name")
	ErrInvalidAuth   = errors.New("client: auth must be a JSON object")
	ErrUnknownAck    = errors.New("client: unknown ack")
	ErrBufferFull    = errors.New("client: send buffer full")
)

// MaxBuffered bounds the packets a socket keeps while disconnected (its
// offline buffer plus its retries queue); past it Emit returns ErrBufferFull.
const MaxBuffered = 10000

type mstate uint8

const (
	mClosed mstate = iota
	mOpening
	mOpen
)

// subs mirrors which engine events the JS Manager listens to: "open" and
// "error" while opening, "data", "error" and "close" once open, none after
// cleanup.
type subs uint8

const (
	subsNone subs = iota
	subsOpening
	subsOpen
)

type timerKind uint8

const (
	timerPing timerKind = iota + 1
	timerOpen
	timerReconnect
	timerAck
)

type timerRef struct {
	kind timerKind
	e    *engine
	s    *socket
	id   uint64
}

type inAck struct {
	s  *socket
	id uint64
}

// Manager is the client machine. Not safe for concurrent use: one owner
// drives it (STYLE.md §3).
type Manager struct {
	cfg     Config
	limits  sio.Limits
	backoff *Backoff
	tokens  *rand.Rand

	state             mstate
	subs              subs
	reconnecting      bool
	skipReconnect     bool
	openFromReconnect bool
	openTimer         clock.TimerID
	reconnectTimer    clock.TimerID
	priorWebsocket    bool // engine.io-client's Socket.priorWebsocketSuccess, per manager

	eng   *engine
	dirty []*engine
	conns map[wire.ConnID]connRef
	next  wire.ConnID
	reasm sio.Reassembler

	sockets map[string]*socket
	order   []*socket

	timers  clock.Timers[timerRef]
	nextRef wire.AckRef
	inAcks  map[wire.AckRef]inAck
	inOrder []wire.AckRef // for the MaxPendingAcks bound, oldest first

	out     []wire.Output
	outHead int
	now     clock.Instant // the latest instant given; flushes at Poll run at it
}

// New returns a closed Manager; Open or Connect starts it.
func New(cfg Config) (*Manager, error) {
	if err := cfg.init(); err != nil {
		return nil, err
	}
	tokenSeed := cfg.Seed
	tokenSeed[31] ^= 0x5a // a second, independent stream: tokens never shift the jitter
	m := &Manager{
		cfg:     cfg,
		limits:  sio.Limits{MaxAttachments: cfg.MaxAttachments, MaxDepth: cfg.MaxDepth},
		backoff: NewBackoff(cfg.ReconnectionDelay, cfg.ReconnectionDelayMax, cfg.RandomizationFactor, cfg.Seed),
		tokens:  rand.New(rand.NewChaCha8(tokenSeed)),
		conns:   make(map[wire.ConnID]connRef),
		sockets: make(map[string]*socket),
		inAcks:  make(map[wire.AckRef]inAck),
	}
	m.reasm.Limits = m.limits
	return m, nil
}

// Config returns the configuration with defaults applied.
func (m *Manager) Config() Config { return m.cfg }

// Handle feeds one input. Timers that are due run first, so the machine
// never acts on a connection it should already have given up. It returns an
// error only for local misuse.
func (m *Manager) Handle(now clock.Instant, in wire.Input) error {
	m.fire(now)
	switch in := in.(type) {
	case wire.HTTPResponse:
		m.httpResponse(now, in)
	case wire.Dialed:
		m.dialed(now, in)
	case wire.Recv:
		m.recv(now, in)
	case wire.Closed:
		m.closed(now, in)
	case wire.Timeout:
	default:
		return ErrUnknownInput
	}
	return nil
}

// Poll returns the next output; wire.Wait ends a drain. Packets queued by
// the last mutation are flushed here, so they share one polling POST.
//
// Wait.Deadline is always after the latest instant given: a timer already
// due (a zero ping interval from the server) runs here first.
func (m *Manager) Poll() wire.Output {
	for {
		for len(m.dirty) > 0 {
			e := m.dirty[0]
			m.dirty = m.dirty[1:]
			e.dirty = false
			m.flush(e)
		}
		if m.outHead < len(m.out) {
			o := m.out[m.outHead]
			m.out[m.outHead] = nil
			m.outHead++
			if m.outHead == len(m.out) {
				m.out, m.outHead = m.out[:0], 0
			}
			return o
		}
		if d := m.timers.Deadline(); d != 0 && d <= m.now {
			m.fire(m.now)
			continue
		}
		return wire.Wait{Deadline: m.timers.Deadline()}
	}
}

func (m *Manager) push(o wire.Output) { m.out = append(m.out, o) }

func (m *Manager) schedule(at clock.Instant, r timerRef) clock.TimerID {
	return m.timers.Schedule(at, r)
}

func (m *Manager) cancel(id *clock.TimerID) {
	if *id != 0 {
		m.timers.Cancel(*id)
		*id = 0
	}
}

func (m *Manager) fire(now clock.Instant) {
	if now > m.now {
		m.now = now
	}
	for {
		_, r, ok := m.timers.Expired(now)
		if !ok {
			return
		}
		switch r.kind {
		case timerPing:
			r.e.pingTimer = 0
			// engine.io-client _resetPingTimeout: no ping within
			// pingInterval + pingTimeout
			m.engClose(now, r.e, wire.ReasonPingTimeout, "")
		case timerOpen:
			m.openTimer = 0
			if m.subs == subsOpening {
				e := m.eng
				m.openFailed(now, "timeout", "")
				m.engineClose(now, e)
			}
		case timerReconnect:
			m.reconnectTimer = 0
			if m.skipReconnect {
				continue
			}
			m.push(wire.ReconnectAttempt{Attempt: m.backoff.Attempts})
			m.open(now, true)
		case timerAck:
			m.ackTimedOut(now, r.s, r.id)
		}
	}
}

// ---- commands ------------------------------------------------------------

// Open opens the Engine.IO connection (manager.open()) unless it is open,
// opening, or waiting to reconnect. A failure starts reconnection.
func (m *Manager) Open(now clock.Instant) {
	m.fire(now)
	if !m.reconnecting {
		m.open(now, false)
	}
}

// Close closes the connection for good (manager.disconnect()): every socket
// disconnects with "forced close" and no reconnection follows. A later
// Open or Connect starts again.
func (m *Manager) Close(now clock.Instant) {
	m.fire(now)
	m.closeManager(now)
}

// CloseEngine closes the Engine.IO connection as engine.io-client's
// socket.close() does when called on manager.engine: after the write
// buffer drains and any upgrade ends, the engine closes with "forced
// close", its sockets disconnect with that reason, and, unlike Close, the
// Manager reconnects (if reconnection is on). It does nothing unless the
// engine is opening or open; an engine that is still opening is dropped
// without an event, as in socket.io-client (the open timeout then fails
// the attempt).
func (m *Manager) CloseEngine(now clock.Instant) {
	m.fire(now)
	if m.eng != nil {
		m.engineClose(now, m.eng)
	}
}

// Reconnecting reports whether a reconnection attempt is scheduled or running.
func (m *Manager) Reconnecting() bool { return m.reconnecting }

// Stats counts what the machine holds; after Close and the host's reports
// for the last connections, everything but Sockets is zero.
type Stats struct {
	Conns    int // connections (requests, WebSockets) the machine waits on
	Timers   int
	Sockets  int // namespace sockets, connected or not
	Acks     int // acknowledgements waited for
	InAcks   int // server acknowledgement requests not answered yet
	Buffered int // packets in offline buffers and retry queues
}

// Stats returns the machine's current counts.
func (m *Manager) Stats() Stats {
	st := Stats{Conns: len(m.conns), Timers: m.timers.Len(), Sockets: len(m.sockets), InAcks: len(m.inAcks)}
	for _, s := range m.order {
		st.Acks += len(s.acks)
		st.Buffered += len(s.sendBuf) + len(s.queue)
	}
	return st
}

// ---- the Manager (socket.io-client lib/manager.ts) -----------------------

func (m *Manager) open(now clock.Instant, fromReconnect bool) {
	if m.state == mOpening || m.state == mOpen {
		return
	}
	m.openFromReconnect = fromReconnect
	e := &engine{state: esOpening, transports: slices.Clone(m.cfg.Transports)}
	m.eng = e
	m.state = mOpening
	m.skipReconnect = false
	m.subs = subsOpening
	if m.cfg.Timeout > 0 {
		m.openTimer = m.schedule(now.Add(m.cfg.Timeout), timerRef{kind: timerOpen})
	}
	m.engOpen(now, e)
}

// cleanup drops the manager's subscriptions and timers (manager.ts cleanup).
func (m *Manager) cleanup() {
	m.cancel(&m.openTimer)
	m.cancel(&m.reconnectTimer)
	m.subs = subsNone
	m.reasm.Reset()
}

// engineOpened is the engine's "open" event.
func (m *Manager) engineOpened(now clock.Instant, e *engine) {
	if e != m.eng || m.subs != subsOpening {
		return
	}
	m.cleanup()
	m.state = mOpen
	m.subs = subsOpen
	m.push(wire.EngineOpened{SID: e.sid, Transport: e.t.name()})
	for _, s := range m.order {
		if s.active {
			m.socketOnOpen(now, s)
		}
	}
	if m.openFromReconnect {
		attempt := m.backoff.Attempts
		m.reconnecting = false
		m.backoff.Reset()
		m.push(wire.Reconnected{Attempt: attempt})
	}
}

// engineError is the engine's "error" event.
func (m *Manager) engineError(now clock.Instant, e *engine, msg, desc string) {
	if e != m.eng {
		return
	}
	switch m.subs {
	case subsOpening:
		m.openFailed(now, msg, desc)
	case subsOpen:
		m.emitError(msg, desc)
	}
}

// engineClosed is the engine's "close" event.
func (m *Manager) engineClosed(now clock.Instant, e *engine, reason, desc string) {
	if e != m.eng || m.subs != subsOpen {
		return
	}
	m.onclose(now, reason, desc)
}

// openFailed is the onError of manager.open(): the handshake failed.
func (m *Manager) openFailed(now clock.Instant, msg, desc string) {
	m.cleanup()
	m.state = mClosed
	m.emitError(msg, desc)
	if m.openFromReconnect {
		m.reconnecting = false
		m.reconnect(now)
		m.push(wire.ReconnectError{Message: msg})
		return
	}
	// maybeReconnectOnOpen: only for the first connection
	if !m.reconnecting && !m.cfg.NoReconnection && m.backoff.Attempts == 0 {
		m.reconnect(now)
	}
}

// emitError is the manager's "error" event, which every socket that is not
// connected reports as connect_error.
func (m *Manager) emitError(msg, desc string) {
	m.push(wire.EngineError{Message: msg, Description: desc})
	for _, s := range m.order {
		if s.active && !s.connected {
			m.push(wire.ConnectError{Nsp: s.nsp, Message: msg})
		}
	}
}

// onclose is manager.ts onclose: the connection is gone (reason is one of
// the Reason* strings); sockets disconnect and reconnection starts.
func (m *Manager) onclose(now clock.Instant, reason, desc string) {
	m.cleanup()
	if m.eng != nil {
		m.engineClose(now, m.eng)
	}
	m.backoff.Reset()
	m.state = mClosed
	m.push(wire.EngineClosed{Reason: reason, Description: desc})
	for _, s := range m.order {
		if s.active {
			m.socketOnClose(now, s, reason, desc)
		}
	}
	if !m.cfg.NoReconnection && !m.skipReconnect {
		m.reconnect(now)
	}
}

// reconnect schedules the next attempt (manager.ts reconnect).
func (m *Manager) reconnect(now clock.Instant) {
	if m.reconnecting || m.skipReconnect {
		return
	}
	if m.cfg.ReconnectionAttempts > 0 && m.backoff.Attempts >= m.cfg.ReconnectionAttempts {
		m.backoff.Reset()
		m.push(wire.ReconnectFailed{})
		m.reconnecting = false
		return
	}
	d := m.backoff.Duration()
	m.reconnecting = true
	m.reconnectTimer = m.schedule(now.Add(d), timerRef{kind: timerReconnect})
}

// closeManager is manager.ts _close.
func (m *Manager) closeManager(now clock.Instant) {
	m.skipReconnect = true
	m.reconnecting = false
	m.onclose(now, wire.ReasonForcedClose, "")
}

// destroyed is manager.ts _destroy: when no socket is active any more the
// connection closes.
func (m *Manager) destroyed(now clock.Instant) {
	for _, s := range m.order {
		if s.active {
			return
		}
	}
	m.closeManager(now)
}

// ondata decodes one Engine.IO message into Socket.IO packets.
func (m *Manager) ondata(now clock.Instant, e *engine, data []byte, binary bool) {
	if e != m.eng || m.subs != subsOpen {
		return
	}
	var (
		p        sio.Packet
		atts     [][]byte
		complete bool
		err      error
	)
	switch {
	case m.cfg.Parser == sio.MsgpackParser:
		err = sio.ErrInvalidMsgpack // a text message: notepack.io cannot read it
		if binary {
			p, atts, err = sio.DecodeMsgpack(data, m.limits)
		}
		complete = true
	case binary:
		p, atts, complete, err = m.reasm.Binary(data)
	default:
		p, complete, err = m.reasm.Text(data)
	}
	if err != nil {
		m.onclose(now, wire.ReasonParseError, err.Error())
		return
	}
	if !complete {
		return
	}
	if s := m.sockets[p.Nsp]; s != nil && s.active {
		m.socketOnPacket(now, s, p, atts)
	}
}

func (m *Manager) newRef() wire.AckRef {
	m.nextRef++
	return m.nextRef
}

// transportWritable is the JS emit's isTransportWritable, with one
// difference: a closed transport is never writable (JS keeps a closed
// WebSocket's stale flag, so its volatile emits during a reconnection
// backoff are buffered and sent later; over polling they are dropped).
func (m *Manager) transportWritable() bool {
	e := m.eng
	return e != nil && e.state != esClosed && e.t != nil && e.t.writable
}
