package abi

import (
	"math"
	"time"

	"github.com/socketcore/socketcore/core/client"
	"github.com/socketcore/socketcore/core/sio"
	"github.com/socketcore/socketcore/core/wire"
)

// The client role (wasm/ABI.md §9.4): a core/client Manager behind the
// same exports. Its records live in the ranges version 1 reserved for it,
// so they are an addition: a guest without the role refuses Init.role 3
// with StatusRole, and these kinds with StatusUnknownKind.
//
// RoleClient (abi.go) runs the Manager. sio_new only reserves it: the
// first call MUST be ClientConfig (KindClientConfig), which creates the
// Manager; every other call before it is StatusState. Init.config is not
// read in this role (hosts send zeros).
//
// Like records.go's split, the guest links only DecodeClientCall and
// AppendClientResult; Append and Decode cover both directions.

// Client-role inputs (sio_handle), in the range 0x0110..0x011f. Recv,
// Closed and Timeout are shared with the other roles.
const (
	KindHTTPResponse Kind = 0x0110 // wire.HTTPResponse: the outcome of a Fetch
	KindDialed       Kind = 0x0111 // wire.Dialed: a Dial's WebSocket is open
)

// Client-role commands (sio_handle), class 0x03: one per client.Manager
// method. The Ack command (KindAck, 0x0205) is shared with the server
// role: same record, same meaning (answer the peer's acknowledgement
// request), client.Manager.Ack.
const (
	KindClientConfig      Kind = 0x0301 // client.Config: creates the Manager
	KindClientOpen        Kind = 0x0302 // Manager.Open
	KindClientClose       Kind = 0x0303 // Manager.Close
	KindAddSocket         Kind = 0x0304 // Manager.AddSocket
	KindClientConnect     Kind = 0x0305 // Manager.Connect
	KindClientDisconnect  Kind = 0x0306 // Manager.Disconnect
	KindSetAuth           Kind = 0x0307 // Manager.SetAuth
	KindClientEmit        Kind = 0x0308 // Manager.Emit; replies RefReply
	KindCancelAck         Kind = 0x0309 // Manager.CancelAck
	KindClientStats       Kind = 0x030a // Manager.Stats; replies ClientStatsReply
	KindClientCloseEngine Kind = 0x030b // Manager.CloseEngine
)

// The client role's reply besides RefReply.
const (
	KindClientStatsReply Kind = 0x0808 // client.Stats
)

// Client-role outputs (sio_poll): the requests the machine asks the host
// to perform (0x1010..0x101f), the Manager's notifications (0x13) and the
// namespace sockets' (0x14). Send, CloseConn, Wait, Connected,
// EventReceived and AckResolved are shared with the server role.
const (
	KindFetch Kind = 0x1010 // wire.Fetch
	KindDial  Kind = 0x1011 // wire.Dial

	KindEngineOpened     Kind = 0x1301
	KindEngineUpgraded   Kind = 0x1302
	KindEngineError      Kind = 0x1303
	KindEngineClosed     Kind = 0x1304
	KindReconnectAttempt Kind = 0x1305
	KindReconnected      Kind = 0x1306
	KindReconnectError   Kind = 0x1307
	KindReconnectFailed  Kind = 0x1308

	KindAuthRequested      Kind = 0x1401
	KindConnectError       Kind = 0x1402
	KindSocketDisconnected Kind = 0x1403
)

// Statuses only the client role's commands return (additions, §1).
const (
	StatusReservedEvent Status = -22 // client.ErrReservedEvent
	StatusInvalidEvent  Status = -23 // client.ErrInvalidEvent
	StatusInvalidAuth   Status = -24 // client.ErrInvalidAuth
	StatusBufferFull    Status = -25 // client.ErrBufferFull
	StatusInvalidConfig Status = -26 // client.ErrConfig
)

// The client-role commands' records. ClientConfig is client.Config and
// ClientStatsReply is client.Stats.
type (
	ClientOpen  struct{}
	ClientClose struct{}
	AddSocket   struct {
		Nsp         string
		Auth        []byte // JSON object, or empty for none
		DynamicAuth bool
		Retries     int
		AckTimeout  time.Duration
	}
	ClientConnect struct {
		Nsp string
	}
	ClientDisconnect struct {
		Nsp string
	}
	SetAuth struct {
		Nsp  string
		Auth []byte
	}
	ClientEmit struct {
		Nsp  string
		Emit client.Emit
	}
	CancelAck struct {
		Ref wire.AckRef
	}
	ClientStatsQuery  struct{}
	ClientCloseEngine struct{}
)

// IsClientKind reports whether k is a record kind of the client role's own
// (not one it shares with the other roles).
func IsClientKind(k Kind) bool {
	switch {
	case k == KindClientStatsReply:
	case k >= KindHTTPResponse && k <= KindDialed, k >= KindFetch && k <= KindDial:
	case k.Class() == 0x03, k.Class() == 0x13, k.Class() == 0x14:
	default:
		return false
	}
	return kindNames[k] != ""
}

// clientAccepts is RoleClient.Accepts: the client role takes its own
// inputs and commands, the shared inputs Recv, Closed, Timeout, and Ack.
func clientAccepts(k Kind) bool {
	switch k {
	case KindRecv, KindClosed, KindTimeout, KindAck:
		return true
	}
	return (k.IsInput() || k.IsCommand()) && IsClientKind(k)
}

// ---- host → guest -------------------------------------------------------

// AppendClientCall appends a record the host sends to a client machine
// that is the client role's own (ErrUnknownKind for any other value; the
// shared inputs and Ack are AppendCall's).
func AppendClientCall(dst []byte, r any) (Kind, []byte, error) {
	var k Kind
	b := dst
	switch r := r.(type) {
	case wire.HTTPResponse:
		k = KindHTTPResponse
		b = appendU64(b, uint64(r.Conn))
		b = appendI64(b, int64(r.Status))
		b = appendBytes(b, r.Body)
	case wire.Dialed:
		k = KindDialed
		b = appendU64(b, uint64(r.Conn))
	case client.Config:
		k = KindClientConfig
		b = appendClientConfig(b, &r)
	case ClientOpen:
		k = KindClientOpen
	case ClientClose:
		k = KindClientClose
	case AddSocket:
		k = KindAddSocket
		b = appendString(b, r.Nsp)
		b = appendBytes(b, r.Auth)
		b = appendBool(b, r.DynamicAuth)
		b = appendI64(b, int64(r.Retries))
		b = appendI64(b, int64(r.AckTimeout))
	case ClientConnect:
		k = KindClientConnect
		b = appendString(b, r.Nsp)
	case ClientDisconnect:
		k = KindClientDisconnect
		b = appendString(b, r.Nsp)
	case SetAuth:
		k = KindSetAuth
		b = appendString(b, r.Nsp)
		b = appendBytes(b, r.Auth)
	case ClientEmit:
		k = KindClientEmit
		b = appendString(b, r.Nsp)
		b = appendBytes(b, r.Emit.Data)
		b = appendBytesList(b, r.Emit.Attachments)
		b = appendBool(b, r.Emit.WithAck)
		b = appendI64(b, int64(r.Emit.Timeout))
		b = appendBool(b, r.Emit.Volatile)
		b = appendBool(b, r.Emit.Compress)
	case CancelAck:
		k = KindCancelAck
		b = appendU64(b, uint64(r.Ref))
	case ClientStatsQuery:
		k = KindClientStats
	case ClientCloseEngine:
		k = KindClientCloseEngine
	default:
		return 0, dst, ErrUnknownKind
	}
	return k, b, nil
}

func appendClientConfig(b []byte, c *client.Config) []byte {
	b = appendBool(b, c.Secure)
	b = appendString(b, c.Host)
	b = appendString(b, c.Path)
	b = appendString(b, c.Query)
	b = appendStrings(b, c.Transports)
	b = appendBool(b, c.NoUpgrade)
	b = appendBool(b, c.RememberUpgrade)
	b = appendBool(b, c.TryAllTransports)
	b = appendBool(b, c.NoTimestamp)
	b = appendBool(b, c.NoReconnection)
	b = appendI64(b, int64(c.ReconnectionAttempts))
	b = appendI64(b, int64(c.ReconnectionDelay))
	b = appendI64(b, int64(c.ReconnectionDelayMax))
	b = appendU64(b, math.Float64bits(c.RandomizationFactor))
	b = appendI64(b, int64(c.Timeout))
	b = appendI64(b, int64(c.MaxAttachments))
	b = appendI64(b, int64(c.MaxDepth))
	b = appendI64(b, int64(c.MaxPendingAcks))
	b = appendU8(b, uint8(c.Parser))
	return append(b, c.Seed[:]...)
}

func decodeClientConfig(d *dec) client.Config {
	var c client.Config
	c.Secure = d.bool()
	c.Host = d.string()
	c.Path = d.string()
	c.Query = d.string()
	c.Transports = decodeStrings[string](d)
	c.NoUpgrade = d.bool()
	c.RememberUpgrade = d.bool()
	c.TryAllTransports = d.bool()
	c.NoTimestamp = d.bool()
	c.NoReconnection = d.bool()
	c.ReconnectionAttempts = d.int()
	c.ReconnectionDelay = time.Duration(d.i64())
	c.ReconnectionDelayMax = time.Duration(d.i64())
	c.RandomizationFactor = math.Float64frombits(d.u64())
	c.Timeout = time.Duration(d.i64())
	c.MaxAttachments = d.int()
	c.MaxDepth = d.int()
	c.MaxPendingAcks = d.int()
	switch pr := sio.Parser(d.u8()); pr {
	case sio.DefaultParser, sio.MsgpackParser:
		c.Parser = pr
	default:
		d.bad = true
	}
	copy(c.Seed[:], d.take(32))
	return c
}

// DecodeClientCall decodes a record of the client role's own calls (see
// Decode for the rules; ErrUnknownKind for any other kind).
func DecodeClientCall(k Kind, b []byte) (any, error) {
	d := &dec{b: b}
	var r any
	switch k {
	case KindHTTPResponse:
		r = wire.HTTPResponse{Conn: wire.ConnID(d.u64()), Status: d.int(), Body: d.bytes()}
	case KindDialed:
		r = wire.Dialed{Conn: wire.ConnID(d.u64())}
	case KindClientConfig:
		r = decodeClientConfig(d)
	case KindClientOpen:
		r = ClientOpen{}
	case KindClientClose:
		r = ClientClose{}
	case KindAddSocket:
		r = AddSocket{Nsp: d.string(), Auth: d.bytes(), DynamicAuth: d.bool(), Retries: d.int(), AckTimeout: time.Duration(d.i64())}
	case KindClientConnect:
		r = ClientConnect{Nsp: d.string()}
	case KindClientDisconnect:
		r = ClientDisconnect{Nsp: d.string()}
	case KindSetAuth:
		r = SetAuth{Nsp: d.string(), Auth: d.bytes()}
	case KindClientEmit:
		r = ClientEmit{Nsp: d.string(), Emit: client.Emit{
			Data:        d.bytes(),
			Attachments: d.bytesList(),
			WithAck:     d.bool(),
			Timeout:     time.Duration(d.i64()),
			Volatile:    d.bool(),
			Compress:    d.bool(),
		}}
	case KindCancelAck:
		r = CancelAck{Ref: wire.AckRef(d.u64())}
	case KindClientStats:
		r = ClientStatsQuery{}
	case KindClientCloseEngine:
		r = ClientCloseEngine{}
	default:
		return nil, ErrUnknownKind
	}
	if err := d.finish(); err != nil {
		return nil, err
	}
	return r, nil
}

// ---- guest → host -------------------------------------------------------

// AppendClientResult appends an output or reply of the client role's own
// (ErrUnknownKind for any other value; the shared ones are AppendResult's).
func AppendClientResult(dst []byte, r any) (Kind, []byte, error) {
	var k Kind
	b := dst
	switch r := r.(type) {
	case client.Stats:
		k = KindClientStatsReply
		for _, v := range [...]int{r.Conns, r.Timers, r.Sockets, r.Acks, r.InAcks, r.Buffered} {
			b = appendI64(b, int64(v))
		}
	case wire.Fetch:
		k = KindFetch
		b = appendU64(b, uint64(r.Conn))
		b = appendString(b, r.Method)
		b = appendString(b, r.URL)
		b = appendString(b, r.ContentType)
		b = appendBytes(b, r.Body)
	case wire.Dial:
		k = KindDial
		b = appendU64(b, uint64(r.Conn))
		b = appendString(b, r.URL)
	case wire.EngineOpened:
		k = KindEngineOpened
		b = appendString(b, string(r.SID))
		b = appendString(b, r.Transport)
	case wire.EngineUpgraded:
		k = KindEngineUpgraded
		b = appendString(b, string(r.SID))
		b = appendString(b, r.Transport)
	case wire.EngineError:
		k = KindEngineError
		b = appendString(b, r.Message)
		b = appendString(b, r.Description)
	case wire.EngineClosed:
		k = KindEngineClosed
		b = appendString(b, r.Reason)
		b = appendString(b, r.Description)
	case wire.ReconnectAttempt:
		k = KindReconnectAttempt
		b = appendI64(b, int64(r.Attempt))
	case wire.Reconnected:
		k = KindReconnected
		b = appendI64(b, int64(r.Attempt))
	case wire.ReconnectError:
		k = KindReconnectError
		b = appendString(b, r.Message)
	case wire.ReconnectFailed:
		k = KindReconnectFailed
	case wire.AuthRequested:
		k = KindAuthRequested
		b = appendString(b, r.Nsp)
	case wire.ConnectError:
		k = KindConnectError
		b = appendString(b, r.Nsp)
		b = appendString(b, r.Message)
		b = appendBytes(b, r.Data)
		b = appendBool(b, r.Server)
	case wire.SocketDisconnected:
		k = KindSocketDisconnected
		b = appendString(b, r.Nsp)
		b = appendString(b, string(r.Socket))
		b = appendString(b, r.Reason)
		b = appendString(b, r.Description)
	default:
		return 0, dst, ErrUnknownKind
	}
	return k, b, nil
}

// DecodeClientResult decodes an output or reply of the client role's own.
func DecodeClientResult(k Kind, b []byte) (any, error) {
	d := &dec{b: b}
	var r any
	switch k {
	case KindClientStatsReply:
		r = client.Stats{Conns: d.int(), Timers: d.int(), Sockets: d.int(), Acks: d.int(), InAcks: d.int(), Buffered: d.int()}
	case KindFetch:
		r = wire.Fetch{Conn: wire.ConnID(d.u64()), Method: d.string(), URL: d.string(), ContentType: d.string(), Body: d.bytes()}
	case KindDial:
		r = wire.Dial{Conn: wire.ConnID(d.u64()), URL: d.string()}
	case KindEngineOpened:
		r = wire.EngineOpened{SID: wire.SID(d.string()), Transport: d.string()}
	case KindEngineUpgraded:
		r = wire.EngineUpgraded{SID: wire.SID(d.string()), Transport: d.string()}
	case KindEngineError:
		r = wire.EngineError{Message: d.string(), Description: d.string()}
	case KindEngineClosed:
		r = wire.EngineClosed{Reason: d.string(), Description: d.string()}
	case KindReconnectAttempt:
		r = wire.ReconnectAttempt{Attempt: d.int()}
	case KindReconnected:
		r = wire.Reconnected{Attempt: d.int()}
	case KindReconnectError:
		r = wire.ReconnectError{Message: d.string()}
	case KindReconnectFailed:
		r = wire.ReconnectFailed{}
	case KindAuthRequested:
		r = wire.AuthRequested{Nsp: d.string()}
	case KindConnectError:
		r = wire.ConnectError{Nsp: d.string(), Message: d.string(), Data: d.bytes(), Server: d.bool()}
	case KindSocketDisconnected:
		r = wire.SocketDisconnected{Nsp: d.string(), Socket: wire.SocketID(d.string()), Reason: d.string(), Description: d.string()}
	default:
		return nil, ErrUnknownKind
	}
	if err := d.finish(); err != nil {
		return nil, err
	}
	return r, nil
}
