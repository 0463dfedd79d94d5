package conformance

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
	"github.com/socketcore/socketcore/wasm/host"
	"github.com/socketcore/socketcore/wasm/wasmtest"
)

// The same packet scenarios on both machines (budget: core.wasm ≤ 8× the
// native core per packet). Compare with
//
//	go test ./tests/conformance -run '^$' -bench . -benchmem

var machines = []struct {
	name string
	new  Factory
}{
	{"native", Native},
	{"wasm", wasmFactory},
}

// payload is about 100 bytes on the wire with its packet header.
var payload = strings.Repeat("x", 80)

func benchMachine(b *testing.B, f Factory, sockets int) (Machine, []wire.SocketID) {
	b.Helper()
	cfg := TestConfig()
	cfg.PingInterval = time.Hour
	cfg.PingTimeout = time.Hour
	m := f(b, cfg)
	now := clock.Instant(1)
	ids := make([]wire.SocketID, 0, sockets)
	for i := 1; i <= sockets; i++ {
		c := wire.ConnID(i)
		m.Handle(now, wire.HTTPRequest{Conn: c, Method: "GET", Query: "EIO=4&transport=websocket", WebSocket: true})
		m.Handle(now, wire.Recv{Conn: c, Data: []byte("40")})
		for {
			o := m.Poll()
			if _, ok := o.(wire.Wait); ok {
				break
			}
			if cn, ok := o.(wire.Connected); ok {
				ids = append(ids, cn.Socket)
			}
		}
	}
	if len(ids) != sockets {
		b.Fatalf("%d sockets connected", len(ids))
	}
	return m, ids
}

// BenchmarkEcho: one event with an ack request in, the application's ack
// out: Handle(Recv) → EventReceived → Ack → Send (acks/s of `make bench`).
func BenchmarkEcho(b *testing.B) {
	in := []byte(`421["echo","` + payload + `"]`)
	args := []byte(`["` + payload + `"]`)
	for _, mc := range machines {
		b.Run(mc.name, func(b *testing.B) {
			m, _ := benchMachine(b, mc.new, 1)
			now := clock.Instant(2)
			b.ReportAllocs()
			for b.Loop() {
				if err := m.Handle(now, wire.Recv{Conn: 1, Data: in}); err != nil {
					b.Fatal(err)
				}
				sent := false
				for {
					o := m.Poll()
					if _, ok := o.(wire.Wait); ok {
						break
					}
					switch o := o.(type) {
					case wire.EventReceived:
						if err := m.Ack(o.Ack, args, nil); err != nil {
							b.Fatal(err)
						}
					case wire.Send:
						sent = true
					}
				}
				if !sent {
					b.Fatal("no ack sent")
				}
			}
		})
	}
}

// BenchmarkEvent: one event in, EventReceived out.
func BenchmarkEvent(b *testing.B) {
	in := []byte(`42["event","` + payload + `"]`)
	for _, mc := range machines {
		b.Run(mc.name, func(b *testing.B) {
			m, _ := benchMachine(b, mc.new, 1)
			b.ReportAllocs()
			for b.Loop() {
				m.Handle(2, wire.Recv{Conn: 1, Data: in})
				for {
					if _, ok := m.Poll().(wire.Wait); ok {
						break
					}
				}
			}
		})
	}
}

// BenchmarkEmit: the application emits to one socket; one Send out.
func BenchmarkEmit(b *testing.B) {
	data := []byte(`["event","` + payload + `"]`)
	for _, mc := range machines {
		b.Run(mc.name, func(b *testing.B) {
			m, ids := benchMachine(b, mc.new, 1)
			b.ReportAllocs()
			for b.Loop() {
				m.Emit(2, core.Emit{Socket: ids[0], Data: data})
				for {
					if _, ok := m.Poll().(wire.Wait); ok {
						break
					}
				}
			}
		})
	}
}

// BenchmarkBroadcast: one event to every socket of a namespace.
func BenchmarkBroadcast(b *testing.B) {
	data := []byte(`["news","` + payload + `"]`)
	for _, n := range []int{100, 10000} {
		for _, mc := range machines {
			b.Run(mc.name+"/"+strconv.Itoa(n), func(b *testing.B) {
				m, _ := benchMachine(b, mc.new, n)
				b.ReportAllocs()
				for b.Loop() {
					m.Broadcast(2, core.Broadcast{Nsp: "/", Data: data})
					for {
						if _, ok := m.Poll().(wire.Wait); ok {
							break
						}
					}
				}
			})
		}
	}
}

// BenchmarkInstanceStart: a new core.wasm instance and its machine, from
// an already compiled module (budget ≤ 20 ms).
func BenchmarkInstanceStart(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		m, err := wasmModule.NewMachine(ctx, TestConfig())
		if err != nil {
			b.Fatal(err)
		}
		m.Release(ctx)
	}
}

// BenchmarkCompileWarmCache: loading core.wasm when the compilation cache
// already holds it (a process restart).
func BenchmarkCompileWarmCache(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	path := wasmtest.Path(b)
	m, err := host.Load(ctx, path, host.Options{CacheDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	m.Close(ctx)
	for b.Loop() {
		m, err := host.Load(ctx, path, host.Options{CacheDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		m.Close(ctx)
	}
}
