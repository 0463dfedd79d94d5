package conformance

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// ClusterMachine is a Machine that can be one server of a cluster: it has
// the cluster commands of core.Server (hosts/native's clusterMachine).
// RunCluster needs the machines of its Factory to be one.
type ClusterMachine interface {
	Machine
	SocketsJoin(now clock.Instant, t core.Target, rooms ...string) error
	SocketsLeave(now clock.Instant, t core.Target, rooms ...string) error
	DisconnectSockets(now clock.Instant, t core.Target, closeSession bool) error
	FetchSockets(now clock.Instant, t core.Target) (wire.AckRef, error)
	AllRooms(now clock.Instant, nsp string, local bool) (wire.AckRef, error)
	ServerSideEmit(now clock.Instant, nsp string, data []byte, atts [][]byte, withAck bool) (wire.AckRef, error)
}

var _ ClusterMachine = (*core.Server)(nil)

// ClusterScenario is one entry of ClusterScenarios: Nodes servers with
// Config.Cluster on (each its own seed), joined by the bus of C.
type ClusterScenario struct {
	Name   string
	Nodes  int // servers on the bus; 2 when 0
	Silent int // more servers the bus counts (CountServers) that never answer
	Config func(*core.Config)
	Steps  func(c *C)
}

// C drives the servers of a cluster scenario in one virtual time, and is
// their bus: a perfect pub/sub that Pump empties, as the in-process
// adapter (adapter/memory) does. Every server's lines go to one
// transcript, prefixed with its index.
type C struct {
	t testing.TB
	// N are the servers' drivers; N[i].M is a ClusterMachine.
	N      []*D
	silent int
	log    []string
	queue  []published
	// Store, when set, is the recovery store the servers share
	// (recovery_store.go); dead servers neither receive nor publish.
	Store *Store
	dead  map[int]bool
}

type published struct {
	from int
	p    wire.ClusterPublish
}

// RunCluster plays every ClusterScenario on native cores and on machines
// of newMachine, and fails at the first line where their transcripts
// differ.
func RunCluster(t *testing.T, newMachine Factory) {
	for _, sc := range ClusterScenarios {
		t.Run(sc.Name, func(t *testing.T) {
			want := playCluster(t, sc, Native)
			got := playCluster(t, sc, newMachine)
			if t.Failed() {
				return
			}
			compare(t, want, got)
		})
	}
}

// ClusterTranscript plays one cluster scenario and returns its transcript.
func ClusterTranscript(t testing.TB, sc ClusterScenario, f Factory) []string {
	return playCluster(t, sc, f)
}

func playCluster(t testing.TB, sc ClusterScenario, f Factory) []string {
	c := &C{t: t, silent: sc.Silent}
	n := sc.Nodes
	if n == 0 {
		n = 2
	}
	for i := range n {
		cfg := TestConfig()
		cfg.Cluster = true
		if sc.Config != nil {
			sc.Config(&cfg)
		}
		// Distinct ids, and request ids (from Seed[8:16]), per server.
		cfg.Seed[0], cfg.Seed[8], cfg.Seed[16] = byte('a'+i), byte('a'+i), byte('a'+i) // ids, request ids, node ids (offsets)
		m := f(t, cfg)
		if _, ok := m.(ClusterMachine); !ok {
			t.Fatalf("%T cannot be one server of a cluster", m)
		}
		d := &D{t: t, M: m, m: m, now: clock.Instant(time.Second), c: c, node: i, prefix: fmt.Sprintf("[%d] ", i)}
		d.logf("config %s", describeConfig(m.Config()))
		c.N = append(c.N, d)
	}
	for _, d := range c.N {
		d.drain()
	}
	c.Pump()
	sc.Steps(c)
	for _, d := range c.N {
		d.drain()
	}
	c.Pump()
	for _, d := range c.N {
		d.logf("end stats %+v deadline %s", d.M.Stats(), d.rel(d.deadline))
	}
	return c.log
}

func (c *C) logf(format string, args ...any) { c.log = append(c.log, fmt.Sprintf(format, args...)) }

// Fatalf stops the scenario.
func (c *C) Fatalf(format string, args ...any) {
	c.t.Helper()
	c.t.Fatalf("%s\ntranscript:\n%s", fmt.Sprintf(format, args...), strings.Join(c.log, "\n"))
}

// Pump delivers what the servers published, in order, until nobody has
// anything left to say: each message to every other server as
// ClusterReceived, then, when it asked, the server count (the servers on
// the bus and the silent ones) to its sender as ClusterServers. Like a
// host (hosts/native's describeSocket), the bus fills in the handshake and
// data of the sockets of a FetchSocketsResponse.
func (c *C) Pump() {
	c.t.Helper()
	for n := 0; len(c.queue) > 0; n++ {
		if n > 10000 {
			c.Fatalf("cluster messages never settle")
		}
		e := c.queue[0]
		c.queue = c.queue[1:]
		if c.dead[e.from] {
			continue
		}
		m := e.p.Msg
		if m.Type == wire.ClusterFetchSocketsResponse {
			m.Sockets = slices.Clone(m.Sockets)
			for i := range m.Sockets {
				s := &m.Sockets[i]
				s.Handshake = fmt.Appendf(nil, `{"server":%d}`, e.from)
				s.Data = fmt.Appendf(nil, `{"id":%q}`, s.ID)
			}
		}
		for j, d := range c.N {
			if j != e.from && !c.dead[j] {
				d.In(wire.ClusterReceived{Msg: m})
			}
		}
		if e.p.CountServers {
			c.N[e.from].In(wire.ClusterServers{RequestID: m.RequestID, Servers: len(c.N) + c.silent})
		}
	}
}

// Drop loses what the servers published and the bus has not delivered
// (a partition): requests waiting for answers then time out.
func (c *C) Drop() {
	c.logf("bus drops %d messages", len(c.queue))
	c.queue = nil
}

// Advance moves every server's virtual time forward by dur, feeding
// Timeout to each server at its deadlines in time order (the lower index
// first on a tie) and pumping after each.
func (c *C) Advance(dur time.Duration) {
	target := c.N[0].now.Add(dur)
	for n := 0; ; n++ {
		if n > 10000 {
			c.Fatalf("livelock: deadlines keep coming")
		}
		var next *D
		for _, d := range c.N {
			if d.deadline != 0 && d.deadline <= target && (next == nil || d.deadline < next.deadline) {
				next = d
			}
		}
		if next == nil {
			break
		}
		at := next.deadline
		for _, d := range c.N {
			d.now = at
		}
		next.In(wire.Timeout{})
		c.Pump()
	}
	for _, d := range c.N {
		d.now = target
	}
}

// ---- the cluster commands, on one server ------------------------------------

func (d *D) cluster() ClusterMachine { return d.M.(ClusterMachine) }

func describeTarget(t core.Target) string {
	return fmt.Sprintf("{%q rooms=%q except=%q local=%v}", t.Nsp, t.Rooms, t.Except, t.Local)
}

func refResult(ref wire.AckRef, err error) any {
	if err != nil {
		return err
	}
	return ref
}

// SocketsJoin runs ClusterMachine.SocketsJoin.
func (d *D) SocketsJoin(t core.Target, rooms ...string) {
	d.Do(fmt.Sprintf("SocketsJoin %s %q", describeTarget(t), rooms), func(now clock.Instant) any {
		return d.cluster().SocketsJoin(now, t, rooms...)
	})
}

// SocketsLeave runs ClusterMachine.SocketsLeave.
func (d *D) SocketsLeave(t core.Target, rooms ...string) {
	d.Do(fmt.Sprintf("SocketsLeave %s %q", describeTarget(t), rooms), func(now clock.Instant) any {
		return d.cluster().SocketsLeave(now, t, rooms...)
	})
}

// DisconnectSockets runs ClusterMachine.DisconnectSockets.
func (d *D) DisconnectSockets(t core.Target, closeSession bool) {
	d.Do(fmt.Sprintf("DisconnectSockets %s close=%v", describeTarget(t), closeSession), func(now clock.Instant) any {
		return d.cluster().DisconnectSockets(now, t, closeSession)
	})
}

// FetchSockets runs ClusterMachine.FetchSockets and returns the ref.
func (d *D) FetchSockets(t core.Target) wire.AckRef {
	var ref wire.AckRef
	d.Do("FetchSockets "+describeTarget(t), func(now clock.Instant) any {
		r, err := d.cluster().FetchSockets(now, t)
		ref = r
		return refResult(r, err)
	})
	return ref
}

// AllRooms runs ClusterMachine.AllRooms and returns the ref.
func (d *D) AllRooms(nsp string, local bool) wire.AckRef {
	var ref wire.AckRef
	d.Do(fmt.Sprintf("AllRooms %q local=%v", nsp, local), func(now clock.Instant) any {
		r, err := d.cluster().AllRooms(now, nsp, local)
		ref = r
		return refResult(r, err)
	})
	return ref
}

// ServerSideEmit runs ClusterMachine.ServerSideEmit and returns the ref.
func (d *D) ServerSideEmit(nsp, data string, atts [][]byte, withAck bool) wire.AckRef {
	var ref wire.AckRef
	d.Do(fmt.Sprintf("ServerSideEmit %q %s atts=%s ack=%v", nsp, data, qs(atts), withAck), func(now clock.Instant) any {
		r, err := d.cluster().ServerSideEmit(now, nsp, []byte(data), atts, withAck)
		ref = r
		return refResult(r, err)
	})
	return ref
}

// Done returns the ClusterRequestDone of ref, whenever it came out (a
// request usually completes while the bus pumps), or stops the scenario.
func (d *D) Done(ref wire.AckRef) wire.ClusterRequestDone {
	d.t.Helper()
	for _, o := range d.all {
		if r, ok := o.(wire.ClusterRequestDone); ok && r.Ref == ref {
			return r
		}
	}
	d.Fatalf("no ClusterRequestDone for ref %d", ref)
	return wire.ClusterRequestDone{}
}

// Last returns the last output of type T a server of a cluster scenario
// produced, whenever it came out, or stops the scenario.
func Last[T wire.Output](d *D) T {
	d.t.Helper()
	for i := len(d.all) - 1; i >= 0; i-- {
		if v, ok := d.all[i].(T); ok {
			return v
		}
	}
	var zero T
	d.Fatalf("no %T so far", zero)
	return zero
}
