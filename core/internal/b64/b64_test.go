package b64

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"testing"
)

// decodeStd is what eio did with encoding/base64 before this package.
func decodeStd(s []byte) ([]byte, bool) {
	out := make([]byte, base64.RawStdEncoding.DecodedLen(len(s)))
	if n, err := base64.StdEncoding.Decode(out, s); err == nil {
		return out[:n], true
	}
	if n, err := base64.RawStdEncoding.Decode(out, s); err == nil {
		return out[:n], true
	}
	return nil, false
}

func check(t *testing.T, src []byte) {
	t.Helper()
	if got, want := AppendEncode([]byte("x"), src), base64.StdEncoding.AppendEncode([]byte("x"), src); !bytes.Equal(got, want) {
		t.Fatalf("AppendEncode(%q) = %q, want %q", src, got, want)
	}
	if got, want := AppendEncodeURL(nil, src), base64.URLEncoding.AppendEncode(nil, src); !bytes.Equal(got, want) {
		t.Fatalf("AppendEncodeURL(%q) = %q, want %q", src, got, want)
	}
	if got, want := EncodedLen(len(src)), base64.StdEncoding.EncodedLen(len(src)); got != want {
		t.Fatalf("EncodedLen(%d) = %d, want %d", len(src), got, want)
	}
	got, ok := Decode(src)
	want, wantOK := decodeStd(src)
	if ok != wantOK || !bytes.Equal(got, want) || ok && cap(got) != cap(want) {
		t.Fatalf("Decode(%q) = %q (cap %d), %v; encoding/base64: %q (cap %d), %v", src, got, cap(got), ok, want, cap(want), wantOK)
	}
}

func TestAgainstEncodingBase64(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	alphabet := []byte("AQgw+/=\r\n_-.aZ09")
	for n := range 40 {
		for range 300 {
			b := make([]byte, n)
			for i := range b {
				if r.IntN(2) == 0 {
					b[i] = byte(r.Uint32())
				} else {
					b[i] = alphabet[r.IntN(len(alphabet))]
				}
			}
			check(t, b)
			check(t, base64.StdEncoding.AppendEncode(nil, b))
			check(t, base64.RawStdEncoding.AppendEncode(nil, b))
			enc := base64.StdEncoding.AppendEncode(nil, b)
			if len(enc) > 0 {
				i := r.IntN(len(enc) + 1)
				check(t, append(enc[:i:i], append([]byte("\r\n"), enc[i:]...)...))
			}
		}
	}
	for _, s := range []string{"", "=", "==", "====", "QQ", "QQ=", "QQ==", "QUI=", "QUI", "Q", "QUJD", "QQ==QQ==", "QQ=\n=", "QQ==\r\n",
		"QR==", "QUJ=", "Q===", "QQ=A", "\n", "QUJDRA", "QUJDR", "Q\nU\rJ\nD"} {
		check(t, []byte(s))
	}
}

func FuzzAgainstEncodingBase64(f *testing.F) {
	f.Add([]byte("QQ=\n="))
	f.Add([]byte("QUJDRA"))
	f.Fuzz(check)
}

// The engine's binary polling path, against encoding/base64 (go test
// -bench . ./core/internal/b64).
func BenchmarkEncode(b *testing.B) {
	src := bytes.Repeat([]byte{0, 1, 2, 250, 251, 252, 7}, 1024/7)
	b.Run("b64", func(b *testing.B) {
		var dst []byte
		for b.Loop() {
			dst = AppendEncode(dst[:0], src)
		}
	})
	b.Run("encoding-base64", func(b *testing.B) {
		var dst []byte
		for b.Loop() {
			dst = base64.StdEncoding.AppendEncode(dst[:0], src)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	src := base64.StdEncoding.AppendEncode(nil, bytes.Repeat([]byte{0, 1, 2, 250, 251, 252, 7}, 1024/7))
	b.Run("b64", func(b *testing.B) {
		for b.Loop() {
			Decode(src)
		}
	})
	b.Run("encoding-base64", func(b *testing.B) {
		for b.Loop() {
			decodeStd(src)
		}
	})
}
