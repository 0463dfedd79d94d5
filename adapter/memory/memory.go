// Package memory is the in-process cluster adapter: servers in one
// process (shards, tests) joined by a Bus, with the delivery guarantees of
// Redis pub/sub and none of its cost.
package memory

import (
	"context"
	"errors"
	"sync"

	"github.com/socketcore/socketcore/adapter"
	"github.com/socketcore/socketcore/core/wire"
)

// Bus joins the servers of one in-process cluster.
type Bus struct {
	mu    sync.Mutex
	nodes []*Node
}

// NewBus returns an empty bus.
func NewBus() *Bus { return &Bus{} }

// Node is one server's adapter on a Bus.
type Node struct {
	bus     *Bus
	receive adapter.Receive
	nsps    map[string]bool // guarded by bus.mu
	closed  bool
}

var _ adapter.Adapter = (*Node)(nil)

// ErrClosed is returned by a closed Node.
var ErrClosed = errors.New("memory adapter: closed")

// Attach adds a server whose messages from the others go to receive.
func (b *Bus) Attach(receive adapter.Receive) *Node {
	n := &Node{bus: b, receive: receive, nsps: make(map[string]bool)}
	b.mu.Lock()
	b.nodes = append(b.nodes, n)
	b.mu.Unlock()
	return n
}

// AddNamespace starts receiving nsp's messages.
func (n *Node) AddNamespace(_ context.Context, nsp string) error {
	n.bus.mu.Lock()
	defer n.bus.mu.Unlock()
	if n.closed {
		return ErrClosed
	}
	n.nsps[nsp] = true
	return nil
}

// Publish hands m to every other server receiving its namespace, on the
// caller's goroutine, in order.
func (n *Node) Publish(_ context.Context, m wire.ClusterMessage) error {
	n.bus.mu.Lock()
	if n.closed {
		n.bus.mu.Unlock()
		return ErrClosed
	}
	var to []adapter.Receive
	for _, o := range n.bus.nodes {
		if o != n && !o.closed && o.nsps[m.Nsp] {
			to = append(to, o.receive)
		}
	}
	n.bus.mu.Unlock()
	for _, r := range to {
		r(m)
	}
	return nil
}

// ServerCount counts the open servers receiving nsp, this one included.
func (n *Node) ServerCount(_ context.Context, nsp string) (int, error) {
	n.bus.mu.Lock()
	defer n.bus.mu.Unlock()
	if n.closed {
		return 0, ErrClosed
	}
	c := 0
	for _, o := range n.bus.nodes {
		if !o.closed && o.nsps[nsp] {
			c++
		}
	}
	return c, nil
}

// Close detaches the server from the bus.
func (n *Node) Close() error {
	n.bus.mu.Lock()
	defer n.bus.mu.Unlock()
	n.closed = true
	for i, o := range n.bus.nodes {
		if o == n {
			n.bus.nodes = append(n.bus.nodes[:i], n.bus.nodes[i+1:]...)
			break
		}
	}
	return nil
}
