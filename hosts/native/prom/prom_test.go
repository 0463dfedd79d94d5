package prom_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/socketcore/socketcore/adapter"
	"github.com/socketcore/socketcore/core/wire"
	"github.com/socketcore/socketcore/hosts/native"
	"github.com/socketcore/socketcore/hosts/native/prom"
	"github.com/socketcore/socketcore/internal/leaktest"
)

func TestMain(m *testing.M) { leaktest.Main(m) }

// traffic is what the scripted clients sent and read, to check the
// server's byte and message counters against.
type traffic struct {
	httpIn, httpOut int // bodies of requests the machine answered, and of its answers
	wsIn, wsOut     int // WebSocket message payloads, seen from the server
	msgsIn, msgsOut int
	t               *testing.T
	base            string
	client          *http.Client
}

// http sends a request; answered says whether the machine answers it (its
// bodies are counted) or the transport refuses it before (AllowRequest).
func (tr *traffic) http(method, query, body string, hdr map[string]string, answered bool) (int, string) {
	tr.t.Helper()
	req, _ := http.NewRequest(method, tr.base+query, strings.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := tr.client.Do(req)
	if err != nil {
		tr.t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if answered {
		tr.httpIn += len(body)
		tr.httpOut += len(b)
	}
	return res.StatusCode, string(b)
}

// ws is a raw WebSocket client whose traffic is counted.
type ws struct {
	tr *traffic
	c  *websocket.Conn
}

func (tr *traffic) dial(hs *httptest.Server, query string) (*ws, error) {
	u := "ws" + strings.TrimPrefix(hs.URL, "http") + "/socket.io/?EIO=4&transport=websocket" + query
	c, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		return nil, err
	}
	tr.t.Cleanup(func() { c.Close() })
	return &ws{tr: tr, c: c}, nil
}

func (w *ws) send(s string) {
	w.tr.t.Helper()
	if err := w.c.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		w.tr.t.Fatalf("write: %v", err)
	}
	w.tr.wsIn += len(s)
	w.tr.msgsIn++
}

func (w *ws) read() string {
	w.tr.t.Helper()
	w.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := w.c.ReadMessage()
	if err != nil {
		w.tr.t.Fatalf("read: %v", err)
	}
	w.tr.wsOut += len(b)
	w.tr.msgsOut++
	return string(b)
}

// expect reads a message that must start with prefix.
func (w *ws) expect(prefix string) string {
	w.tr.t.Helper()
	m := w.read()
	if !strings.HasPrefix(m, prefix) {
		w.tr.t.Fatalf("got %q, want %s...", m, prefix)
	}
	return m
}

// connect opens a WebSocket session and joins "/" with auth; it returns
// the CONNECT reply's payload and the welcome event's offset.
func (w *ws) connect(auth string) (reply map[string]string, offset string) {
	w.tr.t.Helper()
	w.expect(`0{"sid":`)
	w.send("40" + auth)
	json.Unmarshal([]byte(w.expect("40{")[2:]), &reply)
	return reply, welcomeOffset(w.tr.t, w.expect(`42["welcome",`))
}

func welcomeOffset(t *testing.T, packet string) string {
	t.Helper()
	var args []string
	if err := json.Unmarshal([]byte(strings.TrimPrefix(packet, "42")), &args); err != nil || len(args) != 2 {
		t.Fatalf("welcome %q", packet)
	}
	return args[1]
}

// scrape gets /metrics and parses it.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET /metrics: %s", res.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// value is the series name{label="value"} (no label: the series without
// labels); it fails the test when there is no such series.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, label ...string) float64 {
	t.Helper()
	f := fams[name]
	if f == nil {
		t.Fatalf("no metric %s", name)
	}
	for _, m := range f.Metric {
		if len(label) == 0 && len(m.Label) == 0 ||
			len(label) == 2 && len(m.Label) == 1 && m.Label[0].GetName() == label[0] && m.Label[0].GetValue() == label[1] {
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
	}
	t.Fatalf("no series %s%v", name, label)
	return 0
}

// check compares series with what the scenario did; want maps
// `name` or `name{label=value}` to the value.
func check(t *testing.T, fams map[string]*dto.MetricFamily, want map[string]float64) {
	t.Helper()
	for key, v := range want {
		name, label := key, []string(nil)
		if i := strings.IndexByte(key, '{'); i >= 0 {
			name = key[:i]
			kv := strings.SplitN(strings.TrimSuffix(key[i+1:], "}"), "=", 2)
			label = []string{kv[0], kv[1]}
		}
		if got := value(t, fams, name, label...); got != v {
			t.Errorf("%s = %v, want %v", key, got, v)
		}
	}
}

// waitFor polls cond (on the server's snapshot) for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A scripted scenario, then every counter checked exactly: refused
// requests of each kind, a polling session that upgrades, WebSocket
// sessions, events both ways, an acknowledged EmitWithAck and one that
// times out, a broadcast, a volatile packet dropped, disconnects by the
// server, the client and the transport, a recovered socket and a failed
// recovery.
func TestScrapeScenario(t *testing.T) {
	socks := make(chan *native.Socket, 16)
	srv := native.NewServer(native.Options{
		Seed:         [32]byte{'p', 'r', 'o', 'm'},
		PingInterval: time.Minute, // no pings: every message is the script's
		PingTimeout:  time.Minute,
		Recovery:     &native.Recovery{MaxDisconnectionDuration: time.Minute},
		AllowRequest: func(r *http.Request) error {
			if r.Header.Get("X-Deny") != "" {
				return errors.New("denied")
			}
			return nil
		},
	})
	srv.OnConnection(func(so *native.Socket) {
		so.On("ping", func(ack native.Ack) { ack("pong") })
		so.Emit("welcome")
		socks <- so
	})
	chat := srv.Of("/chat")
	chat.OnConnection(func(so *native.Socket) {
		so.Join("lobby")
		socks <- so
	})
	hs := httptest.NewServer(srv)
	ms := httptest.NewServer(prom.Handler(srv))
	defer func() {
		hs.CloseClientConnections()
		hs.Close()
		ms.Close()
		srv.Close()
		http.DefaultClient.CloseIdleConnections()
	}()
	tr := &traffic{t: t, base: hs.URL + "/socket.io/?EIO=4&", client: &http.Client{}}
	defer tr.client.CloseIdleConnections()
	next := func() *native.Socket {
		t.Helper()
		select {
		case so := <-socks:
			return so
		case <-time.After(5 * time.Second):
			t.Fatal("no connection")
			return nil
		}
	}

	// Refused: each answered with its Engine.IO error.
	for _, r := range []struct {
		method, query string
		hdr           map[string]string
		answered      bool
		status        int
	}{
		{"GET", "transport=bogus", nil, true, 400},                                 // code 0
		{"GET", "transport=polling&sid=nope", nil, true, 400},                      // code 1
		{"POST", "transport=polling", nil, true, 400},                              // code 2
		{"GET", "transport=polling", map[string]string{"X-Deny": "1"}, false, 403}, // code 4, by AllowRequest
	} {
		if status, body := tr.http(r.method, r.query, "", r.hdr, r.answered); status != r.status {
			t.Fatalf("%s %s: %d %s", r.method, r.query, status, body)
		}
	}

	// P: polling, joins "/", misses a volatile packet, upgrades.
	_, open := tr.http("GET", "transport=polling", "", nil, true)
	var hsk struct{ Sid string }
	if !strings.HasPrefix(open, "0") || json.Unmarshal([]byte(open[1:]), &hsk) != nil {
		t.Fatalf("handshake %q", open)
	}
	poll := "transport=polling&sid=" + hsk.Sid
	if _, ok := tr.http("POST", poll, "40", nil, true); ok != "ok" {
		t.Fatalf("POST: %q", ok)
	}
	var got []string
	for len(got) < 2 { // the CONNECT reply and the welcome, in one response or two
		_, body := tr.http("GET", poll, "", nil, true)
		got = append(got, strings.Split(body, "\x1e")...)
	}
	if len(got) != 2 || !strings.HasPrefix(got[0], "40{") || !strings.HasPrefix(got[1], `42["welcome",`) {
		t.Fatalf("polling: %q", got)
	}
	p := next()
	p.Volatile().Emit("missed") // no GET parked: dropped
	srv.Stats()                 // (the emit is done)
	pw, err := tr.dial(hs, "&sid="+hsk.Sid)
	if err != nil {
		t.Fatal(err)
	}
	pw.send("2probe")
	pw.expect("3probe")
	pw.send("5")
	pw.send(`421["ping"]`)
	pw.expect(`431["pong"]`)

	// A: WebSocket, joins "/" and "/chat" (room lobby).
	a, err := tr.dial(hs, "")
	if err != nil {
		t.Fatal(err)
	}
	aReply, aOffset := a.connect("")
	as := next()
	a.send("40/chat,")
	a.expect("40/chat,{")
	next()

	// acknowledgements: one answered, one timed out
	acks := make(chan error, 2)
	go func() {
		_, err := as.Timeout(5*time.Second).EmitWithAck(context.Background(), "q1")
		acks <- err
	}()
	a.expect(`420["q1"]`)
	a.send(`430["a1"]`)
	if err := <-acks; err != nil {
		t.Fatalf("q1: %v", err)
	}
	go func() {
		_, err := as.Timeout(50*time.Millisecond).EmitWithAck(context.Background(), "q2")
		acks <- err
	}()
	a.expect(`421["q2"]`)
	if err := <-acks; !errors.Is(err, native.ErrAckTimeout) {
		t.Fatalf("q2: %v", err)
	}
	chat.To("lobby").Emit("news")
	a.expect(`42/chat,["news",`)

	// the gauges, with every client connected
	check(t, scrape(t, ms.URL), map[string]float64{
		"socketcore_sessions{transport=polling}":   0,
		"socketcore_sessions{transport=websocket}": 2,
		"socketcore_namespaces":                    2,
		"socketcore_sockets{namespace=/}":          2,
		"socketcore_sockets{namespace=/chat}":      1,
		"socketcore_rooms{namespace=/}":            0,
		"socketcore_rooms{namespace=/chat}":        1,
	})

	// disconnects: the client leaves /chat, the server disconnects P,
	// A's transport closes; then A's socket recovers, and a recovery
	// with an unknown session gets a fresh socket
	a.send("41/chat,")
	p.Disconnect(false)
	pw.expect("41")
	a.c.Close()
	waitFor(t, "A's disconnection", func() bool { return srv.Metrics().Disconnects[1].Count == 1 })
	r, err := tr.dial(hs, "")
	if err != nil {
		t.Fatal(err)
	}
	rReply, _ := r.connect(fmt.Sprintf(`{"pid":%q,"offset":%q}`, aReply["pid"], aOffset))
	if rReply["sid"] != aReply["sid"] {
		t.Fatalf("not recovered: %v, was %v", rReply, aReply)
	}
	next()
	r2, err := tr.dial(hs, "")
	if err != nil {
		t.Fatal(err)
	}
	if reply, _ := r2.connect(`{"pid":"gone","offset":"0-0"}`); reply["sid"] == "" || reply["sid"] == aReply["sid"] {
		t.Fatalf("fresh socket: %v", reply)
	}
	next()
	pw.c.Close()
	r.c.Close()
	r2.c.Close()
	waitFor(t, "every session closed", func() bool {
		m := srv.Metrics()
		return m.Sessions == (native.ByTransport{}) && m.SessionsClosed[1].Count == 4
	})

	fams := scrape(t, ms.URL)
	check(t, fams, map[string]float64{
		"socketcore_sessions{transport=polling}":                             0,
		"socketcore_sessions{transport=websocket}":                           0,
		"socketcore_sessions_opened_total{transport=polling}":                1,
		"socketcore_sessions_opened_total{transport=websocket}":              3,
		"socketcore_upgrades_total":                                          1,
		"socketcore_sessions_closed_total{reason=transport close}":           4,
		"socketcore_sessions_closed_total{reason=ping timeout}":              0,
		"socketcore_connection_errors_total{reason=Transport unknown}":       1,
		"socketcore_connection_errors_total{reason=Session ID unknown}":      1,
		"socketcore_connection_errors_total{reason=Bad handshake method}":    1,
		"socketcore_connection_errors_total{reason=Bad request}":             0,
		"socketcore_connection_errors_total{reason=Forbidden}":               1,
		"socketcore_connection_errors_total{reason=Server is shutting down}": 0,
		"socketcore_connection_errors_total{reason=other}":                   0,
		"socketcore_sockets_connected_total":                                 5,
		"socketcore_disconnects_total{reason=client namespace disconnect}":   1,
		"socketcore_disconnects_total{reason=server namespace disconnect}":   1,
		"socketcore_disconnects_total{reason=transport close}":               3,
		"socketcore_disconnects_total{reason=ping timeout}":                  0,
		"socketcore_events_received_total":                                   1,
		"socketcore_events_emitted_total":                                    7, // 4 welcomes, missed, q1, q2
		"socketcore_broadcasts_total":                                        1,
		"socketcore_ack_duration_seconds":                                    1,
		"socketcore_ack_timeouts_total":                                      1,
		"socketcore_volatile_dropped_total":                                  1,
		"socketcore_recovery_succeeded_total":                                1,
		"socketcore_recovery_failed_total":                                   1,
		"socketcore_websocket_messages_received_total":                       float64(tr.msgsIn),
		"socketcore_websocket_messages_sent_total":                           float64(tr.msgsOut),
		"socketcore_received_bytes_total{transport=polling}":                 float64(tr.httpIn),
		"socketcore_received_bytes_total{transport=websocket}":               float64(tr.wsIn),
		"socketcore_sent_bytes_total{transport=polling}":                     float64(tr.httpOut),
		"socketcore_sent_bytes_total{transport=websocket}":                   float64(tr.wsOut),
		"socketcore_adapter_published_total":                                 0,
		"socketcore_sockets{namespace=/}":                                    0,
	})
	h := fams["socketcore_ack_duration_seconds"].Metric[0].Histogram
	if h.GetSampleSum() <= 0 || h.GetSampleSum() > 5 || len(h.Bucket) < 13 || h.Bucket[12].GetUpperBound() != 10 || h.Bucket[12].GetCumulativeCount() != 1 {
		t.Errorf("ack histogram: %v", h)
	}
	if fams["go_goroutines"] == nil || fams["process_cpu_seconds_total"] == nil {
		t.Error("no Go or process metrics")
	}
	t.Logf("traffic: %+v", *tr)
}

// fakeAdapter is a cluster of this server and one that never answers:
// requests time out; server-side emits fail to publish; one namespace
// cannot be subscribed.
type fakeAdapter struct {
	mu        sync.Mutex
	published int
	receive   adapter.Receive
}

func (f *fakeAdapter) AddNamespace(_ context.Context, nsp string) error {
	if nsp == "/unsubscribable" {
		return errors.New("no")
	}
	return nil
}

func (f *fakeAdapter) Publish(_ context.Context, m wire.ClusterMessage) error {
	if m.Type == wire.ClusterServerSideEmit {
		return errors.New("publish refused")
	}
	f.mu.Lock()
	f.published++
	f.mu.Unlock()
	return nil
}

func (f *fakeAdapter) ServerCount(context.Context, string) (int, error) { return 2, nil }
func (f *fakeAdapter) Close() error                                     { return nil }

func TestScrapeCluster(t *testing.T) {
	fa := &fakeAdapter{}
	srv := native.NewServer(native.Options{
		RequestsTimeout: 50 * time.Millisecond,
		Logger:          slog.New(slog.DiscardHandler), // the failures are on purpose
		Adapter: func(receive adapter.Receive) (adapter.Adapter, error) {
			fa.receive = receive
			return fa, nil
		},
	})
	ms := httptest.NewServer(prom.Handler(srv))
	defer func() { ms.Close(); srv.Close(); http.DefaultClient.CloseIdleConnections() }()

	srv.Of("/unsubscribable")
	srv.Emit("everyone")        // published
	srv.ServerSideEmit("hello") // its publish fails
	if _, err := srv.FetchSockets(context.Background()); !errors.Is(err, native.ErrClusterTimeout) {
		t.Fatalf("FetchSockets: %v", err) // published, then timed out
	}
	fa.receive(wire.ClusterMessage{Type: wire.ClusterBroadcast, Nsp: "/", Data: []byte(`["remote"]`)})
	fa.receive(wire.ClusterMessage{Type: wire.ClusterBroadcast, Nsp: "/", Data: []byte(`["remote"]`)})
	waitFor(t, "the adapter", func() bool {
		c := srv.ClusterStats()
		return c.Pending == 0 && c.PublishErrors == 1 && c.SubscribeErrors == 1 && c.Published == uint64(fa.published)
	})
	check(t, scrape(t, ms.URL), map[string]float64{
		"socketcore_adapter_published_total":                float64(fa.published),
		"socketcore_adapter_received_total":                 2,
		"socketcore_adapter_errors_total{reason=publish}":   1,
		"socketcore_adapter_errors_total{reason=subscribe}": 1,
		"socketcore_adapter_errors_total{reason=count}":     0,
		"socketcore_adapter_dropped_total":                  0,
		"socketcore_adapter_pending":                        0,
		"socketcore_adapter_request_timeouts_total":         1,
		"socketcore_broadcasts_total":                       1,
	})
	if fa.published < 2 {
		t.Errorf("published %d, want the broadcast and the request at least", fa.published)
	}
}

// Namespaces past MaxNamespaces share the series namespace="other".
func TestNamespaceCap(t *testing.T) {
	srv := native.NewServer(native.Options{})
	ms := httptest.NewServer(prom.Handler(srv))
	hs := httptest.NewServer(srv)
	defer func() {
		hs.CloseClientConnections()
		hs.Close()
		ms.Close()
		srv.Close()
		http.DefaultClient.CloseIdleConnections()
	}()
	for i := range prom.MaxNamespaces + 5 {
		srv.Of(fmt.Sprintf("/n%03d", i))
	}
	tr := &traffic{t: t}
	w, err := tr.dial(hs, "")
	if err != nil {
		t.Fatal(err)
	}
	w.expect(`0{"sid":`)
	last := fmt.Sprintf("/n%03d", prom.MaxNamespaces+4)
	w.send("40" + last + ",")
	w.expect("40" + last + ",{")
	fams := scrape(t, ms.URL)
	check(t, fams, map[string]float64{
		"socketcore_namespaces":               prom.MaxNamespaces + 6,
		"socketcore_sockets{namespace=/}":     0,
		"socketcore_sockets{namespace=/n098}": 0,
		"socketcore_sockets{namespace=other}": 1, // "/n099".."/n104"
		"socketcore_rooms{namespace=other}":   0,
		"socketcore_sockets{namespace=/n000}": 0,
	})
	if n := len(fams["socketcore_sockets"].Metric); n != prom.MaxNamespaces+1 {
		t.Fatalf("%d socket series, want %d", n, prom.MaxNamespaces+1)
	}
}

// The limits' refusals (hosts/native limits.go) are exported too; a
// handshake refused for its address is a "Forbidden" connection error.
func TestScrapeLimits(t *testing.T) {
	joined := make(chan error, 1)
	srv := native.NewServer(native.Options{Limits: native.Limits{MaxConnectionsPerIP: 1, MaxRoomsPerSocket: 1}})
	srv.OnConnection(func(so *native.Socket) { joined <- so.Join("a", "b") })
	hs := httptest.NewServer(srv)
	ms := httptest.NewServer(prom.Handler(srv))
	defer func() {
		hs.CloseClientConnections()
		hs.Close()
		ms.Close()
		srv.Close()
		http.DefaultClient.CloseIdleConnections()
	}()
	tr := &traffic{t: t, base: hs.URL + "/socket.io/?EIO=4&", client: http.DefaultClient}
	w, err := tr.dial(hs, "")
	if err != nil {
		t.Fatal(err)
	}
	w.expect(`0{"sid":`)
	w.send("40")
	w.expect("40{")
	if err := <-joined; !errors.Is(err, native.ErrTooManyRooms) {
		t.Fatalf("Join: %v", err)
	}
	if status, body := tr.http("GET", "transport=polling", "", nil, true); status != 403 {
		t.Fatalf("second connection from the address: %d %s", status, body)
	}
	check(t, scrape(t, ms.URL), map[string]float64{
		"socketcore_limit_refusals_total{reason=connections}":  1,
		"socketcore_limit_refusals_total{reason=rooms}":        1,
		"socketcore_limit_refusals_total{reason=namespaces}":   0,
		"socketcore_events_limited_total":                      0,
		"socketcore_connection_errors_total{reason=Forbidden}": 1,
	})
}
