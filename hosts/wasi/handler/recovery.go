package handler

import (
	"encoding/json"
	"slices"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// Connection state recovery (Options.RecoveryWindow).
//
// A warm instance uses the core's own recovery (core/recovery.go): the
// saved sessions and the packets they may miss live in its memory, and the
// application attaches socket.data to a saved session when its socket
// leaves (app.go, Disconnecting).
//
// With an instance per request that memory dies with each instance, and
// core.Server.Snapshot carries sessions, not the recovery state. So the
// core runs with Config.RecoveryStore, as servers of a cluster sharing
// Redis do (core/recovery_cluster.go, adapter/redis/recovery.go): every
// instance is a server of its own (its seed names its offsets and the
// pids it makes), and the store, RecStore, travels in the handler's state
// from one instance to the next:
//
//   - wire.RecoveryRecord: a packet this instance sent without an ack is
//     appended to its namespace's log, with the time;
//   - wire.RecoverySession: a socket's session (pid, id, namespace, rooms,
//     and socket.data that the handler fills in) is kept while it is
//     connected (Live), saved when it leaves for a recoverable reason
//     (Saved, expires with the window), removed when it leaves for good;
//   - wire.RecoveryLookup: a client came back with {pid, offset}: the
//     session is taken out of the store and returned with the log's
//     packets after the offset (wire.RecoveryFound), at once, in the same
//     request (the store is local and requests are serialized).
//
// Requests are serialized, so every write simply applies (the conditional
// writes of a shared store guard against servers racing, which cannot
// happen here). The packets are kept for the window and bounded in number
// and bytes across namespaces (Options.RecoveryMaxPackets, MaxBytes; the
// oldest go first): a client whose offset is no longer kept gets a fresh
// socket, as with Node. Cost: the kept packets are read and written with
// the state on every request.

// RecStore is the recovery store of an instance-per-request deployment.
type RecStore struct {
	Sessions map[string]*recSession `json:"sessions,omitempty"` // by pid
	Logs     map[string][]recPacket `json:"logs,omitempty"`     // by namespace, oldest first
	count    int
	bytes    int
}

type recSession struct {
	State  wire.RecoveryState `json:"state"` // Live or Saved
	Socket wire.SocketID      `json:"socket"`
	Nsp    string             `json:"nsp"`
	Rooms  []string           `json:"rooms,omitempty"`
	Node   string             `json:"node"`
	Data   json.RawMessage    `json:"data,omitempty"`
	At     int64              `json:"at,omitempty"` // Saved: when (Unix ns)
}

type recPacket struct {
	Offset string          `json:"o"`
	Rooms  []string        `json:"r,omitempty"`
	Except []string        `json:"x,omitempty"`
	Data   json.RawMessage `json:"d"` // the event's JSON array, without the offset
	Atts   [][]byte        `json:"a,omitempty"`
	At     int64           `json:"t"` // when it was sent (Unix ns)
}

func (p *recPacket) size() int {
	n := len(p.Offset) + len(p.Data) + 64
	for _, r := range p.Rooms {
		n += len(r) + 3
	}
	for _, r := range p.Except {
		n += len(r) + 3
	}
	for _, a := range p.Atts {
		n += len(a)*4/3 + 3
	}
	return n
}

func (st *RecStore) init() {
	if st.Sessions == nil {
		st.Sessions = map[string]*recSession{}
	}
	if st.Logs == nil {
		st.Logs = map[string][]recPacket{}
	}
	for pid, ss := range st.Sessions {
		if ss == nil {
			delete(st.Sessions, pid) // a damaged state: not a session
		}
	}
	st.count, st.bytes = 0, 0
	for _, log := range st.Logs {
		st.count += len(log)
		for i := range log {
			st.bytes += log[i].size()
		}
	}
}

// expire drops the packets and the saved sessions older than the window.
func (st *RecStore) expire(now int64, opts Options) {
	w := int64(opts.RecoveryWindow)
	for nsp, log := range st.Logs {
		i := 0
		for i < len(log) && log[i].At+w <= now {
			st.count--
			st.bytes -= log[i].size()
			i++
		}
		st.setLog(nsp, log[i:])
	}
	for pid, ss := range st.Sessions {
		if ss.State == wire.RecoverySaved && ss.At+w < now {
			delete(st.Sessions, pid)
		}
	}
}

func (st *RecStore) setLog(nsp string, log []recPacket) {
	if len(log) == 0 {
		delete(st.Logs, nsp)
		return
	}
	st.Logs[nsp] = log
}

// record appends a packet to its namespace's log, then drops the oldest
// packets (of any namespace) past the bounds.
func (st *RecStore) record(now int64, o wire.RecoveryRecord, opts Options) {
	p := recPacket{Offset: o.Packet.Offset, Rooms: o.Packet.Rooms, Except: o.Packet.Except,
		Data: slices.Clone(o.Packet.Data), Atts: o.Packet.Attachments, At: now}
	if !json.Valid(p.Data) {
		return // not an event the core made; nothing a client could miss
	}
	st.Logs[o.Nsp] = append(st.Logs[o.Nsp], p)
	st.count++
	st.bytes += p.size()
	for st.count > opts.RecoveryMaxPackets || (st.bytes > opts.RecoveryMaxBytes && st.count > 1) {
		oldest := ""
		for nsp, log := range st.Logs {
			if oldest == "" || log[0].At < st.Logs[oldest][0].At || (log[0].At == st.Logs[oldest][0].At && nsp < oldest) {
				oldest = nsp
			}
		}
		log := st.Logs[oldest]
		st.count--
		st.bytes -= log[0].size()
		st.setLog(oldest, log[1:])
	}
}

// save applies a session write.
func (st *RecStore) save(now int64, o wire.RecoverySession) {
	ss := &recSession{Socket: o.Socket, Nsp: o.Nsp, Rooms: o.Rooms, Node: o.Node, Data: o.Data}
	switch o.State {
	case wire.RecoveryLive, wire.RecoveryResumed:
		ss.State = wire.RecoveryLive
	case wire.RecoverySaved, wire.RecoveryUnused:
		ss.State, ss.At = wire.RecoverySaved, now
	default: // RecoveryGone
		delete(st.Sessions, o.PID)
		return
	}
	if len(ss.Data) > 0 && !json.Valid(ss.Data) {
		ss.Data = nil
	}
	st.Sessions[o.PID] = ss
	if ss.State == wire.RecoverySaved {
		st.boundSaved()
	}
}

// maxSaved bounds the saved sessions (each carries its socket.data and is
// read and written with the state on every request): past it the oldest
// go first, and their clients get fresh sockets.
const maxSaved = 10_000

func (st *RecStore) boundSaved() {
	n := 0
	for _, ss := range st.Sessions {
		if ss.State == wire.RecoverySaved {
			n++
		}
	}
	for ; n > maxSaved; n-- {
		oldest := ""
		for pid, ss := range st.Sessions {
			if ss.State == wire.RecoverySaved && (oldest == "" || ss.At < st.Sessions[oldest].At ||
				(ss.At == st.Sessions[oldest].At && pid < oldest)) {
				oldest = pid
			}
		}
		delete(st.Sessions, oldest)
	}
}

// lookup takes the session of l.PID out of the store, with the packets of
// its namespace after l.Offset.
func (st *RecStore) lookup(now int64, l wire.RecoveryLookup, opts Options) wire.RecoveryFound {
	f := wire.RecoveryFound{Ref: l.Ref}
	ss := st.Sessions[l.PID]
	if ss == nil {
		return f
	}
	delete(st.Sessions, l.PID)
	if ss.State == wire.RecoverySaved && ss.At+int64(opts.RecoveryWindow) < now {
		return f
	}
	f.Found = true
	f.Session = wire.RecoverySession{State: ss.State, PID: l.PID, Socket: ss.Socket, Nsp: ss.Nsp,
		Rooms: ss.Rooms, Node: ss.Node, Data: ss.Data}
	if ss.Node == l.Node {
		return f // this instance sent them: the core has them in memory
	}
	log := st.Logs[l.Nsp]
	for i := range log {
		if log[i].Offset != l.Offset {
			continue
		}
		f.OffsetFound = true
		for _, p := range log[i+1:] {
			f.Packets = append(f.Packets, wire.RecoveryPacket{Offset: p.Offset, Rooms: p.Rooms, Except: p.Except,
				Data: p.Data, Attachments: p.Atts})
		}
		break
	}
	return f
}

// gc drops the Live sessions of sockets that are gone without a word
// (their session could not be snapshotted: Save closes it).
func (st *RecStore) gc(live func(wire.SocketID) bool) {
	for pid, ss := range st.Sessions {
		if ss.State == wire.RecoveryLive && !live(ss.Socket) {
			delete(st.Sessions, pid)
		}
	}
}

// recoveryOutput performs the core's recovery store outputs (instance per
// request; a warm instance has none).
func (h *Handler) recoveryOutput(t clock.Instant, o wire.Output) {
	st := h.Rec
	if st == nil {
		return
	}
	switch o := o.(type) {
	case wire.RecoveryRecord:
		st.record(h.now, o, h.opts)
	case wire.RecoverySession:
		if o.Data == nil {
			o.Data = h.app.socketData(o.Socket) // the core leaves socket.data to the host
		}
		st.save(h.now, o)
	case wire.RecoveryLookup:
		f := st.lookup(h.now, o, h.opts)
		if f.Found && f.Session.State == wire.RecoveryLive {
			if d := h.app.socketData(f.Session.Socket); d != nil {
				f.Session.Data = d // newer than its last snapshot
			}
		}
		h.srv.Handle(t, f)
	}
}
