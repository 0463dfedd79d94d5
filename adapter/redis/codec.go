package redis

import (
	"errors"
	"fmt"
	"time"

	"github.com/socketcore/socketcore/adapter/wire"
	cw "github.com/socketcore/socketcore/core/wire"
)

// Message is one Redis publication: a payload on a channel.
type Message struct {
	Channel string
	Payload []byte
}

// Codec maps cluster messages to and from the Redis messages of the
// classic @socket.io/redis-adapter protocol, for one server (its Prefix
// and UID). It is pure: the Adapter does the I/O.
type Codec struct {
	Prefix string // Node's `key`
	UID    string // this server's uid, put in its broadcasts and requests
	// PublishOnSpecificResponseChannel sends the answers to FetchSockets,
	// AllRooms and broadcasts with acknowledgements to the requester's own
	// channel <prefix>-response#<nsp>#<uid>#, when its uid is known.
	PublishOnSpecificResponseChannel bool
}

// Decoded is a message received from Redis.
type Decoded struct {
	Msg cw.ClusterMessage
	// UID is the sender's uid: set in broadcasts and requests ("emitter"
	// for @socket.io/redis-emitter, "" when the emitter leaves it out),
	// never in responses.
	UID string
}

var (
	// ErrUnsupported is wrapped by Decode's errors for well-formed messages
	// this adapter does not take: legacy SOCKETS (0) requests and their
	// answers, legacy single-socket REMOTE_JOIN/LEAVE/DISCONNECT (sid
	// form) and their {"requestId"} answers, non-EVENT packets, unknown
	// types.
	ErrUnsupported = errors.New("redis adapter: unsupported message")
	// ErrOtherNamespace is wrapped by Decode's error for a broadcast whose
	// packet belongs to another namespace than its channel's.
	ErrOtherNamespace = errors.New("redis adapter: broadcast for another namespace")
	errMalformed      = errors.New("redis adapter: malformed message")
)

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errMalformed}, args...)...)
}

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUnsupported}, args...)...)
}

// Packet types of socket.io-parser that a broadcast may carry: Node puts
// EVENT even when the arguments hold binary.
const (
	packetEvent       = 2
	packetBinaryEvent = 5
)

// Encode returns the message Node's adapter publishes for m. requester is
// the uid of the server whose request m answers ("" when unknown); it only
// matters with PublishOnSpecificResponseChannel.
//
// Flags: Volatile is flags.volatile:true; Compress false is
// flags.compress:false while Compress true leaves the key out (Node's
// default, true, which every receiver assumes when it is absent); a
// Timeout is flags.timeout in milliseconds; a recovery Offset is
// flags.offset (a string, ours: Node servers ignore it). JSON messages
// (everything but broadcasts, type 7 requests and type 9 answers) cannot
// carry binary: attachments become {"type":"Buffer","data":[...]}, as
// Node writes them.
func (c Codec) Encode(m cw.ClusterMessage, requester string) (Message, error) {
	nsp := m.Nsp
	if nsp == "" {
		nsp = "/"
	}
	var (
		b   []byte
		err error
	)
	switch m.Type {
	case cw.ClusterBroadcast:
		data, err := eventValue(m.Data, m.Attachments)
		if err != nil {
			return Message{}, err
		}
		pkt := wire.Packet{Type: packetEvent, Data: data, Nsp: nsp}
		opts := wire.Opts{Rooms: set(m.Rooms), Except: set(m.Except), Flags: flags(m)}
		if m.RequestID == "" {
			b, err = wire.AppendBroadcast(nil, wire.Broadcast{UID: c.UID, Packet: pkt, Opts: opts})
			return Message{wire.PublishChannel(c.Prefix, nsp, opts), b}, err
		}
		r := wire.Request{UID: c.UID, RequestID: m.RequestID, Type: wire.BroadcastReq, Packet: &pkt, Opts: &opts}
		return c.request(nsp, r)
	case cw.ClusterSocketsJoin, cw.ClusterSocketsLeave:
		typ := wire.RemoteJoin
		if m.Type == cw.ClusterSocketsLeave {
			typ = wire.RemoteLeave
		}
		return c.request(nsp, wire.Request{UID: c.UID, Type: typ, Opts: target(m), Rooms: set(m.JoinRooms)})
	case cw.ClusterDisconnectSockets:
		closed := m.Close
		return c.request(nsp, wire.Request{UID: c.UID, Type: wire.RemoteDisconnect, Opts: target(m), Close: &closed})
	case cw.ClusterFetchSockets:
		if m.RequestID == "" {
			return Message{}, errors.New("redis adapter: FetchSockets without a RequestID")
		}
		return c.request(nsp, wire.Request{UID: c.UID, RequestID: m.RequestID, Type: wire.RemoteFetch, Opts: target(m)})
	case cw.ClusterAllRooms:
		if m.RequestID == "" {
			return Message{}, errors.New("redis adapter: AllRooms without a RequestID")
		}
		return c.request(nsp, wire.Request{UID: c.UID, RequestID: m.RequestID, Type: wire.AllRooms})
	case cw.ClusterServerSideEmit:
		data, err := eventValue(m.Data, m.Attachments)
		if err != nil {
			return Message{}, err
		}
		return c.request(nsp, wire.Request{UID: c.UID, RequestID: m.RequestID, Type: wire.ServerSideEmit, Data: data})
	}

	// Responses.
	if m.RequestID == "" {
		return Message{}, fmt.Errorf("redis adapter: %v without a RequestID", m.Type)
	}
	r := wire.Response{Type: wire.NoType, RequestID: m.RequestID}
	switch m.Type {
	case cw.ClusterFetchSocketsResponse:
		r.Sockets = make([]wire.RemoteSocket, len(m.Sockets))
		for i, s := range m.Sockets {
			rs := wire.RemoteSocket{ID: string(s.ID), Rooms: s.Rooms}
			if rs.Handshake, err = jsonValue(s.Handshake, defaultHandshake); err != nil {
				return Message{}, fmt.Errorf("redis adapter: socket %s handshake: %w", s.ID, err)
			}
			if rs.Data, err = jsonValue(s.Data, emptyObject); err != nil {
				return Message{}, fmt.Errorf("redis adapter: socket %s data: %w", s.ID, err)
			}
			r.Sockets[i] = rs
		}
	case cw.ClusterAllRoomsResponse:
		r.Rooms = nonNil(m.JoinRooms)
	case cw.ClusterServerSideEmitResponse:
		r.Type = wire.ServerSideEmit
		if r.Data, r.HasData, err = firstArg(m.Data, m.Attachments); err != nil {
			return Message{}, err
		}
		requester = "" // Node always answers these on the common channel
	case cw.ClusterBroadcastClientCount:
		n := int64(m.ClientCount)
		r.Type, r.ClientCount = wire.BroadcastCount, &n
	case cw.ClusterBroadcastAck:
		r.Type = wire.BroadcastAck
		if r.Packet, r.HasPacket, err = firstArg(m.Data, m.Attachments); err != nil {
			return Message{}, err
		}
	default:
		return Message{}, fmt.Errorf("redis adapter: cannot encode %v", m.Type)
	}
	if b, err = wire.AppendResponse(nil, r); err != nil {
		return Message{}, err
	}
	ch := wire.ResponseChannel(c.Prefix, nsp)
	if c.PublishOnSpecificResponseChannel && requester != "" {
		ch = wire.SpecificResponseChannel(c.Prefix, nsp, requester)
	}
	return Message{ch, b}, nil
}

func (c Codec) request(nsp string, r wire.Request) (Message, error) {
	b, err := wire.AppendRequest(nil, r)
	return Message{wire.RequestChannel(c.Prefix, nsp), b}, err
}

// flags are Node's broadcast flags for m, {} when none is set.
func flags(m cw.ClusterMessage) wire.Map {
	f := wire.Map{}
	if m.Volatile {
		f = append(f, wire.KV{Key: "volatile", Value: true})
	}
	if !m.Compress {
		f = append(f, wire.KV{Key: "compress", Value: false})
	}
	if m.Timeout > 0 {
		f = append(f, wire.KV{Key: "timeout", Value: m.Timeout.Milliseconds()})
	}
	if m.Offset != "" {
		// the broadcast's cluster-wide recovery offset (recovery.go); Node
		// servers pass unknown flags by
		f = append(f, wire.KV{Key: "offset", Value: m.Offset})
	}
	return f
}

// target is the {rooms, except} of requests (no flags).
func target(m cw.ClusterMessage) *wire.Opts {
	return &wire.Opts{Rooms: set(m.Rooms), Except: set(m.Except)}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// set returns s without repeats, in first-seen order, never nil: Node
// sends [...new Set(x)].
func set(s []string) []string {
	if len(s) < 2 {
		return nonNil(s)
	}
	seen := make(map[string]bool, len(s))
	out := make([]string, 0, len(s))
	for _, e := range s {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out
}

// eventValue reads an event's JSON [name, ...args] with its attachments.
func eventValue(data []byte, atts [][]byte) ([]wire.Value, error) {
	v, err := wire.FromJSON(data, atts)
	if err != nil {
		return nil, fmt.Errorf("redis adapter: event data: %w", err)
	}
	arr, ok := v.([]wire.Value)
	if !ok || len(arr) == 0 {
		return nil, errors.New("redis adapter: event data is not [name, ...args]")
	}
	if _, ok := arr[0].(string); !ok {
		return nil, errors.New("redis adapter: event name is not a string")
	}
	return arr, nil
}

// firstArg reads an acknowledgement's JSON args and returns the first
// (Node's answers carry one); none is the absent key (JS undefined).
func firstArg(data []byte, atts [][]byte) (wire.Value, bool, error) {
	if len(data) == 0 {
		return nil, false, nil
	}
	v, err := wire.FromJSON(data, atts)
	if err != nil {
		return nil, false, fmt.Errorf("redis adapter: ack data: %w", err)
	}
	arr, ok := v.([]wire.Value)
	if !ok {
		return nil, false, errors.New("redis adapter: ack data is not an array")
	}
	if len(arr) == 0 {
		return nil, false, nil
	}
	return arr[0], true, nil
}

// defaultHandshake stands for a socket whose handshake the host did not
// give: Node's shape, so that remote code reading handshake.auth.x or
// handshake.query.x finds undefined instead of throwing.
var defaultHandshake = wire.Map{{Key: "headers", Value: wire.Map{}}, {Key: "time", Value: ""},
	{Key: "address", Value: ""}, {Key: "xdomain", Value: false}, {Key: "secure", Value: false},
	{Key: "issued", Value: int64(0)}, {Key: "url", Value: ""}, {Key: "query", Value: wire.Map{}},
	{Key: "auth", Value: wire.Map{}}}

// emptyObject is socket.data when unset: Node's default is {}.
var emptyObject = wire.Map{}

func jsonValue(b []byte, def wire.Value) (wire.Value, error) {
	if len(b) == 0 {
		return def, nil
	}
	return wire.DecodeJSONValue(b)
}

// Decode maps a message received on channel, one of nsp's, to a cluster
// message. Errors wrap ErrUnsupported or ErrOtherNamespace for messages
// to drop quietly; any other error is a malformed message.
//
// Binary in broadcasts, type 7 requests and type 9 answers (msgpack bin)
// becomes attachments with placeholders in Data; JSON messages have none.
// Flags: Compress is true unless flags.compress is false.
func (c Codec) Decode(nsp, channel string, payload []byte) (Decoded, error) {
	switch {
	case channel == wire.RequestChannel(c.Prefix, nsp):
		return c.decodeRequest(nsp, payload)
	case hasPrefix(channel, wire.ResponseChannel(c.Prefix, nsp)):
		return c.decodeResponse(nsp, payload)
	case hasPrefix(channel, wire.BroadcastChannel(c.Prefix, nsp)):
		return c.decodeBroadcast(nsp, payload)
	}
	return Decoded{}, fmt.Errorf("redis adapter: channel %q is not one of namespace %q", channel, nsp)
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

func (c Codec) decodeBroadcast(nsp string, payload []byte) (Decoded, error) {
	bc, err := wire.DecodeBroadcast(payload)
	if err != nil {
		return Decoded{}, malformed("broadcast: %v", err)
	}
	m, err := broadcast(nsp, bc.Packet, &bc.Opts)
	return Decoded{Msg: m, UID: bc.UID}, err
}

func broadcast(nsp string, p wire.Packet, o *wire.Opts) (cw.ClusterMessage, error) {
	if p.Nsp == "" {
		p.Nsp = "/"
	}
	if p.Nsp != nsp {
		return cw.ClusterMessage{}, fmt.Errorf("%w: %q", ErrOtherNamespace, p.Nsp)
	}
	if p.Type != packetEvent && p.Type != packetBinaryEvent {
		return cw.ClusterMessage{}, unsupported("packet type %d", p.Type)
	}
	if o == nil {
		return cw.ClusterMessage{}, malformed("broadcast without opts")
	}
	data, atts, err := eventJSON(p.Data)
	if err != nil {
		return cw.ClusterMessage{}, err
	}
	m := cw.ClusterMessage{Type: cw.ClusterBroadcast, Nsp: nsp, Rooms: o.Rooms, Except: o.Except,
		Volatile: o.Volatile(), Compress: o.Compress(), Data: data, Attachments: atts}
	if ms, ok := o.Timeout(); ok && ms > 0 {
		m.Timeout = time.Duration(min(ms, int64(1<<62)/int64(time.Millisecond))) * time.Millisecond
	}
	if v, ok := o.Flags.Get("offset"); ok {
		m.Offset, _ = v.(string) // recovery.go
	}
	return m, nil
}

// eventJSON writes an event's [name, ...args] as core Data.
func eventJSON(v []wire.Value) ([]byte, [][]byte, error) {
	if len(v) == 0 {
		return nil, nil, malformed("event without a name")
	}
	if _, ok := v[0].(string); !ok {
		return nil, nil, malformed("event name is %T", v[0])
	}
	data, atts, err := wire.ToJSON(v)
	if err != nil {
		return nil, nil, malformed("event data: %v", err)
	}
	return data, atts, nil
}

func (c Codec) decodeRequest(nsp string, payload []byte) (Decoded, error) {
	r, err := wire.DecodeRequest(payload)
	if err != nil {
		return Decoded{}, malformed("request: %v", err)
	}
	d := Decoded{UID: r.UID}
	m := cw.ClusterMessage{Nsp: nsp, RequestID: r.RequestID}
	needID := false
	switch r.Type {
	case wire.AllRooms:
		m.Type, needID = cw.ClusterAllRooms, true
	case wire.RemoteJoin, wire.RemoteLeave, wire.RemoteDisconnect:
		if r.Opts == nil {
			if r.Sid != "" {
				return d, unsupported("legacy single-socket request type %d", r.Type)
			}
			return d, malformed("request type %d without opts", r.Type)
		}
		m.Rooms, m.Except, m.RequestID = r.Opts.Rooms, r.Opts.Except, ""
		switch r.Type {
		case wire.RemoteJoin:
			m.Type, m.JoinRooms = cw.ClusterSocketsJoin, nonNil(r.Rooms)
		case wire.RemoteLeave:
			m.Type, m.JoinRooms = cw.ClusterSocketsLeave, nonNil(r.Rooms)
		default:
			m.Type, m.Close = cw.ClusterDisconnectSockets, r.Close != nil && *r.Close
		}
	case wire.RemoteFetch:
		if r.Opts == nil {
			return d, malformed("fetch request without opts")
		}
		m.Type, m.Rooms, m.Except, needID = cw.ClusterFetchSockets, r.Opts.Rooms, r.Opts.Except, true
	case wire.ServerSideEmit:
		m.Type = cw.ClusterServerSideEmit
		if m.Data, m.Attachments, err = eventJSON(r.Data); err != nil {
			return d, err
		}
	case wire.BroadcastReq:
		if r.Packet == nil {
			return d, malformed("broadcast request without packet")
		}
		if m, err = broadcast(nsp, *r.Packet, r.Opts); err != nil {
			return d, err
		}
		m.RequestID, needID = r.RequestID, true
	default:
		return d, unsupported("request type %d", r.Type)
	}
	if needID && m.RequestID == "" {
		return d, malformed("request type %d without requestId", r.Type)
	}
	d.Msg = m
	return d, nil
}

func (c Codec) decodeResponse(nsp string, payload []byte) (Decoded, error) {
	r, err := wire.DecodeResponse(payload)
	if err != nil {
		return Decoded{}, malformed("response: %v", err)
	}
	if r.RequestID == "" {
		return Decoded{}, malformed("response without requestId")
	}
	m := cw.ClusterMessage{Nsp: nsp, RequestID: r.RequestID}
	switch r.Type {
	case wire.NoType:
		switch {
		case r.SocketIDs != nil:
			return Decoded{}, unsupported("legacy SOCKETS answer")
		case r.Sockets != nil:
			m.Type = cw.ClusterFetchSocketsResponse
			m.Sockets = make([]cw.ClusterSocket, len(r.Sockets))
			for i, s := range r.Sockets {
				hs, err := wire.AppendJSONValue(nil, s.Handshake)
				if err != nil {
					return Decoded{}, malformed("socket handshake: %v", err)
				}
				data, err := wire.AppendJSONValue(nil, s.Data)
				if err != nil {
					return Decoded{}, malformed("socket data: %v", err)
				}
				m.Sockets[i] = cw.ClusterSocket{ID: cw.SocketID(s.ID), Rooms: s.Rooms, Handshake: hs, Data: data}
			}
		case r.Rooms != nil:
			m.Type, m.JoinRooms = cw.ClusterAllRoomsResponse, r.Rooms
		default:
			return Decoded{}, unsupported("answer without sockets or rooms (legacy single-socket request)")
		}
	case wire.ServerSideEmit:
		m.Type = cw.ClusterServerSideEmitResponse
		if m.Data, m.Attachments, err = argsJSON(r.Data, r.HasData); err != nil {
			return Decoded{}, err
		}
	case wire.BroadcastCount:
		if r.ClientCount == nil || *r.ClientCount < 0 || *r.ClientCount > 1<<31-1 {
			return Decoded{}, malformed("bad clientCount")
		}
		m.Type, m.ClientCount = cw.ClusterBroadcastClientCount, int(*r.ClientCount)
	case wire.BroadcastAck:
		m.Type = cw.ClusterBroadcastAck
		if m.Data, m.Attachments, err = argsJSON(r.Packet, r.HasPacket); err != nil {
			return Decoded{}, err
		}
	default:
		return Decoded{}, unsupported("response type %d", r.Type)
	}
	return Decoded{Msg: m}, nil
}

// argsJSON writes the single argument of an answer as core Data, the
// acknowledgement's args: [arg], or [] when the key is absent.
func argsJSON(v wire.Value, present bool) ([]byte, [][]byte, error) {
	args := []wire.Value{}
	if present {
		args = append(args, v)
	}
	data, atts, err := wire.ToJSON(args)
	if err != nil {
		return nil, nil, malformed("ack data: %v", err)
	}
	return data, atts, nil
}
