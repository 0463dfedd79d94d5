package redis

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf16"

	"github.com/socketcore/socketcore/adapter/wire"
	cw "github.com/socketcore/socketcore/core/wire"
)

// SubscriptionMode is Node's subscriptionMode option of the sharded adapter:
// which rooms get a channel of their own. Every server of a cluster must use
// the same mode.
type SubscriptionMode string

const (
	// Dynamic (the default): a broadcast to exactly one room that does not
	// look like a socket id (20 characters) goes to the room's channel.
	Dynamic SubscriptionMode = "dynamic"
	// DynamicPrivate: every room has a channel, socket ids included.
	DynamicPrivate SubscriptionMode = "dynamic-private"
	// Static: everything goes to the namespace's channel.
	Static SubscriptionMode = "static"
)

func (m SubscriptionMode) valid() bool {
	return m == Dynamic || m == DynamicPrivate || m == Static
}

// Message types of socket.io-adapter's ClusterAdapter, which Node's sharded
// adapter speaks. 1, 2 and 13 belong to the heartbeat variant, which the
// sharded Redis adapter does not use.
const (
	shInitialHeartbeat       = 1
	shHeartbeat              = 2
	shBroadcast              = 3
	shSocketsJoin            = 4
	shSocketsLeave           = 5
	shDisconnectSockets      = 6
	shFetchSockets           = 7
	shFetchSocketsResponse   = 8
	shServerSideEmit         = 9
	shServerSideEmitResponse = 10
	shBroadcastClientCount   = 11
	shBroadcastAck           = 12
	shAdapterClose           = 13
)

// ShardedCodec maps cluster messages to and from the messages of Node's
// sharded adapter (createShardedAdapter: socket.io-adapter's ClusterAdapter
// on Redis 7 sharded pub/sub), for one server (its Prefix, UID and Mode).
// It is pure: the Adapter does the I/O.
//
// Every message is {type, data, uid, nsp}: JSON, or msgpack when its type
// may carry binary (3, 8, 9, 10, 12) and data does. Channels:
//
//	<prefix>#<nsp>#         the namespace's channel: requests, broadcasts
//	<prefix>#<nsp>#<room>#  broadcasts to exactly one room, without acks,
//	                        when Mode gives the room a channel
//	<prefix>#<nsp>#<uid>#   answers to the server with that uid
type ShardedCodec struct {
	Prefix string           // Node's channelPrefix
	UID    string           // this server's uid (16 hex characters, as Node's)
	Mode   SubscriptionMode // "" is Dynamic
}

// MainChannel is <prefix>#<nsp>#, which every server of nsp subscribes to
// (PUBSUB SHARDNUMSUB on it counts them).
func (c ShardedCodec) MainChannel(nsp string) string { return wire.BroadcastChannel(c.Prefix, nsp) }

// RoomChannel is <prefix>#<nsp>#<room>#.
func (c ShardedCodec) RoomChannel(nsp, room string) string {
	return wire.RoomChannel(c.Prefix, nsp, room)
}

// ResponseChannel is <prefix>#<nsp>#<uid>#, where the server uid gets the
// answers to its requests.
func (c ShardedCodec) ResponseChannel(nsp, uid string) string {
	return wire.RoomChannel(c.Prefix, nsp, uid)
}

// UsesRoomChannel reports whether Mode gives room a channel of its own:
// never in Static, always in DynamicPrivate, and in Dynamic unless the room
// looks like a socket id (20 UTF-16 code units, JS's length). Publishers
// put single-room broadcasts there, so receivers subscribe to it while the
// room has local sockets.
func (c ShardedCodec) UsesRoomChannel(room string) bool {
	switch c.Mode {
	case DynamicPrivate:
		return true
	case Static:
		return false
	}
	return jsLength(room) != 20
}

// jsLength is a string's length in UTF-16 code units (JS's length); an
// invalid UTF-8 byte counts as one U+FFFD.
func jsLength(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// Encode returns the message Node's sharded adapter publishes for m.
// requester is the uid of the server whose request m answers: answers go
// to its response channel, so it is required for them.
//
// AllRooms and AllRoomsResponse have no sharded form (ClusterAdapter has
// no ALL_ROOMS message): Encode returns an error wrapping ErrUnsupported
// (and errors.ErrUnsupported). Flags are written as in the classic
// protocol; requests with opts (join, leave, disconnect, fetch) carry
// flags too, {} or {timeout} when m.Timeout is set.
func (c ShardedCodec) Encode(m cw.ClusterMessage, requester string) (Message, error) {
	nsp := m.Nsp
	if nsp == "" {
		nsp = "/"
	}
	var (
		typ  int
		data wire.Map
		err  error
	)
	channel := c.MainChannel(nsp)
	switch m.Type {
	case cw.ClusterBroadcast:
		ev, err := eventValue(m.Data, m.Attachments)
		if err != nil {
			return Message{}, err
		}
		rooms := set(m.Rooms)
		typ = shBroadcast
		data = wire.Map{{Key: "packet", Value: wire.Map{{Key: "type", Value: int64(packetEvent)}, {Key: "data", Value: ev}}}}
		if m.RequestID != "" {
			data = append(data, wire.KV{Key: "requestId", Value: m.RequestID})
		}
		data = append(data, wire.KV{Key: "opts", Value: shardedOpts(rooms, set(m.Except), flags(m))})
		// Node: a broadcast with acks cannot use a room's channel, since
		// serverCount() counts every server, not those with the room.
		if m.RequestID == "" && len(rooms) == 1 && c.UsesRoomChannel(rooms[0]) {
			channel = c.RoomChannel(nsp, rooms[0])
		}
	case cw.ClusterSocketsJoin, cw.ClusterSocketsLeave:
		typ = shSocketsJoin
		if m.Type == cw.ClusterSocketsLeave {
			typ = shSocketsLeave
		}
		data = wire.Map{{Key: "opts", Value: shardedOpts(set(m.Rooms), set(m.Except), requestFlags(m))},
			{Key: "rooms", Value: nonNil(m.JoinRooms)}}
	case cw.ClusterDisconnectSockets:
		typ = shDisconnectSockets
		data = wire.Map{{Key: "opts", Value: shardedOpts(set(m.Rooms), set(m.Except), requestFlags(m))},
			{Key: "close", Value: m.Close}}
	case cw.ClusterFetchSockets:
		if m.RequestID == "" {
			return Message{}, errors.New("redis adapter: FetchSockets without a RequestID")
		}
		typ = shFetchSockets
		data = wire.Map{{Key: "opts", Value: shardedOpts(set(m.Rooms), set(m.Except), requestFlags(m))},
			{Key: "requestId", Value: m.RequestID}}
	case cw.ClusterServerSideEmit:
		ev, err := eventValue(m.Data, m.Attachments)
		if err != nil {
			return Message{}, err
		}
		typ = shServerSideEmit
		if m.RequestID != "" {
			data = wire.Map{{Key: "requestId", Value: m.RequestID}}
		}
		data = append(data, wire.KV{Key: "packet", Value: ev})
	case cw.ClusterAllRooms, cw.ClusterAllRoomsResponse:
		return Message{}, fmt.Errorf("%w: %v has no sharded form (%w)", ErrUnsupported, m.Type, errors.ErrUnsupported)
	default:
		// Answers: to the requester's channel.
		if m.RequestID == "" {
			return Message{}, fmt.Errorf("redis adapter: %v without a RequestID", m.Type)
		}
		data = wire.Map{{Key: "requestId", Value: m.RequestID}}
		switch m.Type {
		case cw.ClusterFetchSocketsResponse:
			typ = shFetchSocketsResponse
			sockets := make([]wire.Value, len(m.Sockets))
			for i, s := range m.Sockets {
				hs, err := jsonValue(s.Handshake, defaultHandshake)
				if err != nil {
					return Message{}, fmt.Errorf("redis adapter: socket %s handshake: %w", s.ID, err)
				}
				sd, err := jsonValue(s.Data, emptyObject)
				if err != nil {
					return Message{}, fmt.Errorf("redis adapter: socket %s data: %w", s.ID, err)
				}
				sockets[i] = wire.Map{{Key: "id", Value: string(s.ID)}, {Key: "handshake", Value: hs},
					{Key: "rooms", Value: nonNil(s.Rooms)}, {Key: "data", Value: sd}}
			}
			data = append(data, wire.KV{Key: "sockets", Value: sockets})
		case cw.ClusterServerSideEmitResponse, cw.ClusterBroadcastAck:
			typ = shServerSideEmitResponse
			if m.Type == cw.ClusterBroadcastAck {
				typ = shBroadcastAck
			}
			arg, ok, err := firstArg(m.Data, m.Attachments)
			if err != nil {
				return Message{}, err
			}
			if ok {
				data = append(data, wire.KV{Key: "packet", Value: arg})
			}
		case cw.ClusterBroadcastClientCount:
			typ = shBroadcastClientCount
			data = append(data, wire.KV{Key: "clientCount", Value: int64(m.ClientCount)})
		default:
			return Message{}, fmt.Errorf("redis adapter: cannot encode %v", m.Type)
		}
		if requester == "" {
			return Message{}, fmt.Errorf("redis adapter: %v to request %q: requester unknown", m.Type, m.RequestID)
		}
		channel = c.ResponseChannel(nsp, requester)
	}
	msg := wire.Map{{Key: "type", Value: int64(typ)}, {Key: "data", Value: data},
		{Key: "uid", Value: c.UID}, {Key: "nsp", Value: nsp}}
	var b []byte
	if mayCarryBinary(typ) && hasBinary(data, 0) {
		b, err = wire.AppendMsgpackValue(nil, msg)
	} else {
		b, err = wire.AppendJSONValue(nil, msg)
	}
	if err != nil {
		return Message{}, err
	}
	return Message{channel, b}, nil
}

// shardedOpts is ClusterAdapter's encodeOptions: {rooms, except, flags}.
func shardedOpts(rooms, except []string, flags wire.Map) wire.Map {
	return wire.Map{{Key: "rooms", Value: rooms}, {Key: "except", Value: except}, {Key: "flags", Value: flags}}
}

// requestFlags are the flags of join, leave, disconnect and fetch: Node
// sends the operator's, {} unless a timeout was set (fetchSockets).
func requestFlags(m cw.ClusterMessage) wire.Map {
	if m.Timeout > 0 {
		return wire.Map{{Key: "timeout", Value: m.Timeout.Milliseconds()}}
	}
	return wire.Map{}
}

func mayCarryBinary(typ int) bool {
	switch typ {
	case shBroadcast, shBroadcastAck, shFetchSocketsResponse, shServerSideEmit, shServerSideEmitResponse:
		return true
	}
	return false
}

// hasBinary reports whether v holds a []byte (a Node Buffer).
func hasBinary(v wire.Value, depth int) bool {
	if depth > 256 {
		return false
	}
	switch x := v.(type) {
	case []byte:
		return true
	case []wire.Value:
		for _, e := range x {
			if hasBinary(e, depth+1) {
				return true
			}
		}
	case wire.Map:
		for _, kv := range x {
			if hasBinary(kv.Value, depth+1) {
				return true
			}
		}
	}
	return false
}

// Decode maps a message received on one of nsp's channels to a cluster
// message; Decoded.UID is the sender's uid (answers carry it too). Errors
// wrap ErrOtherNamespace for a message whose nsp is not nsp, and
// ErrUnsupported for well-formed messages this adapter does not take
// (heartbeat types 1, 2, 13, unknown types, packets other than events);
// any other error is a malformed message.
//
// Binary (msgpack bin) becomes attachments with placeholders in Data, as
// in the classic codec; in a FETCH_SOCKETS_RESPONSE's handshake and data
// (JSON in the core) it becomes {"type":"Buffer","data":[...]}. Numeric
// rooms (JS allows them) become their decimal text.
func (c ShardedCodec) Decode(nsp string, payload []byte) (Decoded, error) {
	var (
		v   wire.Value
		err error
	)
	if wire.IsJSON(payload) {
		v, err = wire.DecodeJSONValue(payload)
	} else {
		var rest []byte
		v, rest, err = wire.DecodeMsgpackValue(payload)
		if err == nil && len(rest) != 0 {
			err = errors.New("trailing bytes")
		}
	}
	if err != nil {
		return Decoded{}, malformed("%v", err)
	}
	top, ok := v.(wire.Map)
	if !ok {
		return Decoded{}, malformed("message is not an object")
	}
	var d Decoded
	msgNsp, typ := "", -1
	var data wire.Map
	for _, kv := range top {
		switch kv.Key {
		case "type":
			n, ok := wire.Int(kv.Value)
			if !ok || n < 0 || n > math.MaxInt32 {
				return Decoded{}, malformed("type %v", kv.Value)
			}
			typ = int(n)
		case "data":
			data = nil
			if kv.Value != nil {
				if data, ok = kv.Value.(wire.Map); !ok {
					return Decoded{}, malformed("data is not an object")
				}
			}
		case "uid":
			if d.UID, ok = kv.Value.(string); !ok && kv.Value != nil {
				return Decoded{}, malformed("uid is not a string")
			}
		case "nsp":
			if msgNsp, ok = kv.Value.(string); !ok && kv.Value != nil {
				return Decoded{}, malformed("nsp is not a string")
			}
		}
	}
	if typ < 0 {
		return d, malformed("message without type")
	}
	if msgNsp != nsp {
		return d, fmt.Errorf("%w: %q", ErrOtherNamespace, msgNsp)
	}
	switch typ {
	case shInitialHeartbeat, shHeartbeat, shAdapterClose:
		return d, unsupported("heartbeat message type %d", typ)
	case shBroadcast, shSocketsJoin, shSocketsLeave, shDisconnectSockets, shFetchSockets, shFetchSocketsResponse,
		shServerSideEmit, shServerSideEmitResponse, shBroadcastClientCount, shBroadcastAck:
	default:
		return d, unsupported("message type %d", typ)
	}
	if data == nil {
		return d, malformed("message type %d without data", typ)
	}
	m := cw.ClusterMessage{Nsp: nsp}
	get := func(key string) (wire.Value, bool) { return data.Get(key) }
	if rid, ok := get("requestId"); ok && rid != nil {
		s, isStr := rid.(string)
		if !isStr {
			return d, malformed("requestId is %T", rid)
		}
		m.RequestID = s
	}
	var o *wire.Opts
	if v, ok := get("opts"); ok && v != nil {
		if o, err = shardedOptsFrom(v); err != nil {
			return d, err
		}
	}
	needOpts := func() error {
		if o == nil {
			return malformed("message type %d without opts", typ)
		}
		m.Rooms, m.Except = o.Rooms, o.Except
		if ms, ok := o.Timeout(); ok && ms > 0 {
			m.Timeout = msDuration(ms)
		}
		return nil
	}
	switch typ {
	case shBroadcast:
		pv, _ := get("packet")
		pm, ok := pv.(wire.Map)
		if !ok {
			return d, malformed("broadcast without packet")
		}
		var p wire.Packet
		for _, kv := range pm {
			switch kv.Key {
			case "type":
				n, ok := wire.Int(kv.Value)
				if !ok {
					return d, malformed("packet type %v", kv.Value)
				}
				p.Type = int(n)
			case "data":
				if p.Data, ok = kv.Value.([]wire.Value); !ok && kv.Value != nil {
					return d, malformed("packet data is not an array")
				}
			}
		}
		p.Nsp = nsp // the message's: a sharded packet has none
		rid := m.RequestID
		if m, err = broadcast(nsp, p, o); err != nil {
			return d, err
		}
		m.RequestID = rid
	case shSocketsJoin, shSocketsLeave:
		m.Type = cw.ClusterSocketsJoin
		if typ == shSocketsLeave {
			m.Type = cw.ClusterSocketsLeave
		}
		if err := needOpts(); err != nil {
			return d, err
		}
		rv, _ := get("rooms")
		rooms, err := roomList(rv)
		if err != nil {
			return d, malformed("rooms: %v", err)
		}
		m.JoinRooms = nonNil(rooms)
		m.RequestID = ""
	case shDisconnectSockets:
		m.Type = cw.ClusterDisconnectSockets
		if err := needOpts(); err != nil {
			return d, err
		}
		cv, _ := get("close")
		m.Close = cv == true
		m.RequestID = ""
	case shFetchSockets:
		m.Type = cw.ClusterFetchSockets
		if err := needOpts(); err != nil {
			return d, err
		}
	case shServerSideEmit:
		m.Type = cw.ClusterServerSideEmit
		pv, _ := get("packet")
		ev, ok := pv.([]wire.Value)
		if !ok {
			return d, malformed("server-side emit packet is not an array")
		}
		if m.Data, m.Attachments, err = eventJSON(ev); err != nil {
			return d, err
		}
	case shFetchSocketsResponse:
		m.Type = cw.ClusterFetchSocketsResponse
		sv, _ := get("sockets")
		arr, ok := sv.([]wire.Value)
		if !ok && sv != nil {
			return d, malformed("sockets is not an array")
		}
		m.Sockets = make([]cw.ClusterSocket, 0, len(arr))
		for _, e := range arr {
			s, err := clusterSocket(e)
			if err != nil {
				return d, err
			}
			m.Sockets = append(m.Sockets, s)
		}
	case shServerSideEmitResponse, shBroadcastAck:
		m.Type = cw.ClusterServerSideEmitResponse
		if typ == shBroadcastAck {
			m.Type = cw.ClusterBroadcastAck
		}
		pv, present := get("packet")
		if m.Data, m.Attachments, err = argsJSON(pv, present); err != nil {
			return d, err
		}
	case shBroadcastClientCount:
		m.Type = cw.ClusterBroadcastClientCount
		cv, _ := get("clientCount")
		n, ok := wire.Int(cv)
		if !ok || n < 0 || n > math.MaxInt32 {
			return d, malformed("bad clientCount %v", cv)
		}
		m.ClientCount = int(n)
	}
	needID := m.Type == cw.ClusterFetchSockets || m.Type.IsResponse()
	if needID && m.RequestID == "" {
		return d, malformed("message type %d without requestId", typ)
	}
	d.Msg = m
	return d, nil
}

func msDuration(ms int64) time.Duration {
	return time.Duration(min(ms, int64(1<<62)/int64(time.Millisecond))) * time.Millisecond
}

func shardedOptsFrom(v wire.Value) (*wire.Opts, error) {
	om, ok := v.(wire.Map)
	if !ok {
		return nil, malformed("opts is not an object")
	}
	o := &wire.Opts{}
	var err error
	for _, kv := range om {
		switch kv.Key {
		case "rooms":
			o.Rooms, err = roomList(kv.Value)
		case "except":
			o.Except, err = roomList(kv.Value)
		case "flags":
			o.Flags = nil
			if kv.Value != nil {
				if o.Flags, ok = kv.Value.(wire.Map); !ok {
					err = errors.New("not an object")
				}
			}
		}
		if err != nil {
			return nil, malformed("opts %s: %v", kv.Key, err)
		}
	}
	o.Rooms, o.Except = nonNil(o.Rooms), nonNil(o.Except)
	return o, nil
}

// roomList reads an array of rooms: strings, or numbers (JS rooms may be
// numbers) as their text.
func roomList(v wire.Value) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	arr, ok := v.([]wire.Value)
	if !ok {
		return nil, errors.New("not an array")
	}
	out := make([]string, len(arr))
	for i, e := range arr {
		switch x := e.(type) {
		case string:
			out[i] = x
		case json.Number:
			out[i] = string(x)
		case int64:
			out[i] = strconv.FormatInt(x, 10)
		case uint64:
			out[i] = strconv.FormatUint(x, 10)
		case float64:
			out[i] = strconv.FormatFloat(x, 'g', -1, 64)
		default:
			return nil, fmt.Errorf("room is %T", e)
		}
	}
	return out, nil
}

func clusterSocket(v wire.Value) (cw.ClusterSocket, error) {
	sm, ok := v.(wire.Map)
	if !ok {
		return cw.ClusterSocket{}, malformed("socket is not an object")
	}
	var s cw.ClusterSocket
	var hs, data wire.Value
	for _, kv := range sm {
		switch kv.Key {
		case "id":
			id, ok := kv.Value.(string)
			if !ok {
				return s, malformed("socket id is %T", kv.Value)
			}
			s.ID = cw.SocketID(id)
		case "handshake":
			hs = kv.Value
		case "rooms":
			rooms, err := roomList(kv.Value)
			if err != nil {
				return s, malformed("socket rooms: %v", err)
			}
			s.Rooms = rooms
		case "data":
			data = kv.Value
		}
	}
	var err error
	if s.Handshake, err = wire.AppendJSONValue(nil, hs); err != nil {
		return s, malformed("socket handshake: %v", err)
	}
	if s.Data, err = wire.AppendJSONValue(nil, data); err != nil {
		return s, malformed("socket data: %v", err)
	}
	s.Rooms = nonNil(s.Rooms)
	return s, nil
}
