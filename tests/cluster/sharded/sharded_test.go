// Package sharded tests Go servers joined by the sharded Redis adapter
// (Node's createShardedAdapter protocol) through the whole host: the
// core's RoomCreated/RoomDeleted reach the adapter, which subscribes the
// room channels other servers publish single-room broadcasts on.
package sharded

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/socketcore/socketcore/adapter"
	redisadapter "github.com/socketcore/socketcore/adapter/redis"
	"github.com/socketcore/socketcore/hosts/native"
	"github.com/socketcore/socketcore/internal/leaktest"
	"github.com/socketcore/socketcore/internal/redistest"
)

func TestMain(m *testing.M) { leaktest.Main(m) }

// redisAddr is REDIS_URL's (default 127.0.0.1:6379).
var redisAddr = redistest.EnvAddr()

func redisClient(t *testing.T) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: redisAddr})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		t.Fatalf("Redis 7 is not reachable at %s (%v): start one with\n\tredis-server --port 6379 --save '' --appendonly no", redisAddr, err)
	}
	return c
}

func startServer(t *testing.T, prefix string, mode redisadapter.SubscriptionMode, setup func(*native.Server)) (*native.Server, string) {
	t.Helper()
	client := redisClient(t)
	t.Cleanup(func() { client.Close() })
	srv, err := native.Start(native.Options{Adapter: func(receive adapter.Receive) (adapter.Adapter, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return redisadapter.New(ctx, redisadapter.Options{Client: client, Prefix: prefix, Receive: receive,
			Sharded: true, SubscriptionMode: mode})
	}})
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(srv)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.CloseClientConnections(); hs.Close(); srv.Close() })
	return srv, hs.URL
}

func within[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

// A single-room broadcast from one server reaches a socket of that room on
// another in every subscription mode (in the dynamic ones only because the
// room's creation reached the adapter, which subscribed its channel), and
// stops reaching it once it left the room.
func TestShardedRoomBroadcastAcrossServers(t *testing.T) {
	for _, mode := range []redisadapter.SubscriptionMode{redisadapter.Dynamic, redisadapter.DynamicPrivate, redisadapter.Static} {
		t.Run(string(mode), func(t *testing.T) {
			var b [6]byte
			rand.Read(b[:])
			prefix := "shtest-" + hex.EncodeToString(b[:])
			a, _ := startServer(t, prefix, mode, nil)
			joined := make(chan string, 1)
			_, urlB := startServer(t, prefix, mode, func(s *native.Server) {
				s.OnConnection(func(so *native.Socket) {
					so.On("join", func(room string, ack native.Ack) { so.Join(room); ack("ok") })
					so.On("leave", func(room string, ack native.Ack) { so.Leave(room); ack("ok") })
					joined <- so.ID()
				})
			})
			c, err := native.Dial(urlB, native.ClientOptions{Transports: []string{"websocket"}, NoAutoConnect: true})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			news := make(chan string, 8)
			c.On("news", func(s string) { news <- s })
			c.Connect()
			within(t, joined, "the connection")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := c.EmitWithAck(ctx, "join", "room-1"); err != nil {
				t.Fatal(err)
			}
			// the subscription is made by the adapter's goroutine: send
			// until one arrives (bounded), then check the rest in order
			deadline := time.Now().Add(5 * time.Second)
			for got := false; !got; {
				if time.Now().After(deadline) {
					t.Fatal("no single-room broadcast reached the other server's socket")
				}
				a.To("room-1").Emit("news", "probe")
				select {
				case <-news:
					got = true
				case <-time.After(100 * time.Millisecond):
				}
			}
			for len(news) > 0 {
				<-news
			}
			a.To("room-1").Emit("news", "one")
			if got := within(t, news, "news"); got != "one" {
				t.Fatalf("news %q", got)
			}
			if _, err := c.EmitWithAck(ctx, "leave", "room-1"); err != nil {
				t.Fatal(err)
			}
			a.To("room-1").Emit("news", "after leaving") // must not arrive
			a.Emit("news", "everyone")                   // arrives (main channel), after it if at all
			if got := within(t, news, "news to everyone"); got != "everyone" {
				t.Fatalf("after leaving the room the socket got %q", got)
			}
		})
	}
}
