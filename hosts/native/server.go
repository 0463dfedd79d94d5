// Package native is the native host of socketcore: a net/http handler
// serving Socket.IO 4.x clients over long-polling and WebSocket
// (gorilla/websocket), and the Go server API around the protocol core.
//
// One driver goroutine owns the core machine; per connection there is one
// reader goroutine and, only while frames are queued, one writer. Handlers
// run on per-socket mailboxes (one goroutine while events are queued), in
// order, never on the driver, so a slow handler cannot stall other sockets.
package native

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/socketcore/socketcore/adapter"
	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// ErrClosed is returned by operations on a closed server or a disconnected socket.
var ErrClosed = errors.New("socketcore: closed")

// Handshake is what the client sent when it opened its session (socket.handshake).
type Handshake struct {
	Headers http.Header
	Query   url.Values
	Address string // remote address of the first request
	Secure  bool
	Time    time.Time
	URL     string
	Auth    json.RawMessage // the CONNECT payload of this namespace ({} when none)
}

// Server is a Socket.IO server. Mount it with http.Handle(srv.Path(), srv).
type Server struct {
	opts Options
	core Machine
	d    *driver
	t    *transport

	mu      sync.RWMutex
	nsps    map[string]*Namespace
	dynamic []*Namespace // parents of dynamic namespaces, in registration order
	root    *Namespace
	closed  bool
	wg      sync.WaitGroup // mailbox goroutines

	// owned by the driver goroutine
	reqHandshakes map[wire.ConnID]*sessionHandshake
	handshakes    map[wire.SID]*sessionHandshake
	sockets       map[wire.SocketID]*Socket
	waiters       map[wire.AckRef]chan ackResult
	clientJS      []byte
	grace         time.Duration // how long Close waits for running handlers
	newMachine    NewMachine
	restarts      int // machines replaced after they failed
	storm         restartGuard

	adapter   adapter.Adapter // the cluster's, if any (cluster.go)
	pump      *pump
	serverBox mailbox       // runs OnServerSideEmit handlers, in order
	handlers  *handlerPool  // runs the sockets' mailboxes
	rec       *hostRecovery // Recovery.Shared (recovery_cluster.go)
	observers []Observer    // Options.Observers and Observe's (observe.go)
	stats     serverStats   // Metrics' counters (metrics.go)
	drain     drainState    // Shutdown's (drain.go)
	lim       *limits       // Options.Limits for sockets; nil: none (limits.go)
	rules     *eventRules   // Options.EventRules; nil: none (events.go)
}

type ackResult struct {
	args     Args
	err      error
	replies  []Args
	timedOut bool
	cluster  wire.ClusterRequestDone
}

// NewServer returns a running server with the namespace "/". It panics
// only if Options.Machine fails; use Start to get that error instead.
func NewServer(opts Options) *Server {
	s, err := Start(opts)
	if err != nil {
		panic(err)
	}
	return s
}

// Start returns a running server with the namespace "/", or the error of
// Options.Machine (e.g. a core.wasm that does not load).
func Start(opts Options) (*Server, error) {
	opts.init()
	s := &Server{
		opts:          opts,
		nsps:          make(map[string]*Namespace),
		reqHandshakes: make(map[wire.ConnID]*sessionHandshake),
		handshakes:    make(map[wire.SID]*sessionHandshake),
		sockets:       make(map[wire.SocketID]*Socket),
		waiters:       make(map[wire.AckRef]chan ackResult),
		grace:         handlerGrace,
	}
	if opts.ClientJS != "" {
		s.clientJS, _ = os.ReadFile(opts.ClientJS)
	}
	s.observers = slices.Clone(opts.Observers)
	s.newMachine = opts.Machine
	if s.newMachine == nil {
		s.newMachine = nativeMachine
	}
	m, err := s.newMachine(opts.coreConfig())
	if err != nil {
		return nil, err
	}
	s.core = m
	s.serverBox.wg = &s.wg
	s.handlers = newHandlerPool(&s.wg)
	s.d = newDriver(s.core, s.notify)
	s.d.onRefused = s.handshakeRefused // metrics.go
	s.d.setLimits(&s.opts.Limits, s.d.start)
	s.lim = newLimits(&s.opts.Limits)
	s.rules = newEventRules(s.opts.EventRules) // events.go
	if err := s.startCluster(); err != nil {
		s.d.stop()
		if r, ok := m.(releaser); ok {
			r.Release(context.Background())
		}
		return nil, err
	}
	if err := s.startRecoveryStore(); err != nil { // recovery_cluster.go
		s.d.stop()
		if s.pump != nil {
			s.pump.stop()
			s.adapter.Close()
		}
		if r, ok := m.(releaser); ok {
			r.Release(context.Background())
		}
		return nil, err
	}
	s.t = newTransport(&s.opts, s.d)
	s.t.onRequest = s.onRequest
	s.d.afterDrain = func() {
		// a handshake's SessionOpened comes in the drain of its request:
		// what no session claimed by then was a refused handshake
		clear(s.reqHandshakes)
		if f, ok := s.core.(failer); ok && !s.d.failed {
			if err := f.Err(); err != nil {
				s.restartMachine(err)
			}
		}
	}
	s.root = s.Of("/")
	return s, nil
}

// Path is the request path the server answers (default "/socket.io/").
func (s *Server) Path() string { return s.opts.Path }

// ServeHTTP serves the Engine.IO endpoint (and the client bundle, if configured).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.clientJS != nil && r.URL.Path == s.opts.Path+"socket.io.js" {
		w.Header().Set("Content-Type", "application/javascript; charset=utf-8")
		w.Write(s.clientJS)
		return
	}
	s.t.ServeHTTP(w, r)
}

// Close disconnects every socket ("server shutting down"), closes every
// session and stops the server's goroutines. It waits for running handlers
// to return, for at most handlerGrace: a handler that calls Close itself
// (or blocks past the grace) does not hold it forever. What is in flight
// (acknowledgements awaited either way) is cut: Shutdown (drain.go) is the
// graceful version, for deploys.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.d.call(func(now clock.Instant) {
		if !s.drain.coreClosed { // Shutdown closed it at a quiet moment (drain.go)
			s.core.Close(now)
		}
	})
	s.d.call(func(clock.Instant) {}) // the drain after Close performed its outputs
	s.d.stop()
	s.handlers.stop() // idle workers end; later posts get short-lived ones
	if s.rec != nil {
		// the sessions the shutdown saved go through the mailboxes
		// (recovery_cluster.go) before the pump's last flush
		waitAtMost(&s.wg, s.grace)
	}
	if s.pump != nil {
		s.pump.stop()
		s.adapter.Close()
	}
	if r, ok := s.core.(releaser); ok {
		r.Release(context.Background())
	}
	s.t.stop()
	s.t.wg.Wait()
	waitAtMost(&s.wg, s.grace)
	return nil
}

// handlerGrace bounds how long Close waits for running handlers.
const handlerGrace = 10 * time.Second

// waitAtMost waits for wg, or d. The waiting goroutine ends with wg.
func waitAtMost(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

func (s *Server) onRequest(id wire.ConnID, r *http.Request) {
	if r.URL.Query().Get("sid") != "" {
		return
	}
	hs := newSessionHandshake(r)
	s.reqHandshakes[id] = hs
}

// Of returns the namespace name, creating it if needed.
func (s *Server) Of(name string) *Namespace {
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	s.mu.Lock()
	n := s.nsps[name]
	if n == nil {
		n = &Namespace{srv: s, name: name}
		s.nsps[name] = n
	}
	s.mu.Unlock()
	s.d.call(func(clock.Instant) { s.core.AddNamespace(name, true) })
	s.subscribe(name)
	return n
}

// OfDynamic registers a parent for dynamic namespaces: a client connecting
// to an unknown namespace whose name match accepts gets a child namespace,
// with the parent's middleware and connection handlers (io.of(regex/func)).
func (s *Server) OfDynamic(match func(name string) bool) *Namespace {
	n := &Namespace{srv: s, match: match}
	s.mu.Lock()
	s.dynamic = append(s.dynamic, n)
	s.mu.Unlock()
	return n
}

// Use adds middleware to "/".
func (s *Server) Use(fn func(*Socket) error) { s.root.Use(fn) }

// OnConnection registers a connection handler on "/".
func (s *Server) OnConnection(fn func(*Socket)) { s.root.OnConnection(fn) }

// Emit broadcasts to every socket of "/".
func (s *Server) Emit(event string, args ...any) error { return s.root.Emit(event, args...) }

// To targets rooms of "/".
func (s *Server) To(rooms ...string) *BroadcastOperator { return s.root.To(rooms...) }

// Except excludes rooms of "/".
func (s *Server) Except(rooms ...string) *BroadcastOperator { return s.root.Except(rooms...) }

// ---- notifications from the machine (on the driver goroutine) ------------

func (s *Server) notify(now clock.Instant, o wire.Output) {
	switch o := o.(type) {
	case wire.SessionOpened:
		if hs := s.reqHandshakes[o.Conn]; hs != nil {
			delete(s.reqHandshakes, o.Conn)
			s.handshakes[o.SID] = hs
		}
		s.stats.sessionOpened(o.WebSocket)
		if s.observing() {
			s.observe(Event{Kind: SessionOpened, Session: string(o.SID), Transport: transportName(o.WebSocket)})
		}
	case wire.SessionUpgraded:
		s.stats.upgrades++
		if s.observing() {
			s.observe(Event{Kind: SessionUpgraded, Session: string(o.SID), Transport: "websocket"})
		}
	case wire.SessionClosed:
		delete(s.handshakes, o.SID)
		s.stats.closed[reasonIndex(o.Reason)]++
		if s.observing() {
			s.observe(Event{Kind: SessionClosed, Session: string(o.SID), Reason: o.Reason})
		}
	case wire.ConnectRequested:
		s.connectRequested(now, o)
	case wire.Connected:
		s.stats.socketsConnected++
		so := s.sockets[o.Socket]
		if so != nil {
			so.mbox.post(so.runConnected)
			s.snapshotAfterConnection(so) // recovery_cluster.go
		}
		if s.observing() {
			s.observeSocket(SocketConnected, so, o.Socket, o.SID, "")
		}
	case wire.EventReceived:
		s.stats.eventsIn++
		if so := s.sockets[o.Socket]; so != nil {
			// the rate first: a flood of refused events is a flood too
			if s.lim != nil && s.overLimit(now, so, o) { // limits.go
				break // not observed either: a flood costs the observers nothing
			}
			if so.rules != nil && s.refuseEvent(now, so, o) { // events.go
				break // refused: neither handled nor observed
			}
			if s.observing() {
				s.observeEvent(EventReceived, so, o.Name, o.Data, o.Attachments)
			}
			size := len(o.Data)
			for _, a := range o.Attachments {
				size += len(a)
			}
			gen := s.drain.gen // drain.go
			if !so.mbox.postEvent(size, func() { so.dispatch(o, gen) }) {
				// the client outruns its handlers: drop the connection
				s.core.Disconnect(now, o.Socket, true)
			}
		} else if o.Ack != 0 {
			s.core.Ack(o.Ack, nil, nil)
		}
	case wire.AckResolved:
		if ch := s.waiters[o.Ref]; ch != nil {
			delete(s.waiters, o.Ref)
			var r ackResult
			switch o.Err {
			case wire.AckTimedOut:
				s.stats.acksTimedOut++
				r.err = ErrAckTimeout
			case wire.AckDisconnected:
				r.err = ErrClosed
			default:
				r.args.Raw, r.err = splitArgs(o.Args, 0)
				r.args.Attachments = o.Attachments
			}
			ch <- r
		}
	case wire.BroadcastAckResolved:
		if ch := s.waiters[o.Ref]; ch != nil {
			delete(s.waiters, o.Ref)
			r := ackResult{timedOut: o.TimedOut}
			for _, rep := range o.Replies {
				raw, err := splitArgs(rep.Args, 0)
				if err == nil {
					r.replies = append(r.replies, Args{Raw: raw, Attachments: rep.Attachments})
				}
			}
			if o.TimedOut {
				s.stats.acksTimedOut++
				r.err = ErrAckTimeout
			}
			ch <- r
		}
	case wire.Disconnecting:
		if so := s.sockets[o.Socket]; so != nil {
			if s.opts.Recovery != nil && s.rec == nil { // with a store, the session write carries it
				s.keepData(so)
			}
			so.mbox.post(func() { so.runDisconnecting(o.Reason, o.Rooms) })
		}
	case wire.Disconnected:
		s.stats.disconnects[reasonIndex(o.Reason)]++
		so := s.sockets[o.Socket]
		if so != nil {
			s.forgetSocket(so)
			so.setClosed()
			so.mbox.post(func() { so.runDisconnected(o.Reason) })
		}
		if s.observing() {
			s.observeSocket(SocketDisconnected, so, o.Socket, "", o.Reason)
		}
	case wire.ClusterPublish:
		if !s.recordBroadcast(o) { // recovery_cluster.go
			s.publish(o)
		}
	case wire.RecoveryRecord, wire.RecoverySession, wire.RecoveryLookup:
		s.recoveryOutput(o) // recovery_cluster.go
	case wire.ClusterRequestDone:
		if o.TimedOut {
			s.stats.clusterTimeouts++
		}
		for i := range o.Sockets {
			if o.Sockets[i].Handshake == nil { // one of this server's
				s.describeSocket(&o.Sockets[i])
			}
		}
		if ch := s.waiters[o.Ref]; ch != nil {
			delete(s.waiters, o.Ref)
			ch <- ackResult{cluster: o}
		}
	case wire.ServerSideEmitReceived:
		s.serverSideEmitted(o)
	case wire.RoomCreated:
		if w, ok := s.adapter.(adapter.RoomWatcher); ok {
			w.RoomCreated(o.Nsp, o.Room)
		}
	case wire.RoomDeleted:
		if w, ok := s.adapter.(adapter.RoomWatcher); ok {
			w.RoomDeleted(o.Nsp, o.Room)
		}
	case wire.RoomJoined: // core.Config.RoomEvents: with Options.Observers
		if s.observing() {
			s.observe(Event{Kind: RoomJoined, Nsp: o.Nsp, Room: o.Room, Socket: string(o.Socket)})
		}
	case wire.RoomLeft:
		if s.observing() {
			s.observe(Event{Kind: RoomLeft, Nsp: o.Nsp, Room: o.Room, Socket: string(o.Socket)})
		}
	}
}

// failer is a Machine that can stop for good: core.wasm after a trap
// (wasm/host.Machine.Err). The native core never does.
type failer interface{ Err() error }

// restartMachine replaces a machine that failed (on the driver goroutine).
// Its state is gone, so everything that lived in it ends as if the
// transport broke: pending requests get 500, WebSockets close (clients
// reconnect and get new sessions), sockets see "transport error", awaited
// acknowledgements fail with ErrClosed. The new machine gets the same
// namespaces and a seed derived from the old one, so it never hands out
// the ids of the sessions it replaces. If it cannot be made, the server
// answers 503 to every request from then on.
func (s *Server) restartMachine(cause error) {
	s.opts.Logger.Error("socketcore: the protocol machine failed; its sessions are lost, restarting it", "err", cause)
	old := s.core
	s.d.dropConnections(http.StatusInternalServerError)
	for id, so := range s.sockets {
		delete(s.sockets, id)
		so.setClosed()
		so.mbox.post(func() {
			so.runDisconnecting(wire.ReasonTransportError, nil)
			so.runDisconnected(wire.ReasonTransportError)
		})
		// the metrics and the observers (the admin UI) see them leave as
		// if the machine had said so: no socket stays in their views
		s.stats.disconnects[reasonIndex(wire.ReasonTransportError)]++
		if s.observing() {
			s.observeSocket(SocketDisconnected, so, id, "", wire.ReasonTransportError)
		}
	}
	for ref, ch := range s.waiters {
		delete(s.waiters, ref)
		ch <- ackResult{err: ErrClosed}
	}
	for sid := range s.handshakes {
		s.stats.closed[reasonIndex(wire.ReasonTransportError)]++
		if s.observing() {
			s.observe(Event{Kind: SessionClosed, Session: string(sid), Reason: wire.ReasonTransportError})
		}
	}
	clear(s.handshakes)
	clear(s.reqHandshakes)
	if r, ok := old.(releaser); ok {
		r.Release(context.Background())
	}
	if !s.storm.allow(time.Now()) {
		s.opts.Logger.Error("socketcore: the protocol machine keeps failing; refusing every request", "failures", restartBurst+1, "within", restartWindow)
		s.d.failed = true
		return
	}
	s.restarts++
	cfg := s.opts.coreConfig()
	cfg.Seed = sha256.Sum256(binary.BigEndian.AppendUint64(cfg.Seed[:], uint64(s.restarts)))
	m, err := s.newMachine(cfg)
	if err == nil {
		s.mu.RLock()
		names := make([]string, 0, len(s.nsps))
		for name := range s.nsps {
			names = append(names, name)
		}
		s.mu.RUnlock()
		slices.Sort(names)
		for _, name := range names {
			if err = m.AddNamespace(name, true); err != nil {
				break
			}
		}
	}
	if err != nil {
		s.opts.Logger.Error("socketcore: no new protocol machine; refusing every request", "err", err)
		s.d.failed = true
		return
	}
	s.core = m
	s.d.m = m
	s.opts.Logger.Info("socketcore: protocol machine restarted", "restarts", s.restarts)
}

// recoveryMachine is a Machine that keeps sessions for recovery (the
// native core; core.wasm once its ABI carries it).
type recoveryMachine interface {
	SetRecoveryData(id wire.SocketID, data []byte) error
}

// keepData hands the socket's Data to the machine's saved session (if
// the socket's departure saved one).
func (s *Server) keepData(so *Socket) {
	m, ok := s.core.(recoveryMachine)
	if !ok {
		return
	}
	so.mu.Lock()
	data := so.Data
	so.mu.Unlock()
	if data == nil {
		return
	}
	b, err := json.Marshal(data)
	if err != nil {
		return
	}
	m.SetRecoveryData(so.id, b)
}

// restartGuard keeps a machine that fails again and again (a guest that
// traps on every connection) from being restarted for ever: at most
// restartBurst failures within restartWindow get a new machine.
type restartGuard struct{ fails []time.Time }

const (
	restartBurst  = 5
	restartWindow = time.Minute
)

func (g *restartGuard) allow(now time.Time) bool {
	g.fails = append(g.fails, now)
	for len(g.fails) > 0 && now.Sub(g.fails[0]) > restartWindow {
		g.fails = g.fails[1:]
	}
	return len(g.fails) <= restartBurst
}

// releaser is a Machine holding resources beyond the Go heap (a WASM
// instance), released when the server closes.
type releaser interface {
	Release(ctx context.Context) error
}

// ErrAckTimeout is the error of an acknowledgement that did not come in
// time; its text is the JS client's and server's.
var ErrAckTimeout = errors.New("operation has timed out")

func (s *Server) namespaceFor(name string) (*Namespace, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.nsps[name]; n != nil {
		return n, true
	}
	for _, p := range s.dynamic {
		if p.match(name) {
			n := &Namespace{srv: s, name: name, parent: p}
			return n, false
		}
	}
	return nil, false
}

func (s *Server) connectRequested(now clock.Instant, o wire.ConnectRequested) {
	n, known := s.namespaceFor(o.Nsp)
	if n == nil {
		s.core.RejectConnect(now, o.Socket, "Invalid namespace", nil)
		return
	}
	if !s.admitNamespace(s.handshakes[o.SID]) { // limits.go
		s.core.RejectConnect(now, o.Socket, msgTooManyNamespaces, nil)
		return
	}
	so := &Socket{srv: s, nsp: n, id: o.Socket, hs: s.handshakes[o.SID], auth: json.RawMessage(o.Auth), recovered: o.Recovered}
	so.rules = s.rules.forNamespace(o.Nsp) // events.go
	if o.Recovered {
		s.stats.recovered++
	} else if s.opts.Recovery != nil && recoveryAsked(o.Auth) {
		s.stats.recoveryFailed++
	}
	if o.Recovered && len(o.Data) > 0 {
		var data any
		if json.Unmarshal(o.Data, &data) == nil {
			so.Data = data
		}
	}
	so.mbox.wg = &s.wg
	so.mbox.pool = s.handlers
	s.sockets[o.Socket] = so
	if o.Recovered && known && !s.opts.Recovery.RunMiddlewares {
		// skipMiddlewares: a recovered socket was admitted before
		s.core.AcceptConnect(now, so.id)
		return
	}
	so.mbox.post(func() {
		err := n.runMiddleware(so)
		s.d.post(func(now clock.Instant) {
			if err != nil {
				s.forgetSocket(so)
				msg, data := connectErrorPayload(err)
				s.core.RejectConnect(now, so.id, msg, data)
				return
			}
			if !known {
				s.mu.Lock()
				existing := s.nsps[n.name]
				if existing != nil {
					so.nsp = existing
				} else {
					s.nsps[n.name] = n
				}
				s.mu.Unlock()
				if existing == nil {
					s.subscribe(n.name)
				}
			}
			s.core.AcceptConnect(now, so.id)
			if s.core.Transport(so.id) == "" {
				s.forgetSocket(so) // its session ended while the middleware ran
			}
		})
	})
}

// ConnectError refuses a connection from middleware with a message and
// data, as Node's `next(err)` with err.data.
type ConnectError struct {
	Message string
	Data    any
}

func (e *ConnectError) Error() string { return e.Message }

func connectErrorPayload(err error) (string, []byte) {
	var ce *ConnectError
	if errors.As(err, &ce) {
		if ce.Data == nil {
			return ce.Message, nil
		}
		b, merr := marshal(ce.Data)
		if merr != nil {
			return ce.Message, nil
		}
		return ce.Message, b
	}
	return err.Error(), nil
}

// waitAck registers a waiter for ref (on the driver) — call inside a task.
func (s *Server) waitAck(ref wire.AckRef) chan ackResult {
	ch := make(chan ackResult, 1)
	s.waiters[ref] = ch
	return ch
}

func awaitAck(ctx context.Context, s *Server, ch chan ackResult, ref wire.AckRef) ackResult {
	select {
	case r := <-ch:
		return r
	case <-ctx.Done():
		s.d.post(func(clock.Instant) { delete(s.waiters, ref) })
		return ackResult{err: ctx.Err()}
	case <-s.d.done:
		return ackResult{err: ErrClosed}
	}
}

// Stats returns the protocol core's counts (sessions, sockets, pending
// acknowledgements, ...); they return to zero when every client is gone.
func (s *Server) Stats() core.Stats {
	var st core.Stats
	s.d.call(func(clock.Instant) { st = s.core.Stats() })
	return st
}

// ackTimeout is the core timeout of an acknowledgement: the emitter's, or
// ctx's deadline if sooner (the core's timer then frees the waiter's state).
func ackTimeout(ctx context.Context, d time.Duration) time.Duration {
	if dl, ok := ctx.Deadline(); ok && (d == 0 || time.Until(dl) < d) {
		return max(time.Until(dl), time.Millisecond)
	}
	return d
}

// requestAck runs send on the driver, registers a waiter for the ref it
// returns, and waits for the acknowledgement, ctx, or the server's end.
func (s *Server) requestAck(ctx context.Context, send func(now clock.Instant) (wire.AckRef, error)) ackResult {
	var (
		ch   chan ackResult
		ref  wire.AckRef
		serr error
	)
	if !s.d.call(func(now clock.Instant) {
		if ref, serr = send(now); serr == nil {
			ch = s.waitAck(ref)
		}
	}) {
		return ackResult{err: ErrClosed}
	}
	if serr != nil {
		if errors.Is(serr, core.ErrUnknownSocket) {
			serr = ErrClosed
		}
		return ackResult{err: serr}
	}
	return awaitAck(ctx, s, ch, ref)
}
