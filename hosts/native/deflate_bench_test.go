package native

import (
	"fmt"
	"strings"
	"testing"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// BenchmarkBroadcastDeflate is the driver's part of a broadcast of a 4 KB
// event to N WebSockets over loopback TCP (frames prepared, written to
// each connection): "plain" without permessage-deflate, "deflate" with it
// negotiated on every connection — compressed once per broadcast
// (compressions/op stays 1 whatever N, and so do allocs/op) — and
// "per-socket", the same event sent to each connection with a Send, which
// compresses it N times, as Node does (ws compresses per socket).
func BenchmarkBroadcastDeflate(b *testing.B) {
	frames := []wire.Frame{{Data: tickEvent()}}
	for _, mode := range []string{"plain", "deflate", "per-socket"} {
		for _, n := range []int{1, 16, 128} {
			b.Run(fmt.Sprintf("%s/conns=%d", mode, n), func(b *testing.B) {
				benchBroadcast(b, mode, n, frames)
			})
		}
	}
}

func benchBroadcast(b *testing.B, mode string, conns int, frames []wire.Frame) {
	var cfg *wsDeflate
	if mode != "plain" {
		cfg = newWSDeflate(&Deflate{})
	}
	cs, closeAll := loopbackConns(b, conns, cfg)
	d := newDriver(&scriptedMachine{}, nil)
	ids := make([]wire.ConnID, conns)
	d.call(func(clock.Instant) {
		d.writeQueueLimit = 1 << 20
		for i, c := range cs {
			ids[i] = c.id
			d.ws[c.id] = c
		}
	})
	var before uint64
	d.call(func(clock.Instant) { before = d.z.messages })
	bc := wire.Broadcast{Conns: ids, Frames: frames, Compress: true}
	b.ReportAllocs()
	b.SetBytes(int64(len(frames[0].Data) * conns))
	for b.Loop() {
		d.call(func(clock.Instant) {
			if mode == "per-socket" {
				for _, id := range ids {
					d.perform(wire.Send{Conn: id, Frames: frames, Compress: true})
				}
				return
			}
			d.perform(bc)
		}) // the drain's flush writes them
	}
	b.StopTimer()
	var after uint64
	d.call(func(clock.Instant) { after = d.z.messages })
	b.ReportMetric(float64(after-before)/float64(b.N), "compressions/op")
	d.stop()
	closeAll()
}

// tickEvent is a 4 KB Socket.IO event of JSON quotes.
func tickEvent() []byte {
	var sb strings.Builder
	sb.WriteString(`42["tick",[`)
	for i := 0; sb.Len() < 4000; i++ {
		fmt.Fprintf(&sb, `{"id":%d,"symbol":"SYM%d","bid":%d.%02d,"ask":%d.%02d},`, i, i%37, 100+i%13, i%100, 101+i%11, (i*7)%100)
	}
	sb.WriteString(`{}]]`)
	return []byte(sb.String())
}

// BenchmarkDeflateLevel is one message's compression (tickEvent, 4 KB) at
// some levels: the cost of Deflate.Level; bytes/msg is the result's size.
func BenchmarkDeflateLevel(b *testing.B) {
	msg := tickEvent()
	for _, level := range []int{1, 6, 9} {
		b.Run(fmt.Sprintf("level=%d", level), func(b *testing.B) {
			var z deflater
			n := 0
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				n = len(z.compress(msg, level))
			}
			b.ReportMetric(float64(n), "bytes/msg")
		})
	}
}
