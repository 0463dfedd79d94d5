package native

import (
	"context"
	"os"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/socketcore/socketcore/adapter"
	"github.com/socketcore/socketcore/adapter/memory"
	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/wasm/host"
)

// core.wasm carries the cluster (ABI version 2): its Machine can be one
// server of a cluster.
var _ clusterMachine = (*host.Machine)(nil)

// wasmMachines compiles core.wasm and returns the factory of its server
// role; the module is closed with the test.
func wasmMachines(t *testing.T) NewMachine {
	t.Helper()
	var opts host.Options
	if d, err := os.UserCacheDir(); err == nil {
		opts.CacheDir = d + "/socketcore/wazero"
	}
	mod, err := host.Compile(context.Background(), coreWasm(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mod.Close(context.Background()) })
	return func(cfg core.Config) (Machine, error) { return mod.NewMachine(context.Background(), cfg) }
}

// A cluster of a native-core server and a core.wasm server: broadcasts,
// socketsJoin, fetchSockets, serverSideEmit with acks and broadcast acks
// cross in both directions.
func TestClusterNativeAndWasm(t *testing.T) {
	wasm := wasmMachines(t)
	bus := memory.NewBus()
	sse := make(chan string, 4)
	var servers []*liveServer
	for i := 0; i < 2; i++ {
		opts := Options{
			Adapter:         func(r adapter.Receive) (adapter.Adapter, error) { return bus.Attach(r), nil },
			RequestsTimeout: time.Second,
		}
		if i == 1 {
			opts.Machine = wasm
		}
		opts.Seed[0], opts.Seed[8] = byte(20+i), byte(20+i)
		servers = append(servers, newLiveServer(t, opts, func(s *Server) {
			s.OnConnection(func(so *Socket) {
				so.Data = map[string]any{"server": i}
				so.Emit("hello", so.ID())
			})
			s.OnServerSideEmit("ping", func(n int, ack Ack) {
				sse <- "ping"
				ack("pong", i, n)
			})
		}))
	}
	a, b := servers[0].srv, servers[1].srv // native, core.wasm
	evA, evB := make(chan string, 16), make(chan string, 16)
	ca, ida := dialCluster(t, servers[0], evA)
	cb, idb := dialCluster(t, servers[1], evB)

	for _, c := range []struct {
		from *Server
		name string
	}{{a, "from native"}, {b, "from wasm"}} {
		if err := c.from.Emit("news", c.name, []byte{1, 2}); err != nil {
			t.Fatal(err)
		}
		want := `news ["` + c.name + `","AQI="]`
		if got := within(t, evA, "news on a"); got != want {
			t.Fatalf("a got %q", got)
		}
		if got := within(t, evB, "news on b"); got != want {
			t.Fatalf("b got %q", got)
		}
	}

	// socketsJoin from the native server reaches the wasm server's socket.
	if err := a.In(idb).SocketsJoin("vip"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b's socket to join vip", func() bool {
		rooms, _ := b.Of("/").AllRooms(context.Background())
		return slices.Contains(rooms, "vip")
	})

	// fetchSockets from the wasm server sees both, with handshake and data.
	socks, err := b.FetchSockets(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(socks, func(i, j int) bool { return string(socks[i].Data) < string(socks[j].Data) })
	if len(socks) != 2 || socks[0].ID != ida || socks[1].ID != idb ||
		string(socks[0].Data) != `{"server":0}` || string(socks[1].Data) != `{"server":1}` ||
		!slices.Contains(socks[1].Rooms, "vip") || socks[0].Handshake.Query.Get("EIO") != "4" {
		t.Fatalf("fetchSockets: %+v", socks)
	}

	// serverSideEmit with acks, each way.
	for _, c := range []struct {
		from  *Server
		other int
	}{{a, 1}, {b, 0}} {
		replies, err := c.from.Of("/").ServerSideEmitWithAck(context.Background(), "ping", 7)
		if err != nil || len(replies) != 1 {
			t.Fatalf("serverSideEmitWithAck: %v %v", replies, err)
		}
		var word string
		var from, n int
		if err := replies[0].Decode(&word, &from, &n); err != nil || word != "pong" || from != c.other || n != 7 {
			t.Fatalf("reply %v (%v)", replies[0].Values(), err)
		}
		within(t, sse, "ping")
	}

	// A broadcast with acks from the wasm server collects both clients.
	cb.On("quiz", func(q string, ack Ack) { ack("b:" + q) })
	ca.On("quiz", func(q string, ack Ack) { ack("a:" + q) })
	acks, err := b.Of("/").Timeout(2*time.Second).EmitWithAck(context.Background(), "quiz", "q1")
	if err != nil || len(acks) != 2 {
		t.Fatalf("broadcast acks: %v %v", acks, err)
	}
	var got []string
	for _, r := range acks {
		var s string
		r.Decode(&s)
		got = append(got, s)
	}
	sort.Strings(got)
	if !slices.Equal(got, []string{"a:q1", "b:q1"}) {
		t.Fatalf("acks %q", got)
	}

	// disconnectSockets from the wasm server reaches the native one's socket.
	if err := b.In(ida).DisconnectSockets(false); err != nil {
		t.Fatal(err)
	}
	for {
		if got := within(t, evA, "a's disconnect"); got == "disconnect io server disconnect" {
			break
		}
	}
}
