package core

import (
	"errors"
	"slices"
	"time"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/engine"
	"github.com/socketcore/socketcore/core/sio"
	"github.com/socketcore/socketcore/core/wire"
)

// ErrUnknownAck is returned by Ack for a ref that is not pending (answered
// already, or its socket is gone).
var ErrUnknownAck = errors.New("core: unknown ack")

// outAck is an acknowledgement the application waits for: one socket's
// (Emit) or every targeted socket's (Broadcast).
type outAck struct {
	ref       wire.AckRef
	broadcast bool
	id        uint64    // the packet's ack id
	targets   []*socket // sockets still expected to answer
	replies   []wire.Reply
	timer     clock.TimerID
	// cluster is the remote part of a broadcast this server published
	// (the other servers' counts and acknowledgements).
	cluster *clusterReq
	// relay names another server's broadcast this one delivers: each
	// acknowledgement goes back to it as it comes.
	relay, relayNsp string
}

// encode builds the Engine.IO frames of one Socket.IO packet: the text
// frame ("4" + packet) and one binary frame per attachment, or with the
// msgpack parser the packet's one binary frame (nil when p.Data is not JSON:
// nothing is sent). The frames are fresh and may be shared by any number of
// connections.
func (s *Server) encode(p sio.Packet, atts [][]byte) []wire.Frame {
	if s.cfg.Parser == sio.MsgpackParser {
		b, err := sio.AppendMsgpack(make([]byte, 0, len(p.Data)+len(p.Nsp)+32), p, atts)
		if err != nil {
			return nil
		}
		return []wire.Frame{{Data: b, Binary: true}}
	}
	text := make([]byte, 0, len(p.Data)+len(p.Nsp)+24)
	text = append(text, '4')
	text = sio.Append(text, p)
	frames := make([]wire.Frame, 1, 1+len(atts))
	frames[0] = wire.Frame{Data: text}
	for _, a := range atts {
		frames = append(frames, wire.Frame{Data: a, Binary: true})
	}
	return frames
}

func (s *Server) sendPacket(c *client, p sio.Packet, atts [][]byte, volatile, compress bool) {
	if len(atts) > 0 {
		p.Attachments = len(atts)
	}
	if frames := s.encode(p, atts); frames != nil {
		s.eng.Send(c.sess, frames, volatile, compress)
	}
}

func eventType(atts [][]byte) sio.Type {
	if len(atts) > 0 {
		return sio.BinaryEvent
	}
	return sio.Event
}

// Emit sends an event to one socket. Data is the JSON array
// ["event", args...], with binary arguments as placeholders indexing
// Attachments. With WithAck the returned ref resolves exactly once through
// AckResolved: the client's answer, AckTimedOut after Timeout (if > 0), or
// AckDisconnected.
type Emit struct {
	Socket      wire.SocketID
	Data        []byte
	Attachments [][]byte
	WithAck     bool
	Timeout     time.Duration
	Volatile    bool
	Compress    bool
}

// Emit sends e; see the Emit type.
func (s *Server) Emit(now clock.Instant, e Emit) (wire.AckRef, error) {
	so := s.sockets[e.Socket]
	if so == nil {
		return 0, ErrUnknownSocket
	}
	p := sio.Packet{Type: eventType(e.Attachments), Nsp: so.nsp.name, Data: e.Data}
	if s.recoveryOn() && !e.WithAck && !e.Volatile {
		// kept under the socket's own room, as Node's socket.emit does
		var off string
		p.Data, off = s.keep(now, so.nsp.name, []string{string(so.id)}, nil, e.Data, e.Attachments, "")
		s.record(so.nsp.name, off, []string{string(so.id)}, nil, e.Data, e.Attachments) // recovery_cluster.go
	}
	var ref wire.AckRef
	if e.WithAck {
		ref = s.newRef()
		p.ID, p.HasID = so.nsp.ids, true
		so.nsp.ids++
		a := &outAck{ref: ref, id: p.ID, targets: []*socket{so}}
		s.outAcks[ref] = a
		if so.acks == nil {
			so.acks = make(map[uint64]wire.AckRef)
		}
		so.acks[p.ID] = ref
		if e.Timeout > 0 {
			a.timer = s.schedule(now.Add(e.Timeout), timerRef{kind: timerAck, ref: ref})
		}
	}
	s.sendPacket(so.c, p, e.Attachments, e.Volatile, e.Compress)
	return ref, nil
}

// Ack answers an acknowledgement the client asked for (EventReceived.Ack)
// with args (a JSON array; nil means []). Each ref can be answered once.
func (s *Server) Ack(ref wire.AckRef, args []byte, atts [][]byte) error {
	ia, ok := s.inAcks[ref]
	if !ok {
		return ErrUnknownAck
	}
	delete(s.inAcks, ref)
	if len(args) == 0 {
		args = emptyArray
	}
	if ia.cluster != "" {
		s.ackServerSideEmit(ref, ia, args, atts)
		return nil
	}
	so := ia.so
	if i := slices.Index(so.inAcks, ref); i >= 0 {
		so.inAcks = slices.Delete(so.inAcks, i, i+1)
	}
	t := sio.Ack
	if len(atts) > 0 {
		t = sio.BinaryAck
	}
	s.sendPacket(so.c, sio.Packet{Type: t, Nsp: so.nsp.name, ID: ia.id, HasID: true, Data: args}, atts, false, true) // compressible, as Node's acks
	return nil
}

var emptyArray = []byte("[]")

// Broadcast sends one event to many sockets of a namespace, planned and
// encoded once.
type Broadcast struct {
	Nsp         string
	Rooms       []string // any of these rooms; empty = the whole namespace
	Except      []string // minus the members of these rooms
	Data        []byte
	Attachments [][]byte
	Volatile    bool
	Compress    bool
	Local       bool // this node only (no cluster publish)
	// WithAck collects one acknowledgement from every target; the returned
	// ref resolves once through BroadcastAckResolved, when all answered or
	// Timeout passed (TimedOut, with the replies so far).
	WithAck bool
	Timeout time.Duration
}

// Broadcast sends b; see the Broadcast type. It returns the number of
// targeted sockets on this node.
func (s *Server) Broadcast(now clock.Instant, b Broadcast) (wire.AckRef, int, error) {
	return s.broadcast(now, b, "", nil)
}

// broadcast is Broadcast; relay names the request of another server's
// broadcast with acks that this one delivers (its acks go back one by one),
// and in is another server's broadcast this one delivers (nil for this
// server's own).
func (s *Server) broadcast(now clock.Instant, b Broadcast, relay string, in *wire.ClusterMessage) (wire.AckRef, int, error) {
	n := s.nsps[b.Nsp]
	if n == nil {
		return 0, 0, ErrUnknownNamespace
	}
	var targets []*socket
	s.targets(n, b.Rooms, b.Except, func(so *socket) { targets = append(targets, so) })
	if in != nil && in.Offset != "" {
		targets = s.skipReplayed(now, targets, in.Offset) // recovery_cluster.go
	}
	p := sio.Packet{Type: eventType(b.Attachments), Nsp: n.name, Data: b.Data, Attachments: len(b.Attachments)}
	var off string // its recovery offset
	if s.recoveryOn() && !b.WithAck && !b.Volatile {
		// kept even without a target here: the sockets it is for may be
		// the ones away
		var given string
		if in != nil {
			given = in.Offset // another server named it (cluster-wide offsets)
		}
		p.Data, off = s.keep(now, n.name, b.Rooms, b.Except, b.Data, b.Attachments, given)
		if in == nil && !s.clusterOn(b.Local) {
			s.record(n.name, off, b.Rooms, b.Except, b.Data, b.Attachments) // recovery_cluster.go
		}
	}
	var ref wire.AckRef
	if b.WithAck {
		ref = s.newRef()
		p.ID, p.HasID = n.ids, true
		n.ids++
		a := &outAck{ref: ref, broadcast: true, id: p.ID, targets: slices.Clone(targets), relay: relay}
		if relay != "" {
			a.relayNsp = b.Nsp
		}
		s.outAcks[ref] = a
		for _, so := range targets {
			if so.acks == nil {
				so.acks = make(map[uint64]wire.AckRef)
			}
			so.acks[p.ID] = ref
		}
		if s.clusterOn(b.Local) {
			s.publishBroadcast(now, b, a, "")
		}
		if len(targets) == 0 {
			if a.cluster == nil {
				s.resolveBroadcast(a, false)
			}
		} else if b.Timeout > 0 {
			a.timer = s.schedule(now.Add(b.Timeout), timerRef{kind: timerAck, ref: ref})
		}
	} else if s.clusterOn(b.Local) {
		s.publishBroadcast(now, b, nil, off)
	}
	if len(targets) == 0 {
		return ref, 0, nil
	}
	frames := s.encode(p, b.Attachments)
	if frames == nil {
		return ref, len(targets), nil
	}
	sessions := make([]*engine.Session, len(targets))
	for i, so := range targets {
		sessions[i] = so.c.sess
	}
	s.eng.SendMany(sessions, frames, b.Volatile, b.Compress)
	return ref, len(targets), nil
}

// targets calls fn once for every socket of n in any of rooms (all of n
// when rooms is empty) and in none of except.
func (s *Server) targets(n *namespace, rooms, except []string, fn func(*socket)) {
	s.gen += 2
	excl, sel := s.gen-1, s.gen
	for _, r := range except {
		if set := n.rooms[r]; set != nil {
			for _, so := range set.items {
				so.mark = excl
			}
		}
	}
	if len(rooms) == 0 {
		for _, so := range n.sockets.items {
			if so.mark != excl {
				fn(so)
			}
		}
		return
	}
	for _, r := range rooms {
		set := n.rooms[r]
		if set == nil {
			continue
		}
		for _, so := range set.items {
			if so.mark != excl && so.mark != sel {
				so.mark = sel
				fn(so)
			}
		}
	}
}

func (s *Server) ackReceived(so *socket, ref wire.AckRef, args []byte, atts [][]byte) {
	a := s.outAcks[ref]
	if a == nil {
		return
	}
	if len(args) == 0 {
		args = emptyArray // "43<id>" with no payload: no arguments
	}
	if !a.broadcast {
		s.cancel(&a.timer)
		delete(s.outAcks, ref)
		s.eng.Push(wire.AckResolved{Ref: ref, Socket: so.id, Args: args, Attachments: atts})
		return
	}
	if i := slices.Index(a.targets, so); i >= 0 {
		a.targets = slices.Delete(a.targets, i, i+1)
	}
	if a.relay != "" {
		s.relayAck(a, args, atts)
	} else {
		a.replies = append(a.replies, wire.Reply{Socket: so.id, Args: args, Attachments: atts})
	}
	if len(a.targets) == 0 && a.cluster == nil {
		s.resolveBroadcast(a, false)
	}
}

func (s *Server) resolveBroadcast(a *outAck, timedOut bool) {
	s.cancel(&a.timer)
	delete(s.outAcks, a.ref)
	for _, so := range a.targets {
		delete(so.acks, a.id)
	}
	a.targets = nil
	if a.cluster != nil {
		s.clusterDone(a.cluster, timedOut)
	}
	if a.relay != "" {
		return // another server's broadcast: its acks went back one by one
	}
	s.eng.Push(wire.BroadcastAckResolved{Ref: a.ref, Replies: a.replies, TimedOut: timedOut})
}

func (s *Server) ackTimedOut(a *outAck) {
	if a.broadcast {
		s.resolveBroadcast(a, true)
		return
	}
	delete(s.outAcks, a.ref)
	var id wire.SocketID
	if len(a.targets) == 1 {
		so := a.targets[0]
		id = so.id
		delete(so.acks, a.id)
	}
	s.eng.Push(wire.AckResolved{Ref: a.ref, Socket: id, Err: wire.AckTimedOut})
}

// ackDisconnected resolves what so's disconnection decides: a single
// emit's ack fails at once; a broadcast without a timeout stops waiting for
// so (one with a timeout waits for it, as Node's does).
func (s *Server) ackDisconnected(so *socket, ref wire.AckRef) {
	a := s.outAcks[ref]
	if a == nil {
		return
	}
	if !a.broadcast {
		s.cancel(&a.timer)
		delete(s.outAcks, ref)
		s.eng.Push(wire.AckResolved{Ref: ref, Socket: so.id, Err: wire.AckDisconnected})
		return
	}
	if a.timer != 0 {
		return
	}
	if i := slices.Index(a.targets, so); i >= 0 {
		a.targets = slices.Delete(a.targets, i, i+1)
	}
	if len(a.targets) == 0 && a.cluster == nil {
		s.resolveBroadcast(a, false)
	}
}
