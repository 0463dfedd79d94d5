package native

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestWebSocketFraming checks what the server's own frame reader and writer
// do on the wire, with gorilla's client as the peer: pings answered, the
// peer's close echoed, violations and oversized messages closed with their
// codes and reported as "transport error", large and fragmented messages
// carried whole, a well-behaved client served throughout.
func TestWebSocketFraming(t *testing.T) {
	reasons := make(chan string, 16)
	_, hs := newTestServer(t, Options{MaxHTTPBufferSize: 100_000}, func(s *Server) {
		s.OnConnection(func(so *Socket) {
			so.On("echo", func(a Args, ack Ack) { ack(a.Values()...) })
			so.OnDisconnect(func(reason string) { reasons <- reason })
		})
	})
	reason := func() string {
		select {
		case r := <-reasons:
			return r
		case <-time.After(5 * time.Second):
			t.Fatal("no disconnect")
			return ""
		}
	}
	good, _, err := dialWS(t, hs, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	good.connect("")

	// A ping is answered with a pong carrying its payload.
	pongs := make(chan string, 1)
	good.c.SetPongHandler(func(s string) error { pongs <- s; return nil })
	if err := good.c.WriteControl(websocket.PingMessage, []byte("hb-1"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	good.send(`421["echo","after ping"]`)
	if got := good.read(); got != `431["after ping"]` {
		t.Fatalf("echo: %q", got)
	}
	select {
	case p := <-pongs:
		if p != "hb-1" {
			t.Fatalf("pong %q", p)
		}
	case <-time.After(time.Second):
		t.Fatal("no pong")
	}

	// A message near the limit, sent in fragments, comes back whole (and
	// goes out in one frame larger than 64 KB).
	long := strings.Repeat("é", 40_000) // 80,000 bytes of UTF-8
	w, err := good.c.NextWriter(websocket.TextMessage)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte(`422["echo","` + long + `"]`)
	for len(msg) > 0 { // gorilla's writer flushes a frame per buffer
		n := min(len(msg), 3000)
		w.Write(msg[:n])
		msg = msg[n:]
	}
	w.Close()
	if got := good.read(); got != `432["`+long+`"]` {
		t.Fatalf("long echo: %d bytes", len(got))
	}

	// The peer's close is echoed with its code: "transport close".
	c1, _, _ := dialWS(t, hs, "", nil)
	c1.connect("")
	c1.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4001, "bye"), time.Now().Add(time.Second))
	if code := closeCode(t, c1.c); code != 4001 {
		t.Fatalf("echoed close code %d, want 4001", code)
	}
	if r := reason(); r != "transport close" {
		t.Fatalf("reason after a close: %q", r)
	}

	// Protocol violations and oversized messages: closed with their code,
	// "transport error".
	for _, tc := range []struct {
		name  string
		frame []byte
		code  int
	}{
		{"unmasked frame", []byte{0x81, 0x02, '4', '2'}, websocket.CloseProtocolError},
		{"reserved opcode", []byte{0x83, 0x80, 0, 0, 0, 0}, websocket.CloseProtocolError},
		{"invalid UTF-8", []byte{0x81, 0x82, 0, 0, 0, 0, '4', 0xff}, websocket.CloseInvalidFramePayloadData},
		{"over the limit", append([]byte{0x82, 0xff}, 0, 0, 0, 0, 0, 0x01, 0x86, 0xa1), websocket.CloseMessageTooBig},
	} {
		c, _, _ := dialWS(t, hs, "", nil)
		c.connect("")
		c.c.NetConn().Write(tc.frame)
		if code := closeCode(t, c.c); code != tc.code {
			t.Fatalf("%s: close code %d, want %d", tc.name, code, tc.code)
		}
		if r := reason(); r != "transport error" {
			t.Fatalf("%s: reason %q", tc.name, r)
		}
	}

	// A dropped TCP connection: "transport close".
	c2, _, _ := dialWS(t, hs, "", nil)
	c2.connect("")
	c2.c.NetConn().(*net.TCPConn).SetLinger(0)
	c2.c.NetConn().Close()
	if r := reason(); r != "transport close" {
		t.Fatalf("reason after a drop: %q", r)
	}

	good.send(`423["echo","still here"]`)
	if got := good.read(); got != `433["still here"]` {
		t.Fatalf("echo at the end: %q", got)
	}
}

// closeCode reads until the server's close frame and returns its code.
func closeCode(t *testing.T, c *websocket.Conn) int {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		t.Fatalf("no close frame: %v", err)
		return 0
	}
}

// TestFrameEncoding checks appendFrame's three length forms against
// gorilla's client reader.
func TestFrameEncoding(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 65535, 65536, 200_000}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		up := websocket.Upgrader{}
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		var b []byte
		for _, n := range sizes {
			b = appendFrame(b, 0x2, bytes.Repeat([]byte{byte(n)}, n))
		}
		c.NetConn().Write(b)
		c.ReadMessage() // until the client goes
	}))
	defer hs.Close()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for _, n := range sizes {
		typ, got, err := c.ReadMessage()
		if err != nil || typ != websocket.BinaryMessage || !bytes.Equal(got, bytes.Repeat([]byte{byte(n)}, n)) {
			t.Fatalf("len %d: type %d, %d bytes, %v", n, typ, len(got), err)
		}
	}
}

// TestDirectWriteAfterWriter: a frame too large for the socket buffer goes
// partly through the writer goroutine, which sets a write deadline; once it
// is done, later frames are written directly again — also after that
// deadline would have passed (a deadline left behind would fail them).
func TestDirectWriteAfterWriter(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	// the big frame must get through within writeTTL even on a loaded
	// machine under -race (50 ms did not, once, in CI)
	c := &wsConn{id: 1, wg: &wg, writeTTL: 500 * time.Millisecond}
	if !c.attach(server) {
		t.Fatal("attach")
	}
	read := func(n int) []byte {
		b := make([]byte, n)
		client.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(client, b); err != nil {
			t.Fatalf("read %d bytes: %v", n, err)
		}
		return b
	}
	big := appendFrame(nil, 0x2, bytes.Repeat([]byte{7}, 8<<20))
	if !c.enqueue(big, true, false, 10) {
		t.Fatal("enqueue big")
	}
	if got := read(len(big)); !bytes.Equal(got, big) {
		t.Fatal("big frame garbled")
	}
	time.Sleep(600 * time.Millisecond) // past the writer's deadline
	for i := 0; i < 3; i++ {
		small := appendFrame(nil, 0x1, []byte("42[\"tick\"]"))
		if !c.enqueue(small, false, false, 10) {
			t.Fatal("enqueue small")
		}
		if got := read(len(small)); !bytes.Equal(got, small) {
			t.Fatalf("small frame %d: %q", i, got)
		}
	}
	c.closeAfterWrites()
	if got := read(4); !bytes.Equal(got, []byte{0x88, 2, 0x03, 0xe8}) {
		t.Fatalf("close frame %x", got)
	}
	wg.Wait()
	if c.raw == nil && runtime.GOOS == "linux" {
		t.Fatal("no direct writes on Linux")
	}
}
