package emitter_test

import (
	"context"
	"log"

	"github.com/redis/go-redis/v9"

	"github.com/socketcore/socketcore/adapter/emitter"
)

// The servers of the cluster run @socket.io/redis-adapter with the key
// "socket.io" (the default) on this Redis.
func Example() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer client.Close()
	e := emitter.New(client, emitter.Options{Key: "socket.io"})
	ctx := context.Background()

	// To every client of the namespace "/".
	if err := e.Emit(ctx, "news", map[string]any{"title": "hello"}); err != nil {
		log.Print(err)
	}

	// To the clients of /chat in room1 but not in room2; the []byte arrives
	// as a Buffer/ArrayBuffer.
	type msg struct {
		From string `json:"from"`
		Text string `json:"text"`
	}
	chat := e.Of("/chat")
	if err := chat.To("room1").Except("room2").Volatile().Emit(ctx, "message", msg{"bot", "hi"}, []byte{1, 2, 3}); err != nil {
		log.Print(err)
	}

	// Make the sockets of room1 join room3, then disconnect room2's.
	if err := chat.In("room1").SocketsJoin(ctx, "room3"); err != nil {
		log.Print(err)
	}
	if err := chat.To("room2").DisconnectSockets(ctx, true); err != nil {
		log.Print(err)
	}

	// To the servers themselves: io.of("/chat").on("reload", ...).
	if err := chat.ServerSideEmit(ctx, "reload", 42); err != nil {
		log.Print(err)
	}
}
