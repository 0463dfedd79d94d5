package native

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// sessionHandshake is what a session keeps of its first request for
// Socket.Handshake, in the compact form an idle connection can afford: the
// headers as one string and the request URI; the maps of Handshake are
// built when asked for.
type sessionHandshake struct {
	header  string // "Name: value\n" per value, Host first
	uri     string // path?query of the request
	address string
	secure  bool
	time    time.Time
}

func newSessionHandshake(r *http.Request) *sessionHandshake {
	n := 0
	if r.Host != "" {
		n += len("Host: \n") + len(r.Host)
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 3
		}
	}
	var b strings.Builder
	b.Grow(n)
	if r.Host != "" {
		// net/http moves it out of Header; Node's handshake has it
		b.WriteString("Host: ")
		b.WriteString(r.Host)
		b.WriteByte('\n')
	}
	for k, vs := range r.Header {
		if k == "Host" {
			continue
		}
		for _, v := range vs {
			b.WriteString(k)
			b.WriteString(": ")
			b.WriteString(v)
			b.WriteByte('\n')
		}
	}
	h := &sessionHandshake{
		header:  b.String(),
		uri:     r.URL.RequestURI(),
		address: r.RemoteAddr,
		secure:  r.TLS != nil,
		time:    time.Now(),
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		h.address = host
	}
	return h
}

// handshake builds the Handshake a socket of the session sees.
func (h *sessionHandshake) handshake(auth json.RawMessage) Handshake {
	if h == nil {
		return Handshake{Headers: http.Header{}, Query: url.Values{}, Auth: auth}
	}
	hs := Handshake{
		Headers: make(http.Header, strings.Count(h.header, "\n")),
		Address: h.address,
		Secure:  h.secure,
		Time:    h.time,
		URL:     h.uri,
		Auth:    auth,
	}
	for rest := h.header; rest != ""; {
		line, tail, _ := strings.Cut(rest, "\n")
		rest = tail
		if k, v, ok := strings.Cut(line, ": "); ok {
			hs.Headers[k] = append(hs.Headers[k], v)
		}
	}
	q := ""
	if i := strings.IndexByte(h.uri, '?'); i >= 0 {
		q = h.uri[i+1:]
	}
	hs.Query, _ = url.ParseQuery(q)
	if hs.Query == nil {
		hs.Query = url.Values{}
	}
	return hs
}
