// Package mixed_test runs one cluster of three servers on one Redis (at
// 127.0.0.1:6379): two Go servers (hosts/native with adapter/redis) in this
// process and one Node server (socket.io 4.8.4 on @socket.io/redis-adapter
// 8.3.0, server.mjs). Every server runs the same application (server.mjs
// documents it; goApp is the Go copy), and one Go client on each server
// drives the cluster through it.
package mixed_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/socketcore/socketcore/adapter"
	redisadapter "github.com/socketcore/socketcore/adapter/redis"
	"github.com/socketcore/socketcore/hosts/native"
	"github.com/socketcore/socketcore/internal/leaktest"
	"github.com/socketcore/socketcore/internal/nodetest"
	"github.com/socketcore/socketcore/internal/redistest"
)

func TestMain(m *testing.M) { leaktest.Main(m) }

// redisAddr is REDIS_URL's (default 127.0.0.1:6379).
var redisAddr = redistest.EnvAddr()

// wait bounds every single wait of the test.
const wait = 5 * time.Second

func randomKey(t *testing.T) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "mixtest-" + hex.EncodeToString(b[:])
}

// redisClient connects to the test Redis, failing loudly when it is absent.
func redisClient(t *testing.T) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: redisAddr})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		t.Fatalf("Redis is not reachable at %s (%v): this test needs a real Redis there; start one with\n"+
			"\tredis-server --port 6379 --save '' --appendonly no\nor: docker run --rm -p 6379:6379 redis:7", redisAddr, err)
	}
	return c
}

// ---- the Go servers ----------------------------------------------------------

// startGo starts a Go server of the cluster, named name, on a loopback
// httptest listener, with the application.
func startGo(t *testing.T, key, name string) string {
	t.Helper()
	client := redisClient(t)
	t.Cleanup(func() { client.Close() }) // after the server's Close (cleanups run last first)
	srv, err := native.Start(native.Options{
		RequestsTimeout: 2 * time.Second,
		Adapter: func(receive adapter.Receive) (adapter.Adapter, error) {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			return redisadapter.New(ctx, redisadapter.Options{Client: client, Prefix: key, Receive: receive})
		},
	})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	goApp(srv, name)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
		srv.Close()
	})
	return hs.URL
}

// failure is what a request that failed acknowledges.
func failure(err error) map[string]string { return map[string]string{"error": err.Error()} }

// goApp is server.mjs's application on the Go API.
func goApp(srv *native.Server, name string) {
	root := srv.Of("/")
	// all is io, or io.in(room) when room is not "".
	all := func(room string) *native.BroadcastOperator {
		if room == "" {
			return root.To()
		}
		return root.In(room)
	}
	srv.OnServerSideEmit("whoami", func(ack native.Ack) { ack(name) })
	srv.OnConnection(func(so *native.Socket) {
		so.Data = map[string]any{"server": name}
		so.Emit("hello", map[string]string{"id": so.ID(), "server": name})

		so.On("join", func(room string, ack native.Ack) {
			if err := so.Join(room); err != nil {
				ack(failure(err))
				return
			}
			ack("ok")
		})
		so.On("to", func(room, event string, payload any, ack native.Ack) {
			if err := all(room).Emit(event, payload); err != nil {
				ack(failure(err))
				return
			}
			ack("ok")
		})
		so.On("fetch", func(room string, ack native.Ack) {
			socks, err := all(room).FetchSockets(context.Background())
			if err != nil {
				ack(failure(err))
				return
			}
			out := make([]map[string]any, 0, len(socks))
			for _, s := range socks {
				rooms := s.Rooms
				if rooms == nil {
					rooms = []string{}
				}
				out = append(out, map[string]any{"id": s.ID, "rooms": rooms, "data": s.Data})
			}
			ack(out)
		})
		so.On("socketsJoin", func(target, room string, ack native.Ack) {
			if err := root.In(target).SocketsJoin(room); err != nil {
				ack(failure(err))
				return
			}
			ack("ok")
		})
		so.On("disconnectSockets", func(target string, ack native.Ack) {
			if err := root.In(target).DisconnectSockets(false); err != nil {
				ack(failure(err))
				return
			}
			ack("ok")
		})
		so.On("sse", func(ack native.Ack) {
			replies, err := root.ServerSideEmitWithAck(context.Background(), "whoami")
			if err != nil {
				ack(failure(err))
				return
			}
			names, err := strs(replies)
			if err != nil {
				ack(failure(err))
				return
			}
			ack(names)
		})
		so.On("poll", func(ack native.Ack) {
			replies, err := root.Timeout(2*time.Second).EmitWithAck(context.Background(), "quiz", "q")
			if err != nil {
				ack(failure(err))
				return
			}
			answers, err := strs(replies)
			if err != nil {
				ack(failure(err))
				return
			}
			ack(answers)
		})
	})
}

// strs decodes each reply's first argument as a string, sorted.
func strs(replies []native.Args) ([]string, error) {
	out := make([]string, 0, len(replies))
	for _, r := range replies {
		var s string
		if err := r.Decode(&s); err != nil {
			return nil, fmt.Errorf("reply %v: %w", r.Values(), err)
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out, nil
}

// ---- the Node server ---------------------------------------------------------

func repoRoot(t *testing.T) string { return nodetest.RepoRoot(t) }

// startNode runs server.mjs as the server "node" and returns its URL once
// it is ready.
func startNode(t *testing.T, key string) string {
	t.Helper()
	root := repoRoot(t)
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node not found: install Node.js 20+ (apt-get install nodejs npm), then run `npm ci` at the repository root")
	}
	for _, pkg := range []string{"socket.io", "@socket.io/redis-adapter", "redis"} {
		if _, err := os.Stat(filepath.Join(root, "node_modules", pkg, "package.json")); err != nil {
			t.Fatalf("node_modules/%s missing: run `npm ci` at the repository root (`make test` does)", pkg)
		}
	}
	cmd := exec.Command(node, filepath.Join(root, "tests", "cluster", "mixed", "server.mjs"), key, "node")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "REDIS_URL="+redistest.URL())
	cmd.WaitDelay = 2 * time.Second
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting node: %v", err)
	}
	type readyLine struct {
		Type    string `json:"type"`
		Port    int    `json:"port"`
		Message string `json:"message"`
	}
	ready := make(chan readyLine, 1)
	exited := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<16), 1<<20)
		for sc.Scan() {
			var l readyLine
			if json.Unmarshal(sc.Bytes(), &l) != nil {
				continue
			}
			switch l.Type {
			case "ready":
				ready <- l
			case "error":
				t.Logf("node: %s", l.Message) // Redis trouble, reported by the Node side
			}
		}
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		stdin.Close() // server.mjs exits when stdin closes
		var err error
		select {
		case err = <-exited:
		case <-time.After(3 * time.Second):
			cmd.Process.Kill()
			err = <-exited
		}
		if err != nil || (t.Failed() && stderr.Len() > 0) {
			t.Logf("node exited (%v); stderr:\n%s", err, stderr.String())
		}
	})
	select {
	case l := <-ready:
		return fmt.Sprintf("http://127.0.0.1:%d", l.Port)
	case err := <-exited:
		exited <- err
		t.Fatalf("server.mjs exited before it was ready (%v):\n%s", err, stderr.String())
	case <-time.After(15 * time.Second):
		t.Fatal("server.mjs not ready within 15s")
	}
	return ""
}

// ---- the clients -------------------------------------------------------------

// event is what a client received: an event (args) or its disconnection
// (name "disconnect", reason).
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

// peer is a client of one server.
type peer struct {
	t      *testing.T
	server string // the server's name
	c      *native.ClientSocket
	id     string
	events chan event // every event but "hello" and "quiz"
}

// dial connects a client to the server named server, answers "quiz" with
// "<server>:<question>", and waits for its "hello".
func dial(t *testing.T, url, server string) *peer {
	t.Helper()
	c, err := native.Dial(url, native.ClientOptions{
		Transports:     []string{"websocket"},
		NoReconnection: true,
		NoAutoConnect:  true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	p := &peer{t: t, server: server, c: c, events: make(chan event, 64)}
	type hello struct {
		ID     string `json:"id"`
		Server string `json:"server"`
	}
	hellos := make(chan hello, 1)
	c.On("hello", func(h hello) { hellos <- h })
	c.On("quiz", func(q string, ack native.Ack) { ack(server + ":" + q) })
	c.OnAny(func(name string, args native.Args) {
		if name == "hello" || name == "quiz" {
			return
		}
		select {
		case p.events <- event{name: name, args: args}:
		default:
			t.Errorf("client of %s: events overflow at %s", server, name)
		}
	})
	c.OnDisconnect(func(reason string) { p.events <- event{name: "disconnect", reason: reason} })
	if err := c.Connect(); err != nil {
		t.Fatal(err)
	}
	select {
	case h := <-hellos:
		if h.Server != server || h.ID == "" || h.ID != c.ID() {
			t.Fatalf("client of %s: hello %+v, client id %q", server, h, c.ID())
		}
		p.id = h.ID
	case <-time.After(wait):
		t.Fatalf("client of %s: no hello within %v", server, wait)
	}
	return p
}

// ask emits a request of the application and returns its acknowledgement;
// an acknowledgement {error} fails the test.
func (p *peer) ask(res any, event string, args ...any) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	r, err := p.c.Timeout(wait).EmitWithAck(ctx, event, args...)
	if err != nil {
		p.t.Fatalf("%q asked on %s: %v", event, p.server, err)
	}
	var failed struct {
		Error string `json:"error"`
	}
	if len(r.Raw) > 0 && strings.HasPrefix(string(r.Raw[0]), "{") && json.Unmarshal(r.Raw[0], &failed) == nil && failed.Error != "" {
		p.t.Fatalf("%q asked on %s failed: %s", event, p.server, failed.Error)
	}
	if err := r.Decode(res); err != nil {
		p.t.Fatalf("%q asked on %s: answer %v: %v", event, p.server, r.Values(), err)
	}
}

// do asks for a request answered "ok".
func (p *peer) do(event string, args ...any) {
	p.t.Helper()
	var ok string
	p.ask(&ok, event, args...)
	if ok != "ok" {
		p.t.Fatalf("%q asked on %s answered %q", event, p.server, ok)
	}
}

// next returns the client's next event.
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

// payload is what the test broadcasts.
type payload struct {
	From string `json:"from"`
	Bin  []byte `json:"bin"`
}

// expect checks that the client's next event is name with want.
func (p *peer) expect(name string, want payload) {
	p.t.Helper()
	e := p.next(name)
	var got payload
	if e.name != name || e.args.Len() != 1 || e.args.Decode(&got) != nil ||
		got.From != want.From || string(got.Bin) != string(want.Bin) {
		p.t.Fatalf("client of %s: got %s, want %s %+v", p.server, e, name, want)
	}
}

// sock is one socket as the application's "fetch" answers it.
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

// fetch asks for the sockets of room ("" for all), sorted by id.
func (p *peer) fetch(room string) []sock {
	p.t.Helper()
	var socks []sock
	p.ask(&socks, "fetch", room)
	sort.Slice(socks, func(i, j int) bool { return socks[i].ID < socks[j].ID })
	return socks
}

// want describes sockets as fetch's String does, sorted by id.
func want(peers []*peer, rooms map[*peer][]string) string {
	var out []sock
	for _, p := range peers {
		s := sock{ID: p.id, Rooms: append([]string{p.id}, rooms[p]...)}
		s.Data.Server = p.server
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return fmt.Sprint(out)
}

// eventually retries cond until it holds, for at most wait; cond also
// says what it saw, for the failure.
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
		time.Sleep(20 * time.Millisecond)
	}
}

// ---- the test ----------------------------------------------------------------

func TestMixedCluster(t *testing.T) {
	key := randomKey(t)
	rdb := redisClient(t)
	t.Cleanup(func() { rdb.Close() })

	urlA := startGo(t, key, "go-a")
	urlB := startGo(t, key, "go-b")
	urlN := startNode(t, key)

	// Every server counted (the Go adapters subscribe on their own goroutine).
	eventually(t, "Redis to count the three servers", func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n, err := rdb.PubSubNumSub(ctx, key+"-request#/#").Result()
		return err == nil && n[key+"-request#/#"] == 3, fmt.Sprint(n, err)
	})

	a, b, n := dial(t, urlA, "go-a"), dial(t, urlB, "go-b"), dial(t, urlN, "node")
	peers := []*peer{a, b, n}

	// 1. A broadcast requested on each server reaches every client, binary included.
	for i, from := range peers {
		p := payload{From: from.server, Bin: []byte{0, byte(i), 0xff, 0x80}}
		from.do("to", "", "news", p)
		for _, to := range peers {
			to.expect("news", p)
		}
	}

	// 2. go-a's client joins "r"; "to r" asked on node reaches only it. The
	// broadcast to all that node sends next is the barrier: one publisher
	// connection, one subscriber connection per server, so it comes after.
	a.do("join", "r")
	onlyR, mark := payload{From: "node", Bin: []byte("r")}, payload{From: "node", Bin: []byte("mark")}
	n.do("to", "r", "only-r", onlyR)
	n.do("to", "", "mark", mark)
	a.expect("only-r", onlyR)
	for _, p := range peers {
		p.expect("mark", mark)
	}

	// 3. fetchSockets on each server returns the three sockets, their rooms and data.
	all := want(peers, map[*peer][]string{a: {"r"}})
	for _, p := range peers {
		if got := fmt.Sprint(p.fetch("")); got != all {
			t.Errorf("fetchSockets on %s:\n got %s\nwant %s", p.server, got, all)
		}
		if got, wantR := fmt.Sprint(p.fetch("r")), want([]*peer{a}, map[*peer][]string{a: {"r"}}); got != wantR {
			t.Errorf("fetchSockets of r on %s:\n got %s\nwant %s", p.server, got, wantR)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// 4. socketsJoin asked on node makes go-b's client join "s"; "to s" from go-a reaches it.
	n.do("socketsJoin", b.id, "s")
	wantS := want([]*peer{b}, map[*peer][]string{b: {"s"}})
	eventually(t, "go-b's client in s, as go-a fetches it", func() (bool, string) {
		got := fmt.Sprint(a.fetch("s"))
		return got == wantS, got
	})
	onlyS, mark := payload{From: "go-a", Bin: []byte("s")}, payload{From: "go-a", Bin: []byte("mark")}
	a.do("to", "s", "only-s", onlyS)
	a.do("to", "", "mark", mark)
	b.expect("only-s", onlyS)
	for _, p := range peers {
		p.expect("mark", mark)
	}

	// 5. serverSideEmitWithAck: every other server answers.
	for _, p := range peers {
		var got []string
		p.ask(&got, "sse")
		var others []string
		for _, o := range peers {
			if o != p {
				others = append(others, o.server)
			}
		}
		if !slices.Equal(got, others) {
			t.Errorf("serverSideEmitWithAck from %s: got %q, want %q", p.server, got, others)
		}
	}

	// 6. emitWithAck to the whole cluster collects every client's answer.
	for _, p := range []*peer{n, b, a} {
		var got []string
		p.ask(&got, "poll")
		if all := []string{"go-a:q", "go-b:q", "node:q"}; !slices.Equal(got, all) {
			t.Errorf("emitWithAck from %s: got %q, want %q", p.server, got, all)
		}
	}

	// 7. disconnectSockets asked on go-b disconnects node's client.
	b.do("disconnectSockets", n.id)
	if e := n.next("disconnect"); e.name != "disconnect" || e.reason != "io server disconnect" {
		t.Fatalf("node's client: got %s, want disconnect io server disconnect", e)
	}
	wantLeft := want([]*peer{a, b}, map[*peer][]string{a: {"r"}, b: {"s"}})
	eventually(t, "node's socket to leave the cluster's sockets", func() (bool, string) {
		got := fmt.Sprint(a.fetch(""))
		return got == wantLeft, got
	})

	// Nothing else arrived.
	for _, p := range peers {
		select {
		case e := <-p.events:
			t.Errorf("client of %s: unexpected %s", p.server, e)
		default:
		}
	}
}
