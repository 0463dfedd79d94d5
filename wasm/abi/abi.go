// Package abi is the contract between core.wasm and its hosts: the ABI
// version, the record kinds, the status codes and the binary encoding of
// every record that crosses the boundary (the inputs, outputs and
// notifications of core/wire, the commands of core.Server and of
// core/client's Manager and their replies, and the configuration). The specification is wasm/ABI.md; the
// golden vectors in testdata/records.json are the contract other languages
// test their own codecs against.
//
// It owns no protocol logic. It imports the record types it encodes
// (core/wire, core.Config, core.Emit, core.Broadcast, core.Stats,
// core.Target, core.NamespaceCount) and the standard library only, so
// both the guest and the hosts can share it.
package abi

import (
	"errors"
	"slices"
	"strconv"
)

// Version is the ABI version: what sio_abi_version returns. Any change to
// an existing record's layout, an existing kind's number or meaning, an
// export's signature or an existing status's meaning changes it; hosts
// refuse a module whose version differs. Additions that a peer without them
// refuses with a status the version already had (a new role: -5; new
// kinds: -2, or -5 for a role that lacks them; a status only new kinds
// return) keep it: see
// wasm/ABI.md §1. The engine role (RoleEngine, KindEngineSend,
// StatusUnknownSession) was such an addition to version 1. Version 2
// added core.Config's Cluster and RequestsTimeout to the Config record
// (Init, ConfigReply): a changed record, so a new version. The cluster
// kinds came with it. Version 3 added connection state recovery: the
// Config record's RecoveryWindow, RecoveryMaxPackets and RecoveryMaxBytes,
// and Recovered and Data at the end of ConnectRequested and Connected
// (changed records again), with the SetRecoveryData command; unreleased,
// it also took the recovery store (Config.RecoveryStore and
// ClusterMessage.Offset at their ends, the RecoveryFound input and the
// recovery store outputs of class 0x16), and the Socket.IO parser
// (Config.Parser, after them: 0 default, 1 msgpack, others malformed),
// and the membership notifications (Config.RoomEvents, last; the
// RoomJoined and RoomLeft outputs).
const Version = 3

// Kind names a record type. Its high byte is the class and its low byte the
// index within it (see the table in wasm/ABI.md). Kinds fit in 16 bits so
// that sio_poll can return kind<<32 | len in one i64.
type Kind uint16

// Class is the high byte of a Kind.
func (k Kind) Class() uint8 { return uint8(k >> 8) }

// The configuration record (sio_new).
const (
	KindInit Kind = 0x0001
)

// Inputs (sio_handle). 0x0101..0x0104 are shared by every role (the
// client role takes 0x0102..0x0104); the cluster inputs 0x0105, 0x0106 are
// the server role's. 0x0110..0x011f are the client role's (client.go:
// HTTPResponse, Dialed).
const (
	KindHTTPRequest     Kind = 0x0101
	KindRecv            Kind = 0x0102
	KindClosed          Kind = 0x0103
	KindTimeout         Kind = 0x0104
	KindClusterReceived Kind = 0x0105 // wire.ClusterReceived: another server's message
	KindClusterServers  Kind = 0x0106 // wire.ClusterServers: the servers a request went to
	KindRecoveryFound   Kind = 0x0107 // wire.RecoveryFound: the recovery store's answer to a lookup (version 3)
)

// Server-role commands (sio_handle): one per method of core.Server other
// than Handle and Poll. Close, Stats and Config are also the engine role's
// (see Role.Accepts). Class 0x03 holds the client role's commands
// (client.go); class 0x04 the engine role's own.
const (
	KindAddNamespace  Kind = 0x0201
	KindAcceptConnect Kind = 0x0202
	KindRejectConnect Kind = 0x0203
	KindEmit          Kind = 0x0204
	KindAck           Kind = 0x0205
	KindBroadcast     Kind = 0x0206
	KindJoin          Kind = 0x0207
	KindLeave         Kind = 0x0208
	KindRooms         Kind = 0x0209
	KindConnected     Kind = 0x020a
	KindTransport     Kind = 0x020b
	KindSocketsIn     Kind = 0x020c
	KindDisconnect    Kind = 0x020d
	KindClose         Kind = 0x020e
	KindStats         Kind = 0x020f
	KindConfig        Kind = 0x0210

	// The cluster commands (core/cluster.go).
	KindSocketsJoin       Kind = 0x0211
	KindSocketsLeave      Kind = 0x0212
	KindDisconnectSockets Kind = 0x0213
	KindFetchSockets      Kind = 0x0214
	KindAllRooms          Kind = 0x0215
	KindServerSideEmit    Kind = 0x0216

	// Connection state recovery (core/recovery.go), version 3.
	KindSetRecoveryData Kind = 0x0217

	// The read-only counts of core/counts.go (NamespaceCounts,
	// Transports, VolatileDropped) in one query, for a host's metrics:
	// an addition to version 3 (a guest without it answers -2).
	KindCounts Kind = 0x0218
)

// Engine-role commands (sio_handle): what an engine-only server
// (engine.NewServer(cfg, nil)) needs besides Close, Stats and Config.
const (
	KindEngineSend Kind = 0x0401 // engine.Server.Send to the session named by its sid
)

// Replies to commands (sio_handle / sio_reply). A command's reply kind is
// fixed by the command (ReplyKind); it is not transmitted.
const (
	KindRefReply       Kind = 0x0801 // Emit, FetchSockets, AllRooms, ServerSideEmit
	KindBroadcastReply Kind = 0x0802 // Broadcast
	KindStringsReply   Kind = 0x0803 // Rooms, SocketsIn
	KindBoolReply      Kind = 0x0804 // Connected
	KindStringReply    Kind = 0x0805 // Transport
	KindStatsReply     Kind = 0x0806 // Stats
	KindConfigReply    Kind = 0x0807 // Config
	KindCountsReply    Kind = 0x0809 // Counts (0x0808 is the client role's ClientStatsReply)
)

// Transport outputs (sio_poll). 0x1010..0x101f are the client role's
// (client.go: Fetch, Dial).
const (
	KindRespond         Kind = 0x1001
	KindAcceptWebSocket Kind = 0x1002
	KindSend            Kind = 0x1003
	KindBroadcastOut    Kind = 0x1004 // wire.Broadcast (the command is KindBroadcast)
	KindCloseConn       Kind = 0x1005
	KindWait            Kind = 0x1006
)

// Engine.IO notifications (sio_poll).
const (
	KindSessionOpened   Kind = 0x1101
	KindSessionUpgraded Kind = 0x1102
	KindSessionClosed   Kind = 0x1103
	KindMessageReceived Kind = 0x1104
)

// Socket.IO notifications (sio_poll). Class 0x13 holds the client role's
// manager notifications and 0x14 its socket notifications (client.go).
const (
	KindConnectRequested     Kind = 0x1201
	KindConnectedOut         Kind = 0x1202 // wire.Connected (the query is KindConnected)
	KindEventReceived        Kind = 0x1203
	KindAckResolved          Kind = 0x1204
	KindBroadcastAckResolved Kind = 0x1205
	KindDisconnecting        Kind = 0x1206
	KindDisconnected         Kind = 0x1207
	KindRoomJoined           Kind = 0x1208 // with Config.RoomEvents only (version 3)
	KindRoomLeft             Kind = 0x1209
)

// Cluster outputs (sio_poll), the server role's: what goes to the other
// servers, and what comes back to the application.
const (
	KindClusterPublish         Kind = 0x1501
	KindClusterRequestDone     Kind = 0x1502
	KindServerSideEmitReceived Kind = 0x1503
	KindRoomCreated            Kind = 0x1504
	KindRoomDeleted            Kind = 0x1505
)

// Recovery store outputs (sio_poll), the server role's with
// Config.RecoveryStore (core/recovery_cluster.go, version 3): what to keep
// in the store every server of a cluster reads, and what to look up there.
const (
	KindRecoveryRecord  Kind = 0x1601
	KindRecoverySession Kind = 0x1602
	KindRecoveryLookup  Kind = 0x1603
)

var kindNames = map[Kind]string{
	KindInit:                   "Init",
	KindHTTPRequest:            "HTTPRequest",
	KindRecv:                   "Recv",
	KindClosed:                 "Closed",
	KindTimeout:                "Timeout",
	KindClusterReceived:        "ClusterReceived",
	KindClusterServers:         "ClusterServers",
	KindRecoveryFound:          "RecoveryFound",
	KindHTTPResponse:           "HTTPResponse",
	KindDialed:                 "Dialed",
	KindAddNamespace:           "AddNamespace",
	KindAcceptConnect:          "AcceptConnect",
	KindRejectConnect:          "RejectConnect",
	KindEmit:                   "Emit",
	KindAck:                    "Ack",
	KindBroadcast:              "Broadcast",
	KindJoin:                   "Join",
	KindLeave:                  "Leave",
	KindRooms:                  "Rooms",
	KindConnected:              "Connected",
	KindTransport:              "Transport",
	KindSocketsIn:              "SocketsIn",
	KindDisconnect:             "Disconnect",
	KindClose:                  "Close",
	KindStats:                  "Stats",
	KindConfig:                 "Config",
	KindSocketsJoin:            "SocketsJoin",
	KindSocketsLeave:           "SocketsLeave",
	KindDisconnectSockets:      "DisconnectSockets",
	KindFetchSockets:           "FetchSockets",
	KindAllRooms:               "AllRooms",
	KindServerSideEmit:         "ServerSideEmit",
	KindSetRecoveryData:        "SetRecoveryData",
	KindCounts:                 "Counts",
	KindSnapshot:               "Snapshot",
	KindRestore:                "Restore",
	KindClientConfig:           "ClientConfig",
	KindClientOpen:             "ClientOpen",
	KindClientClose:            "ClientClose",
	KindAddSocket:              "AddSocket",
	KindClientConnect:          "ClientConnect",
	KindClientDisconnect:       "ClientDisconnect",
	KindSetAuth:                "SetAuth",
	KindClientEmit:             "ClientEmit",
	KindCancelAck:              "CancelAck",
	KindClientStats:            "ClientStats",
	KindClientCloseEngine:      "ClientCloseEngine",
	KindEngineSend:             "EngineSend",
	KindRefReply:               "RefReply",
	KindBroadcastReply:         "BroadcastReply",
	KindStringsReply:           "StringsReply",
	KindBoolReply:              "BoolReply",
	KindStringReply:            "StringReply",
	KindStatsReply:             "StatsReply",
	KindConfigReply:            "ConfigReply",
	KindCountsReply:            "CountsReply",
	KindSnapshotReply:          "SnapshotReply",
	KindRestoreReply:           "RestoreReply",
	KindClientStatsReply:       "ClientStatsReply",
	KindRespond:                "Respond",
	KindAcceptWebSocket:        "AcceptWebSocket",
	KindSend:                   "Send",
	KindBroadcastOut:           "BroadcastOut",
	KindCloseConn:              "CloseConn",
	KindWait:                   "Wait",
	KindFetch:                  "Fetch",
	KindDial:                   "Dial",
	KindSessionOpened:          "SessionOpened",
	KindSessionUpgraded:        "SessionUpgraded",
	KindSessionClosed:          "SessionClosed",
	KindMessageReceived:        "MessageReceived",
	KindConnectRequested:       "ConnectRequested",
	KindConnectedOut:           "ConnectedOut",
	KindEventReceived:          "EventReceived",
	KindAckResolved:            "AckResolved",
	KindBroadcastAckResolved:   "BroadcastAckResolved",
	KindDisconnecting:          "Disconnecting",
	KindDisconnected:           "Disconnected",
	KindRoomJoined:             "RoomJoined",
	KindRoomLeft:               "RoomLeft",
	KindEngineOpened:           "EngineOpened",
	KindEngineUpgraded:         "EngineUpgraded",
	KindEngineError:            "EngineError",
	KindEngineClosed:           "EngineClosed",
	KindReconnectAttempt:       "ReconnectAttempt",
	KindReconnected:            "Reconnected",
	KindReconnectError:         "ReconnectError",
	KindReconnectFailed:        "ReconnectFailed",
	KindAuthRequested:          "AuthRequested",
	KindConnectError:           "ConnectError",
	KindSocketDisconnected:     "SocketDisconnected",
	KindClusterPublish:         "ClusterPublish",
	KindClusterRequestDone:     "ClusterRequestDone",
	KindServerSideEmitReceived: "ServerSideEmitReceived",
	KindRoomCreated:            "RoomCreated",
	KindRoomDeleted:            "RoomDeleted",
	KindRecoveryRecord:         "RecoveryRecord",
	KindRecoverySession:        "RecoverySession",
	KindRecoveryLookup:         "RecoveryLookup",
}

// Kinds lists every kind this version defines, in numeric order.
func Kinds() []Kind {
	out := make([]Kind, 0, len(kindNames))
	for k := range kindNames {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (k Kind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return "Kind(0x" + strconv.FormatUint(uint64(k), 16) + ")"
}

// ReplyKind is the kind of the reply a command produces, or 0 when it
// produces none (its status is the whole answer).
func ReplyKind(command Kind) Kind {
	switch command {
	case KindEmit, KindFetchSockets, KindAllRooms, KindServerSideEmit, KindClientEmit:
		return KindRefReply
	case KindClientStats:
		return KindClientStatsReply
	case KindBroadcast:
		return KindBroadcastReply
	case KindRooms, KindSocketsIn:
		return KindStringsReply
	case KindConnected:
		return KindBoolReply
	case KindTransport:
		return KindStringReply
	case KindStats:
		return KindStatsReply
	case KindConfig:
		return KindConfigReply
	case KindCounts:
		return KindCountsReply
	case KindSnapshot:
		return KindSnapshotReply
	case KindRestore:
		return KindRestoreReply
	}
	return 0
}

// IsInput reports whether k is a wire.Input record.
func (k Kind) IsInput() bool { return k.Class() == 0x01 }

// IsCommand reports whether k is a command record: class 0x02 (the server
// role's, some shared with the engine role), 0x03 (the client role's) or
// 0x04 (the engine role's).
func (k Kind) IsCommand() bool { return k.Class() >= 0x02 && k.Class() <= 0x04 }

// IsOutput reports whether k is a wire.Output record.
func (k Kind) IsOutput() bool { return k.Class() >= 0x10 }

// Role selects the machine sio_new creates.
type Role uint8

const (
	RoleServer Role = 1 // core.Server (Socket.IO over Engine.IO)
	RoleEngine Role = 2 // engine.NewServer(cfg, nil): a plain Engine.IO server
	RoleClient Role = 3 // a core/client Manager (client.go)
)

// Accepts reports whether a machine of role r takes the call k (an input
// or a command). A guest answers a call of a known kind that its machine's
// role does not take with StatusRole, and an unknown kind with
// StatusUnknownKind. A new command must be added here (TestRoleAccepts
// checks every kind of Kinds).
func (r Role) Accepts(k Kind) bool {
	if r == RoleClient {
		return clientAccepts(k)
	}
	switch k {
	case KindHTTPRequest, KindRecv, KindClosed, KindTimeout, KindClose, KindStats, KindConfig:
		return r == RoleServer || r == RoleEngine
	case KindEngineSend:
		return r == RoleEngine
	case KindClusterReceived, KindClusterServers, KindRecoveryFound, KindSnapshot, KindRestore: // snapshot.go
		return r == RoleServer
	}
	return r == RoleServer && k >= KindAddNamespace && k <= KindCounts
}

// Status is the result of an export: 0 for success, negative for an error.
// sio_handle and sio_poll return it as a negative i64.
type Status int32

// Status codes. -1..-15 are ABI errors (the host misused the ABI or sent a
// record the guest rejects); -16.. are the core's local-misuse errors.
const (
	StatusOK             Status = 0
	StatusBadRecord      Status = -1  // the record is malformed (ErrBadRecord)
	StatusUnknownKind    Status = -2  // the kind is not one this guest knows
	StatusState          Status = -3  // sio_new not called yet, or called twice
	StatusBounds         Status = -4  // ptr/len outside the exchange buffer
	StatusRole           Status = -5  // sio_new: a role not run here; sio_handle: a call of another role
	StatusUnknownSocket  Status = -16 // core.ErrUnknownSocket
	StatusUnknownNsp     Status = -17 // core.ErrUnknownNamespace
	StatusNamespaceExist Status = -18 // core.ErrNamespaceExists
	StatusUnknownInput   Status = -19 // core.ErrUnknownInput
	StatusUnknownAck     Status = -20 // core.ErrUnknownAck
	StatusUnknownSession Status = -21 // engine.ErrUnknownSession (EngineSend)
	StatusOther          Status = -31 // any other error of the core
)

// Errors for the ABI-level statuses. The core's statuses map to the core's
// own sentinel errors (see the host package).
var (
	ErrBadRecord   = errors.New("abi: malformed record")
	ErrUnknownKind = errors.New("abi: unknown record kind")
	ErrState       = errors.New("abi: machine not created, or created twice")
	ErrBounds      = errors.New("abi: buffer outside the exchange area")
	ErrRole        = errors.New("abi: unsupported role")
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusBadRecord:
		return "bad record"
	case StatusUnknownKind:
		return "unknown kind"
	case StatusState:
		return "bad state"
	case StatusBounds:
		return "out of bounds"
	case StatusRole:
		return "unsupported role"
	case StatusUnknownSocket:
		return "unknown socket"
	case StatusUnknownNsp:
		return "unknown namespace"
	case StatusNamespaceExist:
		return "namespace exists"
	case StatusUnknownInput:
		return "unknown input"
	case StatusUnknownAck:
		return "unknown ack"
	case StatusUnknownSession:
		return "unknown session"
	case StatusReservedEvent:
		return "reserved event"
	case StatusInvalidEvent:
		return "invalid event"
	case StatusInvalidAuth:
		return "invalid auth"
	case StatusBufferFull:
		return "buffer full"
	case StatusInvalidConfig:
		return "invalid config"
	case StatusBadSnapshot:
		return "bad snapshot"
	case StatusSnapshotConflict:
		return "snapshot conflict"
	case StatusOther:
		return "other error"
	}
	return "status(" + strconv.Itoa(int(s)) + ")"
}
