package main

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
	"github.com/socketcore/socketcore/wasm/abi"
)

// The dispatcher run natively: the same code core.wasm runs behind its
// exports, minus the pointer arithmetic of exports_wasip1.go.

func put(t *testing.T, g *guest, r any) (abi.Kind, uint32) {
	t.Helper()
	k, b, err := abi.Append(nil, r)
	if err != nil {
		t.Fatal(err)
	}
	if !g.buffer(uint32(len(b))) {
		t.Fatal("buffer refused")
	}
	copy(g.xbuf, b)
	return k, uint32(len(b))
}

func newGuest(t *testing.T) *guest {
	t.Helper()
	g := &guest{}
	_, n := put(t, g, abi.Init{Role: abi.RoleServer})
	if st := g.newMachine(0, n); st != abi.StatusOK {
		t.Fatalf("newMachine = %v", st)
	}
	return g
}

func (g *guest) call(t *testing.T, r any) int64 {
	t.Helper()
	k, n := put(t, g, r)
	return g.handle(1, uint32(k), 0, n, uint32(len(g.xbuf)))
}

func (g *guest) next(t *testing.T) any {
	t.Helper()
	r := g.poll(0, uint32(len(g.xbuf)))
	if r < 0 {
		t.Fatalf("poll = %v", abi.Status(r))
	}
	k, n := abi.Kind(r>>32), uint32(r)
	if n > uint32(len(g.xbuf)) {
		g.buffer(n)
		if r2 := g.poll(0, uint32(len(g.xbuf))); r2 != r {
			t.Fatalf("poll after growing = %x, want %x", r2, r)
		}
	}
	// a copy: the output's byte strings would alias the exchange area,
	// which the next call overwrites (hosts copy them too)
	o, err := abi.DecodeResult(k, append([]byte(nil), g.xbuf[:n]...))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestStateAndBounds(t *testing.T) {
	g := &guest{}
	if r := g.handle(0, uint32(abi.KindTimeout), 0, 0, 0); r != int64(abi.StatusState) {
		t.Errorf("handle before sio_new = %d", r)
	}
	if r := g.poll(0, 0); r != int64(abi.StatusState) {
		t.Errorf("poll before sio_new = %d", r)
	}
	if st := g.newMachine(0, 10); st != abi.StatusBounds {
		t.Errorf("newMachine past the area = %v", st)
	}
	_, n := put(t, g, abi.Init{Role: 4}) // no such role
	if st := g.newMachine(0, n); st != abi.StatusRole {
		t.Errorf("newMachine role 4 = %v", st)
	}
	_, n = put(t, g, abi.Init{Role: 0})
	if st := g.newMachine(0, n); st != abi.StatusRole {
		t.Errorf("newMachine role 0 = %v", st)
	}
	_, n = put(t, g, abi.Init{Role: abi.RoleServer})
	if st := g.newMachine(0, n-1); st != abi.StatusBadRecord {
		t.Errorf("newMachine short record = %v", st)
	}
	if st := g.newMachine(0, n); st != abi.StatusOK {
		t.Fatalf("newMachine = %v", st)
	}
	if st := g.newMachine(0, n); st != abi.StatusState {
		t.Errorf("second newMachine = %v", st)
	}
	if g.buffer(maxBuffer + 1) {
		t.Error("buffer over maxBuffer accepted")
	}
	size := uint32(len(g.xbuf))
	for _, c := range []struct{ off, n, limit uint32 }{{size, 1, 0}, {0, size + 1, 0}, {1<<32 - 1, 2, 0}, {0, 0, size + 1}} {
		if r := g.handle(0, uint32(abi.KindTimeout), c.off, c.n, c.limit); r != int64(abi.StatusBounds) {
			t.Errorf("handle%v = %d", c, r)
		}
	}
	if r := g.poll(size, 1); r != int64(abi.StatusBounds) {
		t.Errorf("poll out of bounds = %d", r)
	}
	if r := g.handle(0, uint32(abi.KindWait), 0, 8, size); r != int64(abi.StatusUnknownKind) {
		t.Errorf("an output kind as input = %d", r)
	}
	if r := g.handle(0, 0x10101, 0, 0, size); r != int64(abi.StatusUnknownKind) {
		t.Errorf("kind over 16 bits = %d", r)
	}
	if r := g.handle(0, uint32(abi.KindRecv), 0, 3, size); r != int64(abi.StatusBadRecord) {
		t.Errorf("short Recv = %d", r)
	}
	if r := g.call(t, abi.EngineSend{SID: "x"}); r != int64(abi.StatusRole) {
		t.Errorf("EngineSend to the server role = %d", r)
	}
	if r := g.handle(0, 0x0402, 0, 0, size); r != int64(abi.StatusUnknownKind) {
		t.Errorf("undefined engine command = %d", r)
	}
}

func newEngineGuest(t *testing.T, cfg core.Config) *guest {
	t.Helper()
	g := &guest{}
	_, n := put(t, g, abi.Init{Role: abi.RoleEngine, Config: cfg})
	if st := g.newMachine(0, n); st != abi.StatusOK {
		t.Fatalf("newMachine(engine) = %v", st)
	}
	if st := g.newMachine(0, n); st != abi.StatusState {
		t.Errorf("second newMachine = %v", st)
	}
	return g
}

// The engine role: an engine.Server without a handler behind the same
// exports. Its own command is EngineSend; Close, Stats and Config are
// shared with the server role; the server role's other commands are
// StatusRole.
func TestEngineRole(t *testing.T) {
	cfg := core.Config{}
	cfg.PingInterval = 300 * time.Millisecond
	cfg.MaxDepth = 7 // a Socket.IO field: ignored
	g := newEngineGuest(t, cfg)
	if r := g.call(t, wire.HTTPRequest{Conn: 1, Method: "GET", Query: "EIO=4&transport=websocket", WebSocket: true}); r != 0 {
		t.Fatalf("handle = %d", r)
	}
	if o := g.next(t).(wire.AcceptWebSocket); o.Conn != 1 {
		t.Fatalf("got %#v", o)
	}
	open := g.next(t).(wire.SessionOpened)
	if o := g.next(t).(wire.Send); string(o.Frames[0].Data[:7]) != `0{"sid"` {
		t.Fatalf("got %#v", o)
	}
	if o := g.next(t).(wire.Wait); o.Deadline != 1+clock.Instant(300*time.Millisecond) {
		t.Fatalf("got %#v", o)
	}
	// A message comes out as MessageReceived (no Socket.IO layer) ...
	if r := g.call(t, wire.Recv{Conn: 1, Data: []byte("4hello")}); r != 0 {
		t.Fatalf("Recv = %d", r)
	}
	if o := g.next(t).(wire.MessageReceived); o.SID != open.SID || string(o.Data) != "hello" {
		t.Fatalf("got %#v", o)
	}
	g.next(t)
	// ... and EngineSend sends frames to the session.
	if r := g.call(t, abi.EngineSend{SID: open.SID, Frames: []wire.Frame{{Data: []byte("4hello")}}}); r != 0 {
		t.Fatalf("EngineSend = %d", r)
	}
	if o := g.next(t).(wire.Send); o.Conn != 1 || string(o.Frames[0].Data) != "4hello" {
		t.Fatalf("got %#v", o)
	}
	g.next(t)
	if r := g.call(t, abi.EngineSend{SID: "nope"}); r != int64(abi.StatusUnknownSession) {
		t.Errorf("EngineSend(unknown sid) = %d", r)
	}
	k, n := put(t, g, abi.EngineSend{SID: "x"})
	if r := g.handle(1, uint32(k), 0, n-1, uint32(len(g.xbuf))); r != int64(abi.StatusBadRecord) {
		t.Errorf("short EngineSend = %d", r)
	}
	for _, c := range []any{
		abi.AddNamespace{Name: "/a"}, abi.AcceptConnect{Socket: "s"}, core.Emit{Socket: "s"}, abi.Ack{Ref: 1},
		core.Broadcast{Nsp: "/"}, abi.Join{Socket: "s"}, abi.RoomsOf{Socket: "s"}, abi.Disconnect{Socket: "s"},
		abi.SocketsJoin{Target: core.Target{Nsp: "/"}}, abi.FetchSockets{Target: core.Target{Nsp: "/"}},
		abi.AllRooms{Nsp: "/"}, abi.ServerSideEmit{Nsp: "/"},
		wire.ClusterReceived{}, wire.ClusterServers{RequestID: "r", Servers: 2},
		abi.SetRecoveryData{Socket: "s"}, abi.CountsQuery{},
	} {
		if r := g.call(t, c); r != int64(abi.StatusRole) {
			t.Errorf("%T to the engine role = %d", c, r)
		}
	}
	if r := g.handle(1, 0x0219, 0, 0, uint32(len(g.xbuf))); r != int64(abi.StatusUnknownKind) {
		t.Errorf("undefined command = %d", r)
	}
	r := g.call(t, abi.StatsQuery{})
	st, err := abi.DecodeResult(abi.KindStatsReply, g.xbuf[:r])
	if err != nil || st != (core.Stats{Sessions: 1}) {
		t.Fatalf("Stats %+v %v", st, err)
	}
	r = g.call(t, abi.ConfigQuery{})
	c, err := abi.DecodeResult(abi.KindConfigReply, g.xbuf[:r])
	if err != nil || c.(core.Config).PingInterval != 300*time.Millisecond || c.(core.Config).PingTimeout != 20*time.Second || c.(core.Config).MaxDepth != 0 {
		t.Fatalf("Config %+v %v", c, err)
	}
	// Close is engine.Server.CloseAll.
	if r := g.call(t, abi.Close{}); r != 0 {
		t.Fatalf("Close = %d", r)
	}
	if o := g.next(t).(wire.CloseConn); o.Conn != 1 {
		t.Fatalf("got %#v", o)
	}
	if o := g.next(t).(wire.SessionClosed); o.Reason != wire.ReasonServerShuttingDown {
		t.Fatalf("got %#v", o)
	}
}

func TestCommandsAndReplies(t *testing.T) {
	g := newGuest(t)
	if r := g.call(t, abi.Disconnect{Socket: "nope"}); r != int64(abi.StatusUnknownSocket) {
		t.Errorf("Disconnect(unknown) = %d", r)
	}
	if r := g.call(t, core.Broadcast{Nsp: "/nope"}); r != int64(abi.StatusUnknownNsp) {
		t.Errorf("Broadcast(unknown nsp) = %d", r)
	}
	if r := g.call(t, abi.Ack{Ref: 99}); r != int64(abi.StatusUnknownAck) {
		t.Errorf("Ack(unknown) = %d", r)
	}
	if r := g.call(t, abi.AddNamespace{Name: "bad"}); r != int64(abi.StatusUnknownNsp) {
		t.Errorf("AddNamespace(bad) = %d", r)
	}
	// A reply that fits is written over the input.
	r := g.call(t, abi.StatsQuery{})
	if r <= 0 {
		t.Fatalf("Stats = %d", r)
	}
	g.buffer(uint32(r))
	st, err := abi.DecodeResult(abi.KindStatsReply, g.xbuf[:r])
	if err != nil || st.(core.Stats).Namespaces != 1 {
		t.Fatalf("Stats reply %v %v", st, err)
	}
	// Counts: the fresh machine's "/" namespace, nothing open.
	r = g.call(t, abi.CountsQuery{})
	c, err := abi.DecodeResult(abi.KindCountsReply, g.xbuf[:r])
	if err != nil || !reflect.DeepEqual(c, abi.CountsReply{Namespaces: []core.NamespaceCount{{Name: "/"}}}) {
		t.Fatalf("Counts reply %+v %v", c, err)
	}
	// One that does not fit is held for sio_reply.
	k, n := put(t, g, abi.ConfigQuery{})
	r = g.handle(0, uint32(k), 0, n, 0)
	if r <= 0 {
		t.Fatalf("Config = %d", r)
	}
	g.buffer(uint32(r))
	if r2 := g.replyAt(0, uint32(len(g.xbuf))); r2 != r {
		t.Fatalf("replyAt = %d, want %d", r2, r)
	}
	cfg, err := abi.DecodeResult(abi.KindConfigReply, g.xbuf[:r])
	if err != nil || cfg.(core.Config).MaxDepth != 64 {
		t.Fatalf("Config reply %v %v", cfg, err)
	}
	if r := g.call(t, abi.Close{}); r != 0 {
		t.Errorf("Close = %d", r)
	}
}

func TestHandshakeThroughTheDispatcher(t *testing.T) {
	g := newGuest(t)
	if r := g.call(t, wire.HTTPRequest{Conn: 1, Method: "GET", Query: "EIO=4&transport=polling"}); r != 0 {
		t.Fatalf("handle = %d", r)
	}
	// A tiny area: the output is held, then delivered once it fits.
	g.xbuf = g.xbuf[:1]
	r := g.poll(0, 1)
	if abi.Kind(r>>32) != abi.KindSessionOpened || uint32(r) <= 1 {
		t.Fatalf("poll into 1 byte = %x", r)
	}
	if r2 := g.poll(0, 1); r2 != r {
		t.Fatalf("held output changed: %x, %x", r2, r)
	}
	g.buffer(uint32(r))
	o, err := abi.DecodeResult(abi.KindSessionOpened, g.xbuf[:g.poll(0, uint32(len(g.xbuf)))&0xffffffff])
	if err != nil || o.(wire.SessionOpened).Conn != 1 {
		t.Fatalf("SessionOpened %v %v", o, err)
	}
	if o := g.next(t); o.(wire.Respond).Status != 200 {
		t.Fatalf("got %#v", o)
	}
	if o := g.next(t); o.(wire.Wait).Deadline == 0 {
		t.Fatalf("got %#v", o)
	}
}

// The cluster through the dispatcher: a command publishes, the reply is
// its ref, another server's answer comes in as ClusterReceived and the
// count as ClusterServers, and the request resolves.
func TestClusterThroughTheDispatcher(t *testing.T) {
	g := &guest{}
	cfg := core.Config{Cluster: true, RequestsTimeout: time.Second}
	_, n := put(t, g, abi.Init{Role: abi.RoleServer, Config: cfg})
	if st := g.newMachine(0, n); st != abi.StatusOK {
		t.Fatalf("newMachine = %v", st)
	}
	g.next(t) // Wait
	r := g.call(t, abi.ConfigQuery{})
	c, err := abi.DecodeResult(abi.KindConfigReply, g.xbuf[:r])
	if err != nil || !c.(core.Config).Cluster || c.(core.Config).RequestsTimeout != time.Second {
		t.Fatalf("Config %+v %v", c, err)
	}
	if r := g.call(t, abi.FetchSockets{Target: core.Target{Nsp: "/nope"}}); r != int64(abi.StatusUnknownNsp) {
		t.Errorf("FetchSockets(unknown nsp) = %d", r)
	}
	r = g.call(t, abi.AllRooms{Nsp: "/"})
	rep, err := abi.DecodeResult(abi.KindRefReply, g.xbuf[:r])
	if err != nil || rep.(abi.RefReply).Ref == 0 {
		t.Fatalf("AllRooms reply %v %v", rep, err)
	}
	ref := rep.(abi.RefReply).Ref
	pub := g.next(t).(wire.ClusterPublish)
	if pub.Msg.Type != wire.ClusterAllRooms || pub.Msg.RequestID == "" || !pub.CountServers {
		t.Fatalf("published %+v", pub)
	}
	if w := g.next(t).(wire.Wait); w.Deadline != 1+clock.Instant(time.Second) {
		t.Fatalf("got %#v", w)
	}
	if r := g.call(t, wire.ClusterServers{RequestID: pub.Msg.RequestID, Servers: 2}); r != 0 {
		t.Fatalf("ClusterServers = %d", r)
	}
	g.next(t)
	if r := g.call(t, wire.ClusterReceived{Msg: wire.ClusterMessage{Type: wire.ClusterAllRoomsResponse, Nsp: "/",
		RequestID: pub.Msg.RequestID, JoinRooms: []string{"r2", "r1"}}}); r != 0 {
		t.Fatalf("ClusterReceived = %d", r)
	}
	done := g.next(t).(wire.ClusterRequestDone)
	if done.Ref != ref || len(done.Rooms) != 2 || done.Rooms[0] != "r1" || done.Answers != 2 || done.Expected != 2 || done.TimedOut {
		t.Fatalf("done %+v", done)
	}
	// Another server's serverSideEmit with an ack, answered with Ack.
	if r := g.call(t, wire.ClusterReceived{Msg: wire.ClusterMessage{Type: wire.ClusterServerSideEmit, Nsp: "/",
		RequestID: "other1", Data: []byte(`["ping",1]`)}}); r != 0 {
		t.Fatalf("ClusterReceived = %d", r)
	}
	sse := g.next(t).(wire.ServerSideEmitReceived)
	if sse.Ack == 0 || string(sse.Data) != `["ping",1]` {
		t.Fatalf("got %+v", sse)
	}
	g.next(t)
	if r := g.call(t, abi.Ack{Ref: sse.Ack, Args: []byte(`["pong"]`)}); r != 0 {
		t.Fatalf("Ack = %d", r)
	}
	if pub := g.next(t).(wire.ClusterPublish); pub.Msg.Type != wire.ClusterServerSideEmitResponse || pub.Msg.RequestID != "other1" || string(pub.Msg.Data) != `["pong"]` {
		t.Fatalf("published %+v", pub)
	}
	g.next(t)
	if r := g.call(t, abi.ServerSideEmit{Nsp: "/", Data: []byte(`["note"]`)}); r <= 0 {
		t.Fatalf("ServerSideEmit = %d", r)
	}
	if rep, err := abi.DecodeResult(abi.KindRefReply, g.xbuf[:8]); err != nil || rep.(abi.RefReply).Ref != 0 {
		t.Fatalf("ServerSideEmit without ack: %v %v", rep, err)
	}
	for _, c := range []any{
		abi.SocketsJoin{Target: core.Target{Nsp: "/"}, Rooms: []string{"a"}},
		abi.SocketsLeave{Target: core.Target{Nsp: "/"}, Rooms: []string{"a"}},
		abi.DisconnectSockets{Target: core.Target{Nsp: "/", Local: true}},
	} {
		if r := g.call(t, c); r != 0 {
			t.Errorf("%T = %d", c, r)
		}
	}
	k, n := put(t, g, wire.ClusterServers{RequestID: "x", Servers: 1})
	if r := g.handle(1, uint32(k), 0, n-1, uint32(len(g.xbuf))); r != int64(abi.StatusBadRecord) {
		t.Errorf("short ClusterServers = %d", r)
	}
}

// Connection state recovery through the dispatcher: the configuration
// crosses, SetRecoveryData reaches the saved session (or is
// StatusUnknownSocket), and the recovered socket's Connected carries
// Recovered and the data.
func TestRecoveryThroughTheDispatcher(t *testing.T) {
	g := &guest{}
	cfg := core.Config{RecoveryWindow: time.Minute, RecoveryMaxPackets: 10}
	_, n := put(t, g, abi.Init{Role: abi.RoleServer, Config: cfg})
	if st := g.newMachine(0, n); st != abi.StatusOK {
		t.Fatalf("newMachine = %v", st)
	}
	g.next(t) // Wait
	r := g.call(t, abi.ConfigQuery{})
	c, err := abi.DecodeResult(abi.KindConfigReply, g.xbuf[:r])
	if cc := c.(core.Config); err != nil || cc.RecoveryWindow != time.Minute || cc.RecoveryMaxPackets != 10 || cc.RecoveryMaxBytes != 64<<20 {
		t.Fatalf("Config %+v %v", c, err)
	}
	if r := g.call(t, abi.SetRecoveryData{Socket: "nobody", Data: []byte(`{}`)}); r != int64(abi.StatusUnknownSocket) {
		t.Errorf("SetRecoveryData(unknown) = %d", r)
	}
	// outs polls until Wait and returns the outputs before it.
	outs := func() []any {
		var l []any
		for {
			o := g.next(t)
			if _, ok := o.(wire.Wait); ok {
				return l
			}
			l = append(l, o)
		}
	}
	connect := func(conn wire.ConnID, payload string) (wire.Connected, string) {
		t.Helper()
		g.call(t, wire.HTTPRequest{Conn: conn, Method: "GET", Query: "EIO=4&transport=websocket", WebSocket: true})
		outs()
		g.call(t, wire.Recv{Conn: conn, Data: []byte("40" + payload)})
		var conn0 wire.Connected
		var reply string
		for _, o := range outs() {
			switch o := o.(type) {
			case wire.Connected:
				conn0 = o
			case wire.Send:
				if reply == "" {
					reply = string(o.Frames[0].Data)
				}
			}
		}
		return conn0, reply
	}
	first, reply := connect(1, "")
	pid := reply[strings.Index(reply, `"pid":"`)+7:]
	pid = pid[:strings.IndexByte(pid, '"')]
	if first.Recovered || first.Socket == "" || pid == "" {
		t.Fatalf("first connection %+v %q", first, reply)
	}
	g.call(t, core.Broadcast{Nsp: "/", Data: []byte(`["x"]`)})
	sent := string(outs()[0].(wire.Broadcast).Frames[0].Data)
	offset := sent[strings.LastIndex(sent[:len(sent)-2], `"`)+1 : len(sent)-2]
	g.call(t, wire.Closed{Conn: 1, Error: true})
	outs()
	if r := g.call(t, abi.SetRecoveryData{Socket: first.Socket, Data: []byte(`{"n":1}`)}); r != 0 {
		t.Fatalf("SetRecoveryData = %d", r)
	}
	k, n := put(t, g, abi.SetRecoveryData{Socket: first.Socket})
	if r := g.handle(1, uint32(k), 0, n-1, uint32(len(g.xbuf))); r != int64(abi.StatusBadRecord) {
		t.Errorf("short SetRecoveryData = %d", r)
	}
	back, _ := connect(2, `{"pid":"`+pid+`","offset":"`+offset+`"}`)
	if back.Socket != first.Socket || !back.Recovered || string(back.Data) != `{"n":1}` {
		t.Fatalf("recovered %+v, want %s with its data", back, first.Socket)
	}
}
