package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/tinylib/msgp/msgp"
)

// A Value is one decoded payload value (an event argument, socket.data, a
// handshake field...). It is always one of:
//
//	nil                 msgpack nil, JSON null (and JS undefined)
//	bool
//	int64               msgpack integer that fits; written minimally, in the
//	                    uint family when >= 0 (as notepack.io does)
//	uint64              msgpack integer above math.MaxInt64
//	float64, float32    msgpack float64 / float32
//	json.Number         a number read from JSON, kept as its text
//	string
//	[]byte              msgpack bin (a Node Buffer)
//	[]Value             array
//	Map                 object, keys in wire order
//	Ext                 msgpack extension (Date is type -1)
//
// Encoders also accept int, int32 and uint32 and time.Time.
type Value = any

// KV is one entry of a Map.
type KV struct {
	Key   string
	Value Value
}

// Map is an object whose keys keep their wire order, so re-encoding a
// decoded message reproduces Node's bytes. A nil Map is "absent"; a non-nil
// empty Map is {}.
type Map []KV

// Get returns the value of the last entry named key (JS semantics).
func (m Map) Get(key string) (Value, bool) {
	for i := len(m) - 1; i >= 0; i-- {
		if m[i].Key == key {
			return m[i].Value, true
		}
	}
	return nil, false
}

// Set replaces the value of key, or appends it (JS insertion order).
func (m Map) Set(key string, v Value) Map {
	for i := len(m) - 1; i >= 0; i-- {
		if m[i].Key == key {
			m[i].Value = v
			return m
		}
	}
	if m == nil {
		m = Map{}
	}
	return append(m, KV{key, v})
}

// Ext is a msgpack extension value. notepack.io writes a JS Date as type -1
// (the standard timestamp extension).
type Ext struct {
	Type int8
	Data []byte
}

// TimestampExt is the msgpack timestamp extension type.
const TimestampExt int8 = -1

// Time decodes a timestamp extension.
func (e Ext) Time() (time.Time, bool) {
	if e.Type != TimestampExt {
		return time.Time{}, false
	}
	d := e.Data
	switch len(d) {
	case 4:
		return time.Unix(int64(be32(d)), 0).UTC(), true
	case 8:
		v := uint64(be32(d))<<32 | uint64(be32(d[4:]))
		return time.Unix(int64(v&(1<<34-1)), int64(v>>34)).UTC(), true
	case 12:
		sec := int64(uint64(be32(d[4:]))<<32 | uint64(be32(d[8:])))
		return time.Unix(sec, int64(be32(d))).UTC(), true
	}
	return time.Time{}, false
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// TimeExt returns t as a timestamp extension, the bytes notepack.io writes
// for a Date (32-bit form without sub-seconds, else the 64-bit form).
func TimeExt(t time.Time) Ext {
	b := msgp.AppendTimeExt(nil, t)
	_, _, data, err := readExt(b)
	if err != nil {
		return Ext{Type: TimestampExt}
	}
	return Ext{Type: TimestampExt, Data: data}
}

// maxDepth bounds nesting so hostile payloads cannot exhaust the stack.
const maxDepth = 256

var (
	errDepth    = errors.New("wire: nesting too deep")
	errTrailing = errors.New("wire: trailing bytes")
)

// ---- msgpack ----

// DecodeMsgpackValue decodes one msgpack value and returns the rest.
func DecodeMsgpackValue(b []byte) (Value, []byte, error) { return readValue(b, 0) }

func readValue(b []byte, depth int) (Value, []byte, error) {
	if depth > maxDepth {
		return nil, b, errDepth
	}
	if len(b) == 0 {
		return nil, b, msgp.ErrShortBytes
	}
	lead := b[0]
	switch {
	case lead == 0xc0:
		return nil, b[1:], nil
	case lead == 0xc2 || lead == 0xc3:
		return lead == 0xc3, b[1:], nil
	case lead <= 0x7f || lead >= 0xe0 || (lead >= 0xd0 && lead <= 0xd3):
		return msgp.ReadInt64Bytes(b)
	case lead >= 0xcc && lead <= 0xcf:
		u, rest, err := msgp.ReadUint64Bytes(b)
		if err != nil {
			return nil, b, err
		}
		if u <= math.MaxInt64 {
			return int64(u), rest, nil
		}
		return u, rest, nil
	case lead == 0xca:
		return msgp.ReadFloat32Bytes(b)
	case lead == 0xcb:
		return msgp.ReadFloat64Bytes(b)
	case lead&0xe0 == 0xa0 || lead == 0xd9 || lead == 0xda || lead == 0xdb:
		return msgp.ReadStringBytes(b)
	case lead == 0xc4 || lead == 0xc5 || lead == 0xc6:
		v, rest, err := msgp.ReadBytesBytes(b, nil)
		if err != nil {
			return nil, b, err
		}
		if v == nil {
			v = []byte{}
		}
		return v, rest, nil
	case lead&0xf0 == 0x90 || lead == 0xdc || lead == 0xdd:
		n, rest, err := msgp.ReadArrayHeaderBytes(b)
		if err != nil {
			return nil, b, err
		}
		arr := make([]Value, 0, min(int(n), len(rest)))
		for i := uint32(0); i < n; i++ {
			var v Value
			if v, rest, err = readValue(rest, depth+1); err != nil {
				return nil, b, err
			}
			arr = append(arr, v)
		}
		return arr, rest, nil
	case lead&0xf0 == 0x80 || lead == 0xde || lead == 0xdf:
		n, rest, err := msgp.ReadMapHeaderBytes(b)
		if err != nil {
			return nil, b, err
		}
		m := make(Map, 0, min(int(n), len(rest)/2))
		for i := uint32(0); i < n; i++ {
			var k string
			if k, rest, err = readKey(rest); err != nil {
				return nil, b, err
			}
			var v Value
			if v, rest, err = readValue(rest, depth+1); err != nil {
				return nil, b, err
			}
			m = append(m, KV{k, v})
		}
		return m, rest, nil
	case (lead >= 0xd4 && lead <= 0xd8) || (lead >= 0xc7 && lead <= 0xc9):
		typ, rest, data, err := readExt(b)
		if err != nil {
			return nil, b, err
		}
		return Ext{Type: typ, Data: bytes.Clone(data)}, rest, nil
	}
	return nil, b, msgp.InvalidPrefixError(lead)
}

// readKey reads a map key: str or bin (JS turns any key into a string).
func readKey(b []byte) (string, []byte, error) {
	k, rest, err := msgp.ReadMapKeyZC(b)
	if err != nil {
		return "", b, err
	}
	return string(k), rest, nil
}

func readExt(b []byte) (typ int8, rest, data []byte, err error) {
	if len(b) < 2 {
		return 0, b, nil, msgp.ErrShortBytes
	}
	var size, off int
	switch b[0] {
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		size, off = 1<<(b[0]-0xd4), 2
	case 0xc7:
		if len(b) < 3 {
			return 0, b, nil, msgp.ErrShortBytes
		}
		size, off = int(b[1]), 3
	case 0xc8:
		if len(b) < 4 {
			return 0, b, nil, msgp.ErrShortBytes
		}
		size, off = int(b[1])<<8|int(b[2]), 4
	case 0xc9:
		if len(b) < 6 {
			return 0, b, nil, msgp.ErrShortBytes
		}
		size, off = int(be32(b[1:])), 6
	default:
		return 0, b, nil, msgp.InvalidPrefixError(b[0])
	}
	if len(b)-off < size {
		return 0, b, nil, msgp.ErrShortBytes
	}
	return int8(b[off-1]), b[off+size:], b[off : off+size], nil
}

// AppendMsgpackValue appends v as msgpack, the way notepack.io would for the
// same JS value (integers minimal, non-negative ones in the uint family).
func AppendMsgpackValue(b []byte, v Value) ([]byte, error) { return appendMsgpack(b, v, 0) }

func appendMsgpack(b []byte, v Value, depth int) ([]byte, error) {
	if depth > maxDepth {
		return b, errDepth
	}
	var err error
	switch x := v.(type) {
	case nil:
		return msgp.AppendNil(b), nil
	case bool:
		return msgp.AppendBool(b, x), nil
	case int:
		return appendInt(b, int64(x)), nil
	case int32:
		return appendInt(b, int64(x)), nil
	case uint32:
		return msgp.AppendUint64(b, uint64(x)), nil
	case int64:
		return appendInt(b, x), nil
	case uint64:
		return msgp.AppendUint64(b, x), nil
	case float64:
		return msgp.AppendFloat64(b, x), nil
	case float32:
		return msgp.AppendFloat32(b, x), nil
	case json.Number:
		return appendJSONNumber(b, x)
	case string:
		return msgp.AppendString(b, x), nil
	case []byte:
		return msgp.AppendBytes(b, x), nil
	case []Value:
		b = msgp.AppendArrayHeader(b, uint32(len(x)))
		for _, e := range x {
			if b, err = appendMsgpack(b, e, depth+1); err != nil {
				return b, err
			}
		}
		return b, nil
	case []string:
		b = msgp.AppendArrayHeader(b, uint32(len(x)))
		for _, e := range x {
			b = msgp.AppendString(b, e)
		}
		return b, nil
	case Map:
		b = msgp.AppendMapHeader(b, uint32(len(x)))
		for _, kv := range x {
			b = msgp.AppendString(b, kv.Key)
			if b, err = appendMsgpack(b, kv.Value, depth+1); err != nil {
				return b, err
			}
		}
		return b, nil
	case Ext:
		return appendExt(b, x), nil
	case time.Time:
		return msgp.AppendTimeExt(b, x), nil
	}
	return b, fmt.Errorf("wire: cannot encode %T", v)
}

func appendInt(b []byte, i int64) []byte {
	if i >= 0 {
		return msgp.AppendUint64(b, uint64(i))
	}
	return msgp.AppendInt64(b, i)
}

// appendJSONNumber writes a JSON number as notepack would write the JS
// number JSON.parse gives: an integral finite value as a minimal integer,
// anything else as float64.
func appendJSONNumber(b []byte, n json.Number) ([]byte, error) {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return appendInt(b, i), nil
	}
	if u, err := strconv.ParseUint(string(n), 10, 64); err == nil {
		return msgp.AppendUint64(b, u), nil
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return b, fmt.Errorf("wire: bad number %q", n)
	}
	if f == math.Trunc(f) && !math.IsInf(f, 0) && math.Abs(f) < 1<<63 {
		return appendInt(b, int64(f)), nil
	}
	return msgp.AppendFloat64(b, f), nil
}

func appendExt(b []byte, e Ext) []byte {
	n := len(e.Data)
	switch n {
	case 1, 2, 4, 8, 16:
		lead := byte(0xd4)
		for s := 1; s < n; s <<= 1 {
			lead++
		}
		b = append(b, lead, byte(e.Type))
	default:
		switch {
		case n <= math.MaxUint8:
			b = append(b, 0xc7, byte(n), byte(e.Type))
		case n <= math.MaxUint16:
			b = append(b, 0xc8, byte(n>>8), byte(n), byte(e.Type))
		default:
			b = append(b, 0xc9, byte(n>>24), byte(n>>16), byte(n>>8), byte(n), byte(e.Type))
		}
	}
	return append(b, e.Data...)
}

// ---- JSON ----

// DecodeJSONValue decodes one JSON document into a Value, keeping key order
// and number text.
func DecodeJSONValue(b []byte) (Value, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	v, err := readJSON(d, 0)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errTrailing
	}
	return v, nil
}

func readJSON(d *json.Decoder, depth int) (Value, error) {
	if depth > maxDepth {
		return nil, errDepth
	}
	t, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch x := t.(type) {
	case json.Delim:
		switch x {
		case '[':
			arr := []Value{}
			for d.More() {
				v, err := readJSON(d, depth+1)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			_, err := d.Token()
			return arr, err
		case '{':
			m := Map{}
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := readJSON(d, depth+1)
				if err != nil {
					return nil, err
				}
				m = append(m, KV{k, v})
			}
			_, err := d.Token()
			return m, err
		}
		return nil, fmt.Errorf("wire: unexpected %v", x)
	}
	return t, nil // nil, bool, string, json.Number
}

// AppendJSONValue appends v as JSON.stringify would write the same JS value:
// no HTML escaping, a Buffer as {"type":"Buffer","data":[...]}, a Date as
// its ISO string, NaN and infinities as null.
func AppendJSONValue(b []byte, v Value) ([]byte, error) { return appendJSON(b, v, 0) }

func appendJSON(b []byte, v Value, depth int) ([]byte, error) {
	if depth > maxDepth {
		return b, errDepth
	}
	var err error
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(b, int64(x), 10), nil
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case uint64:
		return strconv.AppendUint(b, x, 10), nil
	case float64:
		return appendJSFloat(b, x), nil
	case float32:
		return appendJSFloat(b, float64(x)), nil
	case json.Number:
		if !json.Valid([]byte(x)) {
			return b, fmt.Errorf("wire: bad number %q", x)
		}
		return append(b, x...), nil
	case string:
		return appendJSONString(b, x), nil
	case []byte:
		b = append(b, `{"type":"Buffer","data":[`...)
		for i, c := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendUint(b, uint64(c), 10)
		}
		return append(b, "]}"...), nil
	case []Value:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendJSON(b, e, depth+1); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	case []string:
		return appendJSONStrings(b, x), nil
	case Map:
		b = append(b, '{')
		for i, kv := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, kv.Key)
			b = append(b, ':')
			if b, err = appendJSON(b, kv.Value, depth+1); err != nil {
				return b, err
			}
		}
		return append(b, '}'), nil
	case Ext:
		if t, ok := x.Time(); ok {
			return appendJSONString(b, t.UTC().Format("2006-01-02T15:04:05.000Z")), nil
		}
		// notepack decodes an unknown extension as [type, Buffer].
		return appendJSON(b, []Value{int64(x.Type), x.Data}, depth)
	case time.Time:
		return appendJSONString(b, x.UTC().Format("2006-01-02T15:04:05.000Z")), nil
	}
	return b, fmt.Errorf("wire: cannot encode %T", v)
}

// appendJSFloat formats like JS Number.prototype.toString (which is what
// encoding/json's float formatting follows).
func appendJSFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	out, err := json.Marshal(f)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, out...)
}

func appendJSONStrings(b []byte, s []string) []byte {
	b = append(b, '[')
	for i, e := range s {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, e)
	}
	return append(b, ']')
}

// appendJSONString escapes like JSON.stringify: only '"', '\\' and control
// characters. Invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				if c < 0x20 {
					b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
				} else {
					b = append(b, c)
				}
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, "\ufffd"...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}
