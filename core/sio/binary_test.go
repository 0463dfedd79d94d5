package sio

import (
	"bytes"
	"strings"
	"testing"
)

// msg is one Socket.IO message fed to a Reassembler: text, or binary when bin.
type msg struct {
	bin  bool
	data string
}

func text(s string) msg { return msg{data: s} }
func bin(s string) msg  { return msg{bin: true, data: s} }

// step is what the Reassembler must answer to one message.
type step struct {
	complete bool
	err      error
	wire     string   // Append(packet) when complete
	atts     []string // attachments when complete
}

func TestReassembler(t *testing.T) {
	ph := func(n int) string { return string(AppendPlaceholder(nil, n)) }
	for _, tc := range []struct {
		name  string
		lim   Limits
		msgs  []msg
		steps []step
	}{
		{
			name:  "plain event",
			msgs:  []msg{text(`2["hello"]`)},
			steps: []step{{complete: true, wire: `2["hello"]`}},
		},
		{
			name: "suite: binary message with two attachments",
			msgs: []msg{text(`52-["message",` + ph(0) + `,` + ph(1) + `]`), bin("\x01\x02\x03"), bin("\x04\x05\x06")},
			steps: []step{{}, {}, {complete: true, wire: `52-["message",` + ph(0) + `,` + ph(1) + `]`,
				atts: []string{"\x01\x02\x03", "\x04\x05\x06"}}},
		},
		{
			name: "suite: binary ack with id",
			msgs: []msg{text(`62-789[` + ph(0) + `,` + ph(1) + `]`), bin("\x01\x02\x03"), bin("\x04\x05\x06")},
			steps: []step{{}, {}, {complete: true, wire: `62-789[` + ph(0) + `,` + ph(1) + `]`,
				atts: []string{"\x01\x02\x03", "\x04\x05\x06"}}},
		},
		{
			name: "two binary packets back to back, then text",
			msgs: []msg{text(`51-/a,["x",` + ph(0) + `]`), bin("A"), text(`61-/a,5[` + ph(0) + `]`), bin("B"), text(`2/a,["y"]`)},
			steps: []step{{}, {complete: true, wire: `51-/a,["x",` + ph(0) + `]`, atts: []string{"A"}},
				{}, {complete: true, wire: `61-/a,5[` + ph(0) + `]`, atts: []string{"B"}},
				{complete: true, wire: `2/a,["y"]`}},
		},
		{
			name:  "placeholders may repeat and leave attachments unused",
			msgs:  []msg{text(`53-["x",` + ph(2) + `,` + ph(2) + `]`), bin("a"), bin("b"), bin("c")},
			steps: []step{{}, {}, {}, {complete: true, wire: `53-["x",` + ph(2) + `,` + ph(2) + `]`, atts: []string{"a", "b", "c"}}},
		},
		{
			name:  "binary packet without placeholders or payload",
			msgs:  []msg{text(`51-`), bin("")},
			steps: []step{{}, {complete: true, wire: `51-`, atts: []string{""}}},
		},
		{
			name:  "binary without a pending packet",
			msgs:  []msg{bin("world"), text(`2["ok"]`)},
			steps: []step{{err: ErrUnexpectedBinary}, {complete: true, wire: `2["ok"]`}},
		},
		{
			name:  "text while reconstructing",
			msgs:  []msg{text(`51-["hello",` + ph(0) + `]`), text(`2["hello"]`), bin("x"), text(`2["again"]`)},
			steps: []step{{}, {err: ErrUnexpectedText}, {err: ErrUnexpectedBinary}, {complete: true, wire: `2["again"]`}},
		},
		{
			name:  "text while reconstructing, second of two",
			msgs:  []msg{text(`52-["hello",` + ph(0) + `]`), bin("x"), text(`0`)},
			steps: []step{{}, {}, {err: ErrUnexpectedText}},
		},
		{
			name:  "placeholder num is a string",
			msgs:  []msg{text(`51-["hello",{"_placeholder":true,"num":"splice"}]`), bin("world"), bin("again")},
			steps: []step{{}, {err: ErrInvalidAttachments}, {err: ErrUnexpectedBinary}},
		},
		{
			name:  "placeholder num out of range",
			msgs:  []msg{text(`51-["hello",{"_placeholder":true,"num":1}]`), bin("world")},
			steps: []step{{}, {err: ErrInvalidAttachments}},
		},
		{
			name:  "invalid text packet",
			msgs:  []msg{text(`5`), text(`53-["a"]`)},
			lim:   Limits{MaxAttachments: 2},
			steps: []step{{err: ErrInvalidAttachments}, {err: ErrTooManyAttachments}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Reassembler{Limits: tc.lim}
			for i, m := range tc.msgs {
				want := tc.steps[i]
				var (
					p        Packet
					atts     [][]byte
					complete bool
					err      error
				)
				if m.bin {
					p, atts, complete, err = r.Binary([]byte(m.data))
				} else {
					p, complete, err = r.Text([]byte(m.data))
				}
				if err != want.err || complete != want.complete {
					t.Fatalf("msg %d (%q): complete=%v err=%v; want complete=%v err=%v", i, m.data, complete, err, want.complete, want.err)
				}
				if err != nil && r.Pending() {
					t.Fatalf("msg %d: still pending after an error", i)
				}
				if !complete {
					if p.Type != 0 || p.Data != nil || atts != nil {
						t.Fatalf("msg %d: incomplete but returned %+v %q", i, p, atts)
					}
					continue
				}
				if got := string(Append(nil, p)); got != want.wire {
					t.Fatalf("msg %d: packet %q, want %q", i, got, want.wire)
				}
				if len(atts) != len(want.atts) {
					t.Fatalf("msg %d: %d attachments, want %d", i, len(atts), len(want.atts))
				}
				for j := range atts {
					if string(atts[j]) != want.atts[j] {
						t.Fatalf("msg %d: attachment %d = %q, want %q", i, j, atts[j], want.atts[j])
					}
				}
			}
		})
	}
}

func TestReassemblerCopiesText(t *testing.T) {
	var r Reassembler
	buf := []byte(`51-/chat,["x",{"_placeholder":true,"num":0}]`)
	if _, complete, err := r.Text(buf); err != nil || complete {
		t.Fatal(complete, err)
	}
	for i := range buf {
		buf[i] = '!' // the caller reuses its buffer
	}
	att := []byte("bin")
	p, atts, complete, err := r.Binary(att)
	if err != nil || !complete {
		t.Fatal(complete, err)
	}
	if p.Nsp != "/chat" || string(p.Data) != `["x",{"_placeholder":true,"num":0}]` {
		t.Fatalf("pending packet was not copied: %+v %q", p, p.Data)
	}
	if &atts[0][0] != &att[0] {
		t.Fatal("attachment was copied")
	}
	// The returned packet belongs to the caller: the next packet must not touch it.
	if _, _, err := r.Text([]byte(`51-["y",{"_placeholder":true,"num":0}]`)); err != nil {
		t.Fatal(err)
	}
	r.Binary([]byte("z"))
	if string(p.Data) != `["x",{"_placeholder":true,"num":0}]` || string(atts[0]) != "bin" {
		t.Fatalf("returned packet changed: %q %q", p.Data, atts)
	}
}

func TestReassemblerReset(t *testing.T) {
	var r Reassembler
	// socket.io-parser test "should resume decoding after calling destroy()".
	r.Text([]byte(`51-["hello"]`))
	if !r.Pending() {
		t.Fatal("not pending")
	}
	r.Reset()
	if r.Pending() {
		t.Fatal("pending after Reset")
	}
	p, complete, err := r.Text([]byte(`2["hello"]`))
	if err != nil || !complete || string(p.Data) != `["hello"]` {
		t.Fatal(p, complete, err)
	}
}

func TestReassemblerNamespaceReuse(t *testing.T) {
	var r Reassembler
	p1, _, _ := r.Text([]byte(`2/chat,["a"]`))
	in := []byte(`2/chat,["b"]`)
	allocs := testing.AllocsPerRun(100, func() {
		p, _, err := r.Text(in)
		if err != nil || p.Nsp != p1.Nsp {
			t.Fatal(p, err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per Text with a repeated namespace", allocs)
	}
}

func TestCheckPlaceholders(t *testing.T) {
	for _, tc := range []struct {
		data string
		n    int
		want error
	}{
		{``, 0, nil},
		{`["a"]`, 0, nil},
		{`["a",{"_placeholder":true,"num":0}]`, 1, nil},
		{`["a",{"_placeholder":true,"num":0}]`, 0, ErrInvalidAttachments},
		{`["a",{"_placeholder":true,"num":1}]`, 1, ErrInvalidAttachments},
		{`["a",{"_placeholder":true,"num":-1}]`, 1, ErrInvalidAttachments},
		{`["a",{"_placeholder":true,"num":"0"}]`, 1, ErrInvalidAttachments},
		{`["a",{"_placeholder":true,"num":null}]`, 1, ErrInvalidAttachments},
		{`["a",{"_placeholder":true,"num":0.5}]`, 1, ErrInvalidAttachments},
		{`["a",{"_placeholder":true,"num":1e400}]`, 1, ErrInvalidAttachments},
		{`["a",{"_placeholder":true}]`, 1, ErrInvalidAttachments},
		{`["a",{"_placeholder":true,"num":[0]}]`, 1, ErrInvalidAttachments},
		{`["a",{"_placeholder":true,"num":-0}]`, 1, nil},
		{`["a",{"_placeholder":true,"num":1.0}]`, 2, nil},
		{`["a",{"_placeholder":true,"num":1e0}]`, 2, nil},
		{`["a",{"_placeholder":true,"num":2e0}]`, 2, ErrInvalidAttachments},
		{`["a",{"num":0,"_placeholder":true}]`, 1, nil},
		{`["a",{ "_placeholder" : true , "num" : 0 , "x":1}]`, 1, nil},
		// Not placeholders: _placeholder must be exactly true.
		{`["a",{"_placeholder":"true","num":9}]`, 1, nil},
		{`["a",{"_placeholder":1,"num":9}]`, 1, nil},
		{`["a",{"_placeholder":false,"num":9}]`, 1, nil},
		{`["a",[{"_placeholder":true}]]`, 1, ErrInvalidAttachments},
		// Last duplicate key wins, as with JSON.parse.
		{`["a",{"_placeholder":true,"_placeholder":false,"num":9}]`, 1, nil},
		{`["a",{"_placeholder":false,"_placeholder":true,"num":0}]`, 1, nil},
		{`["a",{"_placeholder":true,"num":9,"num":0}]`, 1, nil},
		{`["a",{"_placeholder":true,"num":0,"num":9}]`, 1, ErrInvalidAttachments},
		// A repeated key hides its earlier values from JSON.parse.
		{`["a",{"x":{"_placeholder":true,"num":9},"x":1}]`, 1, nil},
		{`["a",{"x":{"_placeholder":true,"num":9},"y":1,"\u0078":1}]`, 1, nil},
		{`["a",{"x":1,"x":{"_placeholder":true,"num":9}}]`, 1, ErrInvalidAttachments},
		{`["a",{"x":{"_placeholder":true,"num":9},"x":1,"x":[{"_placeholder":true,"num":9}]}]`, 1, ErrInvalidAttachments},
		{`["a",{"x":{"_placeholder":true,"num":9},"y":{"_placeholder":true,"num":9},"x":1}]`, 1, ErrInvalidAttachments},
		{`["a",{"x":{"_placeholder":true,"num":9},"y":{"_placeholder":true,"num":9},"x":1,"y":2}]`, 1, nil},
		// Escaped keys are the same keys.
		{`["a",{"\u005fplaceholder":true,"n\u0075m":0}]`, 1, nil},
		{`["a",{"\u005fplaceholder":true,"n\u0075m":3}]`, 1, ErrInvalidAttachments},
		// Nested: found at any depth, not searched inside a placeholder.
		{`["a",{"b":["c",{"_placeholder":true,"num":0}]}]`, 1, nil},
		{`["a",{"b":["c",{"_placeholder":true,"num":5}]}]`, 1, ErrInvalidAttachments},
		{`["a",{"_placeholder":true,"num":0,"x":{"_placeholder":true,"num":5}}]`, 1, nil},
		{`["a",{"x":{"_placeholder":true,"num":5},"_placeholder":true,"num":0}]`, 1, nil},
		{`["a",{"x":{"_placeholder":true,"num":5},"_placeholder":false}]`, 1, ErrInvalidAttachments},
		{`["a",{"x":["_placeholder",{"_placeholder":true,"num":5}]}]`, 1, ErrInvalidAttachments},
		{`{"_placeholder":true,"num":0}`, 1, nil},
		{`"_placeholder"`, 0, nil},
		// Malformed input: never a panic.
		{`["a",{"_placeholder":true,"num":0}`, 1, ErrInvalidPayload},
		{`["_placeholder",`, 1, ErrInvalidPayload},
		{`{"_placeholder"`, 1, ErrInvalidPayload},
		{`["_placeholder"] x`, 1, ErrInvalidPayload},
	} {
		if err := CheckPlaceholders([]byte(tc.data), tc.n); err != tc.want {
			t.Errorf("CheckPlaceholders(%s, %d) = %v, want %v", tc.data, tc.n, err, tc.want)
		}
	}
	deep := `["_placeholder",` + strings.Repeat("[", maxPlaceholderDepth) + strings.Repeat("]", maxPlaceholderDepth) + "]"
	if err := CheckPlaceholders([]byte(deep), 1); err != ErrInvalidPayload {
		t.Errorf("too deep: %v", err)
	}
	deep = `["_placeholder",` + strings.Repeat("[", maxPlaceholderDepth-2) + strings.Repeat("]", maxPlaceholderDepth-2) + "]"
	if err := CheckPlaceholders([]byte(deep), 1); err != nil {
		t.Errorf("deep: %v", err)
	}
}

func TestCheckPlaceholdersAllocs(t *testing.T) {
	data := []byte(`["message",{"_placeholder":true,"num":0},{"a":[{"_placeholder":true,"num":1}]}]`)
	if n := testing.AllocsPerRun(100, func() {
		if err := CheckPlaceholders(data, 2); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("%v allocs", n)
	}
	_ = bytes.Clone
}

func TestHasPlaceholderKey(t *testing.T) {
	for _, s := range []string{"", "_", "_placeholder", "x_placeholde", "__placeholder", "_placeholde_placeholder",
		`{"_placeholder":true,"num":0}`, "_pla_placeholder_", "placeholder_", "_PLACEHOLDER", "_placeholder\x00"} {
		for _, b := range []string{s, s[:len(s)/2], "ab" + s} {
			if got, want := hasPlaceholderKey([]byte(b)), bytes.Contains([]byte(b), []byte("_placeholder")); got != want {
				t.Errorf("hasPlaceholderKey(%q) = %v, want %v", b, got, want)
			}
		}
	}
}
