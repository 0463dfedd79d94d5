package sio

import (
	"bytes"
	"encoding/json"
	"regexp"
	"testing"
	"unicode/utf8"
)

func addVectorSeeds(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add([]byte(v.Wire))
	}
	f.Add([]byte(`2["echo",{"i":1,"t":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}]`))
	f.Add([]byte("2/\xff,[\"a\"]"))
	f.Add([]byte(`2["a",{"_placeholder":true,"num":0}]`))
}

// refPacket is an independent reading of the packet grammar (PROTOCOL-NOTES
// §10) with a regular expression and encoding/json, to cross-check Decode.
var refPacket = regexp.MustCompile(`(?s)^([0-6])(?:([0-9]+)-)?(/[^,]*,?)?([0-9]*)(.*)$`)

func refDecodeOK(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	m := refPacket.FindSubmatch(b)
	if m == nil {
		return false
	}
	typ := Type(m[1][0] - '0')
	binary := typ.Binary()
	if binary != (len(m[2]) > 0) {
		return false
	}
	if binary {
		n := 0
		for _, c := range m[2] {
			n = min(n*10+int(c-'0'), 1000)
		}
		if n < 1 || n > DefaultMaxAttachments {
			return false
		}
	}
	if id := m[4]; len(id) > 0 {
		if len(bytes.TrimLeft(id, "0")) > 16 {
			return false
		}
		var v uint64
		for _, c := range id {
			v = v*10 + uint64(c-'0')
		}
		if v > MaxAckID {
			return false
		}
	}
	payload := m[5]
	if len(payload) == 0 {
		return true
	}
	if c := payload[0]; c == ' ' || c == '\t' || c == '\r' || c == '\n' {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil || dec.More() {
		return false
	}
	if _, err := dec.Token(); err == nil { // trailing data
		return false
	}
	if !json.Valid(payload) {
		return false
	}
	switch typ {
	case Connect:
		_, ok := v.(map[string]any)
		return ok
	case Disconnect:
		return false
	case ConnectError:
		switch v.(type) {
		case string, map[string]any:
			return true
		}
		return false
	case Event, BinaryEvent:
		a, ok := v.([]any)
		if !ok || len(a) == 0 {
			return false
		}
		switch first := a[0].(type) {
		case json.Number:
			return true
		case string:
			return !IsReservedEvent(first)
		}
		return false
	default:
		_, ok := v.([]any)
		return ok
	}
}

func FuzzDecode(f *testing.F) {
	addVectorSeeds(f)
	lim := Limits{MaxDepth: 10000} // encoding/json's own limit
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Decode(b, lim)
		if want := refDecodeOK(b); (err == nil) != want {
			// The reference cannot see invalid UTF-8 in a valid-looking namespace
			// or string; everything else must agree.
			if utf8.Valid(b) {
				t.Fatalf("Decode(%q) = %+v, %v; reference says ok=%v", b, p, err, want)
			}
		}
		if err != nil {
			return
		}
		if err := Check(p, lim); err != nil {
			t.Fatalf("Check(Decode(%q)) = %v", b, err)
		}
		w := Append(nil, p)
		p2, err := Decode(w, lim)
		if err != nil || !equalPacket(p, p2) {
			t.Fatalf("Decode(%q) = %+v; Append = %q; decodes to %+v, %v", b, p, w, p2, err)
		}
		if p.Data != nil && (p.Type == Event || p.Type == BinaryEvent) {
			if _, ok := EventName(p.Data); !ok {
				t.Fatalf("no event name in %q", p.Data)
			}
		}
		CheckPlaceholders(p.Data, p.Attachments)
	})
}

// FuzzReassembler feeds a message sequence (messages split on 0x00; a message
// starting with 0x01 is binary, with that byte dropped) to a Reassembler and
// checks it against a model built on Decode.
func FuzzReassembler(f *testing.F) {
	for _, v := range loadVectors(f) {
		seq := []byte(v.Wire)
		if !v.Error {
			for i := range v.Attachments {
				seq = append(seq, 0, 1, byte('a'+i))
			}
		}
		f.Add(seq)
	}
	f.Add([]byte("52-[\"message\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]\x00\x01\x01\x02\x00\x01\x03\x00" + `2["x"]`))
	f.Add([]byte("51-[\"a\",{\"_placeholder\":true,\"num\":0}]\x00" + `2["x"]` + "\x00\x01z"))
	f.Add([]byte("\x01zz\x0051-[\"a\",{\"_placeholder\":true,\"num\":1}]\x00\x01z"))
	f.Fuzz(func(t *testing.T, seq []byte) {
		var r Reassembler
		var want Packet // model: pending packet
		var got int     // model: attachments received
		pending := false
		for _, m := range bytes.Split(seq, []byte{0}) {
			if len(m) > 0 && m[0] == 1 {
				p, atts, complete, err := r.Binary(m[1:])
				switch {
				case !pending:
					if err != ErrUnexpectedBinary {
						t.Fatalf("Binary without pending: %v", err)
					}
				case got+1 < want.Attachments:
					got++
					if err != nil || complete {
						t.Fatalf("Binary %d/%d: complete=%v err=%v", got, want.Attachments, complete, err)
					}
				default:
					pending = false
					perr := CheckPlaceholders(want.Data, want.Attachments)
					if err != perr || complete != (err == nil) {
						t.Fatalf("last Binary: complete=%v err=%v; placeholders: %v", complete, err, perr)
					}
					if complete && (!equalPacket(p, want) || len(atts) != want.Attachments || !bytes.Equal(atts[len(atts)-1], m[1:])) {
						t.Fatalf("completed %+v with %d atts, want %+v", p, len(atts), want)
					}
				}
			} else {
				in := bytes.Clone(m)
				p, complete, err := r.Text(in)
				dp, derr := Decode(m, Limits{})
				switch {
				case pending:
					pending = false
					if err != ErrUnexpectedText {
						t.Fatalf("Text while pending: %v", err)
					}
				case derr != nil:
					if err != derr {
						t.Fatalf("Text(%q) = %v, Decode = %v", m, err, derr)
					}
				case dp.Type.Binary():
					if err != nil || complete {
						t.Fatalf("Text(%q): complete=%v err=%v", m, complete, err)
					}
					pending, want, got = true, dp, 0
					clear(in) // the Reassembler must have copied what it keeps
				default:
					if err != nil || !complete || !equalPacket(p, dp) {
						t.Fatalf("Text(%q) = %+v, %v, %v; Decode = %+v", m, p, complete, err, dp)
					}
				}
			}
			if r.Pending() != pending {
				t.Fatalf("Pending() = %v, model %v", r.Pending(), pending)
			}
		}
	})
}
