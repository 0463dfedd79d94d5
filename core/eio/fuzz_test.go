package eio

import (
	"bytes"
	"testing"
)

func FuzzDecodePacket(f *testing.F) {
	for _, v := range loadJSON[packetVector](f, "packets.json") {
		f.Add(v.wire(f), v.Binary)
	}
	f.Fuzz(func(t *testing.T, b []byte, binary bool) {
		p, err := DecodePacket(b, binary)
		if len(b) > 0 && b[0] == 'b' && !binary {
			// "b"+base64 text is a binary message (engine.io-parser), not re-encodable as text
			if err == nil && (!p.Binary || p.Type != Message) {
				t.Fatalf("DecodePacket(%q) = %+v, want a binary message", b, p)
			}
			return
		}
		if err != nil {
			if binary || (len(b) > 0 && b[0] >= '0' && b[0] <= '6') {
				t.Fatalf("DecodePacket(%q, %v) = %v for a valid frame", b, binary, err)
			}
			return
		}
		if p.Binary != binary || (binary && p.Type != Message) || p.Type > Noop {
			t.Fatalf("DecodePacket(%q, %v) = %+v", b, binary, p)
		}
		enc := AppendPacket(nil, p)
		if len(b) > 0 && !bytes.Equal(enc, b) {
			t.Fatalf("AppendPacket(DecodePacket(%q)) = %q", b, enc)
		}
		p2, err := DecodePacket(enc, binary)
		if err != nil || !equalPacket(p, p2) {
			t.Fatalf("round trip of %q: %+v, %v; want %+v", enc, p2, err, p)
		}
		// The same packet survives the polling form, unless its text
		// contains the separator (which v4 text may not).
		if bytes.IndexByte(p.Data, Separator) >= 0 && !p.Binary {
			return
		}
		var got []Packet
		if err := DecodePayload(AppendPayloadPacket(nil, p), func(q Packet) bool { got = append(got, q); return true }); err != nil {
			t.Fatalf("payload form of %+v: %v", p, err)
		}
		if len(got) != 1 || !equalPacket(got[0], p) {
			t.Fatalf("payload form of %+v decodes to %+v", p, got)
		}
	})
}

func FuzzDecodePayload(f *testing.F) {
	for _, v := range loadJSON[payloadVector](f, "payloads.json") {
		f.Add([]byte(v.Payload))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var got []Packet
		err := DecodePayload(body, func(p Packet) bool {
			if p.Type > Noop || (p.Binary && p.Type != Message) {
				t.Fatalf("DecodePayload(%q) gave %+v", body, p)
			}
			got = append(got, Packet{Type: p.Type, Data: bytes.Clone(p.Data), Binary: p.Binary})
			return true
		})
		if err != nil {
			if err != ErrParse {
				t.Fatalf("DecodePayload(%q) = %v, want ErrParse", body, err)
			}
			return
		}
		if want := bytes.Count(body, []byte{Separator}) + 1; len(got) != want {
			t.Fatalf("DecodePayload(%q) gave %d packets, want %d", body, len(got), want)
		}
		// Re-encode and decode again: the same packets.
		var enc []byte
		for _, p := range got {
			enc = AppendEncodedToPayload(enc, AppendPacket(nil, p), p.Binary)
		}
		if len(got) == 1 && len(enc) == 0 {
			t.Fatalf("re-encoding %+v gave an empty payload", got)
		}
		var again []Packet
		if err := DecodePayload(enc, func(p Packet) bool { again = append(again, p); return true }); err != nil {
			t.Fatalf("re-encoded %q (from %q): %v", enc, body, err)
		}
		if len(again) != len(got) {
			t.Fatalf("re-encoded %q gave %d packets, want %d", enc, len(again), len(got))
		}
		for i := range got {
			if !equalPacket(got[i], again[i]) {
				t.Fatalf("packet %d: %+v became %+v", i, got[i], again[i])
			}
		}
		// A canonical payload re-encodes to itself.
		var enc2 []byte
		for _, p := range again {
			enc2 = AppendEncodedToPayload(enc2, AppendPacket(nil, p), p.Binary)
		}
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("not canonical: %q then %q", enc, enc2)
		}
	})
}
