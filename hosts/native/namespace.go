package native

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// Namespace is a Socket.IO namespace (io.of(name)).
type Namespace struct {
	srv    *Server
	name   string
	parent *Namespace             // for a child of a dynamic namespace
	match  func(name string) bool // for a dynamic parent

	mu             sync.RWMutex
	middleware     []func(*Socket) error
	connections    []func(*Socket)
	serverHandlers map[string]handlerFunc // OnServerSideEmit
}

// Name is the namespace's name ("/chat").
func (n *Namespace) Name() string { return n.name }

// Use adds middleware: it runs for every connection before the connection
// handlers; an error refuses the connection (the client gets connect_error
// with the error's text; use *ConnectError to add data).
func (n *Namespace) Use(fn func(*Socket) error) {
	n.mu.Lock()
	n.middleware = append(n.middleware, fn)
	n.mu.Unlock()
}

// OnConnection registers a handler run for every new socket; register the
// socket's event handlers there.
func (n *Namespace) OnConnection(fn func(*Socket)) {
	n.mu.Lock()
	n.connections = append(n.connections, fn)
	n.mu.Unlock()
}

func (n *Namespace) handlers() ([]func(*Socket) error, []func(*Socket)) {
	h := n
	if n.parent != nil {
		h = n.parent
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	return slices.Clone(h.middleware), slices.Clone(h.connections)
}

func (n *Namespace) runMiddleware(so *Socket) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &ConnectError{Message: "middleware panic"}
		}
	}()
	mw, _ := n.handlers()
	for _, fn := range mw {
		if err := fn(so); err != nil {
			return err
		}
	}
	return nil
}

func (n *Namespace) op() *BroadcastOperator { return &BroadcastOperator{nsp: n} }

// To targets the sockets in any of rooms (chainable).
func (n *Namespace) To(rooms ...string) *BroadcastOperator { return n.op().To(rooms...) }

// In is To.
func (n *Namespace) In(rooms ...string) *BroadcastOperator { return n.op().To(rooms...) }

// Except excludes the sockets in any of rooms.
func (n *Namespace) Except(rooms ...string) *BroadcastOperator { return n.op().Except(rooms...) }

// Local restricts the broadcast to this node.
func (n *Namespace) Local() *BroadcastOperator { return n.op().Local() }

// Volatile marks the broadcast droppable for sockets not ready to receive.
func (n *Namespace) Volatile() *BroadcastOperator { return n.op().Volatile() }

// Timeout sets how long EmitWithAck waits for every acknowledgement.
func (n *Namespace) Timeout(d time.Duration) *BroadcastOperator { return n.op().Timeout(d) }

// Emit broadcasts to every socket of the namespace.
func (n *Namespace) Emit(event string, args ...any) error { return n.op().Emit(event, args...) }

// SocketIDs returns the ids of the namespace's sockets in any of rooms (all when none).
func (n *Namespace) SocketIDs(rooms ...string) []string {
	var ids []string
	n.srv.d.call(func(clock.Instant) {
		for _, id := range n.srv.core.SocketsIn(n.name, rooms) {
			ids = append(ids, string(id))
		}
	})
	return ids
}

// BroadcastOperator builds a broadcast (io.to(...).except(...).emit(...)).
// Each method returns a new operator; an operator can be reused.
type BroadcastOperator struct {
	nsp        *Namespace
	rooms      []string
	except     []string
	local      bool
	volatile   bool
	noCompress bool // Node's compress flag is true unless set false
	timeout    time.Duration
}

func (b *BroadcastOperator) clone() *BroadcastOperator {
	c := *b
	c.rooms = append([]string(nil), b.rooms...)
	c.except = append([]string(nil), b.except...)
	return &c
}

// To adds target rooms.
func (b *BroadcastOperator) To(rooms ...string) *BroadcastOperator {
	c := b.clone()
	c.rooms = append(c.rooms, rooms...)
	return c
}

// In is To.
func (b *BroadcastOperator) In(rooms ...string) *BroadcastOperator { return b.To(rooms...) }

// Except adds excluded rooms.
func (b *BroadcastOperator) Except(rooms ...string) *BroadcastOperator {
	c := b.clone()
	c.except = append(c.except, rooms...)
	return c
}

// Local restricts the broadcast to this node.
func (b *BroadcastOperator) Local() *BroadcastOperator { c := b.clone(); c.local = true; return c }

// Volatile allows dropping the packet for sockets not ready to receive it.
func (b *BroadcastOperator) Volatile() *BroadcastOperator {
	c := b.clone()
	c.volatile = true
	return c
}

// Compress asks for per-message compression.
func (b *BroadcastOperator) Compress(on bool) *BroadcastOperator {
	c := b.clone()
	c.noCompress = !on
	return c
}

// Timeout sets how long EmitWithAck waits.
func (b *BroadcastOperator) Timeout(d time.Duration) *BroadcastOperator {
	c := b.clone()
	c.timeout = d
	return c
}

func (b *BroadcastOperator) spec(event string, args []any) (core.Broadcast, error) {
	data, atts, err := encodeArgs(event, args)
	if err != nil {
		return core.Broadcast{}, err
	}
	return core.Broadcast{
		Nsp: b.nsp.name, Rooms: b.rooms, Except: b.except, Data: data, Attachments: atts,
		Volatile: b.volatile, Compress: !b.noCompress, Local: b.local,
	}, nil
}

// Emit sends the event to every targeted socket; the packet is encoded once.
func (b *BroadcastOperator) Emit(event string, args ...any) error {
	if err := checkEventName(event); err != nil {
		return err
	}
	spec, err := b.spec(event, args)
	if err != nil {
		return err
	}
	// fire and forget: the namespace exists in the core (Of registered it)
	if !b.nsp.srv.d.post(func(now clock.Instant) {
		if _, _, err := b.nsp.srv.core.Broadcast(now, spec); err == nil {
			b.nsp.srv.stats.broadcasts++ // metrics.go
		}
	}) {
		return ErrClosed
	}
	return nil
}

// EmitWithAck sends the event to every targeted socket and waits for all
// their acknowledgements, until the operator's Timeout (or ctx) ends the
// wait: then it returns the replies received and ErrAckTimeout.
func (b *BroadcastOperator) EmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	if err := checkEventName(event); err != nil {
		return nil, err
	}
	spec, err := b.spec(event, args)
	if err != nil {
		return nil, err
	}
	spec.WithAck, spec.Timeout = true, ackTimeout(ctx, b.timeout)
	r := b.nsp.srv.requestAck(ctx, func(now clock.Instant) (wire.AckRef, error) {
		ref, _, err := b.nsp.srv.core.Broadcast(now, spec)
		if err == nil {
			b.nsp.srv.stats.broadcasts++ // metrics.go
		}
		return ref, err
	})
	return r.replies, r.err
}
