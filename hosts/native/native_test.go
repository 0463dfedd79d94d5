package native

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/internal/leaktest"
)

func TestMain(m *testing.M) { leaktest.Main(m) }

// newTestServer starts srv on a loopback httptest server, closed with the test.
func newTestServer(t *testing.T, opts Options, setup func(*Server)) (*Server, *httptest.Server) {
	t.Helper()
	if opts.Seed == ([32]byte{}) {
		opts.Seed[0] = 1
	}
	srv := NewServer(opts)
	if setup != nil {
		setup(srv)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
		srv.Close()
		http.DefaultClient.CloseIdleConnections()
	})
	return srv, hs
}

func get(t *testing.T, url string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// wsClient is a raw Engine.IO/Socket.IO client over WebSocket.
type wsClient struct {
	t *testing.T
	c *websocket.Conn
}

func dialWS(t *testing.T, hs *httptest.Server, query string, hdr http.Header) (*wsClient, *http.Response, error) {
	t.Helper()
	u := "ws" + strings.TrimPrefix(hs.URL, "http") + "/socket.io/?EIO=4&transport=websocket" + query
	c, res, err := websocket.DefaultDialer.Dial(u, hdr)
	if err != nil {
		return nil, res, err
	}
	t.Cleanup(func() { c.Close() })
	return &wsClient{t: t, c: c}, res, nil
}

func (w *wsClient) read() string {
	w.t.Helper()
	for {
		w.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, b, err := w.c.ReadMessage()
		if err != nil {
			w.t.Fatalf("read: %v", err)
		}
		if string(b) == "2" { // answer pings and keep reading
			w.send("3")
			continue
		}
		return string(b)
	}
}

func (w *wsClient) send(s string) {
	w.t.Helper()
	if err := w.c.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		w.t.Fatalf("write: %v", err)
	}
}

// connect opens the session and joins "/" with auth; it returns the socket id.
func (w *wsClient) connect(auth string) string {
	w.t.Helper()
	if open := w.read(); !strings.HasPrefix(open, `0{"sid":`) {
		w.t.Fatalf("open packet: %q", open)
	}
	w.send("40" + auth)
	reply := w.read()
	var p struct{ Sid string }
	if !strings.HasPrefix(reply, "40") || json.Unmarshal([]byte(reply[2:]), &p) != nil || p.Sid == "" {
		w.t.Fatalf("connect reply: %q", reply)
	}
	return p.Sid
}

func (w *wsClient) expectClosed() {
	w.t.Helper()
	w.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, b, err := w.c.ReadMessage()
		if err != nil {
			if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
				w.t.Fatal("connection not closed by the server")
			}
			return
		}
		if string(b) == "2" {
			continue
		}
	}
}

func TestHTTPErrors(t *testing.T) {
	_, hs := newTestServer(t, Options{}, nil)
	cases := []struct {
		query, method string
		status        int
		body          string
	}{
		{"EIO=4&transport=abc", "GET", 400, `{"code":0,"message":"Transport unknown"}`},
		{"EIO=4", "GET", 400, `{"code":0,"message":"Transport unknown"}`},
		{"EIO=4&transport=polling&sid=nope", "GET", 400, `{"code":1,"message":"Session ID unknown"}`},
		{"EIO=4&transport=polling", "POST", 400, `{"code":2,"message":"Bad handshake method"}`},
		{"EIO=4&transport=websocket", "GET", 400, `{"code":3,"message":"Bad request"}`},
		{"EIO=5&transport=polling", "GET", 400, `{"code":5,"message":"Unsupported protocol version"}`},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, hs.URL+"/socket.io/?"+c.query, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.status || string(b) != c.body || res.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s ?%s: got %d %q (%s), want %d %q", c.method, c.query, res.StatusCode, b, res.Header.Get("Content-Type"), c.status, c.body)
		}
	}
}

func TestCORSAndOriginGuard(t *testing.T) {
	_, hs := newTestServer(t, Options{CORS: &CORS{Origins: []string{"https://good.example"}, Credentials: true}}, nil)
	res, _ := get(t, hs.URL+"/socket.io/?EIO=4&transport=polling", map[string]string{"Origin": "https://good.example"})
	if res.StatusCode != 200 || res.Header.Get("Access-Control-Allow-Origin") != "https://good.example" || res.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("allowed origin: %d %v", res.StatusCode, res.Header)
	}
	res, body := get(t, hs.URL+"/socket.io/?EIO=4&transport=polling", map[string]string{"Origin": "https://evil.example"})
	if res.StatusCode != 403 || body != `{"code":4,"message":"Forbidden"}` {
		t.Fatalf("refused origin over polling: %d %q", res.StatusCode, body)
	}
	// The same allow-list guards the WebSocket upgrade.
	_, wres, err := dialWS(t, hs, "", http.Header{"Origin": {"https://evil.example"}})
	if err == nil || wres == nil || wres.StatusCode != 403 {
		t.Fatalf("refused origin over WebSocket: err=%v res=%v", err, wres)
	}
	w, _, err := dialWS(t, hs, "", http.Header{"Origin": {"https://good.example"}})
	if err != nil {
		t.Fatalf("allowed origin over WebSocket: %v", err)
	}
	w.connect("")
	// No Origin (a non-browser client) is let through.
	if res, _ := get(t, hs.URL+"/socket.io/?EIO=4&transport=polling", nil); res.StatusCode != 200 {
		t.Fatalf("no origin: %d", res.StatusCode)
	}
	// Nor does the policy refuse the server's own pages (same origin).
	if res, _ := get(t, hs.URL+"/socket.io/?EIO=4&transport=polling", map[string]string{"Origin": hs.URL}); res.StatusCode != 200 || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("same origin: %d %v", res.StatusCode, res.Header)
	}
	if w, _, err := dialWS(t, hs, "", http.Header{"Origin": {hs.URL}}); err != nil {
		t.Fatalf("same origin over WebSocket: %v", err)
	} else {
		w.connect("")
	}
	// Preflight
	req, _ := http.NewRequest("OPTIONS", hs.URL+"/socket.io/?EIO=4&transport=polling", nil)
	req.Header.Set("Origin", "https://good.example")
	req.Header.Set("Access-Control-Request-Headers", "content-type")
	pre, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	pre.Body.Close()
	if pre.StatusCode != 204 || pre.Header.Get("Access-Control-Allow-Headers") != "content-type" || !strings.Contains(pre.Header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Fatalf("preflight: %d %v", pre.StatusCode, pre.Header)
	}
}

func TestAllowRequest(t *testing.T) {
	_, hs := newTestServer(t, Options{AllowRequest: func(r *http.Request) error {
		if r.URL.Query().Get("token") != "ok" {
			return &ConnectError{Message: "no token"}
		}
		return nil
	}}, nil)
	res, body := get(t, hs.URL+"/socket.io/?EIO=4&transport=polling", nil)
	if res.StatusCode != 403 || body != `{"code":4,"message":"no token"}` {
		t.Fatalf("refused: %d %q", res.StatusCode, body)
	}
	if res, _ := get(t, hs.URL+"/socket.io/?EIO=4&transport=polling&token=ok", nil); res.StatusCode != 200 {
		t.Fatalf("allowed: %d", res.StatusCode)
	}
}

func TestLimitsAndBadInputLeaveOthersServed(t *testing.T) {
	srv, hs := newTestServer(t, Options{MaxHTTPBufferSize: 1000}, func(s *Server) {
		s.OnConnection(func(so *Socket) {
			so.On("echo", func(a Args, ack Ack) { ack(a.Values()...) })
		})
	})
	good, _, err := dialWS(t, hs, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	good.connect("")

	// A polling POST over the limit: 413, the session closes.
	res, open := get(t, hs.URL+"/socket.io/?EIO=4&transport=polling", nil)
	var hsk struct{ Sid string }
	json.Unmarshal([]byte(open[1:]), &hsk)
	if res.StatusCode != 200 || hsk.Sid == "" {
		t.Fatalf("handshake: %d %q", res.StatusCode, open)
	}
	big := bytes.Repeat([]byte("x"), 2000)
	pres, err := http.Post(hs.URL+"/socket.io/?EIO=4&transport=polling&sid="+hsk.Sid, "text/plain", bytes.NewReader(append([]byte("4"), big...)))
	if err != nil {
		t.Fatal(err)
	}
	pres.Body.Close()
	if pres.StatusCode != 413 {
		t.Fatalf("oversized POST: %d", pres.StatusCode)
	}
	if res, _ := get(t, hs.URL+"/socket.io/?EIO=4&transport=polling&sid="+hsk.Sid, nil); res.StatusCode != 400 {
		t.Fatalf("session after 413: %d, want 400", res.StatusCode)
	}

	// A WebSocket message over the limit closes that connection.
	big1, _, _ := dialWS(t, hs, "", nil)
	big1.connect("")
	big1.send("42" + string(big))
	big1.expectClosed()

	// Malformed packets close their connection.
	for _, junk := range []string{"abc", "4abc", `42{}`, `42abc["x"]`, "40", `4299999999999999999["echo"]`} {
		w, _, _ := dialWS(t, hs, "", nil)
		w.connect("")
		w.send(junk)
		w.expectClosed()
	}

	// The well-behaved client was never disturbed.
	good.send(`421["echo","still here"]`)
	if got := good.read(); got != `431["still here"]` {
		t.Fatalf("echo after the bad clients: %q", got)
	}
	// Nothing of the bad clients is left in the core.
	want := core.Stats{Sessions: 1, Sockets: 1, Namespaces: 1}
	if st := srv.Stats(); st != want {
		t.Fatalf("core after the bad clients: %+v, want %+v", st, want)
	}
}

func TestHandshakeDataAndMiddleware(t *testing.T) {
	type seen struct {
		auth  string
		query string
		ua    string
		addr  string
	}
	ch := make(chan seen, 1)
	_, hs := newTestServer(t, Options{}, func(s *Server) {
		s.Use(func(so *Socket) error {
			h := so.Handshake()
			ch <- seen{string(h.Auth), h.Query.Get("room"), h.Headers.Get("User-Agent"), h.Address}
			if string(h.Auth) == `{"deny":true}` {
				return &ConnectError{Message: "denied", Data: map[string]any{"why": "<because>"}}
			}
			return nil
		})
	})
	w, _, err := dialWS(t, hs, "&room=blue", http.Header{"User-Agent": {"test-agent"}})
	if err != nil {
		t.Fatal(err)
	}
	w.connect(`{"token":"t"}`)
	got := <-ch
	if got != (seen{`{"token":"t"}`, "blue", "test-agent", "127.0.0.1"}) {
		t.Fatalf("handshake seen by middleware: %+v", got)
	}
	w.send(`40/nope,`)
	if r := w.read(); r != `44/nope,{"message":"Invalid namespace"}` {
		t.Fatalf("unknown namespace: %q", r)
	}
	w2, _, _ := dialWS(t, hs, "", nil)
	w2.read()
	w2.send(`40{"deny":true}`)
	<-ch
	if r := w2.read(); r != `44{"message":"denied","data":{"why":"<because>"}}` {
		t.Fatalf("middleware refusal: %q", r)
	}
}

func TestEmitWithAckTimeoutAndDisconnect(t *testing.T) {
	results := make(chan error, 2)
	_, hs := newTestServer(t, Options{}, func(s *Server) {
		s.OnConnection(func(so *Socket) {
			so.On("go", func() {
				_, err := so.Timeout(50*time.Millisecond).EmitWithAck(context.Background(), "question")
				results <- err
				_, err = so.EmitWithAck(context.Background(), "question") // no timeout: ends at disconnect
				results <- err
			})
		})
	})
	w, _, _ := dialWS(t, hs, "", nil)
	w.connect("")
	w.send(`42["go"]`)
	if r := w.read(); r != `420["question"]` {
		t.Fatalf("question: %q", r)
	}
	if err := <-results; err != ErrAckTimeout || err.Error() != "operation has timed out" {
		t.Fatalf("timeout: %v", err)
	}
	if r := w.read(); r != `421["question"]` {
		t.Fatalf("second question: %q", r)
	}
	w.send("41")
	if err := <-results; err != ErrClosed {
		t.Fatalf("after disconnect: %v", err)
	}
}

func TestClientBundleServed(t *testing.T) {
	f := filepath.Join(t.TempDir(), "client.js")
	os.WriteFile(f, []byte("// client"), 0o600)
	_, hs := newTestServer(t, Options{ClientJS: f}, nil)
	res, body := get(t, hs.URL+"/socket.io/socket.io.js", nil)
	if res.StatusCode != 200 || body != "// client" || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/javascript") {
		t.Fatalf("bundle: %d %q %s", res.StatusCode, body, res.Header.Get("Content-Type"))
	}
}

func TestEncodeDecodeArgs(t *testing.T) {
	data, atts, err := encodeArgs("ev", []any{
		[]byte{1, 2}, map[string]any{"b": []byte{3}, "s": "<&>"}, []any{1, []byte{}}, json.RawMessage(`{"raw":true}`), struct{ N int }{7},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `["ev",{"_placeholder":true,"num":0},{"b":{"_placeholder":true,"num":1},"s":"<&>"},[1,{"_placeholder":true,"num":2}],{"raw":true},{"N":7}]`
	if string(data) != want || len(atts) != 3 || !bytes.Equal(atts[0], []byte{1, 2}) || !bytes.Equal(atts[1], []byte{3}) || len(atts[2]) != 0 {
		t.Fatalf("encode:\n got %s %v\nwant %s", data, atts, want)
	}
	raw, err := splitArgs(data, 1)
	if err != nil {
		t.Fatal(err)
	}
	a := Args{Raw: raw, Attachments: atts}
	var (
		b1 []byte
		m  map[string]any
		st struct {
			B []byte `json:"b"`
			S string `json:"s"`
		}
	)
	if err := a.Decode(&b1, &m); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1, []byte{1, 2}) || !bytes.Equal(m["b"].([]byte), []byte{3}) {
		t.Fatalf("decode generic: %v %v", b1, m)
	}
	if err := decodeArg(raw[1], atts, &st); err != nil || !bytes.Equal(st.B, []byte{3}) || st.S != "<&>" {
		t.Fatalf("decode typed: %+v %v", st, err)
	}
	// Values re-encode to the same wire form.
	again, atts2, _ := encodeArgs("ev", a.Values())
	if string(again) != want || len(atts2) != 3 {
		t.Fatalf("round trip: %s", again)
	}
}

func TestTypedHandlers(t *testing.T) {
	type msg struct {
		Text string `json:"text"`
	}
	got := make(chan string, 4)
	h, err := makeHandler(func(m msg, n int, b []byte, ack Ack) {
		got <- m.Text
		ack(n+1, len(b))
	})
	if err != nil {
		t.Fatal(err)
	}
	data, atts, _ := encodeArgs("", []any{map[string]any{"text": "hi"}, 41, []byte{9, 9}})
	raw, _ := splitArgs(data, 0)
	var acked []any
	h(Args{Raw: raw, Attachments: atts}, func(args ...any) error { acked = args; return nil })
	if <-got != "hi" || len(acked) != 2 || acked[0] != 42 || acked[1] != 2 {
		t.Fatalf("typed handler: acked %v", acked)
	}
	v, _ := makeHandler(func(first string, rest ...any) { got <- first + ":" + strings.Repeat("x", len(rest)) })
	data, _, _ = encodeArgs("", []any{"a", 1, 2, 3})
	raw, _ = splitArgs(data, 0)
	v(Args{Raw: raw}, nil)
	if r := <-got; r != "a:xxx" {
		t.Fatalf("variadic handler: %q", r)
	}
	if _, err := makeHandler(42); err == nil {
		t.Fatal("a non-func handler must be refused")
	}
}

// A client that outruns its socket's handlers by more than the mailbox
// holds is disconnected instead of growing the server's memory.
func TestSlowHandlerFloodDisconnects(t *testing.T) {
	release := make(chan struct{})
	srv, hs := newTestServer(t, Options{}, func(s *Server) {
		s.OnConnection(func(so *Socket) {
			so.On("work", func() { <-release })
		})
	})
	defer close(release)
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
	if st := srv.Stats(); st.Sessions != 0 || st.Sockets != 0 {
		t.Fatalf("after the flood: %+v", st)
	}
}

func TestStartReportsMachineError(t *testing.T) {
	boom := errors.New("core.wasm: bad module")
	_, err := Start(Options{Machine: func(core.Config) (Machine, error) { return nil, boom }})
	if !errors.Is(err, boom) {
		t.Fatalf("Start = %v, want the machine's error", err)
	}
	// A custom factory handing back the native core works like the default.
	srv, err := Start(Options{Machine: func(c core.Config) (Machine, error) { return core.NewServer(c), nil }})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer func() { hs.Close(); srv.Close() }()
	res, body := get(t, hs.URL+"/socket.io/?EIO=4&transport=polling", nil)
	if res.StatusCode != 200 || !strings.HasPrefix(body, `0{"sid":`) {
		t.Fatalf("handshake through a custom machine: %d %q", res.StatusCode, body)
	}
}
