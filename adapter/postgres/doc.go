// Package postgres is the cluster adapter on PostgreSQL's LISTEN/NOTIFY,
// wire-compatible with Node's @socket.io/postgres-adapter 0.5 (on
// socket.io-adapter 2.5's ClusterAdapterWithHeartbeat): Go and Node servers
// share one cluster, and both take the messages of
// @socket.io/postgres-emitter and of adapter/postgres/emitter.
//
// # Protocol
//
// Each namespace has one channel, <channelPrefix>#<nsp> (default prefix
// "socket.io"), for everything: requests, broadcasts and answers. Every
// server LISTENs on the channels of its namespaces and sends with
// SELECT pg_notify(channel, payload). A payload is the ClusterAdapter
// message as JSON, {type, data, uid, nsp}, the same messages (and the same
// mapping to the core's wire.ClusterMessage) as Redis's sharded adapter
// (redis.ShardedCodec, reused here):
//
//	1 INITIAL_HEARTBEAT {type, uid, nsp}   a server joined; the others answer 2
//	2 HEARTBEAT                            every heartbeatInterval (5 s)
//	3 BROADCAST {packet, [requestId], opts}
//	4/5 SOCKETS_JOIN/LEAVE {opts, rooms}   6 DISCONNECT_SOCKETS {opts, close}
//	7 FETCH_SOCKETS {opts, requestId}      8 its answer {requestId, sockets}
//	9 SERVER_SIDE_EMIT {[requestId], packet}  10 its answer {requestId, packet}
//	11 BROADCAST_CLIENT_COUNT, 12 BROADCAST_ACK   answers to a 3 with requestId
//	13 ADAPTER_CLOSE                       a server left
//
// A message that carries binary (types 3, 9, 10, 12, as Node tests them) or
// whose JSON has payloadThreshold bytes or more (default 8000; a NOTIFY
// payload must be shorter than 8000 bytes; Node sends one of exactly
// payloadThreshold bytes by NOTIFY, which PostgreSQL refuses at 8000)
// goes whole, as msgpack, into
// the attachment table (tableName, default socket_io_attachments: id
// bigserial, created_at timestamptz, payload bytea); the NOTIFY then
// carries {"uid","type","attachmentId":"<id>"}, and receivers SELECT the
// row. The INSERT and the NOTIFY are one statement here (Node makes two).
// Every cleanupInterval (30 s) each server deletes the rows older than
// cleanupInterval. New creates the table when it is missing (Node leaves
// that to the application).
//
// # Server count and requests
//
// There is no PUBSUB NUMSUB in PostgreSQL: ServerCount is this server plus
// the uids heard from on the namespace within heartbeatTimeout (10 s),
// minus those that sent ADAPTER_CLOSE, as Node counts. "emitter" is never
// counted. A request (fetchSockets, serverSideEmit with acks, broadcast
// with acks) completes when that many servers answered, or at the
// requests timeout with what came (Node's heartbeat variant waits for the
// uids it knows and drops those that leave; a server that dies mid-request
// makes both wait for the timeout). Right after a server joins, the others
// count it once its INITIAL_HEARTBEAT arrived.
//
// # Choices
//
//   - One uid (16 hex characters) for every namespace of a server; Node's
//     namespaces each have their own. Receivers count per namespace
//     either way.
//   - Messages without a top-level nsp (those of @socket.io/postgres-emitter
//     0.1.1, which Node's adapter 0.5 drops for that reason) are taken as
//     the namespace of their channel. Our emitter sends the nsp.
//   - Own messages are dropped by uid before their attachment is read.
//   - ALL_ROOMS does not exist in ClusterAdapter: Publish returns an error
//     wrapping errors.ErrUnsupported, and the host answers AllRooms with
//     this server's rooms.
//   - Flags, the single argument of answers and the defaults of a
//     FETCH_SOCKETS_RESPONSE are as in package adapter/redis.
//   - Connection state recovery: Node's adapter does not support it (its
//     offsets are empty, so a Node client never recovers across servers).
//     This adapter is not a RecoveryStore: with recovery on, each server
//     keeps its own sessions and packets in memory (a client recovers on
//     the server it was on).
//   - Not supported: Node's errorHandler option (errors are logged through
//     Options.Logger and counted in Stats) and its Node.js cluster mode
//     (setupPrimary, @socket.io/cluster-adapter).
//
// # Connections
//
// The adapter publishes, reads attachments and cleans up through a
// pgxpool.Pool, and LISTENs on a connection of its own taken from the pool
// (Acquire, then Hijack: the pool's BeforeConnect and AfterConnect hooks
// apply, as with Node's pool.connect()). When that connection breaks, or
// goes silent (nothing arrived on it for heartbeatTimeout, although this
// server's own heartbeats come back on it every heartbeatInterval, and a
// ping of up to heartbeatTimeout, 1 to 5 s, failed: a partition or a NAT
// that forgot the connection, no reset), the adapter logs it, makes a new
// one after 1 to 3 s (as Node), LISTENs again on every channel and sends
// INITIAL_HEARTBEAT on each namespace, so that the others answer and are
// counted again. While it cannot hear, it sends no heartbeats: the others
// stop counting it after their heartbeatTimeout, and their requests do not
// wait for it. NOTIFYs sent while it was disconnected are lost for this
// server (PostgreSQL delivers only to the sessions listening when the
// sender commits), as they are for Node; publishing goes on meanwhile
// through the pool.
//
// A namespace whose channel cannot be LISTENed on (not valid UTF-8, a NUL
// byte, more than 63 bytes, or refused by PostgreSQL) fails its
// AddNamespace, and only it. Close sends nothing after ADAPTER_CLOSE: it
// stops the heartbeats and waits for the sends under way first, so that no
// server counts this one again.
package postgres
