package postgres_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	pgemitter "github.com/socketcore/socketcore/adapter/postgres/emitter"
	"github.com/socketcore/socketcore/internal/clustertest"
	"github.com/socketcore/socketcore/internal/pgtest"
	"github.com/socketcore/socketcore/internal/proctest"
)

type (
	peer     = clustertest.Peer
	payload  = clustertest.Payload
	emitSpec = clustertest.EmitSpec
)

// dial connects a client to the server named server; it answers "quiz"
// with "<server>:<question>". With hello, it waits for the application's
// "hello"; without (a server without the application), for the connection.
func dial(t *testing.T, url, server string, hello bool) *peer {
	t.Helper()
	o := clustertest.Options{Wait: wait, Hello: clustertest.HelloID,
		Ignore: []string{"presence"}} // the command's demo broadcasts "presence"
	if !hello {
		o.Hello = clustertest.Connected
	}
	return clustertest.Dial(t, url, server, o)
}

func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	proctest.Eventually(t, wait, what, cond)
}

// counted waits until every peer's server counts n servers.
func counted(t *testing.T, n int, peers ...*peer) {
	t.Helper()
	for _, p := range peers {
		eventually(t, fmt.Sprintf("%s to count %d servers", p.Server, n), func() (bool, string) {
			var got int
			p.Ask(&got, "count")
			return got == n, strconv.Itoa(got)
		})
	}
}

// TestGoCluster: three Go servers on one PostgreSQL, a client on each,
// every cluster operation from every server, then adapter/postgres/emitter.
func TestGoCluster(t *testing.T) {
	pool := pgtest.Pool(t)
	prefix, table := pgtest.Unique(t)
	urlA, _ := startGo(t, pool, prefix, table, "go-a")
	urlB, _ := startGo(t, pool, prefix, table, "go-b")
	urlC, _ := startGo(t, pool, prefix, table, "go-c")
	a, b, c := dial(t, urlA, "go-a", true), dial(t, urlB, "go-b", true), dial(t, urlC, "go-c", true)
	peers := []*peer{a, b, c}
	counted(t, 3, peers...)

	// 1. A broadcast from each server reaches every client, binary and a
	// payload over the NOTIFY limit (through the attachment table) included.
	big := strings.Repeat("é", 6000)
	for i, from := range peers {
		p := payload{From: from.Server, Bin: []byte{0, byte(i), 0xff}}
		from.Do("emit", emitSpec{}, "news", p)
		for _, to := range peers {
			to.Expect("news", p)
		}
		p.Big = big
		from.Do("emit", emitSpec{}, "news", p)
		for _, to := range peers {
			to.Expect("news", p)
		}
	}

	// 2. Rooms, except, local and volatile; a broadcast to all from the
	// same server is the barrier (one connection publishes in order).
	a.Do("join", "r")
	b.Do("join", "r")
	b.Do("join", "x")
	mark := payload{From: "mark"}
	c.Do("emit", emitSpec{To: []string{"r"}, Except: []string{"x"}, Volatile: true}, "only-r", payload{From: "go-c"})
	c.Do("emit", emitSpec{Local: true}, "local", payload{From: "go-c"})
	c.Do("emit", emitSpec{}, "mark", mark)
	a.Expect("only-r", payload{From: "go-c"})
	c.Expect("local", payload{From: "go-c"})
	for _, p := range peers {
		p.Expect("mark", mark)
	}
	clustertest.Quiet(t, peers...)

	// 3. fetchSockets from each server: every socket, its rooms and data.
	rooms := map[*peer][]string{a: {"r"}, b: {"r", "x"}}
	for _, p := range peers {
		if got, w := p.Fetch(""), clustertest.Want(rooms, a, b, c); got != w {
			t.Errorf("fetchSockets on %s:\n got %s\nwant %s", p.Server, got, w)
		}
		if got, w := p.Fetch("x"), clustertest.Want(rooms, b); got != w {
			t.Errorf("fetchSockets of x on %s:\n got %s\nwant %s", p.Server, got, w)
		}
	}

	// 4. socketsJoin from go-a puts go-c's client in s; socketsLeave from
	// go-c takes go-b's out of r.
	a.Do("socketsJoin", c.ID, "s")
	c.Do("socketsLeave", "r", "r")
	rooms = map[*peer][]string{c: {"s"}, b: {"x"}}
	eventually(t, "the joins and leaves", func() (bool, string) {
		got := b.Fetch("")
		return got == clustertest.Want(rooms, a, b, c), got
	})

	// 5. serverSideEmit with and without acks.
	for _, p := range peers {
		var got, others []string
		p.Ask(&got, "sse")
		for _, o := range peers {
			if o != p {
				others = append(others, o.Server)
			}
		}
		if !slices.Equal(got, others) {
			t.Errorf("serverSideEmitWithAck from %s: %q, want %q", p.Server, got, others)
		}
	}
	a.Do("note", "hi")
	for _, p := range []*peer{b, c} {
		if e := p.Next("noted"); e.Name != "noted" || fmt.Sprint(e.Args.Values()) != "["+p.Server+":hi]" {
			t.Errorf("client of %s: %s", p.Server, e)
		}
	}

	// 6. Broadcasts with acks: every client's answer.
	for _, p := range peers {
		var got []string
		p.Ask(&got, "poll")
		if w := []string{"go-a:q", "go-b:q", "go-c:q"}; !slices.Equal(got, w) {
			t.Errorf("emitWithAck from %s: %q, want %q", p.Server, got, w)
		}
	}

	// 7. The emitter: to all (binary), to a room except another, join,
	// leave, server-side emit.
	e := pgemitter.New(pool, pgemitter.Options{ChannelPrefix: prefix, TableName: table})
	ctx := context.Background()
	ep := payload{From: "emitter", Bin: []byte{7, 7}}
	if err := e.Emit(ctx, "news", ep); err != nil {
		t.Fatal(err)
	}
	for _, p := range peers {
		p.Expect("news", ep)
	}
	if err := e.To("s", "x").Except("r").Emit(ctx, "news", ep); err != nil {
		t.Fatal(err)
	}
	b.Expect("news", ep)
	c.Expect("news", ep)
	if err := e.In(a.ID).SocketsJoin(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	if err := e.SocketsLeave(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	rooms = map[*peer][]string{a: {"t"}, c: {"s"}}
	eventually(t, "the emitter's join and leave", func() (bool, string) {
		got := c.Fetch("")
		return got == clustertest.Want(rooms, a, b, c), got
	})
	if err := e.ServerSideEmit(ctx, "note", "from-emitter"); err != nil {
		t.Fatal(err)
	}
	for _, p := range peers {
		if ev := p.Next("noted"); fmt.Sprint(ev.Args.Values()) != "["+p.Server+":from-emitter]" {
			t.Errorf("client of %s: %s", p.Server, ev)
		}
	}
	clustertest.Quiet(t, peers...)

	// 8. disconnectSockets from go-b disconnects go-a's client; the
	// emitter disconnects go-c's.
	b.Do("disconnectSockets", a.ID)
	if ev := a.Next("disconnect"); ev.Name != "disconnect" || ev.Reason != "io server disconnect" {
		t.Fatalf("go-a's client: %s", ev)
	}
	if err := e.In(c.ID).DisconnectSockets(ctx, true); err != nil {
		t.Fatal(err)
	}
	if ev := c.Next("disconnect"); ev.Name != "disconnect" {
		t.Fatalf("go-c's client: %s", ev)
	}
	eventually(t, "one socket left", func() (bool, string) {
		got := b.Fetch("")
		return got == clustertest.Want(nil, b), got
	})
	clustertest.Quiet(t, peers...)
}

// TestCommand: `socketcore serve --postgres` joins a cluster of Go servers:
// it logs its uid, is counted, its client gets the cluster's broadcasts and
// is found and disconnected by the others.
func TestCommand(t *testing.T) {
	pool := pgtest.Pool(t)
	prefix, table := pgtest.Unique(t)
	url, _ := startGo(t, pool, prefix, table, "go")
	g := dial(t, url, "go", true)

	port := proctest.FreePort(t)
	var out proctest.SyncBuffer
	cmd := exec.Command(proctest.Socketcore(t), "serve", "--addr", "127.0.0.1:"+strconv.Itoa(port),
		"--postgres", pgtest.URL(), "--postgres-channel-prefix", prefix, "--postgres-table", table,
		"--postgres-heartbeat-interval", "500ms")
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append(os.Environ(), "SOCKETCORE_DEBUG=socketcore:cluster")
	cmd.WaitDelay = 3 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("socketcore output:\n%s", out.String())
		}
	})
	eventually(t, "socketcore to join", func() (bool, string) {
		s := out.String()
		return strings.Contains(s, "joined the PostgreSQL cluster") && strings.Contains(s, "uid="), s
	})
	bin := dial(t, "http://127.0.0.1:"+strconv.Itoa(port), "bin", false)
	counted(t, 2, g)

	p := payload{From: "go", Bin: []byte{1}, Big: strings.Repeat("b", 9000)}
	g.Do("emit", emitSpec{}, "news", p)
	g.Expect("news", p)
	bin.Expect("news", p)
	eventually(t, "go to fetch the command's socket", func() (bool, string) {
		got := g.Fetch("")
		return strings.Contains(got, bin.ID+"@"), got
	})
	g.Do("disconnectSockets", bin.ID)
	if ev := bin.Next("disconnect"); ev.Name != "disconnect" || ev.Reason != "io server disconnect" {
		t.Fatalf("the command's client: %s", ev)
	}
	// The command leaves: go counts itself alone again.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	counted(t, 1, g)
}
