package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	pgemitter "github.com/socketcore/socketcore/adapter/postgres/emitter"
	"github.com/socketcore/socketcore/hosts/native"
	"github.com/socketcore/socketcore/internal/pgtest"
	"github.com/socketcore/socketcore/internal/proctest"
)

// event is what a client received: an event, or its disconnection.
type event struct {
	name   string
	args   native.Args
	reason string
}

func (e event) String() string {
	if e.name == "disconnect" {
		return "disconnect " + e.reason
	}
	b, _ := json.Marshal(e.args.Values())
	return e.name + " " + string(b)
}

// peer is a Go client of one server.
type peer struct {
	t      *testing.T
	server string
	c      *native.ClientSocket
	id     string
	events chan event // every event but "hello" and "quiz"
}

// dial connects a client to the server named server; it answers "quiz"
// with "<server>:<question>".
func dial(t *testing.T, url, server string, hello bool) *peer {
	t.Helper()
	c, err := native.Dial(url, native.ClientOptions{Transports: []string{"websocket"}, NoReconnection: true, NoAutoConnect: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	p := &peer{t: t, server: server, c: c, events: make(chan event, 64)}
	hellos := make(chan string, 1)
	c.On("hello", func(h struct {
		ID string `json:"id"`
	}) {
		hellos <- h.ID
	})
	c.On("quiz", func(q string, ack native.Ack) { ack(server + ":" + q) })
	c.OnAny(func(name string, args native.Args) {
		if name == "hello" || name == "quiz" || name == "presence" { // the command's demo broadcasts "presence"
			return
		}
		select {
		case p.events <- event{name: name, args: args}:
		default:
			t.Errorf("client of %s: events overflow at %s", server, name)
		}
	})
	c.OnDisconnect(func(reason string) { p.events <- event{name: "disconnect", reason: reason} })
	connected := make(chan struct{}, 1)
	c.OnConnect(func() { connected <- struct{}{} })
	if err := c.Connect(); err != nil {
		t.Fatal(err)
	}
	if !hello { // a server without the application
		select {
		case <-connected:
		case <-time.After(wait):
			t.Fatalf("client of %s: not connected within %v", server, wait)
		}
		if p.id = c.ID(); p.id == "" {
			t.Fatalf("client of %s: no id", server)
		}
		return p
	}
	select {
	case id := <-hellos:
		if id != c.ID() {
			t.Fatalf("client of %s: hello %q, id %q", server, id, c.ID())
		}
		p.id = id
	case <-time.After(wait):
		t.Fatalf("client of %s: no hello within %v", server, wait)
	}
	return p
}

// ask emits a request of the application and decodes its answer; an
// answer {error} fails the test.
func (p *peer) ask(res any, ev string, args ...any) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	r, err := p.c.Timeout(wait).EmitWithAck(ctx, ev, args...)
	if err != nil {
		p.t.Fatalf("%q asked on %s: %v", ev, p.server, err)
	}
	var failed struct {
		Error string `json:"error"`
	}
	if len(r.Raw) > 0 && strings.HasPrefix(string(r.Raw[0]), "{") && json.Unmarshal(r.Raw[0], &failed) == nil && failed.Error != "" {
		p.t.Fatalf("%q asked on %s failed: %s", ev, p.server, failed.Error)
	}
	if err := r.Decode(res); err != nil {
		p.t.Fatalf("%q asked on %s: answer %v: %v", ev, p.server, r.Values(), err)
	}
}

func (p *peer) do(ev string, args ...any) {
	p.t.Helper()
	var ok string
	p.ask(&ok, ev, args...)
	if ok != "ok" {
		p.t.Fatalf("%q asked on %s answered %q", ev, p.server, ok)
	}
}

func (p *peer) next(what string) event {
	p.t.Helper()
	select {
	case e := <-p.events:
		return e
	case <-time.After(wait):
		p.t.Fatalf("client of %s: no %s within %v", p.server, what, wait)
		return event{}
	}
}

// payload is what the tests broadcast.
type payload struct {
	From string `json:"from"`
	Bin  []byte `json:"bin"`
	Big  string `json:"big,omitempty"`
}

// expect checks that the client's next event is name with want.
func (p *peer) expect(name string, want payload) {
	p.t.Helper()
	e := p.next(name)
	var got payload
	if e.name != name || e.args.Len() != 1 || e.args.Decode(&got) != nil || got.From != want.From ||
		string(got.Bin) != string(want.Bin) || got.Big != want.Big {
		p.t.Fatalf("client of %s: got %.200s, want %s %+v", p.server, e, name, want.From)
	}
}

// quiet checks that nothing else arrived.
func quiet(t *testing.T, peers ...*peer) {
	t.Helper()
	for _, p := range peers {
		select {
		case e := <-p.events:
			t.Errorf("client of %s: unexpected %.200s", p.server, e)
		default:
		}
	}
}

// sock is one socket as "fetch" answers it.
type sock struct {
	ID    string   `json:"id"`
	Rooms []string `json:"rooms"`
	Data  struct {
		Server string `json:"server"`
	} `json:"data"`
}

func (s sock) String() string {
	r := slices.Clone(s.Rooms)
	sort.Strings(r)
	return fmt.Sprintf("%s@%s%v", s.ID, s.Data.Server, r)
}

func (p *peer) fetch(room string) string {
	p.t.Helper()
	var socks []sock
	p.ask(&socks, "fetch", room)
	sort.Slice(socks, func(i, j int) bool { return socks[i].ID < socks[j].ID })
	return fmt.Sprint(socks)
}

// want describes sockets as fetch does.
func want(rooms map[*peer][]string, peers ...*peer) string {
	var out []sock
	for _, p := range peers {
		s := sock{ID: p.id, Rooms: append([]string{p.id}, rooms[p]...)}
		s.Data.Server = p.server
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return fmt.Sprint(out)
}

func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	for end := time.Now().Add(wait); ; {
		ok, saw := cond()
		if ok {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s; last saw %s", what, saw)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// counted waits until every peer's server counts n servers.
func counted(t *testing.T, n int, peers ...*peer) {
	t.Helper()
	for _, p := range peers {
		eventually(t, fmt.Sprintf("%s to count %d servers", p.server, n), func() (bool, string) {
			var got int
			p.ask(&got, "count")
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
		p := payload{From: from.server, Bin: []byte{0, byte(i), 0xff}}
		from.do("emit", emitSpec{}, "news", p)
		for _, to := range peers {
			to.expect("news", p)
		}
		p.Big = big
		from.do("emit", emitSpec{}, "news", p)
		for _, to := range peers {
			to.expect("news", p)
		}
	}

	// 2. Rooms, except, local and volatile; a broadcast to all from the
	// same server is the barrier (one connection publishes in order).
	a.do("join", "r")
	b.do("join", "r")
	b.do("join", "x")
	mark := payload{From: "mark"}
	c.do("emit", emitSpec{To: []string{"r"}, Except: []string{"x"}, Volatile: true}, "only-r", payload{From: "go-c"})
	c.do("emit", emitSpec{Local: true}, "local", payload{From: "go-c"})
	c.do("emit", emitSpec{}, "mark", mark)
	a.expect("only-r", payload{From: "go-c"})
	c.expect("local", payload{From: "go-c"})
	for _, p := range peers {
		p.expect("mark", mark)
	}
	quiet(t, peers...)

	// 3. fetchSockets from each server: every socket, its rooms and data.
	rooms := map[*peer][]string{a: {"r"}, b: {"r", "x"}}
	for _, p := range peers {
		if got, w := p.fetch(""), want(rooms, a, b, c); got != w {
			t.Errorf("fetchSockets on %s:\n got %s\nwant %s", p.server, got, w)
		}
		if got, w := p.fetch("x"), want(rooms, b); got != w {
			t.Errorf("fetchSockets of x on %s:\n got %s\nwant %s", p.server, got, w)
		}
	}

	// 4. socketsJoin from go-a puts go-c's client in s; socketsLeave from
	// go-c takes go-b's out of r.
	a.do("socketsJoin", c.id, "s")
	c.do("socketsLeave", "r", "r")
	rooms = map[*peer][]string{c: {"s"}, b: {"x"}}
	eventually(t, "the joins and leaves", func() (bool, string) {
		got := b.fetch("")
		return got == want(rooms, a, b, c), got
	})

	// 5. serverSideEmit with and without acks.
	for _, p := range peers {
		var got, others []string
		p.ask(&got, "sse")
		for _, o := range peers {
			if o != p {
				others = append(others, o.server)
			}
		}
		if !slices.Equal(got, others) {
			t.Errorf("serverSideEmitWithAck from %s: %q, want %q", p.server, got, others)
		}
	}
	a.do("note", "hi")
	for _, p := range []*peer{b, c} {
		if e := p.next("noted"); e.name != "noted" || fmt.Sprint(e.args.Values()) != "["+p.server+":hi]" {
			t.Errorf("client of %s: %s", p.server, e)
		}
	}

	// 6. Broadcasts with acks: every client's answer.
	for _, p := range peers {
		var got []string
		p.ask(&got, "poll")
		if w := []string{"go-a:q", "go-b:q", "go-c:q"}; !slices.Equal(got, w) {
			t.Errorf("emitWithAck from %s: %q, want %q", p.server, got, w)
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
		p.expect("news", ep)
	}
	if err := e.To("s", "x").Except("r").Emit(ctx, "news", ep); err != nil {
		t.Fatal(err)
	}
	b.expect("news", ep)
	c.expect("news", ep)
	if err := e.In(a.id).SocketsJoin(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	if err := e.SocketsLeave(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	rooms = map[*peer][]string{a: {"t"}, c: {"s"}}
	eventually(t, "the emitter's join and leave", func() (bool, string) {
		got := c.fetch("")
		return got == want(rooms, a, b, c), got
	})
	if err := e.ServerSideEmit(ctx, "note", "from-emitter"); err != nil {
		t.Fatal(err)
	}
	for _, p := range peers {
		if ev := p.next("noted"); fmt.Sprint(ev.args.Values()) != "["+p.server+":from-emitter]" {
			t.Errorf("client of %s: %s", p.server, ev)
		}
	}
	quiet(t, peers...)

	// 8. disconnectSockets from go-b disconnects go-a's client; the
	// emitter disconnects go-c's.
	b.do("disconnectSockets", a.id)
	if ev := a.next("disconnect"); ev.name != "disconnect" || ev.reason != "io server disconnect" {
		t.Fatalf("go-a's client: %s", ev)
	}
	if err := e.In(c.id).DisconnectSockets(ctx, true); err != nil {
		t.Fatal(err)
	}
	if ev := c.next("disconnect"); ev.name != "disconnect" {
		t.Fatalf("go-c's client: %s", ev)
	}
	eventually(t, "one socket left", func() (bool, string) {
		got := b.fetch("")
		return got == want(nil, b), got
	})
	quiet(t, peers...)
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
	g.do("emit", emitSpec{}, "news", p)
	g.expect("news", p)
	bin.expect("news", p)
	eventually(t, "go to fetch the command's socket", func() (bool, string) {
		got := g.fetch("")
		return strings.Contains(got, bin.id+"@"), got
	})
	g.do("disconnectSockets", bin.id)
	if ev := bin.next("disconnect"); ev.name != "disconnect" || ev.reason != "io server disconnect" {
		t.Fatalf("the command's client: %s", ev)
	}
	// The command leaves: go counts itself alone again.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	counted(t, 1, g)
}
