package main

// The io cookie of `serve` (native.Cookie, Node's cookie option): with
// --cookie NAME the polling handshake's answer sets a cookie carrying the
// session id, for load balancers that route by cookie. Off by default, as
// in Node.

import (
	"errors"
	"flag"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/socketcore/socketcore/hosts/native"
)

type cookieFlags struct {
	name     string
	path     string
	domain   string
	sameSite string
	httpOnly bool
	secure   string
	maxAge   time.Duration
}

func (f *cookieFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.name, "cookie", "", `name of the cookie carrying the session id, set on the polling handshake's answer for cookie-based sticky sessions ("io" is Node's; empty: no cookie)`)
	fs.StringVar(&f.path, "cookie-path", "/", "Path of the --cookie (empty: no Path attribute)")
	fs.StringVar(&f.domain, "cookie-domain", "", "Domain of the --cookie (empty: none, the request's host)")
	fs.StringVar(&f.sameSite, "cookie-samesite", "lax", "SameSite of the --cookie: lax, strict, none (needs a Secure cookie) or off (no attribute)")
	fs.BoolVar(&f.httpOnly, "cookie-httponly", true, "HttpOnly --cookie: scripts cannot read it")
	fs.StringVar(&f.secure, "cookie-secure", "auto", "Secure --cookie (https only): true, false, or auto: true when serving TLS (--tls-cert); behind a proxy that terminates TLS, say true")
	fs.DurationVar(&f.maxAge, "cookie-max-age", 0, "Max-Age of the --cookie, whole seconds (0: a session cookie, gone when the browser closes)")
}

// apply sets opts.Cookie; tlsOn says whether the command serves TLS
// itself (--cookie-secure auto). The other --cookie-* flags need --cookie.
func (f *cookieFlags) apply(o *native.Options, tlsOn bool) error {
	if f.name == "" {
		return nil
	}
	c := &native.Cookie{Name: f.name, Path: f.path, NoPath: f.path == "", Domain: f.domain, MaxAge: f.maxAge}
	httpOnly := f.httpOnly
	c.HTTPOnly = &httpOnly
	switch strings.ToLower(f.sameSite) {
	case "lax":
		c.SameSite = http.SameSiteLaxMode
	case "strict":
		c.SameSite = http.SameSiteStrictMode
	case "none":
		c.SameSite = http.SameSiteNoneMode
	case "off":
		c.SameSite = http.SameSiteDefaultMode
	default:
		return fmt.Errorf("--cookie-samesite: %q is not lax, strict, none or off", f.sameSite)
	}
	switch strings.ToLower(f.secure) {
	case "auto":
		c.Secure = tlsOn
	case "true", "1", "yes", "on":
		c.Secure = true
	case "false", "0", "no", "off":
	default:
		return fmt.Errorf("--cookie-secure: %q is not auto, true or false", f.secure)
	}
	if c.SameSite == http.SameSiteNoneMode && !c.Secure {
		// browsers drop such a cookie: stickiness would silently fail
		return errors.New("--cookie-samesite none needs a Secure cookie: serve TLS (--tls-cert) or say --cookie-secure true")
	}
	if err := c.Valid(); err != nil {
		return fmt.Errorf("--cookie: %s", strings.TrimPrefix(err.Error(), "native: "))
	}
	o.Cookie = c
	return nil
}
