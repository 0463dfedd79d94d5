package postgres

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/socketcore/socketcore/adapter/redis"
	"github.com/socketcore/socketcore/adapter/wire"
	cw "github.com/socketcore/socketcore/core/wire"
)

// Message types of socket.io-adapter's ClusterAdapterWithHeartbeat, the
// protocol of Node's @socket.io/postgres-adapter.
const (
	TypeInitialHeartbeat       = 1
	TypeHeartbeat              = 2
	TypeBroadcast              = 3
	TypeSocketsJoin            = 4
	TypeSocketsLeave           = 5
	TypeDisconnectSockets      = 6
	TypeFetchSockets           = 7
	TypeFetchSocketsResponse   = 8
	TypeServerSideEmit         = 9
	TypeServerSideEmitResponse = 10
	TypeBroadcastClientCount   = 11
	TypeBroadcastAck           = 12
	TypeAdapterClose           = 13
)

// DefaultThreshold is Node's payloadThreshold: a NOTIFY payload must be
// shorter than 8000 bytes.
const DefaultThreshold = 8000

// ErrUnsupported is wrapped by Decode's errors for well-formed messages this
// adapter does not take (unknown types, packets other than events); they
// are dropped quietly.
var ErrUnsupported = redis.ErrUnsupported

// Codec maps cluster messages to and from the NOTIFY payloads of Node's
// @socket.io/postgres-adapter for one server (its channel prefix and uid).
// It is pure: the Adapter and the emitter do the I/O.
//
// The message bodies are those of socket.io-adapter's ClusterAdapter, the
// same as Redis's sharded adapter speaks: the mapping of redis.ShardedCodec
// is reused (see package adapter/redis). Everything of a namespace goes to
// one channel, <prefix>#<nsp>, answers included.
type Codec struct {
	Prefix    string // Node's channelPrefix ("" is "socket.io")
	UID       string // this server's uid; "emitter" for an emitter
	Threshold int    // Node's payloadThreshold (0, or more than 8000, is DefaultThreshold)
}

// Channel is <prefix>#<nsp>, the namespace's NOTIFY channel.
func (c Codec) Channel(nsp string) string {
	p := c.Prefix
	if p == "" {
		p = wire.DefaultPrefix
	}
	if nsp == "" {
		nsp = "/"
	}
	return p + "#" + nsp
}

// Outgoing is one message to publish: Notify on Channel, or, when
// Attachment is set, Attachment stored in the attachment table and a
// header naming its row on Channel (see Header).
type Outgoing struct {
	Channel    string
	Type       int
	Notify     []byte // the NOTIFY payload (JSON); nil when Attachment is set
	Attachment []byte // msgpack: the whole message, for the attachment table
}

// anyRequester stands for the requester's uid, which the sharded codec
// wants for the channel of an answer: here every answer goes to the
// namespace's channel.
const anyRequester = "-"

// Encode returns what Node's adapter publishes for m: the message as JSON,
// or as msgpack in the attachment table when it carries binary (broadcasts,
// server-side emits and their answers) or when its JSON is Threshold bytes
// or more.
func (c Codec) Encode(m cw.ClusterMessage) (Outgoing, error) {
	sc := redis.ShardedCodec{Prefix: c.Prefix, UID: c.UID, Mode: redis.Static}
	msg, err := sc.Encode(m, anyRequester)
	if err != nil {
		return Outgoing{}, fmt.Errorf("postgres adapter: %w", err)
	}
	out := Outgoing{Channel: c.Channel(m.Nsp), Type: typeOf(m)}
	// The sharded codec writes msgpack exactly when the message carries
	// binary in a type that may (Node's hasBinary test).
	if !wire.IsJSON(msg.Payload) {
		out.Attachment = msg.Payload
		return out, nil
	}
	if len(msg.Payload) >= c.threshold() {
		v, err := wire.DecodeJSONValue(msg.Payload)
		if err == nil {
			out.Attachment, err = wire.AppendMsgpackValue(nil, v)
		}
		if err != nil {
			return Outgoing{}, fmt.Errorf("postgres adapter: attachment: %w", err)
		}
		return out, nil
	}
	out.Notify = msg.Payload
	return out, nil
}

// threshold is Threshold, at most DefaultThreshold: PostgreSQL refuses a
// longer NOTIFY payload.
func (c Codec) threshold() int {
	if c.Threshold <= 0 || c.Threshold > DefaultThreshold {
		return DefaultThreshold
	}
	return c.Threshold
}

// typeOf is m's ClusterAdapter message type.
func typeOf(m cw.ClusterMessage) int {
	switch m.Type {
	case cw.ClusterBroadcast:
		return TypeBroadcast
	case cw.ClusterSocketsJoin:
		return TypeSocketsJoin
	case cw.ClusterSocketsLeave:
		return TypeSocketsLeave
	case cw.ClusterDisconnectSockets:
		return TypeDisconnectSockets
	case cw.ClusterFetchSockets:
		return TypeFetchSockets
	case cw.ClusterFetchSocketsResponse:
		return TypeFetchSocketsResponse
	case cw.ClusterServerSideEmit:
		return TypeServerSideEmit
	case cw.ClusterServerSideEmitResponse:
		return TypeServerSideEmitResponse
	case cw.ClusterBroadcastClientCount:
		return TypeBroadcastClientCount
	case cw.ClusterBroadcastAck:
		return TypeBroadcastAck
	}
	return 0
}

// Heartbeat is the payload of a message without data (types 1, 2 and 13):
// {"type":t,"uid":uid,"nsp":nsp}, in Node's key order.
func (c Codec) Heartbeat(typ int, nsp string) []byte {
	if nsp == "" {
		nsp = "/"
	}
	b, _ := wire.AppendJSONValue(nil, wire.Map{{Key: "type", Value: int64(typ)}, {Key: "uid", Value: c.UID},
		{Key: "nsp", Value: nsp}})
	return b
}

// Header is the NOTIFY payload that stands for a message stored in the
// attachment table: {"uid","type","attachmentId"}, the id as a string (as
// node-postgres reads a bigserial). It has no nsp: the channel tells it.
func (c Codec) Header(typ int, attachmentID int64) []byte {
	b, _ := wire.AppendJSONValue(nil, wire.Map{{Key: "uid", Value: c.UID}, {Key: "type", Value: int64(typ)},
		{Key: "attachmentId", Value: strconv.FormatInt(attachmentID, 10)}})
	return b
}

// Notification is a NOTIFY payload read (ParseNotification).
type Notification struct {
	UID  string
	Type int
	// Nsp is the message's nsp; "" when absent (attachment headers and
	// the messages of @socket.io/postgres-emitter 0.1.x).
	Nsp string
	// AttachmentID names the row of the attachment table that holds the
	// message; 0 for a message carried whole by the notification.
	AttachmentID int64
}

var errMalformed = errors.New("postgres adapter: malformed message")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errMalformed}, args...)...)
}

// ParseNotification reads the fields of a NOTIFY payload that route it:
// who sent it, its type, and whether the message is in the attachment
// table.
func ParseNotification(payload []byte) (Notification, error) {
	top, err := parse(payload)
	if err != nil {
		return Notification{}, err
	}
	return notificationOf(top)
}

func notificationOf(top wire.Map) (Notification, error) {
	n := Notification{Type: -1}
	for _, kv := range top {
		switch kv.Key {
		case "uid":
			if s, ok := kv.Value.(string); ok {
				n.UID = s
			} else if kv.Value != nil {
				return n, malformed("uid is %T", kv.Value)
			}
		case "nsp":
			if s, ok := kv.Value.(string); ok {
				n.Nsp = s
			} else if kv.Value != nil {
				return n, malformed("nsp is %T", kv.Value)
			}
		case "type":
			t, ok := wire.Int(kv.Value)
			if !ok || t < 0 || t > math.MaxInt32 {
				return n, malformed("type %v", kv.Value)
			}
			n.Type = int(t)
		case "attachmentId":
			switch x := kv.Value.(type) {
			case nil:
			case string:
				id, err := strconv.ParseInt(x, 10, 64)
				if err != nil || id <= 0 {
					return n, malformed("attachmentId %q", x)
				}
				n.AttachmentID = id
			default:
				id, ok := wire.Int(x)
				if !ok || id <= 0 {
					return n, malformed("attachmentId %v", x)
				}
				n.AttachmentID = id
			}
		}
	}
	if n.Type < 0 {
		return n, malformed("no type")
	}
	return n, nil
}

// Decoded is a message received from another server.
type Decoded struct {
	UID  string
	Type int
	// Msg is the cluster message; zero for the heartbeat types (1, 2, 13).
	Msg cw.ClusterMessage
}

// Decode reads a whole message (a NOTIFY payload, or an attachment: JSON or
// msgpack) received on nsp's channel. A message without nsp (those of
// @socket.io/postgres-emitter 0.1.x) is nsp's. Errors wrap ErrUnsupported
// for messages to drop quietly, and redis.ErrOtherNamespace for a message
// of another namespace; any other error is a malformed message.
func (c Codec) Decode(nsp string, body []byte) (Decoded, error) {
	top, err := parse(body)
	if err != nil {
		return Decoded{}, err
	}
	return c.decodeParsed(nsp, body, top)
}

// parse reads a message, JSON or msgpack, as an object.
func parse(body []byte) (wire.Map, error) {
	var (
		v   wire.Value
		err error
	)
	if wire.IsJSON(body) {
		v, err = wire.DecodeJSONValue(body)
	} else {
		var rest []byte
		v, rest, err = wire.DecodeMsgpackValue(body)
		if err == nil && len(rest) != 0 {
			err = errors.New("trailing bytes")
		}
	}
	if err != nil {
		return nil, malformed("%v", err)
	}
	top, ok := v.(wire.Map)
	if !ok {
		return nil, malformed("not an object")
	}
	return top, nil
}

// decodeParsed is Decode of body, whose object top the caller has read.
func (c Codec) decodeParsed(nsp string, body []byte, top wire.Map) (Decoded, error) {
	n, err := notificationOf(top)
	if err != nil {
		return Decoded{}, err
	}
	d := Decoded{UID: n.UID, Type: n.Type}
	added := false
	if _, ok := top.Get("nsp"); !ok {
		top = append(top, wire.KV{Key: "nsp", Value: nsp})
		n.Nsp, added = nsp, true
	}
	if n.Nsp != nsp {
		return d, fmt.Errorf("%w: %q", redis.ErrOtherNamespace, n.Nsp)
	}
	switch n.Type {
	case TypeInitialHeartbeat, TypeHeartbeat, TypeAdapterClose:
		return d, nil
	}
	// Back to bytes for the sharded codec when the nsp was added; msgpack
	// keeps any binary.
	if added {
		if body, err = wire.AppendMsgpackValue(nil, top); err != nil {
			return d, malformed("%v", err)
		}
	}
	sd, err := redis.ShardedCodec{Prefix: c.Prefix, UID: c.UID}.Decode(nsp, body)
	if err != nil {
		return d, err
	}
	d.Msg = sd.Msg
	return d, nil
}
