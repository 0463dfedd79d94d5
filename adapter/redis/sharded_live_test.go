package redis

import (
	"context"
	"errors"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/socketcore/socketcore/adapter/wire"
	cw "github.com/socketcore/socketcore/core/wire"
)

func newShardedAdapter(t *testing.T, c *redis.Client, prefix string, mode SubscriptionMode, in *inbox, nsps ...string) *Adapter {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	a, err := New(ctx, Options{Client: c, Prefix: prefix, Sharded: true, SubscriptionMode: mode,
		Receive: in.receive, Logger: testLogger(t)})
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

// shardNumSub is PUBSUB SHARDNUMSUB channel.
func shardNumSub(t *testing.T, c *redis.Client, channel string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	m, err := c.PubSubShardNumSub(ctx, channel).Result()
	if err != nil {
		t.Fatal(err)
	}
	return m[channel]
}

// waitNumSub waits until channel has n sharded subscribers.
func waitNumSub(t *testing.T, c *redis.Client, channel string, n int64) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for shardNumSub(t, c, channel) != n {
		if time.Now().After(deadline) {
			t.Fatalf("SHARDNUMSUB %s = %d, want %d", channel, shardNumSub(t, c, channel), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sentinel publishes a server-side emit from a and expects it to be b's
// next message: whatever a published before on the same connection and
// b did not get by then, b never gets (Redis keeps the order of a
// connection's commands; every channel here lives on one Redis).
func sentinel(t *testing.T, a *Adapter, in *inbox, name string) {
	t.Helper()
	publish(t, a, cw.ClusterMessage{Type: cw.ClusterServerSideEmit, Nsp: "/", Data: []byte(`["` + name + `"]`)})
	if got := in.next(name); string(got.Data) != `["`+name+`"]` {
		t.Fatalf("got %v %s before the sentinel %s", got.Type, got.Data, name)
	}
}

// TestShardedLive runs three sharded adapters on the test Redis: every
// message type goes from one to the others, answers go only to the
// requester, and nothing comes back to its sender.
func TestShardedLive(t *testing.T) {
	c := newClient(t, "")
	prefix := randomPrefix(t)
	inA, inB, inC := newInbox(t), newInbox(t), newInbox(t)
	a := newShardedAdapter(t, c, prefix, "", inA, "/", "/chat")
	b := newShardedAdapter(t, c, prefix, "", inB, "/", "/chat")
	newShardedAdapter(t, c, prefix, "", inC, "/", "/chat")
	for _, x := range []*Adapter{a, b} {
		if uid := x.UID(); len(uid) != 16 || strings.Trim(uid, "0123456789abcdef") != "" {
			t.Fatalf("uid %q", uid)
		}
	}
	if a.UID() == b.UID() {
		t.Fatal("same uids")
	}
	if n := serverCount(t, a, "/"); n != 3 {
		t.Fatalf("ServerCount = %d, want 3", n)
	}
	if n := serverCount(t, a, "/other"); n != 0 {
		t.Fatalf("ServerCount(/other) = %d, want 0", n)
	}
	// Node's SSUBSCRIBEs: the main channel and the own response channel.
	codec := ShardedCodec{Prefix: prefix}
	if n := shardNumSub(t, c, codec.ResponseChannel("/chat", a.UID())); n != 1 {
		t.Fatalf("SHARDNUMSUB of a's response channel = %d", n)
	}

	bin := []byte{0, 1, 2, 0xff}
	messages := []cw.ClusterMessage{
		{Type: cw.ClusterBroadcast, Nsp: "/", Compress: true, Data: []byte(`["hello","world",1,2.5,true,null,{"a":1}]`)},
		{Type: cw.ClusterBroadcast, Nsp: "/chat", Rooms: []string{"r1", "r2"}, Except: []string{"x"}, Volatile: true,
			Data:        []byte(`["bin",{"_placeholder":true,"num":0},{"n":[{"_placeholder":true,"num":1}]}]`),
			Attachments: [][]byte{bin, {}}},
		{Type: cw.ClusterBroadcast, Nsp: "/", RequestID: "req-1", Rooms: []string{"one-room"}, Compress: true,
			Timeout: 2 * time.Second, Data: []byte(`["ackme",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{bin}},
		{Type: cw.ClusterSocketsJoin, Nsp: "/", Rooms: []string{"a"}, Except: []string{"b"}, JoinRooms: []string{"j1", "j2"}},
		{Type: cw.ClusterSocketsLeave, Nsp: "/chat", JoinRooms: []string{"j1"}},
		{Type: cw.ClusterDisconnectSockets, Nsp: "/", Rooms: []string{"s1"}, Close: true},
		{Type: cw.ClusterFetchSockets, Nsp: "/", RequestID: "req-2", Rooms: []string{"a"}},
		{Type: cw.ClusterServerSideEmit, Nsp: "/", Data: []byte(`["no-ack",1,{"b":[2]}]`)},
		{Type: cw.ClusterServerSideEmit, Nsp: "/", RequestID: "req-3", Data: []byte(`["with-ack",{"_placeholder":true,"num":0}]`),
			Attachments: [][]byte{bin}},
	}
	for _, m := range messages {
		publish(t, a, m)
		for _, in := range []*inbox{inB, inC} {
			got := in.next(m.Type.String())
			if !reflect.DeepEqual(normalize(got), normalize(m)) {
				t.Errorf("%v:\n got %+v\nwant %+v", m.Type, normalize(got), normalize(m))
			}
		}
	}
	// AllRooms has no sharded form.
	err := a.Publish(context.Background(), cw.ClusterMessage{Type: cw.ClusterAllRooms, Nsp: "/", RequestID: "req-4"})
	if !errors.Is(err, ErrUnsupported) || !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("AllRooms: %v", err)
	}
	// The answers, from b to a: they go to a's channel only.
	answers := []cw.ClusterMessage{
		{Type: cw.ClusterBroadcastClientCount, Nsp: "/", RequestID: "req-1", ClientCount: 3},
		{Type: cw.ClusterBroadcastAck, Nsp: "/", RequestID: "req-1", Data: []byte(`[{"_placeholder":true,"num":0}]`),
			Attachments: [][]byte{bin}},
		{Type: cw.ClusterBroadcastAck, Nsp: "/", RequestID: "req-1", Data: []byte(`[]`)},
		{Type: cw.ClusterFetchSocketsResponse, Nsp: "/", RequestID: "req-2", Sockets: []cw.ClusterSocket{
			{ID: "sid1", Rooms: []string{"sid1", "a"}, Handshake: []byte(`{"headers":{"h":"v"},"issued":1795786378918,"auth":{}}`),
				Data: []byte(`{"user":"u","n":[1,2.5]}`)},
			{ID: "sid2", Rooms: []string{"sid2"}, Handshake: []byte(`{}`), Data: []byte(`null`)}}},
		{Type: cw.ClusterServerSideEmitResponse, Nsp: "/", RequestID: "req-3", Data: []byte(`[{"ok":{"_placeholder":true,"num":0}}]`),
			Attachments: [][]byte{{9}}},
	}
	for _, m := range answers {
		publish(t, b, m)
		got := inA.next(m.Type.String())
		if !reflect.DeepEqual(normalize(got), normalize(m)) {
			t.Errorf("%v:\n got %+v\nwant %+v", m.Type, normalize(got), normalize(m))
		}
	}
	// An answer to a request b never received: nowhere to send it.
	err = b.Publish(context.Background(), cw.ClusterMessage{Type: cw.ClusterBroadcastClientCount, Nsp: "/", RequestID: "unknown"})
	if err == nil || !strings.Contains(err.Error(), "requester unknown") {
		t.Errorf("answer to an unknown request: %v", err)
	}
	// Nothing came back to its sender, and c got none of the answers.
	sentinel(t, a, inB, "sentinel-a")
	sentinel(t, b, inA, "sentinel-b")
	if got := inC.next("sentinel-a"); string(got.Data) != `["sentinel-a"]` {
		t.Fatalf("c got %v %s", got.Type, got.Data)
	}
	if got := inC.next("sentinel-b"); string(got.Data) != `["sentinel-b"]` {
		t.Fatalf("c got %v %s", got.Type, got.Data)
	}
	inA.empty("a")
	inB.empty("b")
	inC.empty("c")

	// Close stops receiving; the closed adapter is no longer counted.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	publish(t, a, cw.ClusterMessage{Type: cw.ClusterBroadcast, Nsp: "/", Data: []byte(`["after-close"]`)})
	if n := serverCount(t, a, "/"); n != 2 {
		t.Errorf("ServerCount after Close = %d, want 2", n)
	}
	if got := inC.next("after close"); string(got.Data) != `["after-close"]` {
		t.Errorf("c got %+v", got)
	}
	inB.empty("closed b")
	if err := b.Publish(context.Background(), messages[0]); !errors.Is(err, ErrClosed) {
		t.Errorf("Publish after Close: %v", err)
	}
	if err := b.AddNamespace(context.Background(), "/x"); !errors.Is(err, ErrClosed) {
		t.Errorf("AddNamespace after Close: %v", err)
	}
	if _, err := b.ServerCount(context.Background(), "/"); !errors.Is(err, ErrClosed) {
		t.Errorf("ServerCount after Close: %v", err)
	}
	b.RoomCreated("/", "after-close") // no effect, no panic
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestShardedLiveRooms: the room channels of each subscription mode, and
// the RoomWatcher hook that subscribes to them.
func TestShardedLiveRooms(t *testing.T) {
	const sidLike = "kiRXy4TQGBNkWiizAAAH" // 20 characters
	for _, tc := range []struct {
		mode             SubscriptionMode
		roomChannel      bool // "r1" has a channel
		sidChannel       bool // sidLike has a channel
		channelsWithRoom int64
	}{
		{Dynamic, true, false, 1},
		{DynamicPrivate, true, true, 1},
		{Static, false, false, 0},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			c := newClient(t, "")
			prefix := randomPrefix(t)
			inA, inB := newInbox(t), newInbox(t)
			a := newShardedAdapter(t, c, prefix, tc.mode, inA, "/")
			b := newShardedAdapter(t, c, prefix, tc.mode, inB, "/")
			codec := ShardedCodec{Prefix: prefix}
			toRoom := func(room, data string) {
				publish(t, a, cw.ClusterMessage{Type: cw.ClusterBroadcast, Nsp: "/", Rooms: []string{room}, Compress: true,
					Data: []byte(`["` + data + `"]`)})
			}
			expect := func(data string, delivered bool) {
				t.Helper()
				if delivered {
					if got := inB.next(data); string(got.Data) != `["`+data+`"]` {
						t.Fatalf("%s: b got %v %s", data, got.Type, got.Data)
					}
				}
				sentinel(t, a, inB, "after-"+data)
			}

			// Before b reports the room: only what goes on the main
			// channel reaches it.
			toRoom("r1", "r1-before")
			expect("r1-before", !tc.roomChannel)
			toRoom(sidLike, "sid-before")
			expect("sid-before", !tc.sidChannel)

			b.RoomCreated("/", "r1")
			b.RoomCreated("/", "r1") // idempotent
			b.RoomCreated("/", sidLike)
			waitNumSub(t, c, codec.RoomChannel("/", "r1"), map[bool]int64{true: 1}[tc.roomChannel])
			waitNumSub(t, c, codec.RoomChannel("/", sidLike), map[bool]int64{true: 1}[tc.sidChannel])
			toRoom("r1", "r1-created")
			expect("r1-created", true)
			toRoom(sidLike, "sid-created")
			expect("sid-created", true)
			// A broadcast with acks to one room, or to two rooms, takes the
			// main channel whatever the mode.
			publish(t, a, cw.ClusterMessage{Type: cw.ClusterBroadcast, Nsp: "/", Rooms: []string{"r9"}, RequestID: "q",
				Timeout: time.Second, Data: []byte(`["acks"]`)})
			expect("acks", true)
			publish(t, a, cw.ClusterMessage{Type: cw.ClusterBroadcast, Nsp: "/", Rooms: []string{"r8", "r9"}, Data: []byte(`["two"]`)})
			expect("two", true)

			// A room named like a's own uid must not steal its answers'
			// subscription when deleted.
			a.RoomCreated("/", b.UID())
			b.RoomCreated("/", b.UID())
			b.RoomDeleted("/", b.UID())
			b.RoomDeleted("/", "r1")
			b.RoomDeleted("/", "r1")
			b.RoomDeleted("/", sidLike)
			b.RoomDeleted("/", "never-created")
			waitNumSub(t, c, codec.RoomChannel("/", "r1"), 0)
			waitNumSub(t, c, codec.RoomChannel("/", sidLike), 0)
			waitNumSub(t, c, codec.ResponseChannel("/", b.UID()), 1+map[bool]int64{true: 1}[tc.roomChannel])
			a.RoomDeleted("/", b.UID())
			waitNumSub(t, c, codec.ResponseChannel("/", b.UID()), 1)
			toRoom("r1", "r1-deleted")
			expect("r1-deleted", !tc.roomChannel)
			// b still gets its answers.
			publish(t, a, cw.ClusterMessage{Type: cw.ClusterFetchSockets, Nsp: "/", RequestID: "f1"})
			inB.next("fetch")
			publish(t, b, cw.ClusterMessage{Type: cw.ClusterFetchSockets, Nsp: "/", RequestID: "f2"})
			inA.next("fetch")
			publish(t, a, cw.ClusterMessage{Type: cw.ClusterFetchSocketsResponse, Nsp: "/", RequestID: "f2"})
			if got := inB.next("answer"); got.Type != cw.ClusterFetchSocketsResponse || got.RequestID != "f2" {
				t.Fatalf("b got %+v", got)
			}

			// Rooms reported before AddNamespace are subscribed too.
			b.RoomCreated("/early", "r1")
			waitNumSub(t, c, codec.RoomChannel("/early", "r1"), map[bool]int64{true: 1}[tc.roomChannel])
			inA.empty("a")
			inB.empty("b")
		})
	}
}

// TestLiveShardedReconnect kills the sharded adapter's PubSub connection:
// go-redis reconnects and resubscribes every channel, rooms included.
func TestLiveShardedReconnect(t *testing.T) {
	prefix := randomPrefix(t)
	name := prefix + "-b"
	ca, cb := newClient(t, ""), newClient(t, name)
	inA, inB := newInbox(t), newInbox(t)
	a := newShardedAdapter(t, ca, prefix, "", inA, "/", "/chat")
	b := newShardedAdapter(t, cb, prefix, "", inB, "/", "/chat")
	codec := ShardedCodec{Prefix: prefix}
	b.RoomCreated("/chat", "r")
	waitNumSub(t, ca, codec.RoomChannel("/chat", "r"), 1)

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	list, err := ca.ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for line := range strings.SplitSeq(list, "\n") {
		f := clientFields(line)
		if f["name"] == name && f["ssub"] != "0" && f["ssub"] != "" {
			id, _ := strconv.ParseInt(f["id"], 10, 64)
			if err := ca.ClientKillByFilter(ctx, "ID", strconv.FormatInt(id, 10)).Err(); err != nil {
				t.Fatal(err)
			}
			killed++
		}
	}
	if killed != 1 {
		t.Fatalf("found %d sharded PubSub connections named %s in\n%s", killed, name, list)
	}
	deadline := time.Now().Add(wait)
	for serverCount(t, a, "/") != 2 || serverCount(t, a, "/chat") != 2 ||
		shardNumSub(t, ca, codec.RoomChannel("/chat", "r")) != 1 || shardNumSub(t, ca, codec.ResponseChannel("/", b.UID())) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("b did not resubscribe")
		}
		time.Sleep(20 * time.Millisecond)
	}
	publish(t, a, cw.ClusterMessage{Type: cw.ClusterBroadcast, Nsp: "/chat", Rooms: []string{"r"}, Data: []byte(`["again"]`)})
	if got := inB.next("after reconnect"); string(got.Data) != `["again"]` {
		t.Fatalf("got %+v", got)
	}
	publish(t, a, cw.ClusterMessage{Type: cw.ClusterFetchSockets, Nsp: "/", RequestID: "r"})
	if got := inB.next("request after reconnect"); got.Type != cw.ClusterFetchSockets {
		t.Fatalf("got %+v", got)
	}
	publish(t, b, cw.ClusterMessage{Type: cw.ClusterFetchSocketsResponse, Nsp: "/", RequestID: "r"})
	if got := inA.next("answer after reconnect"); got.Type != cw.ClusterFetchSocketsResponse {
		t.Fatalf("got %+v", got)
	}
}

// TestLiveShardedDrops: malformed messages, other namespaces', own ones
// and heartbeats, SPUBLISHed raw; and a classic PUBLISH is not seen.
func TestLiveShardedDrops(t *testing.T) {
	c := newClient(t, "")
	prefix := randomPrefix(t)
	in := newInbox(t)
	a := newShardedAdapter(t, c, prefix, "", in, "/")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	codec := ShardedCodec{Prefix: prefix}
	main := codec.MainChannel("/")
	raw := func(payload string) {
		t.Helper()
		if err := c.SPublish(ctx, main, payload).Err(); err != nil {
			t.Fatal(err)
		}
	}
	raw("garbage")
	raw(`{"type":3,"data":{"packet":{"type":2,"data":["x"]},"opts":{"rooms":[],"except":[],"flags":{}}},"uid":"other","nsp":"/chat"}`)
	raw(`{"type":9,"data":{"packet":["mine"]},"uid":"` + a.UID() + `","nsp":"/"}`)
	raw(`{"type":2,"uid":"other","nsp":"/"}`)
	if err := c.Publish(ctx, main, `{"type":9,"data":{"packet":["classic"]},"uid":"other","nsp":"/"}`).Err(); err != nil {
		t.Fatal(err)
	}
	raw(`{"type":9,"data":{"packet":["delivered"]},"uid":"other","nsp":"/"}`)
	if got := in.next("delivered"); string(got.Data) != `["delivered"]` {
		t.Fatalf("got %v %s", got.Type, got.Data)
	}
	in.empty("drops")
}

func TestShardedOptions(t *testing.T) {
	c := newClient(t, "")
	ctx := context.Background()
	in := newInbox(t)
	if _, err := New(ctx, Options{Client: c, Receive: in.receive, SubscriptionMode: Static}); err == nil {
		t.Error("SubscriptionMode without Sharded accepted")
	}
	if _, err := New(ctx, Options{Client: c, Receive: in.receive, Sharded: true, SubscriptionMode: "dynamik"}); err == nil {
		t.Error("unknown SubscriptionMode accepted")
	}
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": redisAddr}})
	defer ring.Close()
	if _, err := New(ctx, Options{Client: ring, Receive: in.receive, Sharded: true}); err == nil {
		t.Error("a Ring accepted in sharded mode")
	}
	// The default prefix is Node's default channelPrefix.
	a, err := New(ctx, Options{Client: c, Receive: in.receive, Sharded: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.sh.codec.Prefix != wire.DefaultPrefix || a.sh.codec.Mode != Dynamic {
		t.Errorf("codec %+v", a.sh.codec)
	}
	// Classic adapters take the hook and ignore it.
	classic := newAdapter(t, c, randomPrefix(t), in, false, "/")
	classic.RoomCreated("/", "r")
	classic.RoomDeleted("/", "r")
}

// TestLiveShardedCloseReleases: Close ends every goroutine the adapter
// started, with room subscriptions and their worker.
func TestLiveShardedCloseReleases(t *testing.T) {
	c := newClient(t, "")
	before := runtime.NumGoroutine()
	in := newInbox(t)
	a, err := New(context.Background(), Options{Client: c, Prefix: randomPrefix(t), Sharded: true, Receive: in.receive})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.AddNamespace(context.Background(), "/"); err != nil {
		t.Fatal(err)
	}
	a.RoomCreated("/", "r")
	a.RoomCreated("/", "s")
	a.RoomDeleted("/", "r")
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

func TestHashSlot(t *testing.T) {
	// Values from the Redis documentation (CLUSTER KEYSLOT) and CRC16's
	// check value.
	for key, want := range map[string]int{"123456789": 12739, "foo": 12182, "bar": 5061, "somekey": 11058,
		"foo{hash_tag}": 2515, "bar{hash_tag}": 2515} {
		if got := hashSlot(key); got != want {
			t.Errorf("hashSlot(%q) = %d, want %d", key, got, want)
		}
	}
	// Hash tags: the first {...} with something inside.
	for key, same := range map[string]string{"foo{bar}{zap}": "bar", "foo{{bar}}zap": "{bar", "x{bar}": "bar"} {
		if hashSlot(key) != hashSlot(same) {
			t.Errorf("hashSlot(%q) != hashSlot(%q)", key, same)
		}
	}
	if hashSlot("foo{}{bar}") == hashSlot("bar") && hashSlot("foo{}{bar}") == hashSlot("") {
		t.Error("empty hash tag used")
	}
}
