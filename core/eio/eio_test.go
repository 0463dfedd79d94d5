package eio

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// packetVector is one entry of testdata/packets.json: one WebSocket message
// (Wire for a text frame, WireB64 for a binary one) and the packet it decodes
// to. Encoded is the canonical re-encoding when it is not Wire itself.
type packetVector struct {
	Name    string `json:"name"`
	Wire    string `json:"wire"`
	WireB64 string `json:"wire_b64"`
	Binary  bool   `json:"binary"`
	Error   bool   `json:"error"`
	Type    Type   `json:"type"`
	Data    string `json:"data"`
	DataB64 string `json:"data_b64"`
	Encoded string `json:"encoded"`
}

// payloadPacket is one packet of a payload vector.
type payloadPacket struct {
	Type    Type   `json:"type"`
	Binary  bool   `json:"binary"`
	Data    string `json:"data"`
	DataB64 string `json:"data_b64"`
}

// payloadVector is one entry of testdata/payloads.json: a v4 polling body and
// the packets it decodes to (with Error, the packets delivered before the
// malformed one). Encoded is the canonical re-encoding when it differs.
type payloadVector struct {
	Name    string          `json:"name"`
	Payload string          `json:"payload"`
	Error   bool            `json:"error"`
	Packets []payloadPacket `json:"packets"`
	Encoded string          `json:"encoded"`
	Note    string          `json:"note"`
}

func loadJSON[T any](tb testing.TB, name string) []T {
	tb.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	var vs []T
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&vs); err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return vs
}

func mustB64(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		tb.Fatalf("bad base64 %q in vector: %v", s, err)
	}
	return b
}

func (v packetVector) wire(tb testing.TB) []byte {
	if v.Binary {
		return mustB64(tb, v.WireB64)
	}
	return []byte(v.Wire)
}

func (v packetVector) packet(tb testing.TB) Packet {
	if v.Binary {
		return Packet{Type: v.Type, Data: mustB64(tb, v.DataB64), Binary: true}
	}
	return Packet{Type: v.Type, Data: []byte(v.Data)}
}

func (p payloadPacket) packet(tb testing.TB) Packet {
	if p.Binary {
		return Packet{Type: p.Type, Data: mustB64(tb, p.DataB64), Binary: true}
	}
	return Packet{Type: p.Type, Data: []byte(p.Data)}
}

func equalPacket(a, b Packet) bool {
	return a.Type == b.Type && a.Binary == b.Binary && bytes.Equal(a.Data, b.Data)
}

// wantPacket fails unless got equals want.
func wantPacket(t *testing.T, what string, got, want Packet) {
	t.Helper()
	if !equalPacket(got, want) {
		t.Fatalf("%s = {%v %q binary=%v}, want {%v %q binary=%v}", what, got.Type, got.Data, got.Binary, want.Type, want.Data, want.Binary)
	}
}

func TestPacketVectors(t *testing.T) {
	vs := loadJSON[packetVector](t, "packets.json")
	if len(vs) < 20 {
		t.Fatalf("only %d packet vectors", len(vs))
	}
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			in := v.wire(t)
			p, err := DecodePacket(in, v.Binary)
			if v.Error {
				if err != ErrParse {
					t.Fatalf("DecodePacket(%q) = %+v, %v; want ErrParse", in, p, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodePacket(%q): %v", in, err)
			}
			want := v.packet(t)
			wantPacket(t, "DecodePacket", p, want)
			enc := string(in)
			if v.Encoded != "" {
				enc = v.Encoded
			}
			if got := AppendPacket([]byte("x"), p); string(got) != "x"+enc {
				t.Fatalf("AppendPacket = %q, want %q", got[1:], enc)
			}
			// The polling form of the same packet decodes back to it.
			pl := AppendPayloadPacket(nil, want)
			var got []Packet
			if err := DecodePayload(pl, func(p Packet) bool { got = append(got, p); return true }); err != nil {
				t.Fatalf("DecodePayload(%q): %v", pl, err)
			}
			if len(got) != 1 {
				t.Fatalf("DecodePayload(%q) gave %d packets", pl, len(got))
			}
			wantPacket(t, "payload round trip", got[0], want)
		})
	}
}

func TestPayloadVectors(t *testing.T) {
	vs := loadJSON[payloadVector](t, "payloads.json")
	if len(vs) < 20 {
		t.Fatalf("only %d payload vectors", len(vs))
	}
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			var got []Packet
			err := DecodePayload([]byte(v.Payload), func(p Packet) bool {
				got = append(got, Packet{Type: p.Type, Data: bytes.Clone(p.Data), Binary: p.Binary})
				return true
			})
			if v.Error != (err != nil) {
				t.Fatalf("DecodePayload(%q) error = %v, want error %v", v.Payload, err, v.Error)
			}
			if err != nil && err != ErrParse {
				t.Fatalf("DecodePayload(%q) error = %v, want ErrParse", v.Payload, err)
			}
			if len(got) != len(v.Packets) {
				t.Fatalf("DecodePayload(%q) gave %d packets, want %d", v.Payload, len(got), len(v.Packets))
			}
			for i, want := range v.Packets {
				wantPacket(t, "packet", got[i], want.packet(t))
			}
			if v.Error {
				return
			}
			// Re-encode: both encoders give the canonical form.
			enc := v.Payload
			if v.Encoded != "" {
				enc = v.Encoded
			}
			var a, b []byte
			for i, p := range got {
				if i > 0 {
					a = append(a, Separator)
				}
				a = AppendPayloadPacket(a, p)
				b = AppendEncodedToPayload(b, AppendPacket(nil, p), p.Binary)
			}
			if string(a) != enc {
				t.Fatalf("AppendPayloadPacket joined = %q, want %q", a, enc)
			}
			if string(b) != enc {
				t.Fatalf("AppendEncodedToPayload joined = %q, want %q", b, enc)
			}
		})
	}
}

func TestDecodePayloadStop(t *testing.T) {
	n := 0
	err := DecodePayload([]byte("4a\x1e4b\x1eGARBAGE"), func(p Packet) bool { n++; return n < 2 })
	if err != nil || n != 2 {
		t.Fatalf("stopping after 2: n=%d err=%v; want n=2, nil (the rest is never looked at)", n, err)
	}
}

func TestDecodeAliases(t *testing.T) {
	b := []byte("4hello")
	p, _ := DecodePacket(b, false)
	b[1] = 'H'
	if string(p.Data) != "Hello" {
		t.Fatalf("DecodePacket copied its input: %q", p.Data)
	}
	body := []byte("4abc\x1ebAQID")
	var ps []Packet
	DecodePayload(body, func(p Packet) bool { ps = append(ps, p); return true })
	body[1] = 'X'
	if string(ps[0].Data) != "Xbc" {
		t.Fatalf("text payload packet does not alias the body: %q", ps[0].Data)
	}
	if !bytes.Equal(ps[1].Data, []byte{1, 2, 3}) {
		t.Fatalf("binary payload packet = %v", ps[1].Data)
	}
}

func TestAppendEncodedToPayload(t *testing.T) {
	tests := []struct {
		name   string
		frames []Packet
		want   string
	}{
		{"empty", nil, ""},
		{"one text", []Packet{{Type: Message, Data: []byte("hello")}}, "4hello"},
		{"readme", []Packet{{Type: Message, Data: []byte("hello")}, {Type: Message, Data: []byte{1, 2, 3, 4}, Binary: true}}, "4hello\x1ebAQIDBA=="},
		{"ping between", []Packet{{Type: Message, Data: []byte("hello")}, {Type: Ping}, {Type: Message, Data: []byte("world")}}, "4hello\x1e2\x1e4world"},
		{"binary first", []Packet{{Type: Message, Data: []byte{0xff}, Binary: true}, {Type: Noop}}, "b/w==\x1e6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b []byte
			for _, p := range tt.frames {
				b = AppendEncodedToPayload(b, AppendPacket(nil, p), p.Binary)
			}
			if string(b) != tt.want {
				t.Fatalf("got %q, want %q", b, tt.want)
			}
		})
	}
}

func TestTypeString(t *testing.T) {
	want := []string{"open", "close", "ping", "pong", "message", "upgrade", "noop", "invalid"}
	for i, w := range want {
		if got := Type(i).String(); got != w {
			t.Errorf("Type(%d).String() = %q, want %q", i, got, w)
		}
	}
	if got := Type(255).String(); got != "invalid" {
		t.Errorf("Type(255).String() = %q", got)
	}
}

// TestEveryFirstByte pins the type table: exactly '0'..'6' start a text packet.
func TestEveryFirstByte(t *testing.T) {
	for c := 0; c < 256; c++ {
		p, err := DecodePacket([]byte{byte(c), 'x'}, false)
		ok := c >= '0' && c <= '6'
		if ok != (err == nil) {
			t.Fatalf("first byte %q: err=%v", rune(c), err)
		}
		if ok && (p.Type != Type(c-'0') || string(p.Data) != "x") {
			t.Fatalf("first byte %q: got %+v", rune(c), p)
		}
	}
}

func TestDecodeAllocs(t *testing.T) {
	text := []byte("4hello\x1e2\x1e4world")
	n := testing.AllocsPerRun(100, func() {
		DecodePayload(text, func(Packet) bool { return true })
		DecodePacket(text[:6], false)
	})
	if n != 0 {
		t.Fatalf("decoding text allocates %v times, want 0", n)
	}
	var dst []byte
	p := Packet{Type: Message, Data: []byte(strings.Repeat("x", 64))}
	dst = AppendPacket(dst[:0], p)
	n = testing.AllocsPerRun(100, func() {
		dst = AppendPacket(dst[:0], p)
		dst = AppendEncodedToPayload(dst[:0], p.Data, true)
	})
	if n != 0 {
		t.Fatalf("encoding into a big enough buffer allocates %v times, want 0", n)
	}
}
