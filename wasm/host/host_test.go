package host

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
	"github.com/socketcore/socketcore/wasm/abi"
	"github.com/socketcore/socketcore/wasm/wasmtest"
)

// Machine has every method of *core.Server with the same signature, so a
// host can drive either; this fails when the core grows a method the ABI
// does not carry yet.
func TestMethodSet(t *testing.T) {
	native := reflect.TypeOf(&core.Server{})
	wasm := reflect.TypeOf(&Machine{})
	for i := 0; i < native.NumMethod(); i++ {
		nm := native.Method(i)
		wm, ok := wasm.MethodByName(nm.Name)
		if !ok {
			t.Errorf("Machine lacks %s%s", nm.Name, strings.TrimPrefix(nm.Type.String(), "func(*core.Server"))
			continue
		}
		// Compare without the receiver.
		if nt, wt := nm.Type, wm.Type; nt.NumIn() != wt.NumIn() || nt.NumOut() != wt.NumOut() {
			t.Errorf("%s: %s vs %s", nm.Name, nt, wt)
		} else {
			for j := 1; j < nt.NumIn(); j++ {
				if nt.In(j) != wt.In(j) {
					t.Errorf("%s: argument %d is %s, want %s", nm.Name, j, wt.In(j), nt.In(j))
				}
			}
			for j := 0; j < nt.NumOut(); j++ {
				if nt.Out(j) != wt.Out(j) {
					t.Errorf("%s: result %d is %s, want %s", nm.Name, j, wt.Out(j), nt.Out(j))
				}
			}
		}
	}
}

func newTestMachine(t *testing.T, cfg core.Config) *Machine {
	t.Helper()
	m, err := testModule.NewMachine(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Release(context.Background()) })
	return m
}

func drain(t *testing.T, m interface{ Poll() wire.Output }) ([]wire.Output, wire.Wait) {
	t.Helper()
	var outs []wire.Output
	for i := 0; ; i++ {
		o := m.Poll()
		if w, ok := o.(wire.Wait); ok {
			return outs, w
		}
		if i > 10000 {
			t.Fatal("Poll never returned Wait")
		}
		outs = append(outs, o)
	}
}

func TestHandshakeAndCommands(t *testing.T) {
	seed := [32]byte{7}
	cfg := core.Config{}
	cfg.Seed = seed
	m := newTestMachine(t, cfg)
	n := core.NewServer(cfg)
	if got, want := m.Config(), n.Config(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Config\n got %+v\nwant %+v", got, want)
	}
	now := clock.Instant(time.Second)
	for _, mc := range []interface {
		Handle(clock.Instant, wire.Input) error
		Poll() wire.Output
	}{m, n} {
		if err := mc.Handle(now, wire.HTTPRequest{Conn: 1, Method: "GET", Query: "EIO=4&transport=websocket", WebSocket: true}); err != nil {
			t.Fatal(err)
		}
		if err := mc.Handle(now, wire.Recv{Conn: 1, Data: []byte("40")}); err != nil {
			t.Fatal(err)
		}
	}
	wo, ww := drain(t, m)
	no, nw := drain(t, n)
	if !reflect.DeepEqual(wo, no) || ww != nw {
		t.Fatalf("outputs differ\nwasm   %#v %v\nnative %#v %v", wo, ww, no, nw)
	}
	var id wire.SocketID
	for _, o := range wo {
		if c, ok := o.(wire.Connected); ok {
			id = c.Socket
		}
	}
	if id == "" || !m.Connected(id) || m.Transport(id) != "websocket" {
		t.Fatalf("socket %q connected=%v transport=%q", id, m.Connected(id), m.Transport(id))
	}
	if err := m.Join(id, "a", "b"); err != nil {
		t.Fatal(err)
	}
	if err := m.Leave(id, "a"); err != nil {
		t.Fatal(err)
	}
	if got := m.Rooms(id); !reflect.DeepEqual(got, []string{string(id), "b"}) {
		t.Fatalf("Rooms = %q", got)
	}
	if got := m.SocketsIn("/", []string{"b"}); !reflect.DeepEqual(got, []wire.SocketID{id}) {
		t.Fatalf("SocketsIn = %q", got)
	}
	if got := m.SocketsIn("/nope", nil); got != nil {
		t.Fatalf("SocketsIn(unknown) = %q", got)
	}
	ref, err := m.Emit(now, core.Emit{Socket: id, Data: []byte(`["hi"]`), WithAck: true, Timeout: time.Second})
	if err != nil || ref == 0 {
		t.Fatalf("Emit = %d, %v", ref, err)
	}
	bref, targets, err := m.Broadcast(now, core.Broadcast{Nsp: "/", Data: []byte(`["all"]`), WithAck: true})
	if err != nil || bref == 0 || targets != 1 {
		t.Fatalf("Broadcast = %d, %d, %v", bref, targets, err)
	}
	if st := m.Stats(); st.Sockets != 1 || st.OutAcks != 2 || st.Sessions != 1 {
		t.Fatalf("Stats = %+v", st)
	}
	// The core's sentinels come back as themselves.
	if err := m.Disconnect(now, "nope", false); err != core.ErrUnknownSocket {
		t.Errorf("Disconnect(unknown) = %v", err)
	}
	if _, _, err := m.Broadcast(now, core.Broadcast{Nsp: "/nope"}); err != core.ErrUnknownNamespace {
		t.Errorf("Broadcast(unknown) = %v", err)
	}
	if err := m.Ack(12345, nil, nil); err != core.ErrUnknownAck {
		t.Errorf("Ack(unknown) = %v", err)
	}
	if err := m.Handle(now, nil); err != core.ErrUnknownInput {
		t.Errorf("Handle(nil) = %v", err)
	}
	if err := m.Handle(now, wire.Dialed{Conn: 1}); err != core.ErrUnknownInput {
		t.Errorf("Handle(client input) = %v", err)
	}
	if err := m.AddNamespace("/admin", true); err != nil {
		t.Fatal(err)
	}
	m.Close(now)
	outs, _ := drain(t, m)
	if len(outs) == 0 {
		t.Fatal("Close produced nothing")
	}
	if st := m.Stats(); st.Sockets != 0 {
		t.Fatalf("after Close: %+v", st)
	}
	if m.Err() != nil {
		t.Fatal(m.Err())
	}
}

// The cluster commands and records through core.wasm give what the native
// core gives: the same replies, the same outputs (ClusterPublish,
// ClusterRequestDone, ServerSideEmitReceived) and the same errors.
func TestClusterCommands(t *testing.T) {
	cfg := core.Config{Cluster: true, RequestsTimeout: 2 * time.Second}
	cfg.Seed = [32]byte{9, 8, 7, 6, 5, 4, 3, 2, 1}
	m := newTestMachine(t, cfg)
	n := core.NewServer(cfg)
	if got, want := m.Config(), n.Config(); !reflect.DeepEqual(got, want) || !got.Cluster || got.RequestsTimeout != 2*time.Second {
		t.Fatalf("Config\n got %+v\nwant %+v", got, want)
	}
	now := clock.Instant(time.Second)
	type cluster interface {
		Handle(clock.Instant, wire.Input) error
		Poll() wire.Output
		SocketsJoin(now clock.Instant, t core.Target, rooms ...string) error
		SocketsLeave(now clock.Instant, t core.Target, rooms ...string) error
		DisconnectSockets(now clock.Instant, t core.Target, closeSession bool) error
		FetchSockets(now clock.Instant, t core.Target) (wire.AckRef, error)
		AllRooms(now clock.Instant, nsp string, local bool) (wire.AckRef, error)
		ServerSideEmit(now clock.Instant, nsp string, data []byte, atts [][]byte, withAck bool) (wire.AckRef, error)
	}
	run := func(mc cluster) []string {
		var log []string
		add := func(what string, r ...any) {
			log = append(log, strings.TrimSpace(fmt.Sprintln(append([]any{what}, r...)...)))
			outs, w := drain(t, mc)
			for _, o := range outs {
				log = append(log, fmt.Sprintf("  %#v", normalize(o)))
			}
			log = append(log, fmt.Sprintf("  wait %d", w.Deadline))
		}
		add("ws", mc.Handle(now, wire.HTTPRequest{Conn: 1, Method: "GET", Query: "EIO=4&transport=websocket", WebSocket: true}))
		add("connect", mc.Handle(now, wire.Recv{Conn: 1, Data: []byte("40")}))
		add("join", mc.SocketsJoin(now, core.Target{Nsp: "/"}, "team", "blue"))
		add("leave", mc.SocketsLeave(now, core.Target{Nsp: "/", Rooms: []string{"team"}}, "blue"))
		add("join unknown", mc.SocketsJoin(now, core.Target{Nsp: "/nope"}, "x"))
		ref, err := mc.FetchSockets(now, core.Target{Nsp: "/", Except: []string{"nobody"}})
		add("fetch", ref, err)
		add("servers", mc.Handle(now, wire.ClusterServers{RequestID: "unknown", Servers: 2}))
		ref, err = mc.AllRooms(now, "/", true)
		add("all rooms local", ref, err)
		ref, err = mc.AllRooms(now, "/nope", false)
		add("all rooms unknown", ref, err)
		ref, err = mc.ServerSideEmit(now, "/", []byte(`["ping",{"_placeholder":true,"num":0}]`), [][]byte{{1, 2}}, true)
		add("sse", ref, err)
		add("other's sockets", mc.Handle(now, wire.ClusterReceived{Msg: wire.ClusterMessage{Type: wire.ClusterFetchSockets,
			Nsp: "/", RequestID: "other-1", Rooms: []string{"team"}}}))
		add("other's sse", mc.Handle(now, wire.ClusterReceived{Msg: wire.ClusterMessage{Type: wire.ClusterServerSideEmit,
			Nsp: "/", RequestID: "other-2", Data: []byte(`["hi"]`)}}))
		add("disconnect", mc.DisconnectSockets(now, core.Target{Nsp: "/", Local: true}, true))
		add("timeout", mc.Handle(now.Add(3*time.Second), wire.Timeout{}))
		return log
	}
	wl, nl := run(m), run(n)
	if !reflect.DeepEqual(wl, nl) {
		t.Fatalf("transcripts differ\nwasm:\n%s\nnative:\n%s", strings.Join(wl, "\n"), strings.Join(nl, "\n"))
	}
	if m.Err() != nil {
		t.Fatal(m.Err())
	}
}

// Connection state recovery through core.wasm gives what the native core
// gives: the configuration, the private id and offsets on the wire, the
// recovered socket (Connected.Recovered and the data SetRecoveryData
// attached, ConnectRequested's in a gated namespace) and the errors.
func TestRecoveryCommands(t *testing.T) {
	cfg := core.Config{RecoveryWindow: time.Minute, RecoveryMaxBytes: 1 << 20}
	cfg.Seed = [32]byte{3, 1, 4, 1, 5, 9, 2, 6}
	m := newTestMachine(t, cfg)
	n := core.NewServer(cfg)
	if got, want := m.Config(), n.Config(); !reflect.DeepEqual(got, want) || got.RecoveryWindow != time.Minute || got.RecoveryMaxPackets != 100_000 {
		t.Fatalf("Config\n got %+v\nwant %+v", got, want)
	}
	type recovering interface {
		Handle(clock.Instant, wire.Input) error
		Poll() wire.Output
		AddNamespace(name string, gated bool) error
		AcceptConnect(now clock.Instant, id wire.SocketID) error
		Broadcast(now clock.Instant, b core.Broadcast) (wire.AckRef, int, error)
		SetRecoveryData(id wire.SocketID, data []byte) error
	}
	run := func(mc recovering) []string {
		var log []string
		var last []wire.Output
		add := func(what string, r ...any) {
			log = append(log, strings.TrimSpace(fmt.Sprintln(append([]any{what}, r...)...)))
			outs, w := drain(t, mc)
			for _, o := range outs {
				log = append(log, fmt.Sprintf("  %#v", o))
			}
			log = append(log, fmt.Sprintf("  wait %d", w.Deadline))
			last = outs
		}
		// the CONNECT reply's pid and the last offset of an event, as a
		// client keeps them
		field := func(conn wire.ConnID, prefix, key string) string {
			for _, o := range last {
				if s, ok := o.(wire.Send); ok && s.Conn == conn {
					f := string(s.Frames[0].Data)
					if i := strings.Index(f, `"`+key+`":"`); strings.HasPrefix(f, prefix) && i >= 0 {
						v := f[i+len(key)+4:]
						return v[:strings.IndexByte(v, '"')]
					}
				}
			}
			return ""
		}
		lastArg := func() string {
			for _, o := range last {
				if b, ok := o.(wire.Broadcast); ok {
					f := string(b.Frames[0].Data)
					f = f[:len(f)-2]
					return f[strings.LastIndexByte(f, '"')+1:]
				}
			}
			return ""
		}
		now := clock.Instant(time.Second)
		add("gated", mc.AddNamespace("/g", true))
		add("ws", mc.Handle(now, wire.HTTPRequest{Conn: 1, Method: "GET", Query: "EIO=4&transport=websocket", WebSocket: true}))
		add("connect", mc.Handle(now, wire.Recv{Conn: 1, Data: []byte("40/g,")}))
		req := last[0].(wire.ConnectRequested)
		add("accept", mc.AcceptConnect(now, req.Socket))
		pid := field(1, "40/g,", "pid")
		add("broadcast", fmt.Sprint(mc.Broadcast(now, core.Broadcast{Nsp: "/g", Data: []byte(`["x",1]`)})))
		offset := lastArg()
		add("unknown socket", mc.SetRecoveryData("nobody", []byte(`{}`)))
		add("lost", mc.Handle(now, wire.Closed{Conn: 1, Error: true}))
		add("data", mc.SetRecoveryData(req.Socket, []byte(`{"user":"ann"}`)))
		add("missed", fmt.Sprint(mc.Broadcast(now, core.Broadcast{Nsp: "/g", Data: []byte(`["y"]`)})))
		now = now.Add(time.Second)
		add("ws again", mc.Handle(now, wire.HTTPRequest{Conn: 2, Method: "GET", Query: "EIO=4&transport=websocket", WebSocket: true}))
		add("recover", mc.Handle(now, wire.Recv{Conn: 2, Data: []byte(`40/g,{"pid":"` + pid + `","offset":"` + offset + `"}`)}))
		again := last[0].(wire.ConnectRequested)
		if again.Socket != req.Socket || !again.Recovered || string(again.Data) != `{"user":"ann"}` {
			t.Errorf("%T: ConnectRequested %+v, want %s recovered with its data", mc, again, req.Socket)
		}
		add("accept", mc.AcceptConnect(now, again.Socket))
		var conn wire.Connected
		for _, o := range last {
			if c, ok := o.(wire.Connected); ok {
				conn = c
			}
		}
		if conn.Socket != req.Socket || !conn.Recovered || string(conn.Data) != `{"user":"ann"}` {
			t.Errorf("%T: Connected %+v, want %s recovered with its data", mc, conn, req.Socket)
		}
		add("consumed", mc.SetRecoveryData(req.Socket, nil))
		return log
	}
	wl, nl := run(m), run(n)
	if !reflect.DeepEqual(wl, nl) {
		t.Fatalf("transcripts differ\nwasm:\n%s\nnative:\n%s", strings.Join(wl, "\n"), strings.Join(nl, "\n"))
	}
	if m.Err() != nil {
		t.Fatal(m.Err())
	}
}

// normalize makes empty slices nil, as the ABI does (wasm/ABI.md §8.1).
func normalize(o wire.Output) wire.Output {
	switch v := o.(type) {
	case wire.ClusterRequestDone:
		if len(v.Rooms) == 0 {
			v.Rooms = nil
		}
		return v
	}
	return o
}

// Records larger than the 64 KiB exchange area: an input, an output held
// by sio_poll and a reply fetched with sio_reply all grow the area.
func TestLargeRecords(t *testing.T) {
	m := newTestMachine(t, core.Config{})
	now := clock.Instant(1)
	m.Handle(now, wire.HTTPRequest{Conn: 1, Method: "GET", Query: "EIO=4&transport=websocket", WebSocket: true})
	m.Handle(now, wire.Recv{Conn: 1, Data: []byte("40")})
	outs, _ := drain(t, m)
	var id wire.SocketID
	for _, o := range outs {
		if c, ok := o.(wire.Connected); ok {
			id = c.Socket
		}
	}
	big := `42["big","` + strings.Repeat("x", 200<<10) + `"]`
	if err := m.Handle(now, wire.Recv{Conn: 1, Data: []byte(big)}); err != nil {
		t.Fatal(err)
	}
	outs, _ = drain(t, m)
	if len(outs) != 1 || len(outs[0].(wire.EventReceived).Data) != len(big)-2 {
		t.Fatalf("big event: %d outputs", len(outs))
	}
	rooms := make([]string, 10000)
	for i := range rooms {
		rooms[i] = "room-number-" + strconv.Itoa(i)
	}
	if err := m.Join(id, rooms...); err != nil {
		t.Fatal(err)
	}
	if got := m.Rooms(id); len(got) != len(rooms)+1 || got[10000] != rooms[9999] {
		t.Fatalf("Rooms: %d", len(got))
	}
	if m.Err() != nil {
		t.Fatal(m.Err())
	}
}

func TestCompileRejects(t *testing.T) {
	ctx := context.Background()
	good := wasmtest.Bytes(t)
	for _, c := range []struct {
		name string
		wasm []byte
		want error
		msg  string
	}{
		{"not wasm", []byte("hello, world"), ErrBadModule, "invalid magic number"},
		{"empty", nil, ErrBadModule, ""},
		{"truncated core.wasm", good[:len(good)/2], ErrBadModule, ""},
		{"corrupted core.wasm", corrupt(good), ErrBadModule, ""},
		{"newer version", tinyModule(abiFuncs(abi.Version+1), "", ""), ErrVersion,
			"version " + strconv.Itoa(abi.Version+1) + ", this host version " + strconv.Itoa(abi.Version)},
		// A module built before the Config record grew (ABI 1) fails at
		// load time, not as a misread Init.
		{"version 1", tinyModule(abiFuncs(1), "", ""), ErrVersion, "the module speaks version 1, this host version 3"},
		// A module built before recovery (ABI 2: a shorter Config,
		// ConnectRequested and Connected) fails the same way.
		{"version 2", tinyModule(abiFuncs(2), "", ""), ErrVersion, "the module speaks version 2, this host version 3"},
		{"missing export", tinyModule(abiFuncs(abi.Version)[:6], "", ""), ErrBadModule, "no export sio_poll"},
		{"wrong signature", tinyModule(withFunc(abiFuncs(abi.Version), tinyFunc{"sio_poll", []byte{i32}, []byte{i64}, i64c(0)}), "", ""),
			ErrBadModule, "export sio_poll has signature (func (param i32) (result i64)), want (func (param i32 i32) (result i64))"},
		{"non-WASI import", tinyModule(abiFuncs(abi.Version), "env", "callback"), ErrBadModule, "imports env.callback"},
		{"trap in _initialize", tinyModule(withFunc(abiFuncs(abi.Version), tinyFunc{"_initialize", nil, nil, unreachable}), "", ""),
			nil, "core.wasm trapped in _initialize"},
	} {
		m, err := Compile(ctx, c.wasm, Options{})
		if err == nil {
			m.Close(ctx)
			t.Errorf("%s: compiled", c.name)
			continue
		}
		if c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		if !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %q does not say %q", c.name, err, c.msg)
		}
	}
}

// corrupt flips bytes inside the code section of a valid module.
func corrupt(b []byte) []byte {
	c := append([]byte(nil), b...)
	for i := len(c) / 3; i < len(c)/3+64; i++ {
		c[i] = 0xff
	}
	return c
}

func withFunc(fs []tinyFunc, f tinyFunc) []tinyFunc {
	for i := range fs {
		if fs[i].name == f.name {
			fs[i] = f
		}
	}
	return fs
}

// A trap in the guest is an error on the host, every later call fails
// fast, and Poll ends the drain; the host never panics or hangs.
func TestTrap(t *testing.T) {
	ctx := context.Background()
	mod, err := Compile(ctx, tinyModule(withFunc(abiFuncs(abi.Version), tinyFunc{"sio_handle", []byte{i64, i32, i32, i32, i32}, []byte{i64}, unreachable}), "", ""), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer mod.Close(ctx)
	m, err := mod.NewMachine(ctx, core.Config{})
	if err != nil {
		t.Fatal(err)
	}
	err = m.Handle(1, wire.Timeout{})
	var te *TrapError
	if !errors.As(err, &te) || te.Op != "sio_handle" || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("Handle = %v", err)
	}
	if m.Err() != err {
		t.Fatalf("Err = %v", m.Err())
	}
	if o := m.Poll(); o != (wire.Wait{}) {
		t.Fatalf("Poll after a trap = %#v", o)
	}
	if _, err := m.Emit(1, core.Emit{Socket: "x"}); err != te {
		t.Fatalf("Emit after a trap = %v", err)
	}
	if m.Connected("x") || m.Rooms("x") != nil || m.Stats() != (core.Stats{}) {
		t.Fatal("queries after a trap are not zero")
	}
	// sio_new trapping fails NewMachine.
	mod2, err := Compile(ctx, tinyModule(withFunc(abiFuncs(abi.Version), tinyFunc{"sio_new", []byte{i32, i32}, []byte{i32}, unreachable}), "", ""), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer mod2.Close(ctx)
	if _, err := mod2.NewMachine(ctx, core.Config{}); !errors.As(err, &te) || te.Op != "sio_new" {
		t.Fatalf("NewMachine = %v", err)
	}
	// A guest that rejects a record.
	mod3, err := Compile(ctx, tinyModule(withFunc(abiFuncs(abi.Version), tinyFunc{"sio_handle", []byte{i64, i32, i32, i32, i32}, []byte{i64}, i64c(int64(abi.StatusBadRecord))}), "", ""), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer mod3.Close(ctx)
	m3, err := mod3.NewMachine(ctx, core.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var re *RejectedError
	if err := m3.Handle(1, wire.Recv{Conn: 1}); !errors.As(err, &re) || re.Kind != abi.KindRecv || re.Status != abi.StatusBadRecord {
		t.Fatalf("Handle on a rejecting guest = %v", err)
	}
	if m3.Err() != nil {
		t.Fatal("a rejected record stopped the machine")
	}
}

// The real guest running out of memory: the Go runtime exits, and the
// host reports it with the runtime's own message.
func TestGuestOutOfMemory(t *testing.T) {
	ctx := context.Background()
	mod, err := Load(ctx, wasmtest.Path(t), Options{CacheDir: cacheDir(), MemoryLimitPages: 512}) // 32 MiB
	if err != nil {
		t.Fatal(err)
	}
	defer mod.Close(ctx)
	m, err := mod.NewMachine(ctx, core.Config{})
	if err != nil {
		t.Fatal(err)
	}
	err = m.Handle(1, wire.Recv{Conn: 1, Data: make([]byte, 40<<20)})
	var te *TrapError
	if !errors.As(err, &te) {
		t.Fatalf("Handle of 40 MiB in 32 MiB = %v", err)
	}
	t.Logf("%v", err)
	if !strings.Contains(te.Stderr, "out of memory") {
		t.Errorf("stderr does not say out of memory: %q", te.Stderr)
	}
	if o := m.Poll(); o != (wire.Wait{}) {
		t.Fatalf("Poll after a trap = %#v", o)
	}
}

func TestRelease(t *testing.T) {
	m, err := testModule.NewMachine(context.Background(), core.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := m.Handle(1, wire.Timeout{}); err != ErrReleased {
		t.Fatalf("Handle after Release = %v", err)
	}
}

// A guest stuck in a loop: with CallTimeout the call is aborted and the
// machine fails; the host goroutine comes back.
func TestHang(t *testing.T) {
	ctx := context.Background()
	loop := append([]byte{0x03, 0x40, 0x0c, 0x00, 0x0b}, i64c(0)...) // loop br 0 end; i64.const 0
	mod, err := Compile(ctx, tinyModule(withFunc(abiFuncs(abi.Version), tinyFunc{"sio_handle", []byte{i64, i32, i32, i32, i32}, []byte{i64}, loop}), "", ""),
		Options{CallTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer mod.Close(ctx)
	m, err := mod.NewMachine(ctx, core.Config{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = m.Handle(1, wire.Timeout{})
	var te *TrapError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "call exceeded 100ms") {
		t.Fatalf("Handle = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v", d)
	}
	if o := m.Poll(); o != (wire.Wait{}) {
		t.Fatalf("Poll after a hang = %#v", o)
	}
}

// The real guest under a CallTimeout works as usual (the watchdog only
// fires on a stuck call).
func TestCallTimeoutRealGuest(t *testing.T) {
	ctx := context.Background()
	mod, err := Load(ctx, wasmtest.Path(t), Options{CacheDir: cacheDir(), CallTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer mod.Close(ctx)
	m, err := mod.NewMachine(ctx, core.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Release(ctx)
	m.Handle(1, wire.HTTPRequest{Conn: 1, Method: "GET", Query: "EIO=4&transport=polling"})
	outs, _ := drain(t, m)
	if len(outs) != 2 || m.Err() != nil {
		t.Fatalf("%d outputs, %v", len(outs), m.Err())
	}
}

// Calls from several goroutines are serialized (run with -race).
func TestConcurrentCalls(t *testing.T) {
	m := newTestMachine(t, core.Config{})
	done := make(chan struct{})
	for g := 0; g < 4; g++ {
		go func(g int) {
			defer func() { done <- struct{}{} }()
			for i := 0; i < 200; i++ {
				conn := wire.ConnID(g*1000 + i + 1)
				if err := m.Handle(clock.Instant(i+1), wire.HTTPRequest{Conn: conn, Method: "GET", Query: "EIO=4&transport=polling"}); err != nil {
					t.Error(err)
					return
				}
				m.Stats()
				for {
					if _, ok := m.Poll().(wire.Wait); ok {
						break
					}
				}
			}
		}(g)
	}
	for g := 0; g < 4; g++ {
		<-done
	}
	if st := m.Stats(); st.Sessions != 800 || m.Err() != nil {
		t.Fatalf("%+v %v", st, m.Err())
	}
}

// The real guest refuses what a broken host could send, with the status
// of wasm/ABI.md §7, and its machine keeps working.
func TestRealGuestRejects(t *testing.T) {
	m := newTestMachine(t, core.Config{})
	raw := func(kind abi.Kind, rec []byte, ptr, limit uint32) int64 {
		m.mem.Write(m.ptr, rec)
		s := []uint64{1, uint64(kind), uint64(ptr), uint64(len(rec)), uint64(limit)}
		if err := m.handle.CallWithStack(context.Background(), s); err != nil {
			t.Fatal(err)
		}
		return int64(s[0])
	}
	for _, c := range []struct {
		name  string
		kind  abi.Kind
		rec   []byte
		ptr   uint32
		limit uint32
		want  abi.Status
	}{
		{"truncated Recv", abi.KindRecv, []byte{1, 2, 3}, m.ptr, m.size, abi.StatusBadRecord},
		{"boolean 2", abi.KindClosed, []byte{1, 0, 0, 0, 0, 0, 0, 0, 2}, m.ptr, m.size, abi.StatusBadRecord},
		{"unknown kind", 0x7777, nil, m.ptr, m.size, abi.StatusUnknownKind},
		{"an output kind", abi.KindWait, make([]byte, 8), m.ptr, m.size, abi.StatusUnknownKind},
		{"a client-role input", abi.KindHTTPResponse, nil, m.ptr, m.size, abi.StatusRole},
		{"a client-role command", abi.KindClientCloseEngine, nil, m.ptr, m.size, abi.StatusRole},
		{"a still-reserved client input", 0x0112, nil, m.ptr, m.size, abi.StatusUnknownKind},
		{"a still-reserved client command", 0x030c, nil, m.ptr, m.size, abi.StatusUnknownKind},
		{"before the area", abi.KindTimeout, nil, m.ptr - 1, 0, abi.StatusBounds},
		{"limit past the area", abi.KindTimeout, nil, m.ptr, m.size + 1, abi.StatusBounds},
	} {
		if got := raw(c.kind, c.rec, c.ptr, c.limit); got != int64(c.want) {
			t.Errorf("%s: status %d, want %d (%s)", c.name, got, c.want, c.want)
		}
	}
	res, err := m.inst.ExportedFunction("sio_new").Call(context.Background(), uint64(m.ptr), 0)
	if err != nil || abi.Status(int32(res[0])) != abi.StatusState {
		t.Errorf("second sio_new = %v, %v", res, err)
	}
	if err := m.Handle(1, wire.HTTPRequest{Conn: 1, Method: "GET", Query: "EIO=4&transport=polling"}); err != nil || m.Err() != nil {
		t.Fatalf("after the rejections: %v %v", err, m.Err())
	}
	if outs, _ := drain(t, m); len(outs) != 2 {
		t.Fatalf("%d outputs", len(outs))
	}
}
