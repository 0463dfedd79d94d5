// Package wire is the codec of the classic @socket.io/redis-adapter protocol
// (also spoken by @socket.io/redis-emitter): channel names, the msgpack
// broadcast [uid, packet, opts], and the JSON/msgpack request and response
// messages. It is pure: no Redis, no I/O. Decoded payload values keep their
// wire kinds and key order, so re-encoding what Node sent reproduces it.
//
// Only notepack.io-compatible MessagePack is supported (not the adapter's
// custom `parser` option), and only the classic protocol, not the sharded
// adapter's ClusterAdapter messages.
package wire

// DefaultPrefix is the adapter's and emitter's default `key`.
const DefaultPrefix = "socket.io"

// BroadcastChannel is <prefix>#<nsp>#, for broadcasts to the whole
// namespace or to several rooms.
func BroadcastChannel(prefix, nsp string) string { return prefix + "#" + nsp + "#" }

// RoomChannel is <prefix>#<nsp>#<room>#, used when exactly one room is
// targeted (even with except).
func RoomChannel(prefix, nsp, room string) string { return prefix + "#" + nsp + "#" + room + "#" }

// PublishChannel picks the channel Node publishes a broadcast on.
func PublishChannel(prefix, nsp string, o Opts) string {
	if len(o.Rooms) == 1 {
		return RoomChannel(prefix, nsp, o.Rooms[0])
	}
	return BroadcastChannel(prefix, nsp)
}

// BroadcastPattern is the PSUBSCRIBE pattern <prefix>#<nsp>#*.
func BroadcastPattern(prefix, nsp string) string { return BroadcastChannel(prefix, nsp) + "*" }

// RoomFromChannel returns the room a broadcast channel targets ("" for the
// namespace channel), and false if channel is not under prefix/nsp.
func RoomFromChannel(prefix, nsp, channel string) (string, bool) {
	base := BroadcastChannel(prefix, nsp)
	if len(channel) < len(base) || channel[:len(base)] != base {
		return "", false
	}
	rest := channel[len(base):]
	if rest == "" {
		return "", true
	}
	if rest[len(rest)-1] != '#' {
		return "", false
	}
	return rest[:len(rest)-1], true
}

// RequestChannel is <prefix>-request#<nsp>#; PUBSUB NUMSUB on it counts
// the servers.
func RequestChannel(prefix, nsp string) string { return prefix + "-request#" + nsp + "#" }

// ResponseChannel is <prefix>-response#<nsp>#, which all servers receive.
func ResponseChannel(prefix, nsp string) string { return prefix + "-response#" + nsp + "#" }

// SpecificResponseChannel is <prefix>-response#<nsp>#<uid>#, for answers to
// one requester (publishOnSpecificResponseChannel).
func SpecificResponseChannel(prefix, nsp, uid string) string {
	return prefix + "-response#" + nsp + "#" + uid + "#"
}
