// Package jsontext is the minimal JSON scanner used by the protocol core: it
// validates JSON text, finds array elements and converts string literals,
// all on raw bytes and without building values.
//
// It exists because core/ may not import encoding/json (nor fmt, reflect,
// sync, os, unsafe): the core ships to browsers as WASM and runs on the hot
// path, where payloads stay raw (STYLE.md §3 "Payloads stay raw"). It may
// import only bytes, strings, strconv, errors, slices, maps, sort, math,
// unicode/utf8 and unicode/utf16.
//
// Accepted JSON is RFC 8259 (= ECMA-404, what JSON.parse accepts) with two
// additions: raw bytes inside strings must be valid UTF-8 (JSON.parse only
// ever sees decoded UTF-16, so invalid bytes cannot reach it), and nesting is
// bounded. Escaped lone surrogates (\ud800) are accepted, as JSON.parse does.
//
// The helpers other than Validate (Kind, ArrayFirst, ArrayElems) expect text
// that Validate accepted; given anything else they return unspecified results,
// but they never panic.
package jsontext

import (
	"errors"
	"unicode/utf8"
)

var (
	// ErrSyntax reports text that is not exactly one JSON value (RFC 8259).
	ErrSyntax = errors.New("jsontext: syntax error")
	// ErrDepth reports arrays/objects nested deeper than the allowed depth.
	ErrDepth = errors.New("jsontext: nesting too deep")
)

// isSpace reports JSON insignificant whitespace (RFC 8259 §2).
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// TrimSpace returns b without leading and trailing JSON whitespace.
func TrimSpace(b []byte) []byte {
	i, j := 0, len(b)
	for i < j && isSpace(b[i]) {
		i++
	}
	for j > i && isSpace(b[j-1]) {
		j--
	}
	return b[i:j]
}

// Kind returns the first non-whitespace byte of b, which names the kind of
// the JSON value: '{', '[', '"', 'n', 't', 'f', '-' or a digit. It returns 0
// when b is empty or only whitespace.
func Kind(b []byte) byte {
	i := skipSpace(b, 0)
	if i == len(b) {
		return 0
	}
	return b[i]
}

// depthStack records, for each open container, whether it is an object.
// The first 512 levels live in a fixed array so that Validate does not
// allocate for any realistic depth.
type depthStack struct {
	small [8]uint64
	big   []uint64
}

func (s *depthStack) set(d int, obj bool) {
	w, bit := d>>6, uint64(1)<<(d&63)
	var p *uint64
	if w < len(s.small) {
		p = &s.small[w]
	} else {
		w -= len(s.small)
		for len(s.big) <= w {
			s.big = append(s.big, 0)
		}
		p = &s.big[w]
	}
	if obj {
		*p |= bit
	} else {
		*p &^= bit
	}
}

func (s *depthStack) isObj(d int) bool {
	w, bit := d>>6, uint64(1)<<(d&63)
	if w < len(s.small) {
		return s.small[w]&bit != 0
	}
	w -= len(s.small)
	return w < len(s.big) && s.big[w]&bit != 0
}

// Validate reports whether b holds exactly one JSON value (RFC 8259 §2),
// optionally surrounded by whitespace, whose arrays and objects nest at most
// maxDepth deep (the depth of `1` is 0, of `[1]` 1, of `[[1]]` 2). Raw bytes in
// strings must be valid UTF-8; escaped lone surrogates are allowed. It returns
// nil, ErrSyntax or ErrDepth, and does not allocate unless b nests more than
// 511 deep.
func Validate(b []byte, maxDepth int) error {
	var st depthStack
	depth := 0
	i := skipSpace(b, 0)
	for {
		// A value starts at i.
		if i >= len(b) {
			return ErrSyntax
		}
		var ok bool
		switch c := b[i]; c {
		case '{', '[':
			depth++
			if depth > maxDepth {
				return ErrDepth
			}
			obj := c == '{'
			st.set(depth, obj)
			i = skipSpace(b, i+1)
			if i < len(b) && (b[i] == '}' && obj || b[i] == ']' && !obj) {
				i++
				depth--
				ok = true
				break // empty container: a complete value
			}
			if obj {
				if i, ok = scanKey(b, i); !ok {
					return ErrSyntax
				}
			}
			continue // parse the first member's value
		case '"':
			i, ok = scanString(b, i)
		case 't':
			i, ok = scanLit(b, i, "true")
		case 'f':
			i, ok = scanLit(b, i, "false")
		case 'n':
			i, ok = scanLit(b, i, "null")
		default:
			i, ok = scanNumber(b, i)
		}
		if !ok {
			return ErrSyntax
		}
		// A value ended at i: close containers until one expects another member.
		for {
			i = skipSpace(b, i)
			if depth == 0 {
				if i != len(b) {
					return ErrSyntax
				}
				return nil
			}
			if i >= len(b) {
				return ErrSyntax
			}
			obj := st.isObj(depth)
			c := b[i]
			if c == ',' {
				i = skipSpace(b, i+1)
				if obj {
					if i, ok = scanKey(b, i); !ok {
						return ErrSyntax
					}
				}
				break
			}
			if c == '}' && obj || c == ']' && !obj {
				i++
				depth--
				continue
			}
			return ErrSyntax
		}
	}
}

// scanKey scans `"key" :` plus following whitespace at b[i:].
func scanKey(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return i, false
	}
	i, ok := scanString(b, i)
	if !ok {
		return i, false
	}
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != ':' {
		return i, false
	}
	return skipSpace(b, i+1), true
}

func scanLit(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}

// plainByte marks the bytes that stand for themselves inside a string
// literal: ASCII except control characters, '"' and '\\'.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// scanNumber scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? (RFC 8259 §6).
func scanNumber(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return i, false
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return i, false
		}
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return i, false
		}
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	}
	return i, true
}

// scanString scans the string literal starting with the quote at b[i] and
// returns the index just past its closing quote (RFC 8259 §7, plus UTF-8
// validity of raw bytes, §8.1).
func scanString(b []byte, i int) (int, bool) {
	i++ // opening quote
	for i < len(b) {
		for i < len(b) && plainByte[b[i]] {
			i++
		}
		if i >= len(b) {
			break
		}
		c := b[i]
		switch {
		case c == '"':
			return i + 1, true
		case c == '\\':
			if i+1 >= len(b) {
				return i, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(b)-i < 6 || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return i, false
				}
				i += 6
			default:
				return i, false
			}
		case c < 0x20:
			return i, false
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return i, false
			}
			i += size
		}
	}
	return i, false
}

// skipValue returns the index just past the value starting at b[i] (after
// whitespace). It trusts b to be valid JSON; on invalid text it stops at some
// index ≤ len(b) without panicking.
func skipValue(b []byte, i int) int {
	i = skipSpace(b, i)
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	default:
		// number or literal: runs to the next delimiter.
		for i < len(b) {
			switch c := b[i]; {
			case c == ',' || c == ']' || c == '}' || c == ':' || isSpace(c):
				return i
			}
			i++
		}
		return i
	}
}

// skipString returns the index just past the string literal at b[i] without
// validating it.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}
