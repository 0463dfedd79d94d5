package native

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The values Node's cookie package (0.7, the one engine.io 6 uses) gives
// for the same options; the first ones are engine.io's own test cases.
func TestCookieSerializedAsNode(t *testing.T) {
	no := false
	yes := true
	cases := []struct {
		c    Cookie
		want string
	}{
		{Cookie{}, "io=SID; Path=/; HttpOnly; SameSite=Lax"},
		{Cookie{Name: "woot"}, "woot=SID; Path=/; HttpOnly; SameSite=Lax"},
		{Cookie{Path: "/custom"}, "io=SID; Path=/custom; HttpOnly; SameSite=Lax"},
		{Cookie{NoPath: true}, "io=SID; SameSite=Lax"},
		{Cookie{NoPath: true, HTTPOnly: &yes}, "io=SID; HttpOnly; SameSite=Lax"},
		{Cookie{HTTPOnly: &yes}, "io=SID; Path=/; HttpOnly; SameSite=Lax"},
		{Cookie{HTTPOnly: &no}, "io=SID; Path=/; SameSite=Lax"},
		{Cookie{SameSite: http.SameSiteStrictMode}, "io=SID; Path=/; HttpOnly; SameSite=Strict"},
		{Cookie{SameSite: http.SameSiteDefaultMode}, "io=SID; Path=/; HttpOnly"},
		{Cookie{Secure: true, SameSite: http.SameSiteNoneMode}, "io=SID; Path=/; HttpOnly; Secure; SameSite=None"},
		{Cookie{MaxAge: 90*time.Minute + 999*time.Millisecond}, "io=SID; Max-Age=5400; Path=/; HttpOnly; SameSite=Lax"},
		// every attribute: Node's order
		{Cookie{Secure: true, Domain: "example.com", MaxAge: time.Hour, Expires: time.Unix(0, 0),
			SameSite: http.SameSiteNoneMode, Partitioned: true, Priority: "high", Path: "/x", HTTPOnly: &yes},
			"io=SID; Max-Age=3600; Domain=example.com; Path=/x; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; Partitioned; Priority=High; SameSite=None"},
	}
	for _, tc := range cases {
		h, err := newCookieHeader(&tc.c)
		if err != nil {
			t.Errorf("%+v: %v", tc.c, err)
			continue
		}
		if got := h.value("SID"); got != tc.want {
			t.Errorf("%+v:\n got %s\nwant %s", tc.c, got, tc.want)
		}
	}
	if h, err := newCookieHeader(nil); h != nil || err != nil {
		t.Errorf("nil cookie: %v %v", h, err)
	}
	h, _ := newCookieHeader(&Cookie{})
	if got := h.value("a b/é"); got != "io=a%20b%2F%C3%A9; Path=/; HttpOnly; SameSite=Lax" {
		t.Errorf("encoded value: %s", got)
	}
}

func TestCookieValid(t *testing.T) {
	bad := []Cookie{
		{Name: "a b"},
		{Name: "a;b"},
		{Name: "é"},
		{Path: "/a;b"},
		{Path: "/\x7f"},
		{Domain: "exa mple.com"},
		{Domain: "-a.com"},
		{Domain: "a..com"},
		{MaxAge: 500 * time.Millisecond},
		{MaxAge: -time.Second},
		{Priority: "urgent"},
		{SameSite: 9},
	}
	for _, c := range bad {
		if err := c.Valid(); err == nil {
			t.Errorf("%+v: valid", c)
		}
		if h, err := newCookieHeader(&c); h != nil || err == nil {
			t.Errorf("%+v: serialized", c)
		}
	}
	good := []Cookie{{}, {Name: "SERVERID", Path: "/socket.io/", Domain: ".example.com", MaxAge: time.Second, Priority: "Low"}}
	for _, c := range good {
		if err := c.Valid(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
	var none *Cookie
	if none.Valid() != nil {
		t.Error("nil cookie not valid")
	}
}

func TestOpenPacketSID(t *testing.T) {
	cases := map[string]string{
		`0{"sid":"ab-C_9","upgrades":["websocket"],"pingInterval":25000}`:     "ab-C_9",
		"0{\"sid\":\"ab-C_9\",\"upgrades\":[]}\x1e40":                         "ab-C_9", // EIO 4 with a packet after
		`97:0{"sid":"ab-C_9","upgrades":["websocket"]}2:40`:                   "ab-C_9", // EIO 3 text payload
		"\x00\x09\x07\xff0{\"sid\":\"ab-C_9\",\"upgrades\":[]}":               "ab-C_9", // EIO 3 binary payload
		`___eio[3]("97:0{\"sid\":\"ab-C_9\",\"upgrades\":[\"websocket\"]}");`: "ab-C_9", // JSONP
		`{"code":1,"message":"Session ID unknown"}`:                           "",
		`ok`:        "",
		`0{"sid":"`: "",
	}
	for body, want := range cases {
		if got := openPacketSID([]byte(body)); got != want {
			t.Errorf("%q: sid %q, want %q", body, got, want)
		}
	}
}

func handshakeSID(t *testing.T, body string) string {
	t.Helper()
	var open struct{ Sid string }
	if !strings.HasPrefix(body, "0") || json.Unmarshal([]byte(body[1:]), &open) != nil || open.Sid == "" {
		t.Fatalf("handshake body %q", body)
	}
	return open.Sid
}

// The polling handshake's answer carries the cookie, and only it: not the
// session's later requests, not a refused handshake, not a server
// without the option.
func TestCookieOnPollingHandshakeOnly(t *testing.T) {
	_, hs := newTestServer(t, Options{Cookie: &Cookie{Secure: true, MaxAge: time.Hour}}, nil)
	base := hs.URL + "/socket.io/?EIO=4&transport=polling"
	res, body := get(t, base, nil)
	sid := handshakeSID(t, body)
	if got := res.Header.Values("Set-Cookie"); len(got) != 1 || got[0] != "io="+sid+"; Max-Age=3600; Path=/; HttpOnly; Secure; SameSite=Lax" {
		t.Fatalf("handshake Set-Cookie = %q (sid %s)", got, sid)
	}
	// the session's next requests: a POST and a GET
	post, err := http.Post(base+"&sid="+sid, "text/plain;charset=UTF-8", strings.NewReader("40"))
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	if post.StatusCode != 200 || post.Header.Get("Set-Cookie") != "" {
		t.Errorf("POST: %d, Set-Cookie %q", post.StatusCode, post.Header.Get("Set-Cookie"))
	}
	res, body = get(t, base+"&sid="+sid, nil)
	if res.StatusCode != 200 || !strings.HasPrefix(body, "40") || res.Header.Get("Set-Cookie") != "" {
		t.Errorf("GET: %d %q, Set-Cookie %q", res.StatusCode, body, res.Header.Get("Set-Cookie"))
	}
	// refused handshakes get none
	for _, q := range []string{"/socket.io/?EIO=4&transport=bogus", "/socket.io/?EIO=9&transport=polling", "/socket.io/?EIO=4&transport=polling&sid=nope"} {
		res, body := get(t, hs.URL+q, nil)
		if res.StatusCode != 400 || res.Header.Get("Set-Cookie") != "" {
			t.Errorf("%s: %d %q, Set-Cookie %q", q, res.StatusCode, body, res.Header.Get("Set-Cookie"))
		}
	}

	// without the option: no cookie
	_, plain := newTestServer(t, Options{}, nil)
	res, body = get(t, plain.URL+"/socket.io/?EIO=4&transport=polling", nil)
	handshakeSID(t, body)
	if got := res.Header.Values("Set-Cookie"); len(got) != 0 {
		t.Errorf("no cookie option: Set-Cookie %q", got)
	}
}

// As in Node, a session opened over WebSocket gets no cookie (ws writes
// the upgrade's headers before the session exists), and neither does the
// upgrade of a polling session.
func TestCookieNotOnWebSocket(t *testing.T) {
	_, hs := newTestServer(t, Options{Cookie: &Cookie{}}, nil)
	ws, res, err := dialWS(t, hs, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Header.Values("Set-Cookie"); len(got) != 0 {
		t.Errorf("direct WebSocket handshake: Set-Cookie %q", got)
	}
	ws.connect("")

	res, body := get(t, hs.URL+"/socket.io/?EIO=4&transport=polling", nil)
	sid := handshakeSID(t, body)
	if want := "io=" + sid + "; Path=/; HttpOnly; SameSite=Lax"; res.Header.Get("Set-Cookie") != want {
		t.Fatalf("polling handshake: Set-Cookie %q, want %q", res.Header.Get("Set-Cookie"), want)
	}
	up, res, err := dialWS(t, hs, "&sid="+sid, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Header.Values("Set-Cookie"); len(got) != 0 {
		t.Errorf("upgrade: Set-Cookie %q", got)
	}
	up.send("2probe")
	if got := up.read(); got != "3probe" {
		t.Errorf("probe answer %q", got)
	}
}

// Engine.IO 3 clients (AllowEIO3) and JSONP polling get it too, and so
// does a plain Engine.IO server.
func TestCookieEIO3AndEngineServer(t *testing.T) {
	_, hs := newTestServer(t, Options{AllowEIO3: true, Cookie: &Cookie{Name: "lb", SameSite: http.SameSiteStrictMode}}, nil)
	for _, q := range []string{"EIO=3&transport=polling", "EIO=3&transport=polling&b64=1", "EIO=3&transport=polling&j=0"} {
		res, body := get(t, hs.URL+"/socket.io/?"+q, nil)
		i := strings.Index(body, `sid`)
		if res.StatusCode != 200 || i < 0 {
			t.Fatalf("%s: %d %q", q, res.StatusCode, body)
		}
		sid := openPacketSID([]byte(body))
		if len(sid) != 20 || !strings.Contains(body, sid) {
			t.Fatalf("%s: sid %q in %q", q, sid, body)
		}
		if got, want := res.Header.Get("Set-Cookie"), "lb="+sid+"; Path=/; HttpOnly; SameSite=Strict"; got != want {
			t.Errorf("%s: Set-Cookie %q, want %q", q, got, want)
		}
	}

	e, err := StartEngine(Options{Cookie: &Cookie{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	es := httptest.NewServer(e)
	defer func() {
		es.CloseClientConnections()
		es.Close()
		e.Close()
		http.DefaultClient.CloseIdleConnections()
	}()
	res, body := get(t, es.URL+"/engine.io/?EIO=4&transport=polling", nil)
	sid := handshakeSID(t, body)
	if got, want := res.Header.Get("Set-Cookie"), "io="+sid+"; Path=/; HttpOnly; SameSite=Lax"; got != want {
		t.Errorf("engine server: Set-Cookie %q, want %q", got, want)
	}
}

// A cookie Node would refuse to serialize is not sent, and said so.
func TestCookieInvalidNotSent(t *testing.T) {
	var logs strings.Builder
	opts := Options{Cookie: &Cookie{Name: "bad name"}, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	_, hs := newTestServer(t, opts, nil)
	res, body := get(t, hs.URL+"/socket.io/?EIO=4&transport=polling", nil)
	handshakeSID(t, body)
	if got := res.Header.Get("Set-Cookie"); got != "" {
		t.Errorf("Set-Cookie %q", got)
	}
	if !strings.Contains(logs.String(), "cookie") {
		t.Errorf("not logged: %q", logs.String())
	}
}
