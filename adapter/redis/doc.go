// Package redis is the cluster adapter on Redis pub/sub. It speaks the
// classic protocol of Node's @socket.io/redis-adapter 8.x (createAdapter,
// not the sharded adapter), so Go and Node servers share one cluster and
// both take @socket.io/redis-emitter's messages. The protocol is described
// in package adapter/wire, which encodes it byte-for-byte as Node does.
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
package redis
