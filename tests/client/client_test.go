package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socketcore/socketcore/hosts/native"
)

func forEach(t *testing.T, fn func(t *testing.T, srv server, mode string)) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			srv := tg.start(t)
			for _, mode := range modes {
				t.Run(mode, func(t *testing.T) { fn(t, srv, mode) })
			}
		})
	}
}

// Connecting with auth and query, and every way the server refuses.
func TestConnect(t *testing.T) {
	forEach(t, func(t *testing.T, srv server, mode string) {
		o := opts(mode)
		o.Auth = map[string]any{"user": "ann", "n": 1}
		o.Query = url.Values{"foo": {"bar baz"}}
		_, w := dial(t, srv.URL(), o)
		if w.Nsp != "/" || w.Auth["user"] != "ann" || w.Auth["n"] != 1.0 || w.Query != "bar baz" || w.ID == "" {
			t.Fatalf("welcome %+v", w)
		}
		_, w = dial(t, srv.URL(), opts(mode))
		if len(w.Auth) != 0 || w.Query != nil {
			t.Fatalf("welcome without auth %+v", w)
		}

		for _, tc := range []struct {
			path string
			auth any
			msg  string
			data string
		}{
			{"/", map[string]any{"reject": true}, "rejected", `{"code":42}`},
			{"/chat", nil, "unauthorized", `{"reason":"bad token"}`},
			{"/chat", map[string]any{"token": "nope"}, "unauthorized", `{"reason":"bad token"}`},
			{"/elsewhere", nil, "Invalid namespace", ""},
		} {
			o := opts(mode)
			o.Auth = tc.auth
			_, err := native.DialContext(ctx(t), srv.URL()+tc.path, o)
			var ce *native.ConnectError
			if !errors.As(err, &ce) || ce.Message != tc.msg {
				t.Fatalf("%s %v: %v", tc.path, tc.auth, err)
			}
			got := ""
			if ce.Data != nil {
				got = string(ce.Data.(json.RawMessage))
			}
			if got != tc.data {
				t.Fatalf("%s: data %s, want %s", tc.path, got, tc.data)
			}
		}
		o = opts(mode)
		o.Auth = map[string]any{"token": "secret"}
		c, err := native.DialContext(ctx(t), srv.URL()+"/chat", o)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	})
}

// Events and acknowledgements both ways, with binary at any depth.
func TestEventsAndAcks(t *testing.T) {
	forEach(t, func(t *testing.T, srv server, mode string) {
		s, _ := dial(t, srv.URL(), opts(mode))
		res := call(t, s, "echo", "text", 42, map[string]any{"nested": []any{[]byte{0, 1, 255}, "x"}}, []byte("top"))
		vals := res.Values()
		if len(vals) != 4 || vals[0] != "text" || vals[1] != 42.0 || string(vals[3].([]byte)) != "top" {
			t.Fatalf("echo ack %#v", vals)
		}
		if nested := vals[2].(map[string]any)["nested"].([]any); string(nested[0].([]byte)) != "\x00\x01\xff" || nested[1] != "x" {
			t.Fatalf("nested binary %#v", nested)
		}
		if vals := call(t, s, "echo").Values(); len(vals) != 0 {
			t.Fatalf("empty echo %#v", vals)
		}

		// no ack: the server emits the arguments back as an event
		back := make(chan []any, 1)
		s.On("echo", func(args native.Args) { back <- args.Values() })
		if err := s.Emit("echo", "plain", []byte{7}); err != nil {
			t.Fatal(err)
		}
		if v := within(t, back, "echo event"); len(v) != 2 || v[0] != "plain" || string(v[1].([]byte)) != "\x07" {
			t.Fatalf("echo event %#v", v)
		}

		// the server asks the client (socket.timeout(ms).emit with an ack)
		s.On("question", func(q string, ack native.Ack) { ack("re: " + q) })
		var r struct {
			OK     bool   `json:"ok"`
			Answer string `json:"answer"`
			Error  string `json:"error"`
		}
		call(t, s, "ask", "why", 2000).Decode(&r)
		if !r.OK || r.Answer != "re: why" {
			t.Fatalf("ask: %+v", r)
		}
		s.Off("question")
		s.On("question", func(q string) {}) // never answers
		r.OK, r.Answer = true, ""
		call(t, s, "ask", "again", 100).Decode(&r)
		if r.OK || r.Error != "operation has timed out" {
			t.Fatalf("ask without answer: %+v", r)
		}

		// client-side acknowledgement timeout
		if _, err := s.Timeout(50*time.Millisecond).EmitWithAck(ctx(t), "slow-ack", 1000); !errors.Is(err, native.ErrAckTimeout) {
			t.Fatalf("slow-ack: %v", err)
		}
		var late string
		call(t, s, "slow-ack", 10).Decode(&late)
		if late != "late" {
			t.Fatalf("slow-ack: %q", late)
		}
	})
}

// Rooms and broadcasts reach exactly the right clients; a broadcast with
// acknowledgements collects the clients' answers.
func TestBroadcasts(t *testing.T) {
	forEach(t, func(t *testing.T, srv server, mode string) {
		type got struct {
			who  int
			args []any
		}
		recv := make(chan got, 16)
		var socks []*native.ClientSocket
		for i := range 3 {
			s, _ := dial(t, srv.URL(), opts(mode))
			s.On("news", func(args native.Args) { recv <- got{i, args.Values()} })
			s.On("poll", func(ack native.Ack) { ack(fmt.Sprintf("answer-%d", i)) })
			socks = append(socks, s)
		}
		room := "room-" + mode
		for _, i := range []int{0, 1} {
			var ok string
			call(t, socks[i], "join", room).Decode(&ok)
			if ok != "ok" {
				t.Fatalf("join: %q", ok)
			}
		}
		call(t, socks[2], "broadcast", map[string]any{"room": room, "event": "news", "args": []any{"hello", 1}})
		seen := map[int]bool{}
		for range 2 {
			g := within(t, recv, "room broadcast")
			if len(g.args) != 2 || g.args[0] != "hello" {
				t.Fatalf("broadcast args %#v", g.args)
			}
			seen[g.who] = true
		}
		if !seen[0] || !seen[1] {
			t.Fatalf("room broadcast reached %v", seen)
		}
		// except: everyone but room members (sender included)
		call(t, socks[0], "broadcast", map[string]any{"except": room, "event": "news", "args": []any{"x"}})
		if g := within(t, recv, "except broadcast"); g.who != 2 {
			t.Fatalf("except broadcast reached %d", g.who)
		}
		var ba struct {
			Err       *string  `json:"err"`
			Responses []string `json:"responses"`
		}
		call(t, socks[2], "broadcast-ack", map[string]any{"room": room, "timeoutMs": 2000}).Decode(&ba)
		slices.Sort(ba.Responses)
		if ba.Err != nil || strings.Join(ba.Responses, ",") != "answer-0,answer-1" {
			t.Fatalf("broadcast-ack %+v", ba)
		}
		select {
		case g := <-recv:
			t.Fatalf("extra broadcast delivery %+v", g)
		case <-time.After(50 * time.Millisecond):
		}
	})
}

// Several namespaces on one connection: one Engine.IO session ("open" once),
// each with its own socket, and each can leave without the others.
func TestNamespacesMultiplexed(t *testing.T) {
	forEach(t, func(t *testing.T, srv server, mode string) {
		o := opts(mode)
		o.NoAutoConnect = true
		m, err := native.NewManager(srv.URL(), o)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		var nOpen int
		var mu sync.Mutex
		m.On("open", func() { mu.Lock(); nOpen++; mu.Unlock() })
		root, wr := join(t, m, "/", native.SocketOptions{}, nil)
		chat, wc := join(t, m, "/chat", native.SocketOptions{Auth: map[string]any{"token": "secret"}}, nil)
		dyn, wd := join(t, m, "/dyn-"+mode, native.SocketOptions{}, nil)
		if wr.Nsp != "/" || wc.Nsp != "/chat" || wd.Nsp != "/dyn-"+mode || wr.ID == wc.ID {
			t.Fatalf("welcomes %+v %+v %+v", wr, wc, wd)
		}
		mu.Lock()
		if nOpen != 1 {
			t.Fatalf("%d Engine.IO sessions for three namespaces", nOpen)
		}
		mu.Unlock()
		var n float64
		call(t, dyn, "count").Decode(&n)
		if n != 1 {
			t.Fatalf("count in the dynamic namespace: %v", n)
		}
		// a refused namespace on the same connection leaves the others alone
		bad := m.Socket("/chat-nope", native.SocketOptions{})
		errc := make(chan error, 1)
		bad.OnConnectError(func(err error) { errc <- err })
		bad.Connect()
		if err := within(t, errc, "connect_error"); err.Error() != "Invalid namespace" {
			t.Fatalf("connect_error %v", err)
		}
		chat.Disconnect()
		// The server's handlers of different sockets need not run in
		// order (Node's do, ours run on each socket's own goroutine): poll.
		var reason string
		for deadline := time.Now().Add(wait); reason == "" && time.Now().Before(deadline); {
			call(t, root, "last-reason", wc.ID).Decode(&reason)
			if reason == "" {
				time.Sleep(10 * time.Millisecond)
			}
		}
		if reason != "client namespace disconnect" {
			t.Fatalf("server reason for /chat: %q", reason)
		}
		if !root.Connected() || !dyn.Connected() {
			t.Fatal("leaving one namespace dropped the others")
		}
	})
}

// The disconnect reasons of APP.md, on both sides.
func TestDisconnectReasons(t *testing.T) {
	forEach(t, func(t *testing.T, srv server, mode string) {
		watcher, _ := dial(t, srv.URL(), opts(mode))
		lastReason := func(id string) string {
			var r string
			deadline := time.Now().Add(wait)
			for r == "" && time.Now().Before(deadline) {
				call(t, watcher, "last-reason", id).Decode(&r)
				if r == "" {
					time.Sleep(10 * time.Millisecond)
				}
			}
			return r
		}
		reasons := make(chan string, 4)
		for _, tc := range []struct {
			do           func(s *native.ClientSocket)
			client, srvR string
		}{
			{func(s *native.ClientSocket) { s.Emit("disconnect-me", false) }, "io server disconnect", "server namespace disconnect"},
			{func(s *native.ClientSocket) { s.Emit("disconnect-me", true) }, "io server disconnect", "server namespace disconnect"},
			{func(s *native.ClientSocket) { s.Disconnect() }, "io client disconnect", "client namespace disconnect"},
			{func(s *native.ClientSocket) { s.Manager().Close() }, "forced close", "transport close"},
		} {
			s, w := dial(t, srv.URL(), opts(mode))
			s.OnDisconnect(func(r string) { reasons <- r })
			tc.do(s)
			if r := within(t, reasons, "disconnect"); r != tc.client {
				t.Fatalf("client reason %q, want %q", r, tc.client)
			}
			if r := lastReason(w.ID); r != tc.srvR {
				t.Fatalf("server reason %q, want %q", r, tc.srvR)
			}
			if s.Manager().Reconnecting() {
				t.Fatal("reconnecting after an intended disconnection")
			}
		}
	})
}

// The network glitch: the server is killed and restarted on the same port.
// The client reconnects with backoff and re-joins every namespace; emits made
// meanwhile are flushed in order, volatile ones are dropped; a retried emit
// that was never acknowledged is delivered again and acknowledged.
func TestReconnection(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			srv := tg.start(t)
			for _, mode := range modes {
				t.Run(mode, func(t *testing.T) { reconnection(t, srv, mode) })
			}
		})
	}
}

func reconnection(t *testing.T, srv server, mode string) {
	o := opts(mode)
	o.NoAutoConnect = true
	m, err := native.NewManager(srv.URL(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	news := make(chan string, 16)
	disconnects := make(chan string, 4)
	connects := make(chan string, 4)
	root, _ := join(t, m, "/", native.SocketOptions{}, func(s *native.ClientSocket) {
		s.On("echo", func(tag string) { news <- tag })
		s.OnDisconnect(func(r string) { disconnects <- r })
		s.OnConnect(func() { connects <- "/" })
	})
	chat, _ := join(t, m, "/chat", native.SocketOptions{Auth: map[string]any{"token": "secret"}, Retries: 3}, func(s *native.ClientSocket) {
		s.OnConnect(func() { connects <- "/chat" })
	})
	within(t, connects, "connect")
	within(t, connects, "connect")
	attempts := make(chan int, 64)
	m.On("reconnect_attempt", func(n int) { attempts <- n })
	reconnected := make(chan int, 1)
	m.On("reconnect", func(n int) { reconnected <- n })

	// an at-least-once emit the server will only answer after the restart:
	// slow-ack answers in 1.5 s, the server dies before that
	retried := make(chan error, 1)
	var late string
	go func() {
		res, err := chat.EmitWithAck(ctx(t), "slow-ack", 1500)
		if err == nil {
			err = res.Decode(&late)
		}
		retried <- err
	}()
	time.Sleep(100 * time.Millisecond)

	down := time.Now()
	srv.Stop()
	if r := within(t, disconnects, "disconnect"); r != "transport close" && r != "transport error" {
		t.Fatalf("reason %q", r)
	}
	// echo without an acknowledgement: the server emits it back to us
	if err := root.Emit("echo", "buffered-1"); err != nil {
		t.Fatal(err)
	}
	if err := root.Volatile().Emit("echo", "volatile"); err != nil {
		t.Fatal(err)
	}
	if err := root.Emit("echo", "buffered-2"); err != nil {
		t.Fatal(err)
	}
	within(t, attempts, "first reconnection attempt")
	within(t, attempts, "second reconnection attempt")
	if root.Connected() {
		t.Fatal("connected while the server is down")
	}
	srv.Start()
	n := within(t, reconnected, "reconnect")
	if n < 2 {
		t.Fatalf("reconnected at attempt %d", n)
	}
	if d := time.Since(down); d < 100*time.Millisecond {
		t.Fatalf("reconnected after %v: no backoff", d)
	}
	for range 2 {
		within(t, connects, "re-join")
	}
	if !root.Connected() || !chat.Connected() {
		t.Fatal("namespaces not re-joined")
	}
	if a, b := within(t, news, "buffered-1"), within(t, news, "buffered-2"); a != "buffered-1" || b != "buffered-2" {
		t.Fatalf("buffer flushed as %q, %q", a, b)
	}
	if err := within(t, retried, "retried emit"); err != nil || late != "late" {
		t.Fatalf("retried emit: %q, %v", late, err)
	}
	call(t, root, "echo") // a round trip after the flush: nothing else pending
	select {
	case tag := <-news:
		t.Fatalf("got %q: a volatile emit made while down was delivered", tag)
	case <-time.After(100 * time.Millisecond):
	}
}

// A server that hangs (the connection stays up, nothing comes) is detected by
// the missing pings: the Go client reports "ping timeout" pingInterval +
// pingTimeout (500 + 2000 ms in APP.md) after the last ping, so between 2 and
// 2.5 s after the hang.
func TestDeadServer(t *testing.T) {
	// A frozen Node process (SIGSTOP) keeps its sockets; ours cannot hang on
	// demand, so this runs against Node only.
	srv := startNode(t).(*nodeServer)
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			o := opts(mode)
			o.NoReconnection = true
			s, _ := dial(t, srv.URL(), o)
			reasons := make(chan string, 1)
			s.OnDisconnect(func(r string) { reasons <- r })
			call(t, s, "echo")
			stopped := time.Now()
			if err := srv.cmd.Process.Signal(sigStop); err != nil {
				t.Fatal(err)
			}
			defer srv.cmd.Process.Signal(sigCont)
			r := within(t, reasons, "ping timeout")
			d := time.Since(stopped)
			if r != "ping timeout" {
				t.Fatalf("reason %q", r)
			}
			if d < 1900*time.Millisecond || d > 3*time.Second {
				t.Fatalf("detected %v after the hang, want within (2s, 2.5s]", d)
			}
			srv.cmd.Process.Signal(sigCont)
		})
	}
}
