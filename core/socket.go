package core

import (
	"slices"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/engine"
	"github.com/socketcore/socketcore/core/internal/jsontext"
	"github.com/socketcore/socketcore/core/internal/order"
	"github.com/socketcore/socketcore/core/sio"
	"github.com/socketcore/socketcore/core/wire"
)

// client is the Socket.IO state of one Engine.IO session (socket.io lib/client.ts).
type client struct {
	sess           *engine.Session
	sockets        map[string]*socket // connected, by namespace
	order          []*socket          // connected, in connection order
	pendingSockets []*socket          // waiting for the application's decision
	reasm          sio.Reassembler
	connectTimer   clock.TimerID
}

// socket is one namespace connection (socket.io lib/socket.ts).
type socket struct {
	id        wire.SocketID
	nsp       *namespace
	c         *client
	auth      []byte
	rooms     []string
	connected bool
	acks      map[uint64]wire.AckRef // ack ids we sent → the application's ref
	inAcks    []wire.AckRef          // acks the peer asked for, not yet answered
	mark      uint64                 // broadcast generation that last selected it
	pid       string                 // private id for recovery (Config.RecoveryWindow)
	restored  *savedSession          // being recovered: what to restore on accept
	missed    []storedPacket
	// ahead: the packets a recovery replayed from the store's log before
	// their publications reached this server, until aheadUntil
	// (recovery_cluster.go, skipReplayed)
	ahead      map[string]struct{}
	aheadUntil clock.Instant
	// restoredAt is recovery.next when restored was found: what is kept
	// from then until the socket is accepted goes to it too (resume)
	restoredAt uint64
}

type inAck struct {
	so *socket
	id uint64
	// cluster names another server's ServerSideEmit (so is nil).
	cluster, nsp string
}

func sortedSockets(m map[wire.SocketID]*socket) []*socket {
	out := make([]*socket, 0, len(m))
	for _, so := range m {
		out = append(out, so)
	}
	order.SortFunc(out, func(a, b *socket) int {
		switch {
		case a.id < b.id:
			return -1
		case a.id > b.id:
			return 1
		}
		return 0
	})
	return out
}

func (c *client) pendingFor(nsp string) *socket {
	for _, so := range c.pendingSockets {
		if so.nsp.name == nsp {
			return so
		}
	}
	return nil
}

// dispatch is client.ts ondecoded.
func (s *Server) dispatch(now clock.Instant, c *client, p sio.Packet, atts [][]byte) {
	if isV3(c) { // eio3.go
		var auth []byte
		if p.Nsp, auth = v3Namespace(p.Nsp); p.Type == sio.Connect {
			p.Data = auth
		}
	}
	so := c.sockets[p.Nsp]
	if p.Type == sio.Connect {
		if so != nil || c.pendingFor(p.Nsp) != nil {
			s.eng.CloseSession(now, c.sess) // a second CONNECT for one namespace
			return
		}
		s.connect(now, c, p.Nsp, p.Data)
		return
	}
	if so == nil || p.Type == sio.ConnectError {
		s.eng.CloseSession(now, c.sess) // a packet for a namespace not joined
		return
	}
	switch p.Type {
	case sio.Event, sio.BinaryEvent:
		name, ok := sio.EventName(p.Data)
		if !ok {
			return // no payload: the official server emits nothing either
		}
		var ref wire.AckRef
		if p.HasID {
			ref = s.newRef()
			s.inAcks[ref] = inAck{so: so, id: p.ID}
			if len(so.inAcks) >= s.cfg.MaxPendingAcks {
				delete(s.inAcks, so.inAcks[0])
				so.inAcks = slices.Delete(so.inAcks, 0, 1)
			}
			so.inAcks = append(so.inAcks, ref)
		}
		s.eng.Push(wire.EventReceived{Socket: so.id, Name: name, Data: p.Data, Attachments: atts, Ack: ref})
	case sio.Ack, sio.BinaryAck:
		if !p.HasID {
			return
		}
		ref, ok := so.acks[p.ID]
		if !ok {
			return
		}
		delete(so.acks, p.ID)
		s.ackReceived(so, ref, p.Data, atts)
	case sio.Disconnect:
		s.onclose(now, so, wire.ReasonClientNamespaceDisconnect)
	}
}

func (s *Server) newRef() wire.AckRef {
	s.nextRef++
	return s.nextRef
}

// connect is client.ts connect/doConnect: the socket exists (with its id)
// before the middleware decides, as in Node.
func (s *Server) connect(now clock.Instant, c *client, name string, auth []byte) {
	n := s.nsps[name]
	if n == nil && !s.cfg.DynamicNamespaces {
		s.sendConnectError(c, name, "Invalid namespace", nil)
		return
	}
	if len(auth) == 0 {
		auth = emptyObject
	} else {
		auth = slices.Clone(auth)
	}
	so := &socket{c: c, auth: auth, nsp: n}
	if s.recoveryOn() && n != nil {
		if s.storeOn() {
			if s.lookupSession(now, so, auth) {
				return // the socket waits for the store (recovery_cluster.go)
			}
		} else {
			so.restored, so.missed = s.restore(now, name, auth)
			so.restoredAt = s.rec.next
		}
	}
	s.admit(now, so, name)
}

// admit gives a connecting socket its ids and has it accepted, or asks
// the application first when its namespace is gated.
func (s *Server) admit(now clock.Instant, so *socket, name string) {
	c, n := so.c, so.nsp
	var data []byte
	if ss := so.restored; ss != nil {
		so.id, so.pid, data = ss.sid, ss.pid, ss.data
	} else {
		if isV3(c) {
			so.id = v3SocketID(name, c.sess.ID) // eio3.go
		} else {
			so.id = wire.SocketID(s.eng.NewID())
		}
		if s.recoveryOn() {
			so.pid = s.newPID()
		}
	}
	if n == nil || n.gated {
		if n == nil {
			so.nsp = &namespace{name: name, srv: s} // placeholder until accepted
		}
		c.pendingSockets = append(c.pendingSockets, so)
		s.pending[so.id] = so
		s.eng.Push(wire.ConnectRequested{Socket: so.id, SID: c.sess.ID, Nsp: name, Auth: so.auth, Known: n != nil,
			Recovered: so.restored != nil, Data: data})
		return
	}
	s.accept(now, so)
}

var emptyObject = []byte("{}")

func (s *Server) accept(now clock.Instant, so *socket) {
	c, n := so.c, so.nsp
	s.cancel(&c.connectTimer)
	so.connected = true
	s.sockets[so.id] = so
	c.sockets[n.name] = so
	c.order = append(c.order, so)
	n.sockets.add(so)
	n.join(so, string(so.id))
	b := s.scratch[:0]
	b = append(b, `{"sid":`...)
	b = jsontext.AppendQuote(b, string(so.id))
	if so.pid != "" {
		b = append(b, `,"pid":`...)
		b = jsontext.AppendQuote(b, so.pid)
	}
	b = append(b, '}')
	s.scratch = b
	if isV3(c) {
		b = nil // a v3 client's CONNECT reply has no payload (eio3.go)
	}
	ev := wire.Connected{Socket: so.id, SID: c.sess.ID, Nsp: n.name}
	if so.restored != nil {
		// Node sends what the socket missed before the CONNECT reply (the
		// client buffers events until it is connected)
		ev.Recovered, ev.Data = true, so.restored.data
		s.resume(so)
	}
	s.sendPacket(c, sio.Packet{Type: sio.Connect, Nsp: n.name, Data: b}, nil, false, false)
	s.eng.Push(ev)
}

func (s *Server) sendConnectError(c *client, nsp, message string, data []byte) {
	b := append(s.scratch[:0], `{"message":`...)
	b = jsontext.AppendQuote(b, message)
	if len(data) > 0 {
		b = append(b, `,"data":`...)
		b = append(b, data...)
	}
	b = append(b, '}')
	s.scratch = b
	s.sendPacket(c, sio.Packet{Type: sio.ConnectError, Nsp: nsp, Data: b}, nil, false, false)
}

func (s *Server) takePending(id wire.SocketID) *socket {
	so := s.pending[id]
	if so == nil {
		return nil
	}
	delete(s.pending, id)
	c := so.c
	for i, p := range c.pendingSockets {
		if p == so {
			c.pendingSockets = append(c.pendingSockets[:i], c.pendingSockets[i+1:]...)
			break
		}
	}
	return so
}

// AcceptConnect admits a socket announced by ConnectRequested. For an
// unknown namespace (Known=false) the namespace is created, gated.
// A socket whose session closed meanwhile is ignored.
func (s *Server) AcceptConnect(now clock.Instant, id wire.SocketID) error {
	so := s.takePending(id)
	if so == nil {
		return nil
	}
	if !so.c.sess.Open() {
		return nil
	}
	if n := s.nsps[so.nsp.name]; n != nil {
		so.nsp = n
	} else {
		// created by the application's decision, so later connections
		// go through it too
		so.nsp.rooms = make(map[string]*socketSet)
		so.nsp.gated = true
		s.nsps[so.nsp.name] = so.nsp
	}
	s.accept(now, so)
	return nil
}

// RejectConnect refuses a socket announced by ConnectRequested: the client
// gets CONNECT_ERROR {"message":message,"data":data} (data is raw JSON, left
// out when empty).
func (s *Server) RejectConnect(now clock.Instant, id wire.SocketID, message string, data []byte) error {
	so := s.takePending(id)
	if so == nil || !so.c.sess.Open() {
		return nil
	}
	if isV3(so.c) {
		s.rejectV3(so, message, data) // eio3.go
		return nil
	}
	s.sendConnectError(so.c, so.nsp.name, message, data)
	return nil
}

// onclose is socket.ts _onclose: disconnecting (rooms still known), leave
// every room, disconnect. Pending acknowledgements resolve as disconnected.
func (s *Server) onclose(now clock.Instant, so *socket, reason string) {
	if !so.connected {
		return
	}
	n, c := so.nsp, so.c
	if so.pid != "" {
		s.sessionLeft(now, so, recoverable(reason)) // recovery_cluster.go
	}
	s.eng.Push(wire.Disconnecting{Socket: so.id, Reason: reason, Rooms: slices.Clone(so.rooms)})
	n.leaveAll(so)
	n.sockets.remove(so)
	so.connected = false
	delete(s.sockets, so.id)
	if c.sockets[n.name] == so {
		delete(c.sockets, n.name)
	}
	if i := slices.Index(c.order, so); i >= 0 {
		c.order = slices.Delete(c.order, i, i+1)
	}
	for _, ref := range so.inAcks {
		delete(s.inAcks, ref)
	}
	so.inAcks = nil
	s.eng.Push(wire.Disconnected{Socket: so.id, Reason: reason})
	for _, ref := range sortedRefs(so.acks) {
		s.ackDisconnected(so, ref)
	}
	so.acks = nil
}

func sortedRefs(m map[uint64]wire.AckRef) []wire.AckRef {
	out := make([]wire.AckRef, 0, len(m))
	for _, r := range m {
		out = append(out, r)
	}
	order.Sort(out)
	return out
}

// Disconnect disconnects a socket from the server side (socket.disconnect):
// the client gets DISCONNECT and the socket leaves with "server namespace
// disconnect". With closeSession, every socket of its session does the same
// and the Engine.IO session closes.
func (s *Server) Disconnect(now clock.Instant, id wire.SocketID, closeSession bool) error {
	so := s.sockets[id]
	if so == nil {
		return ErrUnknownSocket
	}
	if !closeSession {
		s.sendPacket(so.c, sio.Packet{Type: sio.Disconnect, Nsp: so.nsp.name}, nil, false, false)
		s.onclose(now, so, wire.ReasonServerNamespaceDisconnect)
		return nil
	}
	c := so.c
	for _, o := range slices.Clone(c.order) {
		s.sendPacket(c, sio.Packet{Type: sio.Disconnect, Nsp: o.nsp.name}, nil, false, false)
		s.onclose(now, o, wire.ReasonServerNamespaceDisconnect)
	}
	s.eng.CloseSession(now, c.sess)
	return nil
}

// Join adds the socket to rooms.
func (s *Server) Join(id wire.SocketID, rooms ...string) error {
	so := s.sockets[id]
	if so == nil {
		return ErrUnknownSocket
	}
	for _, r := range rooms {
		so.nsp.join(so, r)
	}
	return nil
}

// Leave removes the socket from a room.
func (s *Server) Leave(id wire.SocketID, room string) error {
	so := s.sockets[id]
	if so == nil {
		return ErrUnknownSocket
	}
	so.nsp.leave(so, room)
	return nil
}

// Rooms returns the socket's rooms (its own id room first), or nil.
func (s *Server) Rooms(id wire.SocketID) []string {
	if so := s.sockets[id]; so != nil {
		return slices.Clone(so.rooms)
	}
	return nil
}

// Connected reports whether the socket is connected.
func (s *Server) Connected(id wire.SocketID) bool { return s.sockets[id] != nil }

// Transport returns the transport of the socket's session ("polling" or
// "websocket"), or "".
func (s *Server) Transport(id wire.SocketID) string {
	if so := s.sockets[id]; so != nil {
		return so.c.sess.Transport()
	}
	return ""
}

// SocketsIn returns the ids of the sockets of nsp in any of rooms (all of
// nsp's sockets when rooms is empty), in a deterministic order.
func (s *Server) SocketsIn(nsp string, rooms []string) []wire.SocketID {
	n := s.nsps[nsp]
	if n == nil {
		return nil
	}
	var out []wire.SocketID
	s.targets(n, rooms, nil, func(so *socket) { out = append(out, so.id) })
	return out
}
