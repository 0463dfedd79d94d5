package engine

import (
	"errors"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/internal/snapbuf"
	"github.com/socketcore/socketcore/core/wire"
)

// Session snapshots: the Engine.IO half of core.Server's Snapshot/Restore
// (core/snapshot.go documents the contract). A snapshot holds everything a
// machine needs to carry an open session on: its id, protocol, the host's
// connection ids (WebSocket, parked polling GET, upgrade probe), the
// transports' formats, the frames still buffered for polling, and the
// heartbeat, upgrade and noop timers as instants on the host's clock.

// snapshotVersion is the first byte of an engine session snapshot.
const snapshotVersion = 1

// ErrSessionExists is returned by RestoreSession for a session id, or a
// connection id, this machine already has.
var ErrSessionExists = errors.New("engine: session or connection already exists")

// AppendSnapshot appends the snapshot of the open session s to dst. It
// returns ErrUnknownSession for a session that is not open.
func (e *Server) AppendSnapshot(dst []byte, s *Session) ([]byte, error) {
	if s == nil || s.state != stateOpen || e.sessions[s.ID] != s {
		return dst, ErrUnknownSession
	}
	b := snapbuf.AppendU8(dst, snapshotVersion)
	b = snapbuf.AppendString(b, string(s.ID))
	b = snapbuf.AppendU8(b, s.protocol)
	b = snapbuf.AppendU64(b, uint64(s.ws))
	b = snapbuf.AppendU64(b, uint64(s.get))
	b = snapbuf.AppendU64(b, uint64(s.probe))
	var flags uint8
	for i, f := range []bool{s.pollB64, s.wsB64, s.probeB64, s.upgrading, s.refreshedPong} {
		if f {
			flags |= 1 << i
		}
	}
	b = snapbuf.AppendU8(b, flags)
	b = snapbuf.AppendBytes(b, s.jsonp)
	for _, id := range []clock.TimerID{s.pingTimer, s.pongTimer, s.upgradeTimer, s.noopTimer} {
		b = snapbuf.AppendU64(b, uint64(e.timers.At(id)))
	}
	b = snapbuf.AppendU32(b, uint32(len(s.buf)))
	for _, f := range s.buf {
		b = snapbuf.AppendBool(b, f.Binary)
		b = snapbuf.AppendBytes(b, f.Data)
	}
	return b, nil
}

// RestoreSession recreates an open session from a snapshot of
// AppendSnapshot (taken on this machine or another), with its timers and
// connections, and returns it. The handler's Opened is not called: the
// layer above restores its own state (core.Server.Restore). A session id
// or connection id already in use is ErrSessionExists; a malformed
// snapshot snapbuf.ErrMalformed. Nothing changes on error.
func (e *Server) RestoreSession(snap []byte) (*Session, error) {
	r := snapbuf.NewReader(snap)
	if r.U8() != snapshotVersion {
		return nil, snapbuf.ErrMalformed
	}
	s := &Session{ID: wire.SID(r.String()), state: stateOpen, protocol: r.U8()}
	s.ws, s.get, s.probe = wire.ConnID(r.U64()), wire.ConnID(r.U64()), wire.ConnID(r.U64())
	flags := r.U8()
	s.pollB64, s.wsB64, s.probeB64 = flags&1 != 0, flags&2 != 0, flags&4 != 0
	s.upgrading, s.refreshedPong = flags&8 != 0, flags&16 != 0
	if j := r.Bytes(); j != nil {
		s.jsonp = append([]byte(nil), j...)
	}
	var at [4]clock.Instant
	for i := range at {
		at[i] = clock.Instant(r.U64())
	}
	n := r.Count(5)
	for i := 0; i < n; i++ {
		bin := r.Bool()
		data := r.Bytes()
		s.buf = append(s.buf, wire.Frame{Data: append([]byte(nil), data...), Binary: bin})
		s.bufBytes += len(data)
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	if s.ID == "" || (s.protocol != 3 && s.protocol != 4) || flags >= 32 {
		return nil, snapbuf.ErrMalformed
	}
	if e.sessions[s.ID] != nil {
		return nil, ErrSessionExists
	}
	conns := [3]wire.ConnID{s.ws, s.get, s.probe}
	kinds := [3]connKind{connWS, connGet, connProbe}
	for i, c := range conns {
		if c == 0 {
			continue
		}
		if _, used := e.conns[c]; used {
			return nil, ErrSessionExists
		}
		for _, d := range conns[:i] {
			if d == c {
				return nil, snapbuf.ErrMalformed
			}
		}
	}
	e.sessions[s.ID] = s
	for i, c := range conns {
		if c != 0 {
			e.conns[c] = connRef{s, kinds[i]}
		}
	}
	ids := [4]*clock.TimerID{&s.pingTimer, &s.pongTimer, &s.upgradeTimer, &s.noopTimer}
	tk := [4]timerKind{timerPing, timerPong, timerUpgrade, timerUpgradeNoop}
	for i, a := range at {
		if a != 0 {
			*ids[i] = e.schedule(s, tk[i], a)
		}
	}
	if len(s.buf) > 0 && (s.ws != 0 || s.get != 0) {
		e.markDirty(s)
	}
	return s, nil
}

// SnapshotID returns the session id a snapshot of AppendSnapshot names,
// without restoring it.
func SnapshotID(snap []byte) (wire.SID, error) {
	r := snapbuf.NewReader(snap)
	if r.U8() != snapshotVersion {
		return "", snapbuf.ErrMalformed
	}
	id := r.String()
	r.Rest()
	if err := r.Err(); err != nil || id == "" {
		return "", snapbuf.ErrMalformed
	}
	return wire.SID(id), nil
}
