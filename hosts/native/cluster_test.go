package native

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/socketcore/socketcore/adapter"
	"github.com/socketcore/socketcore/adapter/memory"
	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/wire"
)

// clusterOf starts n servers joined by one in-process bus; setup runs on
// each (with its index).
func clusterOf(t *testing.T, n int, setup func(i int, s *Server)) []*liveServer {
	bus := memory.NewBus()
	var out []*liveServer
	for i := 0; i < n; i++ {
		opts := Options{
			Adapter:         func(r adapter.Receive) (adapter.Adapter, error) { return bus.Attach(r), nil },
			RequestsTimeout: time.Second,
		}
		opts.Seed[0], opts.Seed[8] = byte(10+i), byte(10+i)
		out = append(out, newLiveServer(t, opts, func(s *Server) { setup(i, s) }))
	}
	return out
}

// dialCluster connects a client to a server and waits for its "hello".
func dialCluster(t *testing.T, ls *liveServer, events chan<- string) (*ClientSocket, string) {
	t.Helper()
	opts := clientOpts("websocket")
	opts.NoAutoConnect = true
	c, err := Dial(ls.url(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	hello := make(chan string, 1)
	c.On("hello", func(id string) { hello <- id })
	c.OnAny(func(event string, args Args) {
		if event != "hello" {
			b, _ := json.Marshal(args.Values())
			events <- event + " " + string(b)
		}
	})
	c.OnDisconnect(func(reason string) { events <- "disconnect " + reason })
	if err := c.Connect(); err != nil {
		t.Fatal(err)
	}
	return c, within(t, hello, "hello")
}

func TestClusterOperationsAcrossServers(t *testing.T) {
	sse := make(chan string, 4)
	servers := clusterOf(t, 2, func(i int, s *Server) {
		s.OnConnection(func(so *Socket) {
			so.Data = map[string]any{"server": i}
			so.Emit("hello", so.ID())
		})
		s.OnServerSideEmit("ping", func(n int, ack Ack) {
			sse <- "ping"
			ack("pong", i, n)
		})
		s.OnServerSideEmit("note", func(text string) { sse <- text })
	})
	a, b := servers[0].srv, servers[1].srv
	evA, evB := make(chan string, 16), make(chan string, 16)
	ca, ida := dialCluster(t, servers[0], evA)
	cb, idb := dialCluster(t, servers[1], evB)
	_ = ca

	// the adapters subscribe on their pump goroutines after Start returns
	eventually(t, "both servers counted", func() bool {
		n, err := a.ServerCount(context.Background())
		return err == nil && n == 2
	})

	// A broadcast from a reaches b's client; binary survives.
	if err := a.Emit("news", "x", []byte{1, 2}); err != nil {
		t.Fatal(err)
	}
	if got := within(t, evA, "news on a"); got != `news ["x","AQI="]` {
		t.Fatalf("a got %q", got)
	}
	if got := within(t, evB, "news on b"); got != `news ["x","AQI="]` {
		t.Fatalf("b got %q", got)
	}

	// socketsJoin from a makes b's socket join; a room broadcast reaches it.
	if err := a.In(idb).SocketsJoin("vip"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b's socket to join vip", func() bool {
		rooms, _ := a.Of("/").AllRooms(context.Background())
		return slices.Contains(rooms, "vip")
	})
	a.To("vip").Emit("vip-only", 1)
	if got := within(t, evB, "vip-only"); got != `vip-only [1]` {
		t.Fatalf("b got %q", got)
	}
	select {
	case got := <-evA:
		t.Fatalf("a's client got %q", got)
	case <-time.After(50 * time.Millisecond):
	}

	// fetchSockets sees both, with handshake and data.
	socks, err := b.FetchSockets(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(socks, func(i, j int) bool { return string(socks[i].Data) < string(socks[j].Data) })
	if len(socks) != 2 || socks[0].ID != ida || socks[1].ID != idb ||
		string(socks[0].Data) != `{"server":0}` || !slices.Contains(socks[1].Rooms, "vip") ||
		socks[0].Handshake.Query.Get("EIO") != "4" || socks[0].Handshake.Address == "" {
		t.Fatalf("fetchSockets: %+v", socks)
	}
	// a remote socket can be emitted to
	var remote RemoteSocket
	for _, s := range socks {
		if s.ID == ida {
			remote = s
		}
	}
	if err := remote.Emit("direct", "hi"); err != nil {
		t.Fatal(err)
	}
	if got := within(t, evA, "direct"); got != `direct ["hi"]` {
		t.Fatalf("a got %q", got)
	}

	// serverSideEmit, with and without acks.
	if err := a.ServerSideEmit("note", "hello b"); err != nil {
		t.Fatal(err)
	}
	if got := within(t, sse, "note"); got != "hello b" {
		t.Fatalf("note %q", got)
	}
	replies, err := b.Of("/").ServerSideEmitWithAck(context.Background(), "ping", 7)
	if err != nil || len(replies) != 1 {
		t.Fatalf("serverSideEmitWithAck: %v %v", replies, err)
	}
	var word string
	var from, n int
	if err := replies[0].Decode(&word, &from, &n); err != nil || word != "pong" || from != 0 || n != 7 {
		t.Fatalf("reply %v (%v)", replies[0].Values(), err)
	}
	within(t, sse, "ping")

	// A broadcast with acks collects both servers' clients.
	cb.On("quiz", func(q string, ack Ack) { ack("b:" + q) })
	ca.On("quiz", func(q string, ack Ack) { ack("a:" + q) })
	acks, err := a.Of("/").Timeout(2*time.Second).EmitWithAck(context.Background(), "quiz", "q1")
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
	if got := within(t, evB, "quiz on b"); got != `quiz ["q1"]` {
		t.Fatalf("b got %q", got)
	}

	// disconnectSockets from b reaches a's socket.
	if err := b.In(ida).DisconnectSockets(false); err != nil {
		t.Fatal(err)
	}
	for {
		got := within(t, evA, "a's disconnect")
		if got == "disconnect io server disconnect" {
			break
		}
	}
	// Local stays on its server.
	if err := a.Local().Emit("local-only"); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-evB:
		t.Fatalf("b's client got %q from a local broadcast", got)
	case <-time.After(50 * time.Millisecond):
	}
}

// A server that is counted but never answers makes fetchSockets fail with
// ErrClusterTimeout after the requests timeout.
func TestClusterFetchTimeout(t *testing.T) {
	bus := memory.NewBus()
	silent := bus.Attach(func(wire.ClusterMessage) {}) // counted, never answers
	ls := newLiveServer(t, Options{
		Adapter:         func(r adapter.Receive) (adapter.Adapter, error) { return bus.Attach(r), nil },
		RequestsTimeout: 200 * time.Millisecond,
	}, nil)
	silent.AddNamespace(context.Background(), "/")
	start := time.Now()
	_, err := ls.srv.FetchSockets(context.Background())
	if !errors.Is(err, ErrClusterTimeout) {
		t.Fatalf("FetchSockets = %v, want ErrClusterTimeout", err)
	}
	if time.Since(start) < 150*time.Millisecond {
		t.Fatal("gave up before the requests timeout")
	}
}

// A machine that cannot join a cluster refuses to start with an adapter.
func TestClusterNeedsClusterMachine(t *testing.T) {
	bus := memory.NewBus()
	_, err := Start(Options{
		Adapter: func(r adapter.Receive) (adapter.Adapter, error) { return bus.Attach(r), nil },
		Machine: func(c core.Config) (Machine, error) { return plainMachine{core.NewServer(c)}, nil },
	})
	if !errors.Is(err, ErrNoCluster) {
		t.Fatalf("Start = %v, want ErrNoCluster", err)
	}
}

// plainMachine hides the core's cluster methods.
type plainMachine struct{ Machine }
