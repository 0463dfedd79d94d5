package native

import (
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A client whose connection drops comes back with its socket: same id,
// Data, rooms, the events it missed; the middleware is skipped, the
// connection handlers run again with Recovered() true.
func TestRecoveryThroughTheHost(t *testing.T) {
	var middleware atomic.Int32
	type conn struct {
		id        string
		recovered bool
		data      any
	}
	conns := make(chan conn, 4)
	srv, hs := newTestServer(t, Options{Recovery: &Recovery{MaxDisconnectionDuration: time.Minute}}, func(s *Server) {
		s.Use(func(*Socket) error { middleware.Add(1); return nil })
		s.OnConnection(func(so *Socket) {
			if !so.Recovered() {
				so.Data = map[string]any{"user": "ann"}
				so.Join("team")
			}
			conns <- conn{so.ID(), so.Recovered(), so.Data}
		})
	})
	w, _, _ := dialWS(t, hs, "", nil)
	if open := w.read(); !strings.HasPrefix(open, `0{"sid":`) {
		t.Fatalf("open %q", open)
	}
	w.send("40")
	var reply struct{ Sid, Pid string }
	if r := w.read(); !strings.HasPrefix(r, "40{") || json.Unmarshal([]byte(r[2:]), &reply) != nil || reply.Pid == "" {
		t.Fatalf("CONNECT reply %q", r)
	}
	first := within(t, conns, "connection")
	if first.recovered || first.id != reply.Sid {
		t.Fatalf("first connection %+v", first)
	}
	srv.To("team").Emit("news", 1)
	got := w.read()
	var args []any
	json.Unmarshal([]byte(got[2:]), &args)
	if len(args) != 3 || args[0] != "news" {
		t.Fatalf("event %q has no offset", got)
	}
	offset := args[2].(string)

	w.c.Close() // the connection drops
	eventually(t, "the socket to leave", func() bool { return srv.Stats().Sockets == 0 })
	srv.To("team").Emit("missed", 2)
	srv.Emit("everyone", 3)

	w2, _, _ := dialWS(t, hs, "", nil)
	w2.read()
	b, _ := json.Marshal(map[string]string{"pid": reply.Pid, "offset": offset})
	w2.send("40" + string(b))
	if r := w2.read(); !strings.Contains(r, `"sid":"`+reply.Sid+`"`) {
		t.Fatalf("recovery CONNECT reply %q, want sid %s", r, reply.Sid)
	}
	for _, want := range []string{`42["missed",2,"`, `42["everyone",3,"`} {
		if r := w2.read(); !strings.HasPrefix(r, want) {
			t.Fatalf("missed packet %q, want %s...", r, want)
		}
	}
	again := within(t, conns, "recovered connection")
	data, _ := again.data.(map[string]any)
	if !again.recovered || again.id != reply.Sid || data["user"] != "ann" {
		t.Fatalf("recovered connection %+v", again)
	}
	if n := middleware.Load(); n != 1 {
		t.Fatalf("middleware ran %d times, want once (skipped on recovery)", n)
	}
	srv.To("team").Emit("still", 4) // the room came back too
	if r := w2.read(); !strings.HasPrefix(r, `42["still",4,"`) {
		t.Fatalf("after recovery %q", r)
	}
}
