package native

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// Socket is one client's connection to one namespace.
type Socket struct {
	srv  *Server
	nsp  *Namespace
	id   wire.SocketID
	hs   *sessionHandshake // shared by the session's sockets; nil for none
	auth json.RawMessage
	mbox mailbox
	lim  *socketLimiter // its rate limits' state, on the driver (limits.go)
	// its namespace's EventRules (nil: none), set before it is handed
	// to handlers; ruleCut: disconnected by them, on the driver (events.go)
	rules   *nspRules
	ruleCut bool

	mu            sync.Mutex
	handlers      []eventHandler // few per socket: a slice costs less than a map
	anyHandlers   []func(event string, args Args)
	disconnecting []func(reason string, rooms []string)
	disconnected  []func(reason string)
	closed        bool
	// Data is free for the application (socket.data); guard it yourself if
	// handlers of several sockets share it. With recovery it is kept (as
	// JSON) when the socket loses its connection, and comes back decoded
	// into map[string]any, []any, float64, string or bool values.
	Data      any
	recovered bool
}

// Recovered reports whether this socket came back through connection
// state recovery (socket.recovered): same id, rooms and Data, and the
// packets it missed were delivered.
func (s *Socket) Recovered() bool { return s.recovered }

// ID is the socket id (also the name of its own room).
func (s *Socket) ID() string { return string(s.id) }

// Namespace is the socket's namespace.
func (s *Socket) Namespace() *Namespace { return s.nsp }

// Handshake is the data of the client's handshake, with this namespace's auth.
func (s *Socket) Handshake() Handshake { return s.hs.handshake(s.auth) }

// Connected reports whether the socket is still connected.
func (s *Socket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.closed
}

func (s *Socket) setClosed() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

// On registers the handler of an event. fn is any func: its parameters are
// decoded from the event's arguments in order (a []byte parameter takes a
// binary attachment; Args takes the rest raw), and a last parameter of type
// Ack answers the client's acknowledgement.
func (s *Socket) On(event string, fn any) {
	h, err := makeHandler(fn)
	if err != nil {
		panic(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.handlers {
		if s.handlers[i].event == event {
			s.handlers[i].fn = h
			return
		}
	}
	s.handlers = append(s.handlers, eventHandler{event, h})
}

type eventHandler struct {
	event string
	fn    handlerFunc
}

// handler returns the handler of event, nil for none (s.mu held).
func (s *Socket) handler(event string) handlerFunc {
	for _, h := range s.handlers {
		if h.event == event {
			return h.fn
		}
	}
	return nil
}

// OnAny registers a handler called for every event, before its own handler.
// In a namespace whose EventRules have an allowlist it is not called,
// unless they say CatchAll; events refused by the rules never reach it.
func (s *Socket) OnAny(fn func(event string, args Args)) {
	s.mu.Lock()
	s.anyHandlers = append(s.anyHandlers, fn)
	s.mu.Unlock()
}

// OnDisconnecting registers a handler run when the socket is about to
// leave, with the rooms it was still in.
func (s *Socket) OnDisconnecting(fn func(reason string, rooms []string)) {
	s.mu.Lock()
	s.disconnecting = append(s.disconnecting, fn)
	s.mu.Unlock()
}

// OnDisconnect registers a handler run when the socket left, with the
// official reason ("client namespace disconnect", "ping timeout", ...).
func (s *Socket) OnDisconnect(fn func(reason string)) {
	s.mu.Lock()
	s.disconnected = append(s.disconnected, fn)
	s.mu.Unlock()
}

func (s *Socket) runConnected() {
	_, conns := s.nsp.handlers()
	for _, fn := range conns {
		s.srv.safely(func() { fn(s) })
	}
}

// dispatch runs the handlers of an event that arrived in the drain
// generation gen (drain.go).
func (s *Socket) dispatch(ev wire.EventReceived, gen int) {
	raw, err := splitArgs(ev.Data, 1)
	if err != nil {
		return
	}
	args := Args{Raw: raw, Attachments: ev.Attachments}
	s.mu.Lock()
	h := s.handler(ev.Name)
	var anys []func(string, Args)
	if s.rules.anyHandlers() { // off in a namespace with an allowlist (events.go)
		anys = slices.Clone(s.anyHandlers)
	}
	s.mu.Unlock()
	for _, fn := range anys {
		s.srv.safely(func() { fn(ev.Name, args) })
	}
	if h != nil {
		ack := s.ackFunc(ev.Ack, gen)
		s.srv.safely(func() { h(args, ack) })
	}
}

// ackFunc is the Ack a handler gets for the client's acknowledgement ref.
// Until it is called, Shutdown counts it as in flight (drain.go) in the
// generation of its event.
func (s *Socket) ackFunc(ref wire.AckRef, gen int) Ack {
	if ref == 0 {
		return func(...any) error { return ErrNoAck }
	}
	held := &s.srv.drain.held[gen]
	held.Add(1)
	var once sync.Once
	return func(args ...any) error {
		err := ErrNoAck
		once.Do(func() {
			// the answer is on the driver's queue before Shutdown can see
			// the count drop
			defer held.Add(-1)
			data, atts, e := encodeArgs("", args)
			if e != nil {
				err = e
				return
			}
			if !s.srv.d.post(func(clock.Instant) { s.srv.core.Ack(ref, data, atts) }) {
				err = ErrClosed
				return
			}
			err = nil
		})
		return err
	}
}

func (s *Socket) runDisconnecting(reason string, rooms []string) {
	s.mu.Lock()
	fns := slices.Clone(s.disconnecting)
	s.mu.Unlock()
	for _, fn := range fns {
		s.srv.safely(func() { fn(reason, rooms) })
	}
}

func (s *Socket) runDisconnected(reason string) {
	s.mu.Lock()
	fns := slices.Clone(s.disconnected)
	s.mu.Unlock()
	for _, fn := range fns {
		s.srv.safely(func() { fn(reason) })
	}
}

// safely runs a user handler; a panic is logged, not spread to the server.
// The client's handlers, which have no server, log to slog.Default().
func safely(fn func()) { safelyTo(slog.Default(), fn) }

// safely runs a user handler of the server: a panic goes to its Logger.
func (s *Server) safely(fn func()) { safelyTo(s.opts.Logger, fn) }

// safelyTo runs fn, logging a panic at error level with its stack.
func safelyTo(log *slog.Logger, fn func()) {
	defer func() {
		if r := recover(); r != nil {
			log.Error("socketcore: handler panic", "panic", r, "stack", string(debug.Stack()))
		}
	}()
	fn()
}

var reserved = map[string]bool{
	"connect": true, "connect_error": true, "disconnect": true, "disconnecting": true,
	"newListener": true, "removeListener": true,
}

func checkEventName(event string) error {
	if reserved[event] {
		return errors.New("socketcore: \"" + event + "\" is a reserved event name")
	}
	return nil
}

// Emitter sends to one socket with options (socket.volatile / timeout / compress).
type Emitter struct {
	s          *Socket
	volatile   bool
	noCompress bool // Node's compress flag is true unless set false
	timeout    time.Duration
}

// Volatile returns an emitter whose packets may be dropped if the socket is not ready.
func (s *Socket) Volatile() Emitter { return Emitter{s: s, volatile: true} }

// Timeout returns an emitter whose EmitWithAck gives up after d.
func (s *Socket) Timeout(d time.Duration) Emitter { return Emitter{s: s, timeout: d} }

// Compress returns an emitter asking for per-message compression.
func (s *Socket) Compress(on bool) Emitter { return Emitter{s: s, noCompress: !on} }

// Volatile sets the volatile flag.
func (e Emitter) Volatile() Emitter { e.volatile = true; return e }

// Timeout sets the acknowledgement timeout.
func (e Emitter) Timeout(d time.Duration) Emitter { e.timeout = d; return e }

// Emit sends an event to the client.
func (s *Socket) Emit(event string, args ...any) error { return Emitter{s: s}.Emit(event, args...) }

// EmitWithAck sends an event and waits for the client's acknowledgement.
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	return Emitter{s: s}.EmitWithAck(ctx, event, args...)
}

func (e Emitter) spec(event string, args []any) (core.Emit, error) {
	if err := checkEventName(event); err != nil {
		return core.Emit{}, err
	}
	data, atts, err := encodeArgs(event, args)
	if err != nil {
		return core.Emit{}, err
	}
	return core.Emit{Socket: e.s.id, Data: data, Attachments: atts, Volatile: e.volatile, Compress: !e.noCompress}, nil
}

// Emit sends an event to the client.
func (e Emitter) Emit(event string, args ...any) error {
	spec, err := e.spec(event, args)
	if err != nil {
		return err
	}
	if !e.s.srv.d.post(func(now clock.Instant) {
		if _, err := e.s.srv.core.Emit(now, spec); err == nil {
			e.s.srv.emitted(e.s, event, &spec) // metrics.go
		}
	}) {
		return ErrClosed
	}
	return nil
}

// EmitWithAck sends an event and waits for the acknowledgement, the
// timeout (ErrAckTimeout), ctx, or the socket's disconnection (ErrClosed).
func (e Emitter) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	spec, err := e.spec(event, args)
	if err != nil {
		return Args{}, err
	}
	spec.WithAck, spec.Timeout = true, ackTimeout(ctx, e.timeout)
	start := time.Now()
	r := e.s.srv.requestAck(ctx, func(now clock.Instant) (wire.AckRef, error) {
		ref, err := e.s.srv.core.Emit(now, spec)
		if err == nil {
			e.s.srv.emitted(e.s, event, &spec) // metrics.go
		}
		return ref, err
	})
	if r.err == nil {
		e.s.srv.stats.ackLatency.observe(time.Since(start))
	}
	return r.args, r.err
}

// Join adds the socket to rooms. Past Limits.MaxRoomsPerSocket it joins
// none of them and returns ErrTooManyRooms.
func (s *Socket) Join(rooms ...string) error {
	var err error
	if !s.srv.d.call(func(clock.Instant) {
		if err = s.srv.joinAllowed(s.id, rooms); err == nil { // limits.go
			err = s.srv.core.Join(s.id, rooms...)
		}
	}) {
		return ErrClosed
	}
	return err
}

// Leave removes the socket from a room.
func (s *Socket) Leave(room string) error {
	var err error
	if !s.srv.d.call(func(clock.Instant) { err = s.srv.core.Leave(s.id, room) }) {
		return ErrClosed
	}
	return err
}

// Rooms returns the rooms the socket is in (its own id room included).
func (s *Socket) Rooms() []string {
	var rooms []string
	s.srv.d.call(func(clock.Instant) { rooms = s.srv.core.Rooms(s.id) })
	return rooms
}

// Transport is the socket's current transport ("polling" or "websocket").
func (s *Socket) Transport() string {
	var t string
	s.srv.d.call(func(clock.Instant) { t = s.srv.core.Transport(s.id) })
	return t
}

// To broadcasts to rooms, except this socket (socket.to(room).emit).
func (s *Socket) To(rooms ...string) *BroadcastOperator {
	return s.nsp.op().To(rooms...).Except(string(s.id))
}

// Broadcast targets every socket of the namespace except this one.
func (s *Socket) Broadcast() *BroadcastOperator { return s.nsp.op().Except(string(s.id)) }

// Disconnect disconnects the socket; with closeConn the whole underlying
// connection (all its namespaces) closes too.
func (s *Socket) Disconnect(closeConn bool) error {
	var err error
	if !s.srv.d.call(func(now clock.Instant) { err = s.srv.core.Disconnect(now, s.id, closeConn) }) {
		return ErrClosed
	}
	if errors.Is(err, core.ErrUnknownSocket) {
		return nil // already gone
	}
	return err
}

// mailbox runs posted functions in order, one at a time. While it has work
// it is lent to a worker of the server's handlerPool; an idle mailbox costs
// no goroutine.
type mailbox struct {
	mu      sync.Mutex
	q       []func()
	bytes   int // payload bytes of the queued events
	running bool
	// executing is set while a function taken from q runs; mark counts
	// the functions that were queued or running when Shutdown last looked
	// (drain.go) and have not returned yet.
	executing bool
	mark      int32
	wg        *sync.WaitGroup // without a pool: the goroutine started per run
	pool      *handlerPool
}

// mailboxLimit and mailboxBytes bound the events waiting for one socket's
// handlers, in number and in payload bytes; a client that outruns its
// handlers that far is disconnected. One event always fits in an empty
// mailbox, however large maxHttpBufferSize is.
const (
	mailboxLimit = 4096
	mailboxBytes = 16 << 20
)

// postEvent queues an event's handler, whose payload is size bytes; false
// (and nothing queued) when the mailbox is full.
func (m *mailbox) postEvent(size int, fn func()) bool {
	m.mu.Lock()
	full := len(m.q) >= mailboxLimit || (m.bytes > 0 && m.bytes+size > mailboxBytes)
	if !full {
		m.bytes += size
	}
	m.mu.Unlock()
	if full {
		return false
	}
	m.post(func() {
		fn()
		m.mu.Lock()
		m.bytes -= size
		m.mu.Unlock()
	})
	return true
}

// post queues fn whatever the mailbox holds: lifecycle handlers
// (connection, disconnecting, disconnect) always run.
func (m *mailbox) post(fn func()) {
	m.mu.Lock()
	m.q = append(m.q, fn)
	if m.running {
		m.mu.Unlock()
		return
	}
	m.running = true
	m.mu.Unlock()
	if m.pool != nil {
		m.pool.schedule(m)
		return
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.drain()
	}()
}

// drain runs the queued functions until the queue is empty.
func (m *mailbox) drain() {
	for {
		m.mu.Lock()
		if m.executing { // the function taken last returned
			m.executing = false
			if m.mark > 0 {
				m.mark--
			}
		}
		if len(m.q) == 0 {
			m.running = false
			m.mu.Unlock()
			return
		}
		fn := m.q[0]
		m.q[0] = nil
		m.q = m.q[1:]
		m.executing = true
		m.mu.Unlock()
		fn()
	}
}

// handlerPool is the goroutines that run the handlers of busy mailboxes.
// A worker drains one mailbox at a time and then waits for the next for up
// to handlerIdle; a mailbox that finds no idle worker gets a new one, so a
// handler that blocks delays only its own socket. Workers keep the stack
// they grew running handlers (JSON decoding, the application's code): a
// goroutine started per event would grow one at every event.
type handlerPool struct {
	work     chan *mailbox
	quit     chan struct{}
	quitOnce sync.Once
	wg       *sync.WaitGroup
}

const handlerIdle = 5 * time.Second

func newHandlerPool(wg *sync.WaitGroup) *handlerPool {
	return &handlerPool{work: make(chan *mailbox), quit: make(chan struct{}), wg: wg}
}

func (p *handlerPool) schedule(m *mailbox) {
	select {
	case p.work <- m:
	default:
		p.wg.Add(1)
		go p.worker(m)
	}
}

func (p *handlerPool) worker(m *mailbox) {
	defer p.wg.Done()
	idle := time.NewTimer(handlerIdle)
	defer idle.Stop()
	for {
		m.drain()
		idle.Reset(handlerIdle)
		select {
		case m = <-p.work:
		case <-idle.C:
			return
		case <-p.quit:
			return
		}
	}
}

// stop ends the idle workers; mailboxes posted to later get workers that
// end when their mailbox is drained.
func (p *handlerPool) stop() { p.quitOnce.Do(func() { close(p.quit) }) }
