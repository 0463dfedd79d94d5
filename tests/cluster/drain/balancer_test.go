package drain

import (
	"bytes"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strings"
	"sync"
	"testing"
)

// balancer is the load balancer in front of the cluster, as a deployment
// has one: new sessions go round robin to the backends, skipping one that
// refuses the connection (stopped) or answers 503 (draining: Shutdown),
// as nginx's proxy_next_upstream error http_503 does; the requests of a
// polling session stick to the backend that made it (sticky sessions,
// which Engine.IO's polling needs), learnt from the handshake's answer.
// It works at the HTTP level because stickiness needs the sid; WebSockets
// pass through (httputil.ReverseProxy upgrades them).
type balancer struct {
	backends []string // host:port
	tr       *http.Transport
	hs       *httptest.Server

	mu     sync.Mutex
	next   int
	sids   map[string]string // polling session → its backend
	chosen map[string]int    // backend → new sessions sent to it
}

func newBalancer(t *testing.T, backends ...string) *balancer {
	b := &balancer{backends: backends, sids: map[string]string{}, chosen: map[string]int{},
		// a connection per request: a backend that restarted leaves no stale ones
		tr: &http.Transport{DisableKeepAlives: true}}
	rp := &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.Out.URL.Scheme, pr.Out.URL.Host = "http", "backend" },
		Transport: b,
		ErrorLog:  log.New(io.Discard, "", 0),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	b.hs = httptest.NewServer(rp)
	t.Cleanup(b.close)
	return b
}

func (b *balancer) url() string { return b.hs.URL }

var errNoBackend = errors.New("balancer: no backend takes new sessions")

// RoundTrip sends a request to its session's backend, or a new session's
// to the next backend that takes it.
func (b *balancer) RoundTrip(r *http.Request) (*http.Response, error) {
	if sid := r.URL.Query().Get("sid"); sid != "" {
		b.mu.Lock()
		backend, ok := b.sids[sid]
		b.mu.Unlock()
		if !ok {
			return nil, errors.New("balancer: unknown session")
		}
		r.URL.Host = backend
		return b.tr.RoundTrip(r)
	}
	b.mu.Lock()
	start := b.next
	b.next = (b.next + 1) % len(b.backends)
	b.mu.Unlock()
	for i := range b.backends {
		backend := b.backends[(start+i)%len(b.backends)]
		out := r.Clone(r.Context()) // a handshake has no body: it can be sent again
		out.URL.Host = backend
		res, err := b.tr.RoundTrip(out)
		if err != nil {
			continue // stopped
		}
		if res.StatusCode == http.StatusServiceUnavailable {
			res.Body.Close()
			continue // draining
		}
		b.mu.Lock()
		b.chosen[backend]++
		b.mu.Unlock()
		if res.StatusCode == http.StatusOK && r.URL.Query().Get("transport") == "polling" {
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil {
				return nil, err
			}
			res.Body = io.NopCloser(bytes.NewReader(body))
			if sid := openSID(body); sid != "" {
				b.mu.Lock()
				b.sids[sid] = backend
				b.mu.Unlock()
			}
		}
		return res, nil
	}
	return nil, errNoBackend
}

// openSID reads the sid of an Engine.IO open packet: 0{"sid":"...",...}.
func openSID(body []byte) string {
	_, rest, ok := strings.Cut(string(body), `"sid":"`)
	if !ok {
		return ""
	}
	sid, _, _ := strings.Cut(rest, `"`)
	return sid
}

// sessions returns how many new sessions each backend took.
func (b *balancer) sessions() map[string]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := make(map[string]int, len(b.chosen))
	for k, v := range b.chosen {
		m[k] = v
	}
	return m
}

func (b *balancer) close() {
	b.hs.CloseClientConnections()
	b.hs.Close()
	b.tr.CloseIdleConnections()
}
