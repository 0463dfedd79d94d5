package wire

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"testing"
)

func TestFromToJSON(t *testing.T) {
	data := []byte(`["bin",{"_placeholder":true,"num":0},{"nested":{"_placeholder":true,"num":1},"n":1.5,"big":18446744073709551615},[{"_placeholder":true,"num":2}],"<&>"]`)
	atts := [][]byte{{1, 2, 3}, {}, {9}}
	v, err := FromJSON(data, atts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := AppendMsgpackValue(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	// As notepack.io writes ["bin", Buffer, {nested: Buffer, n: 1.5, big: 2**64-1}, [Buffer], "<&>"].
	want := "95a362696ec40301020383a66e6573746564c400a16ecb3ff8000000000000a3626967cfffffffffffffffff91c40109a33c263e"
	if hex.EncodeToString(b) != want {
		t.Fatalf("msgpack\n got %x\nwant %s", b, want)
	}
	back, gotAtts, err := ToJSON(v)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back, data) || !reflect.DeepEqual(gotAtts, atts) {
		t.Fatalf("ToJSON\n got %s %v\nwant %s %v", back, gotAtts, data, atts)
	}
}

func TestToJSONOrderAndExt(t *testing.T) {
	v := []Value{
		Map{{"b", []byte("x")}, {"a", []byte("y")}, {"u", Ext{Type: 0, Data: []byte{0}}}},
		[]byte("z"),
		Ext{Type: TimestampExt, Data: []byte{0x65, 0x53, 0xf1, 0x00}},
		Ext{Type: 7, Data: []byte{1}},
		[]Value{Ext{Type: 0, Data: []byte{0}}},
	}
	data, atts, err := ToJSON(v)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"b":{"_placeholder":true,"num":0},"a":{"_placeholder":true,"num":1}},{"_placeholder":true,"num":2},"2023-11-14T22:13:20.000Z",[7,{"_placeholder":true,"num":3}],[null]]`
	if string(data) != want || len(atts) != 4 || string(atts[0]) != "x" || string(atts[2]) != "z" {
		t.Fatalf("got %s %q", data, atts)
	}
}

func TestFromJSONBadPlaceholder(t *testing.T) {
	for _, d := range []string{
		`[{"_placeholder":true,"num":1}]`,
		`[{"_placeholder":true,"num":-1}]`,
		`[{"_placeholder":true,"num":"0"}]`,
		`[{"_placeholder":true}]`,
		`[1,`,
	} {
		if _, err := FromJSON([]byte(d), [][]byte{{1}}); err == nil {
			t.Errorf("%s: no error", d)
		}
	}
	// Not a placeholder: _placeholder is not true.
	v, err := FromJSON([]byte(`[{"_placeholder":false,"num":5}]`), nil)
	if err != nil || !reflect.DeepEqual(v, []Value{Map{{"_placeholder", false}, {"num", mustNumber("5")}}}) {
		t.Fatalf("%#v %v", v, err)
	}
}

func mustNumber(s string) Value {
	v, err := DecodeJSONValue([]byte(s))
	if err != nil {
		panic(err)
	}
	return v
}

func FuzzFromJSON(f *testing.F) {
	f.Add([]byte(`["a",{"_placeholder":true,"num":0},{"x":[1,2.5,null]}]`), []byte{1, 2})
	f.Fuzz(func(t *testing.T, data, att []byte) {
		v, err := FromJSON(data, [][]byte{att})
		if err != nil {
			return
		}
		out, atts, err := ToJSON(v)
		if err != nil {
			t.Fatalf("ToJSON: %v", err)
		}
		v2, err := FromJSON(out, atts)
		if err != nil {
			t.Fatalf("re-read %s: %v", out, err)
		}
		out2, _, err := ToJSON(v2)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("not a fixpoint: %s -> %s (%v)", out, out2, err)
		}
	})
}
