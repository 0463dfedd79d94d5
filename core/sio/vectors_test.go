package sio

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

// vector is one entry of testdata/vectors.json. Wire is a Socket.IO packet
// (the Engine.IO "4" prefix removed). Valid vectors give the decoded fields
// (Data as raw JSON text, null when absent) and, when re-encoding is not
// byte-identical, the canonical Encoded form. Invalid ones have Error; those
// with Strict are accepted by socket.io-parser 4.2.x but rejected by us on
// purpose (see Decode).
type vector struct {
	Name        string  `json:"name"`
	Wire        string  `json:"wire"`
	Error       bool    `json:"error"`
	Strict      bool    `json:"strict"`
	Type        Type    `json:"type"`
	Nsp         string  `json:"nsp"`
	ID          *uint64 `json:"id"`
	Data        *string `json:"data"`
	Attachments int     `json:"attachments"`
	Encoded     string  `json:"encoded"`
	Note        string  `json:"note"`
}

func loadVectors(tb testing.TB) []vector {
	tb.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		tb.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil {
		tb.Fatal(err)
	}
	return vs
}

func (v vector) packet() Packet {
	p := Packet{Type: v.Type, Nsp: v.Nsp, Attachments: v.Attachments}
	if v.ID != nil {
		p.ID, p.HasID = *v.ID, true
	}
	if v.Data != nil {
		p.Data = []byte(*v.Data)
	}
	return p
}

func equalPacket(a, b Packet) bool {
	return a.Type == b.Type && a.Nsp == b.Nsp && a.ID == b.ID && a.HasID == b.HasID &&
		bytes.Equal(a.Data, b.Data) && (a.Data == nil) == (b.Data == nil) && a.Attachments == b.Attachments
}

func TestVectors(t *testing.T) {
	vs := loadVectors(t)
	if len(vs) < 100 {
		t.Fatalf("only %d vectors", len(vs))
	}
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			p, err := Decode([]byte(v.Wire), Limits{})
			var r Reassembler
			rp, complete, rerr := r.Text([]byte(v.Wire))
			if v.Error {
				if err == nil {
					t.Fatalf("Decode(%q) = %+v, want error", v.Wire, p)
				}
				if rerr == nil || r.Pending() {
					t.Fatalf("Reassembler.Text(%q) = %v, pending %v; want error", v.Wire, rerr, r.Pending())
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode(%q): %v", v.Wire, err)
			}
			want := v.packet()
			if !equalPacket(p, want) {
				t.Fatalf("Decode(%q) =\n %+v (data %q), want\n %+v (data %q)", v.Wire, p, p.Data, want, want.Data)
			}
			if err := Check(p, Limits{}); err != nil {
				t.Fatalf("Check(%+v) = %v", p, err)
			}
			enc := v.Wire
			if v.Encoded != "" {
				enc = v.Encoded
			}
			if got := string(Append([]byte("x"), p)); got != "x"+enc {
				t.Fatalf("Append = %q, want %q", got[1:], enc)
			}
			// Through the Reassembler: binary packets wait for their attachments.
			if rerr != nil {
				t.Fatalf("Reassembler.Text: %v", rerr)
			}
			if p.Type.Binary() {
				if complete || !r.Pending() {
					t.Fatalf("Reassembler.Text(%q) complete=%v pending=%v", v.Wire, complete, r.Pending())
				}
				var atts [][]byte
				for i := range p.Attachments {
					rp, atts, complete, rerr = r.Binary([]byte{byte(i)})
					if rerr != nil {
						t.Fatalf("Binary %d: %v", i, rerr)
					}
					if complete != (i == p.Attachments-1) {
						t.Fatalf("Binary %d: complete=%v", i, complete)
					}
				}
				if len(atts) != p.Attachments {
					t.Fatalf("got %d attachments", len(atts))
				}
			} else if !complete {
				t.Fatalf("Reassembler.Text(%q) not complete", v.Wire)
			}
			if !equalPacket(rp, want) {
				t.Fatalf("Reassembler gave %+v, want %+v", rp, want)
			}
		})
	}
}
