package native

import (
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"testing"
)

func TestSessionHandshakeKeepsRequest(t *testing.T) {
	r := httptest.NewRequest("GET", "http://example.test:3000/socket.io/?EIO=4&transport=polling&x=1&x=2&e=%20a", nil)
	r.RemoteAddr = "10.1.2.3:4567"
	r.Header.Set("User-Agent", "test/1")
	r.Header.Add("X-Multi", "a")
	r.Header.Add("X-Multi", "b: c")
	r.Header.Set("Cookie", "io=abc; other=1")
	hs := newSessionHandshake(r).handshake(json.RawMessage(`{"token":1}`))

	if got := hs.Headers.Get("Host"); got != "example.test:3000" {
		t.Errorf("Host = %q", got)
	}
	if got := hs.Headers.Values("X-Multi"); !reflect.DeepEqual(got, []string{"a", "b: c"}) {
		t.Errorf("X-Multi = %q", got)
	}
	for _, k := range []string{"User-Agent", "Cookie"} {
		if hs.Headers.Get(k) != r.Header.Get(k) {
			t.Errorf("%s = %q, want %q", k, hs.Headers.Get(k), r.Header.Get(k))
		}
	}
	if len(hs.Headers) != len(r.Header)+1 {
		t.Errorf("headers %v, request %v", hs.Headers, r.Header)
	}
	if got := hs.Query["x"]; !reflect.DeepEqual(got, []string{"1", "2"}) || hs.Query.Get("e") != " a" || hs.Query.Get("EIO") != "4" {
		t.Errorf("query = %v", hs.Query)
	}
	if hs.URL != "/socket.io/?EIO=4&transport=polling&x=1&x=2&e=%20a" || hs.Address != "10.1.2.3" || hs.Secure ||
		hs.Time.IsZero() || string(hs.Auth) != `{"token":1}` {
		t.Errorf("handshake = %+v", hs)
	}
	// Each call gets maps of its own: a handler changing them changes
	// nothing for the next.
	hs.Headers.Set("User-Agent", "changed")
	if newSessionHandshake(r).handshake(nil).Headers.Get("User-Agent") != "test/1" {
		t.Error("handshake maps are shared")
	}
	var none *sessionHandshake
	if h := none.handshake(nil); h.Headers == nil || h.Query == nil {
		t.Errorf("no session: %+v", h)
	}
}
