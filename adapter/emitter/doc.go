// Package emitter sends events to the sockets of a Socket.IO cluster from a
// Go process that runs no Socket.IO server: a port of Node's
// @socket.io/redis-emitter 5.1.0.
//
// The cluster's servers must use the classic Redis adapter protocol:
// Node's @socket.io/redis-adapter (createAdapter, not the sharded
// createShardedAdapter) or a server that speaks its protocol. The emitter only
// PUBLISHes; it subscribes to nothing and gets no answers, so there are no
// acknowledgements and no fetchSockets. Messages are byte for byte those
// of the Node emitter (uid "emitter"), built with adapter/wire:
//
//	Emit               msgpack [uid, {type:2, data, nsp}, {rooms, flags, except}]
//	                   on <key>#<nsp># or, for exactly one room, <key>#<nsp>#<room>#
//	SocketsJoin/Leave  JSON {type:2|3, opts:{rooms, except}, rooms} on <key>-request#<nsp>#
//	DisconnectSockets  JSON {type:4, opts:{rooms, except}, close}
//	ServerSideEmit     JSON {uid:"emitter", type:6, data:[event, args...]}
//
// Selections read like Node's: e.Of("/chat").To("room1").Except("room2").
// Volatile().Emit(ctx, "event", args...). An Emitter and a
// BroadcastOperator are immutable values, safe for concurrent use.
//
// Event arguments are Go values encoded as encoding/json would marshal them,
// except that a []byte at any depth travels as binary (the clients get a
// Buffer or ArrayBuffer), and numbers take notepack.io's form of the equal JS
// number (2.0 is the integer 2). Only notepack-compatible MessagePack is
// spoken, not a custom `parser` of the Node packages.
//
// Pub/sub is at most once: a PUBLISH that no server receives (none
// subscribed, or one reconnecting) is lost without an error.
//
// The package owns no goroutines and imports only adapter/wire and
// go-redis; it must not import core or hosts.
package emitter
