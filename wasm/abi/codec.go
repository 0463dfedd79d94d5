package abi

import "math"

// The primitives of the record encoding (wasm/ABI.md "Encoding"): fixed
// width little-endian integers, u8 booleans that must be 0 or 1, and
// u32-length-prefixed byte strings and lists. A record is its fields in
// declaration order with nothing before or after them, so every value has
// exactly one encoding (the fuzz target checks it).

func appendU8(b []byte, v uint8) []byte { return append(b, v) }

//go:noinline
func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// Hand-written rather than encoding/binary, which would link reflect into
// core.wasm. The appenders are not inlined: inlined at every field they
// tripled the codec's share of core.wasm for no measurable speed.
//
//go:noinline
func appendU32(b []byte, v uint32) []byte {
	return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
}

//go:noinline
func appendU64(b []byte, v uint64) []byte {
	return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24), byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56))
}
func appendI64(b []byte, v int64) []byte { return appendU64(b, uint64(v)) }

func appendLen(b []byte, n int) []byte { return appendU32(b, uint32(n)) }

//go:noinline
func appendBytes(b, p []byte) []byte {
	b = appendLen(b, len(p))
	return append(b, p...)
}

//go:noinline
func appendString(b []byte, s string) []byte {
	b = appendLen(b, len(s))
	return append(b, s...)
}

func appendBytesList(b []byte, l [][]byte) []byte {
	b = appendLen(b, len(l))
	for _, p := range l {
		b = appendBytes(b, p)
	}
	return b
}

func appendStrings[S ~string](b []byte, l []S) []byte {
	b = appendLen(b, len(l))
	for _, s := range l {
		b = appendString(b, string(s))
	}
	return b
}

// dec reads one record. Errors are sticky: after the first one every read
// returns zero values and finish reports ErrBadRecord. Byte slices alias the
// input; strings are copies.
type dec struct {
	b   []byte
	off int
	bad bool
}

func (d *dec) take(n int) []byte {
	if d.bad || n < 0 || n > len(d.b)-d.off {
		d.bad = true
		return nil
	}
	p := d.b[d.off : d.off+n : d.off+n]
	d.off += n
	return p
}

//go:noinline
func (d *dec) u8() uint8 {
	p := d.take(1)
	if p == nil {
		return 0
	}
	return p[0]
}

//go:noinline
func (d *dec) bool() bool {
	switch d.u8() {
	case 0:
		return false
	case 1:
		return true
	}
	d.bad = true
	return false
}

//go:noinline
func (d *dec) u32() uint32 {
	p := d.take(4)
	if p == nil {
		return 0
	}
	return uint32(p[0]) | uint32(p[1])<<8 | uint32(p[2])<<16 | uint32(p[3])<<24
}

//go:noinline
func (d *dec) u64() uint64 {
	p := d.take(8)
	if p == nil {
		return 0
	}
	return uint64(p[0]) | uint64(p[1])<<8 | uint64(p[2])<<16 | uint64(p[3])<<24 |
		uint64(p[4])<<32 | uint64(p[5])<<40 | uint64(p[6])<<48 | uint64(p[7])<<56
}

//go:noinline
func (d *dec) i64() int64 { return int64(d.u64()) }

// int reads an i64 that must fit the platform's int (always true on the
// 64-bit targets; the check keeps the encoding canonical elsewhere).
//
//go:noinline
func (d *dec) int() int {
	v := d.i64()
	if v < math.MinInt || v > math.MaxInt {
		d.bad = true
		return 0
	}
	return int(v)
}

// count reads a list length, refusing one that could not fit in what is
// left given that every item takes at least min bytes (so a corrupt count
// never makes the decoder allocate).
func (d *dec) count(min int) int {
	n := d.u32()
	if d.bad {
		return 0
	}
	if uint64(n)*uint64(min) > uint64(len(d.b)-d.off) {
		d.bad = true
		return 0
	}
	return int(n)
}

//go:noinline
func (d *dec) bytes() []byte {
	n := d.count(1)
	if n == 0 {
		return nil
	}
	return d.take(n)
}

//go:noinline
func (d *dec) string() string { return string(d.bytes()) }

func (d *dec) bytesList() [][]byte {
	n := d.count(4)
	if n == 0 {
		return nil
	}
	l := make([][]byte, n)
	for i := range l {
		l[i] = d.bytes()
	}
	return l
}

func decodeStrings[S ~string](d *dec) []S {
	n := d.count(4)
	if n == 0 {
		return nil
	}
	l := make([]S, n)
	for i := range l {
		l[i] = S(d.string())
	}
	return l
}

func (d *dec) finish() error {
	if d.bad || d.off != len(d.b) {
		return ErrBadRecord
	}
	return nil
}
