package native

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// startShutdown runs srv.Shutdown(ctx) on its own goroutine, waits until
// the server drains and returns Shutdown's result channel.
func startShutdown(t *testing.T, srv *Server, ctx context.Context) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }()
	eventually(t, "the server to drain", srv.Draining)
	return done
}

func shutdownResult(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return")
		return nil
	}
}

// While the server drains, handshakes (polling and WebSocket) are refused
// with 503 and Engine.IO's error body; an existing polling session and
// existing WebSockets are served as before — a namespace CONNECT and
// events included. What is in flight finishes before the sockets leave,
// with "server shutting down": an acknowledgement a client asked for,
// which the application answers later from a goroutine of its own, then a
// handler still running (started while the server drained).
func TestShutdownRefusesNewSessionsAndFinishesAcks(t *testing.T) {
	releaseAck, releaseWork := make(chan struct{}), make(chan struct{})
	working := make(chan struct{}, 1)
	reasons := make(chan string, 4)
	var later sync.WaitGroup
	t.Cleanup(later.Wait)
	srv, hs := newTestServer(t, Options{}, func(s *Server) {
		s.OnConnection(func(so *Socket) {
			so.On("later", func(ack Ack) {
				later.Add(1)
				go func() { defer later.Done(); <-releaseAck; ack("done") }()
			})
			so.On("work", func() { working <- struct{}{}; <-releaseWork; so.Emit("worked") })
			so.On("echo", func(v string, ack Ack) { ack(v) })
			so.OnDisconnect(func(r string) { reasons <- r })
		})
	})
	w, _, _ := dialWS(t, hs, "", nil)
	w.connect("")
	w2, _, _ := dialWS(t, hs, "", nil)
	w2.connect("")
	_, open := get(t, hs.URL+"/socket.io/?EIO=4&transport=polling", nil) // an existing polling session
	sid := between(open, `"sid":"`, `"`)
	if sid == "" {
		t.Fatalf("polling handshake: %q", open)
	}

	w.send(`421["later"]`) // an acknowledgement in flight, no handler running
	eventually(t, "the acknowledgement to wait", func() bool { return srv.Stats().InAcks == 1 })
	done := startShutdown(t, srv, context.Background())
	notYet := func(what string) {
		t.Helper()
		select {
		case err := <-done:
			t.Fatalf("Shutdown returned (%v) with %s", err, what)
		case <-time.After(50 * time.Millisecond): // a few of its looks
		}
	}

	res, body := get(t, hs.URL+"/socket.io/?EIO=4&transport=polling", nil)
	if res.StatusCode != http.StatusServiceUnavailable || body != `{"code":4,"message":"Server is shutting down"}` ||
		res.Header.Get("Content-Type") != "application/json" || !res.Close {
		t.Fatalf("handshake while draining: %d %q %v close=%v", res.StatusCode, body, res.Header, res.Close)
	}
	if _, res, err := dialWS(t, hs, "", nil); !errors.Is(err, websocket.ErrBadHandshake) || res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("WebSocket handshake while draining: %v %v", err, res)
	}
	// both refusals are counted, apart from the Forbidden ones
	eventually(t, "the refusals to be counted", func() bool {
		return srv.Metrics().ConnectionErrors[errDraining] == ReasonCount{"Server is shutting down", 2}
	})
	if n := srv.Metrics().ConnectionErrors[4].Count; n != 0 {
		t.Fatalf("%d drain refusals counted as Forbidden", n)
	}

	// the existing sessions are served
	post, err := http.Post(hs.URL+"/socket.io/?EIO=4&transport=polling&sid="+sid, "text/plain;charset=UTF-8", strings.NewReader("40"))
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	if _, reply := get(t, hs.URL+"/socket.io/?EIO=4&transport=polling&sid="+sid, nil); post.StatusCode != 200 || !strings.HasPrefix(reply, `40{"sid":`) {
		t.Fatalf("polling session while draining: POST %d, GET %q", post.StatusCode, reply)
	}
	w2.send(`422["echo","still here"]`)
	if r := w2.read(); r != `432["still here"]` {
		t.Fatalf("WebSocket while draining: %q", r)
	}
	notYet("an acknowledgement in flight")

	w2.send(`42["work"]`)
	<-working
	close(releaseAck)
	if r := w.read(); r != `431["done"]` {
		t.Fatalf("the acknowledgement in flight: %q", r)
	}
	notYet("a handler running")
	close(releaseWork)
	if r := w2.read(); r != `42["worked"]` {
		t.Fatalf("the running handler's emit: %q", r)
	}
	w.expectClosed()
	w2.expectClosed()
	if err := shutdownResult(t, done); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for i := 0; i < 3; i++ { // the WebSockets' sockets and the polling one's
		if r := <-reasons; r != "server shutting down" {
			t.Fatalf("socket left with %q", r)
		}
	}
}

// An acknowledgement the application awaits (EmitWithAck, here on a
// goroutine of its own, no handler running) gets its answer before the
// socket closes.
func TestShutdownWaitsForEmitWithAck(t *testing.T) {
	events := make(chan string, 4)
	var asking sync.WaitGroup
	t.Cleanup(asking.Wait)
	srv, hs := newTestServer(t, Options{}, func(s *Server) {
		s.OnConnection(func(so *Socket) {
			so.On("ask", func() {
				asking.Add(1)
				go func() {
					defer asking.Done()
					res, err := so.EmitWithAck(context.Background(), "question")
					var answer string
					if err == nil {
						err = res.Decode(&answer)
					}
					events <- "answer " + answer + errString(err)
				}()
			})
			so.OnDisconnect(func(r string) { events <- r })
		})
	})
	w, _, _ := dialWS(t, hs, "", nil)
	w.connect("")
	w.send(`42["ask"]`)
	if r := w.read(); r != `420["question"]` {
		t.Fatalf("question: %q", r)
	}
	done := startShutdown(t, srv, context.Background())
	time.Sleep(30 * time.Millisecond) // a few of Shutdown's looks
	w.send(`430["forty-two"]`)
	if e := <-events; e != "answer forty-two" {
		t.Fatalf("EmitWithAck: %q", e)
	}
	if e := <-events; e != "server shutting down" {
		t.Fatalf("then: %q", e)
	}
	w.expectClosed()
	if err := shutdownResult(t, done); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// A client that never answers does not hold Shutdown past ctx: the socket
// leaves with "server shutting down", the awaited acknowledgement fails
// with ErrClosed and Shutdown returns ctx's error.
func TestShutdownDeadline(t *testing.T) {
	events := make(chan string, 4)
	srv, hs := newTestServer(t, Options{}, func(s *Server) {
		s.OnConnection(func(so *Socket) {
			so.On("ask", func() {
				_, err := so.EmitWithAck(context.Background(), "question")
				events <- "answer" + errString(err)
			})
			so.OnDisconnect(func(r string) { events <- r })
		})
	})
	w, _, _ := dialWS(t, hs, "", nil)
	w.connect("")
	w.send(`42["ask"]`)
	w.read()
	const deadline = 200 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	err := srv.Shutdown(ctx)
	if took := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || took < deadline || took > 5*time.Second {
		t.Fatalf("Shutdown: %v after %v, want the deadline's error after %v", err, took, deadline)
	}
	got := []string{<-events, <-events}
	if !(got[0] == "server shutting down" && got[1] == "answer: "+ErrClosed.Error() ||
		got[1] == "server shutting down" && got[0] == "answer: "+ErrClosed.Error()) {
		t.Fatalf("after the deadline: %q", got)
	}
	w.expectClosed()
	if res, _ := get(t, hs.URL+"/socket.io/?EIO=4&transport=polling", nil); res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("handshake after Shutdown: %d", res.StatusCode)
	}
}

// An acknowledgement no handler holds — an event without a handler, one a
// rate limit dropped — does not hold the drain (the core still counts it
// in InAcks: the client's own timeout answers it).
func TestShutdownIgnoresUnheldAcks(t *testing.T) {
	srv, hs := newTestServer(t, Options{Limits: Limits{EventRate: Rate{PerSecond: 0.01, Burst: 2}}}, func(s *Server) {
		s.OnConnection(func(so *Socket) { so.On("limited", func(ack Ack) { ack() }) })
	})
	w, _, _ := dialWS(t, hs, "", nil)
	w.connect("")
	w.send(`421["nobody listens"]`)
	w.send(`422["limited"]`) // the burst's second token
	if r := w.read(); r != `432[]` {
		t.Fatalf("first limited event: %q", r)
	}
	w.send(`423["limited"]`) // dropped
	eventually(t, "the unanswered acknowledgements", func() bool { return srv.Stats().InAcks == 2 })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v (held by acknowledgements no handler has)", err)
	}
	w.expectClosed()
}

// Under steady traffic — a client that keeps sending events whose
// handlers answer after a while — the drain waits for what was in flight
// when it began and for what came in during that wait, not for ever.
func TestShutdownUnderSteadyTraffic(t *testing.T) {
	answered := make(chan int, 1024)
	srv, hs := newTestServer(t, Options{}, func(s *Server) {
		s.OnConnection(func(so *Socket) {
			so.On("job", func(n int, ack Ack) {
				time.Sleep(2 * time.Millisecond)
				ack(n)
				answered <- n
			})
		})
	})
	w, _, _ := dialWS(t, hs, "", nil)
	w.connect("")
	stop := make(chan struct{})
	sent := make(chan int, 1)
	go func() { // the client: a job every millisecond, until the socket closes or 5 s
		n := 0
		defer func() { sent <- n }()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); n++ {
			select {
			case <-stop:
				return
			default:
			}
			if w.c.WriteMessage(websocket.TextMessage, []byte(`42`+strconv.Itoa(n)+`["job",`+strconv.Itoa(n)+`]`)) != nil {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	defer close(stop)
	eventually(t, "jobs in flight", func() bool { return len(answered) > 5 })
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown under steady traffic: %v", err)
	}
}

// An idle server shuts down at once; Close after it is a no-op.
func TestShutdownIdle(t *testing.T) {
	reasons := make(chan string, 1)
	srv, hs := newTestServer(t, Options{}, func(s *Server) {
		s.OnConnection(func(so *Socket) { so.OnDisconnect(func(r string) { reasons <- r }) })
	})
	w, _, _ := dialWS(t, hs, "", nil)
	w.connect("")
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !srv.Draining() {
		t.Fatal("not draining after Shutdown")
	}
	w.expectClosed()
	if r := <-reasons; r != "server shutting down" {
		t.Fatalf("reason %q", r)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown after Close: %v", err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return ": " + err.Error()
}

// between is the text of s between the first before and the next after.
func between(s, before, after string) string {
	_, rest, ok := strings.Cut(s, before)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, after)
	return v
}

// A deploy's SIGTERM: drain (new sessions go elsewhere, what is in flight
// finishes, the clients reconnect to another server and recover there),
// then stop serving HTTP.
func ExampleServer_Shutdown() {
	srv := NewServer(Options{Recovery: &Recovery{}})
	hs := &http.Server{Addr: "127.0.0.1:3000", Handler: srv}
	go hs.ListenAndServe()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv.Shutdown(ctx) // ctx's error if it ended first; closed either way
	hs.Shutdown(ctx)
}
