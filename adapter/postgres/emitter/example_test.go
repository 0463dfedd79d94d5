package emitter_test

import (
	"context"
	"log"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/socketcore/socketcore/adapter/postgres/emitter"
)

// The servers of the cluster run @socket.io/postgres-adapter (or
// socketcore --postgres) with the default channel prefix and table.
func Example() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://postgres@127.0.0.1:5432/test")
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	e := emitter.New(pool, emitter.Options{})

	// To every client of "/", and to /chat's room1 but not room2, with binary.
	if err := e.Emit(ctx, "news", map[string]any{"title": "hello"}); err != nil {
		log.Print(err)
	}
	chat := e.Of("/chat")
	if err := chat.To("room1").Except("room2").Emit(ctx, "message", "hi", []byte{1, 2, 3}); err != nil {
		log.Print(err)
	}
	// Make room1's sockets join room3; to the servers themselves.
	if err := chat.In("room1").SocketsJoin(ctx, "room3"); err != nil {
		log.Print(err)
	}
	if err := chat.ServerSideEmit(ctx, "reload", 42); err != nil {
		log.Print(err)
	}
}
