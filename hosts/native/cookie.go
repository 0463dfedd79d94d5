package native

// The io cookie (Node's engine.io cookie option): the session id sent as a
// cookie on the response of a polling handshake, so that a load balancer
// can route the session's later requests to the server that has it
// (cookie-based sticky sessions).
//
// As in Node, only the handshake's response carries it: the polling GET
// without a sid. A session opened directly over WebSocket gets none — in
// Node the ws upgrade's headers are written before the session exists —
// and needs no affinity anyway: it is one connection.

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Cookie configures the io cookie. A nil Options.Cookie sends none (Node's
// default, cookie: false); &Cookie{} is Node's cookie: true, serialized as
// "io=<sid>; Path=/; HttpOnly; SameSite=Lax".
type Cookie struct {
	// Name of the cookie, default "io"; an HTTP token.
	Name string
	// Path of the cookie, default "/".
	Path string
	// NoPath sends no Path attribute (Node's path: false); HttpOnly is then
	// off unless HTTPOnly says otherwise, as in Node.
	NoPath bool
	// HTTPOnly hides the cookie from scripts; nil: on, unless NoPath.
	HTTPOnly *bool
	// SameSite: 0 (unset) is Node's default, Lax; http.SameSiteLaxMode,
	// SameSiteStrictMode or SameSiteNoneMode send that value, and
	// http.SameSiteDefaultMode sends no SameSite attribute (Node's
	// sameSite: false). Browsers ignore a SameSite=None cookie that is not
	// Secure.
	SameSite http.SameSite
	// Secure restricts the cookie to https (and wss). Node does not set it
	// by itself: set it when clients reach the server over TLS.
	Secure bool
	// Domain of the cookie; empty: none (the request's host).
	Domain string
	// MaxAge, if set, is sent as Max-Age in whole seconds (at least 1s);
	// zero: a session cookie.
	MaxAge time.Duration
	// Expires, if set, is sent as Expires (a fixed date).
	Expires time.Time
	// Partitioned sends the Partitioned attribute (CHIPS).
	Partitioned bool
	// Priority is "", "low", "medium" or "high" (Chromium's Priority).
	Priority string
}

// Valid reports what Node's cookie serializer would refuse: a name that
// is not a token, a path or domain with characters a cookie cannot
// carry, a Max-Age under a second, an unknown priority.
func (c *Cookie) Valid() error {
	if c == nil {
		return nil
	}
	if c.Name != "" && !isCookieToken(c.Name) {
		return fmt.Errorf("native: cookie name %q is not an HTTP token", c.Name)
	}
	for _, b := range []byte(c.Path) {
		if b < 0x20 || b > 0x7e || b == ';' {
			return fmt.Errorf("native: cookie path %q has a character a cookie cannot carry", c.Path)
		}
	}
	if c.Domain != "" && !isCookieDomain(c.Domain) {
		return fmt.Errorf("native: cookie domain %q is not a domain name", c.Domain)
	}
	if c.MaxAge < 0 || (c.MaxAge > 0 && c.MaxAge < time.Second) {
		return errors.New("native: cookie MaxAge is zero or at least a second")
	}
	switch strings.ToLower(c.Priority) {
	case "", "low", "medium", "high":
	default:
		return fmt.Errorf("native: cookie priority %q is not low, medium or high", c.Priority)
	}
	switch c.SameSite {
	case 0, http.SameSiteDefaultMode, http.SameSiteLaxMode, http.SameSiteStrictMode, http.SameSiteNoneMode:
	default:
		return fmt.Errorf("native: cookie SameSite %d is unknown", c.SameSite)
	}
	return nil
}

// cookieHeader is a Cookie serialized once: the Set-Cookie value is
// prefix + sid + suffix.
type cookieHeader struct {
	prefix, suffix string
}

// newCookieHeader serializes c as Node's cookie package (0.7) does, in
// its order: Max-Age, Domain, Path, Expires, HttpOnly, Secure,
// Partitioned, Priority, SameSite. Nil when c is nil or not valid (the
// error is then returned, and no cookie is sent).
func newCookieHeader(c *Cookie) (*cookieHeader, error) {
	if c == nil {
		return nil, nil
	}
	if err := c.Valid(); err != nil {
		return nil, err
	}
	name := c.Name
	if name == "" {
		name = "io"
	}
	var b strings.Builder
	if c.MaxAge > 0 {
		b.WriteString("; Max-Age=")
		b.WriteString(strconv.FormatInt(int64(c.MaxAge/time.Second), 10))
	}
	if c.Domain != "" {
		b.WriteString("; Domain=")
		b.WriteString(c.Domain)
	}
	if !c.NoPath {
		path := c.Path
		if path == "" {
			path = "/"
		}
		b.WriteString("; Path=")
		b.WriteString(path)
	}
	if !c.Expires.IsZero() {
		b.WriteString("; Expires=")
		b.WriteString(c.Expires.UTC().Format(http.TimeFormat))
	}
	httpOnly := !c.NoPath
	if c.HTTPOnly != nil {
		httpOnly = *c.HTTPOnly
	}
	if httpOnly {
		b.WriteString("; HttpOnly")
	}
	if c.Secure {
		b.WriteString("; Secure")
	}
	if c.Partitioned {
		b.WriteString("; Partitioned")
	}
	switch strings.ToLower(c.Priority) {
	case "low":
		b.WriteString("; Priority=Low")
	case "medium":
		b.WriteString("; Priority=Medium")
	case "high":
		b.WriteString("; Priority=High")
	}
	switch c.SameSite {
	case 0, http.SameSiteLaxMode:
		b.WriteString("; SameSite=Lax")
	case http.SameSiteStrictMode:
		b.WriteString("; SameSite=Strict")
	case http.SameSiteNoneMode:
		b.WriteString("; SameSite=None")
	}
	return &cookieHeader{prefix: name + "=", suffix: b.String()}, nil
}

// value is the Set-Cookie value for the session sid; the sid is
// percent-encoded as encodeURIComponent would (session ids are URL-safe
// base64: nothing to encode).
func (h *cookieHeader) value(sid string) string {
	return h.prefix + encodeURIComponent(sid) + h.suffix
}

// setCookie adds the io cookie to the answer of a successful polling
// handshake (a GET without sid), whose body is the open packet.
func (t *transport) setCookie(w http.ResponseWriter, r *http.Request, rep *reply) {
	if t.cookie == nil || r.Method != http.MethodGet || (rep.status != 0 && rep.status != http.StatusOK) ||
		r.URL.Query().Get("sid") != "" {
		return
	}
	if sid := openPacketSID(rep.body); sid != "" {
		w.Header().Add("Set-Cookie", t.cookie.value(sid))
	}
}

// openPacketSID finds the session id in a handshake's answer: the open
// packet `0{"sid":"…",…}`, in any of the polling encodings (Engine.IO 4
// text, Engine.IO 3 text or binary payloads, JSONP, whose quotes are
// escaped). The open packet comes first, so the first "sid" key is it.
func openPacketSID(body []byte) string {
	s := string(body)
	i := strings.Index(s, `"sid":"`)
	n := len(`"sid":"`)
	if i < 0 {
		i = strings.Index(s, `\"sid\":\"`)
		n = len(`\"sid\":\"`)
	}
	if i < 0 {
		return ""
	}
	s = s[i+n:]
	end := 0
	for end < len(s) && isSIDByte(s[end]) {
		end++
	}
	return s[:end]
}

// isSIDByte: a character that can be part of a session id in the open
// packet (the machine's ids are URL-safe base64; the JSON string ends at a
// quote, JSONP's at a backslash).
func isSIDByte(b byte) bool {
	return b > 0x20 && b < 0x7f && b != '"' && b != '\\'
}

// encodeURIComponent percent-encodes all but A-Z a-z 0-9 - _ . ! ~ * ' ( ).
func encodeURIComponent(s string) string {
	const hex = "0123456789ABCDEF"
	clean := true
	for i := 0; i < len(s); i++ {
		if !uriUnreserved(s[i]) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if uriUnreserved(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

func uriUnreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("-_.!~*'()", c) >= 0
}

// isCookieToken: RFC 7230 token characters.
func isCookieToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return s != ""
}

// isCookieDomain: dot-separated labels of letters, digits and inner
// hyphens (63 at most each), with an optional leading dot.
func isCookieDomain(s string) bool {
	s = strings.TrimPrefix(s, ".")
	if s == "" {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
