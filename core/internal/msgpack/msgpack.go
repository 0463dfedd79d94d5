// Package msgpack is the minimal MessagePack reader and writer of the
// protocol core (https://github.com/msgpack/msgpack/blob/master/spec.md),
// enough for socket.io-msgpack-parser: a token reader over raw bytes and
// append-style writers that pick the encodings notepack.io 2.2 picks.
//
// It exists because core/ may not use reflection or third-party codecs. Like
// the rest of core/ it imports only pure standard packages, allocates only
// what the caller's slices grow by, and never panics on any input.
package msgpack

import (
	"errors"
	"math"
)

// Kind is the type of a Token.
type Kind uint8

// Token kinds. Int holds every signed encoding (negative fixint, int 8-64);
// Uint every unsigned one (positive fixint, uint 8-64).
const (
	Nil Kind = iota + 1
	Bool
	Int
	Uint
	Float32
	Float64
	Str
	Bin
	Array
	Map
	Ext
)

// Token is one MessagePack header and, for str, bin and ext, its payload.
type Token struct {
	Kind  Kind
	Bool  bool
	Int   int64   // Int
	Uint  uint64  // Uint
	Float float64 // Float32 (widened) and Float64
	// Bytes is the payload of Str, Bin and Ext; it aliases the input.
	Bytes []byte
	// Len is the element count of Array and the pair count of Map.
	Len int
	// ExtType is the (signed) type of Ext.
	ExtType int8
	// Fixext reports an Ext written in a fixext form (0xd4-0xd8), which
	// notepack.io reads differently from ext 8/16/32 for type 0.
	Fixext bool
}

// Errors of Reader.Next.
var (
	// ErrTruncated: the input ends inside a value.
	ErrTruncated = errors.New("msgpack: truncated input")
	// ErrInvalid: the byte 0xc1 (never used), or an array or map that
	// announces more elements than bytes are left.
	ErrInvalid = errors.New("msgpack: invalid input")
)

// Reader reads tokens from B, starting at Off.
type Reader struct {
	B   []byte
	Off int
}

// Done reports whether every byte was read.
func (r *Reader) Done() bool { return r.Off >= len(r.B) }

func (r *Reader) take(n int) ([]byte, bool) {
	if n < 0 || n > len(r.B)-r.Off {
		return nil, false
	}
	p := r.B[r.Off : r.Off+n : r.Off+n]
	r.Off += n
	return p, true
}

func (r *Reader) uint(n int) (uint64, bool) {
	p, ok := r.take(n)
	if !ok {
		return 0, false
	}
	var v uint64
	for _, c := range p {
		v = v<<8 | uint64(c)
	}
	return v, true
}

// Next reads one token. For Array and Map the elements follow as further
// tokens (a map's as key, value, key, value...). A count larger than the
// bytes left (each element takes at least one) is ErrInvalid, so a corrupt
// count never makes a caller loop or allocate for nothing. On error the
// Reader is left where it was.
func (r *Reader) Next() (Token, error) {
	start := r.Off
	var t Token
	err := r.next(&t)
	if err != nil {
		r.Off = start
		return Token{}, err
	}
	return t, nil
}

func (r *Reader) next(t *Token) error {
	p, ok := r.take(1)
	if !ok {
		return ErrTruncated
	}
	c := p[0]
	switch {
	case c < 0x80:
		t.Kind, t.Uint = Uint, uint64(c)
		return nil
	case c < 0x90:
		return r.container(t, Map, uint64(c&0x0f))
	case c < 0xa0:
		return r.container(t, Array, uint64(c&0x0f))
	case c < 0xc0:
		return r.payload(t, Str, uint64(c&0x1f))
	case c >= 0xe0:
		t.Kind, t.Int = Int, int64(int8(c))
		return nil
	}
	// the size of what follows the type byte: a length, a value or a type
	var size int
	switch c {
	case 0xc0:
		t.Kind = Nil
		return nil
	case 0xc2, 0xc3:
		t.Kind, t.Bool = Bool, c == 0xc3
		return nil
	case 0xc4, 0xc5, 0xc6: // bin 8/16/32
		size = 1 << (c - 0xc4)
	case 0xc7, 0xc8, 0xc9: // ext 8/16/32
		size = 1 << (c - 0xc7)
	case 0xca:
		size = 4
	case 0xcb:
		size = 8
	case 0xcc, 0xcd, 0xce, 0xcf:
		size = 1 << (c - 0xcc)
	case 0xd0, 0xd1, 0xd2, 0xd3:
		size = 1 << (c - 0xd0)
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1/2/4/8/16
		return r.ext(t, uint64(1)<<(c-0xd4), true)
	case 0xd9, 0xda, 0xdb: // str 8/16/32
		size = 1 << (c - 0xd9)
	case 0xdc, 0xdd: // array 16/32
		size = 2 << (c - 0xdc)
	case 0xde, 0xdf: // map 16/32
		size = 2 << (c - 0xde)
	default:
		return ErrInvalid // 0xc1
	}
	v, ok := r.uint(size)
	if !ok {
		return ErrTruncated
	}
	switch {
	case c <= 0xc6:
		return r.payload(t, Bin, v)
	case c <= 0xc9:
		return r.ext(t, v, false)
	case c == 0xca:
		t.Kind, t.Float = Float32, float64(math.Float32frombits(uint32(v)))
	case c == 0xcb:
		t.Kind, t.Float = Float64, math.Float64frombits(v)
	case c <= 0xcf:
		t.Kind, t.Uint = Uint, v
	case c <= 0xd3:
		shift := 64 - 8*size // sign-extend
		t.Kind, t.Int = Int, int64(v<<shift)>>shift
	case c <= 0xdb:
		return r.payload(t, Str, v)
	case c <= 0xdd:
		return r.container(t, Array, v)
	default:
		return r.container(t, Map, v)
	}
	return nil
}

func (r *Reader) payload(t *Token, k Kind, n uint64) error {
	if n > uint64(len(r.B)-r.Off) {
		return ErrTruncated
	}
	t.Kind, t.Bytes = k, r.B[r.Off:r.Off+int(n):r.Off+int(n)]
	r.Off += int(n)
	return nil
}

func (r *Reader) ext(t *Token, n uint64, fixext bool) error {
	tp, ok := r.take(1)
	if !ok {
		return ErrTruncated
	}
	t.ExtType, t.Fixext = int8(tp[0]), fixext
	return r.payload(t, Ext, n)
}

func (r *Reader) container(t *Token, k Kind, n uint64) error {
	left := uint64(len(r.B) - r.Off)
	if k == Map && n > left/2 || n > left {
		if left == 0 {
			return ErrTruncated
		}
		return ErrInvalid
	}
	t.Kind, t.Len = k, int(n)
	return nil
}

// Skip reads one whole value (a container with everything in it) without
// recursion and returns the error of the first bad token.
func (r *Reader) Skip() error {
	start := r.Off
	var t Token
	for left := 1; left > 0; left-- {
		t = Token{}
		if err := r.next(&t); err != nil {
			r.Off = start
			return err
		}
		switch t.Kind {
		case Array:
			left += t.Len
		case Map:
			left += 2 * t.Len
		}
	}
	return nil
}

// ---- writing ----------------------------------------------------------------

// AppendNil appends nil.
func AppendNil(b []byte) []byte { return append(b, 0xc0) }

// AppendBool appends true or false.
func AppendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 0xc3)
	}
	return append(b, 0xc2)
}

// AppendUint appends v in its smallest unsigned encoding (positive fixint,
// uint 8/16/32/64), as notepack.io writes a non-negative integer.
func AppendUint(b []byte, v uint64) []byte {
	switch {
	case v < 0x80:
		return append(b, byte(v))
	case v < 0x100:
		return append(b, 0xcc, byte(v))
	case v < 0x10000:
		return append(b, 0xcd, byte(v>>8), byte(v))
	case v < 0x100000000:
		return append(b, 0xce, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	return appendBE64(append(b, 0xcf), v)
}

// AppendInt appends v: a non-negative v as AppendUint, a negative one in its
// smallest signed encoding (negative fixint, int 8/16/32/64), as notepack.io.
func AppendInt(b []byte, v int64) []byte {
	switch {
	case v >= 0:
		return AppendUint(b, uint64(v))
	case v >= -0x20:
		return append(b, byte(v))
	case v >= -0x80:
		return append(b, 0xd0, byte(v))
	case v >= -0x8000:
		return append(b, 0xd1, byte(v>>8), byte(v))
	case v >= -0x80000000:
		return append(b, 0xd2, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	return appendBE64(append(b, 0xd3), uint64(v))
}

// AppendFloat64 appends v as float 64.
func AppendFloat64(b []byte, v float64) []byte {
	return appendBE64(append(b, 0xcb), math.Float64bits(v))
}

// AppendNumber appends the JavaScript number v as notepack.io 2.2 encodes
// it: an integer value (-0 included, written 0) as AppendInt/AppendUint,
// anything else (fractions, ±Infinity, NaN) as float 64. Integers outside
// [-2^63, 2^64), which notepack.io would write modulo 2^64 (a different
// number), are written as float 64.
func AppendNumber(b []byte, v float64) []byte {
	if v != math.Trunc(v) || math.IsInf(v, 0) || v < -(1<<63) || v >= 1<<64 {
		return AppendFloat64(b, v)
	}
	if v >= 0 {
		return AppendUint(b, uint64(v))
	}
	return AppendInt(b, int64(v))
}

func appendBE64(b []byte, v uint64) []byte {
	return append(b, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

func appendHeader(b []byte, n int, fix, fixMax byte, c8, c16, c32 byte) []byte {
	switch {
	case fix != 0 && n < int(fixMax):
		return append(b, fix|byte(n))
	case c8 != 0 && n < 0x100:
		return append(b, c8, byte(n))
	case n < 0x10000:
		return append(b, c16, byte(n>>8), byte(n))
	}
	return append(b, c32, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// AppendStrHeader appends the header of a string of n bytes (fixstr, str
// 8/16/32); the caller appends the bytes. n must be below 2^32.
func AppendStrHeader(b []byte, n int) []byte { return appendHeader(b, n, 0xa0, 0x20, 0xd9, 0xda, 0xdb) }

// AppendString appends s as a string.
func AppendString(b []byte, s string) []byte { return append(AppendStrHeader(b, len(s)), s...) }

// AppendBin appends p as bin 8/16/32.
func AppendBin(b []byte, p []byte) []byte {
	return append(appendHeader(b, len(p), 0, 0, 0xc4, 0xc5, 0xc6), p...)
}

// AppendArrayHeader appends the header of an array of n elements (fixarray,
// array 16/32).
func AppendArrayHeader(b []byte, n int) []byte { return appendHeader(b, n, 0x90, 0x10, 0, 0xdc, 0xdd) }

// AppendMapHeader appends the header of a map of n pairs (fixmap, map 16/32).
func AppendMapHeader(b []byte, n int) []byte { return appendHeader(b, n, 0x80, 0x10, 0, 0xde, 0xdf) }
