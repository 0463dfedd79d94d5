package emitter

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/redis/go-redis/v9"

	"github.com/socketcore/socketcore/adapter/wire"
)

// Options configures an Emitter. The zero value is the Node emitter's
// default.
type Options struct {
	// Key is the prefix of the Redis channels: the `key` option of the
	// servers' @socket.io/redis-adapter. Empty means "socket.io".
	Key string
}

// ErrReservedEvent is wrapped by the error of Emit for the event names
// socket.io keeps for itself (see ReservedEvents).
var ErrReservedEvent = errors.New("reserved event name")

// ErrNoClient is returned by every operation of an Emitter made without a
// Redis client.
var ErrNoClient = errors.New("emitter: no Redis client")

// reservedEvents are the names the Node emitter refuses in emit
// (RESERVED_EVENTS of @socket.io/redis-emitter 5.1.0).
var reservedEvents = []string{
	"connect",
	"connect_error",
	"disconnect",
	"disconnecting",
	"newListener",
	"removeListener",
}

// ReservedEvents returns the event names Emit refuses.
func ReservedEvents() []string { return slices.Clone(reservedEvents) }

// publisher is what the emitter needs of Redis: PUBLISH. Tests capture the
// messages with a fake one.
type publisher interface {
	publish(ctx context.Context, channel string, payload []byte) error
}

type redisPublisher struct{ c redis.UniversalClient }

func (p redisPublisher) publish(ctx context.Context, channel string, payload []byte) error {
	return p.c.Publish(ctx, channel, payload).Err()
}

// Emitter sends to the sockets of one namespace of a Socket.IO cluster
// through Redis. It is immutable and safe for concurrent use; Of and the
// selection methods return new values.
type Emitter struct {
	pub publisher
	key string
	nsp string
}

// New returns an Emitter for the namespace "/" that publishes with client
// (a *redis.Client, *redis.ClusterClient, *redis.Ring...). The client is
// the caller's: the Emitter never closes it.
func New(client redis.UniversalClient, opts Options) *Emitter {
	var pub publisher
	if !isNil(client) {
		pub = redisPublisher{client}
	}
	return newEmitter(pub, opts)
}

func newEmitter(pub publisher, opts Options) *Emitter {
	key := opts.Key
	if key == "" {
		key = wire.DefaultPrefix
	}
	return &Emitter{pub: pub, key: key, nsp: "/"}
}

func isNil(c redis.UniversalClient) bool {
	if c == nil {
		return true
	}
	v := reflect.ValueOf(c)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// Of returns an Emitter for the namespace nsp; a missing leading "/" is
// added, as the Node emitter does ("chat" is "/chat", "" is "/").
func (e *Emitter) Of(nsp string) *Emitter {
	if len(nsp) == 0 || nsp[0] != '/' {
		nsp = "/" + nsp
	}
	if e == nil {
		return &Emitter{key: wire.DefaultPrefix, nsp: nsp}
	}
	return &Emitter{pub: e.pub, key: e.key, nsp: nsp}
}

// Namespace returns the namespace the Emitter sends to, e.g. "/chat".
func (e *Emitter) Namespace() string {
	if e == nil {
		return "/"
	}
	return e.nsp
}

func (e *Emitter) op() BroadcastOperator {
	if e == nil {
		return BroadcastOperator{key: wire.DefaultPrefix, nsp: "/"}
	}
	return BroadcastOperator{pub: e.pub, key: e.key, nsp: e.nsp}
}

// To selects the sockets in any of rooms (a socket id is a room too).
func (e *Emitter) To(rooms ...string) BroadcastOperator { return e.op().To(rooms...) }

// In is To.
func (e *Emitter) In(rooms ...string) BroadcastOperator { return e.op().To(rooms...) }

// Except leaves out the sockets in any of rooms.
func (e *Emitter) Except(rooms ...string) BroadcastOperator { return e.op().Except(rooms...) }

// Volatile marks the event as one the servers may drop for a client that is
// not ready to receive it.
func (e *Emitter) Volatile() BroadcastOperator { return e.op().Volatile() }

// Compress sets the compress flag of the event.
func (e *Emitter) Compress(compress bool) BroadcastOperator { return e.op().Compress(compress) }

// Emit sends the event to every socket of the namespace. See
// BroadcastOperator.Emit.
func (e *Emitter) Emit(ctx context.Context, event string, args ...any) error {
	return e.op().Emit(ctx, event, args...)
}

// SocketsJoin makes every socket of the namespace join rooms.
func (e *Emitter) SocketsJoin(ctx context.Context, rooms ...string) error {
	return e.op().SocketsJoin(ctx, rooms...)
}

// SocketsLeave makes every socket of the namespace leave rooms.
func (e *Emitter) SocketsLeave(ctx context.Context, rooms ...string) error {
	return e.op().SocketsLeave(ctx, rooms...)
}

// DisconnectSockets disconnects every socket of the namespace; close also
// closes their underlying connections.
func (e *Emitter) DisconnectSockets(ctx context.Context, close bool) error {
	return e.op().DisconnectSockets(ctx, close)
}

// ServerSideEmit sends the event to the servers themselves: each emits it
// on its namespace object (io.of(nsp).on(event, ...)), not to clients.
//
// The message is JSON, as the Node emitter's: a []byte argument arrives
// as Node's lossy {"type":"Buffer","data":[...]}, not as a Buffer.
// Acknowledgements are not supported (nor are they by the Node emitter),
// and event names are not checked, as in Node.
func (e *Emitter) ServerSideEmit(ctx context.Context, event string, args ...any) error {
	o := e.op()
	if o.pub == nil {
		return ErrNoClient
	}
	data, err := toValues(event, args)
	if err != nil {
		return err
	}
	payload, err := wire.AppendRequestJSON(nil, wire.Request{
		UID:  wire.EmitterUID,
		Type: wire.ServerSideEmit,
		Data: data,
	})
	if err != nil {
		return fmt.Errorf("emitter: %w", err)
	}
	return o.publish(ctx, wire.RequestChannel(o.key, o.nsp), payload)
}

// BroadcastOperator is a selection of sockets (rooms, exceptions) and
// flags. It is an immutable value, safe for concurrent use: each method
// returns a new one and leaves its receiver as it was, so a partial
// selection can be shared and extended. The zero value has no Redis client;
// get one from an Emitter.
type BroadcastOperator struct {
	pub    publisher
	key    string
	nsp    string
	rooms  []string // in insertion order, without duplicates (a JS Set)
	except []string
	flags  wire.Map // volatile, compress: in the order first set, as Node's object spread
}

// To adds rooms to the selection: the sockets in any of them.
func (o BroadcastOperator) To(rooms ...string) BroadcastOperator {
	o.rooms = addSet(o.rooms, rooms)
	return o
}

// In is To.
func (o BroadcastOperator) In(rooms ...string) BroadcastOperator { return o.To(rooms...) }

// Except leaves out the sockets in any of rooms.
func (o BroadcastOperator) Except(rooms ...string) BroadcastOperator {
	o.except = addSet(o.except, rooms)
	return o
}

// Volatile marks the event as one the servers may drop for a client that is
// not ready to receive it.
func (o BroadcastOperator) Volatile() BroadcastOperator {
	o.flags = setFlag(o.flags, "volatile", true)
	return o
}

// Compress sets the compress flag of the event.
func (o BroadcastOperator) Compress(compress bool) BroadcastOperator {
	o.flags = setFlag(o.flags, "compress", compress)
	return o
}

// Emit sends the event with args to the selected sockets, as one msgpack
// PUBLISH. It refuses the reserved event names (ErrReservedEvent) like the
// Node emitter.
//
// Args are encoded as encoding/json would marshal them (struct tags,
// json.Marshaler, json.RawMessage as is...), except that a []byte, at any
// depth, travels as binary and reaches the clients as a Buffer/ArrayBuffer.
// Numbers are written as notepack.io writes the equal JS number.
func (o BroadcastOperator) Emit(ctx context.Context, event string, args ...any) error {
	if slices.Contains(reservedEvents, event) {
		return fmt.Errorf("emitter: %q is a %w", event, ErrReservedEvent)
	}
	if o.pub == nil {
		return ErrNoClient
	}
	data, err := toValues(event, args)
	if err != nil {
		return err
	}
	flags := o.flags
	if flags == nil {
		flags = wire.Map{}
	}
	opts := wire.Opts{
		Rooms:        orEmpty(o.rooms),
		Except:       orEmpty(o.except),
		Flags:        flags,
		EmitterOrder: true,
	}
	payload, err := wire.AppendBroadcast(nil, wire.Broadcast{
		UID:    wire.EmitterUID,
		Packet: wire.Packet{Type: 2, Data: data, Nsp: o.nsp}, // 2: EVENT, binary or not
		Opts:   opts,
	})
	if err != nil {
		return fmt.Errorf("emitter: %w", err)
	}
	return o.publish(ctx, wire.PublishChannel(o.key, o.nsp, opts), payload)
}

// SocketsJoin makes the selected sockets join rooms.
func (o BroadcastOperator) SocketsJoin(ctx context.Context, rooms ...string) error {
	return o.request(ctx, wire.Request{Type: wire.RemoteJoin, Rooms: orEmpty(rooms)})
}

// SocketsLeave makes the selected sockets leave rooms.
func (o BroadcastOperator) SocketsLeave(ctx context.Context, rooms ...string) error {
	return o.request(ctx, wire.Request{Type: wire.RemoteLeave, Rooms: orEmpty(rooms)})
}

// DisconnectSockets disconnects the selected sockets; close also closes
// their underlying connections.
func (o BroadcastOperator) DisconnectSockets(ctx context.Context, close bool) error {
	return o.request(ctx, wire.Request{Type: wire.RemoteDisconnect, Close: &close})
}

// request publishes r with the selection as its opts, as JSON, without
// uid, as the Node emitter does.
func (o BroadcastOperator) request(ctx context.Context, r wire.Request) error {
	if o.pub == nil {
		return ErrNoClient
	}
	r.Opts = &wire.Opts{Rooms: orEmpty(o.rooms), Except: orEmpty(o.except)}
	payload, err := wire.AppendRequestJSON(nil, r)
	if err != nil {
		return fmt.Errorf("emitter: %w", err)
	}
	return o.publish(ctx, wire.RequestChannel(o.key, o.nsp), payload)
}

func (o BroadcastOperator) publish(ctx context.Context, channel string, payload []byte) error {
	if err := o.pub.publish(ctx, channel, payload); err != nil {
		return fmt.Errorf("emitter: publish on %q: %w", channel, err)
	}
	return nil
}

// addSet returns a new slice: set followed by the items not in it yet.
// It never writes into set's array, which other operators may share.
func addSet(set, items []string) []string {
	out := make([]string, len(set), len(set)+len(items))
	copy(out, set)
	var seen map[string]bool
	if len(set)+len(items) > 16 {
		seen = make(map[string]bool, len(set)+len(items))
		for _, s := range set {
			seen[s] = true
		}
	}
	for _, s := range items {
		if seen != nil {
			if seen[s] {
				continue
			}
			seen[s] = true
		} else if slices.Contains(out, s) {
			continue
		}
		out = append(out, s)
	}
	return out
}

// setFlag returns a copy of flags with key set; a key set before keeps its
// place (Object.assign).
func setFlag(flags wire.Map, key string, v bool) wire.Map {
	return slices.Clone(flags).Set(key, v)
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
