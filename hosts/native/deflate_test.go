package native

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

func TestAcceptDeflate(t *testing.T) {
	for _, c := range []struct {
		headers []string
		want    bool
	}{
		{nil, false},
		{[]string{""}, false},
		{[]string{"permessage-deflate"}, true},
		{[]string{"permessage-deflate; client_max_window_bits"}, true}, // Node's ws client
		{[]string{"permessage-deflate; client_max_window_bits=10"}, true},
		{[]string{`permessage-deflate; client_max_window_bits="12"`}, true},
		{[]string{"permessage-deflate;server_no_context_takeover;client_no_context_takeover"}, true}, // gorilla's client
		{[]string{"permessage-deflate; client_max_window_bits=7"}, false},
		{[]string{"permessage-deflate; client_max_window_bits=16"}, false},
		{[]string{"permessage-deflate; client_max_window_bits="}, false},
		{[]string{"permessage-deflate; server_max_window_bits=10"}, false},
		{[]string{"permessage-deflate; server_max_window_bits=15"}, false},
		{[]string{"permessage-deflate; server_no_context_takeover=1"}, false},
		{[]string{"permessage-deflate; client_no_context_takeover; client_no_context_takeover"}, false},
		{[]string{"permessage-deflate; foo"}, false},
		{[]string{"x-webkit-deflate-frame"}, false},
		{[]string{"Permessage-Deflate"}, false}, // gorilla matches the name exactly
		// several offers, the first refused: the next one is taken
		{[]string{"permessage-deflate; server_max_window_bits=10, permessage-deflate; client_max_window_bits"}, true},
		{[]string{"foo, permessage-deflate"}, true},
		{[]string{"foo; a=1", "permessage-deflate"}, true},
		// a syntax error ends the header value, as in gorilla's parser
		{[]string{"foo bar, permessage-deflate"}, false},
		{[]string{`foo; a="x, permessage-deflate`}, false},
		{[]string{"permessage-deflate; server_max_window_bits=10, permessage-deflate; client_max_window_bits=20"}, false},
	} {
		h := http.Header{}
		for _, v := range c.headers {
			h.Add("Sec-WebSocket-Extensions", v)
		}
		if got := acceptDeflate(h); got != c.want {
			t.Errorf("%q: %v, want %v", c.headers, got, c.want)
		}
	}
}

// serverFrames splits server frames (unmasked): first byte and payload.
func serverFrames(t *testing.T, b []byte) (heads []byte, payloads [][]byte) {
	t.Helper()
	for len(b) > 0 {
		if len(b) < 2 {
			t.Fatalf("truncated frame %q", b)
		}
		n, hdr := int(b[1]&0x7f), 2
		switch n {
		case 126:
			n, hdr = int(binary.BigEndian.Uint16(b[2:])), 4
		case 127:
			n, hdr = int(binary.BigEndian.Uint64(b[2:])), 10
		}
		heads = append(heads, b[0])
		payloads = append(payloads, b[hdr:hdr+n])
		b = b[hdr+n:]
	}
	return heads, payloads
}

func inflateStd(t *testing.T, p []byte) []byte {
	t.Helper()
	out, err := io.ReadAll(flate.NewReader(io.MultiReader(bytes.NewReader(p), bytes.NewReader(deflateTail[:]))))
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatal(err)
	}
	return out
}

// TestDeflateFrames: messages at the threshold and over are compressed
// (RSV1, the sync flush's tail removed) and inflate with compress/flate
// alone, each on its own (no context taken over); smaller ones and other
// frames go as they are.
func TestDeflateFrames(t *testing.T) {
	cfg := newWSDeflate(&Deflate{Threshold: 64})
	var z deflater
	long := strings.Repeat("the same words again and again, ", 40)
	var b []byte
	for i := 0; i < 3; i++ {
		b = z.appendFrames(b, []wire.Frame{
			{Data: []byte(long)},
			{Data: []byte("short")},
			{Data: bytes.Repeat([]byte{byte(i), 1, 2, 3}, 16), Binary: true}, // exactly 64
		}, cfg)
	}
	heads, payloads := serverFrames(t, b)
	if len(heads) != 9 || z.messages != 6 {
		t.Fatalf("%d frames, %d compressed", len(heads), z.messages)
	}
	for i := 0; i < 3; i++ {
		h, p := heads[3*i:], payloads[3*i:]
		if h[0] != 0x80|rsv1|0x1 || h[1] != 0x81 || h[2] != 0x80|rsv1|0x2 {
			t.Fatalf("frame heads % x", h[:3])
		}
		if bytes.HasSuffix(p[0], deflateTail[:]) || len(p[0]) >= len(long)/4 {
			t.Fatalf("compressed to %d bytes (tail kept?)", len(p[0]))
		}
		if got := inflateStd(t, p[0]); string(got) != long {
			t.Fatalf("inflated %q", got)
		}
		if string(p[1]) != "short" {
			t.Fatalf("short frame %q", p[1])
		}
		if got := inflateStd(t, p[2]); !bytes.Equal(got, bytes.Repeat([]byte{byte(i), 1, 2, 3}, 16)) {
			t.Fatalf("binary inflated %v", got)
		}
	}
	// Negative threshold: every message, the empty one too.
	all := newWSDeflate(&Deflate{Threshold: -1})
	heads, payloads = serverFrames(t, z.appendFrames(nil, []wire.Frame{{Data: nil}, {Data: []byte("a")}}, all))
	if heads[0]&rsv1 == 0 || heads[1]&rsv1 == 0 || len(inflateStd(t, payloads[0])) != 0 || string(inflateStd(t, payloads[1])) != "a" {
		t.Fatalf("threshold -1: % x %q", heads, payloads)
	}
	if d := newWSDeflate(&Deflate{}); d.threshold != 1024 || d.level != flate.DefaultCompression {
		t.Fatalf("defaults %+v", d)
	}
}

// compressedClientFrames compresses msg as a client would (tail removed)
// and splits it into n masked frames, RSV1 on the first.
func compressedClientFrames(rng *rand.Rand, op byte, msg []byte, n int) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestSpeed)
	w.Write(msg)
	w.Flush()
	p := bytes.TrimSuffix(buf.Bytes(), deflateTail[:])
	var out []byte
	for i := 0; i < n; i++ {
		part := p[i*len(p)/n : (i+1)*len(p)/n]
		o := byte(0x0)
		if i == 0 {
			o = rsv1 | op
		}
		out = append(out, clientFrame(rng, i == n-1, o, part)...)
	}
	return out
}

func TestFrameReaderInflate(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	pool := &inflaters{}
	text := strings.Repeat("héllo wörld ", 500)
	var stream []byte
	stream = append(stream, compressedClientFrames(rng, 0x1, []byte(text), 1)...)
	stream = append(stream, clientFrame(rng, true, 0x1, []byte("plain"))...)
	stream = append(stream, compressedClientFrames(rng, 0x2, []byte(text), 3)...)
	stream = append(stream, clientFrame(rng, true, 0x9, []byte("p"))...)
	stream = append(stream, compressedClientFrames(rng, 0x1, []byte("tiny"), 1)...)
	for i := 0; i < 20; i++ {
		r := &frameReader{limit: len(text), inflate: pool}
		sink := &recordSink{}
		if err := feedChunks(rng, r, sink, stream); err != nil {
			t.Fatal(err)
		}
		want := []string{
			fmt.Sprintf("msg bin=false %q", text), `msg bin=false "plain"`, fmt.Sprintf("msg bin=true %q", text),
			`ping "p"`, `msg bin=false "tiny"`,
		}
		if strings.Join(sink.events, "\n") != strings.Join(want, "\n") {
			t.Fatalf("events %.300q", sink.events)
		}
	}

	for name, c := range map[string]struct {
		stream  []byte
		inflate bool
		code    int
	}{
		"RSV1 not negotiated":    {compressedClientFrames(rng, 0x1, []byte("abc"), 1), false, closeProtocolError},
		"RSV1 on continuation":   {append(clientFrame(rng, false, 0x1, []byte("a")), clientFrame(rng, true, rsv1, []byte("b"))...), true, closeProtocolError},
		"RSV1 on ping":           {clientFrame(rng, true, rsv1|0x9, nil), true, closeProtocolError},
		"RSV2":                   {clientFrame(rng, true, 0x20|0x1, []byte("a")), true, closeProtocolError},
		"not deflate":            {clientFrame(rng, true, rsv1|0x1, []byte{0xff, 0xff, 0xff}), true, closeInvalidData},
		"invalid UTF-8 inflated": {compressedClientFrames(rng, 0x1, []byte{0xff, 0xfe}, 1), true, closeInvalidData},
		"inflates past limit":    {compressedClientFrames(rng, 0x1, bytes.Repeat([]byte("a"), 10_001), 1), true, closeTooBig},
	} {
		r := &frameReader{limit: 10_000}
		if c.inflate {
			r.inflate = pool
		}
		err := feedChunks(rng, r, &recordSink{}, c.stream)
		var fe *frameError
		if !errors.As(err, &fe) || fe.Code != c.code {
			t.Errorf("%s: %v, want close %d", name, err, c.code)
		}
	}
	// exactly the limit is accepted
	r := &frameReader{limit: 10_000, inflate: pool}
	sink := &recordSink{}
	if err := feedChunks(rng, r, sink, compressedClientFrames(rng, 0x2, bytes.Repeat([]byte("a"), 10_000), 1)); err != nil || len(sink.events) != 1 {
		t.Fatalf("%v %d", err, len(sink.events))
	}
}

// TestInflateBomb: a 1 KB message that inflates to 50 MB is refused with
// 1009 (Node's ws: "Max payload size exceeded") once it passes the limit,
// having allocated no more than the limit (and the inflater's state).
func TestInflateBomb(t *testing.T) {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	zeros := make([]byte, 1<<20)
	for i := 0; i < 50; i++ {
		w.Write(zeros)
	}
	w.Flush()
	bomb := bytes.TrimSuffix(buf.Bytes(), deflateTail[:])
	if len(bomb) > 100_000 {
		t.Fatalf("bomb of %d bytes", len(bomb))
	}
	const limit = 1_000_000
	pool := &inflaters{}
	pool.inflate([]byte{0x03, 0x00}, limit) // the pooled inflater exists
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := pool.inflate(bomb, limit)
	runtime.ReadMemStats(&after)
	if err != errInflatedTooBig {
		t.Fatalf("bomb: %v", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > limit+64<<10 {
		t.Fatalf("inflating the bomb allocated %d bytes (limit %d)", n, limit)
	}
}

// deflateDialer offers permessage-deflate (gorilla's client: no context
// takeover either way) and counts the bytes the server sends.
func deflateDialer(compress bool, counted *countingConn) *websocket.Dialer {
	return &websocket.Dialer{
		EnableCompression: compress,
		HandshakeTimeout:  5 * time.Second,
		NetDial: func(network, addr string) (net.Conn, error) {
			c, err := net.Dial(network, addr)
			if err != nil {
				return nil, err
			}
			counted.Conn = c
			return counted, nil
		},
	}
}

type countingConn struct {
	net.Conn
	mu      sync.Mutex
	in, out int
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.mu.Lock()
	c.out += n
	c.mu.Unlock()
	return n, err
}

func (c *countingConn) sent() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.in += n
	c.mu.Unlock()
	return n, err
}

func (c *countingConn) received() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.in
}

// TestDeflateWebSocket: with gorilla's client as an independent peer,
// permessage-deflate is negotiated only when the server enables it and the
// client offers it; compressed messages go both ways; a broadcast to a
// client with deflate and one without is compressed once and reaches both;
// Compress(false) sends a message as it is.
func TestDeflateWebSocket(t *testing.T) {
	big := strings.Repeat("a compressible payload, ", 2000) // 48 KB
	srv, hs := newTestServer(t, Options{PerMessageDeflate: &Deflate{Threshold: 100}}, func(s *Server) {
		s.OnConnection(func(so *Socket) {
			so.On("echo", func(a Args) {
				var v string
				a.Decode(&v)
				so.Emit("echo", v)
			})
			so.On("ack", func(v string, ack Ack) { ack(v) })
			so.On("plain", func(a Args) {
				var v string
				a.Decode(&v)
				so.Compress(false).Emit("plain", v)
			})
		})
	})
	u := "ws" + strings.TrimPrefix(hs.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
	dial := func(compress bool) (*wsClient, *countingConn, string) {
		cc := &countingConn{}
		c, res, err := deflateDialer(compress, cc).Dial(u, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.EnableWriteCompression(compress)
		w := &wsClient{t: t, c: c}
		w.connect("")
		return w, cc, res.Header.Get("Sec-WebSocket-Extensions")
	}
	zc, zcount, ext := dial(true)
	if ext != deflateResponse {
		t.Fatalf("negotiated %q", ext)
	}
	zc2, _, _ := dial(true)
	pc, pcount, ext := dial(false)
	if ext != "" {
		t.Fatalf("negotiated %q without an offer", ext)
	}
	compressions := func() (n uint64) {
		srv.d.call(func(clock.Instant) { n = srv.d.z.messages })
		return n
	}

	// large and small messages both ways
	before, sentBefore := zcount.received(), zcount.sent()
	zc.send(`42["echo",` + `"` + big + `"` + `]`) // compressed by gorilla
	if n := zcount.sent() - sentBefore; n > len(big)/10 {
		t.Fatalf("the client sent a %d-byte message in %d bytes", len(big), n)
	}
	if got := zc.read(); got != `42["echo",`+`"`+big+`"`+`]` {
		t.Fatalf("echo: %.100q", got)
	}
	if n := zcount.received() - before; n > len(big)/10 {
		t.Fatalf("a %d-byte message took %d bytes on the wire", len(big), n)
	}
	zc.send(`42["echo","small"]`)
	if got := zc.read(); got != `42["echo","small"]` {
		t.Fatalf("echo: %q", got)
	}
	// an acknowledgement is compressed too (Node's acks carry no compress
	// flag: ws compresses them)
	before = zcount.received()
	zc.send(`427["ack",` + `"` + big + `"` + `]`)
	if got := zc.read(); got != `437[`+`"`+big+`"`+`]` {
		t.Fatalf("ack: %.100q", got)
	}
	if n := zcount.received() - before; n > len(big)/10 {
		t.Fatalf("a %d-byte ack took %d bytes on the wire", len(big), n)
	}
	before = zcount.received()
	zc.send(`42["plain",` + `"` + big + `"` + `]`)
	if got := zc.read(); got != `42["plain",`+`"`+big+`"`+`]` {
		t.Fatalf("plain: %.100q", got)
	}
	if n := zcount.received() - before; n < len(big) {
		t.Fatalf("Compress(false): %d bytes on the wire", n)
	}

	// a broadcast: one compression, both clients served
	n0 := compressions()
	zBefore, pBefore := zcount.received(), pcount.received()
	srv.Emit("all", big)
	want := `42["all",` + `"` + big + `"` + `]`
	if got := zc.read(); got != want {
		t.Fatalf("broadcast (deflate): %.100q", got)
	}
	if got := zc2.read(); got != want {
		t.Fatalf("broadcast (deflate): %.100q", got)
	}
	if got := pc.read(); got != want {
		t.Fatalf("broadcast (plain): %.100q", got)
	}
	if n := compressions() - n0; n != 1 {
		t.Fatalf("a broadcast compressed %d times", n)
	}
	if z, p := zcount.received()-zBefore, pcount.received()-pBefore; z > len(big)/10 || p < len(big) {
		t.Fatalf("broadcast on the wire: %d bytes compressed, %d plain", z, p)
	}

	// a broadcast under the threshold: not compressed
	srv.Emit("all", "small")
	for _, c := range []*wsClient{zc, zc2, pc} {
		if got := c.read(); got != `42["all","small"]` {
			t.Fatalf("small broadcast: %q", got)
		}
	}
	if n := compressions() - n0; n != 1 {
		t.Fatalf("a small broadcast was compressed (%d compressions)", n-1)
	}
}

// TestDeflateOffNotNegotiated: a server without PerMessageDeflate answers
// an offer without the extension, and refuses a compressed frame (1002).
func TestDeflateOffNotNegotiated(t *testing.T) {
	_, hs := newTestServer(t, Options{}, nil)
	u := "ws" + strings.TrimPrefix(hs.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
	c, res, err := deflateDialer(true, &countingConn{}).Dial(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ext := res.Header.Get("Sec-WebSocket-Extensions"); ext != "" {
		t.Fatalf("negotiated %q", ext)
	}
	w := &wsClient{t: t, c: c}
	w.connect("")
	// RSV1 on a raw frame (gorilla would not send one)
	rng := rand.New(rand.NewPCG(1, 2))
	c.UnderlyingConn().Write(compressedClientFrames(rng, 0x1, []byte(`42["x"]`), 1))
	if code := closeCode(t, c); code != closeProtocolError {
		t.Fatalf("close %d", code)
	}
}

// FuzzFrameReaderDeflate: with permessage-deflate negotiated, any bytes in
// any pieces give the same events and verdict as when fed at once, never
// panic, and no message delivered is over the limit.
func FuzzFrameReaderDeflate(f *testing.F) {
	rng := rand.New(rand.NewPCG(1, 1))
	f.Add(compressedClientFrames(rng, 0x1, []byte(`42["x","`+strings.Repeat("y", 100)+`"]`), 1), uint64(1))
	f.Add(compressedClientFrames(rng, 0x2, bytes.Repeat([]byte{7}, 9000), 3), uint64(2))
	f.Add(clientFrame(rng, true, rsv1|0x1, []byte{0x00}), uint64(3))
	f.Add(append(clientFrame(rng, true, 0x1, []byte("a")), compressedClientFrames(rng, 0x1, []byte("b"), 1)...), uint64(4))
	pool := &inflaters{}
	f.Fuzz(func(t *testing.T, stream []byte, seed uint64) {
		whole := &frameReader{limit: 4096, inflate: pool}
		var want recordSink
		wantErr := whole.feed(append([]byte(nil), stream...), &want)

		pieces := &frameReader{limit: 4096, inflate: pool}
		var got limitSink
		gotErr := feedChunks(rand.New(rand.NewPCG(seed, seed)), pieces, &got, stream)
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !reflect.DeepEqual(got.events, want.events) {
			t.Fatalf("in pieces: %v %q\nat once: %v %q", gotErr, got.events, wantErr, want.events)
		}
		if got.longest > 4096 {
			t.Fatalf("a message of %d bytes delivered (limit 4096)", got.longest)
		}
	})
}

type limitSink struct {
	recordSink
	longest int
}

func (s *limitSink) message(bin bool, data []byte) {
	s.longest = max(s.longest, len(data))
	s.recordSink.message(bin, data)
}

// TestInflateHugeLimit: a limit of math.MaxInt ("no limit") inflates
// instead of wrapping limit+1 into a negative length; a small message
// inflated with a large first guess keeps no oversized buffer; and
// Options bound MaxHTTPBufferSize so that no reader sees such a limit.
func TestInflateHugeLimit(t *testing.T) {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.DefaultCompression)
	w.Write([]byte("hello hello hello"))
	w.Flush()
	p := bytes.TrimSuffix(buf.Bytes(), deflateTail[:])
	out, err := (&inflaters{}).inflate(p, math.MaxInt)
	if err != nil || string(out) != "hello hello hello" {
		t.Fatalf("inflate with limit MaxInt: %q %v", out, err)
	}
	if cap(out) > 2*len(out) {
		t.Fatalf("a %d-byte message kept a %d-byte buffer", len(out), cap(out))
	}
	o := Options{MaxHTTPBufferSize: math.MaxInt}
	o.init()
	if o.MaxHTTPBufferSize != math.MaxInt32 {
		t.Fatalf("MaxHTTPBufferSize %d", o.MaxHTTPBufferSize)
	}
}
