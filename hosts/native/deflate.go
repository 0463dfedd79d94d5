package native

import (
	"compress/flate"
	"errors"
	"io"
	"math"
	"net/http"
	"strings"
	"sync"

	"github.com/socketcore/socketcore/core/wire"
)

// permessage-deflate (RFC 7692), Node's perMessageDeflate.
//
// The server keeps no compression context across messages: it answers every
// accepted offer with "permessage-deflate; server_no_context_takeover;
// client_no_context_takeover" (RFC 7692 §7.1.1.1 and §7.1.1.2 let a server
// add both parameters to an offer that had neither). Without server context
// a message's compressed form is the same for every connection, so a
// broadcast is compressed once for all of them (driver.go), and the
// compressor is one per server, owned by the driver goroutine. Without
// client context a client's message inflates on its own, so a connection
// keeps no 32 KB inflate window between messages: inflaters are pooled and
// held only for the length of one message. Compression costs a little ratio
// on streams of similar messages, which context takeover would have used.

// Deflate configures permessage-deflate on WebSocket connections (Node's
// perMessageDeflate). It is negotiated with the clients that offer it.
type Deflate struct {
	// Threshold: messages smaller than this many bytes are sent as they
	// are; default 1024 (Node's). Negative: every message is compressed.
	Threshold int
	// Level is compress/flate's level, 1 (fastest) to 9 (smallest), or
	// flate.HuffmanOnly; 0 or another value: 6, zlib's default level,
	// which Node uses.
	Level int
}

// HTTPCompression configures the compression of polling responses by the
// request's Accept-Encoding, gzip or deflate (Node's httpCompression). It
// is on by default, as in Node.
type HTTPCompression struct {
	// Disable sends every polling response uncompressed.
	Disable bool
	// Threshold: responses smaller than this many bytes are sent as they
	// are; default 1024 (Node's). Negative: every response is compressed.
	Threshold int
	// Level is compress/flate's level (as Deflate.Level); default 6.
	Level int
}

const defaultCompressionThreshold = 1024

func compressionThreshold(t int) int {
	switch {
	case t == 0:
		return defaultCompressionThreshold
	case t < 0:
		return 0
	}
	return t
}

func compressionLevel(l int) int {
	if (l >= flate.BestSpeed && l <= flate.BestCompression) || l == flate.HuffmanOnly {
		return l
	}
	return flate.DefaultCompression // 6
}

// wsDeflate is the negotiated permessage-deflate of a connection; every
// connection of a server shares the server's (immutable).
type wsDeflate struct {
	threshold int
	level     int
}

func newWSDeflate(d *Deflate) *wsDeflate {
	if d == nil {
		return nil
	}
	return &wsDeflate{threshold: compressionThreshold(d.Threshold), level: compressionLevel(d.Level)}
}

// wants reports whether frames holds a message worth compressing.
func (z *wsDeflate) wants(frames []wire.Frame) bool {
	for _, f := range frames {
		if len(f.Data) >= z.threshold {
			return true
		}
	}
	return false
}

// deflateResponse is the extension this server answers with. Gorilla's
// upgrader writes it (Upgrader.EnableCompression) when the request offers
// permessage-deflate: the server uses gorilla's upgrader with compression
// only when acceptDeflate found an offer this answer fits.
const deflateResponse = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

// acceptDeflate reports whether one of the permessage-deflate offers in the
// request's Sec-WebSocket-Extensions can be accepted with deflateResponse.
// An offer is refused (and the next one tried) when it has a parameter this
// server cannot honour: server_max_window_bits (compress/flate always uses
// a 32 KB window, and an accepted value must be echoed, which the answer
// does not), an unknown parameter, a value on a flag parameter, a
// client_max_window_bits outside 8–15, or a parameter given twice. The
// header is tokenized as gorilla does (a header value is read up to its
// first syntax error), so that an offer found here is one gorilla sees.
func acceptDeflate(h http.Header) bool {
	for _, v := range h.Values("Sec-WebSocket-Extensions") {
		for _, ext := range parseExtensionHeader(v) {
			if ext.name == "permessage-deflate" && deflateParamsOK(ext.params) {
				return true
			}
		}
	}
	return false
}

type extParam struct {
	name, value string
	hasValue    bool
}

type extension struct {
	name   string
	params []extParam
}

func deflateParamsOK(params []extParam) bool {
	var seen [3]bool
	for _, p := range params {
		i := -1
		switch strings.ToLower(p.name) {
		case "server_no_context_takeover":
			i = 0
		case "client_no_context_takeover":
			i = 1
		case "client_max_window_bits":
			i = 2
			if p.hasValue && !validWindowBits(p.value) {
				return false
			}
		}
		if i < 0 || seen[i] || (i < 2 && p.hasValue) {
			return false
		}
		seen[i] = true
	}
	return true
}

func validWindowBits(v string) bool {
	switch v {
	case "8", "9", "10", "11", "12", "13", "14", "15":
		return true
	}
	return false
}

// parseExtensionHeader parses one Sec-WebSocket-Extensions header value (RFC
// 6455 §9.1): extension *( ";" param [ "=" (token | quoted-string) ] ),
// comma-separated. It stops at the first syntax error, keeping the
// extensions complete before it.
func parseExtensionHeader(s string) []extension {
	var out []extension
	for {
		var name string
		name, s = extToken(extSkipSpace(s))
		if name == "" {
			return out
		}
		ext := extension{name: name}
		for {
			s = extSkipSpace(s)
			if !strings.HasPrefix(s, ";") {
				break
			}
			var p extParam
			p.name, s = extToken(extSkipSpace(s[1:]))
			if p.name == "" {
				return out
			}
			s = extSkipSpace(s)
			if strings.HasPrefix(s, "=") {
				var ok bool
				p.value, s, ok = extTokenOrQuoted(extSkipSpace(s[1:]))
				if !ok || p.value == "" {
					return out
				}
				p.hasValue = true
				s = extSkipSpace(s)
			}
			if s != "" && s[0] != ',' && s[0] != ';' {
				return out
			}
			ext.params = append(ext.params, p)
		}
		if s != "" && s[0] != ',' {
			return out
		}
		out = append(out, ext)
		if s == "" {
			return out
		}
		s = s[1:]
	}
}

func extSkipSpace(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return s
}

// extTokenChar reports whether c is an RFC 7230 tchar.
func extTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func extToken(s string) (token, rest string) {
	i := 0
	for i < len(s) && extTokenChar(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

// extTokenOrQuoted reads a token or a quoted-string (unescaped); !ok for
// an unterminated quoted-string.
func extTokenOrQuoted(s string) (value, rest string, ok bool) {
	if !strings.HasPrefix(s, `"`) {
		t, rest := extToken(s)
		return t, rest, true
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), s[i+1:], true
		case '\\':
			i++
			if i == len(s) {
				return "", "", false
			}
			b.WriteByte(s[i])
		default:
			b.WriteByte(c)
		}
	}
	return "", "", false
}

// deflater compresses the messages of one server; it is owned by the
// driver goroutine. Every message is compressed on its own (no context
// takeover).
type deflater struct {
	level int
	w     *flate.Writer
	out   sliceWriter
	// messages counts the messages compressed (tests and benchmarks:
	// a broadcast costs one compression, whatever its audience).
	messages uint64
}

type sliceWriter struct{ b []byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// deflateTail ends a sync flush; RFC 7692 §7.2.1 removes it from a message
// and §7.2.2 appends it again before inflating.
var deflateTail = [4]byte{0, 0, 0xff, 0xff}

// compress returns payload compressed as a permessage-deflate message
// (its tail removed), valid until the next call.
func (z *deflater) compress(payload []byte, level int) []byte {
	z.out.b = z.out.b[:0]
	if z.w == nil || z.level != level {
		z.w, _ = flate.NewWriter(&z.out, level) // the level is checked
		z.level = level
	} else {
		z.w.Reset(&z.out)
	}
	z.w.Write(payload) // a sliceWriter does not fail
	z.w.Flush()
	z.messages++
	b := z.out.b
	if n := len(b); n >= 4 && [4]byte(b[n-4:]) == deflateTail {
		b = b[:n-4]
	}
	if cap(z.out.b) > 1<<20 {
		z.out.b = nil // do not keep a large message's buffer
	}
	return b
}

// appendFrames appends the frames of fs to b as appendFrames does,
// compressing the messages of at least cfg's threshold.
func (z *deflater) appendFrames(b []byte, fs []wire.Frame, cfg *wsDeflate) []byte {
	for _, f := range fs {
		op := byte(0x1)
		if f.Binary {
			op = 0x2
		}
		if len(f.Data) < cfg.threshold {
			b = appendFrame(b, op, f.Data)
			continue
		}
		b = appendFrame(b, rsv1|op, z.compress(f.Data, cfg.level))
	}
	return b
}

// rsv1 marks the first frame of a compressed message (RFC 7692 §6).
const rsv1 = 0x40

// errInflatedTooBig is a compressed message whose inflated size is over
// the limit: closed with 1009 as Node's ws does ("Max payload size
// exceeded").
var errInflatedTooBig = &frameError{closeTooBig, "message too big"}

// inflaters is a transport's pool of inflaters: a connection holds one only
// while it inflates a message.
type inflaters struct{ pool sync.Pool }

type inflater struct {
	r   io.ReadCloser // a flate reader, also a flate.Resetter
	src inflateSource
}

// inflateSource reads a message's payload, then deflateTail; a
// flate.Reader (ByteReader), so flate adds no buffer of its own.
type inflateSource struct {
	p    []byte
	tail int // bytes of deflateTail read
}

func (s *inflateSource) Read(b []byte) (int, error) {
	if len(s.p) > 0 {
		n := copy(b, s.p)
		s.p = s.p[n:]
		return n, nil
	}
	if s.tail == len(deflateTail) {
		return 0, io.EOF
	}
	n := copy(b, deflateTail[s.tail:])
	s.tail += n
	return n, nil
}

func (s *inflateSource) ReadByte() (byte, error) {
	if len(s.p) > 0 {
		c := s.p[0]
		s.p = s.p[1:]
		return c, nil
	}
	if s.tail == len(deflateTail) {
		return 0, io.EOF
	}
	c := deflateTail[s.tail]
	s.tail++
	return c, nil
}

// inflate returns the message compressed in p, or errInflatedTooBig when
// it inflates past limit bytes (no more than limit+1 bytes are held), or
// a 1007 frameError for data that is not deflate.
func (z *inflaters) inflate(p []byte, limit int) ([]byte, error) {
	inf, _ := z.pool.Get().(*inflater)
	if inf == nil {
		inf = &inflater{}
	}
	inf.src = inflateSource{p: p}
	if inf.r == nil {
		inf.r = flate.NewReader(&inf.src)
	} else {
		inf.r.(flate.Resetter).Reset(&inf.src, nil)
	}
	out, err := readLimited(inf.r, len(p), limit)
	inf.src = inflateSource{}
	z.pool.Put(inf)
	return out, err
}

// readLimited reads r to its end into chunks (none copied while it
// reads, so what a message over the limit costs is limit+1 bytes), then
// joins them.
func readLimited(r io.Reader, hint, limit int) ([]byte, error) {
	var chunks [][]byte
	total := 0                        // bytes in chunks
	limit = min(limit, math.MaxInt-1) // limit+1 below must not wrap
	buf := make([]byte, min(max(hint*4, 512), limit+1))
	n := 0
	for {
		if n == len(buf) {
			chunks = append(chunks, buf)
			total += n
			if total > limit {
				return nil, errInflatedTooBig
			}
			buf, n = make([]byte, min(total, limit+1-total)), 0
		}
		m, err := r.Read(buf[n:])
		n += m
		switch {
		case err == nil:
			continue
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			// the message ends at its sync flush: no final block
		default:
			return nil, &frameError{closeInvalidData, "invalid compressed data"}
		}
		if total+n > limit {
			return nil, errInflatedTooBig
		}
		if chunks == nil {
			if n < len(buf)/2 {
				// the first guess was large: keep only what the message is
				return append([]byte(nil), buf[:n]...), nil
			}
			return buf[:n:n], nil
		}
		out := make([]byte, 0, total+n)
		for _, c := range chunks {
			out = append(out, c...)
		}
		return append(out, buf[:n]...), nil
	}
}
