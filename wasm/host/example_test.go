package host_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
	"github.com/socketcore/socketcore/wasm/host"
	"github.com/socketcore/socketcore/wasm/wasmtest"
)

// A Go program embedding core.wasm: load the module once, start one
// machine per shard, and drive it like core.Server: feed inputs with the
// current instant, drain Poll until Wait, perform the outputs.
func Example() {
	ctx := context.Background()
	path, err := wasmtest.Build() // in a real program: the file `make wasm` builds
	if err != nil {
		log.Fatal(err)
	}
	cache, _ := os.UserCacheDir()
	mod, err := host.Load(ctx, path, host.Options{CacheDir: cache + "/socketcore/wazero"})
	if err != nil {
		log.Fatal(err) // a bad module or another ABI version stops here
	}
	defer mod.Close(ctx)

	var cfg core.Config
	cfg.Seed = [32]byte{42} // a real server passes crypto/rand bytes
	m, err := mod.NewMachine(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Release(ctx)

	now := clock.Instant(1) // the host's monotonic clock, in ns
	drain := func() {
		for {
			switch o := m.Poll().(type) {
			case wire.Wait:
				return // arm one timer at o.Deadline, then wait for I/O
			case wire.AcceptWebSocket:
				fmt.Println("upgrade connection", o.Conn)
			case wire.Send:
				for _, f := range o.Frames {
					fmt.Printf("write to %d: %.40s\n", o.Conn, f.Data)
				}
			case wire.Connected:
				fmt.Println("socket connected to", o.Nsp)
			case wire.EventReceived:
				fmt.Printf("event %q %s\n", o.Name, o.Data)
				m.Ack(o.Ack, []byte(`["got it"]`), nil) // answer while draining
			}
		}
	}
	m.Handle(now, wire.HTTPRequest{Conn: 1, Method: "GET", Query: "EIO=4&transport=websocket", WebSocket: true})
	drain()
	m.Handle(now, wire.Recv{Conn: 1, Data: []byte("40")})
	drain()
	m.Handle(now, wire.Recv{Conn: 1, Data: []byte(`421["hello","wasm"]`)})
	drain()
	if err := m.Err(); err != nil {
		log.Fatal(err) // a trap: replace the shard
	}
	// Output:
	// upgrade connection 1
	// write to 1: 0{"sid":"IjAfuNgpeNrwB7BWFJaf","upgrades
	// socket connected to /
	// write to 1: 40{"sid":"A9AGJnP1WUSVeY00DAoX"}
	// event "hello" ["hello","wasm"]
	// write to 1: 431["got it"]
}
