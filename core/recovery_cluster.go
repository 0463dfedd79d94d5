package core

import (
	"slices"
	"strings"
	"time"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/internal/jsontext"
	"github.com/socketcore/socketcore/core/wire"
)

// Connection state recovery through a store (Config.RecoveryStore): the
// sessions and the packets they may miss live where every server of the
// cluster reads them (Redis through the host), so that a client whose
// server went away, or that the load balancer sends elsewhere, resumes on
// any server with nothing lost.
//
//   - Offsets are cluster-wide. A packet is named by the server where it
//     originates (its node id, then a sequence number); a broadcast carries
//     its name to the other servers (ClusterMessage.Offset), which keep and
//     deliver it under that same name. Broadcasts from servers that do not
//     name them (Node, the emitter) keep local offsets, as before.
//   - The packets a server originates go to the store's log of their
//     namespace: published broadcasts through their ClusterPublish, the
//     rest (socket emits, local broadcasts) as wire.RecoveryRecord.
//   - Every connected socket has a snapshot in the store (pid, id,
//     namespace, rooms, the server holding it; the host adds socket.data):
//     written at its connection and when its rooms change (coalesced: one
//     per socket per drain), it keeps the socket recoverable if its server
//     dies. At a recoverable disconnect the snapshot becomes a saved
//     session, which expires with the window; at any other the snapshot is
//     removed.
//   - A CONNECT with {pid, offset} is looked up (wire.RecoveryLookup; the
//     socket waits as a gated one does) and the host answers with
//     wire.RecoveryFound: the session, consumed by the lookup, and the
//     packets of the log after the offset. A session this server holds is
//     restored from its memory (which also has the packets of servers that
//     do not name offsets); another server's from the log, plus what this
//     server kept while the lookup ran. The restored socket has the same id,
//     rooms and data and gets its missed packets before its CONNECT answer.
//   - One socket per id: a socket of the restored id still here is closed
//     first (it is the same client's dead connection, not yet timed out),
//     and the other servers are told to close theirs (DisconnectSockets on
//     the id's room). The store writes conditionally (RecoveryState), so a
//     late write from the old server never overwrites the new holder's.

// store is the recovery state that only exists with a store.
type store struct {
	lookups    map[wire.AckRef]*lookup
	dirty      []*socket // sockets whose snapshot is to be written, in order
	dirtyState map[*socket]wire.RecoveryState
	// aheadUntil is the latest socket.aheadUntil: past it no socket
	// waits for a replayed packet's publication (skipReplayed).
	aheadUntil clock.Instant
}

// lookup is a connecting socket waiting for its session from the store.
type lookup struct {
	so          *socket
	pid, offset string
	mark        uint64 // rec.next when the lookup began
	timer       clock.TimerID
}

func (s *Server) storeOn() bool { return s.cfg.RecoveryStore && s.cfg.RecoveryWindow > 0 }

// newPID makes a socket's private id. With a store its first six
// characters are this server's node id (the prefix of its offsets), which
// the store uses to keep one server's snapshots together.
func (s *Server) newPID() string {
	id := s.eng.NewID()
	if !s.storeOn() || len(id) <= len(s.rec.prefix) {
		return id
	}
	return s.rec.prefix + id[len(s.rec.prefix):]
}

// record hands a packet this server originated and does not publish to
// the store's log.
func (s *Server) record(nsp, off string, rooms, except []string, data []byte, atts [][]byte) {
	if !s.storeOn() {
		return
	}
	s.eng.Push(wire.RecoveryRecord{Nsp: nsp, Packet: wire.RecoveryPacket{Offset: off,
		Rooms: slices.Clone(rooms), Except: slices.Clone(except), Data: data, Attachments: atts}})
}

// roomsChanged marks a connected socket's snapshot for writing (at the end
// of the drain: flushSnapshots).
func (s *Server) roomsChanged(so *socket) {
	if !s.storeOn() || !so.connected || so.pid == "" {
		return
	}
	st := wire.RecoveryLive
	if so.restored != nil {
		st = wire.RecoveryResumed // its first snapshot replaces any other copy
	}
	s.markDirty(so, st)
}

func (s *Server) markDirty(so *socket, st wire.RecoveryState) {
	r := &s.rec
	if r.dirtyState == nil {
		r.dirtyState = make(map[*socket]wire.RecoveryState)
	}
	old, ok := r.dirtyState[so]
	if !ok {
		r.dirty = append(r.dirty, so)
	}
	if old != wire.RecoveryResumed {
		r.dirtyState[so] = st
	}
}

// flushSnapshots writes the marked snapshots; it reports whether it had
// any to look at (Poll then polls again).
func (s *Server) flushSnapshots() bool {
	r := &s.rec
	if len(r.dirty) == 0 {
		return false
	}
	dirty := r.dirty
	r.dirty = nil
	for i, so := range dirty {
		if st, ok := r.dirtyState[so]; ok {
			delete(r.dirtyState, so)
			if so.connected {
				s.eng.Push(s.snapshot(so, st))
			}
		}
		dirty[i] = nil
	}
	return true
}

func (s *Server) snapshot(so *socket, st wire.RecoveryState) wire.RecoverySession {
	return wire.RecoverySession{State: st, PID: so.pid, Socket: so.id, Nsp: so.nsp.name,
		Rooms: slices.Clone(so.rooms), Node: s.rec.prefix}
}

// sessionLeft is a departing socket's session (onclose, rooms still
// known): saved when it may come back, in memory or in the store.
func (s *Server) sessionLeft(now clock.Instant, so *socket, recoverable bool) {
	if !s.storeOn() {
		if recoverable {
			s.saveSession(now, so)
		}
		return
	}
	r := &s.rec
	if st, ok := r.dirtyState[so]; ok {
		// its last snapshot first: the save moves that one
		delete(r.dirtyState, so)
		s.eng.Push(s.snapshot(so, st))
	}
	st := wire.RecoveryGone
	if recoverable {
		st = wire.RecoverySaved
	}
	s.eng.Push(s.snapshot(so, st))
}

// recoveryAuth reads {pid, offset} from a CONNECT payload.
func recoveryAuth(auth []byte) (pid, offset string, ok bool) {
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
	return pid, offset, havePID && haveOffset && pid != ""
}

// lookupSession asks the store for the session a CONNECT names; false
// when it names none (the socket is admitted at once, fresh).
func (s *Server) lookupSession(now clock.Instant, so *socket, auth []byte) bool {
	pid, offset, ok := recoveryAuth(auth)
	if !ok {
		return false
	}
	r := &s.rec
	if r.lookups == nil {
		r.lookups = make(map[wire.AckRef]*lookup)
	}
	ref := s.newRef()
	lk := &lookup{so: so, pid: pid, offset: offset, mark: r.next}
	lk.timer = s.schedule(now.Add(s.lookupTimeout()), timerRef{kind: timerRecoveryLookup, ref: ref})
	r.lookups[ref] = lk
	so.c.pendingSockets = append(so.c.pendingSockets, so) // a second CONNECT meanwhile closes the session
	s.eng.Push(wire.RecoveryLookup{Ref: ref, Nsp: so.nsp.name, PID: pid, Offset: offset, Node: r.prefix})
	return true
}

// lookupTimeout bounds a lookup: RequestsTimeout, and half the connect
// timeout (a session that joins no namespace by then is closed).
func (s *Server) lookupTimeout() time.Duration {
	return min(s.cfg.RequestsTimeout, s.cfg.ConnectTimeout/2)
}

// recoveryFound is the store's answer to a lookup.
func (s *Server) recoveryFound(now clock.Instant, in wire.RecoveryFound) {
	if !s.storeOn() {
		return
	}
	lk := s.rec.lookups[in.Ref]
	if lk == nil {
		// timed out meanwhile: the session it consumed goes back
		s.putBack(&in)
		return
	}
	delete(s.rec.lookups, in.Ref)
	s.cancel(&lk.timer)
	s.finishLookup(now, lk, &in)
}

// lookupTimedOut gives the socket a fresh start when the store did not
// answer in time (lookupTimeout).
func (s *Server) lookupTimedOut(now clock.Instant, ref wire.AckRef) {
	lk := s.rec.lookups[ref]
	if lk == nil {
		return
	}
	delete(s.rec.lookups, ref)
	lk.timer = 0
	s.finishLookup(now, lk, nil)
}

func (s *Server) putBack(in *wire.RecoveryFound) {
	if in.Found && in.Session.PID != "" && in.Session.Socket != "" {
		ss := in.Session
		ss.State = wire.RecoveryUnused
		s.eng.Push(ss)
	}
}

func (s *Server) finishLookup(now clock.Instant, lk *lookup, in *wire.RecoveryFound) {
	so := lk.so
	c := so.c
	i := slices.Index(c.pendingSockets, so)
	if i < 0 || !c.sess.Open() {
		if in != nil {
			s.putBack(in) // its client left meanwhile
		}
		return
	}
	c.pendingSockets = slices.Delete(c.pendingSockets, i, i+1)
	if in != nil && in.Found {
		so.restored, so.missed = s.restoreFrom(now, lk, in)
		so.restoredAt = s.rec.next
	}
	s.admit(now, so, so.nsp.name)
}

// restoreFrom makes the session the store found, and the packets its
// socket missed; nil when it cannot be recovered (another namespace or
// pid, an offset no longer kept).
func (s *Server) restoreFrom(now clock.Instant, lk *lookup, in *wire.RecoveryFound) (*savedSession, []storedPacket) {
	r := &s.rec
	nsp := lk.so.nsp.name
	fs := &in.Session
	if fs.PID != lk.pid || fs.Nsp != nsp || fs.Socket == "" {
		return nil, nil
	}
	ss := &savedSession{pid: fs.PID, sid: fs.Socket, nsp: nsp, rooms: slices.Clone(fs.Rooms), data: fs.Data, at: now}
	if s.pending[ss.sid] != nil {
		return nil, nil
	}
	old := s.sockets[ss.sid]
	if old != nil && old.nsp.name != nsp {
		return nil, nil
	}
	if old != nil {
		ss.rooms = slices.Clone(old.rooms) // what it had here, more recent than any snapshot
	}
	var (
		missed []storedPacket
		ahead  map[string]struct{}
	)
	if fs.Node == r.prefix {
		// held by this server: its memory has every packet it sent the
		// socket, in the order it sent them
		seq, ok := r.offsets[lk.offset]
		if !ok {
			return nil, nil
		}
		for _, p := range r.packets[seq-r.first+1:] {
			if p.nsp == nsp && includes(ss.rooms, p.rooms, p.except) {
				missed = append(missed, p)
			}
		}
	} else {
		if !in.OffsetFound {
			return nil, nil // too old, or named by a server that does not name them cluster-wide
		}
		seen := make(map[string]bool, len(in.Packets))
		for _, p := range in.Packets {
			seen[p.Offset] = true
			if includes(ss.rooms, p.Rooms, p.Except) {
				missed = append(missed, storedPacket{offset: p.Offset, nsp: nsp, rooms: p.Rooms, except: p.Except,
					data: appendOffset(p.Data, p.Offset), atts: p.Attachments})
				if _, here := r.offsets[p.Offset]; !here && !strings.HasPrefix(p.Offset, r.prefix) {
					// the log had it before its publication reached this
					// server: when that comes, the socket has it already
					if ahead == nil {
						ahead = make(map[string]struct{})
					}
					ahead[p.Offset] = struct{}{}
				}
			}
		}
		// what came here while the store was read: the log may not have
		// had it yet (pub/sub is faster than the lookup's reads)
		from := max(lk.mark, r.first)
		if from < r.next {
			for _, p := range r.packets[from-r.first:] {
				if p.nsp == nsp && !seen[p.offset] && includes(ss.rooms, p.rooms, p.except) {
					missed = append(missed, p)
				}
			}
		}
	}
	if old != nil {
		// the same client's previous connection, dead but not timed out
		s.Disconnect(now, old.id, false)
	}
	if s.cfg.Cluster && fs.Node != r.prefix {
		// the server that held it may still have it: one socket per id
		s.publish(wire.ClusterMessage{Type: wire.ClusterDisconnectSockets, Nsp: nsp, Rooms: []string{string(ss.sid)}}, false)
	}
	if ahead != nil {
		// publications are late by milliseconds; one later than a lookup
		// may take is not waited for
		lk.so.ahead, lk.so.aheadUntil = ahead, now.Add(s.lookupTimeout())
		r.aheadUntil = max(r.aheadUntil, lk.so.aheadUntil)
	}
	return ss, missed
}

// skipReplayed leaves out of the targets of another server's broadcast
// (named off) the recovered sockets that got it from the store's log
// already (restoreFrom's ahead): pub/sub and the log are written in one
// step, but a lookup's read of the log may come before this server
// receives the publication, and the socket must get the packet once.
func (s *Server) skipReplayed(now clock.Instant, targets []*socket, off string) []*socket {
	if !s.storeOn() || s.rec.aheadUntil.Before(now) {
		return targets
	}
	out := targets[:0]
	for _, so := range targets {
		if so.ahead != nil {
			if so.aheadUntil.Before(now) {
				so.ahead = nil
			} else if _, ok := so.ahead[off]; ok {
				delete(so.ahead, off)
				continue
			}
		}
		out = append(out, so)
	}
	return out
}
