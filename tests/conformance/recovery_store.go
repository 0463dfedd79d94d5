package conformance

import (
	"fmt"
	"slices"
	"time"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/wire"
)

// Store is a recovery store for cluster scenarios (core.Config's
// RecoveryStore; wire.RecoveryRecord, RecoverySession, RecoveryLookup,
// RecoveryFound), with the semantics of adapter/redis's: one log per
// namespace, each socket's snapshot by pid with conditional writes, saved
// sessions, lookups that consume. It performs a server's writes as they
// come out (the bus's drain); its lookups wait until Answer.
type Store struct {
	log     map[string][]wire.RecoveryPacket
	live    map[string]wire.RecoverySession
	saved   map[string]wire.RecoverySession
	lookups map[int][]wire.RecoveryLookup // by server
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{log: map[string][]wire.RecoveryPacket{}, live: map[string]wire.RecoverySession{},
		saved: map[string]wire.RecoverySession{}, lookups: map[int][]wire.RecoveryLookup{}}
}

func (st *Store) take(d *D, o wire.Output) {
	switch o := o.(type) {
	case wire.ClusterPublish:
		if m := o.Msg; m.Type == wire.ClusterBroadcast && m.Offset != "" {
			st.log[m.Nsp] = append(st.log[m.Nsp], wire.RecoveryPacket{Offset: m.Offset, Rooms: m.Rooms, Except: m.Except,
				Data: m.Data, Attachments: m.Attachments})
		}
	case wire.RecoveryRecord:
		st.log[o.Nsp] = append(st.log[o.Nsp], o.Packet)
	case wire.RecoverySession:
		st.write(o)
	case wire.RecoveryLookup:
		st.lookups[d.node] = append(st.lookups[d.node], o)
	}
}

func (st *Store) write(s wire.RecoverySession) {
	cur, ok := st.live[s.PID]
	mine := ok && cur.Node == s.Node
	switch s.State {
	case wire.RecoveryLive:
		if !ok || mine {
			st.live[s.PID] = s
		}
	case wire.RecoveryResumed:
		st.live[s.PID] = s
		delete(st.saved, s.PID)
	case wire.RecoverySaved:
		if mine {
			delete(st.live, s.PID)
			st.saved[s.PID] = s
		}
	case wire.RecoveryGone:
		if mine {
			delete(st.live, s.PID)
		}
	case wire.RecoveryUnused:
		st.saved[s.PID] = s
	}
}

// Answer performs server d's oldest lookup and gives it the answer.
func (c *C) Answer(d *D) {
	d.t.Helper()
	st := c.Store
	q := st.lookups[d.node]
	if len(q) == 0 {
		d.Fatalf("no lookup to answer")
	}
	l := q[0]
	st.lookups[d.node] = q[1:]
	f := wire.RecoveryFound{Ref: l.Ref}
	if s, ok := st.saved[l.PID]; ok {
		delete(st.saved, l.PID)
		f.Found, f.Session = true, s
	} else if s, ok := st.live[l.PID]; ok {
		delete(st.live, l.PID)
		f.Found, f.Session = true, s
	}
	if f.Found {
		// the host adds socket.data; this one attaches the pid's
		f.Session.Data = fmt.Appendf(nil, `{"pid":%q}`, l.PID)
	}
	if f.Found && f.Session.Node != l.Node {
		for i, p := range st.log[l.Nsp] {
			if p.Offset == l.Offset {
				f.OffsetFound, f.Packets = true, slices.Clone(st.log[l.Nsp][i+1:])
			}
		}
	}
	d.In(f)
	c.Pump()
}

// Kill stops server i as a crash would: it neither publishes nor receives
// from then on, and writes nothing more to the store.
func (c *C) Kill(i int) {
	if c.dead == nil {
		c.dead = map[int]bool{}
	}
	c.dead[i] = true
	c.logf("server %d killed", i)
}

func describePacket(p wire.RecoveryPacket) string {
	return fmt.Sprintf("{%q rooms=%q except=%q data=%s atts=%s}", p.Offset, p.Rooms, p.Except, q(nilIfEmpty(p.Data)), qs(p.Attachments))
}

func describeSession(s wire.RecoverySession) string {
	return fmt.Sprintf("%s pid=%s %s %q rooms=%q node=%s data=%s", s.State, s.PID, s.Socket, s.Nsp, s.Rooms, s.Node, q(nilIfEmpty(s.Data)))
}

func storeConfig(c *core.Config) {
	recovery(time.Minute)(c)
	c.RecoveryStore = true
}

// RecoveryStoreScenarios are the cluster scenarios of connection state
// recovery through a store (core/recovery_cluster.go); RunCluster plays
// them with ClusterScenarios.
var RecoveryStoreScenarios = []ClusterScenario{
	{Name: "recovery store: clients resume on another server", Config: storeConfig, Steps: func(c *C) {
		c.Store = NewStore()
		a, b := c.N[0], c.N[1]
		a1 := a.WSConnect(1, "/")
		_, pid1 := a.ConnectReply(1, "/")
		a.Join(a1, "team")
		a2 := a.WSConnect(2, "/")
		_, pid2 := a.ConnectReply(2, "/")
		c.Pump()
		// Named where they originate: b's broadcast, a's socket emit.
		b.Broadcast(core.Broadcast{Nsp: "/", Rooms: []string{"team"}, Data: []byte(`["seen",0]`)})
		c.Pump()
		off1 := a.Offset(1)
		a.Emit(core.Emit{Socket: a2, Data: []byte(`["private"]`)})
		off2 := a.Offset(2)
		// a1's transport breaks (its session is saved), then a dies
		// (a2's snapshot stays).
		a.In(wire.Closed{Conn: 1, Error: true})
		c.Pump()
		c.Kill(0)
		b.Broadcast(core.Broadcast{Nsp: "/", Rooms: []string{"team"}, Data: []byte(`["m1"]`)})
		b.Broadcast(core.Broadcast{Nsp: "/", Rooms: []string{string(a2)}, Data: []byte(`["to-a2",{"_placeholder":true,"num":0}]`),
			Attachments: [][]byte{{7}}})
		b.Broadcast(core.Broadcast{Nsp: "/", Except: []string{"team"}, Data: []byte(`["not-team"]`)})
		b.Broadcast(core.Broadcast{Nsp: "/", Data: []byte(`["m3"]`)})
		c.Pump()

		b.ConnectWith(1, "/", Resume(pid1, off1))
		b.WantFrames(1) // it waits for the store
		c.Answer(b)
		if cn := Last[wire.Connected](b); cn.Socket != a1 || !cn.Recovered {
			b.Fatalf("recovered %+v, want %s", cn, a1)
		}
		b.WantFrames(1, `42["m1","`, `42["m3","`, `40{"sid":"`+string(a1)+`","pid":"`+pid1+`"}`)
		b.ConnectWith(2, "/", Resume(pid2, off2))
		c.Answer(b)
		b.WantFrames(2, `451-["to-a2",{"_placeholder":true,"num":0},"`, `42["not-team","`, `42["m3","`,
			`40{"sid":"`+string(a2)+`","pid":"`+pid2+`"}`)
		b.Rooms(a1)
		b.Broadcast(core.Broadcast{Nsp: "/", Rooms: []string{"team"}, Data: []byte(`["live"]`)})
		b.WantSent(1, `42["live","`)

		// A forged pid, and a consumed one, get fresh sockets.
		b.ConnectWith(3, "/", Resume("AAAAAAAAAAAAAAAAAAAA", off1))
		c.Answer(b)
		if cn := Last[wire.Connected](b); cn.Recovered || cn.Socket == a1 {
			b.Fatalf("forged: %+v", cn)
		}
		b.In(wire.Closed{Conn: 1, Error: false}) // saved again, by b now
		c.Pump()
		b.ConnectWith(4, "/", Resume(pid1, "gone"))
		c.Answer(b) // an offset b does not have: fresh, and consumed
		b.ConnectWith(5, "/", Resume(pid1, off1))
		c.Answer(b)
		if cn := Last[wire.Connected](b); cn.Recovered {
			b.Fatalf("a consumed session recovered: %+v", cn)
		}
		b.Query("Stats", func() any { return b.M.Stats() })
	}},
	{Name: "recovery store: a lookup that is not answered", Config: storeConfig, Steps: func(c *C) {
		c.Store = NewStore()
		a, b := c.N[0], c.N[1]
		a.WSConnect(1, "/")
		_, pid := a.ConnectReply(1, "/")
		a.Broadcast(core.Broadcast{Nsp: "/", Data: []byte(`["x"]`)})
		c.Pump()
		off := a.Offset(1)
		c.Kill(0)
		b.ConnectWith(1, "/", Resume(pid, off))
		c.Advance(5 * time.Second) // RequestsTimeout: a fresh socket
		c.Answer(b)                // too late: the session goes back to the store
		b.ConnectWith(2, "/", Resume(pid, off))
		c.Answer(b)
		if cn := Last[wire.Connected](b); !cn.Recovered {
			b.Fatalf("the session put back does not recover: %+v", cn)
		}
	}},
}

func init() { ClusterScenarios = append(ClusterScenarios, RecoveryStoreScenarios...) }
