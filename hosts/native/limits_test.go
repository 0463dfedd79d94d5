package native

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// Each protection is tested with a misbehaving client next to well-behaved
// ones: the well-behaved ones lose nothing, and their acknowledgements come
// back in about the time they took without the misbehaving one (checked
// loosely: below a generous bound, never a tight timing).

// wellBehavedRTT bounds a well-behaved client's worst round trip while a
// misbehaving one is being dealt with. It is a starvation check, not a
// speed measurement: a client stuck behind the flooder's backlog or a slow
// consumer's writes would wait for all of it (many seconds, or for ever);
// one served independently answers in milliseconds, so the bound is set
// far from both, for a loaded 2-core machine under -race.
const wellBehavedRTT = 3 * time.Second

// limitServer is newTestServer whose accepted connections have a small
// kernel send buffer (sndbuf > 0), so that a client that stops reading
// fills it after a few kilobytes.
func limitServer(t *testing.T, opts Options, sndbuf int, setup func(*Server)) (*Server, *httptest.Server) {
	t.Helper()
	if opts.Seed == ([32]byte{}) {
		opts.Seed[0] = 3
	}
	srv := NewServer(opts)
	if setup != nil {
		setup(srv)
	}
	hs := httptest.NewUnstartedServer(srv)
	if sndbuf > 0 {
		hs.Listener = smallSendBuffers{hs.Listener, sndbuf}
	}
	hs.Start()
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
		srv.Close()
		http.DefaultClient.CloseIdleConnections()
	})
	return srv, hs
}

type smallSendBuffers struct {
	net.Listener
	size int
}

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(l.size)
	}
	return c, err
}

// goodClient is a well-behaved Go client over WebSocket, connected to "/".
func goodClient(t *testing.T, url string, setup func(*ClientSocket)) *ClientSocket {
	t.Helper()
	s, err := Dial(url, ClientOptions{Transports: []string{"websocket"}, NoReconnection: true, NoAutoConnect: true, Seed: [32]byte{'g'}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	connected := make(chan struct{}, 1)
	s.OnConnect(func() {
		select {
		case connected <- struct{}{}:
		default:
		}
	})
	if setup != nil {
		setup(s)
	}
	if err := s.Connect(); err != nil {
		t.Fatal(err)
	}
	within(t, connected, "a well-behaved client's connection")
	return s
}

// pinger measures a client's acknowledgement round trips ("ping" answered
// by the server), one every 40 ms (25 events/s), until stop is closed; the
// worst one and the first error come out of done.
func pinger(c *ClientSocket, stop <-chan struct{}) <-chan pingResult {
	done := make(chan pingResult, 1)
	go func() {
		var r pingResult
		defer func() { done <- r }()
		for i := 0; ; i++ {
			t0 := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), clientWait)
			res, err := c.EmitWithAck(ctx, "ping", i)
			cancel()
			var n int
			if err == nil {
				err = res.Decode(&n)
			}
			if err == nil && n != i {
				err = fmt.Errorf("ping %d answered %d", i, n)
			}
			if err != nil {
				r.err = err
				return
			}
			r.worst, r.n = max(r.worst, time.Since(t0)), r.n+1
			select {
			case <-stop:
				return
			case <-time.After(40 * time.Millisecond):
			}
		}
	}()
	return done
}

type pingResult struct {
	worst time.Duration
	n     int
	err   error
}

func checkPings(t *testing.T, results ...<-chan pingResult) {
	t.Helper()
	for i, ch := range results {
		r := within(t, ch, "a well-behaved client's pings")
		if r.err != nil || r.n == 0 {
			t.Fatalf("well-behaved client %d: %d pings, error %v", i, r.n, r.err)
		}
		if r.worst > wellBehavedRTT {
			t.Errorf("well-behaved client %d: worst round trip %v (> %v)", i, r.worst, wellBehavedRTT)
		}
	}
}

// answerPings is the server side of pinger.
func answerPings(so *Socket) { so.On("ping", func(n int, ack Ack) { ack(n) }) }

// A flooder past its socket's event rate, under each OnLimit action,
// next to well-behaved clients whose events all arrive and whose acks all
// come back.
func TestRateLimitFlooder(t *testing.T) {
	const flood = 300
	for _, action := range []LimitAction{LimitDrop, LimitErrorAck, LimitDisconnect} {
		t.Run(action.String(), func(t *testing.T) {
			var mu sync.Mutex
			handled := map[string]int{}
			reasons := make(chan string, 16)
			srv, hs := limitServer(t, Options{Limits: Limits{EventRate: Rate{PerSecond: 50, Burst: 5}, OnLimit: action}}, 0, func(s *Server) {
				s.OnConnection(func(so *Socket) {
					answerPings(so)
					so.On("ev", func(n int, ack Ack) {
						mu.Lock()
						handled[so.ID()]++
						mu.Unlock()
						ack("ok", n)
					})
					so.OnDisconnect(func(r string) { reasons <- so.ID() + " " + r })
				})
			})
			count := func(id string) int { mu.Lock(); defer mu.Unlock(); return handled[id] }

			// Well-behaved: a ping every 40 ms, half the rate.
			stop := make(chan struct{})
			var pings []<-chan pingResult
			var goods []*ClientSocket
			for i := 0; i < 3; i++ {
				c := goodClient(t, hs.URL, nil)
				goods = append(goods, c)
			}
			for _, c := range goods {
				pings = append(pings, pinger(c, stop))
			}

			// The flooder: a raw client sending as fast as it can.
			f, _, err := dialWS(t, hs, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			fid := f.connect("")
			go func() {
				for i := 1; i <= flood; i++ {
					frame := fmt.Sprintf(`42["ev",%d]`, i)
					if action == LimitErrorAck {
						frame = fmt.Sprintf(`42%d["ev",%d]`, i, i)
					}
					if f.c.WriteMessage(websocket.TextMessage, []byte(frame)) != nil {
						return
					}
				}
			}()

			switch action {
			case LimitDrop:
				// every event is either handled or limited
				eventually(t, "the flood to be dealt with", func() bool {
					return count(fid)+int(srv.LimitStats().EventsLimited) == flood
				})
			case LimitErrorAck:
				oks, errs := 0, 0
				for oks+errs < flood {
					msg := f.read()
					id, body, _ := strings.Cut(strings.TrimPrefix(msg, "43"), "[")
					if !strings.HasPrefix(msg, "43") || id == "" {
						t.Fatalf("flooder got %q, want an acknowledgement", msg)
					}
					switch {
					case strings.HasPrefix(body, `"ok",`+id+`]`):
						oks++
					case strings.HasPrefix(body, `{"error":"rate limit exceeded","retryAfterMs":`):
						errs++
					default:
						t.Fatalf("flooder's acknowledgement %q", msg)
					}
				}
				if oks != count(fid) || errs != int(srv.LimitStats().EventsLimited) || errs == 0 {
					t.Fatalf("flooder: %d ok, %d errors; handled %d, limited %d", oks, errs, count(fid), srv.LimitStats().EventsLimited)
				}
			case LimitDisconnect:
				if msg := f.read(); msg != "41" {
					t.Fatalf("flooder got %q, want its namespace's DISCONNECT", msg)
				}
				if r := within(t, reasons, "the flooder's disconnection"); r != fid+" "+ReasonRateLimited {
					t.Fatalf("disconnect %q, want %q", r, fid+" "+ReasonRateLimited)
				}
				if st := srv.LimitStats(); st.RateDisconnects != 1 || st.EventsLimited == 0 {
					t.Fatalf("stats %+v", st)
				}
			}
			// the flooder got through at most its burst plus the rate
			if n := count(fid); n < 5 || n > 5+60 {
				t.Fatalf("flooder: %d of %d events handled", n, flood)
			}

			time.Sleep(200 * time.Millisecond) // the well-behaved keep going meanwhile
			close(stop)
			checkPings(t, pings...)
			select {
			case r := <-reasons:
				if action != LimitDisconnect || !strings.HasPrefix(r, fid) {
					t.Fatalf("unexpected disconnection %q", r)
				}
			default:
			}
		})
	}
}

// Per-event rates apply on top of the socket's: a limited event does not
// hold back the others.
func TestRateLimitPerEvent(t *testing.T) {
	got := make(chan string, 64)
	srv, hs := limitServer(t, Options{Limits: Limits{EventRates: map[string]Rate{"chat": {PerSecond: 1, Burst: 2}}}}, 0, func(s *Server) {
		s.OnConnection(func(so *Socket) {
			so.OnAny(func(event string, _ Args) { got <- event })
		})
	})
	w, _, err := dialWS(t, hs, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	sid := w.connect("")
	for i := 0; i < 5; i++ {
		w.send(`42["chat"]`)
		w.send(`42["move"]`)
	}
	chats, moves := 0, 0
	for chats+moves < 7 {
		switch within(t, got, "events") {
		case "chat":
			chats++
		case "move":
			moves++
		}
	}
	if chats != 2 || moves != 5 {
		t.Fatalf("%d chat and %d move events handled, want 2 and 5", chats, moves)
	}
	if st := srv.LimitStats(); st.EventsLimited != 3 {
		t.Fatalf("limited %d, want 3", st.EventsLimited)
	}
	// Limits off for a socket cost no state; on, it is made at its first event.
	srv.d.call(func(clock.Instant) {
		if so := srv.sockets[wire.SocketID(sid)]; so == nil || so.lim == nil || len(so.lim.events) != 1 {
			t.Errorf("socket limiter state: %+v", so)
		}
	})
}

func TestLimitsOffCostNothing(t *testing.T) {
	srv, hs := limitServer(t, Options{}, 0, func(s *Server) {
		s.OnConnection(func(so *Socket) { answerPings(so) })
	})
	if srv.lim != nil || srv.d.lim.ips != nil || srv.d.lim.nsps != nil {
		t.Fatal("limits state made with every limit off")
	}
	c := goodClient(t, hs.URL, nil)
	ctx, cancel := context.WithTimeout(context.Background(), clientWait)
	defer cancel()
	if _, err := c.EmitWithAck(ctx, "ping", 1); err != nil {
		t.Fatal(err)
	}
	srv.d.call(func(clock.Instant) {
		for _, so := range srv.sockets {
			if so.lim != nil {
				t.Error("a socket got rate-limit state with no rate set")
			}
		}
	})
}

// slowClient is a raw WebSocket client with a small receive buffer that
// connects to "/" and then stops reading.
func slowClient(t *testing.T, hs *httptest.Server) (*wsClient, string) {
	t.Helper()
	d := websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetReadBuffer(4096)
		}
		return c, err
	}}
	u := "ws" + strings.TrimPrefix(hs.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
	c, _, err := d.Dial(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	w := &wsClient{t: t, c: c}
	return w, w.connect("")
}

// A consumer that stops reading under a broadcast loop: its volatile
// packets are dropped, then it is disconnected as a slow consumer, while
// the others receive every non-volatile broadcast, in order.
func TestSlowConsumerWebSocket(t *testing.T) {
	reasons := make(chan string, 16)
	srv, hs := limitServer(t, Options{Limits: Limits{MaxSendQueue: 64 << 10, SlowConsumerGrace: 300 * time.Millisecond}}, 4096, func(s *Server) {
		s.OnConnection(func(so *Socket) {
			answerPings(so)
			so.OnDisconnect(func(r string) { reasons <- so.ID() + " " + r })
		})
	})
	const ticks = 600
	type progress struct {
		next int
		err  error
		done chan struct{}
	}
	var goods []*ClientSocket
	var progs []*progress
	for i := 0; i < 3; i++ {
		p := &progress{done: make(chan struct{})}
		progs = append(progs, p)
		goods = append(goods, goodClient(t, hs.URL, func(c *ClientSocket) {
			c.On("tick", func(n int, _ string) {
				if p.err != nil {
					return
				}
				if n != p.next {
					p.err = fmt.Errorf("tick %d after %d", n, p.next-1)
					close(p.done)
					return
				}
				if p.next++; p.next == ticks {
					close(p.done)
				}
			})
		}))
	}
	_, slowID := slowClient(t, hs)
	stop := make(chan struct{})
	var pings []<-chan pingResult
	for _, c := range goods {
		pings = append(pings, pinger(c, stop))
	}

	payload := strings.Repeat("x", 1024)
	vol := srv.Of("/").Volatile()
	for i := 0; i < ticks; i++ {
		srv.Emit("tick", i, payload)
		vol.Emit("vtick", i, payload)
		if i%10 == 9 {
			// ~20 KB per client per step: paced for well-behaved readers
			// even under -race on a loaded machine, far above what the
			// slow consumer takes
			time.Sleep(20 * time.Millisecond)
		}
	}
	if r := within(t, reasons, "the slow consumer's disconnection"); r != slowID+" "+ReasonSlowConsumer {
		t.Fatalf("disconnect %q, want %q", r, slowID+" "+ReasonSlowConsumer)
	}
	for i, p := range progs {
		select {
		case <-p.done:
		case <-time.After(clientWait):
			var gone []string
			for len(reasons) > 0 {
				gone = append(gone, <-reasons)
			}
			t.Fatalf("well-behaved client %d: %d ticks of %d after %v (disconnections since: %q)", i, p.next, ticks, clientWait, gone)
		}
		if p.err != nil || p.next != ticks {
			t.Fatalf("well-behaved client %d: %d ticks, %v", i, p.next, p.err)
		}
	}
	close(stop)
	checkPings(t, pings...)
	if st := srv.LimitStats(); st.SlowConsumers != 1 {
		t.Fatalf("slow consumers %d, want 1", st.SlowConsumers)
	}
	if m := srv.Metrics(); m.VolatileDropped == 0 {
		t.Fatal("no volatile packet dropped for the slow consumer")
	}
	if st := srv.Stats(); st.Sessions != 3 {
		t.Fatalf("sessions %d after the slow consumer left, want 3", st.Sessions)
	}
	select {
	case r := <-reasons:
		t.Fatalf("unexpected disconnection %q", r)
	default:
	}
}

// A consumer that stops reading while nothing more is sent to it is closed
// when its grace ends (its writer's deadline), or without a bound when a
// write does not complete within WriteTimeout; either way as a slow
// consumer.
func TestSlowConsumerWithoutTraffic(t *testing.T) {
	for _, c := range []struct {
		name   string
		limits Limits
		wt     time.Duration
	}{
		{"grace", Limits{MaxSendQueue: 16 << 10, SlowConsumerGrace: 200 * time.Millisecond}, time.Minute},
		{"write timeout", Limits{}, 200 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			reasons := make(chan string, 4)
			srv, hs := limitServer(t, Options{Limits: c.limits, WriteTimeout: c.wt}, 4096, func(s *Server) {
				s.OnConnection(func(so *Socket) {
					answerPings(so)
					so.On("big", func() { so.Emit("big", make([]byte, 4<<20)) })
					so.OnDisconnect(func(r string) { reasons <- so.ID() + " " + r })
				})
			})
			good := goodClient(t, hs.URL, nil)
			w, id := slowClient(t, hs)
			w.send(`42["big"]`) // one large message, which one empty queue always takes
			t0 := time.Now()
			if r := within(t, reasons, "the slow consumer's disconnection"); r != id+" "+ReasonSlowConsumer {
				t.Fatalf("disconnect %q, want %q", r, id+" "+ReasonSlowConsumer)
			}
			if d := time.Since(t0); d > 3*time.Second {
				t.Fatalf("closed after %v", d)
			}
			stop := make(chan struct{})
			p := pinger(good, stop)
			time.Sleep(50 * time.Millisecond)
			close(stop)
			checkPings(t, p)
			if st := srv.LimitStats(); st.SlowConsumers != 1 {
				t.Fatalf("slow consumers %d", st.SlowConsumers)
			}
		})
	}
}

// A polling client that stops polling under broadcasts: its buffer stays
// within twice MaxSendQueue, then its session closes as a slow consumer.
func TestSlowConsumerPolling(t *testing.T) {
	reasons := make(chan string, 4)
	srv, hs := limitServer(t, Options{Limits: Limits{MaxSendQueue: 16 << 10}}, 0, func(s *Server) {
		s.OnConnection(func(so *Socket) {
			answerPings(so)
			so.OnDisconnect(func(r string) { reasons <- so.ID() + " " + r })
		})
	})
	var got atomic.Int32
	good := goodClient(t, hs.URL, func(c *ClientSocket) {
		c.On("tick", func(n int, _ string) {
			if int(got.Load()) == n {
				got.Add(1)
			}
		})
	})
	// the polling client: handshake, CONNECT, one GET for the answer, then none
	res, open := get(t, hs.URL+"/socket.io/?EIO=4&transport=polling", nil)
	var hsk struct{ Sid string }
	if res.StatusCode != 200 || json.Unmarshal([]byte(open[1:]), &hsk) != nil {
		t.Fatalf("handshake %d %q", res.StatusCode, open)
	}
	q := hs.URL + "/socket.io/?EIO=4&transport=polling&sid=" + hsk.Sid
	pres, err := http.Post(q, "text/plain", strings.NewReader("40"))
	if err != nil {
		t.Fatal(err)
	}
	pres.Body.Close()
	_, connect := get(t, q, nil)
	var cp struct{ Sid string }
	if !strings.HasPrefix(connect, "40") || json.Unmarshal([]byte(connect[2:]), &cp) != nil {
		t.Fatalf("CONNECT answer %q", connect)
	}

	payload := strings.Repeat("x", 1024)
	stop := make(chan struct{})
	p := pinger(good, stop)
	for i := 0; i < 200; i++ {
		srv.Emit("tick", i, payload)
		if i == 60 {
			// 60 KiB sent: past twice the bound, the session is gone
			if st := srv.Stats(); st.Sessions != 1 {
				t.Fatalf("sessions %d after 60 KiB for a client that does not poll", st.Sessions)
			}
		}
	}
	if r := within(t, reasons, "the polling client's disconnection"); r != cp.Sid+" "+ReasonSlowConsumer {
		t.Fatalf("disconnect %q, want %q", r, cp.Sid+" "+ReasonSlowConsumer)
	}
	if res, _ := get(t, q, nil); res.StatusCode != 400 {
		t.Fatalf("a GET after the close: %d, want 400 (session gone)", res.StatusCode)
	}
	eventually(t, "every tick", func() bool { return got.Load() == 200 })
	close(stop)
	checkPings(t, p)
	if st := srv.LimitStats(); st.SlowConsumers != 1 {
		t.Fatalf("slow consumers %d", st.SlowConsumers)
	}
}

func TestMaxRoomsPerSocket(t *testing.T) {
	type result struct {
		errs  []error
		rooms []string
	}
	results := make(chan result, 1)
	srv, hs := limitServer(t, Options{Limits: Limits{MaxRoomsPerSocket: 3}}, 0, func(s *Server) {
		s.OnConnection(func(so *Socket) {
			answerPings(so)
			so.On("join", func() {
				var r result
				for _, rooms := range [][]string{{"a", "b"}, {"c"}, {"d"}, {"a", so.ID()}, {"c", "x"}} {
					r.errs = append(r.errs, so.Join(rooms...))
				}
				so.Leave("b")
				r.errs = append(r.errs, so.Join("x"))
				r.rooms = so.Rooms()
				results <- r
			})
		})
	})
	good := goodClient(t, hs.URL, nil)
	w, _, err := dialWS(t, hs, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	id := w.connect("")
	w.send(`42["join"]`)
	r := within(t, results, "the joins")
	want := []error{nil, nil, ErrTooManyRooms, nil, ErrTooManyRooms, nil}
	for i := range want {
		if !errors.Is(r.errs[i], want[i]) {
			t.Fatalf("join %d: %v, want %v (all: %v)", i, r.errs[i], want[i], r.errs)
		}
	}
	slices.Sort(r.rooms)
	rooms := []string{"a", "c", id, "x"}
	slices.Sort(rooms)
	if !slices.Equal(r.rooms, rooms) {
		t.Fatalf("rooms %v", r.rooms)
	}
	if st := srv.LimitStats(); st.RoomsRefused != 2 {
		t.Fatalf("refused %d", st.RoomsRefused)
	}
	// the socket is still connected, and so is everyone else
	w.send(`421["ping",7]`)
	if got := w.read(); got != `431[7]` {
		t.Fatalf("after the refusals: %q", got)
	}
	stop := make(chan struct{})
	p := pinger(good, stop)
	time.Sleep(30 * time.Millisecond)
	close(stop)
	checkPings(t, p)
}

func TestMaxNamespacesPerConnection(t *testing.T) {
	srv, hs := limitServer(t, Options{Limits: Limits{MaxNamespacesPerConnection: 2}}, 0, func(s *Server) {
		for _, n := range []string{"/", "/a", "/b"} {
			s.Of(n).OnConnection(answerPings)
		}
	})
	good := goodClient(t, hs.URL, nil)
	w, _, err := dialWS(t, hs, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	w.connect("")
	w.send("40/a,")
	if r := w.read(); !strings.HasPrefix(r, `40/a,{"sid":`) {
		t.Fatalf("second namespace: %q", r)
	}
	w.send("40/b,")
	if r := w.read(); r != `44/b,{"message":"Too many namespaces"}` {
		t.Fatalf("third namespace: %q", r)
	}
	// the connection and its sockets stay
	w.send(`42/a,1["ping",1]`)
	if r := w.read(); r != `43/a,1[1]` {
		t.Fatalf("after the refusal: %q", r)
	}
	// leaving one frees its slot
	w.send("41/a,")
	w.send("40/b,")
	if r := w.read(); !strings.HasPrefix(r, `40/b,{"sid":`) {
		t.Fatalf("after leaving /a: %q", r)
	}
	// a middleware refusal gives its slot back too
	srv.Of("/c").Use(func(*Socket) error { return errors.New("no") })
	w.send("41/b,")
	w.send("40/c,")
	if r := w.read(); r != `44/c,{"message":"no"}` {
		t.Fatalf("refused by middleware: %q", r)
	}
	w.send("40/b,")
	if r := w.read(); !strings.HasPrefix(r, `40/b,{"sid":`) {
		t.Fatalf("after the refusal: %q", r)
	}
	if st := srv.LimitStats(); st.NamespacesRefused != 1 {
		t.Fatalf("refused %d", st.NamespacesRefused)
	}
	// another connection has its own count
	m := good.Manager()
	a, b := m.Socket("/a", SocketOptions{}), m.Socket("/b", SocketOptions{})
	errs := make(chan error, 2)
	for _, s := range []*ClientSocket{a, b} {
		s.OnConnect(func() { errs <- nil })
		s.OnConnectError(func(err error) { errs <- err })
		s.Connect()
	}
	var refused int
	for i := 0; i < 2; i++ {
		if err := within(t, errs, "the Go client's namespaces"); err != nil {
			if err.Error() != "Too many namespaces" {
				t.Fatalf("connect_error %v", err)
			}
			refused++
		}
	}
	if refused != 1 {
		t.Fatalf("%d of the Go client's 2 extra namespaces refused, want 1", refused)
	}
	srv.d.call(func(clock.Instant) {
		n := 0
		for _, c := range srv.d.lim.nsps {
			n += int(c)
		}
		if n != 4 || len(srv.d.lim.nsps) != 2 {
			t.Errorf("namespace counts %v", srv.d.lim.nsps)
		}
	})
}

func TestMaxConnectionsPerIP(t *testing.T) {
	handshake := func(t *testing.T, url string, xff string) (int, string) {
		t.Helper()
		var hdr map[string]string
		if xff != "" {
			hdr = map[string]string{"X-Forwarded-For": xff}
		}
		res, body := get(t, url+"/socket.io/?EIO=4&transport=polling", hdr)
		var hsk struct{ Sid string }
		if res.StatusCode == 200 {
			json.Unmarshal([]byte(body[1:]), &hsk)
			return 200, hsk.Sid
		}
		return res.StatusCode, body
	}
	t.Run("peer address", func(t *testing.T) {
		srv, hs := limitServer(t, Options{Limits: Limits{MaxConnectionsPerIP: 2}}, 0, nil)
		_, sid1 := handshake(t, hs.URL, "")
		handshake(t, hs.URL, "10.0.0.9") // not trusted: still the peer's address
		status, body := handshake(t, hs.URL, "")
		if status != 403 || body != `{"code":4,"message":"Too many connections"}` {
			t.Fatalf("third: %d %q", status, body)
		}
		if _, res, err := dialWS(t, hs, "", nil); err == nil || res == nil || res.StatusCode != 403 {
			t.Fatalf("a WebSocket handshake past the limit: %v %v", err, res)
		}
		// a session's own requests are not handshakes
		pres, err := http.Post(hs.URL+"/socket.io/?EIO=4&transport=polling&sid="+sid1, "text/plain", strings.NewReader("1"))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, pres.Body)
		pres.Body.Close()
		if pres.StatusCode != 200 {
			t.Fatalf("close packet: %d", pres.StatusCode)
		}
		// the closed session gave its slot back
		eventually(t, "the slot to come back", func() bool {
			status, _ := handshake(t, hs.URL, "")
			return status == 200
		})
		if st := srv.LimitStats(); st.ConnectionsRefused < 2 {
			t.Fatalf("refused %d", st.ConnectionsRefused)
		}
	})
	t.Run("trust proxy", func(t *testing.T) {
		_, hs := limitServer(t, Options{Limits: Limits{MaxConnectionsPerIP: 1, TrustProxy: true}}, 0, nil)
		if s, _ := handshake(t, hs.URL, "10.0.0.1"); s != 200 {
			t.Fatal(s)
		}
		if s, _ := handshake(t, hs.URL, "10.0.0.2"); s != 200 {
			t.Fatal("another address refused", s)
		}
		// the last entry is the one the proxy added; the rest is the client's say
		if s, _ := handshake(t, hs.URL, "10.0.0.2, 10.0.0.3"); s != 200 {
			t.Fatal("the proxy's entry not used", s)
		}
		if s, _ := handshake(t, hs.URL, "10.0.0.9, 10.0.0.1"); s != 403 {
			t.Fatal("second session of 10.0.0.1 allowed", s)
		}
	})
	t.Run("engine server", func(t *testing.T) {
		e := NewEngineServer(Options{Limits: Limits{MaxConnectionsPerIP: 1}})
		hs := httptest.NewServer(e)
		defer func() { hs.Close(); e.Close() }()
		res, _ := get(t, hs.URL+"/engine.io/?EIO=4&transport=polling", nil)
		res2, _ := get(t, hs.URL+"/engine.io/?EIO=4&transport=polling", nil)
		if res.StatusCode != 200 || res2.StatusCode != 403 || e.LimitStats().ConnectionsRefused != 1 {
			t.Fatalf("engine server: %d then %d", res.StatusCode, res2.StatusCode)
		}
	})
}

// The send bound's arithmetic: the grace starts when the queue passes
// the bound, twice the bound is full, a lone message always fits, and
// writing brings it back under.
func TestSendLimitAdmit(t *testing.T) {
	l := sendLimit{bound: 100, hard: 200, grace: time.Hour, start: time.Now()}
	c := &wsConn{send: sendState{lim: &l}}
	if !l.admit(c, 500) || c.send.queued != 500 || c.send.overAt == 0 {
		t.Fatalf("a lone message: %+v", c.send)
	}
	c.sent(500)
	if c.send.queued != 0 || c.send.overAt != 0 {
		t.Fatalf("after writing it: %+v", c.send)
	}
	if !l.admit(c, 60) || !l.admit(c, 60) || c.send.overAt == 0 {
		t.Fatalf("past the bound: %+v", c.send)
	}
	if l.admit(c, 90) {
		t.Fatal("past twice the bound admitted")
	}
	c.sent(60)
	if c.send.overAt != 0 || !l.admit(c, 30) {
		t.Fatalf("back under: %+v", c.send)
	}
	l.grace = 0
	if !l.admit(c, 20) { // 110: over, the grace starts
		t.Fatal("first step over the bound refused")
	}
	if l.admit(c, 1) {
		t.Fatal("over the bound past the grace admitted")
	}
}

// The driver reports a limit's disconnection with its reason, before the
// application and the observers see it.
func TestLimitReasons(t *testing.T) {
	var d driver
	d.renameSocket("s1", ReasonRateLimited)
	if o := d.track(wire.Disconnecting{Socket: "s1", Reason: wire.ReasonServerNamespaceDisconnect}); o.(wire.Disconnecting).Reason != ReasonRateLimited {
		t.Fatalf("disconnecting %+v", o)
	}
	if o := d.track(wire.Disconnected{Socket: "s2", Reason: wire.ReasonTransportClose}); o.(wire.Disconnected).Reason != wire.ReasonTransportClose {
		t.Fatalf("another socket renamed: %+v", o)
	}
	if o := d.track(wire.Disconnected{Socket: "s1", Reason: wire.ReasonServerNamespaceDisconnect}); o.(wire.Disconnected).Reason != ReasonRateLimited || len(d.lim.renames) != 0 {
		t.Fatalf("disconnected %+v, renames %v", o, d.lim.renames)
	}
	for _, o := range []wire.Output{
		wire.SessionClosed{Reason: wire.ReasonTransportError},
		wire.Disconnecting{Reason: wire.ReasonTransportError},
		wire.Disconnected{Reason: wire.ReasonTransportError},
	} {
		if got := fmt.Sprint(asSlowConsumer(o)); !strings.Contains(got, ReasonSlowConsumer) {
			t.Errorf("%T not renamed: %s", o, got)
		}
	}
	if o := asSlowConsumer(wire.Disconnected{Reason: wire.ReasonPingTimeout}); o.(wire.Disconnected).Reason != wire.ReasonPingTimeout {
		t.Fatal("another reason renamed")
	}
	if o := d.track(wire.SessionClosed{Reason: ReasonSlowConsumer}); o == nil || d.lim.stats.slowConsumers.Load() != 1 {
		t.Fatal("slow consumer not counted")
	}
}

func TestIPLimiter(t *testing.T) {
	l := ipLimiter{max: 2, count: map[string]int32{}, pending: map[wire.ConnID]string{}, bySID: map[wire.SID]string{}}
	if !l.reserve(1, "a") || !l.reserve(2, "a") || l.reserve(3, "a") || !l.reserve(4, "b") {
		t.Fatal("reserve")
	}
	l.opened("s1", 1) // 2 and 4 were refused by the machine
	l.settle()
	if l.count["a"] != 1 || l.count["b"] != 0 || len(l.pending) != 0 {
		t.Fatalf("after the drain: %v %v", l.count, l.pending)
	}
	l.closed("s1")
	l.closed("s1")
	if len(l.count) != 0 || len(l.bySID) != 0 {
		t.Fatalf("after the close: %v %v", l.count, l.bySID)
	}
}

func TestParseLimitAction(t *testing.T) {
	for i, name := range []string{"drop", "error-ack", "disconnect"} {
		if a, err := ParseLimitAction(name); err != nil || a != LimitAction(i) || a.String() != name {
			t.Errorf("%q: %v %v", name, a, err)
		}
	}
	if _, err := ParseLimitAction("ban"); err == nil {
		t.Error("unknown action accepted")
	}
	if got := string(rateLimitedAck(1500 * time.Microsecond)); got != `[{"error":"rate limit exceeded","retryAfterMs":2}]` {
		t.Errorf("ack %s", got)
	}
}
