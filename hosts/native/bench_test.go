package native

import (
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/socketcore/socketcore/core/wire"
)

type discardSink struct{ n int }

func (s *discardSink) message(_ bool, data []byte) { s.n += len(data) }
func (*discardSink) ping([]byte)                   {}
func (*discardSink) closeFrame(int, string)        {}

// BenchmarkFrameReader parses reads of 32 masked 100-byte text frames (the
// server's read path after the syscall).
func BenchmarkFrameReader(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	payload := []byte(`42["echo",{"i":12345,"t":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}]`)
	var stream []byte
	for i := 0; i < 32; i++ {
		stream = append(stream, clientFrame(rng, true, 0x1, payload)...)
	}
	buf := make([]byte, len(stream))
	r := &frameReader{limit: 1 << 20}
	var sink discardSink
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		copy(buf, stream)
		if err := r.feed(buf, &sink); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBroadcastWrite is the driver's part of a broadcast to 64
// WebSockets over loopback TCP: the frame encoded once, then written to
// each connection (directly when the socket takes it). ns/op is per
// broadcast; see ns/delivery.
func BenchmarkBroadcastWrite(b *testing.B) {
	const conns = 64
	cs, closeAll := loopbackConns(b, conns, nil)
	frames := []wire.Frame{{Data: []byte(`42["tick",{"seq":1,"ts":1234567890,"t":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}]`)}}
	b.ReportAllocs()
	for b.Loop() {
		frame := appendFrames(make([]byte, 0, framesLen(frames)), frames)
		for _, c := range cs {
			if !c.enqueue(frame, true, false, 1<<20) {
				b.Fatal("queue over limit")
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/conns, "ns/delivery")
	b.StopTimer()
	closeAll()
}

// loopbackConns makes n server-side WebSockets (ids 1..n, deflate as
// given) on loopback TCP whose clients discard what they read; closeAll
// closes them once their writes are done, and waits for the writers and
// readers.
func loopbackConns(b *testing.B, n int, deflate *wsDeflate) (cs []*wsConn, closeAll func()) {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	wg, drain := &sync.WaitGroup{}, &sync.WaitGroup{}
	cs = make([]*wsConn, n)
	for i := range cs {
		client, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		server, err := ln.Accept()
		if err != nil {
			b.Fatal(err)
		}
		drain.Add(1)
		go func() { defer drain.Done(); io.Copy(io.Discard, client); client.Close() }()
		cs[i] = &wsConn{id: wire.ConnID(i + 1), wg: wg, writeTTL: 10e9, deflate: deflate}
		cs[i].attach(server)
	}
	return cs, func() {
		for _, c := range cs {
			c.closeAfterWrites()
		}
		wg.Wait()
		drain.Wait()
	}
}

// BenchmarkEchoRoundTrip is one event with an ack through the whole native
// server (read path, core, handler, write path) from a WebSocket client on
// loopback, one at a time.
func BenchmarkEchoRoundTrip(b *testing.B) {
	srv := NewServer(Options{Seed: [32]byte{1}})
	srv.OnConnection(func(so *Socket) {
		so.On("echo", func(a Args, ack Ack) { ack(a.Values()...) })
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := newBenchHTTP(ln, srv)
	defer func() { hs.Close(); srv.Close() }()
	c, _, err := websocket.DefaultDialer.Dial("ws://"+ln.Addr().String()+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	c.ReadMessage() // open
	c.WriteMessage(websocket.TextMessage, []byte("40"))
	c.ReadMessage() // connect
	b.ReportAllocs()
	id := 0
	for b.Loop() {
		id++
		ids := strconv.Itoa(id)
		c.WriteMessage(websocket.TextMessage, []byte(`42`+ids+`["echo",{"i":1,"t":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}]`))
		for {
			_, m, err := c.ReadMessage()
			if err != nil {
				b.Fatal(err)
			}
			if string(m) == "2" {
				c.WriteMessage(websocket.TextMessage, []byte("3"))
				continue
			}
			if len(m) > 2+len(ids) && string(m[:2+len(ids)]) == "43"+ids {
				break
			}
		}
	}
}

type benchHTTP struct {
	ln net.Listener
	hs *http.Server
}

func newBenchHTTP(ln net.Listener, h http.Handler) *benchHTTP {
	hs := &http.Server{Handler: h}
	go hs.Serve(ln)
	return &benchHTTP{ln, hs}
}

func (b *benchHTTP) Close() { b.hs.Close() }
