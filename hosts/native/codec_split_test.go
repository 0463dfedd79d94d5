package native

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzSplitArray: on every array encoding/json accepts, splitArray finds the
// same elements, byte for byte; on anything else it must not panic.
func FuzzSplitArray(f *testing.F) {
	for _, s := range []string{
		`[]`, ` [ ] `, `["echo",{"i":1,"t":"x"}]`, `["a\"],[", [1,[2,{"k":"]}"}]], null, true, -1.5e3 ]`,
		`[{"_placeholder":true,"num":0}]`, `["\\", "\\\\\""]`, `[1,]`, `[,1]`, `[1 2]`, `{}`, `[`, `]`, `[{]}`,
		"[\"\u2028\", \"é\"]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := splitArray(data)
		var want []json.RawMessage
		if json.Unmarshal(data, &want) != nil || want == nil {
			return // not an array encoding/json accepts: anything but a panic
		}
		if err != nil {
			t.Fatalf("splitArray(%q): %v; encoding/json: %q", data, err, want)
		}
		if len(got) != len(want) {
			t.Fatalf("splitArray(%q) = %q, want %q", data, got, want)
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("splitArray(%q)[%d] = %q, want %q", data, i, got[i], want[i])
			}
		}
	})
}
