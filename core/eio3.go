package core

// Socket.IO for Engine.IO v3 clients (Socket.IO 2.x, protocol v4 of
// socket.io-protocol), accepted with Config.AllowEIO3 as Node's socket.io 4.x
// serves a client whose conn.protocol is 3:
//
//   - "/" is connected when the session opens, without a CONNECT packet
//     (index.ts onconnection);
//   - a packet's namespace is read as a URL: its path is the namespace and,
//     for CONNECT, its query is the auth object (client.ts _parseNamespace);
//   - socket ids are the engine sid for "/" and nsp + "#" + sid otherwise
//     (socket.ts constructor);
//   - the CONNECT reply has no payload (socket.ts _onconnect);
//   - a middleware's refusal sends err.data || err.message as the
//     CONNECT_ERROR payload (namespace.ts _add), where v5 clients get
//     {message, data}. "Invalid namespace" keeps {message} (client.ts).

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/socketcore/socketcore/core/internal/jsontext"
	"github.com/socketcore/socketcore/core/internal/order"
	"github.com/socketcore/socketcore/core/sio"
	"github.com/socketcore/socketcore/core/wire"
)

func isV3(c *client) bool { return c.sess.Protocol() == 3 }

// v3SocketID is a v3 client's socket id in nsp.
func v3SocketID(nsp string, sid wire.SID) wire.SocketID {
	if nsp == "/" {
		return wire.SocketID(sid)
	}
	return wire.SocketID(nsp + "#" + string(sid))
}

// rejectV3 sends a v3 client the CONNECT_ERROR of a refused connection:
// data when it is a truthy JSON value, else the message as a JSON string.
// A host refusing to create an unknown namespace ("Invalid namespace", no
// data) is client.ts connect's refusal instead, {message} for every client.
func (s *Server) rejectV3(so *socket, message string, data []byte) {
	c, nsp := so.c, so.nsp.name
	if s.nsps[nsp] == nil && message == "Invalid namespace" && len(data) == 0 {
		s.sendConnectError(c, nsp, message, nil)
		return
	}
	var b []byte
	if len(data) > 0 && !falsyJSON(data) {
		b = append(s.scratch[:0], data...)
	} else {
		b = jsontext.AppendQuote(s.scratch[:0], message)
	}
	s.scratch = b
	s.sendPacket(c, sio.Packet{Type: sio.ConnectError, Nsp: nsp, Data: b}, nil, false, false)
}

// falsyJSON reports whether the JSON value data is falsy in JavaScript:
// null, false, "" or a number equal to 0.
func falsyJSON(data []byte) bool {
	data = jsontext.TrimSpace(data)
	switch string(data) {
	case "null", "false", `""`:
		return true
	}
	if len(data) > 0 && (data[0] == '-' || data[0] >= '0' && data[0] <= '9') {
		f, err := strconv.ParseFloat(string(data), 64)
		return err == nil && f == 0
	}
	return false
}

// v3Namespace splits a v3 packet's namespace as new URL(nsp,
// "https://socket.io") does: the path (dot segments resolved, "\" read as
// "/", characters outside the URL path set percent-encoded) and the query
// as a JSON object of strings (URLSearchParams: '+' is a space, %XX
// decoded, the last of repeated keys wins, keys that are array indices
// first as a JavaScript object orders them). The fragment is dropped.
func v3Namespace(nsp string) (path string, auth []byte) {
	nsp = dropTabsNewlines(nsp)
	end := len(nsp) // C0 controls and spaces trimmed at the end
	for end > 0 && nsp[end-1] <= ' ' {
		end--
	}
	nsp = nsp[:end]
	if i := strings.IndexByte(nsp, '#'); i >= 0 {
		nsp = nsp[:i]
	}
	query := ""
	if i := strings.IndexByte(nsp, '?'); i >= 0 {
		nsp, query = nsp[:i], nsp[i+1:]
	}
	return urlPath(nsp), queryObject(query)
}

// dropTabsNewlines removes '\t', '\n' and '\r', which the URL parser
// ignores, and, as strings.Map would, turns invalid UTF-8 into U+FFFD.
// (Hand-written: strings.Map, ToLower, Replace and Split cost core.wasm
// more than this file.)
func dropTabsNewlines(s string) string {
	i := 0
	for i < len(s) && s[i] != '\t' && s[i] != '\n' && s[i] != '\r' && s[i] < utf8.RuneSelf {
		i++
	}
	if i == len(s) {
		return s
	}
	b := make([]byte, i, len(s)+utf8.UTFMax)
	copy(b, s)
	for _, r := range s[i:] {
		if r != '\t' && r != '\n' && r != '\r' {
			b = utf8.AppendRune(b, r)
		}
	}
	return string(b)
}

// cutByte is strings.Cut for a one-byte separator (strings.Cut would link
// the general substring search into core.wasm).
func cutByte(s string, sep byte) (before, after string, found bool) {
	if i := strings.IndexByte(s, sep); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}

// dotSegment reports whether a path segment is "." (1) or ".." (2), where
// a dot may also be written %2e or %2E.
func dotSegment(seg string) int {
	n := 0
	for seg != "" {
		switch {
		case seg[0] == '.':
			seg = seg[1:]
		case len(seg) >= 3 && seg[0] == '%' && seg[1] == '2' && seg[2]|0x20 == 'e':
			seg = seg[3:]
		default:
			return 0
		}
		if n++; n > 2 {
			return 0
		}
	}
	return n
}

// urlPath normalizes a path as the URL parser does for a special scheme.
func urlPath(p string) string {
	if strings.IndexByte(p, '\\') >= 0 { // '\' is '/' in a special URL
		b := []byte(p)
		for i, c := range b {
			if c == '\\' {
				b[i] = '/'
			}
		}
		p = string(b)
	}
	rest := strings.TrimPrefix(p, "/")
	var out []string
	for more := true; more; {
		var seg string
		seg, rest, more = cutByte(rest, '/')
		switch dotSegment(seg) {
		case 1:
			if !more {
				out = append(out, "")
			}
		case 2:
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if !more {
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

// queryObject is Object.fromEntries(new URLSearchParams(q)) as JSON.
func queryObject(q string) []byte {
	var keys []string
	vals := map[string]string{}
	for more := true; more; {
		var field string
		field, q, more = cutByte(q, '&')
		if field == "" {
			continue
		}
		k, v, _ := cutByte(field, '=')
		k, v = formDecode(k), formDecode(v)
		if _, ok := vals[k]; !ok {
			keys = append(keys, k)
		}
		vals[k] = v
	}
	// JavaScript objects list array-index keys first, ascending, then the
	// others in insertion order. An index key is its value's decimal form
	// (arrayIndex refuses leading zeros), so the sorted values give them.
	var idx []uint64
	others := make([]string, 0, len(keys))
	for _, k := range keys {
		if n, ok := arrayIndex(k); ok {
			idx = append(idx, n)
		} else {
			others = append(others, k)
		}
	}
	order.Sort(idx)
	keys = keys[:0]
	for _, n := range idx {
		keys = append(keys, strconv.FormatUint(n, 10))
	}
	keys = append(keys, others...)
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

// arrayIndex reports whether k is an array index of a JavaScript object (a
// canonical integer below 2³²-1) and its value.
func arrayIndex(k string) (uint64, bool) {
	if k == "" || len(k) > 10 || (len(k) > 1 && k[0] == '0') {
		return 0, false
	}
	n, err := strconv.ParseUint(k, 10, 64)
	return n, err == nil && n < 1<<32-1
}

// formDecode is application/x-www-form-urlencoded decoding: '+' is a space,
// valid %XX escapes are decoded, others kept (invalid UTF-8 then becomes
// U+FFFD when quoted).
func formDecode(s string) string {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
