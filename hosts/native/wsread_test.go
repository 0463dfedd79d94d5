package native

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

// recordSink records what a frameReader reports, in order.
type recordSink struct{ events []string }

func (s *recordSink) message(bin bool, data []byte) {
	s.events = append(s.events, fmt.Sprintf("msg bin=%v %q", bin, data))
}
func (s *recordSink) ping(p []byte) { s.events = append(s.events, fmt.Sprintf("ping %q", p)) }
func (s *recordSink) closeFrame(code int, reason string) {
	s.events = append(s.events, fmt.Sprintf("close %d %q", code, reason))
}

// clientFrame encodes a frame as a client sends it (masked).
func clientFrame(rng *rand.Rand, fin bool, op byte, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	f := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		f = append(f, 0x80|byte(n))
	case n < 1<<16:
		f = append(f, 0x80|126, byte(n>>8), byte(n))
	default:
		f = append(f, 0x80|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	var key [4]byte
	binary.LittleEndian.PutUint32(key[:], rng.Uint32())
	f = append(f, key[:]...)
	for i, c := range payload {
		f = append(f, c^key[i&3])
	}
	return f
}

// feedChunks feeds stream in random pieces, as reads would deliver it.
func feedChunks(rng *rand.Rand, r *frameReader, sink frameSink, stream []byte) error {
	stream = append([]byte(nil), stream...) // feed may unmask in place
	for len(stream) > 0 {
		n := 1 + rng.IntN(len(stream))
		if rng.IntN(3) == 0 {
			n = min(len(stream), 1+rng.IntN(3))
		}
		if err := r.feed(stream[:n], sink); err != nil {
			return err
		}
		stream = stream[n:]
	}
	return nil
}

func TestFrameReaderMessages(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	big := bytes.Repeat([]byte("x"), 70000)
	mid := bytes.Repeat([]byte("é"), 300)
	var stream []byte
	stream = append(stream, clientFrame(rng, true, 0x1, []byte("42[\"a\"]"))...)
	stream = append(stream, clientFrame(rng, true, 0x2, []byte{0, 1, 2, 255})...)
	stream = append(stream, clientFrame(rng, true, 0x1, nil)...)
	// fragmented text with a ping between its frames
	stream = append(stream, clientFrame(rng, false, 0x1, mid[:101])...) // splits a UTF-8 sequence
	stream = append(stream, clientFrame(rng, true, 0x9, []byte("hb"))...)
	stream = append(stream, clientFrame(rng, false, 0x0, mid[101:400])...)
	stream = append(stream, clientFrame(rng, true, 0xa, []byte("pong"))...)
	stream = append(stream, clientFrame(rng, true, 0x0, mid[400:])...)
	stream = append(stream, clientFrame(rng, true, 0x2, big)...) // 64-bit length
	stream = append(stream, clientFrame(rng, true, 0x1, big[:300])...)
	stream = append(stream, clientFrame(rng, true, 0x8, append([]byte{0x03, 0xe8}, "bye"...))...)
	stream = append(stream, clientFrame(rng, true, 0x1, []byte("after close"))...)
	want := []string{
		`msg bin=false "42[\"a\"]"`,
		`msg bin=true "\x00\x01\x02\xff"`,
		`msg bin=false ""`,
		`ping "hb"`,
		fmt.Sprintf("msg bin=false %q", mid),
		fmt.Sprintf("msg bin=true %q", big),
		fmt.Sprintf("msg bin=false %q", big[:300]),
		`close 1000 "bye"`,
	}
	for trial := 0; trial < 200; trial++ {
		r := &frameReader{limit: 100000}
		var sink recordSink
		err := feedChunks(rng, r, &sink, stream)
		if !errors.Is(err, errPeerClosed) {
			t.Fatalf("trial %d: err = %v", trial, err)
		}
		if !reflect.DeepEqual(sink.events, want) {
			t.Fatalf("trial %d:\n got %.200q\nwant %.200q", trial, sink.events, want)
		}
	}
}

func TestFrameReaderViolations(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	unmasked := clientFrame(rng, true, 0x1, []byte("hi"))
	unmasked[1] &^= 0x80
	rsv := clientFrame(rng, true, 0x1, []byte("hi"))
	rsv[0] |= 0x40
	cases := []struct {
		name   string
		stream []byte
		code   int
	}{
		{"unmasked", unmasked, closeProtocolError},
		{"reserved bits", rsv, closeProtocolError},
		{"reserved opcode", clientFrame(rng, true, 0x3, nil), closeProtocolError},
		{"long control", clientFrame(rng, true, 0x9, make([]byte, 126)), closeProtocolError},
		{"fragmented control", clientFrame(rng, false, 0x9, nil), closeProtocolError},
		{"lone continuation", clientFrame(rng, true, 0x0, []byte("x")), closeProtocolError},
		{"data inside fragments", append(clientFrame(rng, false, 0x1, []byte("a")), clientFrame(rng, true, 0x1, []byte("b"))...), closeProtocolError},
		{"too big", clientFrame(rng, true, 0x2, make([]byte, 1001)), closeTooBig},
		{"too big in fragments", append(clientFrame(rng, false, 0x2, make([]byte, 600)), clientFrame(rng, true, 0x0, make([]byte, 401))...), closeTooBig},
		{"invalid UTF-8", clientFrame(rng, true, 0x1, []byte{'4', 0xff}), closeInvalidData},
		{"invalid UTF-8 across fragments", append(clientFrame(rng, false, 0x1, []byte{0xc3}), clientFrame(rng, true, 0x0, []byte{'a'})...), closeInvalidData},
		{"close code 1005 on the wire", clientFrame(rng, true, 0x8, []byte{0x03, 0xed}), closeProtocolError},
		{"close with one byte", clientFrame(rng, true, 0x8, []byte{0x03}), closeProtocolError},
		{"close reason not UTF-8", clientFrame(rng, true, 0x8, []byte{0x03, 0xe8, 0xff}), closeInvalidData},
	}
	for _, c := range cases {
		for trial := 0; trial < 20; trial++ {
			r := &frameReader{limit: 1000}
			var sink recordSink
			err := feedChunks(rng, r, &sink, c.stream)
			var fe *frameError
			if !errors.As(err, &fe) || fe.Code != c.code {
				t.Fatalf("%s: err = %v, want close code %d", c.name, err, c.code)
			}
			if len(sink.events) != 0 {
				t.Fatalf("%s: delivered %q", c.name, sink.events)
			}
		}
	}
	// A close frame without a payload reports 1005.
	var sink recordSink
	if err := (&frameReader{limit: 10}).feed(clientFrame(rng, true, 0x8, nil), &sink); !errors.Is(err, errPeerClosed) ||
		!reflect.DeepEqual(sink.events, []string{`close 1005 ""`}) {
		t.Fatalf("empty close: %v %q", err, sink.events)
	}
}

// FuzzFrameReader: any bytes, in any pieces, give the same events and the
// same verdict as when fed at once, and never panic.
func FuzzFrameReader(f *testing.F) {
	rng := rand.New(rand.NewPCG(1, 1))
	f.Add(clientFrame(rng, true, 0x1, []byte("42[\"x\"]")), uint64(1))
	f.Add(append(clientFrame(rng, false, 0x2, []byte{1, 2}), clientFrame(rng, true, 0x0, []byte{3})...), uint64(2))
	f.Add(clientFrame(rng, true, 0x8, []byte{0x03, 0xe8}), uint64(3))
	f.Add([]byte{0x81, 0xff, 0, 0, 0, 0, 0, 0, 0x10, 0}, uint64(4))
	f.Fuzz(func(t *testing.T, stream []byte, seed uint64) {
		whole := &frameReader{limit: 4096}
		var want recordSink
		wantErr := whole.feed(append([]byte(nil), stream...), &want)

		pieces := &frameReader{limit: 4096}
		var got recordSink
		gotErr := feedChunks(rand.New(rand.NewPCG(seed, seed)), pieces, &got, stream)
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !reflect.DeepEqual(got.events, want.events) {
			t.Fatalf("in pieces: %v %q\nat once: %v %q", gotErr, got.events, wantErr, want.events)
		}
	})
}

func TestUnmask(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for n := 0; n < 40; n++ {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		key := [4]byte{1, 2, 3, 4}
		got := append([]byte(nil), data...)
		unmask(key, got)
		for i := range data {
			if got[i] != data[i]^key[i%4] {
				t.Fatalf("len %d: byte %d", n, i)
			}
		}
	}
}
