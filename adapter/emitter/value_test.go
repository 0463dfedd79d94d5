package emitter

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/socketcore/socketcore/adapter/wire"
)

type inner struct {
	A int    `json:"a"`
	B string `json:"b,omitempty"`
}

type Embedded struct {
	E1 string
	E2 int `json:"e2"`
}

type embeddedShadow struct {
	E1 string // collides with Embedded.E1 at the same depth: neither is written
	X  int
}

type DupA struct{ Same int }
type DupB struct{ Same int }

type tags struct {
	Plain     string
	Renamed   int    `json:"renamed"`
	Skipped   int    `json:"-"`
	Dash      int    `json:"-,"`
	Omit      string `json:",omitempty"`
	OmitZero  inner  `json:",omitzero"`
	OmitTime  time.Time
	ZeroTime  time.Time `json:",omitzero"`
	Quoted    int       `json:",string"`
	QuotedS   string    `json:",string"`
	QuotedF   float64   `json:",string"`
	QuotedB   *bool     `json:",string"`
	QuotedNum json.Number
	Bad       string `json:"a\"b"` // invalid tag name: Go name used
	unexp     int
	Embedded
	*embeddedShadow
	DupA
	DupB
	Iface   any
	Ptr     *inner
	NilPtr  *inner
	Slice   []inner
	NilS    []int
	Array   [3]byte
	Map     map[int]string
	NilMap  map[string]int
	Raw     json.RawMessage
	NilRaw  json.RawMessage
	IP      net.IP // TextMarshaler on a byte slice: a string, not binary
	Dur     time.Duration
	F32     float32
	F64     float64
	Uint    uint64
	Invalid string
}

type valMarshaler struct{ n int }

func (v valMarshaler) MarshalJSON() ([]byte, error) {
	return []byte(`{"z":1,"a":[1.50,2.0,"v"]}`), nil
}

type ptrMarshaler struct{ N int }

func (p *ptrMarshaler) MarshalJSON() ([]byte, error) { return []byte(`"ptr"`), nil }

type textKey struct{ a, b string }

func (k textKey) MarshalText() ([]byte, error) { return []byte(k.b + "/" + k.a), nil }

type zeroer struct{ V int }

func (z zeroer) IsZero() bool { return z.V == 42 }

type withZeroer struct {
	Z  zeroer  `json:",omitzero"`
	PZ *zeroer `json:",omitzero"`
}

type holdsPtrMarshaler struct {
	P  ptrMarshaler  // addressable through a pointer to the struct
	PP *ptrMarshaler // nil
}

func boolPtr(b bool) *bool { return &b }

// jsonEquivalent are values whose wire form must be what encoding/json
// writes (as a JSON value) because they hold no byte slices.
func jsonEquivalent() map[string]any {
	shadow := &embeddedShadow{E1: "deep", X: 5}
	return map[string]any{
		"nil":      nil,
		"bools":    []bool{true, false},
		"ints":     []any{0, -1, 127, 128, 255, 256, 65535, 65536, math.MaxInt64, math.MinInt64, int8(-128), uint8(200), uint64(math.MaxUint64), uintptr(7)},
		"floats":   []any{1.5, -0.5, 0.1, 2.0, math.Copysign(0, -1), 1e21, 1e20, 1e-7, 9007199254740993.0, float32(0.1), float32(16777217), float32(1e30), math.MaxFloat64, math.SmallestNonzeroFloat64},
		"strings":  []string{"", "x", "é✓😀", "<&>\u2028", "bad\xffutf8\xc3", strings.Repeat("a", 300)},
		"number":   json.Number("12.50"),
		"numEmpty": json.Number(""),
		"tags": tags{
			Plain: "p", Renamed: 1, Skipped: 2, Dash: 3, Quoted: 7, QuotedS: "<q>", QuotedF: 2.5, QuotedB: boolPtr(true),
			QuotedNum: "3", Bad: "b", unexp: 9, Embedded: Embedded{E1: "e1", E2: 2}, embeddedShadow: shadow,
			DupA: DupA{1}, DupB: DupB{2}, Iface: map[string]any{"k": []any{1, "2"}}, Ptr: &inner{A: 1},
			Slice: []inner{{A: 2, B: "b"}}, Array: [3]byte{1, 2, 3}, Map: map[int]string{10: "ten", 9: "nine", -1: "m"},
			Raw: json.RawMessage(` {"b" : 1, "a":[true,null]} `), IP: net.IPv4(10, 0, 0, 1), Dur: time.Second,
			F32: 0.3, F64: 0.3, Uint: math.MaxUint64, Invalid: "\xfe",
		},
		"tagsZero":     tags{},
		"tagsPtr":      &tags{Plain: "via pointer"},
		"marshalers":   []any{valMarshaler{}, &valMarshaler{}, ptrMarshaler{}, &ptrMarshaler{}, (*ptrMarshaler)(nil), json.RawMessage(nil)},
		"addrMarshal":  &holdsPtrMarshaler{},
		"valueMarshal": holdsPtrMarshaler{}, // not addressable: fields as plain structs
		"time":         time.Date(2023, 11, 14, 22, 13, 20, 123456789, time.UTC),
		"textKeys":     map[textKey]int{{"a", "b"}: 1, {"c", "a"}: 2},
		"textPtrKeys":  map[*big.Int]int{big.NewInt(12): 1, nil: 2},
		"zeroer":       []withZeroer{{Z: zeroer{42}, PZ: &zeroer{42}}, {Z: zeroer{1}, PZ: &zeroer{1}}, {}},
		"anyMap":       map[string]any{"b": 1, "a": []any{nil, 2.5}, "1": "x", "\xff": 0},
		"array":        [2][]int{{1}, nil},
		"emptyStruct":  struct{}{},
		"anonStruct":   struct{ X, y int }{1, 2},
		"ifaceSlice":   []json.Marshaler{valMarshaler{}, nil},
		"deep":         deepSlice(100),
	}
}

func deepSlice(n int) any {
	var v any = "leaf"
	for range n {
		v = []any{v}
	}
	return v
}

// TestLikeEncodingJSON: without byte slices, an argument's value is the one
// encoding/json writes.
func TestLikeEncodingJSON(t *testing.T) {
	for name, x := range jsonEquivalent() {
		want, err := json.Marshal(x)
		if err != nil {
			t.Fatalf("%s: json.Marshal: %v", name, err)
		}
		data, err := toValues("ev", []any{x})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		got, err := wire.AppendJSONValue(nil, data[1])
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !sameJSON(t, got, want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
		// And the msgpack form decodes to the same value.
		mp, err := wire.AppendMsgpackValue(nil, data[1])
		if err != nil {
			t.Errorf("%s: msgpack: %v", name, err)
			continue
		}
		back, rest, err := wire.DecodeMsgpackValue(mp)
		if err != nil || len(rest) != 0 {
			t.Errorf("%s: msgpack decode: %v", name, err)
			continue
		}
		again, err := wire.AppendJSONValue(nil, back)
		if err != nil || !sameJSON(t, again, want) {
			t.Errorf("%s: via msgpack:\n got %s\nwant %s", name, again, want)
		}
	}
}

// sameJSON compares two JSON texts as values, numbers by their float64
// (what JS gets) and objects as key sets; exact text is compared for keys
// and strings.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("invalid JSON %s: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	return reflect.DeepEqual(va, vb)
}

func TestJSONKeyOrder(t *testing.T) {
	x := map[string]any{"b": 1, "a": 2, "10": 3, "9": 4}
	data, err := toValues("ev", []any{x, tags{}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := wire.AppendJSONValue(nil, data[1])
	if want, _ := json.Marshal(x); !bytes.Equal(got, want) {
		t.Errorf("map: %s, want %s", got, want)
	}
	got, _ = wire.AppendJSONValue(nil, data[2])
	want, _ := json.Marshal(tags{})
	if !bytes.Equal(got, want) {
		t.Errorf("struct:\n got %s\nwant %s", got, want)
	}
}

type withBytes struct {
	Name  string         `json:"name"`
	Data  []byte         `json:"data"`
	Inner map[string]any `json:"inner"`
	Blob  myBytes        `json:"blob"`
	Nil   []byte         `json:"nil"`
	Raw   json.RawMessage
	Arr   [2]byte `json:"arr"`
}

type myBytes []byte

// TestBinary: byte slices are msgpack bin wherever they are.
func TestBinary(t *testing.T) {
	x := []any{
		[]byte{0xde, 0xad},
		withBytes{
			Name:  "n",
			Data:  []byte{1, 2, 3},
			Inner: map[string]any{"deep": []any{[]byte{}, &[]byte{9}}},
			Blob:  myBytes("hi"),
			Raw:   json.RawMessage(`"aGk="`),
			Arr:   [2]byte{7, 8},
		},
	}
	data, err := toValues("bin", x)
	if err != nil {
		t.Fatal(err)
	}
	b, err := wire.AppendMsgpackValue(nil, data)
	if err != nil {
		t.Fatal(err)
	}
	const want = "93a362696e" + "c402dead" +
		"87" + "a46e616d65a16e" + "a464617461c403010203" +
		"a5696e6e657281a46465657092c400c40109" +
		"a4626c6f62c4026869" + "a36e696cc400" + "a3526177a461476b3d" + "a361727292" + "0708"
	if got := hex.EncodeToString(b); got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
}

// TestNumbers: the msgpack form notepack.io gives the equal JS number.
func TestNumbers(t *testing.T) {
	for _, c := range []struct {
		v   any
		hex string
	}{
		{0, "00"}, {127, "7f"}, {128, "cc80"}, {255, "ccff"}, {256, "cd0100"}, {65536, "ce00010000"},
		{int64(4294967296), "cf0000000100000000"},
		{-1, "ff"}, {-32, "e0"}, {-33, "d0df"}, {-129, "d1ff7f"}, {int64(math.MinInt64), "d38000000000000000"},
		{uint8(200), "ccc8"}, {uint64(math.MaxUint64), "cfffffffffffffffff"},
		{2.0, "02"}, {-2.0, "fe"}, {math.Copysign(0, -1), "00"}, {1000.0, "cd03e8"},
		{1.5, "cb3ff8000000000000"}, {0.1, "cb3fb999999999999a"},
		{float32(0.1), "cb3fb999999999999a"}, {float32(2), "02"},
		{9007199254740991.0, "cf001fffffffffffff"}, {-9007199254740991.0, "d3ffe0000000000001"},
		{1 << 63 * 1.0, "cf8000000000000000"}, {1e20, "cb4415af1d78b58c40"},
		{json.Number("1.0"), "01"}, {json.Number("-5"), "fb"}, {json.Number("1e2"), "64"}, {json.Number("0.5"), "cb3fe0000000000000"},
		{true, "c3"}, {nil, "c0"}, {"é", "a2c3a9"},
	} {
		data, err := toValues("", []any{c.v})
		if err != nil {
			t.Errorf("%v: %v", c.v, err)
			continue
		}
		b, err := wire.AppendMsgpackValue(nil, data[1])
		if err != nil {
			t.Errorf("%v: %v", c.v, err)
			continue
		}
		if got := hex.EncodeToString(b); got != c.hex {
			t.Errorf("%T(%v): %s, want %s", c.v, c.v, got, c.hex)
		}
	}
}

type failMarshaler struct{}

func (failMarshaler) MarshalJSON() ([]byte, error) { return nil, errors.New("nope") }

type badJSON struct{}

func (badJSON) MarshalJSON() ([]byte, error) { return []byte(`{"a":`), nil }

type panicker struct{}

func (panicker) MarshalJSON() ([]byte, error) { panic("boom") }

type cyclic struct{ Next *cyclic }

type selfPtr *selfPtr

// TestEncodeErrors: what encoding/json refuses is an error, never a panic.
func TestEncodeErrors(t *testing.T) {
	c := &cyclic{}
	c.Next = c
	m := map[string]any{}
	m["m"] = m
	var sp selfPtr
	sp = &sp
	var iface any
	iface = &iface
	for name, x := range map[string]any{
		"chan":        make(chan int),
		"func":        func() {},
		"complex":     complex(1, 2),
		"NaN":         math.NaN(),
		"Inf":         []any{math.Inf(-1)},
		"float32 Inf": float32(math.Inf(1)),
		"fail":        failMarshaler{},
		"bad JSON":    badJSON{},
		"bad raw":     json.RawMessage(`{`),
		"two values":  json.RawMessage(`1 2`),
		"bad number":  json.Number("1.2.3"),
		"word number": json.Number("abc"),
		"panic":       panicker{},
		"cycle":       c,
		"map cycle":   m,
		"selfPtr":     sp,
		"iface cycle": iface,
		"key":         map[[2]int]int{{1, 2}: 3},
		"in struct":   struct{ C chan int }{make(chan int)},
	} {
		_, err := toValues("ev", []any{x})
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		t.Logf("%s: %v", name, err)
	}
}

func TestValidNumber(t *testing.T) {
	for s, want := range map[string]bool{
		"0": true, "-0": true, "1": true, "10.5": true, "1e5": true, "1E+5": true, "-1.5e-3": true,
		"": false, "-": false, "01": false, "1.": false, ".5": false, "1e": false, "1e+": false, "+1": false,
		"0x10": false, "NaN": false, "1 ": false, "\"1\"": false,
	} {
		if got := isValidNumber(s); got != want {
			t.Errorf("isValidNumber(%q) = %v", s, got)
		}
		if want {
			if !json.Valid([]byte(s)) {
				t.Errorf("%q is not valid JSON", s)
			}
		}
	}
}
