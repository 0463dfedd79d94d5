package core

import (
	"slices"
	"strconv"
	"time"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/internal/order"
	"github.com/socketcore/socketcore/core/wire"
)

// The cluster side of the machine (Config.Cluster): what the classic
// @socket.io/redis-adapter does in Node, as data. Broadcasts that are not
// Local, and the operations below, publish wire.ClusterPublish outputs;
// the other servers' messages come in as wire.ClusterReceived, and the
// server counts the host made for requests as wire.ClusterServers. A
// request (FetchSockets, AllRooms, ServerSideEmit with acks, Broadcast
// with acks) completes when every other server answered, or at its
// timeout with what came so far.

// Target selects sockets: those of Nsp in any of Rooms (all of Nsp when
// empty) and in none of Except. Local keeps an operation on this server.
type Target struct {
	Nsp    string
	Rooms  []string
	Except []string
	Local  bool
}

type clusterKind uint8

const (
	reqFetch clusterKind = iota + 1
	reqAllRooms
	reqServerSideEmit
	reqBroadcastAck // the remote part of a Broadcast with WithAck (outAck.cluster)
)

// clusterReq is a request this server sent and waits answers for.
type clusterReq struct {
	id      string
	kind    clusterKind
	ref     wire.AckRef
	servers int // servers counted, this one included; 0 until ClusterServers
	answers int // servers that answered
	timer   clock.TimerID

	sockets []wire.ClusterSocket
	rooms   []string
	replies []wire.Reply

	// reqBroadcastAck: the client count the servers announced, and the
	// acknowledgements received from them.
	ack      *outAck
	expected int
	acked    int
}

func (s *Server) clusterOn(local bool) bool { return s.cfg.Cluster && !local }

// newRequestID names a request: unique within this server, and across the
// cluster through the seed-derived prefix.
func (s *Server) newRequestID() string {
	if s.reqPrefix == "" {
		const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_"
		b := make([]byte, 8)
		for i := range b {
			b[i] = digits[s.cfg.Seed[i+8]&63]
		}
		s.reqPrefix = string(b)
	}
	s.nextReq++
	return s.reqPrefix + strconv.FormatUint(s.nextReq, 36)
}

func (s *Server) publish(m wire.ClusterMessage, count bool) {
	s.eng.Push(wire.ClusterPublish{Msg: m, CountServers: count})
}

// newRequest registers a request and its timeout (RequestsTimeout unless
// timeout > 0).
func (s *Server) newRequest(now clock.Instant, kind clusterKind, timeout time.Duration) *clusterReq {
	r := &clusterReq{id: s.newRequestID(), kind: kind, ref: s.newRef()}
	d := s.cfg.RequestsTimeout
	if timeout > 0 {
		d = timeout
	}
	r.timer = s.schedule(now.Add(d), timerRef{kind: timerCluster, req: r})
	s.requests[r.id] = r
	return r
}

// SocketsJoin makes the sockets t selects join rooms, on every server
// unless t.Local (Node's io.in(...).socketsJoin).
func (s *Server) SocketsJoin(now clock.Instant, t Target, rooms ...string) error {
	return s.clusterApply(now, wire.ClusterMessage{Type: wire.ClusterSocketsJoin, JoinRooms: slices.Clone(rooms)}, t)
}

// SocketsLeave makes the sockets t selects leave rooms, on every server
// unless t.Local.
func (s *Server) SocketsLeave(now clock.Instant, t Target, rooms ...string) error {
	return s.clusterApply(now, wire.ClusterMessage{Type: wire.ClusterSocketsLeave, JoinRooms: slices.Clone(rooms)}, t)
}

// DisconnectSockets disconnects the sockets t selects (with closeSession,
// their whole Engine.IO sessions), on every server unless t.Local.
func (s *Server) DisconnectSockets(now clock.Instant, t Target, closeSession bool) error {
	return s.clusterApply(now, wire.ClusterMessage{Type: wire.ClusterDisconnectSockets, Close: closeSession}, t)
}

func (s *Server) clusterApply(now clock.Instant, m wire.ClusterMessage, t Target) error {
	n := s.nsps[t.Nsp]
	if n == nil {
		return ErrUnknownNamespace
	}
	m.Nsp, m.Rooms, m.Except = t.Nsp, slices.Clone(t.Rooms), slices.Clone(t.Except)
	s.applyLocally(now, n, m)
	if s.clusterOn(t.Local) {
		s.publish(m, false)
	}
	return nil
}

// applyLocally performs a join, leave or disconnect on this server's
// sockets. Targets are collected first: leaving or disconnecting edits the
// room sets being walked.
func (s *Server) applyLocally(now clock.Instant, n *namespace, m wire.ClusterMessage) {
	var sel []*socket
	s.targets(n, m.Rooms, m.Except, func(so *socket) { sel = append(sel, so) })
	for _, so := range sel {
		switch m.Type {
		case wire.ClusterSocketsJoin:
			for _, r := range m.JoinRooms {
				n.join(so, r)
			}
		case wire.ClusterSocketsLeave:
			for _, r := range m.JoinRooms {
				n.leave(so, r)
			}
		case wire.ClusterDisconnectSockets:
			if so.connected {
				s.Disconnect(now, so.id, m.Close)
			}
		}
	}
}

// FetchSockets collects the sockets t selects on every server (unless
// t.Local): ClusterRequestDone with Ref and Sockets (ID and Rooms; the
// host knows their handshake and data), this server's first.
func (s *Server) FetchSockets(now clock.Instant, t Target) (wire.AckRef, error) {
	n := s.nsps[t.Nsp]
	if n == nil {
		return 0, ErrUnknownNamespace
	}
	local := s.localSockets(n, t.Rooms, t.Except)
	if !s.clusterOn(t.Local) {
		ref := s.newRef()
		s.eng.Push(wire.ClusterRequestDone{Ref: ref, Sockets: local, Answers: 1, Expected: 1})
		return ref, nil
	}
	r := s.newRequest(now, reqFetch, 0)
	r.sockets = local
	s.publish(wire.ClusterMessage{Type: wire.ClusterFetchSockets, Nsp: t.Nsp, RequestID: r.id,
		Rooms: slices.Clone(t.Rooms), Except: slices.Clone(t.Except)}, true)
	return r.ref, nil
}

func (s *Server) localSockets(n *namespace, rooms, except []string) []wire.ClusterSocket {
	var out []wire.ClusterSocket
	s.targets(n, rooms, except, func(so *socket) {
		out = append(out, wire.ClusterSocket{ID: so.id, Rooms: slices.Clone(so.rooms)})
	})
	return out
}

// AllRooms collects the rooms of nsp on every server (unless local):
// ClusterRequestDone with Ref and Rooms (sorted, each once).
func (s *Server) AllRooms(now clock.Instant, nsp string, local bool) (wire.AckRef, error) {
	n := s.nsps[nsp]
	if n == nil {
		return 0, ErrUnknownNamespace
	}
	rooms := n.roomNames()
	if !s.clusterOn(local) {
		ref := s.newRef()
		s.eng.Push(wire.ClusterRequestDone{Ref: ref, Rooms: rooms, Answers: 1, Expected: 1})
		return ref, nil
	}
	r := s.newRequest(now, reqAllRooms, 0)
	r.rooms = rooms
	s.publish(wire.ClusterMessage{Type: wire.ClusterAllRooms, Nsp: nsp, RequestID: r.id}, true)
	return r.ref, nil
}

func (n *namespace) roomNames() []string {
	out := make([]string, 0, len(n.rooms))
	for r := range n.rooms {
		out = append(out, r)
	}
	order.Sort(out)
	return out
}

// ServerSideEmit sends an event (data: [name, ...args]) to the
// application of every other server (Node's io.serverSideEmit). With
// withAck the returned ref resolves through ClusterRequestDone, one Reply
// per answering server; without a cluster at once, with none.
func (s *Server) ServerSideEmit(now clock.Instant, nsp string, data []byte, atts [][]byte, withAck bool) (wire.AckRef, error) {
	if s.nsps[nsp] == nil {
		return 0, ErrUnknownNamespace
	}
	m := wire.ClusterMessage{Type: wire.ClusterServerSideEmit, Nsp: nsp, Data: data, Attachments: atts}
	if !withAck {
		if s.cfg.Cluster {
			s.publish(m, false)
		}
		return 0, nil
	}
	if !s.cfg.Cluster {
		ref := s.newRef()
		s.eng.Push(wire.ClusterRequestDone{Ref: ref})
		return ref, nil
	}
	r := s.newRequest(now, reqServerSideEmit, 0)
	m.RequestID = r.id
	s.publish(m, true)
	return r.ref, nil
}

// publishBroadcast is the cluster part of Broadcast; offset is the one
// it was kept under (cluster-wide with a recovery store).
func (s *Server) publishBroadcast(now clock.Instant, b Broadcast, a *outAck, offset string) {
	m := wire.ClusterMessage{Type: wire.ClusterBroadcast, Nsp: b.Nsp,
		Rooms: slices.Clone(b.Rooms), Except: slices.Clone(b.Except),
		Volatile: b.Volatile, Compress: b.Compress, Data: b.Data, Attachments: b.Attachments}
	if s.storeOn() {
		m.Offset = offset
	}
	if a == nil {
		s.publish(m, false)
		return
	}
	r := s.newRequest(now, reqBroadcastAck, b.Timeout)
	r.ack = a
	a.cluster = r
	m.RequestID, m.Timeout = r.id, b.Timeout
	s.publish(m, true)
}

// clusterReceived handles another server's message.
func (s *Server) clusterReceived(now clock.Instant, m wire.ClusterMessage) {
	if m.Type.IsResponse() {
		s.clusterAnswer(m)
		return
	}
	n := s.nsps[m.Nsp]
	if n == nil {
		return // a namespace this server does not have
	}
	switch m.Type {
	case wire.ClusterBroadcast:
		b := Broadcast{Nsp: m.Nsp, Rooms: m.Rooms, Except: m.Except, Data: m.Data, Attachments: m.Attachments,
			Volatile: m.Volatile, Compress: m.Compress, Local: true}
		if m.RequestID == "" {
			s.broadcast(now, b, "", &m)
			return
		}
		b.WithAck, b.Timeout = true, m.Timeout
		s.relayBroadcast(now, b, m.RequestID)
	case wire.ClusterSocketsJoin, wire.ClusterSocketsLeave, wire.ClusterDisconnectSockets:
		s.applyLocally(now, n, m)
	case wire.ClusterFetchSockets:
		if m.RequestID != "" {
			s.publish(wire.ClusterMessage{Type: wire.ClusterFetchSocketsResponse, Nsp: m.Nsp, RequestID: m.RequestID,
				Sockets: s.localSockets(n, m.Rooms, m.Except)}, false)
		}
	case wire.ClusterAllRooms:
		if m.RequestID != "" {
			s.publish(wire.ClusterMessage{Type: wire.ClusterAllRoomsResponse, Nsp: m.Nsp, RequestID: m.RequestID,
				JoinRooms: n.roomNames()}, false)
		}
	case wire.ClusterServerSideEmit:
		var ref wire.AckRef
		if m.RequestID != "" {
			ref = s.newRef()
			s.inAcks[ref] = inAck{cluster: m.RequestID, nsp: m.Nsp}
			// bounded like a socket's: past MaxPendingAcks the oldest
			// unanswered one is forgotten (its sender times out)
			s.clusterInAcks = append(s.clusterInAcks, ref)
			if len(s.clusterInAcks) > s.cfg.MaxPendingAcks {
				delete(s.inAcks, s.clusterInAcks[0])
				s.clusterInAcks = slices.Delete(s.clusterInAcks, 0, 1)
			}
		}
		s.eng.Push(wire.ServerSideEmitReceived{Nsp: m.Nsp, Data: m.Data, Attachments: m.Attachments, Ack: ref})
	}
}

// relayBroadcast delivers another server's broadcast with acks here: it
// announces how many sockets it targeted, then passes on each
// acknowledgement as it comes (outAck.relay).
func (s *Server) relayBroadcast(now clock.Instant, b Broadcast, requestID string) {
	_, count, err := s.broadcast(now, b, requestID, nil)
	if err != nil {
		return
	}
	s.publish(wire.ClusterMessage{Type: wire.ClusterBroadcastClientCount, Nsp: b.Nsp, RequestID: requestID, ClientCount: count}, false)
}

// clusterAnswer takes one answer to a request of this server.
func (s *Server) clusterAnswer(m wire.ClusterMessage) {
	r := s.requests[m.RequestID]
	if r == nil {
		return // not ours, or already complete
	}
	switch {
	case m.Type == wire.ClusterFetchSocketsResponse && r.kind == reqFetch:
		r.sockets = append(r.sockets, m.Sockets...)
		r.answers++
	case m.Type == wire.ClusterAllRoomsResponse && r.kind == reqAllRooms:
		r.rooms = append(r.rooms, m.JoinRooms...)
		r.answers++
	case m.Type == wire.ClusterServerSideEmitResponse && r.kind == reqServerSideEmit:
		r.replies = append(r.replies, wire.Reply{Args: argsOrEmpty(m.Data), Attachments: m.Attachments})
		r.answers++
	case m.Type == wire.ClusterBroadcastClientCount && r.kind == reqBroadcastAck:
		r.answers++
		r.expected += max(m.ClientCount, 0)
	case m.Type == wire.ClusterBroadcastAck && r.kind == reqBroadcastAck:
		r.acked++
		r.ack.replies = append(r.ack.replies, wire.Reply{Args: argsOrEmpty(m.Data), Attachments: m.Attachments})
	default:
		return
	}
	s.clusterCheck(r)
}

func argsOrEmpty(b []byte) []byte {
	if len(b) == 0 {
		return emptyArray
	}
	return b
}

// clusterServers records how many servers a request went to.
func (s *Server) clusterServers(in wire.ClusterServers) {
	r := s.requests[in.RequestID]
	if r == nil || in.Servers < 1 {
		return
	}
	r.servers = in.Servers
	s.clusterCheck(r)
}

// clusterCheck completes r once every other server answered (and, for a
// broadcast, every announced acknowledgement came).
func (s *Server) clusterCheck(r *clusterReq) {
	if r.servers == 0 || r.answers < r.servers-1 {
		return
	}
	if r.kind == reqBroadcastAck {
		if r.acked < r.expected {
			return
		}
		s.clusterDone(r, false)
		if len(r.ack.targets) == 0 {
			s.resolveBroadcast(r.ack, false)
		}
		return
	}
	s.clusterDone(r, false)
}

// clusterDone ends r; all but a broadcast's part resolve to the application.
func (s *Server) clusterDone(r *clusterReq, timedOut bool) {
	if s.requests[r.id] != r {
		return
	}
	delete(s.requests, r.id)
	s.cancel(&r.timer)
	if r.kind == reqBroadcastAck {
		r.ack.cluster = nil
		return
	}
	done := wire.ClusterRequestDone{Ref: r.ref, TimedOut: timedOut, Answers: r.answers, Expected: max(r.servers-1, 0)}
	switch r.kind {
	case reqFetch:
		done.Sockets = r.sockets
		done.Answers, done.Expected = r.answers+1, max(r.servers, 1)
	case reqAllRooms:
		order.Sort(r.rooms)
		done.Rooms = slices.Compact(r.rooms)
		done.Answers, done.Expected = r.answers+1, max(r.servers, 1)
	case reqServerSideEmit:
		done.Replies = r.replies
	}
	s.eng.Push(done)
}

// clusterTimedOut is a request's timer.
func (s *Server) clusterTimedOut(r *clusterReq) {
	r.timer = 0
	if r.kind == reqBroadcastAck {
		s.resolveBroadcast(r.ack, true) // ends r too
		return
	}
	s.clusterDone(r, true)
}

// relayAck passes one client's acknowledgement of another server's
// broadcast back to it.
func (s *Server) relayAck(a *outAck, args []byte, atts [][]byte) {
	s.publish(wire.ClusterMessage{Type: wire.ClusterBroadcastAck, Nsp: a.relayNsp, RequestID: a.relay,
		Data: args, Attachments: atts}, false)
}

// ackServerSideEmit answers another server's ServerSideEmit.
func (s *Server) ackServerSideEmit(ref wire.AckRef, ia inAck, args []byte, atts [][]byte) {
	if i := slices.Index(s.clusterInAcks, ref); i >= 0 {
		s.clusterInAcks = slices.Delete(s.clusterInAcks, i, i+1)
	}
	s.publish(wire.ClusterMessage{Type: wire.ClusterServerSideEmitResponse, Nsp: ia.nsp, RequestID: ia.cluster,
		Data: args, Attachments: atts}, false)
}
