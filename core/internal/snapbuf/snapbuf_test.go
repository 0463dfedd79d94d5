package snapbuf

import (
	"bytes"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	b := AppendU8(nil, 7)
	b = AppendBool(b, true)
	b = AppendBool(b, false)
	n := len(b)
	b = AppendU32(b, 0)
	b = AppendString(b, "héllo")
	PutU32(b[n:], 0xdeadbeef)
	b = AppendU64(b, 1<<63|5)
	b = AppendBytes(b, nil)
	b = AppendU32(b, 2)
	b = AppendBytes(b, []byte{1})
	b = AppendBytes(b, []byte{2, 3})
	b = append(b, "rest"...)

	r := NewReader(b)
	if r.U8() != 7 || !r.Bool() || r.Bool() || r.U32() != 0xdeadbeef || r.String() != "héllo" || r.U64() != 1<<63|5 {
		t.Fatal("fixed fields")
	}
	if r.Bytes() != nil {
		t.Fatal("empty bytes are not nil")
	}
	if c := r.Count(4); c != 2 || !bytes.Equal(r.Bytes(), []byte{1}) || !bytes.Equal(r.Bytes(), []byte{2, 3}) {
		t.Fatal("list")
	}
	if r.Err() == nil {
		t.Fatal("bytes left over, but no error")
	}
	if string(r.Rest()) != "rest" || r.Err() != nil {
		t.Fatalf("Rest: %v", r.Err())
	}
}

func TestMalformed(t *testing.T) {
	for name, read := range map[string]func(*Reader){
		"truncated u64":    func(r *Reader) { r.U64() },
		"bool 2":           func(r *Reader) { r.Bool() },
		"length past end":  func(r *Reader) { r.Bytes() },
		"count too large":  func(r *Reader) { r.Count(8) },
		"read after error": func(r *Reader) { r.U64(); r.U8() },
	} {
		r := NewReader([]byte{2, 0, 0, 0, 1})
		read(r)
		if r.Err() != ErrMalformed {
			t.Errorf("%s: Err = %v", name, r.Err())
		}
	}
	// a failed reader stays failed and reads zeros
	r := NewReader([]byte{1})
	r.U32()
	if r.U8() != 0 || r.Err() != ErrMalformed {
		t.Error("a failed reader recovered")
	}
}
