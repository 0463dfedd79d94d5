// Package conformance is the conformance kit of the protocol machines: one
// table of scenarios (sessions, upgrade, namespaces, rooms, broadcasts,
// acknowledgements and their timeouts, limits, bad input) driven through
// the Machine interface in virtual time. Run plays each scenario on the
// native core and on the Machine under test and requires identical
// transcripts: every input, every command's result and every output, in
// order (http-wasm's tck, STYLE.md §5 "Conformance kit"). RunEngine does
// the same for the engine-only machine (EngineScenarios: what the plain
// Engine.IO server of the official engine.io suite runs on), and
// RunCluster for servers of a cluster joined by an in-test bus
// (ClusterScenarios). Run also plays RecoveryScenarios (connection state
// recovery, core/recovery.go).
//
// It may import anything; nothing imports it but tests.
package conformance

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/engine"
	"github.com/socketcore/socketcore/core/wire"
	"github.com/socketcore/socketcore/hosts/native"
)

// Machine is the server machine as the native host drives it
// (native.Machine), plus the two queries the scenarios also check and
// SetRecoveryData (which the native host calls when the machine has it).
type Machine interface {
	native.Machine
	Connected(id wire.SocketID) bool
	Config() core.Config
	SetRecoveryData(id wire.SocketID, data []byte) error
}

var _ Machine = (*core.Server)(nil)

// Factory creates a fresh Machine for one scenario run.
type Factory func(t testing.TB, cfg core.Config) Machine

// Native is the Factory of the native core.
func Native(_ testing.TB, cfg core.Config) Machine { return core.NewServer(cfg) }

// EngineMachine is the engine-only machine as the native host drives it
// (native.EngineMachine), plus the two queries the scenarios also check.
type EngineMachine interface {
	native.EngineMachine
	Stats() core.Stats
	Config() engine.Config
}

// EngineFactory creates a fresh EngineMachine for one scenario run.
type EngineFactory func(t testing.TB, cfg engine.Config) EngineMachine

// NativeEngine is the EngineFactory of the native engine machine
// (native.NativeEngineMachine: engine.NewServer(cfg, nil)).
func NativeEngine(t testing.TB, cfg engine.Config) EngineMachine {
	m, err := native.NativeEngineMachine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m.(EngineMachine)
}

// Run plays every scenario (Scenarios, then RecoveryScenarios) on the
// native core and on newMachine and fails at the first line where their
// transcripts differ. Each scenario's own checks run on both.
func Run(t *testing.T, newMachine Factory) {
	for _, sc := range slices.Concat(Scenarios, RecoveryScenarios) {
		t.Run(sc.Name, func(t *testing.T) {
			want := play(t, sc, Native)
			got := play(t, sc, newMachine)
			if t.Failed() {
				return
			}
			compare(t, want, got)
		})
	}
}

// RunEngine is Run for the engine-only machine: every EngineScenario on
// the native engine and on newMachine.
func RunEngine(t *testing.T, newMachine EngineFactory) {
	for _, sc := range EngineScenarios {
		t.Run(sc.Name, func(t *testing.T) {
			want := playEngine(t, sc, NativeEngine)
			got := playEngine(t, sc, newMachine)
			if t.Failed() {
				return
			}
			compare(t, want, got)
		})
	}
}

// Transcript plays one scenario on a machine and returns its transcript.
func Transcript(t testing.TB, sc Scenario, f Factory) []string { return play(t, sc, f) }

// EngineTranscript plays one engine scenario and returns its transcript.
func EngineTranscript(t testing.TB, sc Scenario, f EngineFactory) []string {
	return playEngine(t, sc, f)
}

func compare(t *testing.T, want, got []string) {
	t.Helper()
	for i := 0; i < len(want) || i < len(got); i++ {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			from := max(0, i-5)
			t.Fatalf("transcripts differ at line %d\nnative:\n%s\nunder test:\n%s",
				i+1, strings.Join(want[from:min(len(want), i+1)], "\n"), strings.Join(got[from:min(len(got), i+1)], "\n"))
		}
	}
}

// Scenario is one entry of a table: a configuration and the steps. An
// engine scenario's machine gets the Engine.IO part of the configuration
// and its steps use d.E instead of d.M.
type Scenario struct {
	Name   string
	Config func(*core.Config) // adjusts TestConfig; nil keeps it
	Steps  func(d *D)
}

// TestConfig is the configuration scenarios start from: the official
// protocol suites' timings, a fixed seed.
func TestConfig() core.Config {
	var c core.Config
	c.PingInterval = 300 * time.Millisecond
	c.PingTimeout = 200 * time.Millisecond
	c.ConnectTimeout = time.Second
	c.MaxPayload = 1 << 16
	c.Seed = [32]byte{'s', 'o', 'c', 'k', 'e', 't', 'c', 'o', 'r', 'e'}
	return c
}

func scenarioConfig(sc Scenario) core.Config {
	cfg := TestConfig()
	if sc.Config != nil {
		sc.Config(&cfg)
	}
	return cfg
}

func play(t testing.TB, sc Scenario, f Factory) []string {
	m := f(t, scenarioConfig(sc))
	d := &D{t: t, M: m, m: m, now: clock.Instant(time.Second)}
	d.logf("config %s", describeConfig(m.Config()))
	return d.run(sc, m.Stats)
}

func playEngine(t testing.TB, sc Scenario, f EngineFactory) []string {
	m := f(t, scenarioConfig(sc).Config)
	d := &D{t: t, E: m, m: m, now: clock.Instant(time.Second)}
	d.logf("config %s", describeEngineConfig(m.Config()))
	return d.run(sc, m.Stats)
}

func (d *D) run(sc Scenario, stats func() core.Stats) []string {
	d.drain()
	sc.Steps(d)
	d.drain()
	d.logf("end stats %+v deadline %s", stats(), d.rel(d.deadline))
	return d.log
}

// machine is what every scenario step needs: Handle and Poll.
type machine interface {
	Handle(now clock.Instant, in wire.Input) error
	Poll() wire.Output
}

// D drives one machine in virtual time and records the transcript.
type D struct {
	t testing.TB
	// M is the machine of Scenarios, E the one of EngineScenarios; the
	// other is nil.
	M        Machine
	E        EngineMachine
	m        machine // M or E
	now      clock.Instant
	deadline clock.Instant
	log      []string
	// Out holds the outputs of the last drain, for the scenario's checks.
	Out []wire.Output

	// In a cluster scenario: the cluster, this server's index in it and
	// the prefix of its transcript lines (which go to the cluster's log).
	c      *C
	node   int
	prefix string
	all    []wire.Output // every output so far (Last)
}

// Now is the current virtual instant.
func (d *D) Now() clock.Instant { return d.now }

func (d *D) logf(format string, args ...any) {
	if d.c != nil {
		d.c.log = append(d.c.log, d.prefix+fmt.Sprintf(format, args...))
		return
	}
	d.log = append(d.log, fmt.Sprintf(format, args...))
}

// lines is the transcript so far (the whole cluster's in a cluster scenario).
func (d *D) lines() []string {
	if d.c != nil {
		return d.c.log
	}
	return d.log
}

func (d *D) rel(i clock.Instant) string {
	if i == 0 {
		return "none"
	}
	return time.Duration(i - clock.Instant(time.Second)).String()
}

// Fatalf stops the scenario.
func (d *D) Fatalf(format string, args ...any) {
	d.t.Helper()
	d.t.Fatalf("at %s: %s%s\ntranscript:\n%s", d.rel(d.now), d.prefix, fmt.Sprintf(format, args...), strings.Join(d.lines(), "\n"))
}

// drain polls until Wait, logging every output.
func (d *D) drain() {
	d.Out = d.Out[:0]
	for i := 0; ; i++ {
		if i > 100000 {
			d.Fatalf("Poll never returned Wait")
		}
		o := d.m.Poll()
		if w, ok := o.(wire.Wait); ok {
			if w.Deadline != 0 && w.Deadline < d.now {
				d.Fatalf("deadline %s is in the past", d.rel(w.Deadline))
			}
			if w.Deadline != d.deadline {
				d.logf("  wait %s", d.rel(w.Deadline))
			}
			d.deadline = w.Deadline
			return
		}
		d.logf("  %s", Describe(o))
		d.Out = append(d.Out, o)
		if d.c != nil {
			d.all = append(d.all, o)
			if p, ok := o.(wire.ClusterPublish); ok {
				d.c.queue = append(d.c.queue, published{from: d.node, p: p})
			}
			if d.c.Store != nil {
				d.c.Store.take(d, o) // recovery_store.go
			}
		}
	}
}

// In feeds one input at the current instant and drains.
func (d *D) In(in wire.Input) {
	d.t.Helper()
	err := d.m.Handle(d.now, in)
	d.logf("%s in %s -> %v", d.rel(d.now), Describe(in), errString(err))
	d.drain()
}

// Do runs a command at the current instant, logs its result and drains.
func (d *D) Do(what string, f func(now clock.Instant) any) any {
	r := f(d.now)
	d.logf("%s do %s -> %s", d.rel(d.now), what, describeAny(r))
	d.drain()
	return r
}

// Advance moves virtual time forward by dur, feeding Timeout at every
// deadline on the way (as a host's single timer would).
func (d *D) Advance(dur time.Duration) {
	target := d.now.Add(dur)
	for n := 0; d.deadline != 0 && d.deadline <= target; n++ {
		if n > 10000 {
			d.Fatalf("livelock: deadlines keep coming")
		}
		d.now = d.deadline
		d.In(wire.Timeout{})
	}
	d.now = target
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return "error: " + err.Error()
}

func describeConfig(c core.Config) string {
	return fmt.Sprintf("ping %v/%v upgrade %v close %v maxPayload %d maxBuffered %d transports %d noUpgrades %v connect %v atts %d depth %d acks %d dynamic %v cluster %v requests %v recovery %v/%d/%d",
		c.PingInterval, c.PingTimeout, c.UpgradeTimeout, c.CloseTimeout, c.MaxPayload, c.MaxBufferedBytes,
		c.Transports, c.DisableUpgrades, c.ConnectTimeout, c.MaxAttachments, c.MaxDepth, c.MaxPendingAcks, c.DynamicNamespaces,
		c.Cluster, c.RequestsTimeout, c.RecoveryWindow, c.RecoveryMaxPackets, c.RecoveryMaxBytes)
}

func describeEngineConfig(c engine.Config) string {
	return fmt.Sprintf("ping %v/%v upgrade %v close %v maxPayload %d maxBuffered %d transports %d noUpgrades %v",
		c.PingInterval, c.PingTimeout, c.UpgradeTimeout, c.CloseTimeout, c.MaxPayload, c.MaxBufferedBytes,
		c.Transports, c.DisableUpgrades)
}

func describeAny(r any) string {
	switch r := r.(type) {
	case nil:
		return "ok"
	case error:
		return errString(r)
	case string:
		return fmt.Sprintf("%q", r)
	}
	return fmt.Sprintf("%v", r)
}

func q(b []byte) string {
	if b == nil {
		return "nil"
	}
	return fmt.Sprintf("%q", b)
}

func qs(l [][]byte) string {
	if len(l) == 0 {
		return "[]"
	}
	parts := make([]string, len(l))
	for i, b := range l {
		parts[i] = q(b)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func frames(fs []wire.Frame) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		if f.Binary {
			parts[i] = "bin" + q(f.Data)
		} else {
			parts[i] = q(f.Data)
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// Describe renders an input or output with all its fields. Empty and nil
// byte strings and lists print alike: the ABI does not keep the
// difference, and no host may depend on it.
func Describe(v any) string {
	switch o := v.(type) {
	case wire.HTTPRequest:
		return fmt.Sprintf("HTTPRequest{conn=%d %s ?%s ws=%v bin=%v body=%s tooLarge=%v}", o.Conn, o.Method, o.Query, o.WebSocket, o.Binary, q(o.Body), o.TooLarge)
	case wire.Recv:
		return fmt.Sprintf("Recv{conn=%d %s bin=%v}", o.Conn, q(o.Data), o.Binary)
	case wire.Closed:
		return fmt.Sprintf("Closed{conn=%d error=%v}", o.Conn, o.Error)
	case wire.Timeout:
		return "Timeout"
	case wire.Respond:
		return fmt.Sprintf("Respond{conn=%d %d %q %s}", o.Conn, o.Status, o.ContentType, q(nilIfEmpty(o.Body)))
	case wire.AcceptWebSocket:
		return fmt.Sprintf("AcceptWebSocket{conn=%d}", o.Conn)
	case wire.Send:
		return fmt.Sprintf("Send{conn=%d %s volatile=%v compress=%v}", o.Conn, frames(o.Frames), o.Volatile, o.Compress)
	case wire.Broadcast:
		return fmt.Sprintf("Broadcast{conns=%v %s volatile=%v compress=%v}", o.Conns, frames(o.Frames), o.Volatile, o.Compress)
	case wire.CloseConn:
		return fmt.Sprintf("CloseConn{conn=%d}", o.Conn)
	case wire.Wait:
		return fmt.Sprintf("Wait{%d}", o.Deadline)
	case wire.SessionOpened:
		return fmt.Sprintf("SessionOpened{%s conn=%d ws=%v}", o.SID, o.Conn, o.WebSocket)
	case wire.SessionUpgraded:
		return fmt.Sprintf("SessionUpgraded{%s conn=%d}", o.SID, o.Conn)
	case wire.SessionClosed:
		return fmt.Sprintf("SessionClosed{%s %q}", o.SID, o.Reason)
	case wire.MessageReceived:
		return fmt.Sprintf("MessageReceived{%s %s bin=%v}", o.SID, q(o.Data), o.Binary)
	case wire.ConnectRequested:
		return fmt.Sprintf("ConnectRequested{%s sid=%s %q auth=%s known=%v recovered=%v data=%s}", o.Socket, o.SID, o.Nsp, q(o.Auth), o.Known,
			o.Recovered, q(nilIfEmpty(o.Data)))
	case wire.Connected:
		return fmt.Sprintf("Connected{%s sid=%s %q recovered=%v data=%s}", o.Socket, o.SID, o.Nsp, o.Recovered, q(nilIfEmpty(o.Data)))
	case wire.EventReceived:
		return fmt.Sprintf("EventReceived{%s %q %s atts=%s ack=%d}", o.Socket, o.Name, q(o.Data), qs(o.Attachments), o.Ack)
	case wire.AckResolved:
		return fmt.Sprintf("AckResolved{ref=%d %s %s atts=%s err=%d}", o.Ref, o.Socket, q(nilIfEmpty(o.Args)), qs(o.Attachments), o.Err)
	case wire.BroadcastAckResolved:
		return fmt.Sprintf("BroadcastAckResolved{ref=%d %s timedOut=%v}", o.Ref, describeReplies(o.Replies), o.TimedOut)
	case wire.Disconnecting:
		return fmt.Sprintf("Disconnecting{%s %q rooms=%q}", o.Socket, o.Reason, o.Rooms)
	case wire.Disconnected:
		return fmt.Sprintf("Disconnected{%s %q}", o.Socket, o.Reason)
	case wire.ClusterReceived:
		return "ClusterReceived{" + describeClusterMessage(o.Msg) + "}"
	case wire.ClusterServers:
		return fmt.Sprintf("ClusterServers{%q servers=%d}", o.RequestID, o.Servers)
	case wire.ClusterPublish:
		return fmt.Sprintf("ClusterPublish{%s countServers=%v}", describeClusterMessage(o.Msg), o.CountServers)
	case wire.ClusterRequestDone:
		return fmt.Sprintf("ClusterRequestDone{ref=%d sockets=%s rooms=%q replies=%s timedOut=%v answers=%d/%d}",
			o.Ref, describeClusterSockets(o.Sockets), o.Rooms, describeReplies(o.Replies), o.TimedOut, o.Answers, o.Expected)
	case wire.ServerSideEmitReceived:
		return fmt.Sprintf("ServerSideEmitReceived{%q %s atts=%s ack=%d}", o.Nsp, q(o.Data), qs(o.Attachments), o.Ack)
	case wire.RecoveryRecord:
		return fmt.Sprintf("RecoveryRecord{%q %s}", o.Nsp, describePacket(o.Packet))
	case wire.RecoverySession:
		return "RecoverySession{" + describeSession(o) + "}"
	case wire.RecoveryLookup:
		return fmt.Sprintf("RecoveryLookup{ref=%d %q pid=%s offset=%q node=%s}", o.Ref, o.Nsp, o.PID, o.Offset, o.Node)
	case wire.RecoveryFound:
		ps := make([]string, len(o.Packets))
		for i, p := range o.Packets {
			ps[i] = describePacket(p)
		}
		return fmt.Sprintf("RecoveryFound{ref=%d found=%v %s offsetFound=%v packets=[%s]}", o.Ref, o.Found, describeSession(o.Session),
			o.OffsetFound, strings.Join(ps, " "))
	case nil:
		return "nil"
	}
	return fmt.Sprintf("%T%+v", v, v)
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

func describeReplies(l []wire.Reply) string {
	parts := make([]string, len(l))
	for i, r := range l {
		parts[i] = fmt.Sprintf("%s:%s:%s", r.Socket, q(r.Args), qs(r.Attachments))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// describeClusterMessage renders every field of a cluster message (empty
// and nil alike, as in Describe).
func describeClusterMessage(m wire.ClusterMessage) string {
	return fmt.Sprintf("%s %q req=%q rooms=%q except=%q volatile=%v compress=%v timeout=%v data=%s atts=%s join=%q close=%v sockets=%s clients=%d offset=%q",
		m.Type, m.Nsp, m.RequestID, m.Rooms, m.Except, m.Volatile, m.Compress, m.Timeout, q(nilIfEmpty(m.Data)), qs(m.Attachments),
		m.JoinRooms, m.Close, describeClusterSockets(m.Sockets), m.ClientCount, m.Offset)
}

func describeClusterSockets(l []wire.ClusterSocket) string {
	parts := make([]string, len(l))
	for i, s := range l {
		parts[i] = fmt.Sprintf("%s rooms=%q hs=%s data=%s", s.ID, s.Rooms, q(nilIfEmpty(s.Handshake)), q(nilIfEmpty(s.Data)))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
