// Package compression checks the server's compression with the official
// socket.io-client (npm, pinned in the root package-lock.json): the
// permessage-deflate the client negotiates, its compressed messages both
// ways on the wire (seen by a proxy that parses the WebSocket frames), a
// broadcast to clients with and without deflate, and polling responses
// compressed for a client whose fetch accepts gzip.
package compression

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socketcore/socketcore/hosts/native"
	"github.com/socketcore/socketcore/internal/leaktest"
	"github.com/socketcore/socketcore/internal/nodetest"
)

func TestMain(m *testing.M) { leaktest.Main(m) }

func newServer(opts native.Options) *native.Server {
	opts.Seed[0] = 'Z'
	srv := native.NewServer(opts)
	srv.OnConnection(func(so *native.Socket) {
		so.On("echo", func(v string) { so.Emit("echo", v) })
		so.On("bin", func(b []byte) { so.Emit("bin", b) })
		so.On("broadcast", func(v string) { srv.Emit("all", v) })
	})
	return srv
}

// official runs the client's scenario against url; what it saw is decoded
// into out.
func official(t *testing.T, scenario, url string, out any) {
	t.Helper()
	root := nodetest.RepoRoot(t)
	node := nodetest.Node(t, root, "socket.io-client", "engine.io-client")
	nodetest.RunJSON(t, node, root, "tests/compression/official.mjs", out, scenario, url)
}

func TestOfficialClientPerMessageDeflate(t *testing.T) {
	srv := newServer(native.Options{PerMessageDeflate: &native.Deflate{}})
	hs := httptest.NewServer(srv)
	p := startProxy(t, hs.Listener.Addr().String())
	defer func() {
		p.close()
		hs.CloseClientConnections()
		hs.Close()
		srv.Close()
	}()
	var got struct {
		Extensions struct{ A, Plain string }
		Echoes     struct{ Big, Small bool }
		Alls       []bool
		Binary     bool
	}
	official(t, "websocket", "http://"+p.addr(), &got)
	if got.Extensions.A != "permessage-deflate" || got.Extensions.Plain != "" {
		t.Fatalf("extensions negotiated: %+v", got.Extensions)
	}
	if !got.Echoes.Big || !got.Echoes.Small || len(got.Alls) != 3 || !got.Alls[0] || !got.Alls[1] || !got.Alls[2] || !got.Binary {
		t.Fatalf("official client saw %+v", got)
	}

	conns := p.wait(t, 3)
	deflated := 0
	for _, c := range conns {
		t.Logf("%+v", *c)
		if !c.upgraded {
			t.Fatalf("a connection was not a WebSocket: %+v", *c)
		}
		if c.extensions == "" {
			// no deflate: no RSV1 either way, the broadcast's 30 KB as is
			if c.in.compressed+c.out.compressed != 0 || c.out.bytes < 30_000 {
				t.Fatalf("connection without deflate: %+v", *c)
			}
			continue
		}
		deflated++
		if c.extensions != "permessage-deflate; server_no_context_takeover; client_no_context_takeover" {
			t.Fatalf("extensions answered %q", c.extensions)
		}
		// the client compresses every message (threshold 0), and the server
		// the broadcast at least; the open packet is under the threshold
		if c.in.compressed == 0 || c.in.plain != 0 || c.out.compressed == 0 || c.out.plain == 0 || c.out.bytes > 20_000 {
			t.Fatalf("connection with deflate: %+v", *c)
		}
	}
	if deflated != 2 {
		t.Fatalf("%d connections with deflate", deflated)
	}
}

func TestOfficialClientHTTPCompression(t *testing.T) {
	srv := newServer(native.Options{}) // httpCompression is on by default
	var mu sync.Mutex
	encodings := map[string]int{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv.ServeHTTP(w, r)
		if r.Method == http.MethodGet {
			mu.Lock()
			encodings[w.Header().Get("Content-Encoding")]++
			mu.Unlock()
		}
	}))
	defer func() {
		hs.CloseClientConnections()
		hs.Close()
		srv.Close()
	}()
	var got struct{ Echo bool }
	official(t, "polling", hs.URL, &got)
	if !got.Echo {
		t.Fatalf("official client saw %+v", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if encodings["gzip"] == 0 || encodings[""] == 0 {
		t.Fatalf("polling responses by Content-Encoding: %v", encodings)
	}
}

// proxy forwards loopback TCP connections to the server and parses what
// goes through: the HTTP upgrade, then the WebSocket frames each way.
type proxy struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []*connStats
	done  chan struct{} // a connection's both directions ended
}

type connStats struct {
	upgraded   bool
	extensions string   // the server's Sec-WebSocket-Extensions
	in, out    dirStats // client to server, server to client
}

type dirStats struct {
	compressed, plain int // data messages with RSV1, without
	bytes             int // after the HTTP part
}

func startProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, done: make(chan struct{}, 64)}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			st := &connStats{}
			p.mu.Lock()
			p.conns = append(p.conns, st)
			p.mu.Unlock()
			var both sync.WaitGroup
			both.Add(2)
			p.wg.Add(3)
			go func() { defer p.wg.Done(); p.pipe(c, s, st, true); both.Done() }()
			go func() { defer p.wg.Done(); p.pipe(s, c, st, false); both.Done() }()
			go func() { defer p.wg.Done(); both.Wait(); p.done <- struct{}{} }()
		}
	}()
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) close() {
	p.ln.Close()
	p.wg.Wait()
}

// wait returns the stats of n connections once all have ended.
func (p *proxy) wait(t *testing.T, n int) []*connStats {
	t.Helper()
	for i := 0; i < n; i++ {
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d connections ended", i, n)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.conns) != n {
		t.Fatalf("%d connections, want %d", len(p.conns), n)
	}
	return p.conns
}

// pipe copies src to dst while parsing: the HTTP head, then frames.
func (p *proxy) pipe(src, dst net.Conn, st *connStats, fromClient bool) {
	defer dst.Close()
	pr, pw := io.Pipe()
	go func() {
		io.Copy(dst, io.TeeReader(src, pw))
		pw.Close()
		src.Close()
	}()
	r := bufio.NewReader(pr)
	defer io.Copy(io.Discard, r)
	var head []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		head = append(head, line)
	}
	if !fromClient {
		if len(head) == 0 || !strings.Contains(head[0], " 101 ") {
			return
		}
		p.mu.Lock()
		st.upgraded = true
		for _, h := range head[1:] {
			if k, v, _ := strings.Cut(h, ":"); strings.EqualFold(k, "Sec-WebSocket-Extensions") {
				st.extensions = strings.TrimSpace(v)
			}
		}
		p.mu.Unlock()
	}
	for {
		var hdr [2]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return
		}
		n := uint64(hdr[1] & 0x7f)
		size := 2
		switch n {
		case 126:
			var b [2]byte
			if _, err := io.ReadFull(r, b[:]); err != nil {
				return
			}
			n, size = uint64(binary.BigEndian.Uint16(b[:])), 4
		case 127:
			var b [8]byte
			if _, err := io.ReadFull(r, b[:]); err != nil {
				return
			}
			n, size = binary.BigEndian.Uint64(b[:]), 10
		}
		mask := 0
		if hdr[1]&0x80 != 0 {
			mask = 4
		}
		size += mask
		if _, err := io.CopyN(io.Discard, r, int64(mask)+int64(n)); err != nil {
			return
		}
		p.mu.Lock()
		d := &st.out
		if fromClient {
			d = &st.in
		}
		d.bytes += size + int(n)
		if op := hdr[0] & 0x0f; op == 0x1 || op == 0x2 {
			if hdr[0]&0x40 != 0 {
				d.compressed++
			} else {
				d.plain++
			}
		}
		p.mu.Unlock()
	}
}
