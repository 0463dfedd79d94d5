// Package adapter is the seam between a server's protocol core and the
// other servers of its cluster. The core speaks cluster traffic as data
// (wire.ClusterPublish out; wire.ClusterReceived and wire.ClusterServers
// in); an Adapter moves those messages between servers: adapter/memory
// inside one process, adapter/redis through Redis, wire-compatible with
// Node's @socket.io/redis-adapter.
package adapter

import (
	"context"

	"github.com/socketcore/socketcore/core/wire"
)

// Adapter moves one server's cluster messages. Messages from the other
// servers go to the Receive function the adapter was made with (never the
// server's own messages); Receive may be called from any goroutine, one
// message at a time, and must not block for long.
type Adapter interface {
	// AddNamespace starts receiving nsp's messages.
	AddNamespace(ctx context.Context, nsp string) error
	// Publish sends m to the other servers.
	Publish(ctx context.Context, m wire.ClusterMessage) error
	// ServerCount counts the servers that receive nsp's requests, this one
	// included.
	ServerCount(ctx context.Context, nsp string) (int, error)
	// Close stops receiving and releases the adapter's resources.
	Close() error
}

// RoomWatcher is an Adapter that wants to know which rooms have sockets on
// this server (Redis's sharded adapter in its dynamic subscription modes
// subscribes per room). The host calls RoomCreated when the first local
// socket of nsp joins room (socket id rooms included) and RoomDeleted when
// the last one leaves, in that order per room (wire.RoomCreated and
// wire.RoomDeleted from the core). Both must be cheap and never block.
type RoomWatcher interface {
	RoomCreated(nsp, room string)
	RoomDeleted(nsp, room string)
}

// Receive takes the messages of the other servers.
type Receive func(m wire.ClusterMessage)
