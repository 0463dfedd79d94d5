package host

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/engine"
	"github.com/socketcore/socketcore/core/wire"
	"github.com/socketcore/socketcore/wasm/abi"
	"github.com/tetratelabs/wazero/api"
)

// Machine is the Socket.IO server machine of one core.wasm instance. Its
// methods are those of *core.Server, with the same meaning; it adds Err
// and Release. Calls are serialized by a mutex (one instance runs one call
// at a time), but like core.Server it is meant to have one owner.
//
// After a trap every method fails fast: those that return an error return
// the *TrapError, Poll returns wire.Wait{} (nothing to do, no deadline) so
// a drain loop ends, and queries return zero values. The owner checks Err
// and replaces the shard.
type Machine struct {
	instance
}

// instance is one core.wasm instance running one machine, whatever its
// role (Machine, EngineMachine): the exchange area, the calls, the traps
// and the watchdog. input, output, failure and release take mu; the other
// methods expect it held (the roles' methods hold it around a call).
type instance struct {
	mu     sync.Mutex
	inst   api.Module
	mem    api.Memory
	stderr *tail
	handle api.Function
	poll   api.Function
	reply  api.Function
	buffer api.Function
	stack  [5]uint64
	ptr    uint32 // the exchange area in guest memory
	size   uint32
	enc    []byte
	err    error
	ctx    context.Context // canceled by the watchdog
	dog    *watchdog       // nil without Options.CallTimeout
}

// TrapError reports that an instance stopped: a WebAssembly trap, or the
// Go runtime in the guest exiting (a panic, out of memory). The instance
// is closed; its machine's state is lost.
type TrapError struct {
	Op     string // the export that was running
	Err    error  // wazero's error (*sys.ExitError for a Go panic)
	Stderr string // the end of what the guest wrote to stderr
}

func (e *TrapError) Error() string {
	msg, _, _ := strings.Cut(e.Err.Error(), "\n") // wazero appends a wasm stack trace
	s := "core.wasm trapped in " + e.Op + ": " + msg
	if e.Stderr != "" {
		s += "\n" + e.Stderr
	}
	return s
}

func (e *TrapError) Unwrap() error { return e.Err }

// RejectedError reports a record the guest refused (a status of -1..-15):
// the host and the guest disagree about the ABI. The machine is unchanged.
type RejectedError struct {
	Kind   abi.Kind
	Status abi.Status
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("core.wasm rejected %s: %s (status %d)", e.Kind, e.Status, e.Status)
}

// ErrReleased is returned by a Machine after Release.
var ErrReleased = errors.New("core.wasm: machine released")

const initialBuffer = 64 << 10

func newMachine(inst api.Module, stderr *tail, cfg core.Config, timeout time.Duration) (*Machine, error) {
	m := &Machine{}
	if err := m.start(inst, stderr, abi.Init{Role: abi.RoleServer, Config: cfg}, timeout); err != nil {
		return nil, err
	}
	return m, nil
}

// start creates the instance's machine with sio_new.
func (m *instance) start(inst api.Module, stderr *tail, init abi.Init, timeout time.Duration) error {
	m.ctx = context.Background()
	m.inst = inst
	m.mem = inst.Memory()
	m.stderr = stderr
	m.handle = inst.ExportedFunction("sio_handle")
	m.poll = inst.ExportedFunction("sio_poll")
	m.reply = inst.ExportedFunction("sio_reply")
	m.buffer = inst.ExportedFunction("sio_buffer")
	if timeout > 0 {
		var cancel context.CancelFunc
		m.ctx, cancel = context.WithCancel(context.Background())
		m.dog = startWatchdog(timeout, cancel)
	}
	if err := m.grow(initialBuffer); err != nil {
		m.dog.stop()
		return err
	}
	_, rec, _ := abi.AppendCall(nil, init)
	m.mem.Write(m.ptr, rec)
	s := m.stack[:]
	s[0], s[1] = uint64(m.ptr), uint64(len(rec))
	if err := m.invoke("sio_new", inst.ExportedFunction("sio_new"), s); err != nil {
		m.dog.stop()
		return err
	}
	if st := abi.Status(int32(s[0])); st != abi.StatusOK {
		m.dog.stop()
		return &RejectedError{Kind: abi.KindInit, Status: st}
	}
	return nil
}

// invoke calls one export with the stack s, under the watchdog if any;
// an error is a trap and stops the machine.
func (m *instance) invoke(op string, f api.Function, s []uint64) error {
	if m.dog != nil {
		m.dog.enter()
		defer m.dog.leave()
	}
	if err := f.CallWithStack(m.ctx, s); err != nil {
		if m.dog != nil && m.dog.fired.Load() {
			err = fmt.Errorf("call exceeded %v (stuck guest): %w", m.dog.timeout, err)
		}
		return m.trap(op, err)
	}
	return nil
}

// watchdog aborts a call that runs longer than timeout: a goroutine looks
// every timeout/2 and cancels the machine's context when the same call is
// still running two looks in a row.
type watchdog struct {
	timeout time.Duration
	calls   atomic.Uint64 // calls started
	busy    atomic.Bool
	fired   atomic.Bool
	done    chan struct{}
	once    sync.Once
}

func startWatchdog(timeout time.Duration, cancel context.CancelFunc) *watchdog {
	w := &watchdog{timeout: timeout, done: make(chan struct{})}
	go func() {
		t := time.NewTicker(timeout / 2)
		defer t.Stop()
		var last uint64
		strikes := 0
		for {
			select {
			case <-w.done:
				cancel()
				return
			case <-t.C:
				n := w.calls.Load()
				if w.busy.Load() && n == last {
					if strikes++; strikes >= 2 {
						w.fired.Store(true)
						cancel()
						return
					}
				} else {
					strikes = 0
				}
				last = n
			}
		}
	}()
	return w
}

func (w *watchdog) enter() { w.calls.Add(1); w.busy.Store(true) }
func (w *watchdog) leave() { w.busy.Store(false) }

// stop ends the watchdog goroutine; nil-safe.
func (w *watchdog) stop() {
	if w != nil {
		w.once.Do(func() { close(w.done) })
	}
}

func (m *instance) trap(op string, err error) error {
	if m.err == nil {
		m.err = &TrapError{Op: op, Err: err, Stderr: m.stderr.String()}
		m.inst.Close(context.Background())
		m.dog.stop()
	}
	return m.err
}

// grow makes the exchange area at least n bytes.
func (m *instance) grow(n uint32) error {
	if n <= m.size && m.size > 0 {
		return nil
	}
	if n < 2*m.size {
		n = 2 * m.size
	}
	m.stack[0] = uint64(n)
	if err := m.invoke("sio_buffer", m.buffer, m.stack[:]); err != nil {
		return err
	}
	p := uint32(m.stack[0])
	if p == 0 {
		return m.trap("sio_buffer", fmt.Errorf("no exchange area of %d bytes", n))
	}
	m.ptr, m.size = p, n
	return nil
}

func (m *instance) read(n uint32) []byte {
	b, ok := m.mem.Read(m.ptr, n)
	if !ok {
		m.trap("read", fmt.Errorf("guest memory has no %d bytes at %#x", n, m.ptr))
		return nil
	}
	return b
}

// call sends one record and returns the reply record (which aliases guest
// memory until the next call), or nil when the command has none.
func (m *instance) call(now clock.Instant, r any) ([]byte, error) {
	if m.err != nil {
		return nil, m.err
	}
	k, rec, err := abi.AppendCall(m.enc[:0], r)
	if err != nil {
		return nil, err
	}
	return m.send(now, k, rec)
}

// send is call with the record rec of kind k already encoded; rec becomes
// the encoding buffer the next call reuses.
func (m *instance) send(now clock.Instant, k abi.Kind, rec []byte) ([]byte, error) {
	m.enc = rec
	if err := m.grow(uint32(len(rec))); err != nil {
		return nil, err
	}
	if !m.mem.Write(m.ptr, rec) {
		return nil, m.trap("write", fmt.Errorf("guest memory has no %d bytes at %#x", len(rec), m.ptr))
	}
	s := m.stack[:]
	s[0], s[1], s[2], s[3], s[4] = uint64(now), uint64(k), uint64(m.ptr), uint64(len(rec)), uint64(m.size)
	if err := m.invoke("sio_handle", m.handle, s); err != nil {
		return nil, err
	}
	n := int64(s[0])
	switch {
	case n < 0:
		return nil, statusError(k, abi.Status(n))
	case n == 0:
		return nil, nil
	case n > int64(m.size):
		if err := m.grow(uint32(n)); err != nil {
			return nil, err
		}
		s[0], s[1] = uint64(m.ptr), uint64(m.size)
		if err := m.invoke("sio_reply", m.reply, s); err != nil {
			return nil, err
		}
		if int64(s[0]) != n {
			return nil, m.trap("sio_reply", fmt.Errorf("reply of %d bytes, then %d", n, int64(s[0])))
		}
	}
	return m.read(uint32(n)), m.err
}

// statusError maps a negative status to the core's sentinel errors, so
// errors.Is works the same on both machines.
func statusError(k abi.Kind, st abi.Status) error {
	switch st {
	case abi.StatusUnknownSocket:
		return core.ErrUnknownSocket
	case abi.StatusUnknownNsp:
		return core.ErrUnknownNamespace
	case abi.StatusNamespaceExist:
		return core.ErrNamespaceExists
	case abi.StatusUnknownInput:
		return core.ErrUnknownInput
	case abi.StatusUnknownAck:
		return core.ErrUnknownAck
	case abi.StatusUnknownSession:
		return engine.ErrUnknownSession
	case abi.StatusBadSnapshot:
		return core.ErrBadSnapshot
	case abi.StatusSnapshotConflict:
		return core.ErrSnapshotConflict
	}
	return &RejectedError{Kind: k, Status: st}
}

// decodeReply decodes the reply of a command of kind k.
func (m *instance) decodeReply(cmd abi.Kind, b []byte) (any, error) {
	r, err := abi.DecodeResult(abi.ReplyKind(cmd), b)
	if err != nil {
		return nil, m.trap("reply", fmt.Errorf("malformed %s reply to %s: %v", abi.ReplyKind(cmd), cmd, err))
	}
	return r, nil
}

// command runs a command whose reply is of type T.
func command[T any](m *instance, now clock.Instant, cmd abi.Kind, r any) (T, error) {
	var zero T
	b, err := m.call(now, r)
	if err != nil {
		return zero, err
	}
	rep, err := m.decodeReply(cmd, b)
	if err != nil {
		return zero, err
	}
	return rep.(T), nil
}

// failure is Err.
func (m *instance) failure() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

// release is Release.
func (m *instance) release(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err == nil {
		m.err = ErrReleased
	}
	m.dog.stop()
	return m.inst.Close(ctx)
}

// input feeds one input (both roles' Handle).
func (m *instance) input(now clock.Instant, in wire.Input) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if in == nil {
		if m.err != nil {
			return m.err
		}
		return core.ErrUnknownInput
	}
	_, err := m.call(now, in)
	if errors.Is(err, abi.ErrUnknownKind) {
		return core.ErrUnknownInput // an Input type this ABI does not carry
	}
	return err
}

// output returns the next output (both roles' Poll).
func (m *instance) output() wire.Output {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return wire.Wait{}
	}
	s := m.stack[:]
	for {
		s[0], s[1] = uint64(m.ptr), uint64(m.size)
		if err := m.invoke("sio_poll", m.poll, s); err != nil {
			return wire.Wait{}
		}
		r := int64(s[0])
		if r < 0 {
			m.trap("sio_poll", &RejectedError{Kind: 0, Status: abi.Status(r)})
			return wire.Wait{}
		}
		k, n := abi.Kind(r>>32), uint32(r)
		if n > m.size {
			if m.grow(n) != nil {
				return wire.Wait{}
			}
			continue
		}
		b := m.read(n)
		if b == nil {
			return wire.Wait{}
		}
		if k != abi.KindWait {
			// Outputs keep their byte slices: copy them out of guest memory.
			b = append([]byte(nil), b...)
		}
		o, err := abi.DecodeResult(k, b)
		if err != nil || !k.IsOutput() {
			m.trap("sio_poll", fmt.Errorf("malformed output %s (%d bytes): %v", k, n, err))
			return wire.Wait{}
		}
		return o.(wire.Output)
	}
}

// Err returns the error that stopped the machine (*TrapError or
// ErrReleased), or nil while it runs.
func (m *Machine) Err() error { return m.failure() }

// Release closes the instance. The Machine fails with ErrReleased after.
func (m *Machine) Release(ctx context.Context) error { return m.release(ctx) }

// ---- the method set of *core.Server ---------------------------------------

// Handle feeds one input (core.Server.Handle).
func (m *Machine) Handle(now clock.Instant, in wire.Input) error { return m.input(now, in) }

// Poll returns the next output (core.Server.Poll); wire.Wait ends a drain.
func (m *Machine) Poll() wire.Output { return m.output() }

// Config returns the configuration with defaults applied.
func (m *Machine) Config() core.Config {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, _ := command[core.Config](&m.instance, 0, abi.KindConfig, abi.ConfigQuery{})
	return c
}

// Stats returns the machine's current counts.
func (m *Machine) Stats() core.Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, _ := command[core.Stats](&m.instance, 0, abi.KindStats, abi.StatsQuery{})
	return st
}

// AddNamespace registers a namespace (core.Server.AddNamespace).
func (m *Machine) AddNamespace(name string, gated bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err := m.call(0, abi.AddNamespace{Name: name, Gated: gated})
	return err
}

// AcceptConnect admits a socket announced by ConnectRequested.
func (m *Machine) AcceptConnect(now clock.Instant, id wire.SocketID) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err := m.call(now, abi.AcceptConnect{Socket: id})
	return err
}

// RejectConnect refuses a socket announced by ConnectRequested.
func (m *Machine) RejectConnect(now clock.Instant, id wire.SocketID, message string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err := m.call(now, abi.RejectConnect{Socket: id, Message: message, Data: data})
	return err
}

// Emit sends an event to one socket (core.Server.Emit).
func (m *Machine) Emit(now clock.Instant, e core.Emit) (wire.AckRef, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := command[abi.RefReply](&m.instance, now, abi.KindEmit, e)
	return r.Ref, err
}

// Ack answers an acknowledgement the client asked for.
func (m *Machine) Ack(ref wire.AckRef, args []byte, atts [][]byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err := m.call(0, abi.Ack{Ref: ref, Args: args, Attachments: atts})
	return err
}

// Broadcast sends one event to many sockets (core.Server.Broadcast).
func (m *Machine) Broadcast(now clock.Instant, b core.Broadcast) (wire.AckRef, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := command[abi.BroadcastReply](&m.instance, now, abi.KindBroadcast, b)
	return r.Ref, r.Targets, err
}

// Join adds the socket to rooms.
func (m *Machine) Join(id wire.SocketID, rooms ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err := m.call(0, abi.Join{Socket: id, Rooms: rooms})
	return err
}

// Leave removes the socket from a room.
func (m *Machine) Leave(id wire.SocketID, room string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err := m.call(0, abi.Leave{Socket: id, Room: room})
	return err
}

// Rooms returns the socket's rooms (its own id room first), or nil.
func (m *Machine) Rooms(id wire.SocketID) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, _ := command[abi.StringsReply](&m.instance, 0, abi.KindRooms, abi.RoomsOf{Socket: id})
	return r.List
}

// Connected reports whether the socket is connected.
func (m *Machine) Connected(id wire.SocketID) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, _ := command[abi.BoolReply](&m.instance, 0, abi.KindConnected, abi.IsConnected{Socket: id})
	return r.Value
}

// Transport returns the transport of the socket's session, or "".
func (m *Machine) Transport(id wire.SocketID) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, _ := command[abi.StringReply](&m.instance, 0, abi.KindTransport, abi.TransportOf{Socket: id})
	return r.Value
}

// SocketsIn returns the ids of the sockets of nsp in any of rooms.
func (m *Machine) SocketsIn(nsp string, rooms []string) []wire.SocketID {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, _ := command[abi.StringsReply](&m.instance, 0, abi.KindSocketsIn, abi.SocketsIn{Nsp: nsp, Rooms: rooms})
	if len(r.List) == 0 {
		return nil
	}
	ids := make([]wire.SocketID, len(r.List))
	for i, s := range r.List {
		ids[i] = wire.SocketID(s)
	}
	return ids
}

// Disconnect disconnects a socket from the server side.
func (m *Machine) Disconnect(now clock.Instant, id wire.SocketID, closeSession bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err := m.call(now, abi.Disconnect{Socket: id, CloseSession: closeSession})
	return err
}

// Close shuts the server down (core.Server.Close); the instance stays
// alive for the drain (Release frees it).
func (m *Machine) Close(now clock.Instant) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.call(now, abi.Close{})
}

// ---- the cluster (core/cluster.go) ------------------------------------------

// SocketsJoin makes the sockets t selects join rooms, on every server of
// the cluster unless t.Local (core.Server.SocketsJoin).
func (m *Machine) SocketsJoin(now clock.Instant, t core.Target, rooms ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err := m.call(now, abi.SocketsJoin{Target: t, Rooms: rooms})
	return err
}

// SocketsLeave makes the sockets t selects leave rooms, on every server
// unless t.Local.
func (m *Machine) SocketsLeave(now clock.Instant, t core.Target, rooms ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err := m.call(now, abi.SocketsLeave{Target: t, Rooms: rooms})
	return err
}

// DisconnectSockets disconnects the sockets t selects, on every server
// unless t.Local.
func (m *Machine) DisconnectSockets(now clock.Instant, t core.Target, closeSession bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err := m.call(now, abi.DisconnectSockets{Target: t, CloseSession: closeSession})
	return err
}

// FetchSockets collects the sockets t selects on every server; the ref
// resolves with wire.ClusterRequestDone.
func (m *Machine) FetchSockets(now clock.Instant, t core.Target) (wire.AckRef, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := command[abi.RefReply](&m.instance, now, abi.KindFetchSockets, abi.FetchSockets{Target: t})
	return r.Ref, err
}

// AllRooms collects the rooms of nsp on every server (unless local); the
// ref resolves with wire.ClusterRequestDone.
func (m *Machine) AllRooms(now clock.Instant, nsp string, local bool) (wire.AckRef, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := command[abi.RefReply](&m.instance, now, abi.KindAllRooms, abi.AllRooms{Nsp: nsp, Local: local})
	return r.Ref, err
}

// ServerSideEmit sends an event to the other servers' applications; with
// withAck the ref resolves with wire.ClusterRequestDone.
func (m *Machine) ServerSideEmit(now clock.Instant, nsp string, data []byte, atts [][]byte, withAck bool) (wire.AckRef, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := command[abi.RefReply](&m.instance, now, abi.KindServerSideEmit,
		abi.ServerSideEmit{Nsp: nsp, Data: data, Attachments: atts, WithAck: withAck})
	return r.Ref, err
}

// ---- connection state recovery (core/recovery.go) ---------------------------

// SetRecoveryData attaches the application's data (JSON) to the saved
// session of a socket that just left; it comes back in the
// ConnectRequested or Connected of its recovery
// (core.Server.SetRecoveryData). core.ErrUnknownSocket if no session of
// that socket is saved.
func (m *Machine) SetRecoveryData(id wire.SocketID, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err := m.call(0, abi.SetRecoveryData{Socket: id, Data: data})
	return err
}

// ---- session snapshots (core/snapshot.go, wasm/ABI.md §9.5) -----------------

// Snapshot returns the state of the open session sid, to restore on this
// machine or another, native or WASM (core.Server.Snapshot): the bytes are
// the core's own, so either machine restores the other's snapshots.
// core.ErrUnknownSession when it is not open.
func (m *Machine) Snapshot(sid wire.SID) ([]byte, error) { return m.AppendSnapshot(nil, sid) }

// AppendSnapshot is Snapshot appending to dst.
func (m *Machine) AppendSnapshot(dst []byte, sid wire.SID) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := m.snapshotCall(0, abi.Snapshot{SID: sid})
	if err != nil {
		return dst, err
	}
	return append(dst, r.(abi.SnapshotReply).Data...), nil // copied out of guest memory
}

// Restore recreates a session from a snapshot of either machine and
// returns its sockets (core.Server.Restore); it makes no output of its
// own. core.ErrBadSnapshot or core.ErrSnapshotConflict, changing nothing.
func (m *Machine) Restore(now clock.Instant, snap []byte) (core.Restored, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := m.snapshotCall(now, abi.Restore{Data: snap})
	if err != nil {
		return core.Restored{}, err
	}
	return r.(abi.RestoreReply), nil
}

// snapshotCall runs Snapshot or Restore, whose records have their own codec
// (wasm/abi/snapshot.go), and decodes the reply.
func (m *Machine) snapshotCall(now clock.Instant, r any) (any, error) {
	if m.err != nil {
		return nil, m.err
	}
	k, rec, _ := abi.AppendSnapshotRecord(m.enc[:0], r)
	b, err := m.send(now, k, rec)
	if err != nil {
		return nil, err
	}
	rep, err := abi.DecodeSnapshotRecord(abi.ReplyKind(k), b)
	if err != nil {
		return nil, m.trap("reply", fmt.Errorf("malformed %s reply to %s: %v", abi.ReplyKind(k), k, err))
	}
	return rep, nil
}

// ---- the read-only counts for metrics (core/counts.go) ----------------------
//
// One Counts query answers all three (wasm/ABI.md, CountsReply): each
// method makes it and keeps its part, so a host's metrics, which read the
// three together, pay three small calls per scrape. With a guest older
// than the query (status -2), as after a trap, they return zero values.

// counts runs the Counts query.
func (m *Machine) counts() abi.CountsReply {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, _ := command[abi.CountsReply](&m.instance, 0, abi.KindCounts, abi.CountsQuery{})
	return c
}

// NamespaceCounts returns the sockets and rooms of every namespace, sorted
// by name (core.Server.NamespaceCounts).
func (m *Machine) NamespaceCounts() []core.NamespaceCount { return m.counts().Namespaces }

// Transports counts the open sessions by transport (core.Server.Transports).
func (m *Machine) Transports() (polling, websocket int) {
	c := m.counts()
	return c.Polling, c.WebSocket
}

// VolatileDropped is the number of volatile packets the machine dropped for
// want of a parked polling GET (core.Server.VolatileDropped).
func (m *Machine) VolatileDropped() uint64 { return m.counts().VolatileDropped }
