package native

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/socketcore/socketcore/core/client"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// ClientSocket is a client's connection to one namespace
// (socket.io-client's Socket). Safe for concurrent use. Its listeners run
// in order on one goroutine of the socket (started while events are
// queued), never on the Manager's driver, so they may block — even in
// EmitWithAck.
type ClientSocket struct {
	mgr    *Manager
	nsp    string
	opts   SocketOptions
	owner  bool  // made by Dial: Close closes its Manager
	addErr error // the machine refused the namespace
	mbox   clientQueue
	events emitter

	mu        sync.Mutex
	id        string
	connected bool
	recovered bool
	dialWait  chan error // DialContext's
}

// Recovered reports whether the last connection recovered the socket's
// state (socket.recovered): the server, with connection state recovery,
// gave back the same id and the events missed while away.
func (s *ClientSocket) Recovered() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recovered
}

// ID is the socket id the server gave, "" while disconnected.
func (s *ClientSocket) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id
}

// Connected reports whether the socket is connected.
func (s *ClientSocket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// Namespace is the socket's namespace ("/chat").
func (s *ClientSocket) Namespace() string { return s.nsp }

// Manager is the connection the socket is multiplexed on (socket.io).
func (s *ClientSocket) Manager() *Manager { return s.mgr }

func (s *ClientSocket) setState(id string, connected bool) {
	s.mu.Lock()
	s.id, s.connected = id, connected
	s.mu.Unlock()
}

func (s *ClientSocket) dialDone(err error) {
	s.mu.Lock()
	ch := s.dialWait
	s.dialWait = nil
	s.mu.Unlock()
	if ch != nil {
		ch <- err
	}
}

// On registers a listener and returns a function that removes it. For the
// lifecycle events the listener is "connect" func(); "connect_error"
// func(error) (a *ConnectError: the server's refusal with its Message and
// Data as json.RawMessage, or the transport's failure); "disconnect"
// func(reason string) or func(reason, description string), with the JS
// reasons ("io server disconnect", "io client disconnect", "ping timeout",
// "transport close", "transport error", "parse error", "forced close").
// For any other event fn is a func whose parameters are decoded from the
// event's arguments as with the server's Socket.On (a last parameter of type
// Ack answers the server's acknowledgement request). fn of the wrong shape
// panics. Several listeners of one event run in registration order.
func (s *ClientSocket) On(event string, fn any) (off func()) { return s.events.on(event, fn, false) }

// Once is On for the next occurrence only.
func (s *ClientSocket) Once(event string, fn any) (off func()) { return s.events.on(event, fn, true) }

// Off removes every listener of event.
func (s *ClientSocket) Off(event string) { s.events.off(event) }

// OnAny registers a listener for every event from the server, called before
// the event's own listeners (socket.onAny).
func (s *ClientSocket) OnAny(fn func(event string, args Args)) (off func()) {
	return s.events.onAny(fn)
}

// OffAny removes every OnAny listener.
func (s *ClientSocket) OffAny() { s.events.offAny() }

// OnConnect, OnConnectError and OnDisconnect are typed forms of On for the
// lifecycle events.
func (s *ClientSocket) OnConnect(fn func()) (off func())           { return s.On("connect", fn) }
func (s *ClientSocket) OnConnectError(fn func(error)) (off func()) { return s.On("connect_error", fn) }
func (s *ClientSocket) OnDisconnect(fn func(reason string)) (off func()) {
	return s.On("disconnect", fn)
}

// Connect connects the socket (socket.connect()); the Manager opens its
// connection if needed. It returns at once.
func (s *ClientSocket) Connect() error {
	if s.addErr != nil {
		return s.addErr
	}
	if !s.mgr.d.post(func(now clock.Instant) { s.mgr.core.Connect(now, s.nsp) }) {
		return ErrClosed
	}
	return nil
}

// Disconnect disconnects the socket ("io client disconnect"); when no
// other socket of the Manager is connected its connection closes, without
// reconnection. Connect connects it again.
func (s *ClientSocket) Disconnect() error {
	if s.addErr != nil {
		return s.addErr
	}
	if !s.mgr.d.call(func(now clock.Instant) { s.mgr.core.Disconnect(now, s.nsp) }) {
		return ErrClosed
	}
	return nil
}

// Close disconnects the socket; a socket made by Dial or DialContext also
// closes its Manager (and every socket multiplexed on it) and its goroutines.
func (s *ClientSocket) Close() error {
	if !s.owner {
		if err := s.Disconnect(); err != nil && !errors.Is(err, ErrClosed) {
			return err
		}
		return nil
	}
	s.Disconnect()
	return s.mgr.Close()
}

// deliver runs the listeners of an event from the server (on the driver).
func (s *ClientSocket) deliver(o wire.EventReceived) {
	ls := s.events.take(o.Name)
	anys := s.events.anys()
	if len(ls) == 0 && len(anys) == 0 {
		return
	}
	s.mbox.post(func() {
		raw, err := splitArgs(o.Data, 1)
		if err != nil {
			return
		}
		args := Args{Raw: raw, Attachments: o.Attachments}
		for _, fn := range anys {
			safely(func() { fn(o.Name, args) })
		}
		ack := s.ackFunc(o.Ack)
		for _, l := range ls {
			safely(func() { l.user(args, ack) })
		}
	})
}

func (s *ClientSocket) lifecycle(event string, vals ...any) {
	ls := s.events.take(event)
	if len(ls) == 0 {
		return
	}
	s.mbox.post(func() {
		for _, l := range ls {
			safely(func() { l.life(vals) })
		}
	})
}

func (s *ClientSocket) ackFunc(ref wire.AckRef) Ack {
	if ref == 0 {
		return func(...any) error { return ErrNoAck }
	}
	var once sync.Once
	m := s.mgr
	return func(args ...any) error {
		err := ErrNoAck
		once.Do(func() {
			data, atts, e := encodeArgs("", args)
			if e != nil {
				err = e
				return
			}
			if !m.d.post(func(now clock.Instant) { m.core.Ack(now, ref, data, atts) }) {
				err = ErrClosed
				return
			}
			err = nil
		})
		return err
	}
}

// ClientEmitter sends from one socket with flags (socket.volatile,
// socket.timeout(ms), socket.compress(b)).
type ClientEmitter struct {
	s        *ClientSocket
	volatile bool
	compress bool
	timeout  time.Duration
}

// Volatile returns an emitter whose events are dropped when the transport
// cannot take them now (not connected, reconnecting, or a polling request
// in flight), instead of waiting in the offline buffer.
func (s *ClientSocket) Volatile() ClientEmitter { return ClientEmitter{s: s, volatile: true} }

// Timeout returns an emitter whose acknowledgements fail with ErrAckTimeout
// after d (socket.timeout(d)).
func (s *ClientSocket) Timeout(d time.Duration) ClientEmitter { return ClientEmitter{s: s, timeout: d} }

// Compress returns an emitter with the compress flag (accepted; the
// client does not negotiate WebSocket compression yet).
func (s *ClientSocket) Compress(on bool) ClientEmitter { return ClientEmitter{s: s, compress: on} }

// Volatile sets the volatile flag.
func (e ClientEmitter) Volatile() ClientEmitter { e.volatile = true; return e }

// Timeout sets the acknowledgement timeout.
func (e ClientEmitter) Timeout(d time.Duration) ClientEmitter { e.timeout = d; return e }

// Compress sets the compress flag.
func (e ClientEmitter) Compress(on bool) ClientEmitter { e.compress = on; return e }

// Emit sends an event to the server. While the socket is not connected the
// event waits in the offline buffer (sent in order once connected) unless
// the emitter is volatile. With SocketOptions.Retries it is queued and
// delivered at least once (see EmitWithAck).
func (s *ClientSocket) Emit(event string, args ...any) error {
	return ClientEmitter{s: s}.Emit(event, args...)
}

// Send emits a "message" event (socket.send).
func (s *ClientSocket) Send(args ...any) error { return s.Emit("message", args...) }

// EmitWithAck sends an event and waits for the server's acknowledgement
// (its arguments), ErrAckTimeout after the emitter's Timeout (or the
// socket's AckTimeout), ErrSocketDisconnected when the connection drops
// after the event was sent, ErrClosed when the Manager closes, or ctx's
// end (the acknowledgement is then forgotten; ctx does not change what is
// sent). With SocketOptions.Retries the event is sent again, with a new
// packet id, each time its acknowledgement times out or its connection
// drops, up to Retries more times, one event at a time in emit order.
func (s *ClientSocket) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	return ClientEmitter{s: s}.EmitWithAck(ctx, event, args...)
}

func (e ClientEmitter) spec(event string, args []any) (client.Emit, error) {
	if e.s.addErr != nil {
		return client.Emit{}, e.s.addErr
	}
	if err := checkEventName(event); err != nil {
		return client.Emit{}, err
	}
	data, atts, err := encodeArgs(event, args)
	if err != nil {
		return client.Emit{}, err
	}
	return client.Emit{Data: data, Attachments: atts, Volatile: e.volatile, Compress: e.compress, Timeout: e.timeout}, nil
}

func coreEmitError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, client.ErrBufferFull):
		return errors.New("socketcore: the socket's offline buffer is full")
	}
	return errors.New("socketcore: " + strings.TrimPrefix(err.Error(), "client: "))
}

// Emit sends an event; see ClientSocket.Emit.
func (e ClientEmitter) Emit(event string, args ...any) error {
	spec, err := e.spec(event, args)
	if err != nil {
		return err
	}
	m := e.s.mgr
	var cerr error
	if !m.d.call(func(now clock.Instant) { _, cerr = m.core.Emit(now, e.s.nsp, spec) }) {
		return ErrClosed
	}
	return coreEmitError(cerr)
}

// EmitWithAck sends an event and waits; see ClientSocket.EmitWithAck.
func (e ClientEmitter) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	spec, err := e.spec(event, args)
	if err != nil {
		return Args{}, err
	}
	spec.WithAck = true
	m := e.s.mgr
	var (
		ch   chan ackResult
		ref  wire.AckRef
		cerr error
	)
	if !m.d.call(func(now clock.Instant) {
		ref, cerr = m.core.Emit(now, e.s.nsp, spec)
		if cerr == nil {
			ch = make(chan ackResult, 1)
			m.waiters[ref] = ch
		}
	}) {
		return Args{}, ErrClosed
	}
	if cerr != nil {
		return Args{}, coreEmitError(cerr)
	}
	select {
	case r := <-ch:
		return r.args, r.err
	case <-ctx.Done():
		m.d.post(func(clock.Instant) {
			delete(m.waiters, ref)
			m.core.CancelAck(ref)
		})
		return Args{}, ctx.Err()
	case <-m.d.done:
		select {
		case r := <-ch:
			return r.args, r.err
		default:
			return Args{}, ErrClosed
		}
	}
}

// ---- listeners ---------------------------------------------------------------

type listener struct {
	id   uint64
	once bool
	user handlerFunc      // an event from the server
	life func(vals []any) // a lifecycle event
}

// emitter holds listeners (component-emitter's on/once/off, onAny).
type emitter struct {
	manager bool // a Manager's: only its lifecycle events
	mu      sync.Mutex
	next    uint64
	m       map[string][]*listener
	any     []anyListener
}

type anyListener struct {
	id uint64
	fn func(string, Args)
}

// lifeSigs are the values of each lifecycle event, as type letters
// (s string, e error, i int); a listener may take a prefix of them.
var lifeSigs = map[string]string{
	// ClientSocket
	"connect": "", "connect_error": "e", "disconnect": "ss",
	// Manager
	"open": "", "close": "s", "error": "e", "reconnect_attempt": "i",
	"reconnect": "i", "reconnect_error": "e", "reconnect_failed": "", "upgrade": "s",
}

var socketLife = []string{"connect", "connect_error", "disconnect"}

func (e *emitter) on(event string, fn any, once bool) func() {
	l := &listener{once: once}
	if e.manager && !isManagerEvent(event) {
		panic("socketcore: unknown Manager event \"" + event + "\"")
	}
	if sig, ok := lifeSigs[event]; ok && (e.manager || slices.Contains(socketLife, event)) {
		life, ok := adaptLife(fn, sig)
		if !ok {
			panic("socketcore: wrong listener type for \"" + event + "\"")
		}
		l.life = life
	} else {
		h, err := makeHandler(fn)
		if err != nil {
			panic(err)
		}
		l.user = h
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.next++
	l.id = e.next
	if e.m == nil {
		e.m = make(map[string][]*listener)
	}
	e.m[event] = append(e.m[event], l)
	id := l.id
	return func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.m[event] = slices.DeleteFunc(e.m[event], func(l *listener) bool { return l.id == id })
	}
}

func isManagerEvent(event string) bool {
	switch event {
	case "open", "close", "error", "reconnect_attempt", "reconnect", "reconnect_error", "reconnect_failed", "upgrade":
		return true
	}
	return false
}

func (e *emitter) off(event string) {
	e.mu.Lock()
	delete(e.m, event)
	e.mu.Unlock()
}

// take returns the listeners of event and forgets the once ones.
func (e *emitter) take(event string) []*listener {
	e.mu.Lock()
	defer e.mu.Unlock()
	ls := slices.Clone(e.m[event])
	if len(ls) > 0 {
		e.m[event] = slices.DeleteFunc(e.m[event], func(l *listener) bool { return l.once })
	}
	return ls
}

func (e *emitter) onAny(fn func(string, Args)) func() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.next++
	id := e.next
	e.any = append(e.any, anyListener{id: id, fn: fn})
	return func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.any = slices.DeleteFunc(e.any, func(a anyListener) bool { return a.id == id })
	}
}

func (e *emitter) offAny() {
	e.mu.Lock()
	e.any = nil
	e.mu.Unlock()
}

func (e *emitter) anys() []func(string, Args) {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]func(string, Args), len(e.any))
	for i, a := range e.any {
		out[i] = a.fn
	}
	return out
}

// adaptLife turns a lifecycle listener into a call on the event's values,
// when its parameters are a prefix of sig.
func adaptLife(fn any, sig string) (func([]any), bool) {
	var want string
	var call func([]any)
	switch f := fn.(type) {
	case func():
		call = func([]any) { f() }
	case func(string):
		want, call = "s", func(v []any) { f(v[0].(string)) }
	case func(string, string):
		want, call = "ss", func(v []any) { f(v[0].(string), v[1].(string)) }
	case func(error):
		want, call = "e", func(v []any) { f(v[0].(error)) }
	case func(*ConnectError):
		want = "e"
		call = func(v []any) {
			ce, _ := v[0].(*ConnectError)
			if ce == nil {
				ce = &ConnectError{Message: v[0].(error).Error()}
			}
			f(ce)
		}
	case func(int):
		want, call = "i", func(v []any) { f(v[0].(int)) }
	default:
		return nil, false
	}
	return call, strings.HasPrefix(sig, want)
}
