// Package core is the Socket.IO v5 server machine over Engine.IO v4:
// namespaces, sockets, rooms, acknowledgements and broadcast planning. It is
// deterministic and does no I/O: no sockets, no clock reads, no goroutines,
// no randomness source of its own. The host feeds wire.Input values with the
// current instant, calls commands (Emit, Broadcast, Join, ...) and drains
// wire.Output values with Poll until wire.Wait, whose Deadline says when to
// feed wire.Timeout next (STYLE.md §3).
//
// core imports only core/* and the standard library's pure packages
// (imports_test.go checks the list), so it also builds for wasip1 and js.
package core

import (
	"errors"
	"slices"
	"time"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/engine"
	"github.com/socketcore/socketcore/core/internal/order"
	"github.com/socketcore/socketcore/core/sio"
	"github.com/socketcore/socketcore/core/wire"
)

// Config configures a Server. Zero values take the official server's defaults.
type Config struct {
	engine.Config

	ConnectTimeout time.Duration // default 45s: a session that joins no namespace by then is closed
	MaxAttachments int           // default 10 binary attachments per packet
	MaxDepth       int           // default 64: JSON nesting accepted in a packet
	// MaxPendingAcks bounds the acknowledgements a socket asked for that
	// the application has not answered yet (default 1024); past it the
	// oldest is forgotten, as an unanswered ack callback is in Node.
	MaxPendingAcks int
	// DynamicNamespaces sends a ConnectRequested (Known=false) for an
	// unregistered namespace instead of refusing it at once with
	// "Invalid namespace".
	DynamicNamespaces bool
	// Cluster makes the server one of a cluster (cluster.go): broadcasts
	// that are not Local and the cluster operations publish
	// wire.ClusterPublish outputs, and the host feeds the other servers'
	// messages as wire.ClusterReceived.
	Cluster bool
	// RequestsTimeout bounds a cluster request (FetchSockets, AllRooms,
	// ServerSideEmit with acks, a Broadcast with acks but no Timeout),
	// default 5s (the Redis adapter's requestsTimeout).
	RequestsTimeout time.Duration
	// RecoveryWindow enables connection state recovery (recovery.go;
	// Node's connectionStateRecovery.maxDisconnectionDuration): 0 is off.
	// Skipping the middleware of recovered sockets is the host's call
	// (ConnectRequested.Recovered).
	RecoveryWindow time.Duration
	// RecoveryMaxPackets and RecoveryMaxBytes bound the packets kept for
	// recovery (default 100,000 and 64 MiB); past them the oldest go first.
	RecoveryMaxPackets int
	RecoveryMaxBytes   int
	// RecoveryStore keeps the sessions and the packets they may miss in a
	// store the host reaches and every server of a cluster shares
	// (recovery_cluster.go; wire.RecoveryRecord, RecoverySession and
	// RecoveryLookup out, wire.RecoveryFound in), so that a client resumes
	// on any server: offsets become cluster-wide. Needs RecoveryWindow.
	RecoveryStore bool
	// Parser is the Socket.IO parser every client of the server uses
	// (Node's `parser` option): sio.DefaultParser (socket.io-parser), or
	// sio.MsgpackParser (socket.io-msgpack-parser: one binary message per
	// packet). Data and attachments keep the default parser's form in
	// every record either way; the core transcodes at the wire
	// (sio.DecodeMsgpack, sio.AppendMsgpack). Other values mean the default.
	Parser sio.Parser
	// RoomEvents reports every membership change of this server's sockets
	// as wire.RoomJoined and wire.RoomLeft (Node's adapter "join-room" and
	// "leave-room", which @socket.io/admin-ui relays): the id room at
	// connection, Join/Leave, SocketsJoin/SocketsLeave from here or the
	// cluster, recovered rooms, every room at disconnection (and the rooms
	// of the sockets Restore brings to this machine). Off: none, and no cost.
	RoomEvents bool
}

func (c *Config) init() {
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 45 * time.Second
	}
	if c.MaxAttachments <= 0 {
		c.MaxAttachments = 10
	}
	if c.MaxDepth <= 0 {
		c.MaxDepth = 64
	}
	if c.MaxPendingAcks <= 0 {
		c.MaxPendingAcks = 1024
	}
	if c.RequestsTimeout <= 0 {
		c.RequestsTimeout = 5 * time.Second
	}
	if c.RecoveryWindow > 0 {
		if c.RecoveryMaxPackets <= 0 {
			c.RecoveryMaxPackets = 100_000
		}
		if c.RecoveryMaxBytes <= 0 {
			c.RecoveryMaxBytes = 64 << 20
		}
	}
}

// Errors for local misuse of the API (never for peer misbehaviour).
var (
	ErrUnknownSocket    = errors.New("core: unknown socket")
	ErrUnknownNamespace = errors.New("core: unknown namespace")
	ErrNamespaceExists  = errors.New("core: namespace already exists")
	ErrUnknownInput     = errors.New("core: unknown input")
)

// Server is the Socket.IO server machine. Not safe for concurrent use: one
// owner drives it.
type Server struct {
	cfg     Config
	eng     *engine.Server
	nsps    map[string]*namespace
	sockets map[wire.SocketID]*socket
	pending map[wire.SocketID]*socket // waiting for AcceptConnect/RejectConnect
	timers  clock.Timers[timerRef]
	inAcks  map[wire.AckRef]inAck
	outAcks map[wire.AckRef]*outAck
	nextRef wire.AckRef
	gen     uint64 // broadcast generation, to dedupe targets without a map
	limits  sio.Limits
	scratch []byte

	requests      map[string]*clusterReq // cluster requests waiting for answers
	clusterInAcks []wire.AckRef          // other servers' ServerSideEmit acks, oldest first
	reqPrefix     string
	nextReq       uint64

	rec recovery // connection state recovery (recovery.go)
}

type timerKind uint8

const (
	timerConnect timerKind = iota + 1
	timerAck
	timerCluster
	timerRecoverySession
	timerRecoveryPackets
	timerRecoveryLookup
)

type timerRef struct {
	kind  timerKind
	c     *client
	ref   wire.AckRef
	req   *clusterReq
	saved *savedSession
}

// NewServer returns a Server with the namespace "/" registered (ungated).
func NewServer(cfg Config) *Server {
	cfg.init()
	s := &Server{
		cfg:      cfg,
		nsps:     make(map[string]*namespace),
		sockets:  make(map[wire.SocketID]*socket),
		pending:  make(map[wire.SocketID]*socket),
		inAcks:   make(map[wire.AckRef]inAck),
		outAcks:  make(map[wire.AckRef]*outAck),
		requests: make(map[string]*clusterReq),
		limits:   sio.Limits{MaxAttachments: cfg.MaxAttachments, MaxDepth: cfg.MaxDepth},
	}
	s.eng = engine.NewServer(cfg.Config, (*handler)(s))
	if cfg.RecoveryWindow > 0 {
		s.rec.init(cfg.Seed)
	}
	s.nsps["/"] = &namespace{name: "/", rooms: make(map[string]*socketSet), srv: s}
	return s
}

// Config returns the configuration with defaults applied.
func (s *Server) Config() Config { c := s.cfg; c.Config = s.eng.Config(); return c }

// AddNamespace registers a namespace. When gated, every connection to it
// waits for the application's AcceptConnect/RejectConnect (middleware);
// otherwise connections are accepted at once. "/" exists from the start
// (ungated); registering it again changes its gate.
func (s *Server) AddNamespace(name string, gated bool) error {
	if name == "" || name[0] != '/' {
		return ErrUnknownNamespace
	}
	if n := s.nsps[name]; n != nil {
		n.gated = gated
		return nil
	}
	s.nsps[name] = &namespace{name: name, gated: gated, rooms: make(map[string]*socketSet), srv: s}
	return nil
}

// Handle feeds one input. It returns an error only for local misuse.
func (s *Server) Handle(now clock.Instant, in wire.Input) error {
	switch in.(type) {
	case wire.HTTPRequest, wire.Recv, wire.Closed:
		return s.eng.Handle(now, in)
	case wire.Timeout:
		s.eng.Handle(now, in)
		s.fire(now)
		return nil
	case wire.ClusterReceived:
		s.clusterReceived(now, in.(wire.ClusterReceived).Msg)
		return nil
	case wire.ClusterServers:
		s.clusterServers(in.(wire.ClusterServers))
		return nil
	case wire.RecoveryFound:
		s.recoveryFound(now, in.(wire.RecoveryFound))
		return nil
	}
	return ErrUnknownInput
}

// Poll returns the next output; wire.Wait ends a drain.
func (s *Server) Poll() wire.Output {
	o := s.eng.Poll()
	if w, ok := o.(wire.Wait); ok {
		if s.flushSnapshots() { // recovery_cluster.go
			return s.Poll()
		}
		if d := s.timers.Deadline(); d != 0 && (w.Deadline == 0 || d < w.Deadline) {
			w.Deadline = d
		}
		return w
	}
	return o
}

func (s *Server) schedule(at clock.Instant, r timerRef) clock.TimerID {
	return s.timers.Schedule(at, r)
}

func (s *Server) cancel(id *clock.TimerID) {
	if *id != 0 {
		s.timers.Cancel(*id)
		*id = 0
	}
}

func (s *Server) fire(now clock.Instant) {
	for {
		_, r, ok := s.timers.Expired(now)
		if !ok {
			return
		}
		switch r.kind {
		case timerConnect:
			r.c.connectTimer = 0
			if len(r.c.sockets) == 0 && r.c.sess.Open() {
				// client.ts: no namespace joined within connectTimeout
				s.eng.CloseSession(now, r.c.sess)
			}
		case timerAck:
			if a := s.outAcks[r.ref]; a != nil {
				a.timer = 0
				s.ackTimedOut(a)
			}
		case timerCluster:
			if s.requests[r.req.id] == r.req {
				s.clusterTimedOut(r.req)
			}
		case timerRecoverySession:
			r.saved.timer = 0
			s.forgetSession(r.saved)
		case timerRecoveryPackets:
			s.expirePackets(now)
		case timerRecoveryLookup:
			s.lookupTimedOut(now, r.ref)
		}
	}
}

// handler adapts Server to engine.Handler without exporting the methods.
type handler Server

func (h *handler) Opened(now clock.Instant, es *engine.Session) {
	s := (*Server)(h)
	c := &client{sess: es, sockets: make(map[string]*socket, 1)}
	c.reasm.Limits = s.limits
	es.Owner = c
	c.connectTimer = s.schedule(now.Add(s.cfg.ConnectTimeout), timerRef{kind: timerConnect, c: c})
	if isV3(c) {
		s.connect(now, c, "/", nil) // a v3 client joins "/" without CONNECT (eio3.go)
	}
}

func (h *handler) Message(now clock.Instant, es *engine.Session, data []byte, binary bool) {
	s := (*Server)(h)
	c := es.Owner.(*client)
	var (
		p        sio.Packet
		atts     [][]byte
		complete bool
		err      error
	)
	switch {
	case s.cfg.Parser == sio.MsgpackParser:
		// one binary message per packet; a text message is a parse error
		// (notepack.io cannot read a string), as any decoding error
		err = sio.ErrInvalidMsgpack
		if binary {
			p, atts, err = sio.DecodeMsgpack(data, s.limits)
		}
		complete = true
	case binary:
		p, atts, complete, err = c.reasm.Binary(data)
	default:
		p, complete, err = c.reasm.Text(data)
	}
	if err == nil && complete && len(atts) > 0 && s.cfg.Parser != sio.MsgpackParser {
		err = sio.CheckPlaceholders(p.Data, len(atts))
	}
	if err != nil {
		// client.ts onerror: the connection is closed
		s.eng.CloseSession(now, es)
		return
	}
	if complete {
		s.dispatch(now, c, p, atts)
	}
}

func (h *handler) Closed(now clock.Instant, es *engine.Session, reason string) {
	s := (*Server)(h)
	c, _ := es.Owner.(*client)
	if c == nil {
		return
	}
	s.cancel(&c.connectTimer)
	for _, so := range slices.Clone(c.order) { // onclose edits c.order
		if so.connected {
			s.onclose(now, so, reason)
		}
	}
	for _, so := range c.pendingSockets {
		delete(s.pending, so.id)
	}
	c.pendingSockets = nil
	c.order = nil
}

// Close shuts the server down: every socket disconnects with "server
// shutting down" and every session is closed.
func (s *Server) Close(now clock.Instant) {
	for _, so := range sortedSockets(s.sockets) {
		if so.connected {
			s.onclose(now, so, wire.ReasonServerShuttingDown)
		}
	}
	ids := make([]string, 0, len(s.requests))
	for id := range s.requests {
		ids = append(ids, id)
	}
	order.Sort(ids)
	for _, id := range ids {
		if r := s.requests[id]; r != nil {
			s.cancel(&r.timer)
			s.clusterTimedOut(r)
		}
	}
	for _, ref := range s.clusterInAcks {
		delete(s.inAcks, ref)
	}
	s.clusterInAcks = nil
	s.eng.CloseAll(now)
}

// Stats counts what the machine holds; every count returns to zero once
// every client is gone (tests and metrics use it).
type Stats struct {
	Sessions   int // open Engine.IO sessions
	Closing    int // closed polling sessions waiting for a last request
	Sockets    int // connected sockets
	Pending    int // sockets waiting for AcceptConnect/RejectConnect
	InAcks     int // acknowledgements asked by clients, unanswered
	OutAcks    int // acknowledgements and cluster requests the application waits for
	Namespaces int
	Timers     int // live timers of the Socket.IO layer
}

// Stats returns the machine's current counts.
func (s *Server) Stats() Stats {
	return Stats{
		Sessions:   s.eng.Len() - s.eng.Closing(),
		Closing:    s.eng.Closing(),
		Sockets:    len(s.sockets),
		Pending:    len(s.pending) + len(s.rec.lookups),
		InAcks:     len(s.inAcks),
		OutAcks:    len(s.outAcks) + s.pendingRequests(),
		Namespaces: len(s.nsps),
		Timers:     s.timers.Len(),
	}
}

// pendingRequests counts the cluster requests that are not the remote part
// of a broadcast (counted with its outAck).
func (s *Server) pendingRequests() int {
	n := 0
	for _, r := range s.requests {
		if r.kind != reqBroadcastAck {
			n++
		}
	}
	return n
}
