package handler

import (
	"crypto/rand"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core/wire"
)

func TestGripLast(t *testing.T) {
	if !gripLast("p-a; last-id=3", "p-a") || !gripLast("x; last-id=1, p-a; last-id=3", "p-a") || gripLast("p-ab; last-id=1", "p-a") || gripLast("", "p-a") {
		t.Fatal("gripLast")
	}
}

func TestSubsExact(t *testing.T) {
	var s Subs
	s.init()
	a, b, c := wire.ConnID(1), wire.ConnID(2), wire.ConnID(3)
	if m := s.reconcile(a, []string{"n:/", "r:x"}); len(m) != 2 {
		t.Fatalf("subscribe messages %q", m)
	}
	s.reconcile(b, []string{"n:/", "r:x"})
	s.reconcile(c, []string{"n:/"})
	if ch := s.exact([]wire.ConnID{a, b}); ch != "" {
		t.Fatalf("unconfirmed subscriptions used: %q", ch)
	}
	s.confirm(a)
	s.confirm(b)
	if ch := s.exact([]wire.ConnID{a, b}); ch != "r:x" {
		t.Fatalf("exact({a,b}) = %q, want r:x", ch)
	}
	if ch := s.exact([]wire.ConnID{a, b, c}); ch != "" {
		t.Fatalf("n:/ is unsure (c pending): got %q", ch)
	}
	s.confirm(c)
	if ch := s.exact([]wire.ConnID{a, b}); ch != "r:x" {
		t.Fatalf("exact({a,b}) = %q, want r:x", ch)
	}
	if ch := s.exact([]wire.ConnID{c, a, b}); ch != "n:/" {
		t.Fatalf("exact({a,b,c}) = %q, want n:/", ch)
	}
	if ch := s.exact([]wire.ConnID{a, c}); ch != "" {
		t.Fatalf("exact({a,c}) = %q, want none", ch)
	}
	// b leaves r:x: unsure until confirmed, then gone
	if m := s.reconcile(b, []string{"n:/"}); len(m) != 1 || !strings.Contains(string(m[0]), "unsubscribe") {
		t.Fatalf("unsubscribe messages %q", m)
	}
	if ch := s.exact([]wire.ConnID{a, b}); ch != "" {
		t.Fatalf("a pending unsubscribe still used: %q", ch)
	}
	s.confirm(b)
	if ch := s.exact([]wire.ConnID{a, b}); ch != "" {
		t.Fatalf("r:x is {a} now: got %q", ch)
	}
	s.drop(c)
	if ch := s.exact([]wire.ConnID{a, b}); ch != "n:/" {
		t.Fatalf("after c closed, n:/ is {a,b}: got %q", ch)
	}
	// the state survives a JSON round trip (an instance per request)
	js, _ := json.Marshal(&s)
	var s2 Subs
	if err := json.Unmarshal(js, &s2); err != nil {
		t.Fatal(err)
	}
	s2.init()
	if ch := s2.exact([]wire.ConnID{b, a}); ch != "n:/" {
		t.Fatalf("restored exact = %q", ch)
	}
}

// serve runs one request through h (or through a fresh instance restored
// from its saved state when perRequest, with h's options and a seed of its
// own, as the wasi-handler command makes), returning the response and the
// handler to use next.
func serve(t *testing.T, h *Handler, perRequest bool, now int64, req Request) (*Handler, Response) {
	t.Helper()
	if perRequest {
		st, err := h.Save()
		if err != nil {
			t.Fatal(err)
		}
		opts := h.opts
		rand.Read(opts.Seed[:])
		if h, err = Load(opts, now, st); err != nil {
			t.Fatal(err)
		}
	}
	return h, h.Serve(now, req)
}

// TestPollRetry: a held GET is answered by a publish with id/prev-id; a
// GET the proxy re-requests (Grip-Last) is answered by the handler itself
// (hold again, or the published answer) and never reaches the core.
func TestPollRetry(t *testing.T) {
	for _, perRequest := range []bool{false, true} {
		h := New(Options{})
		now := time.Now().UnixNano()
		h, r := serve(t, h, perRequest, now, Request{Method: "GET", Path: "/socket.io/", Query: "EIO=4&transport=polling"})
		var open struct{ Sid string }
		if r.Status != 200 || len(r.Body) < 2 || json.Unmarshal(r.Body[1:], &open) != nil || open.Sid == "" {
			t.Fatalf("handshake: %d %q", r.Status, r.Body)
		}
		q := "EIO=4&transport=polling&sid=" + open.Sid
		ch := "p-" + open.Sid
		h, r = serve(t, h, perRequest, now, Request{Method: "GET", Path: "/socket.io/", Query: q})
		if r.Header["Grip-Hold"] != "response" || r.Header["Grip-Channel"] != ch+"; prev-id=0" {
			t.Fatalf("first poll not held on %s: %v", ch, r.Header)
		}
		// the proxy retries the hold before anything was published: held again
		retry := Request{Method: "GET", Path: "/socket.io/", Query: q, Header: map[string]string{"Grip-Last": ch + "; last-id=0"}}
		h, r = serve(t, h, perRequest, now, retry)
		if r.Header["Grip-Channel"] != ch+"; prev-id=0" {
			t.Fatalf("retry not held again: %d %v %q", r.Status, r.Header, r.Body)
		}
		h, r = serve(t, h, perRequest, now, Request{Method: "POST", Path: "/socket.io/", Query: q, Body: []byte("40"),
			Header: map[string]string{"Content-Type": "text/plain;charset=UTF-8"}})
		if r.Status != 200 || string(r.Body) != "ok" || len(r.Publish) != 1 {
			t.Fatalf("POST: %d %q publish %v", r.Status, r.Body, r.Publish)
		}
		it := r.Publish[0]
		if it.Channel != ch || it.ID != "1" || it.PrevID != "0" || it.Formats.HTTP == nil || !strings.HasPrefix(it.Formats.HTTP.Body, "40{") {
			t.Fatalf("answer item %+v", it)
		}
		// the publish was lost; the proxy retries: the answer comes from the handler
		h, r = serve(t, h, perRequest, now, retry)
		if r.Status != 200 || string(r.Body) != it.Formats.HTTP.Body || r.Header["Grip-Hold"] != "" {
			t.Fatalf("retry after the answer: %d %v %q", r.Status, r.Header, r.Body)
		}
		// the client's next GETs go to the core (the welcome event, then held
		// with the next prev-id)
		h, r = serve(t, h, perRequest, now, Request{Method: "GET", Path: "/socket.io/", Query: q})
		if !strings.Contains(string(r.Body), "welcome") {
			t.Fatalf("second poll: %d %v %q", r.Status, r.Header, r.Body)
		}
		h, r = serve(t, h, perRequest, now, Request{Method: "GET", Path: "/socket.io/", Query: q})
		if r.Header["Grip-Channel"] != ch+"; prev-id=1" {
			t.Fatalf("next poll: %d %v %q", r.Status, r.Header, r.Body)
		}
		_ = h
	}
}

// TestPollBinaryAcrossRequests: a binary packet whose attachment comes in
// the next POST reaches the app whole, also with an instance per request.
func TestPollBinaryAcrossRequests(t *testing.T) {
	for _, perRequest := range []bool{false, true} {
		h := New(Options{})
		now := time.Now().UnixNano()
		h, r := serve(t, h, perRequest, now, Request{Method: "GET", Path: "/socket.io/", Query: "EIO=4&transport=polling"})
		var open struct{ Sid string }
		json.Unmarshal(r.Body[1:], &open)
		q := "EIO=4&transport=polling&sid=" + open.Sid
		post := func(body string) Response {
			var r Response
			h, r = serve(t, h, perRequest, now, Request{Method: "POST", Path: "/socket.io/", Query: q, Body: []byte(body)})
			if r.Status != 200 || string(r.Body) != "ok" {
				t.Fatalf("POST %q: %d %q", body, r.Status, r.Body)
			}
			return r
		}
		get := func() string {
			var r Response
			h, r = serve(t, h, perRequest, now, Request{Method: "GET", Path: "/socket.io/", Query: q})
			return string(r.Body)
		}
		post("40")
		if b := get(); !strings.HasPrefix(b, "40{") || !strings.Contains(b, "welcome") {
			t.Fatalf("connect: %q", b)
		}
		post(`451-7["echo",{"_placeholder":true,"num":0}]`)
		post("bAQID")
		if b := get(); b != "461-7[{\"_placeholder\":true,\"num\":0}]\x1ebAQID" {
			t.Fatalf("binary ack: %q", b)
		}
	}
}

func TestChannelNames(t *testing.T) {
	h := New(Options{})
	names := []string{h.nspChannel("/"), h.roomChannel("/", "a"), h.roomChannel("/a", ""), h.wsChannel(1), pollChannel("x")}
	if len(slices.Compact(slices.Sorted(slices.Values(names)))) != len(names) {
		t.Fatalf("channel names collide: %q", names)
	}
}
