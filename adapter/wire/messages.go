package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/tinylib/msgp/msgp"
)

// Request types of the classic adapter (socket.io-request#<nsp>#).
const (
	Sockets          = 0 // legacy, answered with socket ids
	AllRooms         = 1
	RemoteJoin       = 2
	RemoteLeave      = 3
	RemoteDisconnect = 4
	RemoteFetch      = 5
	ServerSideEmit   = 6
	BroadcastReq     = 7 // broadcast with acks (msgpack)
	BroadcastCount   = 8 // response: clientCount (JSON)
	BroadcastAck     = 9 // response: one client ack (msgpack)
)

// EmitterUID is the uid @socket.io/redis-emitter puts in its messages.
const EmitterUID = "emitter"

// NoType is Response.Type for responses that carry no "type" key (answers
// to SOCKETS, ALL_ROOMS, REMOTE_FETCH and legacy REMOTE_JOIN/LEAVE).
const NoType = -1

var errShape = errors.New("wire: malformed message")

// Packet is the socket.io packet inside a broadcast: {type, data, nsp}.
type Packet struct {
	Type int     // always 2 (EVENT), even with binary args
	Data []Value // [event, args...]; binary args are []byte
	Nsp  string  // "" = key absent, which receivers read as "/"
}

// Opts are the broadcast options {rooms, except, flags}. Nil slices and a
// nil Flags are omitted; Node always sends all three for broadcasts and
// rooms/except for requests.
type Opts struct {
	Rooms  []string
	Except []string
	Flags  Map // volatile, compress, timeout... in wire order
	// EmitterOrder writes the keys as rooms, flags, except, the order of
	// @socket.io/redis-emitter; otherwise rooms, except, flags (the adapter).
	EmitterOrder bool
}

// Volatile reports flags.volatile.
func (o Opts) Volatile() bool { v, _ := o.Flags.Get("volatile"); return v == true }

// Compress reports flags.compress (true unless explicitly false).
func (o Opts) Compress() bool { v, ok := o.Flags.Get("compress"); return !ok || v != false }

// Timeout reports flags.timeout in milliseconds.
func (o Opts) Timeout() (int64, bool) {
	v, ok := o.Flags.Get("timeout")
	if !ok {
		return 0, false
	}
	return Int(v)
}

// Broadcast is the msgpack message [uid, packet, opts] on
// <prefix>#<nsp># or <prefix>#<nsp>#<room>#.
type Broadcast struct {
	UID    string
	Packet Packet
	Opts   Opts
}

// Request is a message on <prefix>-request#<nsp>#. Fields that are zero
// (nil, "") are absent on the wire. Which are set depends on Type:
//
//	0 SOCKETS            UID RequestID Rooms
//	1 ALL_ROOMS          UID RequestID
//	2/3 JOIN/LEAVE       UID Opts Rooms, or legacy UID RequestID Sid Room
//	4 DISCONNECT         UID Opts Close (legacy: Sid)
//	5 FETCH              UID RequestID Opts
//	6 SERVER_SIDE_EMIT   UID [RequestID] Data
//	7 BROADCAST          UID RequestID Packet Opts (flags.timeout)
//
// The emitter omits UID on 2, 3 and 4.
type Request struct {
	UID       string
	RequestID string
	Type      int
	Packet    *Packet
	Opts      *Opts
	Rooms     []string
	Close     *bool
	Sid       string
	Room      string
	Data      []Value
}

// Response is a message on <prefix>-response#<nsp># (or …#<uid>#).
//
//	SOCKETS       RequestID SocketIDs
//	ALL_ROOMS     RequestID Rooms
//	FETCH         RequestID Sockets
//	legacy JOIN   RequestID
//	6             Type RequestID Data (HasData)
//	8             Type RequestID ClientCount
//	9 (msgpack)   Type RequestID Packet (HasPacket)
type Response struct {
	Type        int // NoType when absent
	RequestID   string
	SocketIDs   []string       // "sockets" as ids (legacy SOCKETS)
	Sockets     []RemoteSocket // "sockets" as objects (FETCH); used if SocketIDs is nil
	Rooms       []string
	Data        Value
	HasData     bool
	ClientCount *int64
	Packet      Value
	HasPacket   bool
}

// RemoteSocket is one socket in a FETCH answer. Handshake is Node's
// {headers, time, address, xdomain, secure, issued, url, query, auth}.
type RemoteSocket struct {
	ID        string
	Handshake Value
	Rooms     []string
	Data      Value
}

// ---- broadcast ----

// DecodeBroadcast decodes a msgpack broadcast payload. Unknown keys are
// ignored; trailing bytes are an error.
func DecodeBroadcast(b []byte) (Broadcast, error) {
	v, rest, err := DecodeMsgpackValue(b)
	if err != nil {
		return Broadcast{}, err
	}
	if len(rest) != 0 {
		return Broadcast{}, errTrailing
	}
	arr, ok := v.([]Value)
	if !ok || len(arr) < 2 {
		return Broadcast{}, errShape
	}
	var m Broadcast
	if m.UID, ok = arr[0].(string); !ok {
		return Broadcast{}, errShape
	}
	if m.Packet, err = packetFrom(arr[1]); err != nil {
		return Broadcast{}, err
	}
	if len(arr) > 2 && arr[2] != nil {
		o, err := optsFrom(arr[2])
		if err != nil {
			return Broadcast{}, err
		}
		m.Opts = *o
	}
	return m, nil
}

// AppendBroadcast appends m as msgpack [uid, packet, opts].
func AppendBroadcast(b []byte, m Broadcast) ([]byte, error) {
	b = msgp.AppendArrayHeader(b, 3)
	b = msgp.AppendString(b, m.UID)
	b, err := appendMsgpack(b, packetValue(m.Packet), 0)
	if err != nil {
		return b, err
	}
	return appendMsgpack(b, optsValue(m.Opts), 0)
}

// ---- requests ----

// IsJSON reports whether a request or response payload is JSON: Node
// sniffs the first byte for '{'.
func IsJSON(b []byte) bool { return len(b) > 0 && b[0] == '{' }

// DecodeRequest decodes a request, JSON or msgpack.
func DecodeRequest(b []byte) (Request, error) {
	m, err := decodeMap(b)
	if err != nil {
		return Request{}, err
	}
	var r Request
	var typ bool
	for _, kv := range m {
		v := kv.Value
		switch kv.Key {
		case "uid":
			r.UID, err = str(v)
		case "requestId":
			r.RequestID, err = str(v)
		case "type":
			r.Type, err = smallInt(v)
			typ = true
		case "packet":
			r.Packet = nil
			if v != nil {
				var p Packet
				p, err = packetFrom(v)
				r.Packet = &p
			}
		case "opts":
			r.Opts = nil
			if v != nil {
				r.Opts, err = optsFrom(v)
			}
		case "rooms":
			r.Rooms, err = strs(v)
		case "close":
			r.Close = nil
			if v != nil {
				c, ok := v.(bool)
				if !ok {
					err = errShape
				}
				r.Close = &c
			}
		case "sid":
			r.Sid, err = str(v)
		case "room":
			r.Room, err = str(v)
		case "data":
			r.Data, err = values(v)
		}
		if err != nil {
			return Request{}, fmt.Errorf("wire: request %q: %w", kv.Key, err)
		}
	}
	if !typ {
		return Request{}, errors.New("wire: request without type")
	}
	return r, nil
}

func (r Request) value() Map {
	m := Map{}
	if r.UID != "" {
		m = append(m, KV{"uid", r.UID})
	}
	if r.RequestID != "" {
		m = append(m, KV{"requestId", r.RequestID})
	}
	m = append(m, KV{"type", int64(r.Type)})
	if r.Packet != nil {
		m = append(m, KV{"packet", packetValue(*r.Packet)})
	}
	if r.Opts != nil {
		m = append(m, KV{"opts", optsValue(*r.Opts)})
	}
	if r.Rooms != nil {
		m = append(m, KV{"rooms", r.Rooms})
	}
	if r.Close != nil {
		m = append(m, KV{"close", *r.Close})
	}
	if r.Sid != "" {
		m = append(m, KV{"sid", r.Sid})
	}
	if r.Room != "" {
		m = append(m, KV{"room", r.Room})
	}
	if r.Data != nil {
		m = append(m, KV{"data", r.Data})
	}
	return m
}

// AppendRequest encodes r as Node does: msgpack for BROADCAST (7), JSON
// for everything else.
func AppendRequest(b []byte, r Request) ([]byte, error) {
	if r.Type == BroadcastReq {
		return AppendRequestMsgpack(b, r)
	}
	return AppendRequestJSON(b, r)
}

// AppendRequestJSON encodes r as JSON (binary becomes Node's lossy
// {"type":"Buffer","data":[...]}).
func AppendRequestJSON(b []byte, r Request) ([]byte, error) { return appendJSON(b, r.value(), 0) }

// AppendRequestMsgpack encodes r as a msgpack map.
func AppendRequestMsgpack(b []byte, r Request) ([]byte, error) {
	return appendMsgpack(b, r.value(), 0)
}

// ---- responses ----

// DecodeResponse decodes a response, JSON or msgpack.
func DecodeResponse(b []byte) (Response, error) {
	m, err := decodeMap(b)
	if err != nil {
		return Response{}, err
	}
	r := Response{Type: NoType}
	for _, kv := range m {
		v := kv.Value
		switch kv.Key {
		case "type":
			r.Type, err = smallInt(v)
		case "requestId":
			r.RequestID, err = str(v)
		case "sockets":
			r.SocketIDs, r.Sockets, err = socketsFrom(v)
		case "rooms":
			r.Rooms, err = strs(v)
		case "data":
			r.Data, r.HasData = v, true
		case "clientCount":
			var n int64
			n, err = intOf(v)
			r.ClientCount = &n
		case "packet":
			r.Packet, r.HasPacket = v, true
		}
		if err != nil {
			return Response{}, fmt.Errorf("wire: response %q: %w", kv.Key, err)
		}
	}
	return r, nil
}

func (r Response) value() Map {
	m := Map{}
	if r.Type != NoType {
		m = append(m, KV{"type", int64(r.Type)})
	}
	if r.RequestID != "" {
		m = append(m, KV{"requestId", r.RequestID})
	}
	if r.SocketIDs != nil {
		m = append(m, KV{"sockets", r.SocketIDs})
	} else if r.Sockets != nil {
		arr := make([]Value, len(r.Sockets))
		for i, s := range r.Sockets {
			sm := Map{{"id", s.ID}, {"handshake", s.Handshake}}
			if s.Rooms != nil {
				sm = append(sm, KV{"rooms", s.Rooms})
			} else {
				sm = append(sm, KV{"rooms", []string{}})
			}
			arr[i] = append(sm, KV{"data", s.Data})
		}
		m = append(m, KV{"sockets", arr})
	}
	if r.Rooms != nil {
		m = append(m, KV{"rooms", r.Rooms})
	}
	if r.HasData {
		m = append(m, KV{"data", r.Data})
	}
	if r.ClientCount != nil {
		m = append(m, KV{"clientCount", *r.ClientCount})
	}
	if r.HasPacket {
		m = append(m, KV{"packet", r.Packet})
	}
	return m
}

// AppendResponse encodes r as Node does: msgpack for BROADCAST_ACK (9),
// JSON otherwise.
func AppendResponse(b []byte, r Response) ([]byte, error) {
	if r.Type == BroadcastAck {
		return AppendResponseMsgpack(b, r)
	}
	return AppendResponseJSON(b, r)
}

// AppendResponseJSON encodes r as JSON.
func AppendResponseJSON(b []byte, r Response) ([]byte, error) { return appendJSON(b, r.value(), 0) }

// AppendResponseMsgpack encodes r as a msgpack map.
func AppendResponseMsgpack(b []byte, r Response) ([]byte, error) {
	return appendMsgpack(b, r.value(), 0)
}

// ---- helpers ----

func decodeMap(b []byte) (Map, error) {
	var v Value
	var err error
	if IsJSON(b) {
		v, err = DecodeJSONValue(b)
	} else {
		var rest []byte
		v, rest, err = DecodeMsgpackValue(b)
		if err == nil && len(rest) != 0 {
			err = errTrailing
		}
	}
	if err != nil {
		return nil, err
	}
	m, ok := v.(Map)
	if !ok {
		return nil, errShape
	}
	return m, nil
}

func packetValue(p Packet) Map {
	m := Map{{"type", int64(p.Type)}}
	if p.Data != nil {
		m = append(m, KV{"data", p.Data})
	}
	if p.Nsp != "" {
		m = append(m, KV{"nsp", p.Nsp})
	}
	return m
}

func packetFrom(v Value) (Packet, error) {
	m, ok := v.(Map)
	if !ok {
		return Packet{}, errShape
	}
	var p Packet
	var err error
	for _, kv := range m {
		switch kv.Key {
		case "type":
			p.Type, err = smallInt(kv.Value)
		case "data":
			p.Data, err = values(kv.Value)
		case "nsp":
			p.Nsp, err = str(kv.Value)
		}
		if err != nil {
			return Packet{}, fmt.Errorf("wire: packet %q: %w", kv.Key, err)
		}
	}
	return p, nil
}

func optsValue(o Opts) Map {
	m := Map{}
	if o.Rooms != nil {
		m = append(m, KV{"rooms", o.Rooms})
	}
	if o.EmitterOrder && o.Flags != nil {
		m = append(m, KV{"flags", o.Flags})
	}
	if o.Except != nil {
		m = append(m, KV{"except", o.Except})
	}
	if !o.EmitterOrder && o.Flags != nil {
		m = append(m, KV{"flags", o.Flags})
	}
	return m
}

func optsFrom(v Value) (*Opts, error) {
	m, ok := v.(Map)
	if !ok {
		return nil, errShape
	}
	o := &Opts{}
	var err error
	seenExcept := false
	for _, kv := range m {
		switch kv.Key {
		case "rooms":
			o.Rooms, err = strs(kv.Value)
		case "except":
			o.Except, err = strs(kv.Value)
			seenExcept = true
		case "flags":
			o.Flags = nil
			if kv.Value != nil {
				if o.Flags, ok = kv.Value.(Map); !ok {
					err = errShape
				}
				o.EmitterOrder = !seenExcept
			}
		}
		if err != nil {
			return nil, fmt.Errorf("wire: opts %q: %w", kv.Key, err)
		}
	}
	if o.Except == nil {
		o.EmitterOrder = false
	}
	return o, nil
}

func socketsFrom(v Value) ([]string, []RemoteSocket, error) {
	if v == nil {
		return nil, nil, nil
	}
	arr, ok := v.([]Value)
	if !ok {
		return nil, nil, errShape
	}
	if len(arr) > 0 {
		if _, isStr := arr[0].(string); isStr {
			ids, err := strs(v)
			return ids, nil, err
		}
	}
	out := make([]RemoteSocket, 0, len(arr))
	for _, e := range arr {
		m, ok := e.(Map)
		if !ok {
			return nil, nil, errShape
		}
		var s RemoteSocket
		var err error
		for _, kv := range m {
			switch kv.Key {
			case "id":
				s.ID, err = str(kv.Value)
			case "handshake":
				s.Handshake = kv.Value
			case "rooms":
				s.Rooms, err = strs(kv.Value)
			case "data":
				s.Data = kv.Value
			}
			if err != nil {
				return nil, nil, err
			}
		}
		if s.Rooms == nil {
			s.Rooms = []string{}
		}
		out = append(out, s)
	}
	return nil, out, nil
}

func str(v Value) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	}
	return "", errShape
}

// strs reads an array of strings; nil stays nil (absent), [] is non-nil.
// Numbers are accepted and turned into their text, as JS would for a room.
func strs(v Value) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	arr, ok := v.([]Value)
	if !ok {
		return nil, errShape
	}
	out := make([]string, len(arr))
	for i, e := range arr {
		s, ok := e.(string)
		if !ok {
			return nil, errShape
		}
		out[i] = s
	}
	return out, nil
}

func values(v Value) ([]Value, error) {
	if v == nil {
		return nil, nil
	}
	arr, ok := v.([]Value)
	if !ok {
		return nil, errShape
	}
	return arr, nil
}

func smallInt(v Value) (int, error) {
	n, err := intOf(v)
	if err != nil || n < 0 || n > math.MaxInt32 {
		return 0, errShape
	}
	return int(n), nil
}

func intOf(v Value) (int64, error) {
	n, ok := Int(v)
	if !ok {
		return 0, errShape
	}
	return n, nil
}

// Int reads an integral number of any wire kind (a JSON number, msgpack's
// integers and floats): false for anything else, a fraction, or a value
// out of int64's range.
func Int(v Value) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), true
		}
	case float32:
		return Int(float64(x))
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i, true
		}
		if f, err := strconv.ParseFloat(string(x), 64); err == nil {
			return Int(f)
		}
	}
	return 0, false
}
