package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/socketcore/socketcore/adapter/wire"
	cw "github.com/socketcore/socketcore/core/wire"
	"github.com/socketcore/socketcore/internal/redistest"
)

// redisAddr is REDIS_URL's (default 127.0.0.1:6379).
var redisAddr = redistest.EnvAddr()

// wait bounds every wait of the live tests.
const wait = 5 * time.Second

// newClient connects to the test Redis, failing loudly when it is absent.
func newClient(t *testing.T, name string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: redisAddr, ClientName: name})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		t.Fatalf("Redis at %s unreachable (%v): start redis-server", redisAddr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func randomPrefix(t *testing.T) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "sctest-" + hex.EncodeToString(b[:])
}

// inbox collects the messages an adapter receives.
type inbox struct {
	t  *testing.T
	ch chan cw.ClusterMessage
	// on, when set, runs in the receive goroutine first (answers).
	mu sync.Mutex
	on func(cw.ClusterMessage)
}

func newInbox(t *testing.T) *inbox { return &inbox{t: t, ch: make(chan cw.ClusterMessage, 256)} }

func (in *inbox) receive(m cw.ClusterMessage) {
	in.mu.Lock()
	on := in.on
	in.mu.Unlock()
	if on != nil {
		on(m)
	}
	select {
	case in.ch <- m:
	default:
		in.t.Errorf("inbox full, dropped %v", m.Type)
	}
}

func (in *inbox) next(what string) cw.ClusterMessage {
	in.t.Helper()
	select {
	case m := <-in.ch:
		return m
	case <-time.After(wait):
		in.t.Fatalf("%s: nothing received within %v", what, wait)
		return cw.ClusterMessage{}
	}
}

// quiet fails if anything is waiting in the inbox.
func (in *inbox) empty(what string) {
	in.t.Helper()
	select {
	case m := <-in.ch:
		in.t.Errorf("%s: unexpected %v %s", what, m.Type, m.Data)
	default:
	}
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func newAdapter(t *testing.T, c *redis.Client, prefix string, in *inbox, specific bool, nsps ...string) *Adapter {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	a, err := New(ctx, Options{Client: c, Prefix: prefix, Receive: in.receive, Logger: testLogger(t),
		PublishOnSpecificResponseChannel: specific})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	for _, nsp := range nsps {
		if err := a.AddNamespace(ctx, nsp); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

func publish(t *testing.T, a *Adapter, m cw.ClusterMessage) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := a.Publish(ctx, m); err != nil {
		t.Fatalf("publish %v: %v", m.Type, err)
	}
}

func serverCount(t *testing.T, a *Adapter, nsp string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	n, err := a.ServerCount(ctx, nsp)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestLive runs two adapters on the test Redis: every message type goes
// from one to the other, and never back to its sender.
func TestLive(t *testing.T) {
	c := newClient(t, "")
	prefix := randomPrefix(t)
	inA, inB := newInbox(t), newInbox(t)
	a := newAdapter(t, c, prefix, inA, false, "/", "/chat")
	b := newAdapter(t, c, prefix, inB, false, "/", "/chat")
	if a.UID() == b.UID() || len(a.UID()) != 6 || strings.Trim(a.UID(), uidChars) != "" {
		t.Fatalf("uids %q %q", a.UID(), b.UID())
	}
	if n := serverCount(t, a, "/"); n != 2 {
		t.Fatalf("ServerCount = %d, want 2", n)
	}
	if n := serverCount(t, a, "/other"); n != 0 {
		t.Fatalf("ServerCount(/other) = %d, want 0", n)
	}

	bin := []byte{0, 1, 2, 0xff}
	messages := []cw.ClusterMessage{
		{Type: cw.ClusterBroadcast, Nsp: "/", Compress: true, Data: []byte(`["hello","world",1,2.5,true,null,{"a":1}]`)},
		{Type: cw.ClusterBroadcast, Nsp: "/chat", Rooms: []string{"r1"}, Except: []string{"x"}, Volatile: true,
			Data:        []byte(`["bin",{"_placeholder":true,"num":0},{"n":[{"_placeholder":true,"num":1}]}]`),
			Attachments: [][]byte{bin, {}}},
		{Type: cw.ClusterBroadcast, Nsp: "/", RequestID: "req-1", Rooms: []string{"a", "b"}, Compress: true,
			Timeout: 2 * time.Second, Data: []byte(`["ackme",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{bin}},
		{Type: cw.ClusterSocketsJoin, Nsp: "/", Rooms: []string{"a"}, Except: []string{"b"}, JoinRooms: []string{"j1", "j2"}},
		{Type: cw.ClusterSocketsLeave, Nsp: "/chat", JoinRooms: []string{"j1"}},
		{Type: cw.ClusterDisconnectSockets, Nsp: "/", Rooms: []string{"s1"}, Close: true},
		{Type: cw.ClusterFetchSockets, Nsp: "/", RequestID: "req-2", Rooms: []string{"a"}},
		{Type: cw.ClusterServerSideEmit, Nsp: "/", Data: []byte(`["no-ack",1,{"b":[2]}]`)},
		{Type: cw.ClusterServerSideEmit, Nsp: "/", RequestID: "req-3", Data: []byte(`["with-ack","x"]`)},
		{Type: cw.ClusterAllRooms, Nsp: "/chat", RequestID: "req-4"},
	}
	for _, m := range messages {
		publish(t, a, m)
		got := inB.next(m.Type.String())
		if !reflect.DeepEqual(normalize(got), normalize(m)) {
			t.Errorf("%v:\n got %+v\nwant %+v", m.Type, normalize(got), normalize(m))
		}
	}
	// The answers, from b to a (b received the requests: it answers).
	answers := []cw.ClusterMessage{
		{Type: cw.ClusterBroadcastClientCount, Nsp: "/", RequestID: "req-1", ClientCount: 3},
		{Type: cw.ClusterBroadcastAck, Nsp: "/", RequestID: "req-1", Data: []byte(`[{"_placeholder":true,"num":0}]`),
			Attachments: [][]byte{bin}},
		{Type: cw.ClusterBroadcastAck, Nsp: "/", RequestID: "req-1", Data: []byte(`[]`)},
		{Type: cw.ClusterFetchSocketsResponse, Nsp: "/", RequestID: "req-2", Sockets: []cw.ClusterSocket{
			{ID: "sid1", Rooms: []string{"sid1", "a"}, Handshake: []byte(`{"headers":{"h":"v"},"issued":1795786378918,"auth":{}}`),
				Data: []byte(`{"user":"u","n":[1,2.5]}`)},
			{ID: "sid2", Rooms: []string{"sid2"}, Handshake: []byte(`{}`), Data: []byte(`null`)}}},
		{Type: cw.ClusterServerSideEmitResponse, Nsp: "/", RequestID: "req-3", Data: []byte(`[{"ok":true}]`)},
		{Type: cw.ClusterAllRoomsResponse, Nsp: "/chat", RequestID: "req-4", JoinRooms: []string{"a", "b"}},
	}
	for _, m := range answers {
		publish(t, b, m)
		got := inA.next(m.Type.String())
		if !reflect.DeepEqual(normalize(got), normalize(m)) {
			t.Errorf("%v:\n got %+v\nwant %+v", m.Type, normalize(got), normalize(m))
		}
	}
	// Nothing came back to its sender: a sentinel from the other side
	// arrives first (Redis keeps the order on a connection).
	publish(t, a, cw.ClusterMessage{Type: cw.ClusterServerSideEmit, Nsp: "/", Data: []byte(`["sentinel-a"]`)})
	if got := inB.next("sentinel"); string(got.Data) != `["sentinel-a"]` {
		t.Fatalf("b got %v %s before the sentinel", got.Type, got.Data)
	}
	publish(t, b, cw.ClusterMessage{Type: cw.ClusterServerSideEmit, Nsp: "/", Data: []byte(`["sentinel-b"]`)})
	if got := inA.next("sentinel"); string(got.Data) != `["sentinel-b"]` {
		t.Fatalf("a got %v %s before the sentinel", got.Type, got.Data)
	}
	inA.empty("a")
	inB.empty("b")

	// Close stops receiving; the closed adapter is no longer counted.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	publish(t, a, cw.ClusterMessage{Type: cw.ClusterBroadcast, Nsp: "/", Data: []byte(`["after-close"]`)})
	if n := serverCount(t, a, "/"); n != 1 {
		t.Errorf("ServerCount after Close = %d, want 1", n)
	}
	time.Sleep(100 * time.Millisecond)
	inB.empty("closed b")
	if err := b.Publish(context.Background(), messages[0]); !errors.Is(err, ErrClosed) {
		t.Errorf("Publish after Close: %v", err)
	}
	if err := b.AddNamespace(context.Background(), "/x"); !errors.Is(err, ErrClosed) {
		t.Errorf("AddNamespace after Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestLiveSpecificResponseChannel: with the option, answers go to the
// requester's channel, except ServerSideEmit's (as Node).
func TestLiveSpecificResponseChannel(t *testing.T) {
	c := newClient(t, "")
	prefix := randomPrefix(t)
	inA, inB := newInbox(t), newInbox(t)
	a := newAdapter(t, c, prefix, inA, false, "/")
	b := newAdapter(t, c, prefix, inB, true, "/")

	// A raw subscriber sees which channel each answer takes.
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	raw := c.Subscribe(ctx, wire.ResponseChannel(prefix, "/"), wire.SpecificResponseChannel(prefix, "/", a.UID()))
	defer raw.Close()
	for range 2 {
		if _, err := raw.Receive(ctx); err != nil { // the confirmations
			t.Fatal(err)
		}
	}
	rawNext := func() string {
		t.Helper()
		m, err := raw.ReceiveMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return m.Channel
	}

	publish(t, a, cw.ClusterMessage{Type: cw.ClusterFetchSockets, Nsp: "/", RequestID: "f1"})
	inB.next("fetch")
	publish(t, b, cw.ClusterMessage{Type: cw.ClusterFetchSocketsResponse, Nsp: "/", RequestID: "f1"})
	if got := inA.next("fetch answer"); got.Type != cw.ClusterFetchSocketsResponse || got.RequestID != "f1" {
		t.Fatalf("got %+v", got)
	}
	if ch := rawNext(); ch != wire.SpecificResponseChannel(prefix, "/", a.UID()) {
		t.Errorf("fetch answer on %q", ch)
	}

	publish(t, a, cw.ClusterMessage{Type: cw.ClusterServerSideEmit, Nsp: "/", RequestID: "s1", Data: []byte(`["e"]`)})
	inB.next("emit")
	publish(t, b, cw.ClusterMessage{Type: cw.ClusterServerSideEmitResponse, Nsp: "/", RequestID: "s1", Data: []byte(`[1]`)})
	if got := inA.next("emit answer"); got.Type != cw.ClusterServerSideEmitResponse || string(got.Data) != "[1]" {
		t.Fatalf("got %+v", got)
	}
	if ch := rawNext(); ch != wire.ResponseChannel(prefix, "/") {
		t.Errorf("server-side emit answer on %q", ch)
	}

	// An answer to a request b never received goes to the common channel
	// (and b cannot tell it from another server's: it gets it back too).
	publish(t, b, cw.ClusterMessage{Type: cw.ClusterAllRoomsResponse, Nsp: "/", RequestID: "unknown"})
	inA.next("unsolicited answer")
	if ch := rawNext(); ch != wire.ResponseChannel(prefix, "/") {
		t.Errorf("unsolicited answer on %q", ch)
	}
	if got := inB.next("own unsolicited answer"); got.RequestID != "unknown" {
		t.Errorf("b got %+v", got)
	}
	inB.empty("b")
}

// TestLiveReconnect kills the adapter's PubSub connection: go-redis
// reconnects and resubscribes, and messages flow again.
func TestLiveReconnect(t *testing.T) {
	prefix := randomPrefix(t)
	name := prefix + "-b"
	ca, cb := newClient(t, ""), newClient(t, name)
	inA, inB := newInbox(t), newInbox(t)
	a := newAdapter(t, ca, prefix, inA, false, "/", "/chat")
	newAdapter(t, cb, prefix, inB, false, "/", "/chat")

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	// Kill only b's PubSub connection (other tests may share this Redis).
	list, err := ca.ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for line := range strings.SplitSeq(list, "\n") {
		f := clientFields(line)
		if f["name"] == name && (f["sub"] != "0" || f["psub"] != "0") {
			id, _ := strconv.ParseInt(f["id"], 10, 64)
			if err := ca.ClientKillByFilter(ctx, "ID", strconv.FormatInt(id, 10)).Err(); err != nil {
				t.Fatal(err)
			}
			killed++
		}
	}
	if killed != 1 {
		t.Fatalf("found %d PubSub connections named %s in\n%s", killed, name, list)
	}
	// Back to two subscribers on both namespaces.
	deadline := time.Now().Add(wait)
	for serverCount(t, a, "/") != 2 || serverCount(t, a, "/chat") != 2 {
		if time.Now().After(deadline) {
			t.Fatal("b did not resubscribe")
		}
		time.Sleep(20 * time.Millisecond)
	}
	publish(t, a, cw.ClusterMessage{Type: cw.ClusterBroadcast, Nsp: "/chat", Rooms: []string{"r"}, Data: []byte(`["again"]`)})
	if got := inB.next("after reconnect"); string(got.Data) != `["again"]` {
		t.Fatalf("got %+v", got)
	}
	publish(t, a, cw.ClusterMessage{Type: cw.ClusterAllRooms, Nsp: "/", RequestID: "r"})
	if got := inB.next("request after reconnect"); got.Type != cw.ClusterAllRooms {
		t.Fatalf("got %+v", got)
	}
}

func clientFields(line string) map[string]string {
	f := map[string]string{}
	for kv := range strings.FieldsSeq(line) {
		if k, v, ok := strings.Cut(kv, "="); ok {
			f[k] = v
		}
	}
	return f
}

// TestLiveDrops: malformed messages, other namespaces' broadcasts and
// emitter messages, published raw.
func TestLiveDrops(t *testing.T) {
	c := newClient(t, "")
	prefix := randomPrefix(t)
	in := newInbox(t)
	a := newAdapter(t, c, prefix, in, false, "/")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	raw := func(ch string, payload []byte) {
		t.Helper()
		if err := c.Publish(ctx, ch, payload).Err(); err != nil {
			t.Fatal(err)
		}
	}
	emitter := Codec{Prefix: prefix, UID: wire.EmitterUID}
	bc, err := emitter.Encode(cw.ClusterMessage{Type: cw.ClusterBroadcast, Nsp: "/chat", Data: []byte(`["x"]`)}, "")
	if err != nil {
		t.Fatal(err)
	}
	raw(wire.BroadcastChannel(prefix, "/")+"chat#", bc.Payload) // /chat's packet on a / channel
	raw(wire.BroadcastChannel(prefix, "/"), []byte("garbage"))
	raw(wire.RequestChannel(prefix, "/"), []byte(`{"type":5}`))
	raw(wire.ResponseChannel(prefix, "/"), []byte(`{"requestId":"x","sockets":["legacy"]}`))
	own := Codec{Prefix: prefix, UID: a.UID()}
	m, _ := own.Encode(cw.ClusterMessage{Type: cw.ClusterAllRooms, Nsp: "/", RequestID: "mine"}, "")
	raw(m.Channel, m.Payload)
	// Delivered: the emitter's (no uid) join.
	raw(wire.RequestChannel(prefix, "/"), []byte(`{"type":2,"opts":{"rooms":[],"except":[]},"rooms":["em"]}`))
	if got := in.next("emitter join"); got.Type != cw.ClusterSocketsJoin || !reflect.DeepEqual(got.JoinRooms, []string{"em"}) {
		t.Fatalf("got %+v", got)
	}
	in.empty("drops")
}

// TestLiveCloseReleases: Close ends every goroutine the adapter started,
// also while an AddNamespace waits.
func TestLiveCloseReleases(t *testing.T) {
	c := newClient(t, "")
	before := runtime.NumGoroutine()
	in := newInbox(t)
	a, err := New(context.Background(), Options{Client: c, Prefix: randomPrefix(t), Receive: in.receive})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.AddNamespace(context.Background(), "/"); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(wait)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
