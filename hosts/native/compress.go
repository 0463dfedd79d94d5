package native

import (
	"compress/gzip"
	"compress/zlib"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// httpCompressor compresses polling responses as Node's httpCompression
// does (engine.io's polling transport): a response of at least threshold
// bytes is sent gzip- or deflate-encoded (deflate is zlib's format, as
// HTTP's "deflate" and Node's zlib.createDeflate are), the coding chosen
// from the request's Accept-Encoding as Node's `accepts` package chooses it;
// a request without Accept-Encoding gets the response as is. Like Node it
// sets Content-Encoding and no Vary (a polling request is never cached: it
// carries the session id and a cache-busting timestamp). The whole body is
// compressed at once, so the response keeps its Content-Length.
type httpCompressor struct {
	threshold, level int
	gzips, zlibs     sync.Pool
}

// newHTTPCompressor returns the compressor c asks for: nil c is Node's
// default (on, threshold 1024); nil when c disables it.
func newHTTPCompressor(c *HTTPCompression) *httpCompressor {
	if c == nil {
		c = &HTTPCompression{}
	}
	if c.Disable {
		return nil
	}
	return &httpCompressor{threshold: compressionThreshold(c.Threshold), level: compressionLevel(c.Level)}
}

// encode returns body in the coding the request accepts best, and the
// coding's name; body itself and "" when it goes as is.
func (hc *httpCompressor) encode(h http.Header, body []byte) ([]byte, string) {
	if len(body) < hc.threshold {
		return body, ""
	}
	enc := preferredEncoding(h.Values("Accept-Encoding"))
	if enc == "" {
		return body, ""
	}
	out := &sliceWriter{b: make([]byte, 0, len(body)/3+64)}
	var w interface {
		io.Writer
		Close() error
	}
	switch enc {
	case "gzip":
		gz, _ := hc.gzips.Get().(*gzip.Writer)
		if gz == nil {
			gz, _ = gzip.NewWriterLevel(out, hc.level) // the level is checked
		} else {
			gz.Reset(out)
		}
		defer hc.gzips.Put(gz)
		w = gz
	default:
		zw, _ := hc.zlibs.Get().(*zlib.Writer)
		if zw == nil {
			zw, _ = zlib.NewWriterLevel(out, hc.level)
		} else {
			zw.Reset(out)
		}
		defer hc.zlibs.Put(zw)
		w = zw
	}
	w.Write(body) // a sliceWriter does not fail
	w.Close()
	return out.b, enc
}

// preferredEncoding picks gzip or deflate from Accept-Encoding values as
// Node's accepts(req).encodings(["gzip", "deflate"]) (the negotiator
// package) does: each coding takes the quality of the most specific entry
// naming it ("*" matching any), q=0 refuses it, and the best quality wins;
// on a tie the exact name beats "*", then the entry earlier in the header,
// then gzip. "" when neither is acceptable (no Accept-Encoding at all).
func preferredEncoding(values []string) string {
	type spec struct {
		q    float64
		s    int // specificity: 1 exact, 0 "*", -1 no entry
		o    int // position in the header
		name string
	}
	cand := [2]spec{{name: "gzip", s: -1}, {name: "deflate", s: -1}}
	o := 0
	for _, v := range values {
		for _, item := range strings.Split(v, ",") {
			name, params, _ := strings.Cut(item, ";")
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			q := 1.0
			for _, p := range strings.Split(params, ";") {
				k, val, ok := strings.Cut(p, "=")
				if ok && strings.TrimSpace(k) == "q" {
					f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
					if err != nil {
						f = 0 // negotiator's parseFloat of garbage is NaN: refused
					}
					q = f
				}
			}
			for i := range cand {
				s := -1
				switch {
				case strings.EqualFold(name, cand[i].name):
					s = 1
				case name == "*":
					s = 0
				default:
					continue
				}
				c := &cand[i]
				if c.s < 0 || s > c.s || (s == c.s && q > c.q) {
					c.q, c.s, c.o = q, s, o
				}
			}
			o++
		}
	}
	best := -1
	for i, c := range cand {
		if c.s < 0 || c.q <= 0 {
			continue
		}
		if best < 0 {
			best = i
			continue
		}
		b := cand[best]
		if c.q > b.q || (c.q == b.q && (c.s > b.s || (c.s == b.s && c.o < b.o))) {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	return cand[best].name
}
