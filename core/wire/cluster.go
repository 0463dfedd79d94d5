package wire

import "time"

// Cluster records: what one server of a cluster says to the others, as
// data. The core produces ClusterPublish outputs and takes ClusterReceived
// and ClusterServers inputs; a host's cluster adapter (adapter/redis, the
// in-process adapter/memory) moves the messages and maps them to its wire
// format — for Redis, the classic @socket.io/redis-adapter protocol.

// ClusterType is the kind of a ClusterMessage. The requests and responses
// are those of the classic Redis adapter.
type ClusterType uint8

const (
	// ClusterBroadcast delivers Data (an event: [name, ...args]) to the
	// sockets of Nsp in any of Rooms (all when empty) and in none of
	// Except. With a RequestID it wants acknowledgements: each server
	// answers ClusterBroadcastClientCount once, then ClusterBroadcastAck
	// per client acknowledgement.
	ClusterBroadcast ClusterType = iota + 1
	// ClusterSocketsJoin makes the sockets Rooms/Except select join
	// JoinRooms; ClusterSocketsLeave makes them leave JoinRooms. No answer.
	ClusterSocketsJoin
	ClusterSocketsLeave
	// ClusterDisconnectSockets disconnects the sockets Rooms/Except select
	// (Close: their whole session). No answer.
	ClusterDisconnectSockets
	// ClusterFetchSockets asks every server for the sockets Rooms/Except
	// select; answered by ClusterFetchSocketsResponse (Sockets).
	ClusterFetchSockets
	ClusterFetchSocketsResponse
	// ClusterServerSideEmit is an event for the other servers' application
	// (Data: [name, ...args]). With a RequestID each server answers
	// ClusterServerSideEmitResponse (Data: the acknowledgement's args).
	ClusterServerSideEmit
	ClusterServerSideEmitResponse
	// ClusterBroadcastClientCount answers a ClusterBroadcast with a
	// RequestID: how many of the server's sockets it targeted.
	ClusterBroadcastClientCount
	// ClusterBroadcastAck carries one client's acknowledgement (Data: its
	// args) of a ClusterBroadcast with a RequestID.
	ClusterBroadcastAck
	// ClusterAllRooms asks every server for its rooms of Nsp; answered by
	// ClusterAllRoomsResponse (JoinRooms holds them).
	ClusterAllRooms
	ClusterAllRoomsResponse
)

var clusterTypeNames = [...]string{"", "Broadcast", "SocketsJoin", "SocketsLeave", "DisconnectSockets",
	"FetchSockets", "FetchSocketsResponse", "ServerSideEmit", "ServerSideEmitResponse",
	"BroadcastClientCount", "BroadcastAck", "AllRooms", "AllRoomsResponse"}

func (t ClusterType) String() string {
	if int(t) < len(clusterTypeNames) && t != 0 {
		return clusterTypeNames[t]
	}
	return "ClusterType(?)"
}

// IsResponse reports whether t answers a request (matched by RequestID).
func (t ClusterType) IsResponse() bool {
	switch t {
	case ClusterFetchSocketsResponse, ClusterServerSideEmitResponse, ClusterBroadcastClientCount,
		ClusterBroadcastAck, ClusterAllRoomsResponse:
		return true
	}
	return false
}

// ClusterMessage is one message between the servers of a cluster. Which
// fields are set depends on Type (see the constants).
type ClusterMessage struct {
	Type ClusterType
	Nsp  string
	// RequestID names a request that wants answers, and the answers to it.
	// The core makes them; they are unique within the cluster only with
	// the server's seed (the adapter may prefix them).
	RequestID string

	// The sockets targeted: in any of Rooms (every socket of Nsp when
	// empty) and in none of Except.
	Rooms  []string
	Except []string
	// Broadcast flags.
	Volatile bool
	Compress bool          // per-message compression wanted (Node's flags.compress)
	Timeout  time.Duration // a broadcast's acknowledgement timeout (flags.timeout)

	// Data is a JSON array: an event's [name, ...args], or an
	// acknowledgement's args. Binary parts are Socket.IO placeholders
	// ({"_placeholder":true,"num":i}) for Attachments[i].
	Data        []byte
	Attachments [][]byte

	// JoinRooms: the rooms to join or leave (SocketsJoin/Leave), or the
	// rooms of a server (AllRoomsResponse).
	JoinRooms []string
	// Close: DisconnectSockets closes the sockets' sessions too.
	Close bool
	// Sockets answers FetchSockets.
	Sockets []ClusterSocket
	// ClientCount answers a Broadcast with a RequestID.
	ClientCount int
	// Offset is the cluster-wide offset of a Broadcast kept for
	// connection state recovery (core.Config.RecoveryStore): the server
	// where it originated named it, and every server delivers and keeps it
	// under that name. Empty from servers that do not name them (Node, the
	// emitter): each server then keeps it under an offset of its own.
	Offset string
}

// ClusterSocket is one socket in a ClusterFetchSocketsResponse. The core
// fills ID and Rooms; the host adds what only it knows (the handshake and
// the application's socket.data), each a JSON value, on the way out.
type ClusterSocket struct {
	ID        SocketID
	Rooms     []string
	Handshake []byte // JSON object: headers, time, address, xdomain, secure, issued, url, query, auth
	Data      []byte // JSON value: socket.data (null when unset)
}

// ClusterPublish asks the host to send Msg to the other servers. With
// CountServers the host also counts the servers of the cluster (PUBSUB
// NUMSUB for Redis, itself included) and reports the count with
// ClusterServers{RequestID: Msg.RequestID}: the request completes when
// every other server answered.
type ClusterPublish struct {
	Msg          ClusterMessage
	CountServers bool
}

// ClusterReceived is a message from another server. The adapter drops the
// server's own messages.
type ClusterReceived struct{ Msg ClusterMessage }

// ClusterServers reports how many servers (this one included) a request
// went to; Servers < 1 means the count failed (the request then waits for
// its timeout).
type ClusterServers struct {
	RequestID string
	Servers   int
}

// ClusterRequestDone resolves one cluster request (FetchSockets, AllRooms,
// ServerSideEmit with acknowledgements) exactly once: when every server
// answered, or at the timeout (TimedOut, with what came so far).
type ClusterRequestDone struct {
	Ref      AckRef
	Sockets  []ClusterSocket // FetchSockets: every server's, this one's first
	Rooms    []string        // AllRooms: the union, sorted
	Replies  []Reply         // ServerSideEmit: one per answering server (Socket empty)
	TimedOut bool
	Answers  int // servers that answered
	Expected int // servers expected to answer (0 when never counted)
}

// ServerSideEmitReceived is an event another server sent to this one's
// application (Data: [name, ...args]). A non-zero Ack wants an answer,
// given with Server.Ack.
type ServerSideEmitReceived struct {
	Nsp         string
	Data        []byte
	Attachments [][]byte
	Ack         AckRef
}

// RoomCreated and RoomDeleted report a room of Nsp that came to be (its
// first member) or went away (its last left), socket id rooms included,
// for cluster adapters that subscribe per room (Redis's sharded adapter in
// its dynamic modes). Only with Config.Cluster.
type RoomCreated struct{ Nsp, Room string }
type RoomDeleted struct{ Nsp, Room string }

func (RoomCreated) isOutput() {}
func (RoomDeleted) isOutput() {}

func (ClusterReceived) isInput() {}
func (ClusterServers) isInput()  {}

func (ClusterPublish) isOutput()         {}
func (ClusterRequestDone) isOutput()     {}
func (ServerSideEmitReceived) isOutput() {}
