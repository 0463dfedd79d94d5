package main

import (
	"errors"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/wasm/abi"
)

// snapshotHandle performs the session snapshot commands (wasm/ABI.md §9.5):
// Snapshot and Restore, the server role's only; -5 in another role, -2
// for the reply kinds.
func (g *guest) snapshotHandle(now clock.Instant, k abi.Kind, off, n, limit uint32) int64 {
	if k != abi.KindSnapshot && k != abi.KindRestore {
		return int64(abi.StatusUnknownKind)
	}
	if g.srv == nil {
		return int64(abi.StatusRole)
	}
	r, err := abi.DecodeSnapshotRecord(k, g.xbuf[off:off+n])
	if err != nil {
		return int64(abi.StatusBadRecord)
	}
	g.reply, g.replyKind = g.reply[:0], 0
	var rep any
	switch r := r.(type) {
	case abi.Snapshot:
		var snap []byte
		if snap, err = g.srv.Snapshot(r.SID); err == nil {
			rep = abi.SnapshotReply{Data: snap}
		}
	case abi.Restore:
		var got core.Restored
		if got, err = g.srv.Restore(now, r.Data); err == nil {
			rep = got
		}
	}
	switch {
	case errors.Is(err, core.ErrBadSnapshot):
		return int64(abi.StatusBadSnapshot)
	case errors.Is(err, core.ErrSnapshotConflict):
		return int64(abi.StatusSnapshotConflict)
	case err != nil:
		return int64(status(err))
	}
	g.replyKind, g.reply, _ = abi.AppendSnapshotRecord(g.reply[:0], rep)
	if uint32(len(g.reply)) <= limit {
		copy(g.xbuf[off:], g.reply)
	}
	return int64(len(g.reply))
}
