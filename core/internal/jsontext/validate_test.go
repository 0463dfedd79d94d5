package jsontext

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

var validCases = []string{
	`0`, `-0`, `1`, `-1`, `12.5`, `1e10`, `1E+2`, `-0.0e-0`, `123456789012345678901234567890`,
	`""`, `"a"`, `"\"\\\/\b\f\n\r\t"`, `"\u0041\uD83D\uDE00"`, `"\ud800"`, `"\udc00x"`, `"héllo ☃ 😀"`,
	"\"\u2028\u2029\x7f\"",
	`true`, `false`, `null`,
	`[]`, `[1]`, `[1,2,3]`, `[ 1 , [ ] , { } ]`, `{}`, `{"a":1}`, `{"a":{"b":[true,false,null]},"c":"d"}`,
	" \t\r\n[1]\n ", `{"":""}`, `[[[[]]]]`,
}

var invalidCases = []string{
	``, ` `, `[`, `]`, `{`, `}`, `[1,]`, `[,1]`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{a:1}`, `{'a':1}`,
	`01`, `-`, `+1`, `1.`, `.5`, `1e`, `1e+`, `0x10`, `NaN`, `Infinity`, `-Infinity`,
	`tru`, `truee`, `nul`, `True`, `"abc`, `"\x"`, `"\u12"`, `"\u12G4"`, "\"\t\"", "\"\x00\"",
	"\"\xff\"", "\"\xed\xa0\x80\"", "\"\xc3\"", `1 2`, `[1]]`, `[1}`, `{"a":1]`, `[1][2]`, `"a"b`,
	`{"a" 1}`, `{1:2}`, "\x00", `[1 2]`, `{"a":1 "b":2}`,
}

func TestValidate(t *testing.T) {
	for _, c := range validCases {
		if err := Validate([]byte(c), 64); err != nil {
			t.Errorf("Validate(%q) = %v, want nil", c, err)
		}
	}
	for _, c := range invalidCases {
		if err := Validate([]byte(c), 64); err != ErrSyntax {
			t.Errorf("Validate(%q) = %v, want ErrSyntax", c, err)
		}
	}
}

func TestValidateDepth(t *testing.T) {
	for _, tc := range []struct {
		in    string
		depth int
		want  error
	}{
		{`1`, 0, nil},
		{`[]`, 0, ErrDepth},
		{`[]`, 1, nil},
		{`[[1]]`, 1, ErrDepth},
		{`[[1]]`, 2, nil},
		{`{"a":[{}]}`, 2, ErrDepth},
		{`{"a":[{}]}`, 3, nil},
		{`[[],[],{"a":[]}]`, 3, nil},
		{`[[],[],{"a":[]}]`, 2, ErrDepth},
		{`[1]`, -1, ErrDepth},
	} {
		if err := Validate([]byte(tc.in), tc.depth); err != tc.want {
			t.Errorf("Validate(%q, %d) = %v, want %v", tc.in, tc.depth, err, tc.want)
		}
	}
	// Beyond the fixed stack (512 levels), mixing arrays and objects.
	var sb strings.Builder
	for i := range 2000 {
		if i%3 == 0 {
			sb.WriteString(`{"k":`)
		} else {
			sb.WriteByte('[')
		}
	}
	sb.WriteString("1")
	for i := 1999; i >= 0; i-- {
		if i%3 == 0 {
			sb.WriteByte('}')
		} else {
			sb.WriteByte(']')
		}
	}
	deep := []byte(sb.String())
	if err := Validate(deep, 2000); err != nil {
		t.Fatalf("deep: %v", err)
	}
	if err := Validate(deep, 1999); err != ErrDepth {
		t.Fatalf("deep at 1999: %v", err)
	}
	deep[len(deep)-1] = ']' // outermost is an object
	if err := Validate(deep, 2000); err != ErrSyntax {
		t.Fatalf("deep mismatched: %v", err)
	}
}

func TestKind(t *testing.T) {
	for in, want := range map[string]byte{``: 0, `  `: 0, ` [1]`: '[', `{}`: '{', "\n\"a\"": '"', `-1`: '-', `7`: '7', ` null`: 'n'} {
		if got := Kind([]byte(in)); got != want {
			t.Errorf("Kind(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestArrays(t *testing.T) {
	for _, tc := range []struct {
		in    string
		first string
		elems []string
	}{
		{`[]`, "", nil},
		{` [ ] `, "", nil},
		{`["a"]`, `"a"`, []string{`"a"`}},
		{` [ "a,]" , 1.5e3 ,{"x":[1,"]"]}, [ ], null ] `, `"a,]"`, []string{`"a,]"`, `1.5e3`, `{"x":[1,"]"]}`, `[ ]`, `null`}},
		{`["\"",true]`, `"\""`, []string{`"\""`, `true`}},
		{`{"a":1}`, "", nil},
		{`"x"`, "", nil},
	} {
		first, ok := ArrayFirst([]byte(tc.in))
		if ok != (tc.first != "") || string(first) != tc.first {
			t.Errorf("ArrayFirst(%q) = %q, %v", tc.in, first, ok)
		}
		var got []string
		ArrayElems([]byte(tc.in), func(e []byte) bool { got = append(got, string(e)); return true })
		if strings.Join(got, "|") != strings.Join(tc.elems, "|") {
			t.Errorf("ArrayElems(%q) = %q, want %q", tc.in, got, tc.elems)
		}
	}
	n := 0
	ArrayElems([]byte(`[1,2,3]`), func([]byte) bool { n++; return n < 2 })
	if n != 2 {
		t.Errorf("ArrayElems did not stop: %d calls", n)
	}
}

func TestObjectMembers(t *testing.T) {
	var got []string
	ObjectMembers([]byte(` { "a" : 1 , "b\"" : {"c":[1,2]} ,"d":"}"} `), func(k, v []byte) bool {
		got = append(got, string(k)+"="+string(v))
		return true
	})
	want := `"a"=1|"b\""={"c":[1,2]}|"d"="}"`
	if strings.Join(got, "|") != want {
		t.Errorf("got %q, want %q", strings.Join(got, "|"), want)
	}
	ObjectMembers([]byte(`{}`), func(k, v []byte) bool { t.Error("called for {}"); return true })
	ObjectMembers([]byte(`[1]`), func(k, v []byte) bool { t.Error("called for [1]"); return true })
}

// jsonDepth is the nesting depth of b, counted the naive way (b is valid JSON).
func jsonDepth(b []byte) int {
	d, m, inStr := 0, 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '[' || c == '{':
			d++
			m = max(m, d)
		case c == ']' || c == '}':
			d--
		}
	}
	return m
}

func FuzzValidate(f *testing.F) {
	for _, c := range validCases {
		f.Add([]byte(c))
	}
	for _, c := range invalidCases {
		f.Add([]byte(c))
	}
	f.Add([]byte(`["echo",{"i":1,"t":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		err := Validate(b, 1000)
		want := json.Valid(b)
		if (err == nil) != want {
			// encoding/json.Valid accepts invalid UTF-8 inside strings; we don't.
			if want && err == ErrSyntax && !utf8.Valid(b) {
				return
			}
			// Deeper than our limit (encoding/json allows 10000).
			if want && err == ErrDepth && jsonDepth(b) > 1000 {
				return
			}
			t.Fatalf("Validate(%q) = %v, json.Valid = %v", b, err, want)
		}
		if err == nil {
			d := jsonDepth(b)
			if d > 0 && Validate(b, d-1) != ErrDepth {
				t.Fatalf("Validate(%q, %d) should fail on depth", b, d-1)
			}
			if Validate(b, d) != nil {
				t.Fatalf("Validate(%q, %d) should pass", b, d)
			}
			// The helpers agree with encoding/json on arrays.
			var arr []json.RawMessage
			if Kind(b) == '[' && json.Unmarshal(b, &arr) == nil {
				var elems [][]byte
				ArrayElems(b, func(e []byte) bool { elems = append(elems, e); return true })
				if len(elems) != len(arr) {
					t.Fatalf("ArrayElems(%q): %d elems, want %d", b, len(elems), len(arr))
				}
				for i := range elems {
					if string(elems[i]) != strings.TrimSpace(string(arr[i])) {
						t.Fatalf("ArrayElems(%q)[%d] = %q, want %q", b, i, elems[i], arr[i])
					}
				}
				first, ok := ArrayFirst(b)
				if ok != (len(arr) > 0) || ok && string(first) != string(elems[0]) {
					t.Fatalf("ArrayFirst(%q) = %q, %v", b, first, ok)
				}
			}
			var s string
			if Kind(b) == '"' && json.Unmarshal(b, &s) == nil {
				got, ok := Unquote(b)
				if !ok || got != s {
					t.Fatalf("Unquote(%q) = %q, %v; encoding/json: %q", b, got, ok, s)
				}
			}
		}
		// Never panic on garbage.
		Kind(b)
		ArrayFirst(b)
		ArrayElems(b, func([]byte) bool { return true })
		ObjectMembers(b, func(_, _ []byte) bool { return true })
		Unquote(b)
	})
}

var benchPayload = []byte(`["echo",{"i":1,"t":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}]`)

func BenchmarkValidate(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchPayload)))
	for b.Loop() {
		if err := Validate(benchPayload, 64); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateStdlib(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchPayload)))
	for b.Loop() {
		if !json.Valid(benchPayload) {
			b.Fatal("invalid")
		}
	}
}

func TestErrorsAreSentinels(t *testing.T) {
	if !errors.Is(Validate([]byte(`[`), 1), ErrSyntax) || !errors.Is(Validate([]byte(`[[]]`), 1), ErrDepth) {
		t.Fatal("sentinels")
	}
}
