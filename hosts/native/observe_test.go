package native

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is an Observer keeping what it saw as lines, rooms aside (their
// own test covers them).
type recorder struct {
	mu    sync.Mutex
	lines []string
	socks []*Socket // the Sock of each socket event, in order
}

func (r *recorder) Observe(e Event) {
	if e.Kind == RoomJoined || e.Kind == RoomLeft {
		return
	}
	if e.Time.IsZero() {
		panic("event without a time")
	}
	var b strings.Builder
	b.WriteString(e.Kind.String())
	for _, f := range []struct{ k, v string }{{"session", e.Session}, {"transport", e.Transport}, {"nsp", e.Nsp},
		{"socket", e.Socket}, {"name", e.Name}, {"reason", e.Reason}, {"data", string(e.Data)}} {
		if f.v != "" {
			fmt.Fprintf(&b, " %s=%s", f.k, f.v)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, b.String())
	if e.Socket != "" {
		r.socks = append(r.socks, e.Sock)
	}
}

// wait waits until n events were seen, and returns them.
func (r *recorder) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.mu.Lock()
		lines := append([]string(nil), r.lines...)
		r.mu.Unlock()
		if len(lines) >= n {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events, want %d:\n%s", len(lines), n, strings.Join(lines, "\n"))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The observers see a scripted client's story in order: a refused
// handshake, a polling session that upgrades and whose socket sends and
// gets events and is disconnected by the server, then a WebSocket session
// whose socket leaves by itself.
func TestObserverEvents(t *testing.T) {
	rec := &recorder{}
	_, hs := newTestServer(t, Options{Observers: []Observer{rec}}, func(s *Server) {
		s.OnConnection(func(so *Socket) {
			so.On("hello", func(who string) { so.Emit("welcome", who) })
			so.On("bye", func() { so.Disconnect(false) })
		})
	})
	base := hs.URL + "/socket.io/?EIO=4&transport="

	if res, body := get(t, base+"carrier-pigeon", nil); res.StatusCode != 400 {
		t.Fatalf("unknown transport: %d %s", res.StatusCode, body)
	}

	// polling, then the upgrade
	_, open := get(t, base+"polling", nil)
	var hsk struct{ Sid string }
	if !strings.HasPrefix(open, "0") || json.Unmarshal([]byte(open[1:]), &hsk) != nil {
		t.Fatalf("handshake: %q", open)
	}
	w, _, err := dialWS(t, hs, "&sid="+hsk.Sid, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.send("2probe")
	if m := w.read(); m != "3probe" {
		t.Fatalf("probe: %q", m)
	}
	w.send("5")
	w.send("40")
	var con struct{ Sid string }
	if m := w.read(); !strings.HasPrefix(m, "40") || json.Unmarshal([]byte(m[2:]), &con) != nil {
		t.Fatalf("connect: %q", m)
	}
	w.send(`42["hello","gopher"]`)
	if m := w.read(); m != `42["welcome","gopher"]` {
		t.Fatalf("welcome: %q", m)
	}
	w.send(`42["bye"]`)
	if m := w.read(); m != "41" {
		t.Fatalf("disconnect: %q", m)
	}
	w.c.Close()
	rec.wait(t, 9) // the session closed too

	// WebSocket from the start; the client leaves its namespace
	w2, _, err := dialWS(t, hs, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	id2 := w2.connect("")
	// a refused upgrade: its session is unknown
	if _, res, err := dialWS(t, hs, "&sid=nope", nil); err == nil || res == nil || res.StatusCode != 400 {
		t.Fatalf("upgrade with an unknown sid: %v", err)
	}
	w2.send("41") // read before the close
	w2.c.Close()
	lines := rec.wait(t, 14)

	sid2 := strings.Fields(lines[9])[1] // session_opened session=...
	want := []string{
		"handshake_refused reason=Transport unknown",
		"session_opened session=" + hsk.Sid + " transport=polling",
		"session_upgraded session=" + hsk.Sid + " transport=websocket",
		"socket_connected session=" + hsk.Sid + " nsp=/ socket=" + con.Sid,
		`event_received nsp=/ socket=` + con.Sid + ` name=hello data=["hello","gopher"]`,
		`event_sent nsp=/ socket=` + con.Sid + ` name=welcome data=["welcome","gopher"]`,
		`event_received nsp=/ socket=` + con.Sid + ` name=bye data=["bye"]`,
		"socket_disconnected nsp=/ socket=" + con.Sid + " reason=server namespace disconnect",
		"session_closed session=" + hsk.Sid + " reason=transport close",
		"session_opened " + sid2 + " transport=websocket",
		"socket_connected " + sid2 + " nsp=/ socket=" + id2,
		"handshake_refused transport=websocket reason=Session ID unknown",
		"socket_disconnected nsp=/ socket=" + id2 + " reason=client namespace disconnect",
		"session_closed " + sid2 + " reason=transport close",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n%s\n\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	rec.mu.Lock()
	for i, so := range rec.socks {
		if so == nil || (so.ID() != con.Sid && so.ID() != id2) {
			t.Errorf("socket event %d: Sock %v", i, so)
		}
	}
	rec.mu.Unlock()
}

// Observe adds an observer to a running server; without observers the
// server builds no events (nothing to check but that it runs).
func TestObserveLater(t *testing.T) {
	deny := func(r *http.Request) error {
		if r.Header.Get("X-Deny") != "" {
			return errors.New("denied")
		}
		return nil
	}
	srv, hs := newTestServer(t, Options{AllowRequest: deny}, nil)
	w, _, err := dialWS(t, hs, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	w.connect("")
	rec := &recorder{}
	if err := srv.Observe(rec); err != nil {
		t.Fatal(err)
	}
	w.send(`42["late"]`)
	lines := rec.wait(t, 1)
	if !strings.HasPrefix(lines[0], "event_received nsp=/ socket=") || !strings.HasSuffix(lines[0], ` name=late data=["late"]`) {
		t.Fatalf("got %q", lines)
	}
	// a refusal by the transport itself (AllowRequest, CORS) is observed too
	if res, body := get(t, hs.URL+"/socket.io/?EIO=4&transport=polling", map[string]string{"X-Deny": "1"}); res.StatusCode != 403 {
		t.Fatalf("AllowRequest: %d %s", res.StatusCode, body)
	}
	if lines = rec.wait(t, 2); lines[1] != "handshake_refused transport=polling reason=denied" {
		t.Fatalf("got %q", lines[1])
	}
}
