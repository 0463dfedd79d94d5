// Package limits checks what the official socket.io-client (npm, pinned in
// the root package-lock.json) sees of native.Limits: the refusals arrive as
// the events a client written for Node's server handles (connect_error,
// an acknowledgement's argument), and a slow consumer's client reconnects
// by itself.
package limits

import (
	"net"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/socketcore/socketcore/hosts/native"
	"github.com/socketcore/socketcore/internal/leaktest"
	"github.com/socketcore/socketcore/internal/nodetest"
)

func TestMain(m *testing.M) { leaktest.Main(m) }

// run starts a server with opts (its accepted connections' kernel send
// buffer at sndbuf bytes, if > 0) and runs the official client's scenario
// against it; what the client saw is decoded into out.
func run(t *testing.T, scenario string, opts native.Options, sndbuf int, setup func(*native.Server), out any) {
	t.Helper()
	root := nodetest.RepoRoot(t)
	node := nodetest.Node(t, root, "socket.io-client")
	opts.Seed[0] = 'L'
	srv := native.NewServer(opts)
	if setup != nil {
		setup(srv)
	}
	hs := httptest.NewUnstartedServer(srv)
	if sndbuf > 0 {
		hs.Listener = smallSendBuffers{hs.Listener, sndbuf}
	}
	hs.Start()
	defer func() {
		hs.CloseClientConnections()
		hs.Close()
		srv.Close()
	}()
	nodetest.RunJSON(t, node, root, "tests/limits/official.mjs", out, scenario, hs.URL)
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

func answerPings(s *native.Socket) { s.On("ping", func(n int, ack native.Ack) { ack(n) }) }

func TestOfficialClientNamespacesPerConnection(t *testing.T) {
	var got struct {
		Refused     string
		StillServed int
	}
	run(t, "namespaces", native.Options{Limits: native.Limits{MaxNamespacesPerConnection: 2}}, 0, func(s *native.Server) {
		for _, n := range []string{"/", "/a", "/b"} {
			s.Of(n).OnConnection(answerPings)
		}
	}, &got)
	if got.Refused != "Too many namespaces" || got.StillServed != 1 {
		t.Fatalf("official client saw %+v", got)
	}
}

func TestOfficialClientErrorAck(t *testing.T) {
	var got struct {
		OK, Errors int
		Sample     map[string]any
	}
	run(t, "error-ack", native.Options{Limits: native.Limits{EventRate: native.Rate{PerSecond: 5, Burst: 5}, OnLimit: native.LimitErrorAck}}, 0,
		func(s *native.Server) {
			s.OnConnection(func(so *native.Socket) { so.On("ev", func(_ int, ack native.Ack) { ack("ok") }) })
		}, &got)
	if got.OK < 5 || got.Errors == 0 || got.OK+got.Errors != 40 || got.Sample["error"] != "rate limit exceeded" {
		t.Fatalf("official client saw %+v", got)
	}
	if ms, ok := got.Sample["retryAfterMs"].(float64); !ok || ms <= 0 || ms > 1000 {
		t.Fatalf("retryAfterMs %v", got.Sample["retryAfterMs"])
	}
}

func TestOfficialClientConnectionsPerIP(t *testing.T) {
	var got struct {
		RefusedWith    string
		ConnectedAfter bool
	}
	srv := native.Options{Limits: native.Limits{MaxConnectionsPerIP: 1}}
	run(t, "per-ip", srv, 0, nil, &got)
	// the official client reports a refused polling handshake as a
	// transport error, and retries with its backoff
	if got.RefusedWith != "xhr poll error" || !got.ConnectedAfter {
		t.Fatalf("official client saw %+v", got)
	}
}

func TestOfficialClientSlowConsumer(t *testing.T) {
	reasons := make(chan string, 4)
	var got struct {
		Reason      string
		Reconnected bool
	}
	run(t, "slow", native.Options{Limits: native.Limits{MaxSendQueue: 16 << 10, SlowConsumerGrace: 200 * time.Millisecond}}, 4096,
		func(s *native.Server) {
			s.OnConnection(func(so *native.Socket) {
				so.On("flood-me", func() { so.Emit("big", make([]byte, 4<<20)) })
				so.OnDisconnect(func(r string) { reasons <- r })
			})
		}, &got)
	if got.Reason != "transport close" || !got.Reconnected {
		t.Fatalf("official client saw %+v", got)
	}
	// the first socket left as a slow consumer; the second when the client closed
	var seen []string
	for len(reasons) > 0 {
		seen = append(seen, <-reasons)
	}
	if !slices.Contains(seen, native.ReasonSlowConsumer) {
		t.Fatalf("server-side reasons %q, want %q for the first socket", seen, native.ReasonSlowConsumer)
	}
}
