package sio

import (
	"strings"
	"testing"
)

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		lim  Limits
		want error
	}{
		{"", Limits{}, ErrInvalidType},
		{"abc", Limits{}, ErrInvalidType},
		{"7", Limits{}, ErrInvalidType},
		{" 0", Limits{}, ErrInvalidType},
		{"5", Limits{}, ErrInvalidAttachments},
		{"51", Limits{}, ErrInvalidAttachments},
		{"50-", Limits{}, ErrInvalidAttachments},
		{"5-", Limits{}, ErrInvalidAttachments},
		{"5a-", Limits{}, ErrInvalidAttachments},
		{"51.23-", Limits{}, ErrInvalidAttachments},
		{`511-["a"]`, Limits{}, ErrTooManyAttachments},
		{`599999999999999999999999-["a"]`, Limits{}, ErrTooManyAttachments},
		{`53-["hello"]`, Limits{MaxAttachments: 2}, ErrTooManyAttachments},
		{`52-["hello"]`, Limits{MaxAttachments: 2}, nil},
		{`511-["a"]`, Limits{MaxAttachments: 11}, nil},
		{`51-["a"]`, Limits{MaxAttachments: -1}, ErrTooManyAttachments},
		{"2/\xff,[\"a\"]", Limits{}, ErrInvalidNamespace},
		{"2/a\xc3", Limits{}, ErrInvalidNamespace},
		{`29007199254740992["a"]`, Limits{}, ErrInvalidID},
		{`218446744073709551616["a"]`, Limits{}, ErrInvalidID},
		{`2 ["a"]`, Limits{}, ErrInvalidID},
		{`212` + "\t" + `["a"]`, Limits{}, ErrInvalidID},
		{`2{}`, Limits{}, ErrInvalidPayload},
		{`2abc["a"]`, Limits{}, ErrInvalidPayload},
		{`2["connect"]`, Limits{}, ErrInvalidPayload},
		{"2[\"a\xff\"]", Limits{}, ErrInvalidPayload},
		{`2["a",[[1]]]`, Limits{MaxDepth: 2}, ErrInvalidPayload},
		{`2["a",[[1]]]`, Limits{MaxDepth: 3}, nil},
		{`0{"a":{"b":1}}`, Limits{MaxDepth: 1}, ErrInvalidPayload},
	} {
		_, err := Decode([]byte(tc.in), tc.lim)
		if err != tc.want {
			t.Errorf("Decode(%q, %+v) = %v, want %v", tc.in, tc.lim, err, tc.want)
		}
	}
}

func TestDecodeDefaultDepth(t *testing.T) {
	nest := func(d int) string {
		return `2["a",` + strings.Repeat("[", d-1) + strings.Repeat("]", d-1) + `]`
	}
	if _, err := Decode([]byte(nest(64)), Limits{}); err != nil {
		t.Errorf("depth 64: %v", err)
	}
	if _, err := Decode([]byte(nest(65)), Limits{}); err != ErrInvalidPayload {
		t.Errorf("depth 65: %v", err)
	}
}

func TestDecodeAliases(t *testing.T) {
	b := []byte(`2/admin,1["a"]`)
	p, err := Decode(b, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-3] = 'z'
	if string(p.Data) != `["z"]` {
		t.Fatalf("Data does not alias the input: %q", p.Data)
	}
	if p.Nsp != "/admin" {
		t.Fatalf("Nsp changed with the input: %q", p.Nsp)
	}
}

func TestEventName(t *testing.T) {
	for _, tc := range []struct {
		data string
		want string
		ok   bool
	}{
		{`["foo"]`, "foo", true},
		{` [ "a\"b\u00e9" , 1 ]`, "a\"bé", true},
		{`["\ud83d\ude00"]`, "😀", true},
		{`[""]`, "", true},
		{`["connect"]`, "connect", true}, // EventName does not judge
		{`[1]`, "1", true},
		{`[0]`, "0", true},
		{`[-0]`, "0", true},
		{`[-12]`, "-12", true},
		{`[1.0]`, "1", true},
		{`[1.50]`, "1.5", true},
		{`[1e2]`, "100", true},
		{`[1E+2]`, "100", true},
		{`[123456789012345678901]`, "123456789012345680000", true},
		{`[1e21]`, "1e+21", true},
		{`[1.5e21]`, "1.5e+21", true},
		{`[0.000001]`, "0.000001", true},
		{`[1e-7]`, "1e-7", true},
		{`[-1.25e-10]`, "-1.25e-10", true},
		{`[0.1]`, "0.1", true},
		{`[9007199254740993]`, "9007199254740992", true},
		{`[1e400]`, "Infinity", true},
		{`[-1e400]`, "-Infinity", true},
		{`[1e-400]`, "0", true},
		{`[123e-2]`, "1.23", true},
		{`[true]`, "", false},
		{`[null]`, "", false},
		{`[{}]`, "", false},
		{`[]`, "", false},
		{`{"a":1}`, "", false},
		{`"foo"`, "", false},
		{``, "", false},
	} {
		got, ok := EventName([]byte(tc.data))
		if got != tc.want || ok != tc.ok {
			t.Errorf("EventName(%s) = %q, %v; want %q, %v", tc.data, got, ok, tc.want, tc.ok)
		}
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		p    Packet
		want error
	}{
		{Packet{Type: Connect}, nil},
		{Packet{Type: Connect, Nsp: "/"}, nil},
		{Packet{Type: Event, Nsp: "/a", Data: []byte(`["x"]`), ID: 3, HasID: true}, nil},
		{Packet{Type: Event, Data: []byte(`["x"]`), ID: 1 << 60}, nil}, // ID ignored without HasID
		{Packet{Type: Event, Data: []byte(`["x"]`), Attachments: 3}, nil},
		{Packet{Type: 7}, ErrInvalidType},
		{Packet{Type: BinaryEvent, Data: []byte(`["x"]`)}, ErrInvalidAttachments},
		{Packet{Type: BinaryAck, Data: []byte(`[]`), Attachments: 11}, ErrTooManyAttachments},
		{Packet{Type: Event, Nsp: "/a,b", Data: []byte(`["hello"]`)}, ErrInvalidNamespace},
		{Packet{Type: Event, Nsp: "admin", Data: []byte(`["hello"]`)}, ErrInvalidNamespace},
		{Packet{Type: Event, Nsp: "/\xff", Data: []byte(`["hello"]`)}, ErrInvalidNamespace},
		{Packet{Type: Ack, Data: []byte(`[]`), ID: MaxAckID + 1, HasID: true}, ErrInvalidID},
		{Packet{Type: Connect, Nsp: "/admin", Data: []byte(`"invalid"`)}, ErrInvalidPayload},
		{Packet{Type: Connect, Data: []byte(`[]`)}, ErrInvalidPayload},
		{Packet{Type: Disconnect, Nsp: "/admin", Data: []byte(`{}`)}, ErrInvalidPayload},
		{Packet{Type: Event, Data: []byte(`"invalid"`)}, ErrInvalidPayload},
		{Packet{Type: Event, Data: []byte(`{}`)}, ErrInvalidPayload},
		{Packet{Type: Event, Data: []byte(`[{"toString":"foo"}]`)}, ErrInvalidPayload},
		{Packet{Type: Event, Data: []byte(`[true,"foo"]`)}, ErrInvalidPayload},
		{Packet{Type: Event, Data: []byte(`[null,"bar"]`)}, ErrInvalidPayload},
		{Packet{Type: Event, Data: []byte(`["connect"]`)}, ErrInvalidPayload},
		{Packet{Type: Event, Data: []byte(`["disconnect","123"]`)}, ErrInvalidPayload},
		{Packet{Type: Event, Data: []byte(` ["x"]`)}, ErrInvalidPayload},
		{Packet{Type: Event, Data: []byte(`["x"] `)}, ErrInvalidPayload},
		{Packet{Type: Event, Data: []byte(`["x"`)}, ErrInvalidPayload},
		{Packet{Type: ConnectError, Data: []byte(`"Unauthorized"`)}, nil},
	} {
		if err := Check(tc.p, Limits{}); err != tc.want {
			t.Errorf("Check(%+v) = %v, want %v", tc.p, err, tc.want)
			continue
		}
		if tc.want == nil {
			// Check's promise: the encoding decodes back to the packet.
			got, err := Decode(Append(nil, tc.p), Limits{})
			want := tc.p
			if want.Nsp == "" {
				want.Nsp = "/"
			}
			if !want.HasID {
				want.ID = 0
			}
			if !want.Type.Binary() {
				want.Attachments = 0
			}
			if err != nil || !equalPacket(got, want) {
				t.Errorf("Decode(Append(%+v)) = %+v, %v", tc.p, got, err)
			}
		}
	}
}

func TestAppend(t *testing.T) {
	for _, tc := range []struct {
		p    Packet
		want string
	}{
		{Packet{Type: Connect}, "0"},
		{Packet{Type: Connect, Nsp: "/admin"}, "0/admin,"},
		{Packet{Type: Disconnect, Nsp: "/admin"}, "1/admin,"},
		{Packet{Type: Event, Nsp: "/", Data: []byte(`["foo"]`)}, `2["foo"]`},
		{Packet{Type: Ack, ID: 12, HasID: true, Data: []byte(`[]`)}, `312[]`},
		{Packet{Type: Ack, ID: 0, HasID: true, Data: []byte(`[]`)}, `30[]`},
		{Packet{Type: Event, Nsp: "/admin", ID: 13, HasID: true, Data: []byte(`["foo"]`)}, `2/admin,13["foo"]`},
		{Packet{Type: BinaryAck, Nsp: "/admin", ID: 1, HasID: true, Attachments: 1, Data: []byte(`[{"_placeholder":true,"num":0}]`)}, `61-/admin,1[{"_placeholder":true,"num":0}]`},
		{Packet{Type: BinaryEvent, Attachments: 2, Data: []byte(`["m"]`)}, `52-["m"]`},
		{Packet{Type: Event, Data: []byte{}}, `2`},
		{Packet{Type: 12}, `12`},
	} {
		if got := string(Append(nil, tc.p)); got != tc.want {
			t.Errorf("Append(%+v) = %q, want %q", tc.p, got, tc.want)
		}
	}
}

func TestAppendPlaceholder(t *testing.T) {
	if got := string(AppendPlaceholder([]byte(`["a",`), 0)); got != `["a",{"_placeholder":true,"num":0}` {
		t.Fatal(got)
	}
	if got := string(AppendPlaceholder(nil, 12)); got != `{"_placeholder":true,"num":12}` {
		t.Fatal(got)
	}
}

func TestTypeString(t *testing.T) {
	want := []string{"CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK", "UNKNOWN"}
	for i, w := range want {
		if got := Type(i).String(); got != w {
			t.Errorf("Type(%d).String() = %q, want %q", i, got, w)
		}
	}
	if Type(255).String() != "UNKNOWN" {
		t.Error("Type(255)")
	}
}

func TestIsReservedEvent(t *testing.T) {
	for _, n := range []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"} {
		if !IsReservedEvent(n) {
			t.Errorf("%q not reserved", n)
		}
		for _, lit := range []string{`"` + n + `"`, `"\u00` + string("0123456789abcdef"[n[0]>>4]) + string("0123456789abcdef"[n[0]&15]) + n[1:] + `"`} {
			if !isReserved([]byte(lit)) {
				t.Errorf("isReserved(%s) = false", lit)
			}
		}
	}
	for _, n := range []string{"", "Connect", "connect ", "message", "error", "connection"} {
		if IsReservedEvent(n) {
			t.Errorf("%q reserved", n)
		}
	}
}
