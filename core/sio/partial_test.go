package sio

import (
	"bytes"
	"testing"
)

// Partial shows the pending packet and its attachments so far, and feeding
// Append(nil, p) and the attachments to a fresh Reassembler rebuilds it.
func TestPartial(t *testing.T) {
	var r Reassembler
	if _, _, ok := r.Partial(); ok {
		t.Fatal("a zero Reassembler has a pending packet")
	}
	hdr := []byte(`52-/chat,7["up",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	if _, complete, err := r.Text(hdr); complete || err != nil {
		t.Fatal(complete, err)
	}
	if _, _, complete, err := r.Binary([]byte{1}); complete || err != nil {
		t.Fatal(complete, err)
	}
	p, atts, ok := r.Partial()
	if !ok || p.Type != BinaryEvent || p.Nsp != "/chat" || !p.HasID || p.ID != 7 || p.Attachments != 2 || len(atts) != 1 {
		t.Fatalf("Partial = %+v, %q, %v", p, atts, ok)
	}
	if got := Append(nil, p); !bytes.Equal(got, hdr) {
		t.Fatalf("Append(Partial) = %s, want %s", got, hdr)
	}

	var r2 Reassembler
	if _, complete, err := r2.Text(Append(nil, p)); complete || err != nil {
		t.Fatal(complete, err)
	}
	for _, a := range atts {
		if _, _, complete, err := r2.Binary(bytes.Clone(a)); complete || err != nil {
			t.Fatal(complete, err)
		}
	}
	for i, rr := range []*Reassembler{&r, &r2} {
		got, gotAtts, complete, err := rr.Binary([]byte{2})
		if !complete || err != nil || got.ID != 7 || len(gotAtts) != 2 || gotAtts[0][0] != 1 || gotAtts[1][0] != 2 {
			t.Fatalf("reassembler %d: %+v %q %v %v", i, got, gotAtts, complete, err)
		}
		if _, _, ok := rr.Partial(); ok {
			t.Fatalf("reassembler %d: still pending after completion", i)
		}
	}
}
