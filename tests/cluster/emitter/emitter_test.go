// Package emitter_test runs the Go emitter (adapter/emitter) against a real
// Node Socket.IO server (socket.io 4.8.4, @socket.io/redis-adapter 8.3.0 on
// node-redis 4.7.1) through the Redis at 127.0.0.1:6379, and checks what
// the official socket.io-client 4.8.4 receives. server.mjs is the Node
// side; it prints everything it sees as JSON lines.
package emitter_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/socketcore/socketcore/adapter/emitter"
	"github.com/socketcore/socketcore/internal/leaktest"
	"github.com/socketcore/socketcore/internal/nodetest"
	"github.com/socketcore/socketcore/internal/redistest"
)

func TestMain(m *testing.M) { leaktest.Main(m) }

// redisAddr is REDIS_URL's (default 127.0.0.1:6379).
var redisAddr = redistest.EnvAddr()

// wait bounds every wait for the Node side.
const wait = 5 * time.Second

func redisClient(t *testing.T) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: redisAddr, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis is not reachable at %s (%v): these tests need a real Redis there; start one with\n"+
			"\tredis-server --port 6379 --save '' --appendonly no\nor: docker run --rm -p 6379:6379 redis:7", redisAddr, err)
	}
	return c
}

func repoRoot(t *testing.T) string { return nodetest.RepoRoot(t) }

func requireNode(t *testing.T, root string) string {
	return nodetest.Node(t, root, "socket.io", "socket.io-client", "@socket.io/redis-adapter", "redis")
}

// randomKey is a fresh adapter key, so parallel runs share no channel.
func randomKey() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "emtest-" + hex.EncodeToString(b)
}

type clientSpec struct {
	Name  string   `json:"name"`
	Nsp   string   `json:"nsp"`
	Rooms []string `json:"rooms"`
}

// line is one JSON line of server.mjs.
type line struct {
	Type    string            `json:"type"`
	Client  string            `json:"client"`
	Event   string            `json:"event"`
	Args    []json.RawMessage `json:"args"`
	Reason  string            `json:"reason"`
	Nsp     string            `json:"nsp"`
	Message string            `json:"message"`
	Port    int               `json:"port"`
	Clients map[string]struct {
		ID  string `json:"id"`
		Nsp string `json:"nsp"`
	} `json:"clients"`
	raw string
}

type nodeServer struct {
	t     *testing.T
	lines chan line
	ready line
	stash []line // lines read while waiting for others
}

// startNode runs server.mjs with the adapter key and clients, and waits
// for it to be ready.
func startNode(t *testing.T, key string, clients []clientSpec) *nodeServer {
	t.Helper()
	root := repoRoot(t)
	node := requireNode(t, root)
	spec, _ := json.Marshal(clients)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	cmd := exec.CommandContext(ctx, node, filepath.Join(root, "tests", "cluster", "emitter", "server.mjs"), key, string(spec))
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
		cancel()
		t.Fatalf("starting node: %v", err)
	}
	s := &nodeServer{t: t, lines: make(chan line, 256)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(s.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<16), 1<<22)
		for sc.Scan() {
			var l line
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				l = line{Type: "unparsed", Message: err.Error()}
			}
			l.raw = sc.Text()
			s.lines <- l
		}
	}()
	t.Cleanup(func() {
		stdin.Close() // server.mjs exits when stdin closes
		exited := make(chan struct{})
		go func() {
			select {
			case <-exited:
			case <-time.After(3 * time.Second):
				cmd.Process.Kill()
			}
		}()
		for range s.lines { // drain, so the reader can end
		}
		<-done
		cmd.Wait()
		close(exited)
		cancel()
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("node stderr:\n%s", stderr.String())
		}
	})
	s.ready = s.next(func(l line) bool { return l.Type == "ready" }, 20*time.Second, "ready line")
	if len(s.ready.Clients) != len(clients) {
		t.Fatalf("ready with %d clients, want %d: %s", len(s.ready.Clients), len(clients), s.ready.raw)
	}
	return s
}

// next returns the first line (stashed or new) that match accepts; other
// lines are stashed. It fails the test after timeout.
func (s *nodeServer) next(match func(line) bool, timeout time.Duration, what string) line {
	s.t.Helper()
	for i, l := range s.stash {
		if match(l) {
			s.stash = append(s.stash[:i:i], s.stash[i+1:]...)
			return l
		}
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case l, ok := <-s.lines:
			if !ok {
				s.t.Fatalf("node exited while waiting for %s; lines so far:\n%s", what, s.dump())
			}
			if l.Type == "error" || l.Type == "unparsed" {
				s.t.Errorf("node: %s", l.raw)
			}
			if match(l) {
				return l
			}
			s.stash = append(s.stash, l)
		case <-timer.C:
			s.t.Fatalf("timed out after %v waiting for %s; lines so far:\n%s", timeout, what, s.dump())
		}
	}
}

func (s *nodeServer) dump() string {
	var b strings.Builder
	for _, l := range s.stash {
		b.WriteString("\t" + l.raw + "\n")
	}
	return b.String()
}

// events waits for marker on every client in clients (a broadcast emitted
// after the step under test, so each client has had everything before it:
// one Redis connection, one server, one socket keep the order), and returns
// what each received before the marker, marker excluded.
func (s *nodeServer) events(marker string, clients ...string) map[string][]line {
	s.t.Helper()
	got := map[string][]line{}
	for _, c := range clients {
		s.next(func(l line) bool { return l.Type == "event" && l.Client == c && l.Event == marker }, wait, c+" "+marker)
		got[c] = nil
	}
	// Everything stashed now came before the markers.
	rest := s.stash[:0]
	for _, l := range s.stash {
		if _, ok := got[l.Client]; ok && l.Type == "event" {
			got[l.Client] = append(got[l.Client], l)
		} else {
			rest = append(rest, l)
		}
	}
	s.stash = rest
	return got
}

func args(t *testing.T, l line) string {
	t.Helper()
	b, err := json.Marshal(l.Args)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func bin(b []byte) string {
	return `{"$bin":"` + base64.StdEncoding.EncodeToString(b) + `","$kind":"Buffer"}`
}

// TestEmitterToNodeServer drives one Node server with five clients:
//
//	a: "/"      rooms r1, common
//	b: "/"      rooms r2, common
//	c: "/"      no room
//	d: "/chat"  room common
//	e: "/chat"  no room
func TestEmitterToNodeServer(t *testing.T) {
	t.Parallel()
	rc := redisClient(t)
	key := randomKey()
	clients := []clientSpec{
		{"a", "/", []string{"r1", "common"}},
		{"b", "/", []string{"r2", "common"}},
		{"c", "/", nil},
		{"d", "/chat", []string{"common"}},
		{"e", "/chat", nil},
	}
	srv := startNode(t, key, clients)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	em := emitter.New(rc, emitter.Options{Key: key})
	chat := em.Of("chat")
	root := []string{"a", "b", "c"}
	chatClients := []string{"d", "e"}
	n := 0
	// step runs f, then sends a marker to every client of both namespaces,
	// and returns what each client received in between.
	step := func(name string, f func() error) map[string][]line {
		t.Helper()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		n++
		marker := fmt.Sprintf("marker-%d", n)
		if err := em.Emit(ctx, marker); err != nil {
			t.Fatal(err)
		}
		if err := chat.Emit(ctx, marker); err != nil {
			t.Fatal(err)
		}
		return srv.events(marker, slices.Concat(root, chatClients)...)
	}
	// expect checks that exactly the clients in want got one event ev with
	// the JSON args wantArgs, and the others got nothing.
	expect := func(name string, got map[string][]line, ev, wantArgs string, want ...string) {
		t.Helper()
		for _, c := range slices.Concat(root, chatClients) {
			ls := got[c]
			should := slices.Contains(want, c)
			switch {
			case should && len(ls) != 1:
				t.Errorf("%s: client %s got %d events, want 1: %v", name, c, len(ls), raws(ls))
			case !should && len(ls) != 0:
				t.Errorf("%s: client %s got %v, want nothing", name, c, raws(ls))
			case should:
				if ls[0].Event != ev {
					t.Errorf("%s: client %s got event %q, want %q", name, c, ls[0].Event, ev)
				}
				if a := args(t, ls[0]); a != wantArgs {
					t.Errorf("%s: client %s got args\n\t%s\nwant\t%s", name, c, a, wantArgs)
				}
			}
		}
	}

	type payload struct {
		Text  string         `json:"text"`
		N     int            `json:"n"`
		F     float64        `json:"f"`
		Blob  []byte         `json:"blob"`
		Tags  []string       `json:"tags,omitempty"`
		Extra map[string]any `json:"extra"`
	}

	got := step("plain", func() error {
		return em.Emit(ctx, "plain", "hello", 1, 2.5, true, nil, map[string]any{"k": []int{1, 2}}, json.RawMessage(`{"raw":1}`))
	})
	expect("plain", got, "plain", `["hello",1,2.5,true,null,{"k":[1,2]},{"raw":1}]`, "a", "b", "c")

	got = step("binary", func() error {
		return em.Emit(ctx, "binary", []byte{0xde, 0xad, 0xbe, 0xef}, payload{
			Text: "t", N: -3, F: 0.5, Blob: []byte("nested"),
			Extra: map[string]any{"deep": []any{[]byte{}, []byte{1}}},
		})
	})
	expect("binary", got, "binary",
		`[`+bin([]byte{0xde, 0xad, 0xbe, 0xef})+`,{"text":"t","n":-3,"f":0.5,"blob":`+bin([]byte("nested"))+
			`,"extra":{"deep":[`+bin(nil)+`,`+bin([]byte{1})+`]}}]`,
		"a", "b", "c")

	got = step("to room", func() error { return em.To("r1").Emit(ctx, "room", "r1") })
	expect("to room", got, "room", `["r1"]`, "a")

	got = step("to two rooms", func() error { return em.To("r1", "r2").Emit(ctx, "rooms", 2) })
	expect("to two rooms", got, "rooms", `[2]`, "a", "b")

	got = step("except", func() error { return em.Except("r1").Emit(ctx, "except", "no-r1") })
	expect("except", got, "except", `["no-r1"]`, "b", "c")

	got = step("to+except+compress", func() error {
		return em.To("common").Except("r2").Compress(false).Emit(ctx, "toexcept", 1)
	})
	expect("to+except+compress", got, "toexcept", `[1]`, "a")

	sidB := srv.ready.Clients["b"].ID
	got = step("to sid", func() error { return em.To(sidB).Emit(ctx, "sid", sidB) })
	expect("to sid", got, "sid", `["`+sidB+`"]`, "b")

	got = step("namespace /chat", func() error { return chat.Emit(ctx, "chat", "c") })
	expect("namespace /chat", got, "chat", `["c"]`, "d", "e")

	got = step("/chat room", func() error { return chat.To("common").Emit(ctx, "chatroom", "c") })
	expect("/chat room", got, "chatroom", `["c"]`, "d")

	// socketsJoin, then emit to the joined room: the join request and the
	// broadcast reach the server in PUBLISH order.
	got = step("socketsJoin", func() error {
		if err := em.To("r2").Except("r1").SocketsJoin(ctx, "joined"); err != nil {
			return err
		}
		return em.To("joined").Emit(ctx, "joined", "j")
	})
	expect("socketsJoin", got, "joined", `["j"]`, "b")

	got = step("socketsJoin all", func() error {
		if err := em.SocketsJoin(ctx, "joined"); err != nil {
			return err
		}
		return em.To("joined").Emit(ctx, "joined", "all")
	})
	expect("socketsJoin all", got, "joined", `["all"]`, "a", "b", "c")

	got = step("socketsLeave", func() error {
		if err := em.In("r1").SocketsLeave(ctx, "joined"); err != nil {
			return err
		}
		return em.To("joined").Emit(ctx, "left", 1)
	})
	expect("socketsLeave", got, "left", `[1]`, "b", "c")

	// serverSideEmit reaches the server, not the clients.
	if err := chat.ServerSideEmit(ctx, "sse", "x", 1, map[string]any{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	sse := srv.next(func(l line) bool { return l.Type == "serverSideEmit" }, wait, "serverSideEmit")
	if a := args(t, sse); sse.Nsp != "/chat" || a != `["x",1,{"k":"v"}]` {
		t.Errorf("serverSideEmit: %s", sse.raw)
	}

	// disconnectSockets: only the selected socket goes.
	if err := em.To("r1").DisconnectSockets(ctx, false); err != nil {
		t.Fatal(err)
	}
	d := srv.next(func(l line) bool { return l.Type == "disconnect" }, wait, "disconnect of a")
	if d.Client != "a" || d.Reason != "io server disconnect" {
		t.Errorf("disconnect: %s", d.raw)
	}
	if err := chat.To("common").DisconnectSockets(ctx, true); err != nil {
		t.Fatal(err)
	}
	d = srv.next(func(l line) bool { return l.Type == "disconnect" }, wait, "disconnect of d")
	if d.Client != "d" || d.Reason != "io server disconnect" {
		t.Errorf("disconnect(close): %s", d.raw)
	}
	// The others are still connected.
	root, chatClients = []string{"b", "c"}, []string{"e"}
	got = step("after disconnect", func() error { return em.Emit(ctx, "after", 1) })
	expect("after disconnect", got, "after", `[1]`, "b", "c")
	for _, l := range srv.stash {
		if l.Type == "disconnect" {
			t.Errorf("unexpected disconnect: %s", l.raw)
		}
	}
}

func raws(ls []line) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.raw
	}
	return out
}

// TestVolatileAndKeyIsolation: a volatile emit with nothing else in flight
// is delivered, and an emitter with another key reaches nobody.
func TestVolatileAndKeyIsolation(t *testing.T) {
	t.Parallel()
	rc := redisClient(t)
	key := randomKey()
	srv := startNode(t, key, []clientSpec{{"a", "/", []string{"r"}}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	other := emitter.New(rc, emitter.Options{Key: key + "-other"})
	if err := other.Emit(ctx, "wrong-key"); err != nil {
		t.Fatal(err)
	}
	em := emitter.New(rc, emitter.Options{Key: key})
	if err := em.To("r").Volatile().Emit(ctx, "volatile", []byte{1}); err != nil {
		t.Fatal(err)
	}
	l := srv.next(func(l line) bool { return l.Type == "event" }, wait, "volatile event")
	if l.Event != "volatile" || args(t, l) != `[`+bin([]byte{1})+`]` {
		t.Errorf("got %s", l.raw)
	}
	if len(srv.stash) != 0 {
		t.Errorf("unexpected lines: %s", srv.dump())
	}
}
