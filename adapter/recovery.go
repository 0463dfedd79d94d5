package adapter

import (
	"context"
	"time"

	"github.com/socketcore/socketcore/core/wire"
)

// RecoveryStore is an Adapter that also keeps connection state recovery's
// sessions and packets where every server of the cluster reads them
// (core.Config.RecoveryStore; adapter/redis keeps them in Redis), so that a
// client resumes on any server. The host type-asserts it; the core decides
// what to write and to look up (wire.RecoveryRecord, RecoverySession,
// RecoveryLookup), and the store gives the answers back
// (wire.RecoveryFound). Every method is safe for concurrent use.
type RecoveryStore interface {
	Adapter
	// EnableRecovery prepares the store, once, before any other call:
	// sessions expire window after their socket left, and each
	// namespace's log keeps about maxPackets packets, none older than the
	// window (0: 100,000).
	EnableRecovery(window time.Duration, maxPackets int) error
	// Record appends p, a packet this server originated, to nsp's log.
	// With publish (a Broadcast whose Offset is p's), it also publishes
	// it, in one step when the store can: every server then receives
	// broadcasts in the order of the log.
	Record(ctx context.Context, nsp string, p wire.RecoveryPacket, publish *wire.ClusterMessage) error
	// SaveSession writes a session as its State says (wire.RecoveryState:
	// the conditional writes keep an old server's late writes from
	// overwriting the socket's new holder). s.Data is socket.data as JSON.
	SaveSession(ctx context.Context, s wire.RecoverySession) error
	// Lookup takes the session stored under l.PID (the lookup consumes
	// it) and, unless l.Node holds it, the packets of l.Nsp's log after
	// l.Offset (it may leave out those that targeted none of the
	// session's rooms). Not found is not an error; an error means the
	// store failed (the client then gets a fresh socket).
	Lookup(ctx context.Context, l wire.RecoveryLookup) (wire.RecoveryFound, error)
}
