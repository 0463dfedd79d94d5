package core

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/socketcore/socketcore/core/internal/jsontext"
)

// The namespace parsing of v3 clients was written with strings.Map,
// ToLower, ReplaceAll, Split and slices.SortStableFunc, then hand-written
// to keep them out of core.wasm. The first version is kept here as the
// reference, and both must agree on every input.

func TestV3NamespaceReference(t *testing.T) {
	seeds := []string{
		"", "/", "/chat?a=b&c&a=z", "/a/../b", "/é", "/x#frag?y", "/x?2=a&1=b&k=c&0=z&01=y&4294967295=m&4294967294=n",
		"/a/%2e%2E/b", "/A/%2E./c/.%2e/d", "/a\\b\\..\\c", "/\t\n\r", "/x\xff\xed\xa0\x80/y\t", "/\u0130\u212a/%2e",
		"/x?\xff=\t1&&+%41=%zz", "/..\\..", "\\\\", "/a\x01\x1f ", "/x\xef\xbf\xbd\t", "?10=a&9=b&10=c",
	}
	for _, s := range seeds {
		checkV3Namespace(t, s)
	}
	alphabet := []string{"/", "\\", ".", "%2e", "%2E", "%", "2", "e", "E", "?", "#", "&", "=", "+", "0", "1", "9", "10",
		"4294967295", "a", "é", "\u0130", "\u212a", "\xff", "\xed\xa0\x80", "\xef\xbf\xbd", "\t", "\n", "\r", " ", "\x01", "\x00", "%41", "%zz"}
	r := rand.New(rand.NewPCG(7, 11))
	for range 20000 {
		var b strings.Builder
		for range r.IntN(16) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		checkV3Namespace(t, b.String())
	}
}

func FuzzV3Namespace(f *testing.F) {
	f.Add("/a/../b?2=x&1=y#z")
	f.Add("/\t%2E\\x\xff")
	f.Fuzz(func(t *testing.T, s string) { checkV3Namespace(t, s) })
}

func checkV3Namespace(t *testing.T, s string) {
	t.Helper()
	path, auth := v3Namespace(s)
	wantPath, wantAuth := refV3Namespace(s)
	if path != wantPath || string(auth) != string(wantAuth) {
		t.Fatalf("v3Namespace(%q) = %q, %s; the reference gives %q, %s", s, path, auth, wantPath, wantAuth)
	}
}

func refV3Namespace(nsp string) (path string, auth []byte) {
	nsp = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, nsp)
	nsp = strings.TrimRight(nsp, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
	if i := strings.IndexByte(nsp, '#'); i >= 0 {
		nsp = nsp[:i]
	}
	query := ""
	if i := strings.IndexByte(nsp, '?'); i >= 0 {
		nsp, query = nsp[:i], nsp[i+1:]
	}
	return refURLPath(nsp), refQueryObject(query)
}

func refURLPath(p string) string {
	p = strings.ReplaceAll(p, `\`, "/")
	segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
	out := make([]string, 0, len(segs))
	for i, seg := range segs {
		last := i == len(segs)-1
		switch strings.ToLower(seg) {
		case ".", "%2e":
			if last {
				out = append(out, "")
			}
		case "..", ".%2e", "%2e.", "%2e%2e":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, seg)
		}
	}
	var b strings.Builder
	for _, seg := range out {
		b.WriteByte('/')
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if c <= ' ' || c >= 0x7f || strings.IndexByte("\"<>`{}", c) >= 0 {
				b.WriteByte('%')
				b.WriteByte("0123456789ABCDEF"[c>>4])
				b.WriteByte("0123456789ABCDEF"[c&0xf])
				continue
			}
			b.WriteByte(c)
		}
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}

func refQueryObject(q string) []byte {
	var keys []string
	vals := map[string]string{}
	for _, field := range strings.Split(q, "&") {
		if field == "" {
			continue
		}
		k, v, _ := strings.Cut(field, "=")
		k, v = formDecode(k), formDecode(v)
		if _, ok := vals[k]; !ok {
			keys = append(keys, k)
		}
		vals[k] = v
	}
	// JavaScript objects list array-index keys first, ascending
	idx := func(k string) (uint64, bool) {
		if k == "" || len(k) > 10 || (len(k) > 1 && k[0] == '0') {
			return 0, false
		}
		n, err := strconv.ParseUint(k, 10, 64)
		return n, err == nil && n < 1<<32-1
	}
	slices.SortStableFunc(keys, func(a, b string) int {
		na, ia := idx(a)
		nb, ib := idx(b)
		switch {
		case ia && ib:
			return int(int64(na) - int64(nb))
		case ia:
			return -1
		case ib:
			return 1
		}
		return 0
	})
	b := []byte{'{'}
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsontext.AppendQuote(b, k)
		b = append(b, ':')
		b = jsontext.AppendQuote(b, vals[k])
	}
	return append(b, '}')
}
