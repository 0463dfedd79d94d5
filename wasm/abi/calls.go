package abi

import (
	"time"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/engine"
	"github.com/socketcore/socketcore/core/sio"
	"github.com/socketcore/socketcore/core/wire"
)

// Init is the record sio_new takes: which machine to create and its
// configuration (zero values take the core's defaults, as in Go).
type Init struct {
	Role   Role
	Config core.Config
}

// The server-role commands. Emit and Broadcast travel as core.Emit and
// core.Broadcast; the others are the arguments of the core.Server method of
// the same name, except where a name would clash with a wire type (RoomsOf,
// IsConnected, TransportOf) or is a bare query (StatsQuery, ConfigQuery,
// CountsQuery).
type (
	AddNamespace struct {
		Name  string
		Gated bool
	}
	AcceptConnect struct {
		Socket wire.SocketID
	}
	RejectConnect struct {
		Socket  wire.SocketID
		Message string
		Data    []byte
	}
	Ack struct {
		Ref         wire.AckRef
		Args        []byte
		Attachments [][]byte
	}
	Join struct {
		Socket wire.SocketID
		Rooms  []string
	}
	Leave struct {
		Socket wire.SocketID
		Room   string
	}
	RoomsOf struct {
		Socket wire.SocketID
	}
	IsConnected struct {
		Socket wire.SocketID
	}
	TransportOf struct {
		Socket wire.SocketID
	}
	SocketsIn struct {
		Nsp   string
		Rooms []string
	}
	Disconnect struct {
		Socket       wire.SocketID
		CloseSession bool
	}
	Close       struct{}
	StatsQuery  struct{}
	ConfigQuery struct{}
	// CountsQuery asks for the three read-only counts of core/counts.go
	// at once (CountsReply): a host's metrics read them together.
	CountsQuery struct{}
)

// The cluster commands: the arguments of the core.Server methods of the
// same name. FetchSockets, AllRooms and ServerSideEmit reply with a
// RefReply (the ref their wire.ClusterRequestDone resolves; 0 for a
// ServerSideEmit without ack).
type (
	SocketsJoin struct {
		Target core.Target
		Rooms  []string
	}
	SocketsLeave struct {
		Target core.Target
		Rooms  []string
	}
	DisconnectSockets struct {
		Target       core.Target
		CloseSession bool
	}
	FetchSockets struct {
		Target core.Target
	}
	AllRooms struct {
		Nsp   string
		Local bool
	}
	ServerSideEmit struct {
		Nsp         string
		Data        []byte
		Attachments [][]byte
		WithAck     bool
	}
)

// SetRecoveryData is core.Server.SetRecoveryData: the application's data
// (JSON) for the saved session of a socket that just left, given back in
// the ConnectRequested or Connected of its recovery. No reply; an unknown
// socket (no session of it saved) is StatusUnknownSocket.
type SetRecoveryData struct {
	Socket wire.SocketID
	Data   []byte
}

// EngineSend is the engine role's command to send frames to a session:
// engine.Server.Send with the session named by its id. The frames are
// Engine.IO packets as a transport carries them (eio.AppendPacket form: a
// text frame "4hello" is a message). An unknown sid is
// StatusUnknownSession; a closing session queues them as Send would.
type EngineSend struct {
	SID      wire.SID
	Frames   []wire.Frame
	Volatile bool
	Compress bool
}

// The replies. Stats and Config reply with core.Stats and core.Config.
type (
	RefReply struct {
		Ref wire.AckRef
	}
	BroadcastReply struct {
		Ref     wire.AckRef
		Targets int
	}
	StringsReply struct {
		List []string
	}
	BoolReply struct {
		Value bool
	}
	StringReply struct {
		Value string
	}
	// CountsReply answers CountsQuery: core.Server's Transports,
	// VolatileDropped and NamespaceCounts (sorted by name).
	CountsReply struct {
		Polling, WebSocket int
		VolatileDropped    uint64
		Namespaces         []core.NamespaceCount
	}
)

// AppendCall appends the encoding of a record the host sends (Init, a
// wire.Input or a command) to dst and returns its kind; ErrUnknownKind for
// any other value. The guest never links it (see Append).
func AppendCall(dst []byte, r any) (Kind, []byte, error) {
	var k Kind
	b := dst
	switch r := r.(type) {
	case Init:
		k = KindInit
		b = appendU8(b, uint8(r.Role))
		b = appendConfig(b, r.Config)
	case wire.HTTPRequest:
		k = KindHTTPRequest
		b = appendU64(b, uint64(r.Conn))
		b = appendString(b, r.Method)
		b = appendString(b, r.Query)
		b = appendBool(b, r.WebSocket)
		b = appendBool(b, r.Binary)
		b = appendBytes(b, r.Body)
		b = appendBool(b, r.TooLarge)
	case wire.Recv:
		k = KindRecv
		b = appendU64(b, uint64(r.Conn))
		b = appendBytes(b, r.Data)
		b = appendBool(b, r.Binary)
	case wire.Closed:
		k = KindClosed
		b = appendU64(b, uint64(r.Conn))
		b = appendBool(b, r.Error)
	case wire.Timeout:
		k = KindTimeout
	case wire.ClusterReceived:
		k = KindClusterReceived
		b = appendClusterMessage(b, &r.Msg)
	case wire.ClusterServers:
		k = KindClusterServers
		b = appendString(b, r.RequestID)
		b = appendI64(b, int64(r.Servers))
	case wire.RecoveryFound:
		k = KindRecoveryFound
		b = appendU64(b, uint64(r.Ref))
		b = appendBool(b, r.Found)
		b = appendRecoverySession(b, &r.Session)
		b = appendBool(b, r.OffsetFound)
		b = appendRecoveryPackets(b, r.Packets)
	case AddNamespace:
		k = KindAddNamespace
		b = appendString(b, r.Name)
		b = appendBool(b, r.Gated)
	case AcceptConnect:
		k = KindAcceptConnect
		b = appendString(b, string(r.Socket))
	case RejectConnect:
		k = KindRejectConnect
		b = appendString(b, string(r.Socket))
		b = appendString(b, r.Message)
		b = appendBytes(b, r.Data)
	case core.Emit:
		k = KindEmit
		b = appendString(b, string(r.Socket))
		b = appendBytes(b, r.Data)
		b = appendBytesList(b, r.Attachments)
		b = appendBool(b, r.WithAck)
		b = appendI64(b, int64(r.Timeout))
		b = appendBool(b, r.Volatile)
		b = appendBool(b, r.Compress)
	case Ack:
		k = KindAck
		b = appendU64(b, uint64(r.Ref))
		b = appendBytes(b, r.Args)
		b = appendBytesList(b, r.Attachments)
	case core.Broadcast:
		k = KindBroadcast
		b = appendString(b, r.Nsp)
		b = appendStrings(b, r.Rooms)
		b = appendStrings(b, r.Except)
		b = appendBytes(b, r.Data)
		b = appendBytesList(b, r.Attachments)
		b = appendBool(b, r.Volatile)
		b = appendBool(b, r.Compress)
		b = appendBool(b, r.Local)
		b = appendBool(b, r.WithAck)
		b = appendI64(b, int64(r.Timeout))
	case Join:
		k = KindJoin
		b = appendString(b, string(r.Socket))
		b = appendStrings(b, r.Rooms)
	case Leave:
		k = KindLeave
		b = appendString(b, string(r.Socket))
		b = appendString(b, r.Room)
	case RoomsOf:
		k = KindRooms
		b = appendString(b, string(r.Socket))
	case IsConnected:
		k = KindConnected
		b = appendString(b, string(r.Socket))
	case TransportOf:
		k = KindTransport
		b = appendString(b, string(r.Socket))
	case SocketsIn:
		k = KindSocketsIn
		b = appendString(b, r.Nsp)
		b = appendStrings(b, r.Rooms)
	case Disconnect:
		k = KindDisconnect
		b = appendString(b, string(r.Socket))
		b = appendBool(b, r.CloseSession)
	case Close:
		k = KindClose
	case StatsQuery:
		k = KindStats
	case ConfigQuery:
		k = KindConfig
	case CountsQuery:
		k = KindCounts
	case EngineSend:
		k = KindEngineSend
		b = appendString(b, string(r.SID))
		b = appendFrames(b, r.Frames)
		b = appendBool(b, r.Volatile)
		b = appendBool(b, r.Compress)
	case SocketsJoin:
		k = KindSocketsJoin
		b = appendTarget(b, &r.Target)
		b = appendStrings(b, r.Rooms)
	case SocketsLeave:
		k = KindSocketsLeave
		b = appendTarget(b, &r.Target)
		b = appendStrings(b, r.Rooms)
	case DisconnectSockets:
		k = KindDisconnectSockets
		b = appendTarget(b, &r.Target)
		b = appendBool(b, r.CloseSession)
	case FetchSockets:
		k = KindFetchSockets
		b = appendTarget(b, &r.Target)
	case AllRooms:
		k = KindAllRooms
		b = appendString(b, r.Nsp)
		b = appendBool(b, r.Local)
	case ServerSideEmit:
		k = KindServerSideEmit
		b = appendString(b, r.Nsp)
		b = appendBytes(b, r.Data)
		b = appendBytesList(b, r.Attachments)
		b = appendBool(b, r.WithAck)
	case SetRecoveryData:
		k = KindSetRecoveryData
		b = appendString(b, string(r.Socket))
		b = appendBytes(b, r.Data)
	default:
		return 0, dst, ErrUnknownKind
	}
	return k, b, nil
}

func appendConfig(b []byte, c core.Config) []byte {
	b = appendI64(b, int64(c.PingInterval))
	b = appendI64(b, int64(c.PingTimeout))
	b = appendI64(b, int64(c.UpgradeTimeout))
	b = appendI64(b, int64(c.CloseTimeout))
	b = appendI64(b, int64(c.MaxPayload))
	b = appendI64(b, int64(c.MaxBufferedBytes))
	b = appendU8(b, uint8(c.Transports))
	b = appendBool(b, c.DisableUpgrades)
	b = append(b, c.Seed[:]...)
	b = appendI64(b, int64(c.ConnectTimeout))
	b = appendI64(b, int64(c.MaxAttachments))
	b = appendI64(b, int64(c.MaxDepth))
	b = appendI64(b, int64(c.MaxPendingAcks))
	b = appendBool(b, c.DynamicNamespaces)
	b = appendBool(b, c.Cluster)               // version 2
	b = appendI64(b, int64(c.RequestsTimeout)) // version 2
	b = appendI64(b, int64(c.RecoveryWindow))  // version 3
	b = appendI64(b, int64(c.RecoveryMaxPackets))
	b = appendI64(b, int64(c.RecoveryMaxBytes))
	b = appendBool(b, c.AllowEIO3)
	b = appendBool(b, c.RecoveryStore)
	b = appendU8(b, uint8(c.Parser)) // version 3 (unreleased): 0 default, 1 msgpack
	b = appendBool(b, c.RoomEvents)  // version 3 (unreleased)
	return b
}

func appendTarget(b []byte, t *core.Target) []byte {
	b = appendString(b, t.Nsp)
	b = appendStrings(b, t.Rooms)
	b = appendStrings(b, t.Except)
	return appendBool(b, t.Local)
}

func decodeTarget(d *dec) core.Target {
	return core.Target{Nsp: d.string(), Rooms: decodeStrings[string](d), Except: decodeStrings[string](d), Local: d.bool()}
}

func decodeConfig(d *dec) core.Config {
	var c core.Config
	c.PingInterval = time.Duration(d.i64())
	c.PingTimeout = time.Duration(d.i64())
	c.UpgradeTimeout = time.Duration(d.i64())
	c.CloseTimeout = time.Duration(d.i64())
	c.MaxPayload = d.int()
	c.MaxBufferedBytes = d.int()
	c.Transports = engine.Transports(d.u8())
	c.DisableUpgrades = d.bool()
	copy(c.Seed[:], d.take(32))
	c.ConnectTimeout = time.Duration(d.i64())
	c.MaxAttachments = d.int()
	c.MaxDepth = d.int()
	c.MaxPendingAcks = d.int()
	c.DynamicNamespaces = d.bool()
	c.Cluster = d.bool()
	c.RequestsTimeout = time.Duration(d.i64())
	c.RecoveryWindow = time.Duration(d.i64())
	c.RecoveryMaxPackets = d.int()
	c.RecoveryMaxBytes = d.int()
	c.AllowEIO3 = d.bool()
	c.RecoveryStore = d.bool()
	switch pr := sio.Parser(d.u8()); pr {
	case sio.DefaultParser, sio.MsgpackParser:
		c.Parser = pr
	default:
		d.bad = true // an unknown parser is refused, not run as the default
	}
	c.RoomEvents = d.bool()
	return c
}

// DecodeCall decodes a record the host sends: Init, an input or a command
// (see Decode for the rules).
func DecodeCall(k Kind, b []byte) (any, error) {
	d := &dec{b: b}
	var r any
	switch k {
	case KindInit:
		r = Init{Role: Role(d.u8()), Config: decodeConfig(d)}
	case KindHTTPRequest:
		r = decodeHTTPRequest(d)
	case KindRecv:
		r = decodeRecv(d)
	case KindClosed:
		r = wire.Closed{Conn: wire.ConnID(d.u64()), Error: d.bool()}
	case KindTimeout:
		r = wire.Timeout{}
	case KindClusterReceived:
		r = wire.ClusterReceived{Msg: decodeClusterMessage(d)}
	case KindClusterServers:
		r = wire.ClusterServers{RequestID: d.string(), Servers: d.int()}
	case KindRecoveryFound:
		r = wire.RecoveryFound{Ref: wire.AckRef(d.u64()), Found: d.bool(), Session: decodeRecoverySession(d),
			OffsetFound: d.bool(), Packets: decodeRecoveryPackets(d)}
	case KindAddNamespace:
		r = AddNamespace{Name: d.string(), Gated: d.bool()}
	case KindAcceptConnect:
		r = AcceptConnect{Socket: wire.SocketID(d.string())}
	case KindRejectConnect:
		r = RejectConnect{Socket: wire.SocketID(d.string()), Message: d.string(), Data: d.bytes()}
	case KindEmit:
		r = decodeEmit(d)
	case KindAck:
		r = decodeAck(d)
	case KindBroadcast:
		r = core.Broadcast{
			Nsp:         d.string(),
			Rooms:       decodeStrings[string](d),
			Except:      decodeStrings[string](d),
			Data:        d.bytes(),
			Attachments: d.bytesList(),
			Volatile:    d.bool(),
			Compress:    d.bool(),
			Local:       d.bool(),
			WithAck:     d.bool(),
			Timeout:     time.Duration(d.i64()),
		}
	case KindJoin:
		r = Join{Socket: wire.SocketID(d.string()), Rooms: decodeStrings[string](d)}
	case KindLeave:
		r = Leave{Socket: wire.SocketID(d.string()), Room: d.string()}
	case KindRooms:
		r = RoomsOf{Socket: wire.SocketID(d.string())}
	case KindConnected:
		r = IsConnected{Socket: wire.SocketID(d.string())}
	case KindTransport:
		r = TransportOf{Socket: wire.SocketID(d.string())}
	case KindSocketsIn:
		r = SocketsIn{Nsp: d.string(), Rooms: decodeStrings[string](d)}
	case KindDisconnect:
		r = Disconnect{Socket: wire.SocketID(d.string()), CloseSession: d.bool()}
	case KindClose:
		r = Close{}
	case KindStats:
		r = StatsQuery{}
	case KindConfig:
		r = ConfigQuery{}
	case KindCounts:
		r = CountsQuery{}
	case KindEngineSend:
		r = decodeEngineSend(d)
	case KindSocketsJoin:
		r = SocketsJoin{Target: decodeTarget(d), Rooms: decodeStrings[string](d)}
	case KindSocketsLeave:
		r = SocketsLeave{Target: decodeTarget(d), Rooms: decodeStrings[string](d)}
	case KindDisconnectSockets:
		r = DisconnectSockets{Target: decodeTarget(d), CloseSession: d.bool()}
	case KindFetchSockets:
		r = FetchSockets{Target: decodeTarget(d)}
	case KindAllRooms:
		r = AllRooms{Nsp: d.string(), Local: d.bool()}
	case KindServerSideEmit:
		r = ServerSideEmit{Nsp: d.string(), Data: d.bytes(), Attachments: d.bytesList(), WithAck: d.bool()}
	case KindSetRecoveryData:
		r = SetRecoveryData{Socket: wire.SocketID(d.string()), Data: d.bytes()}
	default:
		return nil, ErrUnknownKind
	}
	if err := d.finish(); err != nil {
		return nil, err
	}
	return r, nil
}

// The inputs and the per-packet commands also decode without boxing (the
// guest calls the core with the concrete value, which then needs no heap
// allocation: in core.wasm an allocation costs as much as a whole small
// packet's parsing).

// DecodeHTTPRequest decodes a KindHTTPRequest record (see Decode).
func DecodeHTTPRequest(b []byte) (wire.HTTPRequest, error) {
	d := dec{b: b}
	r := decodeHTTPRequest(&d)
	return r, d.finish()
}

// DecodeRecv decodes a KindRecv record (see Decode).
func DecodeRecv(b []byte) (wire.Recv, error) {
	d := dec{b: b}
	r := decodeRecv(&d)
	return r, d.finish()
}

// DecodeEmit decodes a KindEmit record (see Decode).
func DecodeEmit(b []byte) (core.Emit, error) {
	d := dec{b: b}
	r := decodeEmit(&d)
	return r, d.finish()
}

// DecodeAck decodes a KindAck record (see Decode).
func DecodeAck(b []byte) (Ack, error) {
	d := dec{b: b}
	r := decodeAck(&d)
	return r, d.finish()
}

// DecodeEngineSend decodes a KindEngineSend record (see Decode).
func DecodeEngineSend(b []byte) (EngineSend, error) {
	d := dec{b: b}
	r := decodeEngineSend(&d)
	return r, d.finish()
}

func decodeEngineSend(d *dec) EngineSend {
	return EngineSend{SID: wire.SID(d.string()), Frames: decodeFrames(d), Volatile: d.bool(), Compress: d.bool()}
}

func decodeHTTPRequest(d *dec) wire.HTTPRequest {
	return wire.HTTPRequest{
		Conn:      wire.ConnID(d.u64()),
		Method:    d.string(),
		Query:     d.string(),
		WebSocket: d.bool(),
		Binary:    d.bool(),
		Body:      d.bytes(),
		TooLarge:  d.bool(),
	}
}

func decodeRecv(d *dec) wire.Recv {
	return wire.Recv{Conn: wire.ConnID(d.u64()), Data: d.bytes(), Binary: d.bool()}
}

func decodeEmit(d *dec) core.Emit {
	return core.Emit{
		Socket:      wire.SocketID(d.string()),
		Data:        d.bytes(),
		Attachments: d.bytesList(),
		WithAck:     d.bool(),
		Timeout:     time.Duration(d.i64()),
		Volatile:    d.bool(),
		Compress:    d.bool(),
	}
}

func decodeAck(d *dec) Ack {
	return Ack{Ref: wire.AckRef(d.u64()), Args: d.bytes(), Attachments: d.bytesList()}
}
