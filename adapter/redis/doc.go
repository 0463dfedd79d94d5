// Package redis is the cluster adapter on Redis pub/sub. By default it
// speaks the classic protocol of Node's @socket.io/redis-adapter 8.x
// (createAdapter), so Go and Node servers share one cluster and both take
// @socket.io/redis-emitter's messages. The protocol is described in
// package adapter/wire, which encodes it byte-for-byte as Node does. With
// Options.Sharded it speaks instead the protocol of the same package's
// createShardedAdapter (see "Sharded mode" below).
//
// Codec maps the core's wire.ClusterMessage records to Redis messages and
// back (pure); Adapter adds the I/O: one PubSub connection for every
// namespace (go-redis reconnects and resubscribes it), PUBLISH and PUBSUB
// NUMSUB on the Client.
//
// Mapping (core ↔ Node request type):
//
//	Broadcast                  [uid, {type:2, data, nsp}, {rooms, except, flags}] on <p>#<nsp># or <p>#<nsp>#<room>#
//	Broadcast with RequestID   7 BROADCAST (msgpack), flags.timeout in ms
//	BroadcastClientCount       8 {"type","requestId","clientCount"} (JSON)
//	BroadcastAck               9 {type, requestId, packet: <first arg>} (msgpack)
//	SocketsJoin / SocketsLeave 2 / 3 {uid, type, opts:{rooms, except}, rooms}
//	DisconnectSockets          4 {uid, type, opts, close}
//	FetchSockets               5 {uid, requestId, type, opts}
//	FetchSocketsResponse       {"requestId","sockets":[{id, handshake, rooms, data}]}
//	ServerSideEmit             6 {uid, [requestId], type, data:[ev, ...args]}
//	ServerSideEmitResponse     {"type":6,"requestId","data":<first arg>}, always on the common channel
//	AllRooms                   1 {uid, requestId, type}
//	AllRoomsResponse           {"requestId","rooms"} (JoinRooms)
//
// Choices where the two sides do not map one to one:
//
//   - Flags: Node sends flags.compress only after .compress(x) and treats
//     an absent key as true. Compress true is therefore sent as no key (a
//     plain broadcast's flags are {}, as Node's) and Compress false as
//     compress:false; on receipt Compress is true unless compress is false.
//     A host whose zero value means "no compression" makes every broadcast
//     carry compress:false.
//   - Binary: core Data is JSON with placeholders for Attachments. In the
//     msgpack messages (broadcasts, 7, 9) attachments travel as msgpack bin
//     (Node Buffers) and come back as attachments. JSON messages cannot
//     carry binary: as Node, they hold {"type":"Buffer","data":[...]}.
//   - Answers carry one argument (Node's callbacks take one): the first of
//     Data, or no key at all when Data has none (JS undefined); received,
//     the argument becomes a one-element Data ([] when absent). A msgpack
//     Date becomes its ISO string, as JSON.stringify writes it.
//   - FetchSocketsResponse: a nil Handshake is sent as Node's shape with
//     empty values ({"headers":{},"time":"",...,"query":{},"auth":{}}), a
//     nil Data as {} (Node's default socket.data). Received values are
//     passed through as JSON ("null" when absent).
//   - Own messages are dropped by uid (broadcasts and requests), including
//     SocketsJoin/Leave and DisconnectSockets, which Node applies from its
//     own echo: the core applies them locally. Answers to requests received
//     from other servers (this one's answers included) are dropped too;
//     other answers are delivered, and the core ignores unknown RequestIDs.
//   - Not supported (dropped, logged at Debug): the legacy SOCKETS (0)
//     request and single-socket (sid) forms of 2, 3 and 4, and their
//     answers; packets other than EVENT/BINARY_EVENT; a broadcast whose
//     packet.nsp is not its channel's namespace. Malformed messages are
//     dropped and logged at Warn.
//   - Only notepack.io-compatible msgpack (not the `parser` option), and
//     glob characters in the prefix or namespace are escaped in the
//     PSUBSCRIBE pattern (Node does not escape them).
//
// # Sharded mode
//
// Options.Sharded speaks the protocol of Node's createShardedAdapter:
// socket.io-adapter's ClusterAdapter on Redis 7 sharded pub/sub. It does
// not interoperate with classic servers nor with the emitter. Prefix plays
// Node's channelPrefix (default "socket.io"), SubscriptionMode Node's
// subscriptionMode ("dynamic" by default, "dynamic-private", "static"; the
// same on every server). The uid is 16 hex characters. ShardedCodec maps
// the messages (pure); the Adapter does the I/O:
//
//   - AddNamespace: SSUBSCRIBE <p>#<nsp># (main) and <p>#<nsp>#<uid>#
//     (this server's answers), waiting for both confirmations.
//   - Room channels <p>#<nsp>#<room>#: a broadcast without acks to exactly
//     one room goes there when the mode gives the room a channel: always in
//     dynamic-private, never in static, and in dynamic unless the room is 20
//     UTF-16 units long (looks like a socket id). Everything else goes to
//     the main channel. To receive them the host reports its rooms through
//     RoomWatcher (RoomCreated/RoomDeleted), and the adapter subscribes to
//     the room channels the mode uses, from its own goroutine. Node in
//     dynamic mode also subscribes to 20-character rooms that are not a
//     local socket's id; no publisher of that mode uses those channels, so
//     this adapter does not.
//   - ServerCount: PUBSUB SHARDNUMSUB <p>#<nsp># (summed over a Redis
//     Cluster's nodes).
//   - Messages {type, data, uid, nsp} are JSON, msgpack only when the type
//     may carry binary (3, 8, 9, 10, 12) and data holds some. data.packet
//     has no nsp; opts always carry flags ({} for join, leave, disconnect
//     and fetch, {timeout} when a fetch has a Timeout).
//   - Received: messages with this server's uid, or whose nsp is not the
//     channel's namespace, are dropped; the heartbeat types (1, 2, 13) are
//     unsupported (dropped at Debug).
//
// Mapping (core ↔ ClusterAdapter type, data):
//
//	Broadcast                  3 {packet:{type:2, data}, opts:{rooms, except, flags}}
//	Broadcast with RequestID   3 {packet, requestId, opts} (flags.timeout in ms), main channel
//	SocketsJoin / SocketsLeave 4 / 5 {opts, rooms}
//	DisconnectSockets          6 {opts, close}
//	FetchSockets               7 {opts, requestId}
//	FetchSocketsResponse       8 {requestId, sockets:[{id, handshake, rooms, data}]}
//	ServerSideEmit             9 {[requestId], packet:[ev, ...args]}
//	ServerSideEmitResponse     10 {requestId, packet: <first arg>}
//	BroadcastClientCount       11 {requestId, clientCount}
//	BroadcastAck               12 {requestId, packet: <first arg>}
//	AllRooms, AllRoomsResponse none: Publish fails with ErrUnsupported
//
// Answers go to <p>#<nsp>#<requester uid>#: the adapter remembers the uid
// of each received request's sender by requestId (bounded as in the
// classic mode: 65536 entries, 2 minutes or a broadcast's timeout plus a
// minute), and Publish fails for an answer to a request it does not know.
// Binary survives in every message that may carry it (msgpack), except in
// a FetchSocketsResponse's handshake and data, which are JSON in the core
// (a Buffer there becomes {"type":"Buffer","data":[...]}). Rooms that are
// numbers (JS allows them) are read as their decimal text. Flags, the one
// argument of answers and the defaults of FetchSocketsResponse are as in
// the classic mode.
//
// On a Redis Cluster (a *redis.ClusterClient) the adapter keeps one PubSub
// connection per hash slot in use, connected to the slot's node (go-redis
// resubscribes all of a PubSub's channels in one command, which a cluster
// only takes for channels of one slot). If the cluster moves a slot, Redis
// drops its subscriptions: the adapter logs it (Warn) and go-redis
// subscribes again on its next reconnection only. A *redis.Ring is not
// supported in sharded mode.
package redis
