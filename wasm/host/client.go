package host

import (
	"context"
	"errors"
	"fmt"

	"github.com/socketcore/socketcore/core/client"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
	"github.com/socketcore/socketcore/wasm/abi"
)

// ClientMachine is the client role of a core.wasm instance (wasm/ABI.md
// §9.4): a core/client Manager. Its methods are those of *client.Manager,
// with the same meaning and errors (client.ErrUnknownSocket, ...), so a
// host drives it exactly as hosts/native drives the native Manager. It
// shares Machine's rules: calls are serialized, and after a trap every
// method fails fast (Poll returns wire.Wait{}, Stats zero) until the
// owner, checking Err, replaces it.
type ClientMachine struct {
	instance
}

// ErrNoClientRole is returned by NewClientMachine for a core.wasm built
// before the client role (its sio_new refuses role 3 with StatusRole).
var ErrNoClientRole = errors.New("core.wasm: this module has no client role (rebuild it: make wasm)")

// NewClientMachine starts an instance and creates a client machine with
// cfg (zero values take socket.io-client's defaults, as client.New does;
// an invalid cfg is client.ErrConfig).
func (m *Module) NewClientMachine(ctx context.Context, cfg client.Config) (*ClientMachine, error) {
	inst, stderr, err := m.instantiate(ctx)
	if err != nil {
		return nil, err
	}
	c := &ClientMachine{}
	if err := c.start(inst, stderr, abi.Init{Role: abi.RoleClient}, m.opts.CallTimeout); err != nil {
		inst.Close(ctx)
		var re *RejectedError
		if errors.As(err, &re) && re.Status == abi.StatusRole {
			return nil, fmt.Errorf("%w (%w)", ErrNoClientRole, err)
		}
		return nil, err
	}
	if err := c.command(0, cfg); err != nil {
		c.release(ctx)
		return nil, err
	}
	return c, nil
}

// Err returns the error that stopped the machine (*TrapError or
// ErrReleased), or nil while it runs.
func (c *ClientMachine) Err() error { return c.failure() }

// Release closes the instance. The ClientMachine fails with ErrReleased
// after.
func (c *ClientMachine) Release(ctx context.Context) error { return c.release(ctx) }

// Handle feeds one input (client.Manager.Handle): HTTPResponse, Dialed,
// Recv, Closed, Timeout.
func (c *ClientMachine) Handle(now clock.Instant, in wire.Input) error {
	if in == nil {
		return client.ErrUnknownInput
	}
	return c.command(now, in)
}

// Poll returns the next output (client.Manager.Poll); wire.Wait ends a
// drain.
func (c *ClientMachine) Poll() wire.Output {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return wire.Wait{}
	}
	s := c.stack[:]
	for {
		s[0], s[1] = uint64(c.ptr), uint64(c.size)
		if err := c.invoke("sio_poll", c.poll, s); err != nil {
			return wire.Wait{}
		}
		r := int64(s[0])
		if r < 0 {
			c.trap("sio_poll", &RejectedError{Kind: 0, Status: abi.Status(r)})
			return wire.Wait{}
		}
		k, n := abi.Kind(r>>32), uint32(r)
		if n > c.size {
			if c.grow(n) != nil {
				return wire.Wait{}
			}
			continue
		}
		b := c.read(n)
		if b == nil {
			return wire.Wait{}
		}
		if k != abi.KindWait {
			b = append([]byte(nil), b...) // outputs keep their byte slices
		}
		o, err := abi.Decode(k, b)
		if err != nil || !k.IsOutput() {
			c.trap("sio_poll", fmt.Errorf("malformed output %s (%d bytes): %v", k, n, err))
			return wire.Wait{}
		}
		return o.(wire.Output)
	}
}

// Open is client.Manager.Open.
func (c *ClientMachine) Open(now clock.Instant) { c.command(now, abi.ClientOpen{}) }

// Close is client.Manager.Close.
func (c *ClientMachine) Close(now clock.Instant) { c.command(now, abi.ClientClose{}) }

// AddSocket is client.Manager.AddSocket.
func (c *ClientMachine) AddSocket(nsp string, opts client.SocketOptions) error {
	return c.command(0, abi.AddSocket{Nsp: nsp, Auth: opts.Auth, DynamicAuth: opts.DynamicAuth, Retries: opts.Retries, AckTimeout: opts.AckTimeout})
}

// Connect is client.Manager.Connect.
func (c *ClientMachine) Connect(now clock.Instant, nsp string) error {
	return c.command(now, abi.ClientConnect{Nsp: nsp})
}

// Disconnect is client.Manager.Disconnect.
func (c *ClientMachine) Disconnect(now clock.Instant, nsp string) error {
	return c.command(now, abi.ClientDisconnect{Nsp: nsp})
}

// SetAuth is client.Manager.SetAuth.
func (c *ClientMachine) SetAuth(now clock.Instant, nsp string, auth []byte) error {
	return c.command(now, abi.SetAuth{Nsp: nsp, Auth: auth})
}

// Emit is client.Manager.Emit.
func (c *ClientMachine) Emit(now clock.Instant, nsp string, e client.Emit) (wire.AckRef, error) {
	rep, err := c.query(now, abi.ClientEmit{Nsp: nsp, Emit: e})
	if err != nil {
		return 0, err
	}
	return rep.(abi.RefReply).Ref, nil
}

// Ack is client.Manager.Ack.
func (c *ClientMachine) Ack(now clock.Instant, ref wire.AckRef, args []byte, atts [][]byte) error {
	return c.command(now, abi.Ack{Ref: ref, Args: args, Attachments: atts})
}

// CloseEngine is client.Manager.CloseEngine.
func (c *ClientMachine) CloseEngine(now clock.Instant) { c.command(now, abi.ClientCloseEngine{}) }

// CancelAck is client.Manager.CancelAck.
func (c *ClientMachine) CancelAck(ref wire.AckRef) { c.command(0, abi.CancelAck{Ref: ref}) }

// Stats is client.Manager.Stats (zero after a trap).
func (c *ClientMachine) Stats() client.Stats {
	rep, err := c.query(0, abi.ClientStatsQuery{})
	if err != nil {
		return client.Stats{}
	}
	return rep.(client.Stats)
}

// command runs a call without a reply.
func (c *ClientMachine) command(now clock.Instant, r any) error {
	_, err := c.query(now, r)
	return err
}

// query runs one call and decodes its reply (nil when it has none).
func (c *ClientMachine) query(now clock.Instant, r any) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return nil, c.err
	}
	k, rec, err := abi.Append(c.enc[:0], r)
	if err != nil || !abi.RoleClient.Accepts(k) {
		return nil, client.ErrUnknownInput // a value this ABI does not carry to a client
	}
	c.enc = rec
	if err := c.grow(uint32(len(rec))); err != nil {
		return nil, err
	}
	if !c.mem.Write(c.ptr, rec) {
		return nil, c.trap("write", fmt.Errorf("guest memory has no %d bytes at %#x", len(rec), c.ptr))
	}
	s := c.stack[:]
	s[0], s[1], s[2], s[3], s[4] = uint64(now), uint64(k), uint64(c.ptr), uint64(len(rec)), uint64(c.size)
	if err := c.invoke("sio_handle", c.handle, s); err != nil {
		return nil, err
	}
	n := int64(s[0])
	switch {
	case n < 0:
		return nil, clientStatusError(k, abi.Status(n))
	case n == 0:
		return nil, nil
	case n > int64(c.size):
		if err := c.grow(uint32(n)); err != nil {
			return nil, err
		}
		s[0], s[1] = uint64(c.ptr), uint64(c.size)
		if err := c.invoke("sio_reply", c.reply, s); err != nil {
			return nil, err
		}
		if int64(s[0]) != n {
			return nil, c.trap("sio_reply", fmt.Errorf("reply of %d bytes, then %d", n, int64(s[0])))
		}
	}
	b := c.read(uint32(n))
	if c.err != nil {
		return nil, c.err
	}
	rk := abi.ReplyKind(k)
	rep, err := abi.Decode(rk, b)
	if err != nil {
		return nil, c.trap("reply", fmt.Errorf("malformed %s reply to %s: %v", rk, k, err))
	}
	return rep, nil
}

// clientStatusError maps a negative status to core/client's errors.
func clientStatusError(k abi.Kind, st abi.Status) error {
	switch st {
	case abi.StatusUnknownSocket:
		return client.ErrUnknownSocket
	case abi.StatusNamespaceExist:
		return client.ErrSocketExists
	case abi.StatusUnknownInput:
		return client.ErrUnknownInput
	case abi.StatusUnknownAck:
		return client.ErrUnknownAck
	case abi.StatusReservedEvent:
		return client.ErrReservedEvent
	case abi.StatusInvalidEvent:
		return client.ErrInvalidEvent
	case abi.StatusInvalidAuth:
		return client.ErrInvalidAuth
	case abi.StatusBufferFull:
		return client.ErrBufferFull
	case abi.StatusInvalidConfig:
		return client.ErrConfig
	}
	return &RejectedError{Kind: k, Status: st}
}
