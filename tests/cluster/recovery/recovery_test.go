package recovery

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/socketcore/socketcore/hosts/native"
	"github.com/socketcore/socketcore/internal/redistest"
	"github.com/socketcore/socketcore/wasm/wasmtest"
)

// client is a Go client through the proxy, recording what it receives.
type client struct {
	t        *testing.T
	c        *native.ClientSocket
	mu       sync.Mutex
	events   []string // event names, in order
	offsets  []string // the last argument of each (its recovery offset)
	connects chan bool
	left     chan string
}

func dial(t *testing.T, url string) *client {
	t.Helper()
	cl := &client{t: t, connects: make(chan bool, 8), left: make(chan string, 8)}
	opts := native.ClientOptions{Seed: [32]byte{'r'}, ReconnectionDelay: 50 * time.Millisecond, ReconnectionDelayMax: 200 * time.Millisecond,
		Transports: []string{"websocket"}, NoAutoConnect: true}
	c, err := native.Dial(url, opts)
	if err != nil {
		t.Fatal(err)
	}
	cl.c = c
	t.Cleanup(func() { c.Close() })
	c.OnAny(func(event string, args native.Args) {
		var off string
		if n := args.Len(); n > 0 {
			json.Unmarshal(args.Raw[n-1], &off)
		}
		cl.mu.Lock()
		cl.events = append(cl.events, event)
		cl.offsets = append(cl.offsets, off)
		cl.mu.Unlock()
	})
	c.OnConnect(func() { cl.connects <- c.Recovered() })
	c.OnDisconnect(func(reason string) { cl.left <- reason })
	if err := c.Connect(); err != nil {
		t.Fatal(err)
	}
	if within(t, cl.connects, "the first connection") {
		t.Fatal("a first connection recovered")
	}
	return cl
}

// received waits for n events and returns them (and forgets them).
func (cl *client) received(n int) ([]string, []string) {
	cl.t.Helper()
	var ev, off []string
	eventually(cl.t, "events", func() (bool, string) {
		cl.mu.Lock()
		defer cl.mu.Unlock()
		if len(cl.events) < n {
			return false, strings.Join(cl.events, ",")
		}
		ev, off = cl.events[:n:n], cl.offsets[:n:n]
		cl.events, cl.offsets = cl.events[n:], cl.offsets[n:]
		return true, ""
	})
	return ev, off
}

// nothingMore checks that nothing else came (after a marker the test
// sends last).
func (cl *client) upTo(marker string) []string {
	cl.t.Helper()
	var got []string
	eventually(cl.t, marker, func() (bool, string) {
		cl.mu.Lock()
		defer cl.mu.Unlock()
		i := slices.Index(cl.events, marker)
		if i < 0 {
			return false, strings.Join(cl.events, ",")
		}
		got = slices.Clone(cl.events[:i])
		cl.events, cl.offsets = cl.events[i+1:], cl.offsets[i+1:]
		return true, ""
	})
	return got
}

// emitMissed sends, from srv, what the away client must get (m1: its
// room, m2: its own id, with binary, m3: everyone) and what it must not.
func emitMissed(t *testing.T, srv *native.Server, id string) {
	t.Helper()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(srv.To("team").Emit("m1", 1))
	must(srv.To("other").Emit("not-for-it"))
	must(srv.To(id).Emit("m2", []byte{1, 2, 3}))
	must(srv.Except("team").Emit("not-team"))
	must(srv.Emit("m3", map[string]any{"n": 3}))
}

// checkRecovered waits for the recovery and checks what came: the missed
// events, in order, exactly once, then the live ones.
func checkRecovered(t *testing.T, cl *client, id string, srv *native.Server) {
	t.Helper()
	if !within(t, cl.connects, "the reconnection") {
		t.Fatalf("not recovered (id %s, was %s)", cl.c.ID(), id)
	}
	if cl.c.ID() != id {
		t.Fatalf("recovered with id %s, want %s", cl.c.ID(), id)
	}
	// the room came back too: "team" reaches it
	if err := srv.To("team").Emit("end"); err != nil {
		t.Fatal(err)
	}
	if got := cl.upTo("end"); !slices.Equal(got, []string{"m1", "m2", "m3"}) {
		t.Fatalf("after recovery the client got %q, want m1 m2 m3 once each, in order", got)
	}
}

// A server shuts down (a rolling deploy): its client comes back on
// another server of the cluster with its id, rooms and data, and every
// event it missed, sent by that other server meanwhile.
func TestRecoveryOnAnotherServerAfterShutdown(t *testing.T) {
	prefix := randomPrefix(t)
	conns := make(chan connection, 8)
	a := newServer(t, 0, prefix, 10*time.Second, conns)
	b := newServer(t, 1, prefix, 10*time.Second, conns)
	waitCluster(t, 2, a, b)
	px := newProxy(t, a.addr)
	cl := dial(t, px.url())
	first := within(t, conns, "the connection on a")
	id := cl.c.ID()
	if first.server != 0 || first.id != id {
		t.Fatalf("first connection %+v", first)
	}
	if err := b.srv.To("team").Emit("seen", 0); err != nil { // across servers, to its room
		t.Fatal(err)
	}
	if ev, off := cl.received(1); ev[0] != "seen" || off[0] == "" {
		t.Fatalf("got %q %q", ev, off)
	}

	px.set(b.addr, true) // the client cannot come back yet
	a.close()
	if r := within(t, cl.left, "the disconnection"); r != "transport close" && r != "transport error" {
		t.Fatalf("left with %q", r)
	}
	emitMissed(t, b.srv, id)
	px.set(b.addr, false)

	checkRecovered(t, cl, id, b.srv)
	again := within(t, conns, "the connection on b")
	data, _ := again.data.(map[string]any)
	if again.server != 1 || !again.recovered || again.id != id || data["user"] != "ann" {
		t.Fatalf("connection on b %+v, want the recovered socket with its data", again)
	}
}

// A server process is SIGKILLed: nothing is saved at its end, yet its
// client resumes on another server from the snapshot it left in Redis,
// with every event the other server sent meanwhile (one of them to its
// room, one to its id). Past the window the same client gets a fresh
// socket. Both servers run the native core, then core.wasm.
func TestRecoveryAfterServerKilled(t *testing.T) {
	t.Run("native", func(t *testing.T) { testKilled(t, nil) })
	t.Run("wasm", func(t *testing.T) {
		testKilled(t, []string{"--core", "wasm", "--core-wasm", wasmtest.Path(t)}, wasmMachines(t))
	})
}

func testKilled(t *testing.T, processArgs []string, machine ...native.NewMachine) {
	prefix := randomPrefix(t)
	const window = 3 * time.Second
	a := startProcess(t, prefix, window, processArgs...)
	conns := make(chan connection, 8)
	b := newServer(t, 1, prefix, window, conns, machine...)
	waitCluster(t, 2, b)
	px := newProxy(t, a.addr)
	cl := dial(t, px.url())
	id := cl.c.ID()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if res, err := cl.c.EmitWithAck(ctx, "join", "team"); err != nil || res.Len() != 1 {
		t.Fatalf("join: %v %v", res, err)
	}
	// a wrote the snapshot with the room (its pump is asynchronous)
	rdb := redistest.Client(t)
	eventually(t, "the snapshot in Redis", func() (bool, string) {
		keys, _ := rdb.Keys(ctx, prefix+"-recovery-live#*").Result()
		for _, k := range keys {
			for _, v := range rdb.HGetAll(ctx, k).Val() {
				if strings.Contains(v, id) && strings.Contains(v, `"team"`) {
					return true, ""
				}
			}
		}
		return false, strings.Join(keys, ",")
	})
	if err := b.srv.To("team").Emit("seen", 0); err != nil {
		t.Fatal(err)
	}
	cl.received(1)

	px.set(b.addr, true)
	a.kill()
	px.cut()
	within(t, cl.left, "the disconnection")
	emitMissed(t, b.srv, id)
	px.set(b.addr, false)
	checkRecovered(t, cl, id, b.srv)
	if c := within(t, conns, "the connection on b"); !c.recovered || c.id != id {
		t.Fatalf("connection on b %+v", c)
	}

	// away past the window: a fresh socket
	px.set(b.addr, true)
	px.cut()
	within(t, cl.left, "the second disconnection")
	time.Sleep(window + 500*time.Millisecond)
	px.set(b.addr, false)
	if within(t, cl.connects, "the late reconnection") || cl.c.ID() == id {
		t.Fatalf("recovered past the window (id %s)", cl.c.ID())
	}
}

// A pid nobody was given gets a fresh socket; a session whose socket is
// alive on another server is not duplicated: recovering it there makes
// that server let go of it (one socket per id in the cluster).
func TestRecoveryForgedAndDuplicate(t *testing.T) {
	prefix := randomPrefix(t)
	conns := make(chan connection, 8)
	a := newServer(t, 0, prefix, 10*time.Second, conns)
	b := newServer(t, 1, prefix, 10*time.Second, conns)
	waitCluster(t, 2, a, b)
	cl := dial(t, "http://"+a.addr)
	within(t, conns, "the connection on a")
	id := cl.c.ID()
	b.srv.Emit("seen")
	_, off := cl.received(1)

	raw := func(payload string) (sid, pid string) {
		t.Helper()
		ws, _, err := websocket.DefaultDialer.Dial("ws://"+b.addr+"/socket.io/?EIO=4&transport=websocket", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ws.Close() })
		ws.SetReadDeadline(time.Now().Add(wait))
		ws.ReadMessage() // open
		ws.WriteMessage(websocket.TextMessage, []byte("40"+payload))
		for {
			_, m, err := ws.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(string(m), "40{") {
				var r struct{ Sid, Pid string }
				json.Unmarshal(m[2:], &r)
				return r.Sid, r.Pid
			}
		}
	}
	forged, _ := json.Marshal(map[string]string{"pid": id[:6] + "AAAAAAAAAAAAAA", "offset": off[0]})
	if sid, _ := raw(string(forged)); sid == id || sid == "" {
		t.Fatalf("a forged pid got socket %q", sid)
	}
	if c := within(t, conns, "the forged connection"); c.recovered {
		t.Fatalf("forged: %+v", c)
	}

	// the client's pid, replayed on b while the client is alive on a
	rdb := redistest.Client(t)
	var pid string
	eventually(t, "the snapshot", func() (bool, string) {
		keys, _ := rdb.Keys(context.Background(), prefix+"-recovery-live#*").Result()
		for _, k := range keys {
			for p, v := range rdb.HGetAll(context.Background(), k).Val() {
				if strings.Contains(v, id) {
					pid = p
					return true, ""
				}
			}
		}
		return false, strings.Join(keys, ",")
	})
	replay, _ := json.Marshal(map[string]string{"pid": pid, "offset": off[0]})
	if sid, rpid := raw(string(replay)); sid != id || rpid != pid {
		t.Fatalf("replayed pid: socket %s pid %s, want %s %s", sid, rpid, id, pid)
	}
	if r := within(t, cl.left, "a letting go"); r != "io server disconnect" {
		t.Fatalf("the client on a left with %q", r)
	}
	eventually(t, "one socket of that id", func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		socks, err := a.srv.FetchSockets(ctx)
		if err != nil {
			return false, err.Error()
		}
		n := 0
		for _, s := range socks {
			if s.ID == id {
				n++
			}
		}
		return n == 1, strings.Repeat("x", n)
	})
}
