// Package emitter sends to the sockets of a Socket.IO cluster joined through
// PostgreSQL from a Go process that runs no Socket.IO server, as Node's
// @socket.io/postgres-emitter does: it NOTIFYs on the servers' channels
// (<prefix>#<nsp>) with the uid "emitter", through the attachment table
// when an event carries binary or is large.
//
// The servers must run @socket.io/postgres-adapter (Node) or
// adapter/postgres (Go). The messages are those of the Node emitter, with
// one addition: they carry the namespace at the top ("nsp"), which Node's
// adapter 0.4+ needs to route them (it drops the Node emitter 0.1.1's
// messages, which have none; adapter/postgres takes both).
//
// Selections read like Node's: e.Of("/chat").To("room1").Except("room2").
// Volatile().Emit(ctx, "event", args...). Arguments are encoded as with
// adapter/emitter (encoding/json's rules, a []byte at any depth is binary).
// Acknowledgements and fetchSockets are not supported, as in Node: the
// emitter only sends. NOTIFY is at most once: a server that is not
// listening at that moment never gets the message.
package emitter

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/socketcore/socketcore/adapter/emitter"
	"github.com/socketcore/socketcore/adapter/postgres"
	"github.com/socketcore/socketcore/adapter/wire"
	cw "github.com/socketcore/socketcore/core/wire"
)

// UID is the uid of the emitter's messages, as Node's.
const UID = "emitter"

// Options configure an Emitter; zero values are Node's defaults.
type Options struct {
	ChannelPrefix    string // the servers' channelPrefix ("" is "socket.io")
	TableName        string // the servers' tableName ("" is "socket_io_attachments")
	PayloadThreshold int    // 0 is 8000
}

// ErrReservedEvent is wrapped by Emit's error for the names socket.io keeps
// for itself.
var ErrReservedEvent = emitter.ErrReservedEvent

// ErrNoDB is returned by the operations of an Emitter made without a pool.
var ErrNoDB = errors.New("postgres emitter: no database")

// Emitter sends to the sockets of one namespace. It is immutable and safe
// for concurrent use.
type Emitter struct {
	pub postgres.Publisher
	nsp string
}

// New returns an Emitter for the namespace "/" that sends through db (a
// *pgxpool.Pool, which the Emitter never closes).
func New(db postgres.Execer, opts Options) *Emitter {
	return &Emitter{pub: postgres.Publisher{DB: db, Table: opts.TableName,
		Codec: postgres.Codec{Prefix: opts.ChannelPrefix, UID: UID, Threshold: opts.PayloadThreshold}}, nsp: "/"}
}

// Of returns an Emitter for the namespace nsp ("chat" is "/chat").
func (e *Emitter) Of(nsp string) *Emitter {
	if len(nsp) == 0 || nsp[0] != '/' {
		nsp = "/" + nsp
	}
	return &Emitter{pub: e.pub, nsp: nsp}
}

// Namespace returns the Emitter's namespace.
func (e *Emitter) Namespace() string { return e.nsp }

func (e *Emitter) op() BroadcastOperator { return BroadcastOperator{e: e, compress: true} }

// To selects the sockets in any of rooms (a socket id is a room too).
func (e *Emitter) To(rooms ...string) BroadcastOperator { return e.op().To(rooms...) }

// In is To.
func (e *Emitter) In(rooms ...string) BroadcastOperator { return e.op().To(rooms...) }

// Except leaves out the sockets in any of rooms.
func (e *Emitter) Except(rooms ...string) BroadcastOperator { return e.op().Except(rooms...) }

// Volatile marks the event as one a server may drop for a client not ready.
func (e *Emitter) Volatile() BroadcastOperator { return e.op().Volatile() }

// Compress sets the compress flag.
func (e *Emitter) Compress(c bool) BroadcastOperator { return e.op().Compress(c) }

// Emit sends the event to every socket of the namespace.
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

// DisconnectSockets disconnects every socket of the namespace (close: their
// connections too).
func (e *Emitter) DisconnectSockets(ctx context.Context, close bool) error {
	return e.op().DisconnectSockets(ctx, close)
}

// ServerSideEmit sends the event to the servers' namespace objects
// (io.of(nsp).on(event, ...)), without acknowledgements. A []byte argument
// arrives as a Buffer (the message goes through the attachment table).
func (e *Emitter) ServerSideEmit(ctx context.Context, event string, args ...any) error {
	data, atts, err := values(event, args)
	if err != nil {
		return err
	}
	return e.op().publish(ctx, cw.ClusterMessage{Type: cw.ClusterServerSideEmit, Data: data, Attachments: atts})
}

// BroadcastOperator is a selection of sockets and flags; immutable.
type BroadcastOperator struct {
	e        *Emitter
	rooms    []string
	except   []string
	volatile bool
	compress bool
}

// To adds rooms to the selection.
func (o BroadcastOperator) To(rooms ...string) BroadcastOperator {
	o.rooms = add(o.rooms, rooms)
	return o
}

// In is To.
func (o BroadcastOperator) In(rooms ...string) BroadcastOperator { return o.To(rooms...) }

// Except leaves out the sockets in any of rooms.
func (o BroadcastOperator) Except(rooms ...string) BroadcastOperator {
	o.except = add(o.except, rooms)
	return o
}

// Volatile marks the event volatile.
func (o BroadcastOperator) Volatile() BroadcastOperator { o.volatile = true; return o }

// Compress sets the compress flag.
func (o BroadcastOperator) Compress(c bool) BroadcastOperator { o.compress = c; return o }

// Emit sends the event with args to the selected sockets. It refuses the
// reserved event names, as Node.
func (o BroadcastOperator) Emit(ctx context.Context, event string, args ...any) error {
	if slices.Contains(emitter.ReservedEvents(), event) {
		return fmt.Errorf("postgres emitter: %q is a %w", event, ErrReservedEvent)
	}
	data, atts, err := values(event, args)
	if err != nil {
		return err
	}
	return o.publish(ctx, cw.ClusterMessage{Type: cw.ClusterBroadcast, Volatile: o.volatile, Compress: o.compress,
		Data: data, Attachments: atts})
}

// SocketsJoin makes the selected sockets join rooms.
func (o BroadcastOperator) SocketsJoin(ctx context.Context, rooms ...string) error {
	return o.publish(ctx, cw.ClusterMessage{Type: cw.ClusterSocketsJoin, JoinRooms: add(nil, rooms)})
}

// SocketsLeave makes the selected sockets leave rooms.
func (o BroadcastOperator) SocketsLeave(ctx context.Context, rooms ...string) error {
	return o.publish(ctx, cw.ClusterMessage{Type: cw.ClusterSocketsLeave, JoinRooms: add(nil, rooms)})
}

// DisconnectSockets disconnects the selected sockets (close: their
// connections too).
func (o BroadcastOperator) DisconnectSockets(ctx context.Context, close bool) error {
	return o.publish(ctx, cw.ClusterMessage{Type: cw.ClusterDisconnectSockets, Close: close})
}

func (o BroadcastOperator) publish(ctx context.Context, m cw.ClusterMessage) error {
	if o.e == nil || o.e.pub.DB == nil {
		return ErrNoDB
	}
	m.Nsp, m.Rooms, m.Except = o.e.nsp, o.rooms, o.except
	if err := o.e.pub.Publish(ctx, m); err != nil {
		return fmt.Errorf("postgres emitter: %w", err)
	}
	return nil
}

func values(event string, args []any) ([]byte, [][]byte, error) {
	v, err := emitter.Values(event, args...)
	if err != nil {
		return nil, nil, err
	}
	data, atts, err := wire.ToJSON(v)
	if err != nil {
		return nil, nil, fmt.Errorf("postgres emitter: %w", err)
	}
	return data, atts, nil
}

// add returns a new slice: s then the items not in it yet.
func add(s, items []string) []string {
	out := slices.Clone(s)
	for _, x := range items {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}
