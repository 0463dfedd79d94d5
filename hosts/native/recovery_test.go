package native

import (
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
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
	for _, want := range []string{`42["missed",2,"`, `42["everyone",3,"`} { // before the CONNECT reply, as from Node
		if r := w2.read(); !strings.HasPrefix(r, want) {
			t.Fatalf("missed packet %q, want %s...", r, want)
		}
	}
	if r := w2.read(); !strings.Contains(r, `"sid":"`+reply.Sid+`"`) {
		t.Fatalf("recovery CONNECT reply %q, want sid %s", r, reply.Sid)
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

// The Go client recovers too: the server cuts every connection, broadcasts
// while the client is away, and the client comes back with its id and the
// missed events (each with its offset as the last argument, as in JS).
func TestClientRecovery(t *testing.T) {
	for _, mode := range clientModes {
		t.Run(mode, func(t *testing.T) {
			left := make(chan string, 4)
			var mu sync.Mutex
			var conns []net.Conn
			var down bool // the network is down: new connections drop too
			ls := &liveServer{t: t, opts: Options{
				Recovery: &Recovery{MaxDisconnectionDuration: time.Minute},
				// a polling session outlives its TCP connections until the
				// ping timeout: keep it short
				PingInterval: 100 * time.Millisecond, PingTimeout: 100 * time.Millisecond,
			}, setup: func(s *Server) {
				s.OnConnection(func(so *Socket) {
					so.Join("team")
					so.OnDisconnect(func(reason string) { left <- reason })
				})
			}, connState: func(c net.Conn, st http.ConnState) {
				if st == http.StateNew {
					mu.Lock()
					if down {
						c.Close()
					} else {
						conns = append(conns, c)
					}
					mu.Unlock()
				}
			}}
			ls.start()
			t.Cleanup(ls.stop)
			// the network fails for a while: every TCP connection drops, and
			// so do new ones (net/http retries an idempotent long-poll GET on
			// a fresh connection, which would keep a polling session alive)
			cut := func(d time.Duration) {
				mu.Lock()
				down = true
				for _, c := range conns {
					c.Close()
				}
				conns = nil
				mu.Unlock()
				time.AfterFunc(d, func() { mu.Lock(); down = false; mu.Unlock() })
			}
			opts := clientOpts(mode)
			opts.NoAutoConnect = true
			// away long enough for the server to broadcast meanwhile
			opts.ReconnectionDelay, opts.ReconnectionDelayMax, opts.RandomizationFactor = 400*time.Millisecond, 400*time.Millisecond, -1
			c, err := Dial(ls.url(), opts)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			news := make(chan float64, 8)
			c.On("news", func(n float64, offset string) { news <- n })
			connected := make(chan bool, 4)
			c.OnConnect(func() { connected <- c.Recovered() })
			c.Connect()
			if within(t, connected, "connect") {
				t.Fatal("first connection recovered")
			}
			id := c.ID()
			eventually(t, "the socket in its room", func() bool { return len(ls.srv.Of("/").SocketIDs("team")) == 1 })
			ls.srv.To("team").Emit("news", 1)
			if n := within(t, news, "news 1"); n != 1 {
				t.Fatalf("news %v", n)
			}
			cut(300 * time.Millisecond)
			if r := within(t, left, "the socket to leave"); r != "transport close" && r != "transport error" && r != "ping timeout" {
				t.Fatalf("left with %q", r)
			}
			ls.srv.To("team").Emit("news", 2)
			ls.srv.Emit("news", 3)
			if !within(t, connected, "reconnect") {
				t.Fatal("not recovered")
			}
			if c.ID() != id {
				t.Fatalf("id %s after recovery, was %s", c.ID(), id)
			}
			for _, want := range []float64{2, 3} {
				if n := within(t, news, "missed news"); n != want {
					t.Fatalf("missed news %v, want %v", n, want)
				}
			}
		})
	}
}
