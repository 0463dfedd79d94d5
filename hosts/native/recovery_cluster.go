package native

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/socketcore/socketcore/adapter"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// Connection state recovery across the servers of a cluster
// (Recovery.Shared): the core says what to keep and to look up
// (core/recovery_cluster.go), this file performs it with the adapter's
// recovery store (adapter.RecoveryStore; Redis for adapter/redis). The
// writes go through the cluster pump, in order with the publications (a
// socket's session writes through its mailbox first, where socket.data
// can be read); a lookup waits for the writes queued before it, then runs
// on its own goroutine (at most maxLookups at once) and its answer goes
// back to the core as wire.RecoveryFound. Close lets the mailboxes finish
// before the pump's last flush, so a shutdown saves every session.

// maxLookups bounds the store lookups running at once.
const maxLookups = 64

type hostRecovery struct {
	store adapter.RecoveryStore
	sem   chan struct{}
	// the last snapshot of each socket whose session this server holds
	// (driver goroutine), to write again once its connection handlers
	// have run (they set Data)
	snaps map[wire.SocketID]wire.RecoverySession
}

// ErrNoRecoveryStore is returned by Start when Recovery.Shared is set and
// the adapter keeps no recovery store (or there is no adapter).
var ErrNoRecoveryStore = errors.New("socketcore: Recovery.Shared needs an adapter with a recovery store (adapter.RecoveryStore)")

// startRecoveryStore enables the adapter's recovery store (Start).
func (s *Server) startRecoveryStore() error {
	r := s.opts.Recovery
	if r == nil || !r.Shared {
		return nil
	}
	st, ok := s.adapter.(adapter.RecoveryStore)
	if !ok || s.pump == nil {
		return ErrNoRecoveryStore
	}
	cfg := s.opts.coreConfig()
	if err := st.EnableRecovery(cfg.RecoveryWindow, cfg.RecoveryMaxPackets); err != nil {
		return err
	}
	s.rec = &hostRecovery{store: st, sem: make(chan struct{}, maxLookups), snaps: make(map[wire.SocketID]wire.RecoverySession)}
	return nil
}

// recoveryOutput performs one of the core's recovery store outputs (on
// the driver goroutine).
func (s *Server) recoveryOutput(o wire.Output) {
	r := s.rec
	if r == nil {
		return
	}
	log := s.opts.Logger
	switch o := o.(type) {
	case wire.RecoveryRecord:
		s.pump.push(pumpJob{run: func(ctx context.Context) {
			if err := r.store.Record(ctx, o.Nsp, o.Packet, nil); err != nil {
				log.Error("socketcore: recovery store: record failed", "nsp", o.Nsp, "offset", o.Packet.Offset, "err", err)
			}
		}})
	case wire.RecoverySession:
		switch o.State {
		case wire.RecoveryLive, wire.RecoveryResumed:
			r.snaps[o.Socket] = o
		case wire.RecoverySaved, wire.RecoveryGone:
			delete(r.snaps, o.Socket)
		}
		write := func() {
			s.pump.push(pumpJob{run: func(ctx context.Context) {
				if err := r.store.SaveSession(ctx, o); err != nil {
					log.Error("socketcore: recovery store: session write failed", "state", o.State.String(), "socket", o.Socket, "err", err)
				}
			}})
		}
		so := s.sockets[o.Socket]
		if so == nil || o.State == wire.RecoveryUnused {
			write()
			return
		}
		// socket.data is read where the socket's handlers run (they
		// write it), which also keeps one socket's writes in order
		so.mbox.post(func() {
			o.Data = so.dataJSON()
			write()
		})
	case wire.RecoveryLookup:
		// in the pump, so that the writes queued before it are done; the
		// lookup itself runs beside it
		s.pump.push(pumpJob{run: func(context.Context) {
			r.sem <- struct{}{}
			go func() {
				defer func() { <-r.sem }()
				s.lookup(r, o)
			}()
		}})
	}
}

func (s *Server) lookup(r *hostRecovery, l wire.RecoveryLookup) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	f, err := r.store.Lookup(ctx, l)
	if err != nil {
		s.opts.Logger.Error("socketcore: recovery store: lookup failed; the client gets a fresh socket", "err", err)
		f = wire.RecoveryFound{Ref: l.Ref}
	}
	if !s.d.post(func(now clock.Instant) { s.core.Handle(now, f) }) && f.Found {
		// the server closed meanwhile: the session goes back
		back := f.Session
		back.State = wire.RecoveryUnused
		r.store.SaveSession(ctx, back)
	}
}

// dataJSON is the socket's Data as JSON, nil when unset or not JSON
// (on the socket's mailbox).
func (so *Socket) dataJSON() []byte {
	so.mu.Lock()
	data := so.Data
	so.mu.Unlock()
	if data == nil {
		return nil
	}
	b, err := json.Marshal(data)
	if err != nil {
		return nil
	}
	return b
}

// recordBroadcast appends a published broadcast that the core named
// (Offset) to the store's log, in one step with its publication; false
// when it is not one (the caller publishes it as usual).
func (s *Server) recordBroadcast(p wire.ClusterPublish) bool {
	r := s.rec
	m := p.Msg
	if r == nil || m.Type != wire.ClusterBroadcast || m.Offset == "" || s.pump == nil {
		return false
	}
	pk := wire.RecoveryPacket{Offset: m.Offset, Rooms: m.Rooms, Except: m.Except, Data: m.Data, Attachments: m.Attachments}
	s.pump.push(pumpJob{run: func(ctx context.Context) {
		if err := r.store.Record(ctx, m.Nsp, pk, &m); err != nil {
			s.pump.publishErrors.Add(1)
			s.opts.Logger.Error("socketcore: cluster publish failed", "type", m.Type.String(), "nsp", m.Nsp, "err", err)
			return
		}
		s.pump.published.Add(1)
	}})
	return true
}

// snapshotAfterConnection writes a socket's snapshot again once its
// connection handlers have run: they are where socket.data is set.
func (s *Server) snapshotAfterConnection(so *Socket) {
	if s.rec == nil {
		return
	}
	so.mbox.post(func() {
		s.d.post(func(clock.Instant) {
			snap, ok := s.rec.snaps[so.id]
			if !ok || s.sockets[so.id] != so {
				return
			}
			snap.State = wire.RecoveryLive
			snap.Rooms = s.core.Rooms(so.id)
			s.recoveryOutput(snap)
		})
	})
}
