package core

import (
	"slices"
	"strconv"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/engine"
	"github.com/socketcore/socketcore/core/internal/jsontext"
	"github.com/socketcore/socketcore/core/sio"
	"github.com/socketcore/socketcore/core/wire"
)

// Connection state recovery (Config.RecoveryWindow), Node's
// connectionStateRecovery: every socket gets a private id (pid) with its
// CONNECT answer; every event packet without an ack that is not volatile
// gets an offset appended to its arguments and is kept for the window; a
// socket that lost its connection for a recoverable reason is saved (id,
// namespace, rooms, and the data the host attaches with SetRecoveryData).
// A client that connects again within the window with {pid, offset} in its
// CONNECT payload gets its socket back — same id, rooms and data — and
// every kept packet after its offset that targeted it, in order.
//
// Unlike Node's in-memory store, a saved session is consumed by its
// recovery (a replayed pid gets a fresh socket, never a second copy of a
// live one), and the kept packets are bounded in number and bytes as well
// as in time.

type recovery struct {
	sessions map[string]*savedSession // by private id
	bySocket map[wire.SocketID]*savedSession
	packets  []storedPacket // oldest first
	first    uint64         // sequence number of packets[0]
	next     uint64         // sequence number of the next packet
	offsets  map[string]uint64
	bytes    int
	prefix   string
	expiry   clock.TimerID // the oldest packet's end

	store // with Config.RecoveryStore (recovery_cluster.go)
}

type savedSession struct {
	pid   string
	sid   wire.SocketID
	nsp   string
	rooms []string
	data  []byte
	at    clock.Instant
	timer clock.TimerID
}

type storedPacket struct {
	offset string
	nsp    string
	rooms  []string
	except []string
	data   []byte
	atts   [][]byte
	at     clock.Instant
	size   int
}

// recoverable reasons (socket.ts RECOVERABLE_DISCONNECT_REASONS).
func recoverable(reason string) bool {
	switch reason {
	case wire.ReasonTransportError, wire.ReasonTransportClose, wire.ReasonForcedClose, wire.ReasonPingTimeout,
		wire.ReasonServerShuttingDown, wire.ReasonForcedServerClose,
		engine.ReasonSlowConsumer: // a polling buffer that overflowed (Limits.MaxSendQueue)
		return true
	}
	return false
}

func (s *Server) recoveryOn() bool { return s.cfg.RecoveryWindow > 0 }

func (r *recovery) init(seed [32]byte) {
	r.sessions = make(map[string]*savedSession)
	r.bySocket = make(map[wire.SocketID]*savedSession)
	r.offsets = make(map[string]uint64)
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_"
	b := make([]byte, 6)
	for i := range b {
		b[i] = digits[seed[i+16]&63]
	}
	r.prefix = string(b)
}

// keep stores an event packet for recovery and returns its data with the
// offset appended as the last argument, and the offset.
// off names the packet when another server of the cluster did
// (ClusterMessage.Offset); empty, the packet gets the next offset of this
// server, which keep returns.
func (s *Server) keep(now clock.Instant, nsp string, rooms, except []string, data []byte, atts [][]byte, off string) ([]byte, string) {
	r := &s.rec
	if off == "" {
		off = r.prefix + strconv.FormatUint(r.next, 36)
	}
	data = appendOffset(data, off)
	p := storedPacket{offset: off, nsp: nsp, rooms: slices.Clone(rooms), except: slices.Clone(except),
		data: data, atts: atts, at: now, size: len(data) + len(off) + 64}
	for _, a := range atts {
		p.size += len(a)
	}
	r.offsets[off] = r.next
	r.next++
	r.packets = append(r.packets, p)
	r.bytes += p.size
	for len(r.packets) > s.cfg.RecoveryMaxPackets || (r.bytes > s.cfg.RecoveryMaxBytes && len(r.packets) > 1) {
		r.dropOldest()
	}
	if r.expiry == 0 {
		r.expiry = s.schedule(r.packets[0].at.Add(s.cfg.RecoveryWindow), timerRef{kind: timerRecoveryPackets})
	}
	return data, off
}

func (r *recovery) dropOldest() {
	p := r.packets[0]
	delete(r.offsets, p.offset)
	r.bytes -= p.size
	r.packets[0] = storedPacket{}
	r.packets = r.packets[1:]
	r.first++
}

// expirePackets drops the packets older than the window (timer).
func (s *Server) expirePackets(now clock.Instant) {
	r := &s.rec
	r.expiry = 0
	for len(r.packets) > 0 && r.packets[0].at.Add(s.cfg.RecoveryWindow) <= now {
		r.dropOldest()
	}
	if len(r.packets) == 0 {
		r.packets = nil // let the backing array go
		return
	}
	r.expiry = s.schedule(r.packets[0].at.Add(s.cfg.RecoveryWindow), timerRef{kind: timerRecoveryPackets})
}

// appendOffset appends a JSON string to a JSON array.
func appendOffset(data []byte, off string) []byte {
	data = jsontext.TrimSpace(data)
	out := make([]byte, 0, len(data)+len(off)+3)
	if len(data) < 2 || data[len(data)-1] != ']' {
		return jsontext.AppendQuote(append(out, '['), off) // not an array: cannot happen for events
	}
	body := jsontext.TrimSpace(data[1 : len(data)-1])
	out = append(out, data[:len(data)-1]...)
	if len(body) > 0 {
		out = append(out, ',')
	}
	out = jsontext.AppendQuote(out, off)
	return append(out, ']')
}

// saveSession keeps a socket that left for a recoverable reason.
func (s *Server) saveSession(now clock.Instant, so *socket) {
	r := &s.rec
	if old := r.sessions[so.pid]; old != nil {
		s.forgetSession(old)
	}
	ss := &savedSession{pid: so.pid, sid: so.id, nsp: so.nsp.name, rooms: slices.Clone(so.rooms), at: now}
	ss.timer = s.schedule(now.Add(s.cfg.RecoveryWindow), timerRef{kind: timerRecoverySession, saved: ss})
	r.sessions[ss.pid] = ss
	r.bySocket[ss.sid] = ss
}

func (s *Server) forgetSession(ss *savedSession) {
	r := &s.rec
	s.cancel(&ss.timer)
	if r.sessions[ss.pid] == ss {
		delete(r.sessions, ss.pid)
	}
	if r.bySocket[ss.sid] == ss {
		delete(r.bySocket, ss.sid)
	}
}

// SetRecoveryData attaches the application's data (socket.data, as JSON)
// to the saved session of a socket that just left (the host calls it when
// it sees the socket's Disconnecting); it comes back in the
// ConnectRequested or Connected of its recovery. ErrUnknownSocket if no
// session of that socket is saved.
func (s *Server) SetRecoveryData(id wire.SocketID, data []byte) error {
	ss := s.rec.bySocket[id]
	if ss == nil {
		return ErrUnknownSocket
	}
	ss.data = slices.Clone(data)
	return nil
}

// restore finds the saved session a CONNECT payload names and the packets
// its socket missed; nil if there is none to recover (no pid or offset,
// unknown or expired pid, another namespace, a socket with that id is
// live, or the offset is no longer kept). The session is consumed.
func (s *Server) restore(now clock.Instant, nsp string, auth []byte) (*savedSession, []storedPacket) {
	var pid, offset string
	var havePID, haveOffset bool
	jsontext.ObjectMembers(auth, func(key, value []byte) bool {
		switch {
		case jsontext.EqualString(key, "pid") && jsontext.Kind(value) == '"':
			pid, havePID = jsontext.Unquote(value)
		case jsontext.EqualString(key, "offset") && jsontext.Kind(value) == '"':
			offset, haveOffset = jsontext.Unquote(value)
		}
		return true
	})
	if !havePID || !haveOffset {
		return nil, nil
	}
	r := &s.rec
	ss := r.sessions[pid]
	if ss == nil || ss.nsp != nsp {
		return nil, nil
	}
	if ss.at.Add(s.cfg.RecoveryWindow) < now {
		s.forgetSession(ss)
		return nil, nil
	}
	if s.sockets[ss.sid] != nil || s.pending[ss.sid] != nil {
		return nil, nil
	}
	seq, ok := r.offsets[offset]
	if !ok {
		return nil, nil // the offset may be too old (Node: the same)
	}
	var missed []storedPacket
	for _, p := range r.packets[seq-r.first+1:] {
		if p.nsp == nsp && includes(ss.rooms, p.rooms, p.except) {
			missed = append(missed, p)
		}
	}
	s.forgetSession(ss)
	return ss, missed
}

// includes is the adapter's shouldIncludePacket.
func includes(rooms, to, except []string) bool {
	in := len(to) == 0
	for _, r := range rooms {
		if slices.Contains(except, r) {
			return false
		}
		if !in && slices.Contains(to, r) {
			in = true
		}
	}
	return in
}

// resume gives a recovered socket its rooms and the packets it missed
// (before its CONNECT answer, as Node does): those found when its session
// was, and those kept since — the socket was in no room while it waited
// for AcceptConnect (the application's middleware, or other inputs the
// host handled before the ConnectRequested output).
func (s *Server) resume(so *socket) {
	ss, missed := so.restored, so.missed
	so.restored, so.missed = nil, nil
	r := &s.rec
	for seq := max(so.restoredAt, r.first); seq < r.next; seq++ {
		p := r.packets[seq-r.first]
		if p.nsp != so.nsp.name || !includes(ss.rooms, p.rooms, p.except) {
			continue
		}
		if _, ok := so.ahead[p.offset]; ok {
			delete(so.ahead, p.offset) // in missed already, from the store's log
			continue
		}
		missed = append(missed, p)
	}
	for _, room := range ss.rooms {
		so.nsp.join(so, room)
	}
	for _, p := range missed {
		s.sendPacket(so.c, sio.Packet{Type: eventType(p.atts), Nsp: so.nsp.name, Data: p.data}, p.atts, false, true)
	}
}
