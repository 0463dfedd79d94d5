package main

import (
	"bytes"
	"errors"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/engine"
	"github.com/socketcore/socketcore/core/wire"
	"github.com/socketcore/socketcore/wasm/abi"
)

// maxBuffer bounds the exchange area (sio_buffer): past it the guest
// answers 0 rather than ask the runtime for memory it may not get.
const maxBuffer = 1 << 30

// guest is the state of one instance: one machine, the exchange area the
// host writes records into and reads them from, and the output or reply
// held back because it did not fit (wasm/ABI.md "Buffers"). The machine is
// a core.Server (RoleServer) or an engine-only engine.Server (RoleEngine):
// exactly one of srv and eng is set once sio_new succeeded. They are
// called through their concrete types, never an interface, so that the
// decoded inputs stay on the stack.
type guest struct {
	role abi.Role
	srv  *core.Server
	eng  *engine.Server
	cli  *clientGuest // the client role (client.go)
	xbuf []byte       // the exchange area; offsets below are into it

	out     []byte // encoding of the output sio_poll returned last or holds
	outKind abi.Kind
	held    bool // out is an output not yet delivered (it did not fit)

	reply     []byte // encoding of the last command's reply
	replyKind abi.Kind

	chunk []byte // where small input records are copied (copyIn)
}

// Inputs up to smallRecord bytes are copied into shared chunks of
// chunkSize instead of one allocation each: in core.wasm an allocation
// costs about as much as parsing a small packet. A slice the machine keeps
// (a partial binary packet waiting for its attachments) pins its chunk
// until it is released.
const (
	smallRecord = 512
	chunkSize   = 8 << 10
)

// copyIn returns a copy of p that the machine may keep: the host reuses
// the exchange area, and wire.Recv.Data and friends are "owned by the
// machine after the call". The copy's capacity ends with it, so nothing
// appended to it can reach a neighbour.
func (g *guest) copyIn(p []byte) []byte {
	if len(p) > smallRecord {
		return bytes.Clone(p)
	}
	if cap(g.chunk)-len(g.chunk) < len(p) {
		g.chunk = make([]byte, 0, chunkSize)
	}
	start := len(g.chunk)
	g.chunk = append(g.chunk, p...)
	return g.chunk[start:len(g.chunk):len(g.chunk)]
}

// buffer makes the exchange area at least size bytes long; false if size
// is over maxBuffer. The area's old contents are not kept.
func (g *guest) buffer(size uint32) bool {
	if size > maxBuffer {
		return false
	}
	if uint32(len(g.xbuf)) < size {
		g.xbuf = make([]byte, size)
	}
	return true
}

func (g *guest) inBounds(off, n uint32) bool {
	return uint64(off)+uint64(n) <= uint64(len(g.xbuf))
}

// newMachine is sio_new.
func (g *guest) newMachine(off, n uint32) abi.Status {
	if !g.inBounds(off, n) {
		return abi.StatusBounds
	}
	if g.role != 0 {
		return abi.StatusState
	}
	r, err := abi.DecodeCall(abi.KindInit, g.xbuf[off:off+n])
	if err != nil {
		return abi.StatusBadRecord
	}
	init := r.(abi.Init)
	switch init.Role {
	case abi.RoleServer:
		g.srv = core.NewServer(init.Config)
	case abi.RoleEngine:
		// The Socket.IO fields of the configuration do not apply.
		g.eng = engine.NewServer(init.Config.Config, nil)
	case abi.RoleClient:
		g.cli = &clientGuest{} // created by its first call, ClientConfig (client.go)
	default:
		return abi.StatusRole
	}
	g.role = init.Role
	return abi.StatusOK
}

// handle is sio_handle: decode, perform, encode the reply (if any) at off
// when it fits in limit. It returns the reply's length or a negative status.
func (g *guest) handle(now int64, kind uint32, off, n, limit uint32) int64 {
	if g.role == 0 {
		return int64(abi.StatusState)
	}
	if !g.inBounds(off, n) || !g.inBounds(off, limit) {
		return int64(abi.StatusBounds)
	}
	k := abi.Kind(kind)
	if g.cli != nil && kind <= 0xffff {
		return g.clientHandle(clock.Instant(now), k, off, n, limit)
	}
	if abi.IsSnapshotKind(k) && kind <= 0xffff { // session snapshots (snapshot.go)
		return g.snapshotHandle(clock.Instant(now), k, off, n, limit)
	}
	if kind > 0xffff || !(k.IsInput() || k.IsCommand()) {
		return int64(abi.StatusUnknownKind)
	}
	if !g.role.Accepts(k) {
		if abi.RoleServer.Accepts(k) || abi.RoleEngine.Accepts(k) || abi.RoleClient.Accepts(k) {
			return int64(abi.StatusRole) // a known call of another role
		}
		return int64(abi.StatusUnknownKind)
	}
	rec := g.copyIn(g.xbuf[off : off+n])
	g.reply, g.replyKind = g.reply[:0], 0
	var rep any
	var err error
	if g.eng != nil {
		rep, err = g.engineCall(clock.Instant(now), k, rec)
	} else if rep, err = g.fast(clock.Instant(now), k, rec); err == errSlow {
		var r any
		if r, err = abi.DecodeCall(k, rec); err == nil {
			rep, err = g.perform(clock.Instant(now), r)
		}
	}
	switch {
	case err == abi.ErrBadRecord:
		return int64(abi.StatusBadRecord)
	case err != nil:
		return int64(status(err))
	}
	if rep == nil {
		return 0
	}
	g.replyKind, g.reply, _ = abi.AppendResult(g.reply[:0], rep)
	if uint32(len(g.reply)) <= limit {
		copy(g.xbuf[off:], g.reply)
	}
	return int64(len(g.reply))
}

var errSlow = errors.New("not on the fast path")

// fast handles the per-packet kinds without boxing the decoded record
// (the core's parameters do not escape, so the values stay on the stack);
// errSlow for the others.
func (g *guest) fast(now clock.Instant, k abi.Kind, rec []byte) (any, error) {
	s := g.srv
	switch k {
	case abi.KindRecv:
		in, err := abi.DecodeRecv(rec)
		if err != nil {
			return nil, err
		}
		return nil, s.Handle(now, in)
	case abi.KindHTTPRequest:
		in, err := abi.DecodeHTTPRequest(rec)
		if err != nil {
			return nil, err
		}
		return nil, s.Handle(now, in)
	case abi.KindTimeout:
		if len(rec) != 0 {
			return nil, abi.ErrBadRecord
		}
		return nil, s.Handle(now, wire.Timeout{})
	case abi.KindEmit:
		e, err := abi.DecodeEmit(rec)
		if err != nil {
			return nil, err
		}
		ref, err := s.Emit(now, e)
		if err != nil {
			return nil, err
		}
		return abi.RefReply{Ref: ref}, nil
	case abi.KindAck:
		a, err := abi.DecodeAck(rec)
		if err != nil {
			return nil, err
		}
		return nil, s.Ack(a.Ref, a.Args, a.Attachments)
	}
	return nil, errSlow
}

// perform calls the core.Server method the record names (the inputs other
// than the fast path's, ClusterReceived and ClusterServers among them, go
// to Handle).
func (g *guest) perform(now clock.Instant, r any) (any, error) {
	s := g.srv
	switch r := r.(type) {
	case wire.Input:
		return nil, s.Handle(now, r)
	case abi.AddNamespace:
		return nil, s.AddNamespace(r.Name, r.Gated)
	case abi.AcceptConnect:
		return nil, s.AcceptConnect(now, r.Socket)
	case abi.RejectConnect:
		return nil, s.RejectConnect(now, r.Socket, r.Message, r.Data)
	case core.Emit:
		ref, err := s.Emit(now, r)
		if err != nil {
			return nil, err
		}
		return abi.RefReply{Ref: ref}, nil
	case abi.Ack:
		return nil, s.Ack(r.Ref, r.Args, r.Attachments)
	case core.Broadcast:
		ref, n, err := s.Broadcast(now, r)
		if err != nil {
			return nil, err
		}
		return abi.BroadcastReply{Ref: ref, Targets: n}, nil
	case abi.Join:
		return nil, s.Join(r.Socket, r.Rooms...)
	case abi.Leave:
		return nil, s.Leave(r.Socket, r.Room)
	case abi.RoomsOf:
		return abi.StringsReply{List: s.Rooms(r.Socket)}, nil
	case abi.IsConnected:
		return abi.BoolReply{Value: s.Connected(r.Socket)}, nil
	case abi.TransportOf:
		return abi.StringReply{Value: s.Transport(r.Socket)}, nil
	case abi.SocketsIn:
		ids := s.SocketsIn(r.Nsp, r.Rooms)
		var l []string
		if len(ids) > 0 {
			l = make([]string, len(ids))
			for i, id := range ids {
				l[i] = string(id)
			}
		}
		return abi.StringsReply{List: l}, nil
	case abi.Disconnect:
		return nil, s.Disconnect(now, r.Socket, r.CloseSession)
	case abi.Close:
		s.Close(now)
		return nil, nil
	case abi.StatsQuery:
		return s.Stats(), nil
	case abi.ConfigQuery:
		return s.Config(), nil
	case abi.CountsQuery:
		p, ws := s.Transports()
		return abi.CountsReply{Polling: p, WebSocket: ws, VolatileDropped: s.VolatileDropped(), Namespaces: s.NamespaceCounts()}, nil
	case abi.SocketsJoin:
		return nil, s.SocketsJoin(now, r.Target, r.Rooms...)
	case abi.SocketsLeave:
		return nil, s.SocketsLeave(now, r.Target, r.Rooms...)
	case abi.DisconnectSockets:
		return nil, s.DisconnectSockets(now, r.Target, r.CloseSession)
	case abi.FetchSockets:
		return refReply(s.FetchSockets(now, r.Target))
	case abi.AllRooms:
		return refReply(s.AllRooms(now, r.Nsp, r.Local))
	case abi.ServerSideEmit:
		return refReply(s.ServerSideEmit(now, r.Nsp, r.Data, r.Attachments, r.WithAck))
	case abi.SetRecoveryData:
		return nil, s.SetRecoveryData(r.Socket, r.Data)
	}
	return nil, abi.ErrUnknownKind
}

func refReply(ref wire.AckRef, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return abi.RefReply{Ref: ref}, nil
}

// engineCall performs a call of the engine role (Role.Accepts has let
// only those through): the inputs, EngineSend, and Close, Stats and Config
// as engine.Server's CloseAll, Len/Closing and Config.
func (g *guest) engineCall(now clock.Instant, k abi.Kind, rec []byte) (any, error) {
	e := g.eng
	switch k {
	case abi.KindRecv:
		in, err := abi.DecodeRecv(rec)
		if err != nil {
			return nil, err
		}
		return nil, e.Handle(now, in)
	case abi.KindHTTPRequest:
		in, err := abi.DecodeHTTPRequest(rec)
		if err != nil {
			return nil, err
		}
		return nil, e.Handle(now, in)
	case abi.KindTimeout:
		if len(rec) != 0 {
			return nil, abi.ErrBadRecord
		}
		return nil, e.Handle(now, wire.Timeout{})
	case abi.KindEngineSend:
		c, err := abi.DecodeEngineSend(rec)
		if err != nil {
			return nil, err
		}
		s := e.Session(c.SID)
		if s == nil {
			return nil, engine.ErrUnknownSession
		}
		e.Send(s, c.Frames, c.Volatile, c.Compress)
		return nil, nil
	}
	r, err := abi.DecodeCall(k, rec)
	if err != nil {
		return nil, err
	}
	switch r := r.(type) {
	case wire.Closed:
		return nil, e.Handle(now, r)
	case abi.Close:
		e.CloseAll(now)
		return nil, nil
	case abi.StatsQuery:
		return core.Stats{Sessions: e.Len() - e.Closing(), Closing: e.Closing()}, nil
	case abi.ConfigQuery:
		return core.Config{Config: e.Config()}, nil
	}
	return nil, abi.ErrUnknownKind
}

// status maps the core's errors to their status codes.
func status(err error) abi.Status {
	switch {
	case errors.Is(err, core.ErrUnknownSocket):
		return abi.StatusUnknownSocket
	case errors.Is(err, core.ErrUnknownNamespace):
		return abi.StatusUnknownNsp
	case errors.Is(err, core.ErrNamespaceExists):
		return abi.StatusNamespaceExist
	case errors.Is(err, core.ErrUnknownInput):
		return abi.StatusUnknownInput
	case errors.Is(err, core.ErrUnknownAck):
		return abi.StatusUnknownAck
	case errors.Is(err, engine.ErrUnknownSession):
		return abi.StatusUnknownSession
	case errors.Is(err, abi.ErrUnknownKind):
		return abi.StatusUnknownKind
	}
	return abi.StatusOther
}

// replyAt is sio_reply: the last command's reply again, at off if it fits.
func (g *guest) replyAt(off, limit uint32) int64 {
	if !g.inBounds(off, limit) {
		return int64(abi.StatusBounds)
	}
	if uint32(len(g.reply)) <= limit {
		copy(g.xbuf[off:], g.reply)
	}
	return int64(len(g.reply))
}

// poll is sio_poll: the next output as kind<<32 | len, written at off when
// it fits in limit; otherwise it is held for the next call.
func (g *guest) poll(off, limit uint32) int64 {
	if g.role == 0 {
		return int64(abi.StatusState)
	}
	if !g.inBounds(off, limit) {
		return int64(abi.StatusBounds)
	}
	if !g.held {
		var o wire.Output
		switch {
		case g.eng != nil:
			o = g.eng.Poll()
		case g.cli != nil:
			o = g.cli.poll()
		default:
			o = g.srv.Poll()
		}
		var err error
		g.outKind, g.out, err = abi.AppendResult(g.out[:0], o)
		if err != nil && g.cli != nil {
			g.outKind, g.out, err = abi.AppendClientResult(g.out[:0], o) // client.go
		}
		if err != nil {
			// The machine produced an output this ABI version cannot carry:
			// a guest built from mismatched sources. Say so loudly.
			panic("core.wasm: output without an ABI record: " + err.Error())
		}
		g.held = true
	}
	r := int64(g.outKind)<<32 | int64(len(g.out))
	if uint32(len(g.out)) <= limit {
		copy(g.xbuf[off:], g.out)
		g.held = false
	}
	return r
}
