package emitter

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/socketcore/socketcore/adapter/wire"
	"github.com/socketcore/socketcore/internal/leaktest"
)

func TestMain(m *testing.M) { leaktest.Main(m) }

type message struct {
	channel string
	payload []byte
}

// fakePub records what would be PUBLISHed.
type fakePub struct {
	mu   sync.Mutex
	msgs []message
	err  error
}

func (p *fakePub) publish(ctx context.Context, channel string, payload []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	p.msgs = append(p.msgs, message{channel, slices.Clone(payload)})
	return nil
}

func (p *fakePub) take(t *testing.T) message {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.msgs) != 1 {
		t.Fatalf("published %d messages, want 1", len(p.msgs))
	}
	m := p.msgs[0]
	p.msgs = nil
	return m
}

func newFake() (*Emitter, *fakePub) {
	p := &fakePub{}
	return newEmitter(p, Options{}), p
}

type vector struct {
	ID        int    `json:"id"`
	Operation string `json:"operation"`
	Sender    string `json:"sender"`
	Command   string `json:"command"`
	Channel   string `json:"channel"`
	Hex       string `json:"hex"`
}

// vectors are the messages captured from the official packages (see
// adapter/wire/testdata).
func vectors(t *testing.T) map[int]vector {
	t.Helper()
	raw, err := os.ReadFile("../wire/testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Vectors []vector }
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	out := map[int]vector{}
	for _, v := range f.Vectors {
		out[v.ID] = v
	}
	return out
}

// TestNodeEmitterVectors reproduces every message @socket.io/redis-emitter
// 5.1.0 published in the capture, byte for byte, from the same calls.
func TestNodeEmitterVectors(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		id   int
		node string
		call func(e *Emitter) error
	}{
		{40, `emit("em-hello","world",Buffer.from([0xde,0xad]))`, func(e *Emitter) error {
			return e.Emit(ctx, "em-hello", "world", []byte{0xde, 0xad})
		}},
		{41, `to("room-c3").emit("em-room",1)`, func(e *Emitter) error {
			return e.To("room-c3").Emit(ctx, "em-room", 1)
		}},
		{42, `to("common").except("room-c2").volatile.compress(false).emit("em-flags",1)`, func(e *Emitter) error {
			return e.To("common").Except("room-c2").Volatile().Compress(false).Emit(ctx, "em-flags", 1)
		}},
		{43, `of("/chat").emit("em-chat","c")`, func(e *Emitter) error {
			return e.Of("/chat").Emit(ctx, "em-chat", "c")
		}},
		{44, `to("room-c1").socketsJoin("em-joined")`, func(e *Emitter) error {
			return e.To("room-c1").SocketsJoin(ctx, "em-joined")
		}},
		{45, `socketsLeave("em-joined")`, func(e *Emitter) error {
			return e.SocketsLeave(ctx, "em-joined")
		}},
		{46, `serverSideEmit("ping-noack","from-emitter")`, func(e *Emitter) error {
			return e.ServerSideEmit(ctx, "ping-noack", "from-emitter")
		}},
		{54, `of("/chat").to("room-c5").disconnectSockets(true)`, func(e *Emitter) error {
			return e.Of("/chat").In("room-c5").DisconnectSockets(ctx, true)
		}},
		{82, `emit("em-hello","world")`, func(e *Emitter) error {
			return e.Emit(ctx, "em-hello", "world")
		}},
	}
	vs := vectors(t)
	covered := map[int]bool{}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.id), func(t *testing.T) {
			v, ok := vs[c.id]
			if !ok {
				t.Fatalf("vector #%d missing", c.id)
			}
			if v.Sender != "emitter-client" || v.Command != "PUBLISH" {
				t.Fatalf("vector #%d is not an emitter PUBLISH: %+v", c.id, v)
			}
			e, p := newFake()
			if err := c.call(e); err != nil {
				t.Fatal(err)
			}
			m := p.take(t)
			if m.channel != v.Channel {
				t.Errorf("channel %q, Node %q", m.channel, v.Channel)
			}
			if got := hex.EncodeToString(m.payload); got != v.Hex {
				t.Errorf("%s\n got %s\nnode %s", c.node, got, v.Hex)
			}
			covered[c.id] = true
		})
	}
	// Every emitter message of the capture has a case here.
	for id, v := range vs {
		if v.Sender == "emitter-client" && v.Command == "PUBLISH" && !covered[id] {
			t.Errorf("vector #%d (%s) has no Go call", id, v.Operation)
		}
	}
}

func TestReservedEvents(t *testing.T) {
	ctx := context.Background()
	e, p := newFake()
	want := []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}
	if got := ReservedEvents(); !slices.Equal(got, want) {
		t.Fatalf("ReservedEvents() = %q", got)
	}
	for _, ev := range want {
		err := e.To("r").Emit(ctx, ev, 1)
		if !errors.Is(err, ErrReservedEvent) {
			t.Errorf("Emit(%q): %v, want ErrReservedEvent", ev, err)
		}
		if err != nil && err.Error() != fmt.Sprintf("emitter: %q is a reserved event name", ev) {
			t.Errorf("message %q", err)
		}
		if err := e.Emit(ctx, ev); !errors.Is(err, ErrReservedEvent) {
			t.Errorf("Emitter.Emit(%q): %v", ev, err)
		}
	}
	if len(p.msgs) != 0 {
		t.Fatalf("reserved events were published: %d", len(p.msgs))
	}
	// Not reserved: other names, and server-side events (as in Node).
	for _, ev := range []string{"connection", "Connect", "message", ""} {
		if err := e.Emit(ctx, ev); err != nil {
			t.Errorf("Emit(%q): %v", ev, err)
		}
	}
	if err := e.ServerSideEmit(ctx, "connect"); err != nil {
		t.Errorf("ServerSideEmit: %v", err)
	}
}

func decodeBroadcast(t *testing.T, m message) wire.Broadcast {
	t.Helper()
	b, err := wire.DecodeBroadcast(m.payload)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNamespaces(t *testing.T) {
	ctx := context.Background()
	p := &fakePub{}
	e := newEmitter(p, Options{Key: "app"})
	for _, c := range []struct{ of, nsp string }{{"/chat", "/chat"}, {"chat", "/chat"}, {"", "/"}, {"/", "/"}, {"/a/b", "/a/b"}} {
		chat := e.Of(c.of)
		if chat.Namespace() != c.nsp {
			t.Errorf("Of(%q).Namespace() = %q", c.of, chat.Namespace())
		}
		if err := chat.Emit(ctx, "x"); err != nil {
			t.Fatal(err)
		}
		m := p.take(t)
		if want := "app#" + c.nsp + "#"; m.channel != want {
			t.Errorf("Of(%q): channel %q, want %q", c.of, m.channel, want)
		}
		if b := decodeBroadcast(t, m); b.Packet.Nsp != c.nsp || b.UID != "emitter" {
			t.Errorf("Of(%q): %+v", c.of, b)
		}
		if err := chat.SocketsJoin(ctx, "r"); err != nil {
			t.Fatal(err)
		}
		if m := p.take(t); m.channel != "app-request#"+c.nsp+"#" {
			t.Errorf("Of(%q): request channel %q", c.of, m.channel)
		}
	}
	if e.Namespace() != "/" {
		t.Errorf("Of changed its receiver: %q", e.Namespace())
	}
}

func TestChannels(t *testing.T) {
	ctx := context.Background()
	e, p := newFake()
	cases := []struct {
		op      BroadcastOperator
		channel string
		rooms   []string
		except  []string
	}{
		{e.To("a"), "socket.io#/#a#", []string{"a"}, []string{}},
		{e.To("a", "a").In("a"), "socket.io#/#a#", []string{"a"}, []string{}}, // a set
		{e.To("a").Except("b"), "socket.io#/#a#", []string{"a"}, []string{"b"}},
		{e.To("a", "b"), "socket.io#/#", []string{"a", "b"}, []string{}},
		{e.To("b").To("a", "b"), "socket.io#/#", []string{"b", "a"}, []string{}},
		{e.Except("x", "y", "x"), "socket.io#/#", []string{}, []string{"x", "y"}},
		{e.To(), "socket.io#/#", []string{}, []string{}},
	}
	for i, c := range cases {
		if err := c.op.Emit(ctx, "ev"); err != nil {
			t.Fatal(err)
		}
		m := p.take(t)
		b := decodeBroadcast(t, m)
		if m.channel != c.channel || !slices.Equal(b.Opts.Rooms, c.rooms) || !slices.Equal(b.Opts.Except, c.except) {
			t.Errorf("#%d: %q rooms %q except %q, want %q %q %q", i, m.channel, b.Opts.Rooms, b.Opts.Except, c.channel, c.rooms, c.except)
		}
	}
}

// TestImmutable: an operator can be shared and extended in several ways.
func TestImmutable(t *testing.T) {
	ctx := context.Background()
	e, p := newFake()
	base := e.To("a").Except("x")
	// Give base's slices spare capacity, the usual way appends go wrong.
	for i := range 20 {
		base = base.To(fmt.Sprint("r", i))
	}
	b1 := base.To("b1").Except("y1").Volatile()
	b2 := base.To("b2").Except("y2").Compress(true)
	for _, c := range []struct {
		op           BroadcastOperator
		last, except string
		flags        string
	}{
		{base, "r19", "x", "{}"},
		{b1, "b1", "y1", `{"volatile":true}`},
		{b2, "b2", "y2", `{"compress":true}`},
	} {
		if err := c.op.Emit(ctx, "ev"); err != nil {
			t.Fatal(err)
		}
		b := decodeBroadcast(t, p.take(t))
		if b.Opts.Rooms[len(b.Opts.Rooms)-1] != c.last || b.Opts.Except[len(b.Opts.Except)-1] != c.except {
			t.Errorf("rooms %q except %q, want last %q / %q", b.Opts.Rooms, b.Opts.Except, c.last, c.except)
		}
		if got, _ := wire.AppendJSONValue(nil, b.Opts.Flags); string(got) != c.flags {
			t.Errorf("flags %s, want %s", got, c.flags)
		}
	}
}

// TestFlagOrder: flags are written in the order first set, as Node's
// Object.assign({}, flags, {k: v}) does.
func TestFlagOrder(t *testing.T) {
	ctx := context.Background()
	e, p := newFake()
	for _, c := range []struct {
		op   BroadcastOperator
		want string
	}{
		{e.Volatile().Compress(false), `{"volatile":true,"compress":false}`},
		{e.Compress(false).Volatile(), `{"compress":false,"volatile":true}`},
		{e.Compress(false).Volatile().Compress(true), `{"compress":true,"volatile":true}`},
		{e.Volatile().Volatile(), `{"volatile":true}`},
	} {
		if err := c.op.Emit(ctx, "ev"); err != nil {
			t.Fatal(err)
		}
		b := decodeBroadcast(t, p.take(t))
		if got, _ := wire.AppendJSONValue(nil, b.Opts.Flags); string(got) != c.want {
			t.Errorf("flags %s, want %s", got, c.want)
		}
	}
}

func TestRequests(t *testing.T) {
	ctx := context.Background()
	e, p := newFake()
	sel := e.Of("/n").To("a", "b").Except("c").Volatile()
	for _, c := range []struct {
		call func() error
		want string
	}{
		{func() error { return sel.SocketsJoin(ctx, "j1", "j2") },
			`{"type":2,"opts":{"rooms":["a","b"],"except":["c"]},"rooms":["j1","j2"]}`},
		{func() error { return sel.SocketsLeave(ctx) },
			`{"type":3,"opts":{"rooms":["a","b"],"except":["c"]},"rooms":[]}`},
		{func() error { return sel.DisconnectSockets(ctx, false) },
			`{"type":4,"opts":{"rooms":["a","b"],"except":["c"]},"close":false}`},
		{func() error { return e.DisconnectSockets(ctx, true) },
			`{"type":4,"opts":{"rooms":[],"except":[]},"close":true}`},
		{func() error { return e.SocketsJoin(ctx, "<&>") },
			`{"type":2,"opts":{"rooms":[],"except":[]},"rooms":["<&>"]}`},
		{func() error {
			return e.ServerSideEmit(ctx, "ev", []byte{1, 2}, map[string]any{"n": 2.0, "s": "<é>"}, nil)
		}, `{"uid":"emitter","type":6,"data":["ev",{"type":"Buffer","data":[1,2]},{"n":2,"s":"<é>"},null]}`},
	} {
		if err := c.call(); err != nil {
			t.Fatal(err)
		}
		m := p.take(t)
		if string(m.payload) != c.want {
			t.Errorf("got  %s\nwant %s", m.payload, c.want)
		}
		if !strings.HasPrefix(m.channel, "socket.io-request#") {
			t.Errorf("channel %q", m.channel)
		}
		if _, err := wire.DecodeRequest(m.payload); err != nil {
			t.Errorf("wire cannot decode %s: %v", m.payload, err)
		}
	}
}

func TestNoClient(t *testing.T) {
	ctx := context.Background()
	var nilEmitter *Emitter
	for name, e := range map[string]*Emitter{
		"New(nil)":                New(nil, Options{}),
		"New((*redis.Client)nil)": New((*redis.Client)(nil), Options{}),
		"nil *Emitter":            nilEmitter,
		"nil.Of":                  nilEmitter.Of("/x"),
	} {
		for what, err := range map[string]error{
			"Emit":              e.Emit(ctx, "ev", 1),
			"To.Emit":           e.To("r").Emit(ctx, "ev"),
			"SocketsJoin":       e.SocketsJoin(ctx, "r"),
			"SocketsLeave":      e.SocketsLeave(ctx, "r"),
			"DisconnectSockets": e.DisconnectSockets(ctx, true),
			"ServerSideEmit":    e.ServerSideEmit(ctx, "ev"),
			"zero operator":     BroadcastOperator{}.Emit(ctx, "ev"),
		} {
			if !errors.Is(err, ErrNoClient) {
				t.Errorf("%s: %s: %v, want ErrNoClient", name, what, err)
			}
		}
	}
}

func TestPublishError(t *testing.T) {
	ctx := context.Background()
	e, p := newFake()
	p.err = errors.New("boom")
	for what, err := range map[string]error{
		"Emit":              e.To("r").Emit(ctx, "ev"),
		"SocketsJoin":       e.SocketsJoin(ctx, "r"),
		"DisconnectSockets": e.DisconnectSockets(ctx, false),
		"ServerSideEmit":    e.ServerSideEmit(ctx, "ev"),
	} {
		if !errors.Is(err, p.err) || !strings.Contains(err.Error(), "socket.io") {
			t.Errorf("%s: %v", what, err)
		}
	}
	// An argument that cannot be encoded is an error before any PUBLISH.
	p.err = nil
	if err := e.Emit(ctx, "ev", make(chan int)); err == nil {
		t.Error("Emit(chan) succeeded")
	}
	if err := e.ServerSideEmit(ctx, "ev", func() {}); err == nil {
		t.Error("ServerSideEmit(func) succeeded")
	}
	if len(p.msgs) != 0 {
		t.Errorf("published %d messages", len(p.msgs))
	}
}

// TestConcurrent shares one operator between goroutines (run with -race).
func TestConcurrent(t *testing.T) {
	ctx := context.Background()
	e, p := newFake()
	base := e.Of("/c").To("shared").Except("x").Volatile()
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			op := base
			for j := range 20 {
				op = op.To(fmt.Sprint("g", i, "-", j)).Compress(j%2 == 0)
				if err := op.Emit(ctx, "ev", i, j, []byte{byte(i)}); err != nil {
					t.Error(err)
				}
				if err := base.SocketsJoin(ctx, fmt.Sprint(i)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if len(p.msgs) != 16*20*2 {
		t.Fatalf("%d messages", len(p.msgs))
	}
	for _, m := range p.msgs {
		if strings.HasPrefix(m.channel, "socket.io-request") {
			continue
		}
		b := decodeBroadcast(t, m)
		if b.Opts.Rooms[0] != "shared" || len(b.Opts.Except) != 1 {
			t.Fatalf("opts %+v", b.Opts)
		}
		i := b.Packet.Data[1].(int64)
		j := b.Packet.Data[2].(int64)
		if len(b.Opts.Rooms) != int(j)+2 || b.Opts.Rooms[j+1] != fmt.Sprint("g", i, "-", j) {
			t.Fatalf("goroutine %d step %d: rooms %q", i, j, b.Opts.Rooms)
		}
	}
}
