package eio

import (
	"strings"
	"testing"
)

var (
	benchText    = []byte(`42["chat message",{"user":"alice","text":"hello there, how are you doing today?"}]`)
	benchBinary  = []byte(strings.Repeat("\x01\x02\x03\x04", 64))
	benchPayload = []byte("4hello\x1e2\x1e" + string(benchText) + "\x1ebAQIDBA==\x1e" + string(benchText))
)

func BenchmarkDecodePacket(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchText)))
	for b.Loop() {
		if _, err := DecodePacket(benchText, false); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendPacket(b *testing.B) {
	p := Packet{Type: Message, Data: benchText[1:]}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchText)))
	for b.Loop() {
		buf = AppendPacket(buf[:0], p)
	}
}

func BenchmarkDecodePayload(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchPayload)))
	for b.Loop() {
		n := 0
		if err := DecodePayload(benchPayload, func(Packet) bool { n++; return true }); err != nil || n != 5 {
			b.Fatal(err, n)
		}
	}
}

func BenchmarkDecodePayloadBinary(b *testing.B) {
	body := AppendPayloadPacket(nil, Packet{Type: Message, Data: benchBinary, Binary: true})
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := DecodePayload(body, func(Packet) bool { return true }); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendPayload(b *testing.B) {
	frames := [][]byte{AppendPacket(nil, Packet{Type: Message, Data: benchText[1:]}), benchBinary, []byte("2")}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		buf = AppendEncodedToPayload(buf, frames[0], false)
		buf = AppendEncodedToPayload(buf, frames[1], true)
		buf = AppendEncodedToPayload(buf, frames[2], false)
	}
}
