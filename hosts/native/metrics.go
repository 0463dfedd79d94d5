package native

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// The server's counters, for Server.Metrics (and hosts/native/prom, which
// exports them to Prometheus). They cost next to nothing where they are
// counted: most are plain integers owned by the driver goroutine, added to
// where it handles an output anyway; the few counted elsewhere are atomic
// adds. Gauges (open sessions, sockets and rooms per namespace) are not
// kept at all: the machine is asked when a snapshot is taken.

// Metrics is a snapshot of a server's counters and gauges. Counters
// (uint64) count from the server's start and never go down; gauges (int)
// are the current state.
type Metrics struct {
	// Sessions are the open Engine.IO sessions by their transport now
	// (upgraded ones on WebSocket; closing polling sessions waiting for a
	// last request not counted). With a machine that cannot tell (an
	// Options.Machine without core.Server's Transports), WebSocket is the
	// number of open WebSocket connections, which includes upgrades still
	// probing.
	Sessions ByTransport
	// SessionsOpened counts the successful handshakes by the transport
	// they began on.
	SessionsOpened ByTransport
	// Upgrades counts the sessions that moved from polling to WebSocket.
	Upgrades uint64
	// SessionsClosed counts the sessions that ended, by Engine.IO close
	// reason ("transport close", "ping timeout", ...; "other" for any
	// reason not in DisconnectReasons).
	SessionsClosed []ReasonCount
	// ConnectionErrors counts the HTTP requests refused with an Engine.IO
	// error (the official server's "connection_error"), by its message:
	// "Transport unknown" (code 0), "Session ID unknown" (1), "Bad
	// handshake method" (2), "Bad request" (3), "Forbidden" (4: also
	// Options.AllowRequest and CORS refusals), "Unsupported protocol
	// version" (5), "Server is shutting down" (the 503s of a draining
	// server, Shutdown), then "other": any other error status the machine
	// answered (413 for a polling body over MaxHTTPBufferSize, 400 for an
	// overlapping poll, ...). Always 8 entries, in that order.
	ConnectionErrors []ReasonCount

	// Namespaces are the sockets and rooms of every namespace, sorted by
	// name (dynamic namespaces included).
	Namespaces []NamespaceMetrics
	// SocketsConnected counts the sockets that joined a namespace
	// (recovered ones included).
	SocketsConnected uint64
	// Disconnects counts the sockets that left, by the official reason
	// (DisconnectReasons, then "other"); one entry per reason, in that
	// order.
	Disconnects []ReasonCount

	// EventsReceived counts the events clients sent (EventReceived).
	EventsReceived uint64
	// EventsEmitted counts the events emitted to one socket (Socket.Emit,
	// EmitWithAck and Emitter's); Broadcasts counts each broadcast once
	// (Namespace/BroadcastOperator Emit and EmitWithAck, Server.Emit),
	// however many sockets it reached. Acknowledgements are not events.
	EventsEmitted, Broadcasts uint64
	// MessagesIn and MessagesOut count the WebSocket messages (Engine.IO
	// packets and binary attachments) read and handed to the
	// connections' writes; polling carries its packets in bodies (Bytes).
	MessagesIn, MessagesOut uint64
	// BytesIn and BytesOut count the Engine.IO bytes by transport: the
	// payloads of WebSocket messages (frame headers not counted), and as
	// "polling" the bodies of plain HTTP requests and of the machine's
	// answers — polling, and the refusals' error bodies (HTTP headers not
	// counted). BytesOut counts WebSocket bytes when they are handed to the
	// writes, volatile ones dropped afterwards included.
	BytesIn, BytesOut ByTransport

	// AckLatency is the distribution of EmitWithAck round trips to one
	// socket as the caller sees them (from the call to the answer; only
	// answered ones).
	AckLatency Histogram
	// AcksTimedOut counts the EmitWithAck (to one socket, or broadcast)
	// whose acknowledgements did not all come within the timeout.
	AcksTimedOut uint64
	// VolatileDropped counts the volatile packets dropped because their
	// connection was not ready for them: a polling session with no request
	// parked (counted by the machine, if it can: the native core and
	// core.wasm) or a WebSocket whose writes were behind (one per
	// connection the packet missed).
	VolatileDropped uint64

	// Cluster is the adapter's traffic (Options.Adapter; zero without).
	Cluster ClusterStats
	// ClusterRequestTimeouts counts the cluster requests (FetchSockets,
	// AllRooms, ServerSideEmitWithAck, server counts) that ended at the
	// requests timeout without every server's answer.
	ClusterRequestTimeouts uint64

	// RecoverySucceeded counts the sockets that came back through
	// connection state recovery; RecoveryFailed counts the connections
	// that asked for it (a CONNECT with pid and offset) and got a fresh
	// socket (session unknown or expired, offset too old). Zero without
	// Options.Recovery.
	RecoverySucceeded, RecoveryFailed uint64
}

// ByTransport is a count per Engine.IO transport.
type ByTransport struct {
	Polling, WebSocket uint64
}

// ReasonCount is a count for one reason.
type ReasonCount struct {
	Reason string
	Count  uint64
}

// NamespaceMetrics counts one namespace's members.
type NamespaceMetrics struct {
	Name    string
	Sockets int // connected sockets
	// Rooms are the rooms with members, not counting each socket's room
	// of its own id; -1 when the machine cannot tell (one without
	// core.Server's NamespaceCounts).
	Rooms int
}

// Histogram is a snapshot of a latency distribution with fixed buckets.
type Histogram struct {
	// Bounds are the buckets' upper bounds in seconds, ascending; the
	// last bucket (+Inf) is implicit.
	Bounds []float64
	// Cumulative counts: Buckets[i] observations were <= Bounds[i].
	Buckets []uint64
	Count   uint64  // observations (the +Inf bucket)
	Sum     float64 // seconds
}

// DisconnectReasons are the official disconnect and close reasons
// (socket.io's DisconnectReason, engine.io's close reasons) and the limits'
// (ReasonSlowConsumer, ReasonRateLimited) and the event rules'
// (ReasonEventNotAllowed, ReasonPayloadTooLarge), in the order of
// Metrics.Disconnects and Metrics.SessionsClosed (then "other").
func DisconnectReasons() []string { return append([]string(nil), reasons[:]...) }

var reasons = [...]string{
	wire.ReasonTransportError,
	wire.ReasonTransportClose,
	wire.ReasonForcedClose,
	wire.ReasonPingTimeout,
	wire.ReasonParseError,
	wire.ReasonServerShuttingDown,
	wire.ReasonForcedServerClose,
	wire.ReasonClientNamespaceDisconnect,
	wire.ReasonServerNamespaceDisconnect,
	ReasonSlowConsumer, // limits.go
	ReasonRateLimited,
	ReasonEventNotAllowed, // events.go
	ReasonPayloadTooLarge,
}

const numReasons = len(reasons) + 1 // and "other"

// reasonIndex is reason's index in reasons, or numReasons-1 ("other").
func reasonIndex(reason string) int {
	for i, r := range reasons {
		if r == reason {
			return i
		}
	}
	return numReasons - 1
}

func reasonCounts(c *[numReasons]uint64) []ReasonCount {
	out := make([]ReasonCount, numReasons)
	for i := range out {
		out[i].Count = c[i]
		if i < len(reasons) {
			out[i].Reason = reasons[i]
		} else {
			out[i].Reason = "other"
		}
	}
	return out
}

// connectionErrors are the Engine.IO error messages by code (engine.io
// lib/server.ts Server.errors, core/engine/errors.go), then "other".
var connectionErrors = [...]string{
	"Transport unknown",
	"Session ID unknown",
	"Bad handshake method",
	"Bad request",
	"Forbidden",
	"Unsupported protocol version",
	"Server is shutting down", // 503 while draining (drain.go): code 4 on the wire
	"other",
}

const (
	errDraining = len(connectionErrors) - 2
	errOther    = len(connectionErrors) - 1
)

// errorCode reads the Engine.IO error of a refusal the machine answered:
// {"code":N,...} for a request, the bare message (text/html) for a refused
// WebSocket upgrade; errOther for anything else.
func errorCode(body []byte) int {
	const prefix = `{"code":`
	if len(body) > len(prefix)+1 && string(body[:len(prefix)]) == prefix {
		if c := int(body[len(prefix)]) - '0'; c >= 0 && c < errDraining && body[len(prefix)+1] == ',' {
			return c
		}
		return errOther
	}
	for i, m := range connectionErrors[:errOther] {
		if string(body) == m {
			return i
		}
	}
	return errOther
}

// transportStats are the driver's counters (driver goroutine only).
type transportStats struct {
	bytesIn, bytesOut [2]uint64 // [0] polling bodies, [1] WebSocket payloads
	msgsIn, msgsOut   uint64    // WebSocket messages
	volatileDropped   uint64    // WebSocket writes dropped
	refused           [len(connectionErrors)]uint64
}

// wsIn counts a WebSocket message read.
func (t *transportStats) wsIn(n int) {
	t.msgsIn++
	t.bytesIn[1] += uint64(n)
}

// wsOut counts frames handed to n WebSocket connections.
func (t *transportStats) wsOut(frames []wire.Frame, n int) {
	size := 0
	for _, f := range frames {
		size += len(f.Data)
	}
	t.msgsOut += uint64(len(frames) * n)
	t.bytesOut[1] += uint64(size * n)
}

// refusal counts a request the machine answered with an error status (on
// the driver) and tells the server's observers, with the answer's message.
func (d *driver) refusal(o wire.Respond, websocket bool) {
	code := errorCode(o.Body)
	msg := connectionErrors[code]
	switch {
	case code == errOther:
		msg = http.StatusText(o.Status)
	case d.onRefused != nil && o.Body[0] == '{':
		msg = errorMessage(o.Body, msg)
	}
	d.refused(code, msg, websocket)
}

// errorMessage is the message of an Engine.IO error's JSON, or def.
func errorMessage(body []byte, def string) string {
	var v struct{ Message string }
	if json.Unmarshal(body, &v) != nil || v.Message == "" {
		return def
	}
	return v.Message
}

// refused counts a refused request (on the driver).
func (d *driver) refused(code int, msg string, websocket bool) {
	d.stats.refused[code]++
	if d.onRefused != nil {
		d.onRefused(code, msg, websocket)
	}
}

// refuse answers a request the transport itself refuses (CORS,
// AllowRequest) with an Engine.IO error, and has the driver count it.
func (t *transport) refuse(w http.ResponseWriter, status, code int, msg string, websocket bool) {
	writeJSONError(w, status, code, msg)
	t.d.post(func(clock.Instant) { t.d.refused(code, msg, websocket) })
}

// serverStats are the Server's counters: the driver's (plain integers,
// driver goroutine only) and the atomic ones counted elsewhere.
type serverStats struct {
	opened           [2]uint64 // handshakes by transport
	upgrades         uint64
	closed           [numReasons]uint64
	socketsConnected uint64
	disconnects      [numReasons]uint64
	eventsIn         uint64
	emits            uint64
	broadcasts       uint64
	acksTimedOut     uint64
	clusterTimeouts  uint64
	recovered        uint64
	recoveryFailed   uint64

	ackLatency latencyHistogram // atomic
}

func (st *serverStats) sessionOpened(websocket bool) {
	if websocket {
		st.opened[1]++
	} else {
		st.opened[0]++
	}
}

// recoveryAsked reports whether a CONNECT's auth asks for recovery: a pid
// and an offset, both strings (what the official client sends).
func recoveryAsked(auth []byte) bool {
	if !bytes.Contains(auth, []byte(`"pid"`)) {
		return false
	}
	var v struct {
		PID    *string `json:"pid"`
		Offset *string `json:"offset"`
	}
	return json.Unmarshal(auth, &v) == nil && v.PID != nil && v.Offset != nil
}

// ackBounds are AckLatency's bucket bounds, from a LAN round trip to a
// client on a slow mobile link.
var ackBounds = [...]time.Duration{
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond,
	25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond,
	500 * time.Millisecond, time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// latencyHistogram counts durations in ackBounds' buckets, with atomic
// adds only (observe runs on the callers' goroutines).
type latencyHistogram struct {
	counts [len(ackBounds) + 1]atomic.Uint64 // not cumulative; the last is +Inf
	sum    atomic.Int64                      // nanoseconds
}

func (h *latencyHistogram) observe(d time.Duration) {
	i := 0
	for i < len(ackBounds) && d > ackBounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
}

func (h *latencyHistogram) snapshot() Histogram {
	s := Histogram{Bounds: make([]float64, len(ackBounds)), Buckets: make([]uint64, len(ackBounds))}
	var n uint64
	for i := range h.counts {
		n += h.counts[i].Load()
		if i < len(ackBounds) {
			s.Bounds[i] = ackBounds[i].Seconds()
			s.Buckets[i] = n
		}
	}
	s.Count = n // the sum of the buckets read: consistent with them
	s.Sum = time.Duration(h.sum.Load()).Seconds()
	return s
}

// countingMachine is a Machine that counts for metrics (core/counts.go):
// the native core, and core.wasm (wasm/host.Machine, through the ABI's
// Counts query).
type countingMachine interface {
	NamespaceCounts() []core.NamespaceCount
	Transports() (polling, websocket int)
	VolatileDropped() uint64
}

// Metrics returns a snapshot of the server's counters and gauges. It waits
// for the driver (like Stats): call it from a scrape, not from a handler
// on the hot path. After Close it returns the counters as they ended, with
// no gauges.
func (s *Server) Metrics() Metrics {
	var m Metrics
	take := func(gauges bool) {
		st, ts := &s.stats, &s.d.stats
		m.SessionsOpened = ByTransport{st.opened[0], st.opened[1]}
		m.Upgrades = st.upgrades
		m.SessionsClosed = reasonCounts(&st.closed)
		m.ConnectionErrors = make([]ReasonCount, len(connectionErrors))
		for i, r := range connectionErrors {
			m.ConnectionErrors[i] = ReasonCount{r, ts.refused[i]}
		}
		m.SocketsConnected = st.socketsConnected
		m.Disconnects = reasonCounts(&st.disconnects)
		m.EventsReceived, m.EventsEmitted, m.Broadcasts = st.eventsIn, st.emits, st.broadcasts
		m.MessagesIn, m.MessagesOut = ts.msgsIn, ts.msgsOut
		m.BytesIn = ByTransport{ts.bytesIn[0], ts.bytesIn[1]}
		m.BytesOut = ByTransport{ts.bytesOut[0], ts.bytesOut[1]}
		m.AcksTimedOut = st.acksTimedOut
		m.VolatileDropped = ts.volatileDropped
		m.ClusterRequestTimeouts = st.clusterTimeouts
		m.RecoverySucceeded, m.RecoveryFailed = st.recovered, st.recoveryFailed
		if !gauges || s.d.failed {
			return
		}
		if c, ok := s.core.(countingMachine); ok {
			p, ws := c.Transports()
			m.Sessions = ByTransport{uint64(p), uint64(ws)}
			m.VolatileDropped += c.VolatileDropped()
			for _, n := range c.NamespaceCounts() {
				m.Namespaces = append(m.Namespaces, NamespaceMetrics{n.Name, n.Sockets, n.Rooms})
			}
			return
		}
		open := s.core.Stats().Sessions
		ws := min(len(s.d.ws), open)
		m.Sessions = ByTransport{uint64(open - ws), uint64(ws)}
		for _, name := range s.namespaceNames() {
			m.Namespaces = append(m.Namespaces, NamespaceMetrics{name, len(s.core.SocketsIn(name, nil)), -1})
		}
	}
	if !s.d.call(func(clock.Instant) { take(true) }) {
		<-s.d.done // the driver is gone: its counters are ours to read
		take(false)
	}
	m.AckLatency = s.stats.ackLatency.snapshot()
	m.Cluster = s.ClusterStats()
	return m
}

// namespaceNames are the server's namespaces, sorted.
func (s *Server) namespaceNames() []string {
	s.mu.RLock()
	names := make([]string, 0, len(s.nsps))
	for name := range s.nsps {
		names = append(names, name)
	}
	s.mu.RUnlock()
	slices.Sort(names)
	return names
}

// ---- the observers' events (observe.go), built only when someone observes --

func transportName(websocket bool) string {
	if websocket {
		return "websocket"
	}
	return "polling"
}

// observeSocket reports a socket's event; so may be nil (a socket the
// host no longer has), nsp then "".
func (s *Server) observeSocket(kind EventKind, so *Socket, id wire.SocketID, sid wire.SID, reason string) {
	e := Event{Kind: kind, Socket: string(id), Session: string(sid), Reason: reason}
	if so != nil {
		e.Sock, e.Nsp = so, so.nsp.name
	}
	s.observe(e)
}

// observeEvent reports an event received or sent.
func (s *Server) observeEvent(kind EventKind, so *Socket, name string, data []byte, atts [][]byte) {
	s.observe(Event{Kind: kind, Nsp: so.nsp.name, Socket: string(so.id), Sock: so, Name: name, Data: data, Attachments: atts})
}

// handshakeRefused tells the observers of a refused request (the driver's
// onRefused). Its transport is the kind of request — a WebSocket upgrade
// or a plain HTTP one — except when the transport named is the problem.
func (s *Server) handshakeRefused(code int, msg string, websocket bool) {
	if !s.observing() {
		return
	}
	e := Event{Kind: HandshakeRefused, Reason: msg}
	if code != 0 {
		e.Transport = transportName(websocket)
	}
	s.observe(e)
}

// emitted counts an event emitted to one socket, and reports it to the
// observers (on the driver, once the machine took it).
func (s *Server) emitted(so *Socket, name string, e *core.Emit) {
	s.stats.emits++
	if s.observing() {
		s.observeEvent(EventSent, so, name, e.Data, e.Attachments)
	}
}
