package main

import (
	"errors"

	"github.com/socketcore/socketcore/core/client"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
	"github.com/socketcore/socketcore/wasm/abi"
)

// The client role (wasm/ABI.md §9.4): sio_new with Init.role 3 reserves
// the instance for a core/client Manager, which the first call,
// ClientConfig, creates. The dispatcher (dispatch.go) sends every call of
// a client instance here and polls the Manager.

// clientGuest is the client role's state: the Manager once configured.
type clientGuest struct {
	m *client.Manager
}

// clientHandle is sio_handle for a client instance (bounds checked).
func (g *guest) clientHandle(now clock.Instant, k abi.Kind, off, n, limit uint32) int64 {
	if !abi.RoleClient.Accepts(k) {
		if abi.RoleServer.Accepts(k) || abi.RoleEngine.Accepts(k) || abi.IsSnapshotKind(k) && k.IsCommand() {
			return int64(abi.StatusRole) // a known call of another role
		}
		return int64(abi.StatusUnknownKind)
	}
	c := g.cli
	if c.m == nil && k != abi.KindClientConfig || c.m != nil && k == abi.KindClientConfig {
		return int64(abi.StatusState)
	}
	rec := g.copyIn(g.xbuf[off : off+n])
	g.reply, g.replyKind = g.reply[:0], 0
	rep, err := c.call(now, k, rec)
	switch {
	case err == abi.ErrBadRecord:
		return int64(abi.StatusBadRecord)
	case err != nil:
		return int64(clientStatus(err))
	}
	if rep == nil {
		return 0
	}
	var aerr error
	if g.replyKind, g.reply, aerr = abi.AppendClientResult(g.reply[:0], rep); aerr != nil {
		g.replyKind, g.reply, _ = abi.AppendResult(g.reply[:0], rep)
	}
	if uint32(len(g.reply)) <= limit {
		copy(g.xbuf[off:], g.reply)
	}
	return int64(len(g.reply))
}

// call decodes one call of the client role and performs it.
func (c *clientGuest) call(now clock.Instant, k abi.Kind, rec []byte) (any, error) {
	switch k {
	case abi.KindRecv:
		in, err := abi.DecodeRecv(rec)
		if err != nil {
			return nil, err
		}
		return nil, c.m.Handle(now, in)
	case abi.KindAck:
		a, err := abi.DecodeAck(rec)
		if err != nil {
			return nil, err
		}
		return nil, c.m.Ack(now, a.Ref, a.Args, a.Attachments)
	case abi.KindClosed, abi.KindTimeout:
		r, err := abi.DecodeCall(k, rec)
		if err != nil {
			return nil, err
		}
		return nil, c.m.Handle(now, r.(wire.Input))
	}
	r, err := abi.DecodeClientCall(k, rec)
	if err != nil {
		return nil, err
	}
	m := c.m
	switch r := r.(type) {
	case wire.HTTPResponse:
		return nil, m.Handle(now, r)
	case wire.Dialed:
		return nil, m.Handle(now, r)
	case client.Config:
		cm, err := client.New(r)
		if err != nil {
			return nil, err
		}
		c.m = cm
		return nil, nil
	case abi.ClientOpen:
		m.Open(now)
		return nil, nil
	case abi.ClientClose:
		m.Close(now)
		return nil, nil
	case abi.AddSocket:
		return nil, m.AddSocket(r.Nsp, client.SocketOptions{Auth: r.Auth, DynamicAuth: r.DynamicAuth, Retries: r.Retries, AckTimeout: r.AckTimeout})
	case abi.ClientConnect:
		return nil, m.Connect(now, r.Nsp)
	case abi.ClientDisconnect:
		return nil, m.Disconnect(now, r.Nsp)
	case abi.SetAuth:
		return nil, m.SetAuth(now, r.Nsp, r.Auth)
	case abi.ClientEmit:
		ref, err := m.Emit(now, r.Nsp, r.Emit)
		if err != nil {
			return nil, err
		}
		return abi.RefReply{Ref: ref}, nil
	case abi.CancelAck:
		m.CancelAck(r.Ref)
		return nil, nil
	case abi.ClientStatsQuery:
		return m.Stats(), nil
	case abi.ClientCloseEngine:
		m.CloseEngine(now)
		return nil, nil
	}
	return nil, abi.ErrUnknownKind
}

// poll returns the Manager's next output (Wait before ClientConfig).
func (c *clientGuest) poll() wire.Output {
	if c.m == nil {
		return wire.Wait{}
	}
	return c.m.Poll()
}

// clientStatus maps the client's errors to their status codes.
func clientStatus(err error) abi.Status {
	switch {
	case errors.Is(err, client.ErrUnknownSocket):
		return abi.StatusUnknownSocket
	case errors.Is(err, client.ErrSocketExists):
		return abi.StatusNamespaceExist
	case errors.Is(err, client.ErrUnknownInput):
		return abi.StatusUnknownInput
	case errors.Is(err, client.ErrUnknownAck):
		return abi.StatusUnknownAck
	case errors.Is(err, client.ErrReservedEvent):
		return abi.StatusReservedEvent
	case errors.Is(err, client.ErrInvalidEvent):
		return abi.StatusInvalidEvent
	case errors.Is(err, client.ErrInvalidAuth):
		return abi.StatusInvalidAuth
	case errors.Is(err, client.ErrBufferFull):
		return abi.StatusBufferFull
	case errors.Is(err, client.ErrConfig):
		return abi.StatusInvalidConfig
	case errors.Is(err, abi.ErrUnknownKind):
		return abi.StatusUnknownKind
	}
	return abi.StatusOther
}
