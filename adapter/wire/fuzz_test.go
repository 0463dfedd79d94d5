package wire

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// FuzzDecode: no decoder panics, and whatever decodes re-encodes (same
// encoding) to bytes that decode to the same message.
func FuzzDecode(f *testing.F) {
	for _, v := range classicVectors(f) {
		f.Add(byte(channelKind(v.Channel)), v.bytes(f))
	}
	f.Fuzz(func(t *testing.T, k byte, b []byte) {
		kk := kind(k % 3)
		msg, out, err := roundTrip(kk, b)
		if err != nil {
			return
		}
		if kk != kindBroadcast && IsJSON(out) != IsJSON(b) {
			t.Fatalf("encoding changed: %q -> %q", b, out)
		}
		msg2, err := decodeKind(kk, out)
		if err != nil {
			t.Fatalf("re-decode %x: %v", out, err)
		}
		// NaN != NaN, so DeepEqual cannot judge a message holding one;
		// the byte fixpoint below still does.
		if !reflect.DeepEqual(msg, msg2) && !strings.Contains(fmt.Sprint(msg), "NaN") {
			t.Fatalf("round trip\n%#v\n%#v", msg, msg2)
		}
		if _, out2, err := roundTrip(kk, out); err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("not a fixpoint: %x -> %x (%v)", out, out2, err)
		}
	})
}
