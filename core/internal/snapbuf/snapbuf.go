// Package snapbuf is the byte format of session snapshots (core.Server
// Snapshot/Restore, engine.Server SnapshotSession/RestoreSession):
// little-endian fixed-width integers, u32-length-prefixed byte strings, and
// a Reader that fails once and stays failed, so decoders read every field
// and check Err once at the end. Pure: no imports outside the core's
// allow-list.
package snapbuf

import "errors"

// ErrMalformed is a snapshot that is truncated, has bytes left over or a
// value out of range.
var ErrMalformed = errors.New("snapshot: malformed")

// AppendU8 appends one byte.
func AppendU8(b []byte, v uint8) []byte { return append(b, v) }

// AppendBool appends 0 or 1.
func AppendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// AppendU32 appends v little-endian.
func AppendU32(b []byte, v uint32) []byte {
	return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
}

// AppendU64 appends v little-endian.
func AppendU64(b []byte, v uint64) []byte {
	return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24), byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56))
}

// AppendBytes appends len(p) as u32, then p.
func AppendBytes(b []byte, p []byte) []byte { return append(AppendU32(b, uint32(len(p))), p...) }

// AppendString is AppendBytes for a string.
func AppendString(b []byte, s string) []byte { return append(AppendU32(b, uint32(len(s))), s...) }

// Reader reads the fields of a snapshot in order. After the first error
// every read returns a zero value and Err reports it.
type Reader struct {
	b   []byte
	err error
}

// NewReader reads b (the results alias it for Bytes).
func NewReader(b []byte) *Reader { return &Reader{b: b} }

func (r *Reader) take(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b) {
		r.err = ErrMalformed
		return nil
	}
	p := r.b[:n:n]
	r.b = r.b[n:]
	return p
}

// U8 reads one byte.
func (r *Reader) U8() uint8 {
	if p := r.take(1); p != nil {
		return p[0]
	}
	return 0
}

// Bool reads a byte that must be 0 or 1.
func (r *Reader) Bool() bool {
	switch r.U8() {
	case 0:
		return false
	case 1:
		return true
	}
	r.err = ErrMalformed
	return false
}

// U32 reads a little-endian u32.
func (r *Reader) U32() uint32 {
	p := r.take(4)
	if p == nil {
		return 0
	}
	return uint32(p[0]) | uint32(p[1])<<8 | uint32(p[2])<<16 | uint32(p[3])<<24
}

// U64 reads a little-endian u64.
func (r *Reader) U64() uint64 {
	p := r.take(8)
	if p == nil {
		return 0
	}
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(p[i])
	}
	return v
}

// Count reads a u32 count of items that each take at least min bytes,
// refusing one that could not fit in what is left.
func (r *Reader) Count(min int) int {
	n := int(r.U32())
	if r.err == nil && n*min > len(r.b) {
		r.err = ErrMalformed
		return 0
	}
	return n
}

// Bytes reads a length-prefixed byte string (nil when empty; it aliases
// the input).
func (r *Reader) Bytes() []byte {
	n := r.U32()
	if r.err != nil || uint64(n) > uint64(len(r.b)) {
		r.err = ErrMalformed
		return nil
	}
	if n == 0 {
		return nil
	}
	return r.take(int(n))
}

// String reads a length-prefixed string (a copy).
func (r *Reader) String() string { return string(r.Bytes()) }

// Err is the first error, or ErrMalformed if bytes are left over.
func (r *Reader) Err() error {
	if r.err == nil && len(r.b) > 0 {
		return ErrMalformed
	}
	return r.err
}

// Rest returns what is left unread (for a nested record that ends the
// snapshot) and consumes it.
func (r *Reader) Rest() []byte {
	p := r.b
	r.b = nil
	return p
}

// PutU32 writes v little-endian into b[:4] (a length reserved with
// AppendU32 before the bytes it counts were appended).
func PutU32(b []byte, v uint32) {
	_ = b[3]
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}
