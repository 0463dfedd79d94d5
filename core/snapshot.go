// Session snapshots: Server.Snapshot and Server.Restore carry one
// Engine.IO session, with its Socket.IO sockets, from one machine to
// another. They are for hosts whose machine does not live as long as the
// connections it serves:
//
//   - hosts/cloudflare: a Durable Object's instance (and with it core.wasm)
//     is dropped when it hibernates, while its WebSockets stay open; the
//     object snapshots the sessions an event touched, keeps the snapshots in
//     its storage, and restores every session when it wakes.
//   - hosts/wasi: a GRIP proxy holds the connections and each request may
//     meet a fresh instance; the handler restores the session the request
//     names, handles the request, and keeps the new snapshot (GRIP meta or a
//     store).
//
// The contract:
//
//   - Snapshot(sid) returns an opaque byte string (versioned, at most a few
//     hundred bytes plus the session's rooms, buffered polling frames and
//     handshake auth). It holds the Engine.IO session (id, protocol, the
//     host's connection ids for its WebSocket, parked polling GET and
//     upgrade probe, the transports' formats, the frames buffered for
//     polling, the heartbeat, upgrade and noop timers as instants on the
//     host's clock), its connect timer, a binary packet still waiting for
//     attachments (its header and the attachments received so far: a
//     polling client may post them in separate requests, which may meet
//     different machines), and each connected socket: id, namespace (and
//     whether it is gated), handshake auth, rooms, recovery pid, the
//     acknowledgements it asked for that the application has not
//     answered (their AckRefs), and the acknowledgements the application
//     waits for from it (their AckRefs, packet ids and deadlines). Only an
//     open session can be snapshotted (ErrUnknownSession otherwise).
//   - Restore(now, snap) recreates that session in this machine: the same
//     ids, connection ids, rooms, refs and deadlines; the heartbeat goes on
//     where it was (a deadline already past fires at the next Timeout). It
//     emits no output of its own: no Connected, no SessionOpened (the host
//     already knows them); it returns the restored sockets instead. A
//     namespace it names that does not exist is created (gated as it was).
//     It fails, changing nothing, on a malformed snapshot
//     (ErrBadSnapshot; also a pending binary packet this machine's limits
//     refuse, Config.MaxAttachments and MaxDepth), or when the session, one of its connection ids, a
//     socket id or an AckRef it names is in use here (ErrSnapshotConflict;
//     an AckRef of a broadcast with acks is shared: the restored socket
//     joins the pending broadcast of that ref).
//   - AckRefs stay the same, so a host's ref → callback table stays valid
//     when it restores into a fresh machine; Restore moves the machine's
//     next ref past every restored one. A broadcast with acks that was
//     waiting for several sessions resolves with the replies of the
//     restored sockets only (the replies received before the snapshot
//     belonged to the old machine).
//   - Not carried: sockets still waiting for AcceptConnect, and the
//     server-wide state of connection state recovery (saved sessions of
//     departed sockets and the packets they may miss) or of cluster
//     requests. A session snapshotted while closing cannot be.
//   - A snapshot is a copy: the session goes on in the machine it was taken
//     from. The host decides which copy lives (STYLE.md: one owner).
//
// When to snapshot: the state changes with every input on the session's
// connections (a pong moves the heartbeat, a binary message adds an
// attachment to the pending packet), with commands naming one of its
// sockets (Join, Leave, Emit with an ack, Ack, Disconnect) and with
// broadcasts with acks (every target). Outputs name the sessions
// (SessionOpened, Connected, ...). A host that cannot tell can snapshot
// every session after each drain and compare bytes.

package core

import (
	"bytes"
	"errors"
	"slices"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/engine"
	"github.com/socketcore/socketcore/core/internal/snapbuf"
	"github.com/socketcore/socketcore/core/sio"
	"github.com/socketcore/socketcore/core/wire"
)

// Errors of Restore.
var (
	// ErrBadSnapshot is a snapshot that is not one of Snapshot's (truncated,
	// another version, values out of range).
	ErrBadSnapshot = errors.New("core: malformed session snapshot")
	// ErrSnapshotConflict is a snapshot whose session, connection ids,
	// socket ids or acknowledgement refs are in use in this machine.
	ErrSnapshotConflict = errors.New("core: session snapshot conflicts with this machine's state")
)

// ErrUnknownSession is returned by Snapshot for a session that is not open.
var ErrUnknownSession = engine.ErrUnknownSession

// The snapshot format's version, its first byte. Version 2 added the
// pending binary packet (after the connect deadline); Restore still reads
// version 1 snapshots (no pending packet), which hosts may have stored.
const (
	sessionSnapshotVersion   = 2
	sessionSnapshotVersionV1 = 1
)

// RestoredSocket is one socket Restore brought back.
type RestoredSocket struct {
	ID  wire.SocketID
	Nsp string
}

// Restored is what Restore brought back: the session and its sockets, in
// their connection order.
type Restored struct {
	SID     wire.SID
	Sockets []RestoredSocket
}

// Snapshot returns the state of the open session sid (see the top of
// snapshot.go for what it holds). The machine is not changed.
func (s *Server) Snapshot(sid wire.SID) ([]byte, error) {
	return s.AppendSnapshot(nil, sid)
}

// AppendSnapshot is Snapshot appending to dst.
func (s *Server) AppendSnapshot(dst []byte, sid wire.SID) ([]byte, error) {
	es := s.eng.Session(sid)
	c, _ := ownerOf(es)
	if c == nil {
		return dst, ErrUnknownSession
	}
	b := snapbuf.AppendU8(dst, sessionSnapshotVersion)
	b = snapbuf.AppendU64(b, uint64(s.timers.At(c.connectTimer)))
	// the pending binary packet: its header as the text message that
	// announced it (empty: none), then the attachments received so far
	if p, atts, ok := c.reasm.Partial(); ok {
		n := len(b)
		b = sio.Append(snapbuf.AppendU32(b, 0), p)
		snapbuf.PutU32(b[n:], uint32(len(b)-n-4))
		b = snapbuf.AppendU32(b, uint32(len(atts)))
		for _, a := range atts {
			b = snapbuf.AppendBytes(b, a)
		}
	} else {
		b = snapbuf.AppendU32(b, 0)
		b = snapbuf.AppendU32(b, 0)
	}
	b = snapbuf.AppendU32(b, uint32(len(c.order)))
	for _, so := range c.order {
		b = snapbuf.AppendString(b, string(so.id))
		b = snapbuf.AppendString(b, so.nsp.name)
		b = snapbuf.AppendBool(b, so.nsp.gated)
		b = snapbuf.AppendU64(b, so.nsp.ids)
		b = snapbuf.AppendBytes(b, so.auth)
		b = snapbuf.AppendString(b, so.pid)
		b = snapbuf.AppendU32(b, uint32(len(so.rooms)))
		for _, r := range so.rooms {
			b = snapbuf.AppendString(b, r)
		}
		b = snapbuf.AppendU32(b, uint32(len(so.acks)))
		for _, ref := range sortedRefs(so.acks) {
			a := s.outAcks[ref]
			var at clock.Instant
			var id uint64
			broadcast := false
			if a != nil {
				at, id, broadcast = s.timers.At(a.timer), a.id, a.broadcast
			} else {
				for pid, r := range so.acks {
					if r == ref {
						id = pid
					}
				}
			}
			b = snapbuf.AppendU64(b, uint64(ref))
			b = snapbuf.AppendU64(b, id)
			b = snapbuf.AppendBool(b, broadcast)
			b = snapbuf.AppendU64(b, uint64(at))
		}
		b = snapbuf.AppendU32(b, uint32(len(so.inAcks)))
		for _, ref := range so.inAcks {
			b = snapbuf.AppendU64(b, uint64(ref))
			b = snapbuf.AppendU64(b, s.inAcks[ref].id)
		}
	}
	// the Engine.IO session last: it ends the snapshot
	return s.eng.AppendSnapshot(b, es)
}

func ownerOf(es *engine.Session) (*client, bool) {
	if es == nil || !es.Open() {
		return nil, false
	}
	c, ok := es.Owner.(*client)
	return c, ok
}

type snapAck struct {
	ref       wire.AckRef
	id        uint64
	broadcast bool
	at        clock.Instant
}

type snapSocket struct {
	id     wire.SocketID
	nsp    string
	gated  bool
	ids    uint64
	auth   []byte
	pid    string
	rooms  []string
	acks   []snapAck
	inAcks []snapAck // ref and id only
}

// snapSession is a decoded snapshot: the Socket.IO part, and the
// Engine.IO session's snapshot that ends it.
type snapSession struct {
	connectAt clock.Instant
	partial   []byte   // the pending binary packet's text message; nil: none
	atts      [][]byte // its attachments received so far (copies)
	sockets   []snapSocket
	eng       []byte
}

// SnapshotSID returns the session id a snapshot names, without restoring
// it (hosts key their stores by it).
func SnapshotSID(snap []byte) (wire.SID, error) {
	d, err := decodeSnapshot(snap)
	if err != nil {
		return "", err
	}
	sid, err := engine.SnapshotID(d.eng)
	if err != nil {
		return "", ErrBadSnapshot
	}
	return sid, nil
}

func decodeSnapshot(snap []byte) (snapSession, error) {
	var d snapSession
	r := snapbuf.NewReader(snap)
	v := r.U8()
	if v != sessionSnapshotVersion && v != sessionSnapshotVersionV1 {
		return d, ErrBadSnapshot
	}
	d.connectAt = clock.Instant(r.U64())
	if v >= 2 {
		d.partial = slices.Clone(r.Bytes())
		na := r.Count(4)
		if d.partial == nil && na > 0 {
			return d, ErrBadSnapshot // attachments without a packet
		}
		for i := 0; i < na; i++ {
			d.atts = append(d.atts, bytes.Clone(r.Bytes()))
		}
	}
	n := r.Count(40)
	socks := make([]snapSocket, 0, n)
	for i := 0; i < n; i++ {
		so := snapSocket{id: wire.SocketID(r.String()), nsp: r.String(), gated: r.Bool(), ids: r.U64()}
		so.auth = slices.Clone(r.Bytes())
		so.pid = r.String()
		nr := r.Count(4)
		for j := 0; j < nr; j++ {
			so.rooms = append(so.rooms, r.String())
		}
		na := r.Count(25)
		for j := 0; j < na; j++ {
			so.acks = append(so.acks, snapAck{ref: wire.AckRef(r.U64()), id: r.U64(), broadcast: r.Bool(), at: clock.Instant(r.U64())})
		}
		ni := r.Count(16)
		for j := 0; j < ni; j++ {
			so.inAcks = append(so.inAcks, snapAck{ref: wire.AckRef(r.U64()), id: r.U64()})
		}
		if so.id == "" || so.nsp == "" || so.nsp[0] != '/' {
			return d, ErrBadSnapshot
		}
		socks = append(socks, so)
	}
	d.sockets = socks
	d.eng = r.Rest()
	if r.Err() != nil || len(d.eng) == 0 {
		return d, ErrBadSnapshot
	}
	return d, nil
}

// reassembler rebuilds the pending binary packet of a snapshot in a fresh
// Reassembler with this machine's limits: its text message, then the
// attachments received so far, which must be fewer than it announced.
func (s *Server) reassembler(d snapSession) (sio.Reassembler, error) {
	ra := sio.Reassembler{Limits: s.limits}
	if d.partial == nil {
		return ra, nil
	}
	if _, complete, err := ra.Text(d.partial); err != nil || complete {
		return ra, ErrBadSnapshot // not a binary packet (or over this machine's limits)
	}
	for _, a := range d.atts {
		if _, _, complete, err := ra.Binary(a); err != nil || complete {
			return ra, ErrBadSnapshot // as many attachments as announced: not pending
		}
	}
	return ra, nil
}

// Restore recreates a session from a Snapshot taken on this machine or
// another (see the top of snapshot.go), and returns its sockets. It
// changes nothing on error: ErrBadSnapshot, ErrSnapshotConflict.
func (s *Server) Restore(now clock.Instant, snap []byte) (Restored, error) {
	d, err := decodeSnapshot(snap)
	if err != nil {
		return Restored{}, err
	}
	socks := d.sockets
	reasm, err := s.reassembler(d)
	if err != nil {
		return Restored{}, err
	}
	// every conflict is found before anything changes
	seen := make(map[wire.SocketID]bool, len(socks))
	nsps := make(map[string]bool, len(socks))
	refs := make(map[wire.AckRef]bool)
	for _, so := range socks {
		if s.sockets[so.id] != nil || s.pending[so.id] != nil || seen[so.id] {
			return Restored{}, ErrSnapshotConflict
		}
		if nsps[so.nsp] {
			return Restored{}, ErrBadSnapshot // two sockets of one namespace in one session
		}
		seen[so.id], nsps[so.nsp] = true, true
		for _, a := range so.acks {
			if o := s.outAcks[a.ref]; (o != nil && (!o.broadcast || !a.broadcast || o.id != a.id)) || refs[a.ref] && !a.broadcast {
				return Restored{}, ErrSnapshotConflict
			}
			refs[a.ref] = true
		}
		for _, a := range so.inAcks {
			if _, used := s.inAcks[a.ref]; used || refs[a.ref] {
				return Restored{}, ErrSnapshotConflict
			}
			refs[a.ref] = true
		}
	}
	es, err := s.eng.RestoreSession(d.eng)
	switch {
	case errors.Is(err, engine.ErrSessionExists):
		return Restored{}, ErrSnapshotConflict
	case err != nil:
		return Restored{}, ErrBadSnapshot
	}
	c := &client{sess: es, sockets: make(map[string]*socket, len(socks)), reasm: reasm}
	es.Owner = c
	if at := d.connectAt; at != 0 && len(socks) == 0 {
		c.connectTimer = s.schedule(at, timerRef{kind: timerConnect, c: c})
	}
	out := Restored{SID: es.ID, Sockets: make([]RestoredSocket, 0, len(socks))}
	for _, ss := range socks {
		n := s.nsps[ss.nsp]
		if n == nil {
			n = &namespace{name: ss.nsp, gated: ss.gated, rooms: make(map[string]*socketSet), srv: s}
			s.nsps[ss.nsp] = n
		}
		n.ids = max(n.ids, ss.ids)
		auth := ss.auth
		if len(auth) == 0 {
			auth = emptyObject
		}
		// connected only once its rooms are back: joining them here is
		// not a change of its rooms (no recovery-store snapshot, whose
		// node would become this machine's while the packets it missed
		// are in the log, not in this machine's memory)
		so := &socket{id: ss.id, nsp: n, c: c, auth: auth, pid: ss.pid}
		s.sockets[so.id] = so
		c.sockets[n.name] = so
		c.order = append(c.order, so)
		n.sockets.add(so)
		for _, r := range ss.rooms {
			n.join(so, r)
		}
		so.connected = true
		for _, a := range ss.acks {
			n.ids = max(n.ids, a.id+1)
			s.nextRef = max(s.nextRef, a.ref)
			if so.acks == nil {
				so.acks = make(map[uint64]wire.AckRef)
			}
			so.acks[a.id] = a.ref
			if o := s.outAcks[a.ref]; o != nil {
				o.targets = append(o.targets, so)
				continue
			}
			o := &outAck{ref: a.ref, broadcast: a.broadcast, id: a.id, targets: []*socket{so}}
			if a.at != 0 {
				o.timer = s.schedule(a.at, timerRef{kind: timerAck, ref: a.ref})
			}
			s.outAcks[a.ref] = o
		}
		for _, a := range ss.inAcks {
			s.nextRef = max(s.nextRef, a.ref)
			s.inAcks[a.ref] = inAck{so: so, id: a.id}
			so.inAcks = append(so.inAcks, a.ref)
		}
		out.Sockets = append(out.Sockets, RestoredSocket{ID: so.id, Nsp: n.name})
	}
	return out, nil
}
