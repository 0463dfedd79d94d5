package jsontext

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestUnquote(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{`""`, "", true},
		{` "abc" `, "abc", true},
		{`"a\"b\\c\/d\be\ff\ng\rh\ti"`, "a\"b\\c/d\be\ff\ng\rh\ti", true},
		{`"\u0041\u00e9\u2028"`, "Aé\u2028", true},
		{`"\uD83D\uDE00"`, "😀", true},
		{`"\ud83d\ude00"`, "😀", true},
		{`"\ud800"`, "\uFFFD", true},
		{`"\udc00"`, "\uFFFD", true},
		{`"\ud800\u0041"`, "\uFFFDA", true},
		{`"\ud800\ud800\udc00"`, "\uFFFD\U00010000", true},
		{`"\ud800x"`, "\uFFFDx", true},
		{`"héllo ☃"`, "héllo ☃", true},
		{`"abc`, "", false},
		{`abc"`, "", false},
		{`"a"b"`, "", false},
		{`"a\"`, "", false},
		{`"\x"`, "", false},
		{`"\u00"`, "", false},
		{"\"\xff\"", "", false},
		{"\"a\nb\"", "", false},
		{`"`, "", false},
		{``, "", false},
		{`1`, "", false},
	} {
		got, ok := Unquote([]byte(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("Unquote(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
		dst, ok2 := AppendUnquote([]byte("x"), []byte(tc.in))
		if ok2 != tc.ok || tc.ok && string(dst) != "x"+tc.want || !tc.ok && string(dst) != "x" {
			t.Errorf("AppendUnquote(%q) = %q, %v", tc.in, dst, ok2)
		}
		if tc.ok {
			if !EqualString([]byte(tc.in), tc.want) {
				t.Errorf("EqualString(%q, %q) = false", tc.in, tc.want)
			}
			if EqualString([]byte(tc.in), tc.want+"x") {
				t.Errorf("EqualString(%q, %q+x) = true", tc.in, tc.want)
			}
		}
	}
}

func TestAppendQuote(t *testing.T) {
	for in, want := range map[string]string{
		"":                  `""`,
		"abc":               `"abc"`,
		"a\"b\\c/d":         `"a\"b\\c/d"`,
		"\b\f\n\r\t":        `"\b\f\n\r\t"`,
		"\x00\x01\x1f\x7f":  "\"\\u0000\\u0001\\u001f\x7f\"",
		"<a href='x'>&amp;": `"<a href='x'>&amp;"`,
		"héllo ☃ 😀":         `"héllo ☃ 😀"`,
		"\u2028\u2029":      "\"\u2028\u2029\"",
		"a\xffb":            `"a\ufffdb"`,
		"\xed\xa0\x80":      `"\ufffd\ufffd\ufffd"`,
		"\xc3":              `"\ufffd"`,
	} {
		if got := string(AppendQuote([]byte("x"), in)); got != "x"+want {
			t.Errorf("AppendQuote(%q) = %s, want %s", in, got[1:], want)
		}
	}
}

// perByteReplacement is what AppendQuote does with invalid UTF-8.
func perByteReplacement(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		sb.WriteRune(r) // RuneError for each invalid byte
		i += n
	}
	return sb.String()
}

func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "abc", "\"\\", "\x00\x1f\x7f", "héllo", "\u2028", "\xff", "\xed\xa0\x80", "😀", "<&>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := AppendQuote(nil, s)
		if err := Validate(q, 0); err != nil {
			t.Fatalf("AppendQuote(%q) = %s: %v", s, q, err)
		}
		got, ok := Unquote(q)
		if !ok || got != perByteReplacement(s) {
			t.Fatalf("Unquote(AppendQuote(%q)) = %q, %v", s, got, ok)
		}
		if !EqualString(q, got) {
			t.Fatalf("EqualString(%s, %q) = false", q, got)
		}
		var std string
		if err := json.Unmarshal(q, &std); err != nil || std != got {
			t.Fatalf("encoding/json reads %s as %q, %v", q, std, err)
		}
		// Same as encoding/json except for the HTML and U+2028/9 escapes, which
		// JSON.stringify does not make.
		if utf8.ValidString(s) {
			want, _ := json.Marshal(s)
			w := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&", `\u2028`, "\u2028", `\u2029`, "\u2029").Replace(string(want))
			// encoding/json writes \u0008 and \u000c; JSON.stringify writes \b and \f.
			w = strings.NewReplacer(`\u0008`, `\b`, `\u000c`, `\f`).Replace(w)
			if w != string(q) {
				t.Fatalf("AppendQuote(%q) = %s, want %s", s, q, w)
			}
		}
	})
}

func BenchmarkUnquote(b *testing.B) {
	lit := []byte(`"message-with-ack"`)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := Unquote(lit); !ok {
			b.Fatal("!ok")
		}
	}
}

func BenchmarkAppendQuote(b *testing.B) {
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendQuote(buf[:0], "hello \"world\"\n")
	}
}
