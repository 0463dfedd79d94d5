package sio

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/socketcore/socketcore/core/internal/jsontext"
	"github.com/socketcore/socketcore/core/internal/msgpack"
)

// msgpackVectors is testdata/msgpack.json, written by testdata/msgpack.mjs
// with the real socket.io-msgpack-parser@3.0.2.
type msgpackVectors struct {
	Encode []struct {
		Name  string   `json:"name"`
		Type  Type     `json:"type"`
		Nsp   string   `json:"nsp"`
		ID    *uint64  `json:"id"`
		Data  *string  `json:"data"`
		Atts  []string `json:"atts"`
		Hex   string   `json:"hex"`
		Exact bool     `json:"exact"`
		Note  string   `json:"note"`
	} `json:"encode"`
	Numbers []struct {
		JSON     string `json:"json"`
		Notepack string `json:"notepack"`
		Want     string `json:"want"`
		Wraps    bool   `json:"wraps"`
	} `json:"numbers"`
	Decode []struct {
		Name   string   `json:"name"`
		Hex    string   `json:"hex"`
		Error  string   `json:"error"`
		Strict string   `json:"strict"`
		Type   Type     `json:"type"`
		Nsp    string   `json:"nsp"`
		ID     *float64 `json:"id"`
		Data   *string  `json:"data"`
		Atts   []string `json:"atts"`
	} `json:"decode"`
}

func loadMsgpackVectors(tb testing.TB) msgpackVectors {
	tb.Helper()
	b, err := os.ReadFile("testdata/msgpack.json")
	if err != nil {
		tb.Fatal(err)
	}
	var v msgpackVectors
	if err := json.Unmarshal(b, &v); err != nil {
		tb.Fatal(err)
	}
	return v
}

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func unhexAll(tb testing.TB, l []string) [][]byte {
	var out [][]byte
	for _, s := range l {
		out = append(out, unhex(tb, s))
	}
	return out
}

// jsValue reads JSON data as a JS program would see it, with every
// placeholder replaced by its attachment ("bin:" + hex): numbers as float64,
// objects as maps (the last of repeated keys wins). Two payloads that give
// equal jsValues are the same packet to a JS peer.
func jsValue(tb testing.TB, data []byte, atts [][]byte) any {
	tb.Helper()
	if data == nil {
		return nil
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		tb.Fatalf("data %q: %v", data, err)
	}
	var sub func(any) any
	sub = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			if ph, _ := x["_placeholder"].(bool); ph && len(atts) > 0 {
				n, _ := x["num"].(float64)
				if n < 0 || int(n) >= len(atts) {
					tb.Fatalf("placeholder %v out of range in %q", x, data)
				}
				return "bin:" + hex.EncodeToString(atts[int(n)])
			}
			for k, e := range x {
				x[k] = sub(e)
			}
		case []any:
			for i, e := range x {
				x[i] = sub(e)
			}
		}
		return v
	}
	return sub(v)
}

func TestMsgpackEncodeVectors(t *testing.T) {
	for _, v := range loadMsgpackVectors(t).Encode {
		t.Run(v.Name, func(t *testing.T) {
			atts := unhexAll(t, v.Atts)
			p := Packet{Type: v.Type, Nsp: v.Nsp}
			if len(atts) > 0 {
				p.Type += BinaryEvent - Event
				p.Attachments = len(atts)
			}
			if v.ID != nil {
				p.ID, p.HasID = *v.ID, true
			}
			if v.Data != nil {
				p.Data = []byte(*v.Data)
			}
			want := unhex(t, v.Hex)
			got, err := AppendMsgpack([]byte("prefix"), p, atts)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(got, []byte("prefix")) {
				t.Fatalf("AppendMsgpack dropped dst")
			}
			got = got[len("prefix"):]
			if v.Exact && !bytes.Equal(got, want) {
				t.Fatalf("AppendMsgpack:\n got %x\nwant %x", got, want)
			}
			// Node's bytes and ours decode to the same packet, ours included
			for _, b := range [][]byte{want, got} {
				q, qatts, err := DecodeMsgpack(b, Limits{})
				if err != nil {
					t.Fatalf("DecodeMsgpack(%x): %v", b, err)
				}
				if q.Type != p.Type || q.Nsp != p.Nsp || q.HasID != p.HasID || q.ID != p.ID || q.Attachments != p.Attachments {
					t.Fatalf("DecodeMsgpack(%x) = %+v, want %+v", b, q, p)
				}
				if !reflect.DeepEqual(jsValue(t, q.Data, qatts), jsValue(t, p.Data, atts)) {
					t.Fatalf("DecodeMsgpack(%x) data %s %x, want %s %x", b, q.Data, qatts, p.Data, atts)
				}
			}
		})
	}
}

func TestMsgpackNumbers(t *testing.T) {
	for _, v := range loadMsgpackVectors(t).Numbers {
		got := appendJSONScalar(nil, []byte(v.JSON))
		if want := unhex(t, v.Want); !bytes.Equal(got, want) {
			t.Errorf("%s: got %x, want %x (notepack %x)", v.JSON, got, want, v.Notepack)
		}
		if v.Wraps {
			continue
		}
		// and through the whole transcoder
		enc, err := AppendMsgpack(nil, Packet{Type: Ack, Nsp: "/", Data: []byte("[" + v.JSON + "]")}, nil)
		if err != nil || !bytes.Contains(enc, append([]byte{0xa4, 'd', 'a', 't', 'a', 0x91}, unhex(t, v.Notepack)...)) {
			t.Errorf("%s: packet %x (%v) does not hold notepack's %s", v.JSON, enc, err, v.Notepack)
		}
	}
}

// notepackError maps the real decoder's messages to ours.
func notepackError(msg string) error {
	switch {
	case msg == "invalid packet type" || strings.HasPrefix(msg, "Cannot read properties"):
		return ErrInvalidType
	case msg == "invalid namespace":
		return ErrInvalidNamespace
	case msg == "invalid payload":
		return ErrInvalidPayload
	case msg == "invalid packet id":
		return ErrInvalidID
	}
	return ErrInvalidMsgpack // "Could not parse", "N trailing bytes"
}

func TestMsgpackDecodeVectors(t *testing.T) {
	for _, v := range loadMsgpackVectors(t).Decode {
		t.Run(v.Name, func(t *testing.T) {
			b := unhex(t, v.Hex)
			p, atts, err := DecodeMsgpack(b, Limits{})
			switch {
			case v.Error != "":
				if want := notepackError(v.Error); err != want {
					t.Fatalf("DecodeMsgpack(%x) = %+v, %v; Node: %q, want %v", b, p, err, v.Error, want)
				}
				return
			case v.Strict != "":
				if err == nil {
					t.Fatalf("DecodeMsgpack(%x) = %+v %s, want an error (%s)", b, p, p.Data, v.Strict)
				}
				return
			case err != nil:
				t.Fatalf("DecodeMsgpack(%x): %v", b, err)
			}
			wantAtts := unhexAll(t, v.Atts)
			wantType := v.Type
			if len(wantAtts) > 0 {
				wantType += BinaryEvent - Event
			}
			if p.Type != wantType || p.Nsp != v.Nsp || p.HasID != (v.ID != nil) || p.Attachments != len(wantAtts) || len(atts) != len(wantAtts) {
				t.Fatalf("DecodeMsgpack(%x) = %+v (%d attachments); Node: %+v", b, p, len(atts), v)
			}
			if v.ID != nil && float64(p.ID) != *v.ID {
				t.Fatalf("id %d, Node %v", p.ID, *v.ID)
			}
			var want []byte
			if v.Data != nil {
				want = []byte(*v.Data)
			}
			if (p.Data == nil) != (want == nil) || !reflect.DeepEqual(jsValue(t, p.Data, atts), jsValue(t, want, wantAtts)) {
				t.Fatalf("data %s %x; Node %s %x", p.Data, atts, want, wantAtts)
			}
			if len(p.Data) > 0 {
				if err := jsontext.Validate(p.Data, DefaultMaxDepth); err != nil {
					t.Fatalf("data %q: %v", p.Data, err)
				}
			}
		})
	}
}

// Our JSON for what Node's decoder gives, exactly where the two agree on the
// text (JSON.stringify rounds integers beyond 2^53; we keep every digit).
func TestMsgpackDecodeText(t *testing.T) {
	tests := []struct{ hex, data string }{
		{"84a474797065 03 a2696401 a464617461 93 cf0020000000000001 cfffffffffffffffff d38000000000000000 a36e7370a12f",
			`[9007199254740993,18446744073709551615,-9223372036854775808]`},
		{"84a474797065 03 a2696401 a464617461 94 cb8000000000000000 ca3dcccccd cb444b1ae4d6e2ef50 cb3eb0c6f7a0b5ed8d a36e7370a12f",
			`[0,0.10000000149011612,1e+21,0.000001]`},
		{"84a474797065 03 a2696401 a464617461 92 a6223c3e260a01 a3e280a8 a36e7370a12f", `["\"<>&\n\u0001","` + "\u2028" + `"]`},
		{"84a474797065 03 a2696401 a464617461 91 83 a161 d40000 a162 01 a163 d40000 a36e7370a12f", `[{"b":1}]`},
		{"84a474797065 03 a2696401 a464617461 91 82 a161 d40000 a162 d40000 a36e7370a12f", `[{}]`},
	}
	for _, tt := range tests {
		b := unhex(t, strings.ReplaceAll(tt.hex, " ", ""))
		p, _, err := DecodeMsgpack(b, Limits{})
		if err != nil || string(p.Data) != tt.data {
			t.Errorf("DecodeMsgpack(%x) data %s (%v), want %s", b, p.Data, err, tt.data)
		}
	}
}

func TestMsgpackLimits(t *testing.T) {
	nest := func(n int) []byte { // an ACK whose data nests n deep
		b := msgpack.AppendMapHeader(nil, 4)
		b = msgpack.AppendUint(msgpack.AppendString(b, "type"), 3)
		b = msgpack.AppendUint(msgpack.AppendString(b, "id"), 1)
		b = msgpack.AppendString(b, "data")
		for range n {
			b = msgpack.AppendArrayHeader(b, 1)
		}
		b = msgpack.AppendNil(b)
		return msgpack.AppendString(msgpack.AppendString(b, "nsp"), "/")
	}
	if _, _, err := DecodeMsgpack(nest(64), Limits{}); err != nil {
		t.Errorf("depth 64: %v", err)
	}
	if _, _, err := DecodeMsgpack(nest(65), Limits{}); err != ErrInvalidPayload {
		t.Errorf("depth 65: %v, want ErrInvalidPayload", err)
	}
	if _, _, err := DecodeMsgpack(nest(3), Limits{MaxDepth: 2}); err != ErrInvalidPayload {
		t.Errorf("depth 3 with MaxDepth 2: %v", err)
	}
	// an ext tuple is an array too
	tuple := unhex(t, strings.ReplaceAll("84a474797065 03 a2696401 a464617461 91 d50501 02 a36e7370a12f", " ", ""))
	if _, _, err := DecodeMsgpack(tuple, Limits{MaxDepth: 1}); err != ErrInvalidPayload {
		t.Errorf("tuple at depth 2 with MaxDepth 1: %v", err)
	}
	if _, _, err := DecodeMsgpack(tuple, Limits{MaxDepth: 2}); err != nil {
		t.Errorf("tuple at depth 2 with MaxDepth 2: %v", err)
	}
	bins := func(n int) []byte {
		b := msgpack.AppendMapHeader(nil, 3)
		b = msgpack.AppendUint(msgpack.AppendString(b, "type"), 2)
		b = msgpack.AppendArrayHeader(msgpack.AppendString(b, "data"), n+1)
		b = msgpack.AppendString(b, "bins")
		for range n {
			b = msgpack.AppendBin(b, []byte{1})
		}
		return msgpack.AppendString(msgpack.AppendString(b, "nsp"), "/")
	}
	if p, atts, err := DecodeMsgpack(bins(10), Limits{}); err != nil || len(atts) != 10 || p.Type != BinaryEvent || p.Attachments != 10 {
		t.Errorf("10 binaries: %+v %d %v", p, len(atts), err)
	}
	if _, _, err := DecodeMsgpack(bins(11), Limits{}); err != ErrTooManyAttachments {
		t.Errorf("11 binaries: %v", err)
	}
	if _, _, err := DecodeMsgpack(bins(1), Limits{MaxAttachments: -1}); err != ErrTooManyAttachments {
		t.Errorf("binary with MaxAttachments -1: %v", err)
	}
	if _, _, err := DecodeMsgpack(bins(3), Limits{MaxAttachments: 3}); err != nil {
		t.Errorf("3 binaries with MaxAttachments 3: %v", err)
	}
}

func TestMsgpackEncodeCases(t *testing.T) {
	atts := [][]byte{{1, 2}, {3}}
	tests := []struct {
		name string
		p    Packet
		atts [][]byte
		want string // hex, spaces ignored
	}{
		{"event", Packet{Type: Event, Nsp: "/", Data: []byte(` [ "a" , 1 ] `)},
			nil, "83 a474797065 02 a464617461 92 a161 01 a36e7370 a12f"},
		{"ack without id", Packet{Type: Ack, Nsp: "/", Data: []byte(`[]`)},
			nil, "83 a474797065 03 a464617461 90 a36e7370 a12f"},
		{"placeholders become bin", Packet{Type: BinaryEvent, Nsp: "/", Data: []byte(`["b",{"_placeholder":true,"num":1},[{"num":0,"_placeholder":true}]]`)},
			atts, "83 a474797065 02 a464617461 93 a162 c40103 91 c4020102 a36e7370 a12f"},
		{"num as 1.0, extra keys", Packet{Type: BinaryEvent, Nsp: "/", Data: []byte(`[{"_placeholder":true,"num":1.0,"x":[1,{"y":2}]},3]`)},
			atts, "83 a474797065 02 a464617461 92 c40103 03 a36e7370 a12f"},
		{"escaped placeholder key", Packet{Type: BinaryEvent, Nsp: "/", Data: []byte(`[{"\u005fplaceholder":true,"num":0}]`)},
			atts, "83 a474797065 02 a464617461 91 c4020102 a36e7370 a12f"},
		{"not placeholders: bad num, false, repeated key, no attachments", Packet{Type: BinaryEvent, Nsp: "/",
			Data: []byte(`[{"_placeholder":true,"num":2},{"_placeholder":false,"num":0},{"_placeholder":true,"num":0,"_placeholder":1}]`)},
			atts, "83 a474797065 02 a464617461 93" +
				" 82 ac5f706c616365686f6c646572 c3 a36e756d 02" +
				" 82 ac5f706c616365686f6c646572 c2 a36e756d 00" +
				" 83 ac5f706c616365686f6c646572 c3 a36e756d 00 ac5f706c616365686f6c646572 01 a36e7370 a12f"},
		{"placeholder without attachments stays a map", Packet{Type: Event, Nsp: "/", Data: []byte(`[{"_placeholder":true,"num":0}]`)},
			nil, "83 a474797065 02 a464617461 91 82 ac5f706c616365686f6c646572 c3 a36e756d 00 a36e7370 a12f"},
		{"escapes", Packet{Type: Event, Nsp: "/", Data: []byte(`["\u00e9\n\ud83d\ude00\ud800"]`)},
			nil, "83 a474797065 02 a464617461 91 aa c3a90af09f9880efbfbd a36e7370 a12f"},
		{"connect with pid", Packet{Type: Connect, Nsp: "/x", Data: []byte(`{"sid":"s","pid":"p"}`)},
			nil, "83 a474797065 00 a464617461 82 a3736964 a173 a3706964 a170 a36e7370 a22f78"},
		{"empty namespace kept", Packet{Type: Disconnect, Nsp: ""}, nil, "82 a474797065 01 a36e7370 a0"},
		{"binary ack", Packet{Type: BinaryAck, Nsp: "/", ID: 300, HasID: true, Data: []byte(`[{"_placeholder":true,"num":0}]`)},
			atts, "84 a26964 cd012c a474797065 03 a464617461 91 c4020102 a36e7370 a12f"},
		{"top-level string", Packet{Type: ConnectError, Nsp: "/", Data: []byte(`"no"`)}, nil, "83 a474797065 04 a464617461 a26e6f a36e7370 a12f"},
	}
	for _, tt := range tests {
		got, err := AppendMsgpack(nil, tt.p, tt.atts)
		if want := unhex(t, strings.ReplaceAll(tt.want, " ", "")); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: got %x (%v)\n want %x", tt.name, got, err, want)
		}
	}
	for _, bad := range []Packet{
		{Type: 7, Nsp: "/"},
		{Type: Event, Nsp: "/", Data: []byte(`["a"`)},
		{Type: Event, Nsp: "/", Data: []byte(`["a"]]`)},
		{Type: Event, Nsp: "/", Data: []byte(`]`)},
	} {
		if got, err := AppendMsgpack([]byte("x"), bad, nil); err == nil || string(got) != "x" {
			t.Errorf("AppendMsgpack(%+v) = %q, %v; want an error and dst unchanged", bad, got, err)
		}
	}
}

// Containers and strings of every size class survive a round trip, with
// the smallest headers.
func TestMsgpackRoundTripSizes(t *testing.T) {
	for _, n := range []int{0, 15, 16, 31, 32, 255, 256, 65535, 65536} {
		s := strings.Repeat("x", n)
		arr := "[" + strings.TrimSuffix(strings.Repeat("1,", n), ",") + "]"
		var obj strings.Builder
		obj.WriteByte('{')
		for i := range n {
			if i > 0 {
				obj.WriteByte(',')
			}
			obj.WriteString(`"k` + strings.Repeat("0", 6-len(itoa(i))) + itoa(i) + `":true`)
		}
		obj.WriteByte('}')
		bin := bytes.Repeat([]byte{7}, n)
		data := `["s","` + s + `",` + arr + `,` + obj.String() + `,{"_placeholder":true,"num":0}]`
		p := Packet{Type: BinaryAck, Nsp: "/", ID: 1, HasID: true, Data: []byte(data), Attachments: 1}
		enc, err := AppendMsgpack(nil, p, [][]byte{bin})
		if err != nil {
			t.Fatal(err)
		}
		q, atts, err := DecodeMsgpack(enc, Limits{})
		if err != nil || string(q.Data) != data || len(atts) != 1 || !bytes.Equal(atts[0], bin) ||
			q.Type != BinaryAck || q.Nsp != "/" || q.ID != 1 || !q.HasID || q.Attachments != 1 {
			t.Fatalf("n=%d: round trip %+v %v", n, q, err)
		}
		wantHeader := func(what string, b []byte) {
			if !bytes.Contains(enc, b) {
				t.Errorf("n=%d: no %s header %x", n, what, b)
			}
		}
		wantHeader("str", append(msgpack.AppendStrHeader(nil, n), s[:min(n, 4)]...))
		wantHeader("array", append(msgpack.AppendArrayHeader(nil, n), []byte{1, 1, 1}[:min(n, 3)]...))
		wantHeader("map", msgpack.AppendMapHeader(nil, n))
		binMsg := msgpack.AppendBin(nil, bin)
		wantHeader("bin", binMsg[:len(binMsg)-n])
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func TestMsgpackDates(t *testing.T) {
	for _, tt := range []struct {
		ms   int64
		want string
	}{
		{0, `"1970-01-01T00:00:00.000Z"`},
		{-1, `"1969-12-31T23:59:59.999Z"`},
		{951782400000, `"2000-02-29T00:00:00.000Z"`},
		{-62167219200000, `"0000-01-01T00:00:00.000Z"`},
		{-62167219200001, `"-000001-12-31T23:59:59.999Z"`},
		{253402300799999, `"9999-12-31T23:59:59.999Z"`},
		{253402300800000, `"+010000-01-01T00:00:00.000Z"`},
		{8.64e15, `"+275760-09-13T00:00:00.000Z"`},
		{-8.64e15, `"-271821-04-20T00:00:00.000Z"`},
		{8.64e15 + 1, `null`},
		{math.MinInt64, `null`},
	} {
		if got := string(appendDateJSON(nil, tt.ms)); got != tt.want {
			t.Errorf("%d: %s, want %s", tt.ms, got, tt.want)
		}
	}
}

func TestParseParser(t *testing.T) {
	for name, want := range map[string]Parser{"": DefaultParser, "default": DefaultParser, "json": DefaultParser, "msgpack": MsgpackParser} {
		if p, err := ParseParser(name); err != nil || p != want {
			t.Errorf("ParseParser(%q) = %v, %v", name, p, err)
		}
	}
	if _, err := ParseParser("MsgPack"); !errors.Is(err, ErrUnknownParser) {
		t.Errorf("ParseParser(MsgPack): %v", err)
	}
	if DefaultParser.String() != "default" || MsgpackParser.String() != "msgpack" || Parser(9).String() != "unknown" {
		t.Error("Parser.String")
	}
}

// ---- fuzzing ------------------------------------------------------------------

func addMsgpackSeeds(f *testing.F) {
	v := loadMsgpackVectors(f)
	for _, e := range v.Encode {
		f.Add(unhex(f, e.Hex))
	}
	for _, d := range v.Decode {
		f.Add(unhex(f, d.Hex))
	}
}

// FuzzDecodeMsgpack: DecodeMsgpack never panics; what it accepts is valid
// JSON within the limits with valid placeholders, and one round of
// AppendMsgpack/DecodeMsgpack reaches a fixed point.
func FuzzDecodeMsgpack(f *testing.F) {
	addMsgpackSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		lim := Limits{MaxDepth: 8, MaxAttachments: 4}
		p, atts, err := DecodeMsgpack(b, lim)
		if err != nil {
			if p.Data != nil || atts != nil {
				t.Fatalf("error %v with a packet", err)
			}
			return
		}
		if p.Type > BinaryAck || p.Attachments != len(atts) || p.Type.Binary() != (len(atts) > 0) || len(atts) > 4 {
			t.Fatalf("packet %+v with %d attachments", p, len(atts))
		}
		if p.HasID && p.ID > MaxAckID {
			t.Fatalf("id %d", p.ID)
		}
		if p.Data != nil {
			if err := jsontext.Validate(p.Data, lim.MaxDepth); err != nil {
				t.Fatalf("data %q: %v", p.Data, err)
			}
			if err := CheckPlaceholders(p.Data, len(atts)); err != nil {
				t.Fatalf("data %q: %v", p.Data, err)
			}
			if !payloadValidLoose(p.Type, p.Data) {
				t.Fatalf("data %q for %v", p.Data, p.Type)
			}
		}
		m1, err := AppendMsgpack(nil, p, atts)
		if err != nil {
			t.Fatalf("AppendMsgpack(%+v): %v", p, err)
		}
		p2, atts2, err := DecodeMsgpack(m1, lim)
		if err != nil {
			t.Fatalf("DecodeMsgpack(AppendMsgpack(%+v) = %x): %v", p, m1, err)
		}
		m2, _ := AppendMsgpack(nil, p2, atts2)
		if !bytes.Equal(m1, m2) {
			t.Fatalf("no fixed point:\n%x\n%x", m1, m2)
		}
	})
}

// payloadValidLoose is the msgpack parser's isDataValid on our JSON.
func payloadValidLoose(t Type, data []byte) bool {
	switch jsontext.Kind(data) {
	case '{':
		return t == Connect || t == ConnectError
	case '"':
		return t == ConnectError
	case '[':
		return t == Event || t == Ack || t.Binary()
	}
	return false
}

// FuzzMsgpackTranscode: JSON (as a host emits it) → msgpack → JSON keeps
// the value a JS peer sees, and placeholders naming attachments come back
// as the same attachments.
func FuzzMsgpackTranscode(f *testing.F) {
	for _, s := range []string{
		`["a",1,-0,1.5,1e400,"\ud800",{"x":[null,true,false]}]`,
		`[{"_placeholder":true,"num":1},{"\u005fplaceholder":true,"num":0.0},{"_placeholder":true,"num":3}]`,
		`[{"a":1,"a":2},[[[[]]]],{},"",9007199254740993,-9223372036854775809,18446744073709551616]`,
		`[123456789012345678901234567890,1e-400,0.1,"\u0000\u2028"]`,
	} {
		f.Add(s, uint8(2))
	}
	for _, v := range loadVectors(f) {
		if v.Data != nil && jsontext.Kind([]byte(*v.Data)) == '[' {
			f.Add(*v.Data, uint8(v.Attachments))
		}
	}
	f.Fuzz(func(t *testing.T, data string, n uint8) {
		if jsontext.Validate([]byte(data), 1000) != nil || jsontext.Kind([]byte(data)) != '[' {
			return
		}
		atts := make([][]byte, n%5)
		for i := range atts {
			atts[i] = []byte{byte(i), 0xff}
		}
		m, err := AppendMsgpack(nil, Packet{Type: Ack, Nsp: "/", ID: 1, HasID: true, Data: []byte(data)}, atts)
		if err != nil {
			t.Fatalf("AppendMsgpack(%q): %v", data, err)
		}
		p, got, err := DecodeMsgpack(m, Limits{MaxDepth: 1000, MaxAttachments: 1 << 20})
		if err == ErrInvalidAttachments {
			return // a map with "_placeholder": true that names no attachment, next to binary
		}
		if err != nil {
			t.Fatalf("DecodeMsgpack(%x) of %q: %v", m, data, err)
		}
		var probe any
		if json.Unmarshal([]byte(data), &probe) != nil {
			return // encoding/json cannot read it (e.g. 1e400): no reference value
		}
		if !reflect.DeepEqual(jsValue(t, p.Data, got), jsValueNoInf(t, data, atts)) {
			t.Fatalf("%q → %x → %s", data, m, p.Data)
		}
	})
}

// jsValueNoInf is jsValue of the input side, where placeholders that name
// no attachment (or any, without attachments) stay objects.
func jsValueNoInf(t *testing.T, data string, atts [][]byte) any {
	var v any
	json.Unmarshal([]byte(data), &v)
	var sub func(any) any
	sub = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			if ph, _ := x["_placeholder"].(bool); ph && len(atts) > 0 {
				if n, ok := x["num"].(float64); ok && n >= 0 && n < float64(len(atts)) && n == math.Trunc(n) {
					return "bin:" + hex.EncodeToString(atts[int(n)])
				}
			}
			for k, e := range x {
				x[k] = sub(e)
			}
		case []any:
			for i, e := range x {
				x[i] = sub(e)
			}
		}
		return v
	}
	return sub(v)
}
