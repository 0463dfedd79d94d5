package jsontext

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Unquote decodes the JSON string literal b (quotes included; surrounding
// whitespace allowed) into a Go string: every escape of RFC 8259 §7, \u
// surrogate pairs joined, lone surrogates replaced by U+FFFD (as Go's
// encoding/json does; JSON.parse would keep them, but a Go string cannot).
// ok is false when b is not exactly one valid string literal, including raw
// invalid UTF-8. It allocates only the result.
func Unquote(b []byte) (string, bool) {
	b = TrimSpace(b)
	if len(b) < 2 || b[0] != '"' {
		return "", false
	}
	body := b[1 : len(b)-1]
	plain := true
	for _, c := range body {
		if c == '\\' || c == '"' || c < 0x20 || c >= utf8.RuneSelf {
			plain = false
			break
		}
	}
	if plain && b[len(b)-1] == '"' {
		return string(body), true
	}
	if end, ok := scanString(b, 0); !ok || end != len(b) {
		return "", false
	}
	var sb strings.Builder
	sb.Grow(len(body))
	appendUnquoted(&sb, body)
	return sb.String(), true
}

// AppendUnquote appends the decoded contents of the JSON string literal b to
// dst, like Unquote. On failure it returns dst unchanged and false.
func AppendUnquote(dst, b []byte) ([]byte, bool) {
	b = TrimSpace(b)
	if len(b) < 2 || b[0] != '"' {
		return dst, false
	}
	if end, ok := scanString(b, 0); !ok || end != len(b) {
		return dst, false
	}
	w := byteWriter{dst}
	appendUnquoted(&w, b[1:len(b)-1])
	return w.b, true
}

// EqualString reports whether the JSON string literal lit (as validated by
// Validate) decodes to s. It does not allocate when lit has no escapes.
func EqualString(lit []byte, s string) bool {
	lit = TrimSpace(lit)
	if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' {
		return false
	}
	body := lit[1 : len(lit)-1]
	hasEsc := false
	for _, c := range body {
		if c == '\\' {
			hasEsc = true
			break
		}
	}
	if !hasEsc {
		return string(body) == s
	}
	// An escape shrinks text by at least one byte per decoded byte... except
	// that \ud800 (6 bytes) can become U+FFFD (3 bytes); either way the
	// decoded form is never longer than the literal body.
	if len(s) > len(body) {
		return false
	}
	var tmp [64]byte
	dec, ok := AppendUnquote(tmp[:0], lit)
	return ok && string(dec) == s
}

type byteWriter struct{ b []byte }

func (w *byteWriter) WriteByte(c byte) error        { w.b = append(w.b, c); return nil }
func (w *byteWriter) WriteRune(r rune) (int, error) { w.b = utf8.AppendRune(w.b, r); return 0, nil }
func (w *byteWriter) Write(p []byte) (int, error)   { w.b = append(w.b, p...); return len(p), nil }

type unquoteWriter interface {
	WriteByte(byte) error
	WriteRune(rune) (int, error)
	Write([]byte) (int, error)
}

// appendUnquoted decodes a string body already checked by scanString.
func appendUnquoted[W unquoteWriter](w W, body []byte) {
	for i := 0; i < len(body); {
		c := body[i]
		if c != '\\' {
			j := i + 1
			for j < len(body) && body[j] != '\\' {
				j++
			}
			w.Write(body[i:j])
			i = j
			continue
		}
		if i+1 >= len(body) {
			return
		}
		switch e := body[i+1]; e {
		case 'b':
			w.WriteByte('\b')
		case 'f':
			w.WriteByte('\f')
		case 'n':
			w.WriteByte('\n')
		case 'r':
			w.WriteByte('\r')
		case 't':
			w.WriteByte('\t')
		case 'u':
			r := hex4(body[i+2:])
			i += 6
			if utf16.IsSurrogate(r) {
				// Join with a following \u low surrogate when it pairs up.
				if len(body)-i >= 6 && body[i] == '\\' && body[i+1] == 'u' {
					if rr := utf16.DecodeRune(r, hex4(body[i+2:])); rr != utf8.RuneError {
						w.WriteRune(rr)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			w.WriteRune(r)
			continue
		default: // '"', '\\', '/'
			w.WriteByte(e)
		}
		i += 2
	}
}

// hex4 decodes four hex digits (already validated); it returns -1 when fewer
// than four bytes are available.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		r <<= 4
		switch {
		case '0' <= c && c <= '9':
			r |= rune(c - '0')
		case 'a' <= c && c <= 'f':
			r |= rune(c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return -1
		}
	}
	return r
}

const hexDigits = "0123456789abcdef"

// AppendQuote appends s to dst as a JSON string literal, escaped exactly as
// JSON.stringify does (ECMA-262 QuoteJSONString): `"` and `\` get a backslash;
// \b \f \n \r \t use their short forms; other control characters below U+0020
// become \u00xx with lower-case hex; everything else, including <, >, &,
// U+2028/U+2029 and all other non-ASCII, is written as is. Each byte of
// invalid UTF-8 in s becomes the escape \ufffd.
func AppendQuote(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
