package host

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
	"github.com/socketcore/socketcore/wasm/abi"
)

// snapMachine is what the snapshot tests drive: core.Server and Machine.
type snapMachine interface {
	Handle(now clock.Instant, in wire.Input) error
	Poll() wire.Output
	Emit(now clock.Instant, e core.Emit) (wire.AckRef, error)
	Ack(ref wire.AckRef, args []byte, atts [][]byte) error
	Broadcast(now clock.Instant, b core.Broadcast) (wire.AckRef, int, error)
	Join(id wire.SocketID, rooms ...string) error
	Rooms(id wire.SocketID) []string
	Stats() core.Stats
	Snapshot(sid wire.SID) ([]byte, error)
	AppendSnapshot(dst []byte, sid wire.SID) ([]byte, error)
	Restore(now clock.Instant, snap []byte) (core.Restored, error)
}

var (
	_ snapMachine = (*core.Server)(nil)
	_ snapMachine = (*Machine)(nil)
)

// twin runs the same steps on two machines that hold the same sessions
// and checks that they answer alike: the same outputs, results and
// deadlines.
type twin struct {
	t    *testing.T
	a, b snapMachine
	now  clock.Instant
}

// step runs f on both machines, drains them and returns a's outputs after
// checking that b's are the same.
func (w *twin) step(what string, f func(m snapMachine) any) []wire.Output {
	w.t.Helper()
	ra, rb := f(w.a), f(w.b)
	if !reflect.DeepEqual(ra, rb) {
		w.t.Fatalf("%s: results differ\n a %#v\n b %#v", what, ra, rb)
	}
	oa, wa := drain(w.t, w.a)
	ob, wb := drain(w.t, w.b)
	if !reflect.DeepEqual(oa, ob) || wa != wb {
		w.t.Fatalf("%s: outputs differ\n a %#v %v\n b %#v %v", what, oa, wa, ob, wb)
	}
	return oa
}

func (w *twin) in(in wire.Input) []wire.Output {
	w.t.Helper()
	return w.step(describeInput(in), func(m snapMachine) any { return m.Handle(w.now, in) })
}

func describeInput(in wire.Input) string {
	switch in := in.(type) {
	case wire.Recv:
		return "Recv " + string(in.Data)
	case wire.HTTPRequest:
		return in.Method + " " + in.Query + " " + string(in.Body)
	}
	return reflect.TypeOf(in).Name()
}

// snapshots checks that both machines snapshot sid to the same bytes and
// returns them.
func (w *twin) snapshots(sid wire.SID) []byte {
	w.t.Helper()
	sa, err := w.a.Snapshot(sid)
	if err != nil {
		w.t.Fatal(err)
	}
	sb, err := w.b.AppendSnapshot([]byte("prefix"), sid)
	if err != nil {
		w.t.Fatal(err)
	}
	if !bytes.Equal(sb[:6], []byte("prefix")) || !bytes.Equal(sa, sb[6:]) {
		w.t.Fatalf("snapshots differ\n a % x\n b % x", sa, sb)
	}
	return sa
}

func outputsOf[T wire.Output](outs []wire.Output) []T {
	var got []T
	for _, o := range outs {
		if v, ok := o.(T); ok {
			got = append(got, v)
		}
	}
	return got
}

// A session with a socket in a room, acknowledgements pending both ways
// and a binary packet waiting for its second attachment (a WebSocket),
// and a polling session with frames buffered and its own pending binary
// packet, move from a native core to core.wasm and back: each machine
// restores the other's snapshot, snapshots it to the same bytes, and then
// behaves exactly as the machine it came from, which keeps running the
// same inputs beside it.
func TestSnapshotAcrossMachines(t *testing.T) {
	cfg := core.Config{}
	cfg.Seed = [32]byte{9}
	cfg.PingInterval, cfg.PingTimeout = 25*time.Second, 20*time.Second
	native := core.NewServer(cfg)
	now := clock.Instant(time.Second)
	do := func(in wire.Input) []wire.Output {
		t.Helper()
		if err := native.Handle(now, in); err != nil {
			t.Fatal(err)
		}
		outs, _ := drain(t, native)
		return outs
	}

	// a WebSocket session
	do(wire.HTTPRequest{Conn: 1, Method: "GET", Query: "EIO=4&transport=websocket", WebSocket: true})
	outs := do(wire.Recv{Conn: 1, Data: []byte("40")})
	conn := outputsOf[wire.Connected](outs)
	if len(conn) != 1 {
		t.Fatalf("no Connected in %#v", outs)
	}
	wsSID, wsID := conn[0].SID, conn[0].Socket
	if err := native.Join(wsID, "room"); err != nil {
		t.Fatal(err)
	}
	outs = do(wire.Recv{Conn: 1, Data: []byte(`421["q",1]`)})
	ev := outputsOf[wire.EventReceived](outs)
	if len(ev) != 1 || ev[0].Ack == 0 {
		t.Fatalf("no event with an ack in %#v", outs)
	}
	inRef := ev[0].Ack
	outRef, err := native.Emit(now, core.Emit{Socket: wsID, Data: []byte(`["question"]`), WithAck: true, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	drain(t, native)
	do(wire.Recv{Conn: 1, Data: []byte(`452-["file",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)})
	do(wire.Recv{Conn: 1, Data: []byte{1, 2}, Binary: true})

	// a polling session
	outs = do(wire.HTTPRequest{Conn: 10, Method: "GET", Query: "EIO=4&transport=polling&t=1"})
	opened := outputsOf[wire.SessionOpened](outs)
	if len(opened) != 1 {
		t.Fatalf("no SessionOpened in %#v", outs)
	}
	pollSID := opened[0].SID
	pq := "EIO=4&transport=polling&t=2&sid=" + string(pollSID)
	outs = do(wire.HTTPRequest{Conn: 11, Method: "POST", Query: pq, Body: []byte("40")})
	conn = outputsOf[wire.Connected](outs)
	if len(conn) != 1 {
		t.Fatalf("no Connected in %#v", outs)
	}
	pollID := conn[0].Socket
	if err := native.Join(pollID, "room"); err != nil {
		t.Fatal(err)
	}
	// a binary event and its first attachment in one POST; the second comes later
	do(wire.HTTPRequest{Conn: 12, Method: "POST", Query: pq,
		Body: []byte("452-[\"up\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]\x1ebAwQ=")})
	if _, err := native.Emit(now, core.Emit{Socket: pollID, Data: []byte(`["buffered"]`)}); err != nil {
		t.Fatal(err)
	}
	drain(t, native)
	now = now.Add(10 * time.Second)

	wasm := newTestMachine(t, func() core.Config { c := cfg; c.Seed = [32]byte{'w'}; return c }())
	w := &twin{t: t, a: native, b: wasm, now: now}
	moved := func(from, to snapMachine, sid wire.SID, want core.Restored) []byte {
		t.Helper()
		snap, err := from.Snapshot(sid)
		if err != nil {
			t.Fatal(err)
		}
		got, err := to.Restore(w.now, snap)
		if err != nil {
			t.Fatalf("Restore: %v", err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Restore = %+v, want %+v", got, want)
		}
		if outs, _ := drain(t, to); len(outs) != 0 {
			t.Fatalf("Restore made outputs %#v", outs)
		}
		if _, err := to.Restore(w.now, snap); !errors.Is(err, core.ErrSnapshotConflict) {
			t.Fatalf("second Restore: %v, want ErrSnapshotConflict", err)
		}
		return snap
	}

	// native → wasm
	moved(native, wasm, wsSID, core.Restored{SID: wsSID, Sockets: []core.RestoredSocket{{ID: wsID, Nsp: "/"}}})
	moved(native, wasm, pollSID, core.Restored{SID: pollSID, Sockets: []core.RestoredSocket{{ID: pollID, Nsp: "/"}}})
	w.snapshots(wsSID)
	w.snapshots(pollSID)
	if sa, sb := native.Stats(), wasm.Stats(); sa != sb {
		t.Fatalf("Stats differ: native %+v, wasm %+v", sa, sb)
	}
	if !reflect.DeepEqual(wasm.Rooms(pollID), []string{string(pollID), "room"}) {
		t.Fatalf("Rooms = %q", wasm.Rooms(pollID))
	}

	run := func(w *twin) {
		t.Helper()
		// the pending binary packets complete
		outs := w.in(wire.Recv{Conn: 1, Data: []byte{3}, Binary: true})
		if ev := outputsOf[wire.EventReceived](outs); len(ev) != 1 || ev[0].Name != "file" || len(ev[0].Attachments) != 2 {
			t.Fatalf("WebSocket binary event: %#v", outs)
		}
		outs = w.in(wire.HTTPRequest{Conn: 13, Method: "POST", Query: pq, Body: []byte("bBQY=")})
		if ev := outputsOf[wire.EventReceived](outs); len(ev) != 1 || ev[0].Name != "up" || len(ev[0].Attachments) != 2 {
			t.Fatalf("polling binary event: %#v", outs)
		}
		// the buffered frame goes out with the next GET
		outs = w.in(wire.HTTPRequest{Conn: 14, Method: "GET", Query: pq})
		if r := outputsOf[wire.Respond](outs); len(r) != 1 || !bytes.Contains(r[0].Body, []byte(`42["buffered"]`)) {
			t.Fatalf("polling GET: %#v", outs)
		}
		// acknowledgements both ways, under the refs of the first machine
		outs = w.in(wire.Recv{Conn: 1, Data: []byte(`430["yes"]`)})
		if r := outputsOf[wire.AckResolved](outs); len(r) != 1 || r[0].Ref != outRef {
			t.Fatalf("AckResolved: %#v", outs)
		}
		w.step("Ack", func(m snapMachine) any { return m.Ack(inRef, []byte(`["ok"]`), nil) })
		// a room broadcast reaches both sessions
		w.step("Broadcast", func(m snapMachine) any {
			ref, n, err := m.Broadcast(w.now, core.Broadcast{Nsp: "/", Rooms: []string{"room"}, Data: []byte(`["news"]`), WithAck: true, Timeout: time.Second})
			return []any{ref, n, err}
		})
		outs = w.in(wire.HTTPRequest{Conn: 15, Method: "GET", Query: pq})
		if r := outputsOf[wire.Respond](outs); len(r) != 1 || !bytes.Contains(r[0].Body, []byte(`["news"]`)) {
			t.Fatalf("polling GET after the broadcast: %#v", outs)
		}
		w.step("Emit", func(m snapMachine) any {
			ref, err := m.Emit(w.now, core.Emit{Socket: wsID, Data: []byte(`["again"]`), WithAck: true})
			return []any{ref, err}
		})
		// time passes: the broadcast's ack times out, the heartbeat goes on
		for range 3 {
			w.now = w.now.Add(10 * time.Second)
			w.in(wire.Timeout{})
		}
		w.in(wire.Recv{Conn: 1, Data: []byte("3")})
	}
	run(w)
	if sa, sb := native.Stats(), wasm.Stats(); sa != sb {
		t.Fatalf("Stats differ: native %+v, wasm %+v", sa, sb)
	}

	// wasm → native: a fresh native core takes over from the WASM machine
	// (the other stays in step beside it), with new pending state
	w.in(wire.Recv{Conn: 1, Data: []byte(`452-["file",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)})
	w.in(wire.Recv{Conn: 1, Data: []byte{1, 2}, Binary: true})
	w.in(wire.HTTPRequest{Conn: 16, Method: "POST", Query: pq,
		Body: []byte("452-[\"up\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]\x1ebAwQ=")})
	w.step("Emit", func(m snapMachine) any {
		_, err := m.Emit(w.now, core.Emit{Socket: pollID, Data: []byte(`["buffered"]`)})
		return err
	})
	native2 := core.NewServer(func() core.Config { c := cfg; c.Seed = [32]byte{'n'}; return c }())
	wsSnap := moved(wasm, native2, wsSID, core.Restored{SID: wsSID, Sockets: []core.RestoredSocket{{ID: wsID, Nsp: "/"}}})
	pollSnap := moved(wasm, native2, pollSID, core.Restored{SID: pollSID, Sockets: []core.RestoredSocket{{ID: pollID, Nsp: "/"}}})
	w2 := &twin{t: t, a: native2, b: wasm, now: w.now}
	if !bytes.Equal(w2.snapshots(wsSID), wsSnap) || !bytes.Equal(w2.snapshots(pollSID), pollSnap) {
		t.Fatal("a restored session snapshots to other bytes")
	}
	if !bytes.Equal(w.snapshots(wsSID), wsSnap) {
		t.Fatal("the native machine that ran beside the WASM one snapshots to other bytes")
	}
	outs = w2.in(wire.Recv{Conn: 1, Data: []byte{3}, Binary: true})
	if ev := outputsOf[wire.EventReceived](outs); len(ev) != 1 || len(ev[0].Attachments) != 2 {
		t.Fatalf("WebSocket binary event after wasm → native: %#v", outs)
	}
	outs = w2.in(wire.HTTPRequest{Conn: 17, Method: "POST", Query: pq, Body: []byte("bBQY=")})
	if ev := outputsOf[wire.EventReceived](outs); len(ev) != 1 || len(ev[0].Attachments) != 2 {
		t.Fatalf("polling binary event after wasm → native: %#v", outs)
	}
	outs = w2.in(wire.HTTPRequest{Conn: 18, Method: "GET", Query: pq})
	if r := outputsOf[wire.Respond](outs); len(r) != 1 || !bytes.Contains(r[0].Body, []byte(`42["buffered"]`)) {
		t.Fatalf("polling GET after wasm → native: %#v", outs)
	}
	// the heartbeat: with no pong the WebSocket session times out alike
	for range 6 {
		w2.now = w2.now.Add(10 * time.Second)
		w2.in(wire.Timeout{})
	}
	if sa, sb := native2.Stats(), wasm.Stats(); sa != sb {
		t.Fatalf("Stats differ: native %+v, wasm %+v", sa, sb)
	}
}

// The WASM machine's errors are the core's sentinels.
func TestSnapshotErrorsWasm(t *testing.T) {
	cfg := core.Config{}
	cfg.Seed = [32]byte{3}
	m := newTestMachine(t, cfg)
	if _, err := m.Snapshot("nope"); !errors.Is(err, core.ErrUnknownSession) {
		t.Errorf("Snapshot(unknown) = %v, want ErrUnknownSession", err)
	}
	if _, err := m.Restore(1, []byte{2, 0}); !errors.Is(err, core.ErrBadSnapshot) {
		t.Errorf("Restore(garbage) = %v, want ErrBadSnapshot", err)
	}
	if _, err := m.Restore(1, nil); !errors.Is(err, core.ErrBadSnapshot) {
		t.Errorf("Restore(nothing) = %v, want ErrBadSnapshot", err)
	}
	if st := m.Stats(); st.Sessions != 0 || st.Timers != 0 {
		t.Errorf("failed restores left %+v", st)
	}
	if err := m.Err(); err != nil {
		t.Fatalf("the machine stopped: %v", err)
	}

	// the raw statuses: a reply kind is no call (-2); the engine role does
	// not take snapshots (-5)
	raw := func(in *instance, k abi.Kind, rec []byte) error {
		in.mu.Lock()
		defer in.mu.Unlock()
		_, err := in.send(1, k, append([]byte(nil), rec...))
		return err
	}
	_, snapRec, _ := abi.AppendSnapshotRecord(nil, abi.Snapshot{SID: "x"})
	var rej *RejectedError
	if err := raw(&m.instance, abi.KindSnapshotReply, []byte{0, 0, 0, 0}); !errors.As(err, &rej) || rej.Status != abi.StatusUnknownKind {
		t.Errorf("SnapshotReply as a call: %v, want status -2", err)
	}
	em, err := testModule.NewEngineMachine(context.Background(), cfg.Config)
	if err != nil {
		t.Fatal(err)
	}
	defer em.Release(context.Background())
	if err := raw(&em.instance, abi.KindSnapshot, snapRec); !errors.As(err, &rej) || rej.Status != abi.StatusRole {
		t.Errorf("Snapshot on the engine role: %v, want status -5", err)
	}
}
