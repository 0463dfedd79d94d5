package native

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/socketcore/socketcore/core/clock"
)

// eventually polls cond every 5 ms for up to 3 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(3 * time.Second); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Refused handshakes leave no handshake data behind.
func TestRefusedHandshakesLeaveNothing(t *testing.T) {
	srv, hs := newTestServer(t, Options{}, nil)
	for i := 0; i < 50; i++ {
		get(t, hs.URL+"/socket.io/?EIO=3&transport=polling", nil)
		get(t, hs.URL+"/socket.io/", nil)
	}
	var n int
	srv.d.call(func(clock.Instant) { n = len(srv.reqHandshakes) })
	if n != 0 {
		t.Fatalf("%d handshake records left by refused handshakes", n)
	}
}

// Requests reaching a closed server are answered 503, none hangs.
func TestRequestsAfterCloseAnswered(t *testing.T) {
	srv, hs := newTestServer(t, Options{}, nil)
	srv.Close()
	for i := 0; i < 20; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "GET", hs.URL+"/socket.io/?EIO=4&transport=polling", nil)
		res, err := http.DefaultClient.Do(req)
		cancel()
		if err != nil {
			t.Fatalf("request %d after Close: %v", i, err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("request %d after Close: %d, want 503", i, res.StatusCode)
		}
	}
}

// A socket whose session ends while its middleware runs is forgotten by
// the host too.
func TestSessionEndsDuringMiddleware(t *testing.T) {
	release := make(chan struct{})
	var entered atomic.Int32
	srv, hs := newTestServer(t, Options{}, func(s *Server) {
		s.Use(func(*Socket) error { entered.Add(1); <-release; return nil })
	})
	for i := 0; i < 5; i++ {
		w, _, _ := dialWS(t, hs, "", nil)
		w.read()
		w.send("40")
		eventually(t, "the middleware to run", func() bool { return entered.Load() == int32(i+1) })
		w.c.Close()
	}
	eventually(t, "the sessions to close", func() bool { return srv.Stats().Sessions == 0 })
	close(release)
	eventually(t, "the host to forget the sockets", func() bool {
		var n int
		srv.d.call(func(clock.Instant) { n = len(srv.sockets) })
		return n == 0
	})
}

// A client disconnected for flooding its handlers still gets its
// OnDisconnect run.
func TestOverflowStillRunsDisconnectHandlers(t *testing.T) {
	release := make(chan struct{})
	var disc atomic.Int32
	_, hs := newTestServer(t, Options{}, func(s *Server) {
		s.OnConnection(func(so *Socket) {
			so.On("work", func() { <-release })
			so.OnDisconnect(func(string) { disc.Add(1) })
		})
	})
	w, _, _ := dialWS(t, hs, "", nil)
	w.connect("")
	go func() {
		for i := 0; i < mailboxLimit+100; i++ {
			if w.c.WriteMessage(websocket.TextMessage, []byte(`42["work"]`)) != nil {
				return
			}
		}
	}()
	w.expectClosed()
	close(release)
	eventually(t, "OnDisconnect", func() bool { return disc.Load() == 1 })
}

// A WebSocket whose TCP connection drops without a close frame leaves with
// "transport close", as with Node's ws transport.
func TestAbruptDropIsTransportClose(t *testing.T) {
	reasons := make(chan string, 1)
	_, hs := newTestServer(t, Options{}, func(s *Server) {
		s.OnConnection(func(so *Socket) { so.OnDisconnect(func(r string) { reasons <- r }) })
	})
	w, _, _ := dialWS(t, hs, "", nil)
	w.connect("")
	w.c.UnderlyingConn().Close()
	select {
	case r := <-reasons:
		if r != "transport close" {
			t.Fatalf("reason %q, want \"transport close\"", r)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no disconnect")
	}
}

// Close called from a handler returns (after the grace for running
// handlers) instead of waiting for itself.
func TestCloseFromHandlerReturns(t *testing.T) {
	done := make(chan struct{})
	srv, hs := newTestServer(t, Options{}, nil)
	srv.grace = 100 * time.Millisecond
	srv.OnConnection(func(so *Socket) {
		so.On("shutdown", func() { srv.Close(); close(done) })
	})
	w, _, _ := dialWS(t, hs, "", nil)
	w.connect("")
	w.send(`42["shutdown"]`)
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("Close called from a handler did not return")
	}
}

// The handler mailbox is bounded in bytes too: 32 events of 900 KB behind a
// blocked handler (under the count bound) disconnect the client.
func TestSlowHandlerBytesBound(t *testing.T) {
	release := make(chan struct{})
	srv, hs := newTestServer(t, Options{}, func(s *Server) {
		s.OnConnection(func(so *Socket) { so.On("work", func(string) { <-release }) })
	})
	defer close(release)
	w, _, _ := dialWS(t, hs, "", nil)
	w.connect("")
	big := `42["work","` + strings.Repeat("x", 900_000) + `"]`
	go func() {
		for i := 0; i < 32; i++ {
			if w.c.WriteMessage(websocket.TextMessage, []byte(big)) != nil {
				return
			}
		}
	}()
	w.expectClosed()
	eventually(t, "the session to close", func() bool { return srv.Stats().Sessions == 0 })
}
