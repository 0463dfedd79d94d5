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
	"slices"
	"strconv"
	"strings"

	"github.com/socketcore/socketcore/core/internal/jsontext"
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
	return urlPath(nsp), queryObject(query)
}

// urlPath normalizes a path as the URL parser does for a special scheme.
func urlPath(p string) string {
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

// queryObject is Object.fromEntries(new URLSearchParams(q)) as JSON.
func queryObject(q string) []byte {
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
