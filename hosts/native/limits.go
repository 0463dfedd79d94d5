package native

import (
	"errors"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/engine"
	"github.com/socketcore/socketcore/core/wire"
)

// Protection against clients that misbehave: flooders (event rates), slow
// consumers (bounded send queues), clients that open too much (rooms,
// namespaces, connections per address). Each limit is off at its zero value,
// and a limit that is off costs a nil or zero check where it would apply: the
// state of a socket's rate limits is allocated at its first event, and only
// when a rate is set. The decisions are made on the driver goroutine, which
// owns the machine, so a misbehaving client is cut off before its traffic
// reaches a handler's mailbox or another client's queue.

// Limits protects a server from clients that misbehave without costing the
// well-behaved ones anything (Options.Limits). Zero values are off, as in
// Node's server, which has none of them — except the send queue, which is
// always bounded (see MaxSendQueue).
type Limits struct {
	// EventRate bounds the events one socket may send, all names together:
	// a token bucket per socket (Rate). Zero: no limit.
	EventRate Rate
	// EventRates bounds single events by name, per socket, on top of
	// EventRate: an event must fit both (an event over either takes no
	// token from the other).
	EventRates map[string]Rate
	// OnLimit is what happens to an event over a rate: LimitDrop (the
	// default), LimitErrorAck or LimitDisconnect.
	OnLimit LimitAction

	// MaxRoomsPerSocket bounds the rooms one socket is in (the room of its
	// own id not counted): a Socket.Join that would pass it joins none of
	// its rooms and returns ErrTooManyRooms; the socket stays connected.
	MaxRoomsPerSocket int
	// MaxNamespacesPerConnection bounds the namespaces one connection
	// (Engine.IO session) is in or is joining (its middleware running): a
	// CONNECT past it gets connect_error {"message":"Too many namespaces"}
	// — the client's connect_error event, as for Node's "Invalid
	// namespace" — and the connection and its other sockets stay.
	MaxNamespacesPerConnection int
	// MaxConnectionsPerIP bounds the sessions open, or being opened, from
	// one client address: a handshake past it is refused with 403
	// {"code":4,"message":"Too many connections"}, the answer Node gives
	// for an allowRequest refusal (the official client reports a
	// connect_error and retries with its reconnection backoff). A session
	// counts until it closes.
	MaxConnectionsPerIP int
	// TrustProxy takes the client's address for MaxConnectionsPerIP from
	// the last X-Forwarded-For entry (the one the proxy in front of the
	// server added) instead of the connection's peer. Set it only behind
	// such a proxy: otherwise any client can claim any address.
	TrustProxy bool

	// MaxSendQueue bounds the bytes waiting to be sent to one connection.
	// On a WebSocket that is what the kernel did not take yet: past the
	// bound, volatile packets are dropped (they already are whenever the
	// connection cannot take them at once), and the connection has
	// SlowConsumerGrace to get back under it; it is closed as a slow
	// consumer (ReasonSlowConsumer) if it is still over when the grace
	// ends, or at once when its queue would pass twice the bound. On
	// polling it is what waits for the client's next GET (volatile packets
	// are never kept there): past twice the bound the session is closed
	// as a slow consumer at once — a client polls again within a round
	// trip, and one that stops polling is also closed by the ping timeout.
	// A single message larger than the bound still goes to a connection
	// whose queue is empty.
	//
	// Zero keeps the built-in bounds: 4096 queued writes per WebSocket and
	// engine.Config's MaxBufferedBytes (16 MiB) per polling session, both
	// closing at once as slow consumers. Whatever the bound, a WebSocket
	// write the peer does not take within Options.WriteTimeout closes the
	// connection as a slow consumer too.
	MaxSendQueue int
	// SlowConsumerGrace is how long a WebSocket may stay over MaxSendQueue
	// before it is closed; default 5s.
	SlowConsumerGrace time.Duration
}

// LimitAction says what happens to an event over a rate limit.
type LimitAction uint8

const (
	// LimitDrop drops the event: its handler never sees it, and an
	// acknowledgement it asked for is not answered (the client's ack
	// timeout fires; the core forgets the oldest unanswered ones past
	// its MaxPendingAcks).
	LimitDrop LimitAction = iota
	// LimitErrorAck answers the event's acknowledgement with one argument,
	// {"error":"rate limit exceeded","retryAfterMs":N} (N: when an event
	// would fit again), as Node handlers answer a refusal with
	// callback({error}); an event without an acknowledgement is dropped.
	LimitErrorAck
	// LimitDisconnect disconnects the socket from its namespace: the
	// client gets a DISCONNECT packet ("io server disconnect": it does not
	// reconnect by itself), the server's OnDisconnect handlers see
	// ReasonRateLimited, and the events that followed are dropped.
	LimitDisconnect
)

var limitActionNames = [...]string{"drop", "error-ack", "disconnect"}

// String is the action's name on the command line: drop, error-ack, disconnect.
func (a LimitAction) String() string {
	if int(a) < len(limitActionNames) {
		return limitActionNames[a]
	}
	return "LimitAction(" + strconv.Itoa(int(a)) + ")"
}

// ParseLimitAction reads "drop", "error-ack" or "disconnect" ("" is drop).
func ParseLimitAction(s string) (LimitAction, error) {
	if s == "" {
		return LimitDrop, nil
	}
	if i := slices.Index(limitActionNames[:], strings.ToLower(strings.TrimSpace(s))); i >= 0 {
		return LimitAction(i), nil
	}
	return 0, errors.New("socketcore: limit action " + strconv.Quote(s) + ": want drop, error-ack or disconnect")
}

// Reasons of the disconnections the limits cause, as OnDisconnect (and
// the observers' SessionClosed and SocketDisconnected) see them. Node has
// no such limits and so no such reasons; a client sees its transport close
// ("transport close") or, for a rate, the namespace's disconnection ("io
// server disconnect").
const (
	// ReasonSlowConsumer: the connection was closed because it did not
	// take what was sent to it fast enough (Limits.MaxSendQueue).
	ReasonSlowConsumer = engine.ReasonSlowConsumer
	// ReasonRateLimited: the socket was disconnected for sending events
	// over its rate (LimitDisconnect).
	ReasonRateLimited = "rate limit exceeded"
)

// ErrTooManyRooms is returned by Socket.Join past Limits.MaxRoomsPerSocket.
var ErrTooManyRooms = errors.New("socketcore: too many rooms for one socket")

// connect_error and refusal messages.
const (
	msgTooManyNamespaces  = "Too many namespaces"
	msgTooManyConnections = "Too many connections"
)

// LimitStats counts what the limits did since the server started.
type LimitStats struct {
	// EventsLimited counts the events over a rate (dropped, answered with
	// an error, or that disconnected their socket); RateDisconnects the
	// sockets disconnected for it.
	EventsLimited, RateDisconnects uint64
	// SlowConsumers counts the sessions closed as slow consumers
	// (WebSocket and polling).
	SlowConsumers uint64
	// RoomsRefused counts the Join calls refused (MaxRoomsPerSocket),
	// NamespacesRefused the CONNECTs (MaxNamespacesPerConnection),
	// ConnectionsRefused the handshakes (MaxConnectionsPerIP).
	RoomsRefused, NamespacesRefused, ConnectionsRefused uint64
	// EventsNotAllowed and EventsTooLarge count the events refused by
	// Options.EventRules (events.go), RuleDisconnects the sockets
	// disconnected for them.
	EventsNotAllowed, EventsTooLarge, RuleDisconnects uint64
}

// limitCounters are LimitStats as they are counted (on the driver, read
// from anywhere).
type limitCounters struct {
	eventsLimited, rateDisconnects, slowConsumers atomic.Uint64
	roomsRefused, nspsRefused, connsRefused       atomic.Uint64

	// the event rules' (events.go)
	eventsNotAllowed, eventsTooLarge, ruleDisconnects atomic.Uint64
}

func (c *limitCounters) snapshot() LimitStats {
	return LimitStats{
		EventsLimited: c.eventsLimited.Load(), RateDisconnects: c.rateDisconnects.Load(),
		SlowConsumers: c.slowConsumers.Load(), RoomsRefused: c.roomsRefused.Load(),
		NamespacesRefused: c.nspsRefused.Load(), ConnectionsRefused: c.connsRefused.Load(),
		EventsNotAllowed: c.eventsNotAllowed.Load(), EventsTooLarge: c.eventsTooLarge.Load(),
		RuleDisconnects: c.ruleDisconnects.Load(),
	}
}

// LimitStats returns what the limits did since the server started.
func (s *Server) LimitStats() LimitStats { return s.d.lim.stats.snapshot() }

// LimitStats returns what the limits did since the server started (the
// connections' limits: slow consumers, connections per address).
func (e *EngineServer) LimitStats() LimitStats { return e.d.lim.stats.snapshot() }

// ---- the Socket.IO server's limits (on the driver goroutine) -------------

// limits are a Server's Limits, compiled; nil when none applies to sockets.
type limits struct {
	socket     rate
	events     map[string]int // event name → index in eventRates
	eventRates []rate
	action     LimitAction
	rated      bool // a rate is set
	maxRooms   int
	maxNsps    int
}

func newLimits(l *Limits) *limits {
	c := &limits{socket: l.EventRate.compile(), action: l.OnLimit,
		maxRooms: max(l.MaxRoomsPerSocket, 0), maxNsps: max(l.MaxNamespacesPerConnection, 0)}
	for name, r := range l.EventRates {
		if r := r.compile(); r.on() {
			if c.events == nil {
				c.events = make(map[string]int)
			}
			c.events[name] = len(c.eventRates)
			c.eventRates = append(c.eventRates, r)
		}
	}
	c.rated = c.socket.on() || len(c.eventRates) > 0
	if !c.rated && c.maxRooms == 0 && c.maxNsps == 0 {
		return nil
	}
	return c
}

// socketLimiter is one socket's rate-limit state, made at its first event
// that a rate applies to (a Socket without one costs a nil pointer).
type socketLimiter struct {
	all    tokenBucket
	events []tokenBucket // as limits.eventRates
	cut    bool          // disconnected for its rate: what follows is dropped
}

// overLimit applies the rates to an event of so: false lets it through;
// true means it was over and has been dealt with (OnLimit).
func (s *Server) overLimit(now clock.Instant, so *Socket, o wire.EventReceived) bool {
	l := s.lim
	if l == nil || !l.rated {
		return false
	}
	ev := -1
	if l.events != nil {
		if i, ok := l.events[o.Name]; ok {
			ev = i
		}
	}
	if ev < 0 && !l.socket.on() {
		return false
	}
	sl := so.lim
	if sl == nil {
		sl = &socketLimiter{}
		if len(l.eventRates) > 0 {
			sl.events = make([]tokenBucket, len(l.eventRates))
		}
		so.lim = sl
	}
	if sl.cut {
		return true
	}
	over, wait := false, time.Duration(0)
	if ev >= 0 && !sl.events[ev].conforms(now, l.eventRates[ev]) {
		over, wait = true, sl.events[ev].wait(now, l.eventRates[ev])
	}
	if l.socket.on() && !sl.all.conforms(now, l.socket) {
		over, wait = true, max(wait, sl.all.wait(now, l.socket))
	}
	if !over { // within both: take from both
		if ev >= 0 {
			sl.events[ev].take(now, l.eventRates[ev])
		}
		if l.socket.on() {
			sl.all.take(now, l.socket)
		}
		return false
	}
	s.d.lim.stats.eventsLimited.Add(1)
	switch l.action {
	case LimitErrorAck:
		if o.Ack != 0 {
			s.core.Ack(o.Ack, rateLimitedAck(wait), nil)
		}
	case LimitDisconnect:
		sl.cut = true
		s.d.lim.stats.rateDisconnects.Add(1)
		s.d.renameSocket(so.id, ReasonRateLimited)
		if s.core.Disconnect(now, so.id, false) != nil {
			delete(s.d.lim.renames, so.id)
		}
	}
	return true
}

// rateLimitedAck is the acknowledgement of an event over its rate
// (LimitErrorAck): [{"error":"rate limit exceeded","retryAfterMs":N}].
func rateLimitedAck(wait time.Duration) []byte {
	b := append(make([]byte, 0, 64), `[{"error":"`+ReasonRateLimited+`","retryAfterMs":`...)
	b = strconv.AppendInt(b, int64((wait+time.Millisecond-1)/time.Millisecond), 10)
	return append(b, "}]"...)
}

// joinAllowed checks a Join against MaxRoomsPerSocket (on the driver).
func (s *Server) joinAllowed(id wire.SocketID, rooms []string) error {
	if s.lim == nil || s.lim.maxRooms == 0 {
		return nil
	}
	cur := s.core.Rooms(id)
	n := 0
	for _, r := range cur {
		if r != string(id) {
			n++
		}
	}
	for i, r := range rooms {
		if r != string(id) && !slices.Contains(cur, r) && !slices.Contains(rooms[:i], r) {
			n++
		}
	}
	if n > s.lim.maxRooms {
		s.d.lim.stats.roomsRefused.Add(1)
		return ErrTooManyRooms
	}
	return nil
}

// admitNamespace counts a CONNECT against its session's
// MaxNamespacesPerConnection; false refuses it. hs is the session's (nil:
// unknown, not counted).
func (s *Server) admitNamespace(hs *sessionHandshake) bool {
	if s.lim == nil || s.lim.maxNsps == 0 || hs == nil {
		return true
	}
	if int(s.d.lim.nsps[hs]) >= s.lim.maxNsps {
		s.d.lim.stats.nspsRefused.Add(1)
		return false
	}
	s.d.lim.nsps[hs]++
	return true
}

// forgetSocket removes so from the server's sockets and gives its
// namespace slot back to its session.
func (s *Server) forgetSocket(so *Socket) {
	if s.sockets[so.id] != so {
		return
	}
	delete(s.sockets, so.id)
	if s.lim != nil && s.lim.maxNsps > 0 && so.hs != nil {
		if n := s.d.lim.nsps[so.hs] - 1; n > 0 {
			s.d.lim.nsps[so.hs] = n
		} else {
			delete(s.d.lim.nsps, so.hs)
		}
	}
}

// ---- the driver's limits: send queues, addresses, reasons ----------------

// driverLimits are the limits a driver applies to connections, with the
// counters of every limit (the Engine.IO server has a driver too).
type driverLimits struct {
	send  sendLimit
	ips   *ipLimiter // nil: MaxConnectionsPerIP is off
	stats limitCounters
	// renames holds the reason a socket's disconnection is reported
	// with, set before the machine is asked to disconnect it
	// (LimitDisconnect); the entry goes with its Disconnected.
	renames map[wire.SocketID]string
	// nsps counts the sockets of each session, by the handshake they
	// share (MaxNamespacesPerConnection; nil when off).
	nsps map[*sessionHandshake]int32
	// later holds the outputs of slow consumers' closes taken from the
	// machine during flush, performed at its end.
	later []wire.Output
}

// setLimits configures the driver; call it before the driver gets its
// first task (the driver's goroutine reads them from then on).
func (d *driver) setLimits(l *Limits, start time.Time) {
	d.lim.send = sendLimit{start: start}
	if l.MaxSendQueue > 0 {
		d.lim.send.bound, d.lim.send.hard = l.MaxSendQueue, 2*l.MaxSendQueue
		d.lim.send.grace = l.SlowConsumerGrace
		if d.lim.send.grace <= 0 {
			d.lim.send.grace = 5 * time.Second
		}
	}
	if l.MaxNamespacesPerConnection > 0 {
		d.lim.nsps = make(map[*sessionHandshake]int32)
	}
	if l.MaxConnectionsPerIP > 0 {
		d.lim.ips = &ipLimiter{max: int32(l.MaxConnectionsPerIP), count: make(map[string]int32),
			pending: make(map[wire.ConnID]string), bySID: make(map[wire.SID]string)}
	}
}

// pollingBuffer is engine.Config.MaxBufferedBytes for l (0: the engine's
// default).
func (l *Limits) pollingBuffer() int {
	if l.MaxSendQueue > 0 {
		return 2 * l.MaxSendQueue
	}
	return 0
}

func (d *driver) renameSocket(id wire.SocketID, reason string) {
	if d.lim.renames == nil {
		d.lim.renames = make(map[wire.SocketID]string)
	}
	d.lim.renames[id] = reason
}

// track sees every notification before the application: it counts
// sessions per address and slow consumers, and reports a socket
// disconnected by a limit with the limit's reason.
func (d *driver) track(o wire.Output) wire.Output {
	switch n := o.(type) {
	case wire.SessionOpened:
		if d.lim.ips != nil {
			d.lim.ips.opened(n.SID, n.Conn)
		}
	case wire.SessionClosed:
		if n.Reason == ReasonSlowConsumer {
			d.lim.stats.slowConsumers.Add(1)
		}
		if d.lim.ips != nil {
			d.lim.ips.closed(n.SID)
		}
	case wire.Disconnecting:
		if r, ok := d.lim.renames[n.Socket]; ok {
			n.Reason = r
			return n
		}
	case wire.Disconnected:
		if r, ok := d.lim.renames[n.Socket]; ok {
			delete(d.lim.renames, n.Socket)
			n.Reason = r
			return n
		}
	}
	return o
}

// settle ends a drain: handshakes that opened no session give back their
// address's slot, and the outputs of slow consumers' closes are
// performed (true: there were some, whose frames need a flush).
func (d *driver) settle() bool {
	if d.lim.ips != nil {
		d.lim.ips.settle()
	}
	if len(d.lim.later) == 0 {
		return false
	}
	later := d.lim.later
	d.lim.later = nil
	for _, o := range later {
		d.perform(o)
	}
	return true
}

// resetLimits forgets the sessions a machine lost (dropConnections).
func (d *driver) resetLimits() {
	clear(d.lim.renames)
	clear(d.lim.nsps)
	if l := d.lim.ips; l != nil {
		clear(l.count)
		clear(l.pending)
		clear(l.bySID)
	}
}

// slowConsumer tells the machine that the WebSocket c was closed as a
// slow consumer. It runs in flush, when the machine has nothing queued:
// what its Closed yields is taken at once, reported with
// ReasonSlowConsumer instead of "transport error", and performed at the
// end of the flush (settle).
func (d *driver) slowConsumer(c *wsConn) {
	d.m.Handle(d.now(), wire.Closed{Conn: c.id, Error: true})
	for {
		o := d.m.Poll()
		if _, ok := o.(wire.Wait); ok {
			return
		}
		d.lim.later = append(d.lim.later, asSlowConsumer(o))
	}
}

// asSlowConsumer reports a close the machine saw as a transport error as
// a slow consumer's.
func asSlowConsumer(o wire.Output) wire.Output {
	switch n := o.(type) {
	case wire.SessionClosed:
		if n.Reason == wire.ReasonTransportError {
			n.Reason = ReasonSlowConsumer
			return n
		}
	case wire.Disconnecting:
		if n.Reason == wire.ReasonTransportError {
			n.Reason = ReasonSlowConsumer
			return n
		}
	case wire.Disconnected:
		if n.Reason == wire.ReasonTransportError {
			n.Reason = ReasonSlowConsumer
			return n
		}
	}
	return o
}

// connClosed tells the machine that the WebSocket c is gone (a task of its
// reader). A connection whose write timed out is a slow consumer: what
// earlier tasks left is performed first, so that the close's own outputs
// can be told apart and reported as a slow consumer's.
func (d *driver) connClosed(now clock.Instant, c *wsConn, failed bool) {
	if !c.isSlow() {
		d.m.Handle(now, wire.Closed{Conn: c.id, Error: failed})
		return
	}
	for {
		o := d.m.Poll()
		if _, ok := o.(wire.Wait); ok {
			break
		}
		d.perform(o)
	}
	d.m.Handle(now, wire.Closed{Conn: c.id, Error: true})
	for {
		o := d.m.Poll()
		if _, ok := o.(wire.Wait); ok {
			return
		}
		d.perform(asSlowConsumer(o))
	}
}

// ---- send queues (WebSocket) -----------------------------------------------

// sendState is a WebSocket's part of the send bound (c.mu held): the
// bytes queued and not written yet, and since when they are over the bound
// (0: not over).
type sendState struct {
	lim    *sendLimit // nil: no bound (a wsConn made by a test)
	queued int
	overAt clock.Instant
}

// closePolicyViolation is the close code a slow consumer's WebSocket gets
// (RFC 6455 §7.4.1), if its peer reads it at all.
const closePolicyViolation = 1008

// sendLimit bounds the queue of every WebSocket of a driver (shared,
// read-only once set).
type sendLimit struct {
	bound int // MaxSendQueue in bytes, 0: none
	hard  int // twice bound: the queue is full
	grace time.Duration
	start time.Time // the driver's clock origin
}

func (l *sendLimit) now() clock.Instant { return clock.Instant(time.Since(l.start)) + 1 }

// admit reports whether n more bytes may join c's queue and counts them if
// so (c.mu held): false past twice the bound, or past the bound for
// longer than the grace. The first bytes of an empty queue always fit.
func (l *sendLimit) admit(c *wsConn, n int) bool {
	q := &c.send
	next := q.queued + n
	if l.bound > 0 && next > l.bound {
		if q.queued > 0 && next > l.hard {
			return false
		}
		if now := l.now(); q.overAt == 0 {
			q.overAt = now
		} else if now.Sub(q.overAt) >= l.grace {
			return false
		}
	}
	q.queued = next
	return true
}

// sent takes n written bytes off c's queue (c.mu held).
func (c *wsConn) sent(n int) {
	q := &c.send
	q.queued = max(q.queued-n, 0)
	if q.lim != nil && q.queued <= q.lim.bound {
		q.overAt = 0
	}
}

func (c *wsConn) isSlow() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.slow
}

// writeBatch is the writer's write of what it took from the queue. Each
// write must complete within writeTTL (Options.WriteTimeout) — and, while
// the connection is over its bound, by the end of its grace, unless the
// bytes written by then brought it back under. A write that times out
// marks the connection a slow consumer (connClosed).
func (c *wsConn) writeBatch(nc net.Conn, bufs *net.Buffers) error {
	ttl := time.Now().Add(c.writeTTL)
	for {
		dl, graced := ttl, false
		c.mu.Lock()
		if l := c.send.lim; l != nil && c.send.overAt != 0 {
			if g := l.start.Add(time.Duration(c.send.overAt-1) + l.grace); g.Before(dl) {
				dl, graced = g, true
			}
		}
		c.mu.Unlock()
		nc.SetWriteDeadline(dl)
		n, err := bufs.WriteTo(nc) // writev: the whole batch in as few syscalls as the kernel allows
		c.mu.Lock()
		c.sent(int(n))
		var ne net.Error
		timeout := err != nil && errors.As(err, &ne) && ne.Timeout() && !c.closing
		if timeout && graced && c.send.overAt == 0 {
			c.mu.Unlock()
			continue // back under the bound in time: the rest within writeTTL
		}
		if timeout {
			c.slow = true
		}
		c.mu.Unlock()
		return err
	}
}

// ---- connections per address -----------------------------------------------

// ipLimiter counts sessions per client address (MaxConnectionsPerIP), on
// the driver. A handshake takes a slot when it arrives (so that a burst of
// handshakes cannot pass the limit before any opens); its session keeps
// it until it closes, and a handshake the machine refused gives it back at
// the end of its drain.
type ipLimiter struct {
	max     int32
	count   map[string]int32
	pending map[wire.ConnID]string // handshakes of this drain
	bySID   map[wire.SID]string
}

func (l *ipLimiter) reserve(conn wire.ConnID, ip string) bool {
	if l.count[ip] >= l.max {
		return false
	}
	l.count[ip]++
	l.pending[conn] = ip
	return true
}

func (l *ipLimiter) opened(sid wire.SID, conn wire.ConnID) {
	if ip, ok := l.pending[conn]; ok {
		delete(l.pending, conn)
		l.bySID[sid] = ip
	}
}

func (l *ipLimiter) closed(sid wire.SID) {
	if ip, ok := l.bySID[sid]; ok {
		delete(l.bySID, sid)
		l.release(ip)
	}
}

func (l *ipLimiter) settle() {
	for conn, ip := range l.pending {
		delete(l.pending, conn)
		l.release(ip)
	}
}

func (l *ipLimiter) release(ip string) {
	if n := l.count[ip] - 1; n > 0 {
		l.count[ip] = n
	} else {
		delete(l.count, ip)
	}
}

// clientAddr is the address MaxConnectionsPerIP counts the request under;
// "" when the limit is off or the request belongs to a session (sid).
func (t *transport) clientAddr(r *http.Request) string {
	if t.d.lim.ips == nil || r.URL.Query().Get("sid") != "" {
		return ""
	}
	if t.opts.Limits.TrustProxy {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			last := xff[len(xff)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if ip := strings.TrimSpace(last); ip != "" {
				return ip
			}
		}
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// admitAddr takes a slot of addr for the handshake conn (on the driver,
// before the machine sees it); past the limit it answers req with 403
// and reports false.
func (d *driver) admitAddr(conn wire.ConnID, addr string, req *httpReq) bool {
	if d.lim.ips.reserve(conn, addr) {
		return true
	}
	d.lim.stats.connsRefused.Add(1)
	d.reqs[conn] = req
	d.perform(wire.Respond{Conn: conn, Status: http.StatusForbidden, ContentType: engine.ContentTypeJSON,
		Body: []byte(`{"code":4,"message":"` + msgTooManyConnections + `"}`)})
	return false
}
