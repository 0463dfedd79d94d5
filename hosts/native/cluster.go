package native

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/socketcore/socketcore/adapter"
	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// The cluster side of the server (Options.Adapter): the core decides what
// goes to the other servers (wire.ClusterPublish) and this file moves it
// through the adapter, on the pump's goroutine, never on the driver's.

// clusterMachine is a Machine that can be one server of a cluster: the
// native core, and core.wasm (wasm/host.Machine, ABI version 2; asserted in
// cluster_corewasm_test.go, as this package does not import wasm/host).
type clusterMachine interface {
	Machine
	SocketsJoin(now clock.Instant, t core.Target, rooms ...string) error
	SocketsLeave(now clock.Instant, t core.Target, rooms ...string) error
	DisconnectSockets(now clock.Instant, t core.Target, closeSession bool) error
	FetchSockets(now clock.Instant, t core.Target) (wire.AckRef, error)
	AllRooms(now clock.Instant, nsp string, local bool) (wire.AckRef, error)
	ServerSideEmit(now clock.Instant, nsp string, data []byte, atts [][]byte, withAck bool) (wire.AckRef, error)
}

var _ clusterMachine = (*core.Server)(nil)

// ErrNoCluster is returned by cluster operations on a machine that cannot
// take part in a cluster.
var ErrNoCluster = errors.New("socketcore: this protocol machine does not support cluster operations")

// pumpLimit bounds the cluster jobs waiting for the adapter; past it new
// ones are dropped (and logged): pub/sub promises at most once anyway.
const pumpLimit = 1 << 16

// pump runs the adapter's blocking calls in order on its own goroutine.
type pump struct {
	a   adapter.Adapter
	srv *Server

	mu   sync.Mutex
	wake chan struct{} // buffered 1
	q    []pumpJob
	quit chan struct{}
	done chan struct{}
	// ctx is every adapter call's; stop cancels it when the adapter did
	// not take what was left within closeBudget.
	ctx    context.Context
	cancel context.CancelFunc

	// ClusterStats' counters.
	published, publishErrors, countErrors, subscribeErrors, received, dropped atomic.Uint64
}

type pumpJob struct {
	subscribe string // a namespace to receive
	pub       wire.ClusterPublish
	run       func(ctx context.Context) // a recovery store operation (recovery_cluster.go)
}

func newPump(srv *Server) *pump {
	ctx, cancel := context.WithCancel(context.Background())
	return &pump{srv: srv, wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}),
		ctx: ctx, cancel: cancel}
}

func (p *pump) start(a adapter.Adapter) {
	p.a = a
	go p.run()
}

func (p *pump) push(j pumpJob) {
	p.mu.Lock()
	if len(p.q) >= pumpLimit {
		p.mu.Unlock()
		if n := p.dropped.Add(1); n == 1 || n%1000 == 0 {
			p.srv.opts.Logger.Warn("socketcore: cluster adapter too slow, dropping messages", "dropped", n)
		}
		return
	}
	p.q = append(p.q, j)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *pump) run() {
	defer close(p.done)
	for {
		p.mu.Lock()
		q := p.q
		p.q = nil
		p.mu.Unlock()
		for i, j := range q {
			if p.ctx.Err() != nil { // stopped, and the adapter hangs
				p.dropped.Add(uint64(len(q) - i))
				p.srv.opts.Logger.Warn("socketcore: cluster adapter too slow at close, dropping messages", "dropped", len(q)-i)
				break
			}
			p.do(j)
		}
		if len(q) > 0 {
			continue // then what came meanwhile, what the server said last included
		}
		select {
		case <-p.wake:
		case <-p.quit:
			p.mu.Lock()
			left := len(p.q) // pushed since q was taken
			p.mu.Unlock()
			if left == 0 {
				return
			}
		}
	}
}

// closeBudget bounds how long Close waits for the adapter to take the
// messages still waiting (what the server said last, its Close included):
// then the call in progress is cancelled and the others are dropped. An
// adapter that hangs (Redis frozen or cut off: each call lasts until its
// opTimeout) would otherwise hold Close for opTimeout per message.
const closeBudget = 2 * time.Second

func (p *pump) stop() {
	defer p.cancel()
	close(p.quit)
	t := time.NewTimer(closeBudget)
	defer t.Stop()
	select {
	case <-p.done:
		return
	case <-t.C:
	}
	p.cancel()
	<-p.done // the call in progress returns at its I/O deadline at the latest
}

// opTimeout bounds one adapter call.
const opTimeout = 5 * time.Second

func (p *pump) do(j pumpJob) {
	ctx, cancel := context.WithTimeout(p.ctx, opTimeout)
	defer cancel()
	if j.run != nil {
		j.run(ctx)
		return
	}
	if j.subscribe != "" {
		if err := p.a.AddNamespace(ctx, j.subscribe); err != nil {
			p.subscribeErrors.Add(1)
			p.srv.opts.Logger.Error("socketcore: cluster subscribe failed", "nsp", j.subscribe, "err", err)
		}
		return
	}
	m := j.pub.Msg
	if j.pub.CountServers {
		n, err := p.a.ServerCount(ctx, m.Nsp)
		if err != nil {
			p.countErrors.Add(1)
			p.srv.opts.Logger.Error("socketcore: cluster server count failed", "nsp", m.Nsp, "err", err)
			n = 0 // the request waits for its timeout
		}
		id := m.RequestID
		p.srv.d.post(func(now clock.Instant) { p.srv.core.Handle(now, wire.ClusterServers{RequestID: id, Servers: n}) })
	}
	if err := p.a.Publish(ctx, m); err != nil {
		if errors.Is(err, errors.ErrUnsupported) && j.pub.CountServers {
			// the adapter's protocol has no such request (AllRooms in
			// Redis's sharded mode): this server's answer is the answer
			id := m.RequestID
			p.srv.d.post(func(now clock.Instant) { p.srv.core.Handle(now, wire.ClusterServers{RequestID: id, Servers: 1}) })
			return
		}
		p.publishErrors.Add(1)
		p.srv.opts.Logger.Error("socketcore: cluster publish failed", "type", m.Type.String(), "nsp", m.Nsp, "err", err)
		return
	}
	p.published.Add(1)
}

// startCluster makes the adapter (Options.Adapter) once the driver runs.
func (s *Server) startCluster() error {
	if s.opts.Adapter == nil {
		return nil
	}
	if _, ok := s.core.(clusterMachine); !ok {
		return ErrNoCluster
	}
	p := newPump(s)
	a, err := s.opts.Adapter(func(m wire.ClusterMessage) {
		p.received.Add(1)
		s.d.post(func(now clock.Instant) { s.core.Handle(now, wire.ClusterReceived{Msg: m}) })
	})
	if err != nil {
		p.cancel()
		return err
	}
	s.adapter = a
	s.pump = p
	p.start(a)
	return nil
}

// ClusterStats counts the cluster traffic of a server (Options.Adapter)
// since it started; all zero without an adapter. Messages are lost, not
// retried, when their publish fails (pub/sub delivers at most once).
type ClusterStats struct {
	Published     uint64 // messages the adapter published
	PublishErrors uint64 // publishes that failed (the message is lost; logged)
	// CountErrors are server counts that failed: their requests wait for
	// the requests timeout. SubscribeErrors are namespaces whose
	// subscription failed or was not confirmed in time (the Redis adapter
	// subscribes again when it reconnects).
	CountErrors, SubscribeErrors uint64
	Received                     uint64 // messages from the other servers
	// Dropped are messages never handed to the adapter: more than
	// pumpLimit (65536) were waiting for it, or Close gave up on them.
	Dropped uint64
	Pending int // messages and subscriptions waiting for the adapter now
}

// ClusterStats returns the server's cluster counters. Safe for concurrent use.
func (s *Server) ClusterStats() ClusterStats {
	p := s.pump
	if p == nil {
		return ClusterStats{}
	}
	p.mu.Lock()
	pending := len(p.q)
	p.mu.Unlock()
	return ClusterStats{Published: p.published.Load(), PublishErrors: p.publishErrors.Load(),
		CountErrors: p.countErrors.Load(), SubscribeErrors: p.subscribeErrors.Load(),
		Received: p.received.Load(), Dropped: p.dropped.Load(), Pending: pending}
}

// subscribe has the adapter receive a namespace's messages.
func (s *Server) subscribe(nsp string) {
	if s.pump != nil {
		s.pump.push(pumpJob{subscribe: nsp})
	}
}

// publish sends what the core published (on the driver goroutine): an
// answer to FetchSockets gets the handshakes and data only the host knows.
func (s *Server) publish(p wire.ClusterPublish) {
	if s.pump == nil {
		return
	}
	if p.Msg.Type == wire.ClusterFetchSocketsResponse {
		for i := range p.Msg.Sockets {
			s.describeSocket(&p.Msg.Sockets[i])
		}
	}
	s.pump.push(pumpJob{pub: p})
}

func (s *Server) describeSocket(cs *wire.ClusterSocket) {
	so := s.sockets[cs.ID]
	if so == nil {
		cs.Handshake, cs.Data = []byte(`{}`), []byte(`null`)
		return
	}
	hs := so.Handshake()
	cs.Handshake = handshakeJSON(&hs)
	so.mu.Lock()
	data := so.Data
	so.mu.Unlock()
	b, err := json.Marshal(data)
	if err != nil {
		b = []byte(`null`)
	}
	cs.Data = b
}

// handshakeJSON is Node's socket.handshake as JSON: headers with
// lower-case names, time as Date.toString() in UTC, issued in ms.
func handshakeJSON(h *Handshake) []byte {
	headers := make(map[string]string, len(h.Headers))
	for k, v := range h.Headers {
		headers[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	query := make(map[string]string, len(h.Query))
	for k, v := range h.Query {
		if len(v) > 0 {
			query[k] = v[0]
		}
	}
	auth := h.Auth
	if len(auth) == 0 {
		auth = json.RawMessage(`{}`)
	}
	t := h.Time.UTC()
	b, _ := json.Marshal(struct {
		Headers map[string]string `json:"headers"`
		Time    string            `json:"time"`
		Address string            `json:"address"`
		XDomain bool              `json:"xdomain"`
		Secure  bool              `json:"secure"`
		Issued  int64             `json:"issued"`
		URL     string            `json:"url"`
		Query   map[string]string `json:"query"`
		Auth    json.RawMessage   `json:"auth"`
	}{headers, t.Format("Mon Jan 02 2006 15:04:05 GMT-0700") + " (Coordinated Universal Time)", h.Address,
		h.Headers.Get("Origin") != "", h.Secure, t.UnixMilli(), h.URL, query, auth})
	return b
}

// parseHandshake reads another server's socket.handshake.
func parseHandshake(b []byte) Handshake {
	var v struct {
		Headers map[string]any    `json:"headers"`
		Address string            `json:"address"`
		Secure  bool              `json:"secure"`
		Issued  int64             `json:"issued"`
		URL     string            `json:"url"`
		Query   map[string]any    `json:"query"`
		Auth    json.RawMessage   `json:"auth"`
		_       map[string]string `json:"-"`
	}
	var h Handshake
	if json.Unmarshal(b, &v) != nil {
		return h
	}
	h.Headers = http.Header{}
	for k, val := range v.Headers {
		switch x := val.(type) {
		case string:
			h.Headers.Set(k, x)
		case []any:
			for _, e := range x {
				if s, ok := e.(string); ok {
					h.Headers.Add(k, s)
				}
			}
		}
	}
	h.Query = url.Values{}
	for k, val := range v.Query {
		if s, ok := val.(string); ok {
			h.Query.Set(k, s)
		}
	}
	h.Address, h.Secure, h.URL, h.Auth = v.Address, v.Secure, v.URL, v.Auth
	if v.Issued > 0 {
		h.Time = time.UnixMilli(v.Issued)
	}
	return h
}

// ---- the Go API ------------------------------------------------------------

// RemoteSocket is a socket of this server or of another one of the
// cluster, as FetchSockets returns it (Node's RemoteSocket). Data is the
// application's socket.data as JSON.
type RemoteSocket struct {
	ID        string
	Handshake Handshake
	Rooms     []string
	Data      json.RawMessage
	nsp       *Namespace
}

// Emit sends an event to the socket, wherever it is.
func (r RemoteSocket) Emit(event string, args ...any) error {
	return r.nsp.To(r.ID).Emit(event, args...)
}

// Join makes the socket join rooms, wherever it is.
func (r RemoteSocket) Join(rooms ...string) error { return r.nsp.In(r.ID).SocketsJoin(rooms...) }

// Leave makes the socket leave rooms, wherever it is.
func (r RemoteSocket) Leave(rooms ...string) error { return r.nsp.In(r.ID).SocketsLeave(rooms...) }

// Disconnect disconnects the socket (with closeConn, its whole connection).
func (r RemoteSocket) Disconnect(closeConn bool) error {
	return r.nsp.In(r.ID).DisconnectSockets(closeConn)
}

func (b *BroadcastOperator) target() core.Target {
	return core.Target{Nsp: b.nsp.name, Rooms: b.rooms, Except: b.except, Local: b.local}
}

// clusterDo runs f on the driver with the cluster machine.
func (s *Server) clusterDo(f func(now clock.Instant, m clusterMachine) error) error {
	var err error
	if !s.d.call(func(now clock.Instant) {
		m, ok := s.core.(clusterMachine)
		if !ok {
			err = ErrNoCluster
			return
		}
		err = f(now, m)
	}) {
		return ErrClosed
	}
	return err
}

// SocketsJoin makes the targeted sockets join rooms, on every server of
// the cluster unless Local (io.in(...).socketsJoin).
func (b *BroadcastOperator) SocketsJoin(rooms ...string) error {
	t := b.target()
	return b.nsp.srv.clusterDo(func(now clock.Instant, m clusterMachine) error { return m.SocketsJoin(now, t, rooms...) })
}

// SocketsLeave makes the targeted sockets leave rooms, on every server
// unless Local.
func (b *BroadcastOperator) SocketsLeave(rooms ...string) error {
	t := b.target()
	return b.nsp.srv.clusterDo(func(now clock.Instant, m clusterMachine) error { return m.SocketsLeave(now, t, rooms...) })
}

// DisconnectSockets disconnects the targeted sockets (with closeConn,
// their whole connections), on every server unless Local.
func (b *BroadcastOperator) DisconnectSockets(closeConn bool) error {
	t := b.target()
	return b.nsp.srv.clusterDo(func(now clock.Instant, m clusterMachine) error { return m.DisconnectSockets(now, t, closeConn) })
}

// FetchSockets returns the targeted sockets of every server (this one's
// first), or ErrClusterTimeout with none if a server did not answer within
// the requests timeout, as Node's fetchSockets rejects.
func (b *BroadcastOperator) FetchSockets(ctx context.Context) ([]RemoteSocket, error) {
	t := b.target()
	s := b.nsp.srv
	r := s.clusterRequest(ctx, func(now clock.Instant, m clusterMachine) (wire.AckRef, error) { return m.FetchSockets(now, t) })
	if r.err != nil {
		return nil, r.err
	}
	if r.cluster.TimedOut {
		return nil, ErrClusterTimeout
	}
	out := make([]RemoteSocket, len(r.cluster.Sockets))
	for i, cs := range r.cluster.Sockets {
		out[i] = RemoteSocket{ID: string(cs.ID), Handshake: parseHandshake(cs.Handshake), Rooms: cs.Rooms,
			Data: json.RawMessage(cs.Data), nsp: b.nsp}
	}
	return out, nil
}

// ErrClusterTimeout is returned when a server of the cluster did not
// answer a request within the requests timeout.
var ErrClusterTimeout = errors.New("socketcore: timeout reached while waiting for the cluster's answers")

// clusterRequest runs send on the driver and waits for its ClusterRequestDone.
func (s *Server) clusterRequest(ctx context.Context, send func(now clock.Instant, m clusterMachine) (wire.AckRef, error)) ackResult {
	return s.requestAck(ctx, func(now clock.Instant) (wire.AckRef, error) {
		m, ok := s.core.(clusterMachine)
		if !ok {
			return 0, ErrNoCluster
		}
		return send(now, m)
	})
}

// SocketsJoin makes every socket of the namespace join rooms, on every server.
func (n *Namespace) SocketsJoin(rooms ...string) error { return n.op().SocketsJoin(rooms...) }

// SocketsLeave makes every socket of the namespace leave rooms.
func (n *Namespace) SocketsLeave(rooms ...string) error { return n.op().SocketsLeave(rooms...) }

// DisconnectSockets disconnects every socket of the namespace.
func (n *Namespace) DisconnectSockets(closeConn bool) error {
	return n.op().DisconnectSockets(closeConn)
}

// FetchSockets returns every socket of the namespace, on every server.
func (n *Namespace) FetchSockets(ctx context.Context) ([]RemoteSocket, error) {
	return n.op().FetchSockets(ctx)
}

// AllRooms returns the rooms of the namespace on every server (the
// adapter's allRooms), sorted.
func (n *Namespace) AllRooms(ctx context.Context) ([]string, error) {
	r := n.srv.clusterRequest(ctx, func(now clock.Instant, m clusterMachine) (wire.AckRef, error) {
		return m.AllRooms(now, n.name, false)
	})
	if r.err != nil {
		return nil, r.err
	}
	if r.cluster.TimedOut {
		return nil, ErrClusterTimeout
	}
	return r.cluster.Rooms, nil
}

// ServerSideEmit sends an event to the other servers of the cluster
// (io.serverSideEmit); their OnServerSideEmit handlers get it.
func (n *Namespace) ServerSideEmit(event string, args ...any) error {
	if err := checkEventName(event); err != nil {
		return err
	}
	data, atts, err := encodeArgs(event, args)
	if err != nil {
		return err
	}
	return n.srv.clusterDo(func(now clock.Instant, m clusterMachine) error {
		_, err := m.ServerSideEmit(now, n.name, data, atts, false)
		return err
	})
}

// ServerSideEmitWithAck sends an event to the other servers and waits for
// each one's answer, until the requests timeout: then it returns the
// answers so far and ErrClusterTimeout.
func (n *Namespace) ServerSideEmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	if err := checkEventName(event); err != nil {
		return nil, err
	}
	data, atts, err := encodeArgs(event, args)
	if err != nil {
		return nil, err
	}
	r := n.srv.clusterRequest(ctx, func(now clock.Instant, m clusterMachine) (wire.AckRef, error) {
		return m.ServerSideEmit(now, n.name, data, atts, true)
	})
	if r.err != nil {
		return nil, r.err
	}
	var out []Args
	for _, rep := range r.cluster.Replies {
		raw, err := splitArgs(rep.Args, 0)
		if err == nil {
			out = append(out, Args{Raw: raw, Attachments: rep.Attachments})
		}
	}
	if r.cluster.TimedOut {
		return out, ErrClusterTimeout
	}
	return out, nil
}

// OnServerSideEmit registers the handler of an event another server sent
// with ServerSideEmit. fn is any func, as for Socket.On; a last parameter
// of type Ack answers a ServerSideEmitWithAck.
func (n *Namespace) OnServerSideEmit(event string, fn any) {
	h, err := makeHandler(fn)
	if err != nil {
		panic(err)
	}
	n.mu.Lock()
	if n.serverHandlers == nil {
		n.serverHandlers = make(map[string]handlerFunc)
	}
	n.serverHandlers[event] = h
	n.mu.Unlock()
}

// serverSideEmitted runs the handler of another server's event (on the
// server's mailbox, in order).
func (s *Server) serverSideEmitted(o wire.ServerSideEmitReceived) {
	s.mu.RLock()
	n := s.nsps[o.Nsp]
	s.mu.RUnlock()
	var name string
	if raw, err := splitArgs(o.Data, 0); err == nil && len(raw) > 0 {
		json.Unmarshal(raw[0], &name)
	}
	var h handlerFunc
	if n != nil {
		n.mu.RLock()
		h = n.serverHandlers[name]
		n.mu.RUnlock()
	}
	ref := o.Ack
	if h == nil {
		if ref != 0 {
			s.core.Ack(ref, nil, nil) // nobody listens: answer with nothing rather than time out
		}
		return
	}
	ack := Ack(func(...any) error { return ErrNoAck })
	if ref != 0 {
		var once sync.Once
		ack = func(args ...any) error {
			err := ErrNoAck
			once.Do(func() {
				data, atts, e := encodeArgs("", args)
				if e != nil {
					err = e
					return
				}
				err = nil
				if !s.d.post(func(clock.Instant) { s.core.Ack(ref, data, atts) }) {
					err = ErrClosed
				}
			})
			return err
		}
	}
	raw, err := splitArgs(o.Data, 1)
	if err != nil {
		return
	}
	args := Args{Raw: raw, Attachments: o.Attachments}
	s.serverBox.post(func() { s.safely(func() { h(args, ack) }) })
}

// ServerCount counts the servers of the cluster (1 without an adapter).
func (s *Server) ServerCount(ctx context.Context) (int, error) {
	if s.adapter == nil {
		return 1, nil
	}
	return s.adapter.ServerCount(ctx, "/")
}

// Server-level shorthands for "/".

// FetchSockets returns every socket of "/" on every server.
func (s *Server) FetchSockets(ctx context.Context) ([]RemoteSocket, error) {
	return s.root.FetchSockets(ctx)
}

// SocketsJoin makes every socket of "/" join rooms.
func (s *Server) SocketsJoin(rooms ...string) error { return s.root.SocketsJoin(rooms...) }

// SocketsLeave makes every socket of "/" leave rooms.
func (s *Server) SocketsLeave(rooms ...string) error { return s.root.SocketsLeave(rooms...) }

// DisconnectSockets disconnects every socket of "/".
func (s *Server) DisconnectSockets(closeConn bool) error { return s.root.DisconnectSockets(closeConn) }

// ServerSideEmit sends an event to the other servers' "/" handlers.
func (s *Server) ServerSideEmit(event string, args ...any) error {
	return s.root.ServerSideEmit(event, args...)
}

// OnServerSideEmit registers a handler for other servers' events on "/".
func (s *Server) OnServerSideEmit(event string, fn any) { s.root.OnServerSideEmit(event, fn) }

// Local restricts the operator to this server.
func (s *Server) Local() *BroadcastOperator { return s.root.Local() }

// In targets rooms of "/".
func (s *Server) In(rooms ...string) *BroadcastOperator { return s.root.In(rooms...) }
