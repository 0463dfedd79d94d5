package engine

// JSONP polling (engine.io lib/transports/polling-jsonp.ts), which the
// official server still serves for either protocol when the handshake
// carries a j query parameter: responses are JavaScript calling
// ___eio[j](payload), and POST bodies are forms whose field d holds the
// payload.

import (
	"strconv"

	"github.com/socketcore/socketcore/core/internal/jsontext"
)

// jsonpHead is "___eio[" + the digits of j + "](".
func jsonpHead(j string) []byte {
	b := make([]byte, 0, 10+len(j))
	b = append(b, "___eio["...)
	for i := 0; i < len(j); i++ {
		if c := j[i]; c >= '0' && c <= '9' {
			b = append(b, c)
		}
	}
	return append(b, "]("...)
}

// appendJSONP appends head + JSON.stringify(payload) + ");". A text payload
// is a JSON string with U+2028 and U+2029 escaped (valid JavaScript, not
// only JSON); a binary payload (v3) is what JSON.stringify makes of a Node
// Buffer, {"type":"Buffer","data":[...]}, as the official server sends it.
func appendJSONP(dst, head, payload []byte, binary bool) []byte {
	dst = append(dst, head...)
	if binary {
		dst = append(dst, `{"type":"Buffer","data":[`...)
		for i, c := range payload {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = strconv.AppendUint(dst, uint64(c), 10)
		}
		dst = append(dst, "]}"...)
	} else {
		start := len(dst)
		dst = jsontext.AppendQuote(dst, string(payload))
		dst = escapeLineSeparators(dst, start)
	}
	return append(dst, ");"...)
}

// escapeLineSeparators rewrites U+2028 and U+2029 (E2 80 A8/A9) in b[start:]
// as \u2028 and \u2029.
func escapeLineSeparators(b []byte, start int) []byte {
	for i := start; i+2 < len(b); i++ {
		if b[i] == 0xe2 && b[i+1] == 0x80 && (b[i+2] == 0xa8 || b[i+2] == 0xa9) {
			esc := `\u2028`
			if b[i+2] == 0xa9 {
				esc = `\u2029`
			}
			b = append(b[:i], append([]byte(esc), b[i+3:]...)...)
			i += len(esc) - 1
		}
	}
	return b
}

// jsonpMaxKeys is Node's querystring.parse default maxKeys: fields after
// the first 1000 '&'-separated ones are not read.
const jsonpMaxKeys = 1000

// jsonpData returns the form field d of a JSONP POST body (querystring.parse
// semantics: '+' is a space, %XX escapes decoded, malformed ones kept), with
// the client's newline escaping undone (\n is a newline, \\n is \n); false
// when d is missing or repeated.
func jsonpData(body []byte) ([]byte, bool) {
	var d []byte
	found := false
	rest := body
	for n := 0; len(rest) > 0 && n < jsonpMaxKeys; n++ {
		field := rest
		if i := indexByteBytes(rest, '&'); i >= 0 {
			field, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		k, v := field, []byte(nil)
		if i := indexByteBytes(field, '='); i >= 0 {
			k, v = field[:i], field[i+1:]
		}
		if unescape(string(k)) != "d" {
			continue
		}
		if found {
			return nil, false // d=..&d=.. parses as an array
		}
		found = true
		d = []byte(unescape(string(v)))
	}
	if !found {
		return nil, false
	}
	return unescapeNewlines(d), true
}

func indexByteBytes(b []byte, c byte) int {
	for i := range b {
		if b[i] == c {
			return i
		}
	}
	return -1
}

// unescapeNewlines applies polling-jsonp.ts's two replacements in order:
// /(\\)?\\n/g (a \n not preceded by \ becomes a newline) then /\\\\n/g (\\n
// becomes \n).
func unescapeNewlines(d []byte) []byte {
	out := make([]byte, 0, len(d))
	for i := 0; i < len(d); {
		switch {
		case d[i] == '\\' && i+2 < len(d) && d[i+1] == '\\' && d[i+2] == 'n':
			out = append(out, d[i:i+3]...)
			i += 3
		case d[i] == '\\' && i+1 < len(d) && d[i+1] == 'n':
			out = append(out, '\n')
			i += 2
		default:
			out = append(out, d[i])
			i++
		}
	}
	d, out = out, d[:0]
	for i := 0; i < len(d); {
		if d[i] == '\\' && i+2 < len(d) && d[i+1] == '\\' && d[i+2] == 'n' {
			out = append(out, '\\', 'n')
			i += 3
			continue
		}
		out = append(out, d[i])
		i++
	}
	return out
}
