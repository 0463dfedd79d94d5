package host

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/engine"
	"github.com/socketcore/socketcore/core/wire"
	"github.com/socketcore/socketcore/wasm/abi"
)

func newTestEngine(t *testing.T, cfg engine.Config) *EngineMachine {
	t.Helper()
	m, err := testModule.NewEngineMachine(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Release(context.Background()) })
	return m
}

// nativeEngine is engine.Server behind EngineMachine's Send (by sid).
type nativeEngine struct{ *engine.Server }

func (n nativeEngine) send(sid wire.SID, frames []wire.Frame, volatile, compress bool) error {
	s := n.Session(sid)
	if s == nil {
		return engine.ErrUnknownSession
	}
	n.Server.Send(s, frames, volatile, compress)
	return nil
}

// The engine role gives the outputs engine.NewServer(cfg, nil) gives, for
// every input and command.
func TestEngineMachine(t *testing.T) {
	cfg := engine.Config{PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond, Seed: [32]byte{9}}
	m := newTestEngine(t, cfg)
	n := nativeEngine{engine.NewServer(cfg, nil)}
	if got, want := m.Config(), n.Config(); got != want {
		t.Fatalf("Config\n got %+v\nwant %+v", got, want)
	}
	now := clock.Instant(time.Second)
	same := func(what string) []wire.Output {
		t.Helper()
		wo, ww := drain(t, m)
		no, nw := drain(t, n)
		if !reflect.DeepEqual(wo, no) || ww != nw {
			t.Fatalf("%s: outputs differ\nwasm   %#v %v\nnative %#v %v", what, wo, ww, no, nw)
		}
		return wo
	}
	both := func(in wire.Input) []wire.Output {
		t.Helper()
		if err := m.Handle(now, in); err != nil {
			t.Fatal(err)
		}
		if err := n.Handle(now, in); err != nil {
			t.Fatal(err)
		}
		return same(inputName(in))
	}
	outs := both(wire.HTTPRequest{Conn: 1, Method: "GET", Query: "EIO=4&transport=websocket", WebSocket: true})
	var ws wire.SID
	for _, o := range outs {
		if so, ok := o.(wire.SessionOpened); ok {
			ws = so.SID
		}
	}
	outs = both(wire.Recv{Conn: 1, Data: []byte("4héllo")})
	if len(outs) != 1 || string(outs[0].(wire.MessageReceived).Data) != "héllo" {
		t.Fatalf("message: %#v", outs)
	}
	both(wire.Recv{Conn: 1, Data: []byte{1, 2, 3}, Binary: true})
	// A polling session with a GET parked.
	outs = both(wire.HTTPRequest{Conn: 2, Method: "GET", Query: "EIO=4&transport=polling"})
	var poll wire.SID
	for _, o := range outs {
		if so, ok := o.(wire.SessionOpened); ok {
			poll = so.SID
		}
	}
	both(wire.HTTPRequest{Conn: 3, Method: "GET", Query: "EIO=4&transport=polling&sid=" + string(poll)})
	for _, c := range []struct {
		sid                wire.SID
		frames             []wire.Frame
		volatile, compress bool
	}{
		{ws, []wire.Frame{{Data: []byte("4echo")}}, false, false},
		{ws, []wire.Frame{{Data: []byte{7}, Binary: true}}, true, true},
		{poll, []wire.Frame{{Data: []byte("4to the GET")}, {Data: []byte{1}, Binary: true}}, false, false},
		{poll, []wire.Frame{{Data: []byte("4volatile, no GET")}}, true, false},
	} {
		werr := m.Send(c.sid, c.frames, c.volatile, c.compress)
		nerr := n.send(c.sid, c.frames, c.volatile, c.compress)
		if werr != nil || nerr != nil {
			t.Fatalf("Send: %v, %v", werr, nerr)
		}
		same("Send")
	}
	if err := m.Send("nope", []wire.Frame{{Data: []byte("4")}}, false, false); err != engine.ErrUnknownSession {
		t.Errorf("Send(unknown sid) = %v, want engine.ErrUnknownSession", err)
	}
	if st := m.Stats(); st != (core.Stats{Sessions: 2}) {
		t.Errorf("Stats = %+v", st)
	}
	now += clock.Instant(300 * time.Millisecond)
	both(wire.Timeout{}) // the pings
	m.CloseAll(now)
	n.CloseAll(now)
	if outs := same("CloseAll"); len(outs) == 0 {
		t.Fatal("CloseAll produced nothing")
	}
	if st := m.Stats(); st.Sessions != n.Len()-n.Closing() || st.Closing != n.Closing() || st.Sessions != 0 {
		t.Errorf("Stats after CloseAll = %+v", st)
	}
	if m.Err() != nil {
		t.Fatal(m.Err())
	}
}

// inputName names an input in failure messages.
func inputName(in wire.Input) string { return strings.TrimPrefix(reflect.TypeOf(in).String(), "wire.") }

// What a broken host could send to either role, and a core.wasm without
// the engine role: clear statuses and errors, never a stopped machine.
func TestEngineRoleRejects(t *testing.T) {
	e := newTestEngine(t, engine.Config{})
	srv := newTestMachine(t, core.Config{})
	raw := func(m *instance, kind abi.Kind, r any) abi.Status {
		t.Helper()
		rec, ok := r.([]byte)
		if !ok && r != nil {
			_, rec, _ = abi.AppendCall(nil, r)
		}
		m.mem.Write(m.ptr, rec)
		s := []uint64{1, uint64(kind), uint64(m.ptr), uint64(len(rec)), uint64(m.size)}
		if err := m.handle.CallWithStack(context.Background(), s); err != nil {
			t.Fatal(err)
		}
		if int64(s[0]) > 0 {
			return abi.StatusOK // a reply
		}
		return abi.Status(int64(s[0]))
	}
	for _, c := range []struct {
		name string
		m    *instance
		kind abi.Kind
		rec  any
		want abi.Status
	}{
		{"AddNamespace to the engine role", &e.instance, abi.KindAddNamespace, abi.AddNamespace{Name: "/a"}, abi.StatusRole},
		{"Emit to the engine role", &e.instance, abi.KindEmit, core.Emit{Socket: "s"}, abi.StatusRole},
		{"Broadcast to the engine role", &e.instance, abi.KindBroadcast, core.Broadcast{Nsp: "/"}, abi.StatusRole},
		{"Rooms to the engine role", &e.instance, abi.KindRooms, abi.RoomsOf{Socket: "s"}, abi.StatusRole},
		{"Disconnect to the engine role", &e.instance, abi.KindDisconnect, abi.Disconnect{Socket: "s"}, abi.StatusRole},
		{"EngineSend to the server role", &srv.instance, abi.KindEngineSend, abi.EngineSend{SID: "x"}, abi.StatusRole},
		{"undefined engine command", &e.instance, 0x0402, nil, abi.StatusUnknownKind},
		{"FetchSockets to the engine role", &e.instance, abi.KindFetchSockets, abi.FetchSockets{Target: core.Target{Nsp: "/"}}, abi.StatusRole},
		{"ClusterReceived to the engine role", &e.instance, abi.KindClusterReceived, wire.ClusterReceived{}, abi.StatusRole},
		{"undefined server command", &e.instance, 0x0219, nil, abi.StatusUnknownKind},
		{"Counts to the engine role", &e.instance, abi.KindCounts, abi.CountsQuery{}, abi.StatusRole},
		{"SetRecoveryData to the engine role", &e.instance, abi.KindSetRecoveryData, abi.SetRecoveryData{Socket: "s"}, abi.StatusRole},
		{"undefined input", &srv.instance, 0x0108, nil, abi.StatusUnknownKind},
		{"RecoveryFound to the engine role", &e.instance, abi.KindRecoveryFound, wire.RecoveryFound{}, abi.StatusRole},
		{"an output kind", &e.instance, abi.KindSend, nil, abi.StatusUnknownKind},
		{"truncated EngineSend", &e.instance, abi.KindEngineSend, []byte{1, 0, 0, 0, 'x', 0, 0}, abi.StatusBadRecord},
		{"EngineSend to an unknown session", &e.instance, abi.KindEngineSend, abi.EngineSend{SID: "x"}, abi.StatusUnknownSession},
		{"Stats to the engine role", &e.instance, abi.KindStats, abi.StatsQuery{}, abi.StatusOK},
	} {
		if got := raw(c.m, c.kind, c.rec); got != c.want {
			t.Errorf("%s: status %d (%s), want %d (%s)", c.name, got, got, c.want, c.want)
		}
	}
	// Both machines still work.
	if err := e.Handle(1, wire.HTTPRequest{Conn: 1, Method: "GET", Query: "EIO=4&transport=polling"}); err != nil || e.Err() != nil {
		t.Fatalf("engine after the rejections: %v %v", err, e.Err())
	}
	if outs, _ := drain(t, e); len(outs) != 2 {
		t.Fatalf("%d outputs", len(outs))
	}
	if err := srv.Handle(1, wire.HTTPRequest{Conn: 1, Method: "GET", Query: "EIO=4&transport=polling"}); err != nil || srv.Err() != nil {
		t.Fatalf("server after the rejections: %v %v", err, srv.Err())
	}
	// An input the ABI does not carry.
	if err := e.Handle(1, wire.Dialed{Conn: 1}); err != core.ErrUnknownInput {
		t.Errorf("Handle(client input) = %v", err)
	}
}

// A core.wasm from before the engine role refuses role 2 in sio_new.
func TestNoEngineRole(t *testing.T) {
	ctx := context.Background()
	mod, err := Compile(ctx, tinyModule(withFunc(abiFuncs(abi.Version), tinyFunc{"sio_new", []byte{i32, i32}, []byte{i32}, i32c(int64(abi.StatusRole))}), "", ""), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer mod.Close(ctx)
	_, err = mod.NewEngineMachine(ctx, engine.Config{})
	var re *RejectedError
	if !errors.Is(err, ErrNoEngineRole) || !errors.As(err, &re) || re.Kind != abi.KindInit || re.Status != abi.StatusRole {
		t.Fatalf("NewEngineMachine on a guest without the role = %v", err)
	}
}

// A trap in the engine role: every call fails fast, as Machine's do.
func TestEngineTrap(t *testing.T) {
	ctx := context.Background()
	mod, err := Compile(ctx, tinyModule(withFunc(abiFuncs(abi.Version), tinyFunc{"sio_handle", []byte{i64, i32, i32, i32, i32}, []byte{i64}, unreachable}), "", ""), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer mod.Close(ctx)
	m, err := mod.NewEngineMachine(ctx, engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	err = m.Send("x", []wire.Frame{{Data: []byte("4")}}, false, false)
	var te *TrapError
	if !errors.As(err, &te) || te.Op != "sio_handle" {
		t.Fatalf("Send = %v", err)
	}
	if m.Err() != err {
		t.Fatalf("Err = %v", m.Err())
	}
	if err := m.Handle(1, wire.Timeout{}); err != te {
		t.Fatalf("Handle after a trap = %v", err)
	}
	m.CloseAll(1)
	if o := m.Poll(); o != (wire.Wait{}) {
		t.Fatalf("Poll after a trap = %#v", o)
	}
	if m.Stats() != (core.Stats{}) || m.Config() != (engine.Config{}) {
		t.Fatal("queries after a trap are not zero")
	}
	if err := m.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if m.Err() != te {
		t.Fatalf("Err after Release = %v, want the trap", m.Err())
	}
}
