package abi

import (
	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// AppendResult appends the encoding of a record the guest sends (a reply or
// a wire.Output) to dst and returns its kind; ErrUnknownKind for any other
// value.
func AppendResult(dst []byte, r any) (Kind, []byte, error) {
	var k Kind
	b := dst
	switch r := r.(type) {
	case RefReply:
		k = KindRefReply
		b = appendU64(b, uint64(r.Ref))
	case BroadcastReply:
		k = KindBroadcastReply
		b = appendU64(b, uint64(r.Ref))
		b = appendI64(b, int64(r.Targets))
	case StringsReply:
		k = KindStringsReply
		b = appendStrings(b, r.List)
	case BoolReply:
		k = KindBoolReply
		b = appendBool(b, r.Value)
	case StringReply:
		k = KindStringReply
		b = appendString(b, r.Value)
	case core.Stats:
		k = KindStatsReply
		for _, v := range [...]int{r.Sessions, r.Closing, r.Sockets, r.Pending, r.InAcks, r.OutAcks, r.Namespaces, r.Timers} {
			b = appendI64(b, int64(v))
		}
	case core.Config:
		k = KindConfigReply
		b = appendConfig(b, r)
	case CountsReply:
		k = KindCountsReply
		b = appendI64(b, int64(r.Polling))
		b = appendI64(b, int64(r.WebSocket))
		b = appendU64(b, r.VolatileDropped)
		b = appendLen(b, len(r.Namespaces))
		for _, n := range r.Namespaces {
			b = appendString(b, n.Name)
			b = appendI64(b, int64(n.Sockets))
			b = appendI64(b, int64(n.Rooms))
		}
	case wire.Respond:
		k = KindRespond
		b = appendU64(b, uint64(r.Conn))
		b = appendI64(b, int64(r.Status))
		b = appendString(b, r.ContentType)
		b = appendBytes(b, r.Body)
		b = appendBool(b, r.Compress)
	case wire.AcceptWebSocket:
		k = KindAcceptWebSocket
		b = appendU64(b, uint64(r.Conn))
	case wire.Send:
		k = KindSend
		b = appendU64(b, uint64(r.Conn))
		b = appendFrames(b, r.Frames)
		b = appendBool(b, r.Volatile)
		b = appendBool(b, r.Compress)
	case wire.Broadcast:
		k = KindBroadcastOut
		b = appendLen(b, len(r.Conns))
		for _, c := range r.Conns {
			b = appendU64(b, uint64(c))
		}
		b = appendFrames(b, r.Frames)
		b = appendBool(b, r.Volatile)
		b = appendBool(b, r.Compress)
	case wire.CloseConn:
		k = KindCloseConn
		b = appendU64(b, uint64(r.Conn))
	case wire.Wait:
		k = KindWait
		b = appendI64(b, int64(r.Deadline))
	case wire.SessionOpened:
		k = KindSessionOpened
		b = appendString(b, string(r.SID))
		b = appendU64(b, uint64(r.Conn))
		b = appendBool(b, r.WebSocket)
	case wire.SessionUpgraded:
		k = KindSessionUpgraded
		b = appendString(b, string(r.SID))
		b = appendU64(b, uint64(r.Conn))
	case wire.SessionClosed:
		k = KindSessionClosed
		b = appendString(b, string(r.SID))
		b = appendString(b, r.Reason)
	case wire.MessageReceived:
		k = KindMessageReceived
		b = appendString(b, string(r.SID))
		b = appendBytes(b, r.Data)
		b = appendBool(b, r.Binary)
	case wire.ConnectRequested:
		k = KindConnectRequested
		b = appendString(b, string(r.Socket))
		b = appendString(b, string(r.SID))
		b = appendString(b, r.Nsp)
		b = appendBytes(b, r.Auth)
		b = appendBool(b, r.Known)
		b = appendBool(b, r.Recovered) // version 3
		b = appendBytes(b, r.Data)
	case wire.Connected:
		k = KindConnectedOut
		b = appendString(b, string(r.Socket))
		b = appendString(b, string(r.SID))
		b = appendString(b, r.Nsp)
		b = appendBool(b, r.Recovered) // version 3
		b = appendBytes(b, r.Data)
	case wire.EventReceived:
		k = KindEventReceived
		b = appendString(b, string(r.Socket))
		b = appendString(b, r.Name)
		b = appendBytes(b, r.Data)
		b = appendBytesList(b, r.Attachments)
		b = appendU64(b, uint64(r.Ack))
	case wire.AckResolved:
		k = KindAckResolved
		b = appendU64(b, uint64(r.Ref))
		b = appendString(b, string(r.Socket))
		b = appendBytes(b, r.Args)
		b = appendBytesList(b, r.Attachments)
		b = appendU8(b, uint8(r.Err))
	case wire.BroadcastAckResolved:
		k = KindBroadcastAckResolved
		b = appendU64(b, uint64(r.Ref))
		b = appendReplies(b, r.Replies)
		b = appendBool(b, r.TimedOut)
	case wire.Disconnecting:
		k = KindDisconnecting
		b = appendString(b, string(r.Socket))
		b = appendString(b, r.Reason)
		b = appendStrings(b, r.Rooms)
	case wire.Disconnected:
		k = KindDisconnected
		b = appendString(b, string(r.Socket))
		b = appendString(b, r.Reason)
	case wire.RoomJoined:
		k = KindRoomJoined
		b = appendString(b, r.Nsp)
		b = appendString(b, r.Room)
		b = appendString(b, string(r.Socket))
	case wire.RoomLeft:
		k = KindRoomLeft
		b = appendString(b, r.Nsp)
		b = appendString(b, r.Room)
		b = appendString(b, string(r.Socket))
	case wire.ClusterPublish:
		k = KindClusterPublish
		b = appendClusterMessage(b, &r.Msg)
		b = appendBool(b, r.CountServers)
	case wire.ClusterRequestDone:
		k = KindClusterRequestDone
		b = appendU64(b, uint64(r.Ref))
		b = appendClusterSockets(b, r.Sockets)
		b = appendStrings(b, r.Rooms)
		b = appendReplies(b, r.Replies)
		b = appendBool(b, r.TimedOut)
		b = appendI64(b, int64(r.Answers))
		b = appendI64(b, int64(r.Expected))
	case wire.ServerSideEmitReceived:
		k = KindServerSideEmitReceived
		b = appendString(b, r.Nsp)
		b = appendBytes(b, r.Data)
		b = appendBytesList(b, r.Attachments)
		b = appendU64(b, uint64(r.Ack))
	case wire.RoomCreated:
		k = KindRoomCreated
		b = appendString(b, r.Nsp)
		b = appendString(b, r.Room)
	case wire.RoomDeleted:
		k = KindRoomDeleted
		b = appendString(b, r.Nsp)
		b = appendString(b, r.Room)
	case wire.RecoveryRecord:
		k = KindRecoveryRecord
		b = appendString(b, r.Nsp)
		b = appendRecoveryPacket(b, &r.Packet)
	case wire.RecoverySession:
		k = KindRecoverySession
		b = appendRecoverySession(b, &r)
	case wire.RecoveryLookup:
		k = KindRecoveryLookup
		b = appendU64(b, uint64(r.Ref))
		b = appendString(b, r.Nsp)
		b = appendString(b, r.PID)
		b = appendString(b, r.Offset)
		b = appendString(b, r.Node)
	default:
		return 0, dst, ErrUnknownKind
	}
	return k, b, nil
}

func appendFrames(b []byte, fs []wire.Frame) []byte {
	b = appendLen(b, len(fs))
	for _, f := range fs {
		b = appendBool(b, f.Binary)
		b = appendBytes(b, f.Data)
	}
	return b
}

func decodeFrames(d *dec) []wire.Frame {
	n := d.count(5)
	if n == 0 {
		return nil
	}
	fs := make([]wire.Frame, n)
	for i := range fs {
		fs[i].Binary = d.bool()
		fs[i].Data = d.bytes()
	}
	return fs
}

// DecodeResult decodes a record the guest sends: a reply or an output (see
// Decode for the rules).
func DecodeResult(k Kind, b []byte) (any, error) {
	d := &dec{b: b}
	var r any
	switch k {
	case KindRefReply:
		r = RefReply{Ref: wire.AckRef(d.u64())}
	case KindBroadcastReply:
		r = BroadcastReply{Ref: wire.AckRef(d.u64()), Targets: d.int()}
	case KindStringsReply:
		r = StringsReply{List: decodeStrings[string](d)}
	case KindBoolReply:
		r = BoolReply{Value: d.bool()}
	case KindStringReply:
		r = StringReply{Value: d.string()}
	case KindStatsReply:
		r = core.Stats{
			Sessions:   d.int(),
			Closing:    d.int(),
			Sockets:    d.int(),
			Pending:    d.int(),
			InAcks:     d.int(),
			OutAcks:    d.int(),
			Namespaces: d.int(),
			Timers:     d.int(),
		}
	case KindConfigReply:
		r = decodeConfig(d)
	case KindCountsReply:
		c := CountsReply{Polling: d.int(), WebSocket: d.int(), VolatileDropped: d.u64()}
		if n := d.count(4 + 8 + 8); n > 0 { // name's length, sockets, rooms
			c.Namespaces = make([]core.NamespaceCount, n)
			for i := range c.Namespaces {
				c.Namespaces[i] = core.NamespaceCount{Name: d.string(), Sockets: d.int(), Rooms: d.int()}
			}
		}
		r = c
	case KindRespond:
		r = wire.Respond{
			Conn:        wire.ConnID(d.u64()),
			Status:      d.int(),
			ContentType: d.string(),
			Body:        d.bytes(),
			Compress:    d.bool(),
		}
	case KindAcceptWebSocket:
		r = wire.AcceptWebSocket{Conn: wire.ConnID(d.u64())}
	case KindSend:
		r = wire.Send{Conn: wire.ConnID(d.u64()), Frames: decodeFrames(d), Volatile: d.bool(), Compress: d.bool()}
	case KindBroadcastOut:
		var conns []wire.ConnID
		if n := d.count(8); n > 0 {
			conns = make([]wire.ConnID, n)
			for i := range conns {
				conns[i] = wire.ConnID(d.u64())
			}
		}
		r = wire.Broadcast{Conns: conns, Frames: decodeFrames(d), Volatile: d.bool(), Compress: d.bool()}
	case KindCloseConn:
		r = wire.CloseConn{Conn: wire.ConnID(d.u64())}
	case KindWait:
		r = wire.Wait{Deadline: clock.Instant(d.i64())}
	case KindSessionOpened:
		r = wire.SessionOpened{SID: wire.SID(d.string()), Conn: wire.ConnID(d.u64()), WebSocket: d.bool()}
	case KindSessionUpgraded:
		r = wire.SessionUpgraded{SID: wire.SID(d.string()), Conn: wire.ConnID(d.u64())}
	case KindSessionClosed:
		r = wire.SessionClosed{SID: wire.SID(d.string()), Reason: d.string()}
	case KindMessageReceived:
		r = wire.MessageReceived{SID: wire.SID(d.string()), Data: d.bytes(), Binary: d.bool()}
	case KindConnectRequested:
		r = wire.ConnectRequested{
			Socket:    wire.SocketID(d.string()),
			SID:       wire.SID(d.string()),
			Nsp:       d.string(),
			Auth:      d.bytes(),
			Known:     d.bool(),
			Recovered: d.bool(),
			Data:      d.bytes(),
		}
	case KindConnectedOut:
		r = wire.Connected{
			Socket:    wire.SocketID(d.string()),
			SID:       wire.SID(d.string()),
			Nsp:       d.string(),
			Recovered: d.bool(),
			Data:      d.bytes(),
		}
	case KindEventReceived:
		r = wire.EventReceived{
			Socket:      wire.SocketID(d.string()),
			Name:        d.string(),
			Data:        d.bytes(),
			Attachments: d.bytesList(),
			Ack:         wire.AckRef(d.u64()),
		}
	case KindAckResolved:
		r = wire.AckResolved{
			Ref:         wire.AckRef(d.u64()),
			Socket:      wire.SocketID(d.string()),
			Args:        d.bytes(),
			Attachments: d.bytesList(),
			Err:         wire.AckError(d.u8()),
		}
	case KindBroadcastAckResolved:
		r = wire.BroadcastAckResolved{Ref: wire.AckRef(d.u64()), Replies: decodeReplies(d), TimedOut: d.bool()}
	case KindDisconnecting:
		r = wire.Disconnecting{Socket: wire.SocketID(d.string()), Reason: d.string(), Rooms: decodeStrings[string](d)}
	case KindDisconnected:
		r = wire.Disconnected{Socket: wire.SocketID(d.string()), Reason: d.string()}
	case KindRoomJoined:
		r = wire.RoomJoined{Nsp: d.string(), Room: d.string(), Socket: wire.SocketID(d.string())}
	case KindRoomLeft:
		r = wire.RoomLeft{Nsp: d.string(), Room: d.string(), Socket: wire.SocketID(d.string())}
	case KindClusterPublish:
		r = wire.ClusterPublish{Msg: decodeClusterMessage(d), CountServers: d.bool()}
	case KindClusterRequestDone:
		r = wire.ClusterRequestDone{
			Ref:      wire.AckRef(d.u64()),
			Sockets:  decodeClusterSockets(d),
			Rooms:    decodeStrings[string](d),
			Replies:  decodeReplies(d),
			TimedOut: d.bool(),
			Answers:  d.int(),
			Expected: d.int(),
		}
	case KindServerSideEmitReceived:
		r = wire.ServerSideEmitReceived{Nsp: d.string(), Data: d.bytes(), Attachments: d.bytesList(), Ack: wire.AckRef(d.u64())}
	case KindRoomCreated:
		r = wire.RoomCreated{Nsp: d.string(), Room: d.string()}
	case KindRoomDeleted:
		r = wire.RoomDeleted{Nsp: d.string(), Room: d.string()}
	case KindRecoveryRecord:
		r = wire.RecoveryRecord{Nsp: d.string(), Packet: decodeRecoveryPacket(d)}
	case KindRecoverySession:
		r = decodeRecoverySession(d)
	case KindRecoveryLookup:
		r = wire.RecoveryLookup{Ref: wire.AckRef(d.u64()), Nsp: d.string(), PID: d.string(), Offset: d.string(), Node: d.string()}
	default:
		return nil, ErrUnknownKind
	}
	if err := d.finish(); err != nil {
		return nil, err
	}
	return r, nil
}
