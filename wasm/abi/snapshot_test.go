package abi

import (
	"strings"
	"testing"

	"github.com/socketcore/socketcore/core"
)

// The snapshot records join the golden vectors (an addition to version 3:
// their lines come last in testdata/records.json).
func init() {
	table = append(table, []struct {
		name string
		rec  any
	}{
		{"snapshot", Snapshot{SID: "AbCdEfghijklmnopqrst"}},
		{"restore", Restore{Data: []byte{1, 0, 0, 0, 0, 0, 0, 0, 0}}},
		{"snapshot reply", SnapshotReply{Data: []byte{1, 2, 3}}},
		{"restore reply", core.Restored{SID: "AbCdEfghijklmnopqrst", Sockets: []core.RestoredSocket{
			{ID: "s1", Nsp: "/"}, {ID: "s2", Nsp: "/chat"}}}},
		{"restore reply: no sockets", core.Restored{SID: "AbCdEfghijklmnopqrst"}},
	}...)
}

func TestSnapshotRecords(t *testing.T) {
	for _, k := range []Kind{KindSnapshot, KindRestore, KindSnapshotReply, KindRestoreReply} {
		if !IsSnapshotKind(k) || strings.HasPrefix(k.String(), "Kind(") {
			t.Errorf("kind %s not a named snapshot kind", k)
		}
		if _, err := Decode(k, []byte{0xff}); err != ErrBadRecord {
			t.Errorf("Decode(%s, truncated) = %v", k, err)
		}
	}
	if ReplyKind(KindSnapshot) != KindSnapshotReply || ReplyKind(KindRestore) != KindRestoreReply {
		t.Error("reply kinds")
	}
	for _, st := range []Status{StatusBadSnapshot, StatusSnapshotConflict} {
		if strings.HasPrefix(st.String(), "status(") {
			t.Errorf("status %d has no name", st)
		}
	}
	if _, err := DecodeSnapshotRecord(KindRecv, nil); err != ErrUnknownKind {
		t.Errorf("DecodeSnapshotRecord(Recv) = %v", err)
	}
	if _, _, ok := AppendSnapshotRecord(nil, Join{}); ok {
		t.Error("AppendSnapshotRecord took a Join")
	}
}
