package main

import (
	"testing"

	"github.com/socketcore/socketcore/core/wire"
	"github.com/socketcore/socketcore/wasm/abi"
)

// The dispatcher's own cost, natively: what core.wasm adds around the core
// besides the WebAssembly penalty.
func BenchmarkDispatchEvent(b *testing.B) {
	t := &testing.T{}
	g := newGuest(t)
	g.buffer(64 << 10)
	for _, in := range []any{
		wire.HTTPRequest{Conn: 1, Method: "GET", Query: "EIO=4&transport=websocket", WebSocket: true},
		wire.Recv{Conn: 1, Data: []byte("40")},
	} {
		g.call(t, in)
		for g.poll(0, uint32(len(g.xbuf)))>>32 != int64(abi.KindWait) {
		}
	}
	_, rec, _ := abi.Append(nil, wire.Recv{Conn: 1, Data: []byte(`42["event","01234567890123456789012345678901234567890123456789012345678901234567890123456789"]`)})
	b.ReportAllocs()
	for b.Loop() {
		copy(g.xbuf, rec)
		if r := g.handle(2, uint32(abi.KindRecv), 0, uint32(len(rec)), uint32(len(g.xbuf))); r != 0 {
			b.Fatal(r)
		}
		for g.poll(0, uint32(len(g.xbuf)))>>32 != int64(abi.KindWait) {
		}
	}
}
