package main

import (
	"crypto/tls"
	"flag"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/socketcore/socketcore/hosts/native"
)

func cookieFrom(t *testing.T, tlsOn bool, args ...string) (*native.Cookie, error) {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var f cookieFlags
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	var o native.Options
	err := f.apply(&o, tlsOn)
	return o.Cookie, err
}

func TestCookieFlags(t *testing.T) {
	yes, no := true, false
	if c, err := cookieFrom(t, true); c != nil || err != nil {
		t.Fatalf("no --cookie: %+v %v", c, err)
	}
	cases := []struct {
		tls  bool
		args []string
		want native.Cookie
	}{
		{false, []string{"--cookie", "io"},
			native.Cookie{Name: "io", Path: "/", HTTPOnly: &yes, SameSite: http.SameSiteLaxMode}},
		// auto: Secure when the command serves TLS
		{true, []string{"--cookie", "io"},
			native.Cookie{Name: "io", Path: "/", HTTPOnly: &yes, SameSite: http.SameSiteLaxMode, Secure: true}},
		{true, []string{"--cookie", "io", "--cookie-secure", "false"},
			native.Cookie{Name: "io", Path: "/", HTTPOnly: &yes, SameSite: http.SameSiteLaxMode}},
		{false, []string{"--cookie", "SERVERID", "--cookie-path", "", "--cookie-domain", "example.com", "--cookie-samesite", "None",
			"--cookie-secure", "true", "--cookie-httponly=false", "--cookie-max-age", "1h"},
			native.Cookie{Name: "SERVERID", NoPath: true, Domain: "example.com", HTTPOnly: &no, SameSite: http.SameSiteNoneMode,
				Secure: true, MaxAge: time.Hour}},
		{false, []string{"--cookie", "io", "--cookie-samesite", "strict", "--cookie-path", "/socket.io/"},
			native.Cookie{Name: "io", Path: "/socket.io/", HTTPOnly: &yes, SameSite: http.SameSiteStrictMode}},
		{false, []string{"--cookie", "io", "--cookie-samesite", "off"},
			native.Cookie{Name: "io", Path: "/", HTTPOnly: &yes, SameSite: http.SameSiteDefaultMode}},
	}
	for _, tc := range cases {
		c, err := cookieFrom(t, tc.tls, tc.args...)
		if err != nil || c == nil || !reflect.DeepEqual(*c, tc.want) {
			t.Errorf("%v (tls %v): %+v %v\nwant %+v", tc.args, tc.tls, c, err, tc.want)
		}
	}
	for _, bad := range []struct {
		tls  bool
		args []string
		msg  string
	}{
		{false, []string{"--cookie", "io", "--cookie-samesite", "sometimes"}, "--cookie-samesite"},
		{false, []string{"--cookie", "io", "--cookie-secure", "maybe"}, "--cookie-secure"},
		// browsers drop SameSite=None cookies that are not Secure
		{false, []string{"--cookie", "io", "--cookie-samesite", "none"}, "needs a Secure cookie"},
		{true, []string{"--cookie", "io", "--cookie-samesite", "none", "--cookie-secure", "false"}, "needs a Secure cookie"},
		{false, []string{"--cookie", "i o"}, "--cookie"},
		{false, []string{"--cookie", "io", "--cookie-domain", "a b"}, "--cookie"},
		{false, []string{"--cookie", "io", "--cookie-max-age", "10ms"}, "--cookie"},
	} {
		if c, err := cookieFrom(t, bad.tls, bad.args...); err == nil || c != nil || !strings.Contains(err.Error(), bad.msg) {
			t.Errorf("%v: %+v, error %v", bad.args, c, err)
		}
	}
	// with TLS, SameSite=None is fine: auto makes the cookie Secure
	if c, err := cookieFrom(t, true, "--cookie", "io", "--cookie-samesite", "none"); err != nil || !c.Secure {
		t.Errorf("none over TLS: %+v %v", c, err)
	}
}

// Served over TLS by the command's listener, the handshake sets a Secure
// cookie by default.
func TestCookieSecureOverTLS(t *testing.T) {
	p := newTestPKI(t)
	tf := &tlsFlags{cert: p.certFile, key: p.keyFile}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var cf cookieFlags
	cf.register(fs)
	if err := fs.Parse([]string{"--cookie", "io", "--cookie-max-age", "30m"}); err != nil {
		t.Fatal(err)
	}
	var opts native.Options
	if err := cf.apply(&opts, tf.on()); err != nil {
		t.Fatal(err)
	}
	srv := native.NewServer(opts)
	t.Cleanup(func() { srv.Close() })
	mux := http.NewServeMux()
	mux.Handle(srv.Path(), srv)
	hs, ln, _, err := tf.listen("127.0.0.1:0", mux)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hs.Close() })
	res, body, err := handshake(t, httpsClient(&tls.Config{RootCAs: p.caPool}), "https://"+ln.Addr().String())
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("https handshake: %v %q", err, body)
	}
	sid := body[len(`0{"sid":"`):]
	sid = sid[:strings.IndexByte(sid, '"')]
	if got, want := res.Header.Get("Set-Cookie"), "io="+sid+"; Max-Age=1800; Path=/; HttpOnly; Secure; SameSite=Lax"; got != want {
		t.Errorf("Set-Cookie %q, want %q", got, want)
	}
}
