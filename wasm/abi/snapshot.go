package abi

import (
	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/wire"
)

// Session snapshots (core/snapshot.go; wasm/ABI.md §9.5): two server-role
// commands and their replies, an addition to version 3 (§1). A guest
// without them answers -2 (unknown kind). Their names, replies and role
// are in abi.go's tables (kindNames, ReplyKind, Role.Accepts); their codec
// is here, apart from calls.go and results.go, so that a guest links it
// only through the server role's dispatch.
const (
	KindSnapshot      Kind = 0x0220 // core.Server.Snapshot: sid string → SnapshotReply
	KindRestore       Kind = 0x0221 // core.Server.Restore: data bytes → RestoreReply
	KindSnapshotReply Kind = 0x0810 // data bytes
	KindRestoreReply  Kind = 0x0811 // sid string, sockets list<{socket string, nsp string}>
)

// Statuses only the snapshot commands return.
const (
	StatusBadSnapshot      Status = -27 // core.ErrBadSnapshot (Restore)
	StatusSnapshotConflict Status = -28 // core.ErrSnapshotConflict (Restore)
)

// Snapshot asks for the snapshot of the open session SID (status -21 when
// it is not open).
type Snapshot struct {
	SID wire.SID
}

// Restore recreates a session from a snapshot (status -27 malformed, -28
// in conflict with this machine's state).
type Restore struct {
	Data []byte
}

// SnapshotReply is Snapshot's reply: the opaque snapshot.
type SnapshotReply struct {
	Data []byte
}

// RestoreReply is Restore's reply: the session and its sockets.
type RestoreReply = core.Restored

// IsSnapshotKind reports whether k is one of the snapshot records.
func IsSnapshotKind(k Kind) bool {
	switch k {
	case KindSnapshot, KindRestore, KindSnapshotReply, KindRestoreReply:
		return true
	}
	return false
}

// AppendSnapshotRecord appends a snapshot record (Snapshot, Restore,
// SnapshotReply, RestoreReply) to dst; ok is false for any other value.
func AppendSnapshotRecord(dst []byte, r any) (k Kind, b []byte, ok bool) {
	switch r := r.(type) {
	case Snapshot:
		return KindSnapshot, appendString(dst, string(r.SID)), true
	case Restore:
		return KindRestore, appendBytes(dst, r.Data), true
	case SnapshotReply:
		return KindSnapshotReply, appendBytes(dst, r.Data), true
	case core.Restored:
		b = appendString(dst, string(r.SID))
		b = appendLen(b, len(r.Sockets))
		for _, s := range r.Sockets {
			b = appendString(b, string(s.ID))
			b = appendString(b, s.Nsp)
		}
		return KindRestoreReply, b, true
	}
	return 0, dst, false
}

// DecodeSnapshotRecord decodes a record of a snapshot kind (ErrUnknownKind
// for any other kind, ErrBadRecord for a malformed one).
func DecodeSnapshotRecord(k Kind, b []byte) (any, error) {
	d := dec{b: b}
	var r any
	switch k {
	case KindSnapshot:
		r = Snapshot{SID: wire.SID(d.string())}
	case KindRestore:
		r = Restore{Data: d.bytes()}
	case KindSnapshotReply:
		r = SnapshotReply{Data: d.bytes()}
	case KindRestoreReply:
		rr := core.Restored{SID: wire.SID(d.string())}
		if n := d.count(8); n > 0 {
			rr.Sockets = make([]core.RestoredSocket, n)
			for i := range rr.Sockets {
				rr.Sockets[i] = core.RestoredSocket{ID: wire.SocketID(d.string()), Nsp: d.string()}
			}
		}
		r = rr
	default:
		return nil, ErrUnknownKind
	}
	if err := d.finish(); err != nil {
		return nil, err
	}
	return r, nil
}
