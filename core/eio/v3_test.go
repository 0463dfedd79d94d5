package eio

import (
	"bytes"
	"testing"
)

// v3Vector is one entry of testdata/payloads_v3.json, made by running the
// official v3 parser (engine.io 6.6.13 build/parser-v3) on the packets:
// Payload is encodePayload(packets, supportsBinary=false), PayloadB64 (when
// a packet is binary) encodePayload(packets, true); decode-only vectors are
// decodePayload's results on a given body (Error: it reported a parse error
// after the packets listed).
type v3Vector struct {
	Name       string          `json:"name"`
	Payload    string          `json:"payload"`
	PayloadB64 string          `json:"payload_b64"`
	DecodeOnly bool            `json:"decode_only"`
	Error      bool            `json:"error"`
	Packets    []payloadPacket `json:"packets"`
}

// frameOf is the AppendPacket form of p, false when p has none (a binary
// packet that is not a message, or an unknown type).
func frameOf(p Packet) ([]byte, bool) {
	if p.Type > Noop || p.Binary && p.Type != Message {
		return nil, false
	}
	return AppendPacket(nil, p), true
}

func collect(decode func([]byte, func(Packet) bool) error, body []byte) ([]Packet, error) {
	var got []Packet
	err := decode(body, func(p Packet) bool {
		got = append(got, Packet{Type: p.Type, Data: bytes.Clone(p.Data), Binary: p.Binary})
		return true
	})
	return got, err
}

func wantPackets(t *testing.T, what string, got []Packet, want []payloadPacket) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d packets %+v, want %d", what, len(got), got, len(want))
	}
	for i := range want {
		wantPacket(t, what, got[i], want[i].packet(t))
	}
}

func TestV3PayloadVectors(t *testing.T) {
	for _, v := range loadJSON[v3Vector](t, "payloads_v3.json") {
		t.Run(v.Name, func(t *testing.T) {
			got, err := collect(DecodePayloadV3, []byte(v.Payload))
			if (err != nil) != v.Error {
				t.Fatalf("DecodePayloadV3(%q) error %v, want error %v", v.Payload, err, v.Error)
			}
			wantPackets(t, "text payload", got, v.Packets)
			if v.DecodeOnly {
				return
			}
			var text, bin []byte
			for _, p := range v.Packets {
				f, ok := frameOf(p.packet(t))
				if !ok {
					t.Fatalf("vector packet %+v has no frame form", p)
				}
				text = AppendPayloadV3(text, f, p.Binary)
				bin = AppendBinaryPayloadV3(bin, f, p.Binary)
			}
			if string(text) != v.Payload {
				t.Fatalf("AppendPayloadV3: %q, want %q", text, v.Payload)
			}
			if v.PayloadB64 == "" {
				return
			}
			want := mustB64(t, v.PayloadB64)
			if !bytes.Equal(bin, want) {
				t.Fatalf("AppendBinaryPayloadV3: %v, want %v", bin, want)
			}
			got, err = collect(DecodeBinaryPayloadV3, want)
			if err != nil {
				t.Fatal(err)
			}
			wantPackets(t, "binary payload", got, v.Packets)
		})
	}
}

func TestDecodePacketV3(t *testing.T) {
	tests := []struct {
		in     string
		binary bool
		want   Packet
		err    bool
	}{
		{"4hello", false, Packet{Type: Message, Data: []byte("hello")}, false},
		{"2probe", false, Packet{Type: Ping, Data: []byte("probe")}, false},
		{"6", false, Packet{Type: Noop, Data: []byte{}}, false},
		{"b4AQI=", false, Packet{Type: Message, Data: []byte{1, 2}, Binary: true}, false},
		{"b4AQI", false, Packet{Type: Message, Data: []byte{1, 2}, Binary: true}, false},
		{"b2cHJvYmU=", false, Packet{Type: Ping, Data: []byte("probe"), Binary: true}, false},
		{"b9AQ==", false, Packet{Type: Unknown, Data: []byte{1}, Binary: true}, false},
		{"b", false, Packet{Type: Unknown, Data: []byte{}, Binary: true}, false},
		{"\x04\x01\x02", true, Packet{Type: Message, Data: []byte{1, 2}, Binary: true}, false},
		{"\x02", true, Packet{Type: Ping, Data: []byte{}, Binary: true}, false},
		{"\x07", true, Packet{Type: Unknown, Data: []byte{}, Binary: true}, false},
		{"", true, Packet{Type: Unknown, Binary: true}, false},
		{"", false, Packet{}, true},
		{"7", false, Packet{}, true},
		{"x4", false, Packet{}, true},
		{"b4@@", false, Packet{}, true},
	}
	for _, tt := range tests {
		p, err := DecodePacketV3([]byte(tt.in), tt.binary)
		if (err != nil) != tt.err || (err == nil && !equalPacket(p, tt.want)) {
			t.Errorf("DecodePacketV3(%q, %v) = %+v, %v; want %+v (error %v)", tt.in, tt.binary, p, err, tt.want, tt.err)
		}
	}
}

// UTF16Len agrees with Buffer.toString().length / TextDecoder (checked in
// Node 20 for each input).
func TestUTF16Len(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"", 0}, {"abc", 3}, {"é", 1}, {"€", 1}, {"😀", 2}, {"a\u2028b", 3},
		{"\xe2\x82", 1}, {"\xe2\x82A", 2}, {"\xf0\x9f\x98", 1}, {"\xed\xa0\x80", 3},
		{"\xc0\x80", 2}, {"\xf4\x90\x80\x80", 4}, {"\xff", 1}, {"\xe0\x80\x80", 3},
		{"\xf0\x80", 2}, {"\xef\xbf\xbd", 1},
	}
	for _, tt := range tests {
		if got := UTF16Len([]byte(tt.in)); got != tt.want {
			t.Errorf("UTF16Len(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestV3PayloadStop(t *testing.T) {
	n := 0
	err := DecodePayloadV3([]byte("2:4a2:4b"), func(Packet) bool { n++; return false })
	if err != nil || n != 1 {
		t.Fatalf("text: %d packets, %v", n, err)
	}
	n = 0
	err = DecodeBinaryPayloadV3([]byte("\x00\x02\xff4a\x00\x02\xff4b"), func(Packet) bool { n++; return false })
	if err != nil || n != 1 {
		t.Fatalf("binary: %d packets, %v", n, err)
	}
}

func TestBinaryPayloadV3Errors(t *testing.T) {
	for _, body := range []string{
		"\x00",              // no length
		"\x00\xff",          // empty length
		"\x00\x01",          // no 255
		"\x00\x0a\xff",      // a length byte that is no digit
		"\x00\x05\xff4ab",   // shorter than its length
		"\x00\x00\xff",      // an empty text packet
		"\x00\x02\xff4\xff", // invalid UTF-8
		"\x00\x01\xff9",     // bad type
		"\x00" + string(make([]byte, 312)) + "\xff", // 312 length digits
	} {
		if _, err := collect(DecodeBinaryPayloadV3, []byte(body)); err != ErrParse {
			t.Errorf("DecodeBinaryPayloadV3(%q) = %v, want ErrParse", body, err)
		}
	}
	// surrogates encoded as utf8.js does are accepted; any non-zero first byte is binary
	got, err := collect(DecodeBinaryPayloadV3, []byte("\x00\x04\xff4\xed\xa0\x80\x07\x02\xff\x04\x09"))
	if err != nil || len(got) != 2 || string(got[0].Data) != "\xed\xa0\x80" || !got[1].Binary || got[1].Data[0] != 9 {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func v3Seeds(f *testing.F) []v3Vector { return loadJSON[v3Vector](f, "payloads_v3.json") }

// checkRoundTrip re-encodes packets decoded from some payload in both v3
// forms and checks that they decode to the same packets, canonically.
func checkRoundTrip(t *testing.T, got []Packet) {
	var text, bin []byte
	wtf8 := true
	for _, p := range got {
		f, ok := frameOf(p)
		if !ok {
			return
		}
		text = AppendPayloadV3(text, f, p.Binary)
		bin = AppendBinaryPayloadV3(bin, f, p.Binary)
		if !p.Binary && !validWTF8(f) || !p.Binary && len(f) == 0 {
			wtf8 = false
		}
	}
	for _, form := range []struct {
		name   string
		body   []byte
		decode func([]byte, func(Packet) bool) error
		enc    func([]byte, []byte, bool) []byte
	}{
		{"text", text, DecodePayloadV3, AppendPayloadV3},
		{"binary", bin, DecodeBinaryPayloadV3, AppendBinaryPayloadV3},
	} {
		if form.name == "binary" && !wtf8 || form.name == "text" && len(got) == 0 {
			continue
		}
		again, err := collect(form.decode, form.body)
		if err != nil {
			t.Fatalf("%s re-encoding %q of %+v: %v", form.name, form.body, got, err)
		}
		if len(again) != len(got) {
			t.Fatalf("%s re-encoding %q gave %d packets, want %d", form.name, form.body, len(again), len(got))
		}
		var enc []byte
		for i := range got {
			if !equalPacket(got[i], again[i]) {
				t.Fatalf("%s: packet %d: %+v became %+v", form.name, i, got[i], again[i])
			}
			f, _ := frameOf(again[i])
			enc = form.enc(enc, f, again[i].Binary)
		}
		if !bytes.Equal(enc, form.body) {
			t.Fatalf("%s: not canonical: %q then %q", form.name, form.body, enc)
		}
	}
}

func checkPackets(t *testing.T, body []byte, got []Packet) {
	for _, p := range got {
		if p.Type > Noop && p.Type != Unknown || p.Type == Unknown && !p.Binary {
			t.Fatalf("decoding %q gave %+v", body, p)
		}
	}
}

func FuzzDecodePayloadV3(f *testing.F) {
	for _, v := range v3Seeds(f) {
		f.Add([]byte(v.Payload))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := collect(DecodePayloadV3, body)
		if err != nil && err != ErrParse {
			t.Fatalf("DecodePayloadV3(%q) = %v, want ErrParse", body, err)
		}
		checkPackets(t, body, got)
		if err == nil {
			checkRoundTrip(t, got)
		}
	})
}

func FuzzDecodeBinaryPayloadV3(f *testing.F) {
	for _, v := range v3Seeds(f) {
		if v.PayloadB64 != "" {
			f.Add(mustB64(f, v.PayloadB64))
		}
	}
	f.Add([]byte("\x00\x02\xff4a\x00\x09"))
	f.Add([]byte("\x00\x04\xff4\xed\xa0\x80\x07\x02\xff\x04\x09"))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := collect(DecodeBinaryPayloadV3, body)
		if err != nil && err != ErrParse {
			t.Fatalf("DecodeBinaryPayloadV3(%q) = %v, want ErrParse", body, err)
		}
		checkPackets(t, body, got)
		if err == nil {
			checkRoundTrip(t, got)
		}
	})
}

func FuzzDecodePacketV3(f *testing.F) {
	for _, s := range []string{"4hello", "2probe", "b4AQI=", "b9AQ==", "", "1", "6"} {
		f.Add([]byte(s), false)
	}
	f.Add([]byte{4, 1, 2}, true)
	f.Add([]byte{}, true)
	f.Fuzz(func(t *testing.T, b []byte, binary bool) {
		p, err := DecodePacketV3(b, binary)
		if err != nil {
			if binary || len(b) > 0 && b[0] >= '0' && b[0] <= '6' {
				t.Fatalf("DecodePacketV3(%q, %v) = %v for a valid message", b, binary, err)
			}
			return
		}
		switch {
		case binary && len(b) > 0:
			if p.Type != typeV3(b[0]) || !bytes.Equal(p.Data, b[1:]) || !p.Binary {
				t.Fatalf("DecodePacketV3(%q, true) = %+v", b, p)
			}
			if p.Type == Message && !bytes.Equal(AppendBinaryMessageV3(nil, p.Data), b) {
				t.Fatalf("AppendBinaryMessageV3 does not give back %q", b)
			}
		case !binary && b[0] == 'b':
			if !p.Binary {
				t.Fatalf("DecodePacketV3(%q) = %+v, want binary", b, p)
			}
			if p.Type == Message {
				q, err := DecodePacketV3(AppendBase64Message(nil, p.Data, true), false)
				if err != nil || !equalPacket(p, q) {
					t.Fatalf("base64 round trip of %+v: %+v, %v", p, q, err)
				}
			}
		case !binary:
			if enc := AppendPacket(nil, p); !bytes.Equal(enc, b) || p.Binary {
				t.Fatalf("DecodePacketV3(%q) = %+v", b, p)
			}
		}
	})
}
