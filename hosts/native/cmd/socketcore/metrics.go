package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/socketcore/socketcore/hosts/native"
	"github.com/socketcore/socketcore/hosts/native/prom"
)

// metricsFlags serve a server's Prometheus metrics (hosts/native/prom) and
// a health check on an admin address of their own: scrapers and probes
// stay off the public listener, and the public listener serves no
// metrics.
type metricsFlags struct {
	addr  string
	bound net.Addr // where start listens (tests ask for port 0)
}

func (m *metricsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&m.addr, "metrics-addr", "", "admin address serving Prometheus metrics at /metrics, a health check at /healthz and readiness at /readyz (503 while draining), e.g. 127.0.0.1:9090 (empty: off)")
}

// start serves srv's metrics on --metrics-addr until stop is called (call
// it when the server stops; it waits up to 3 s for a scrape in progress).
// Without the flag it does nothing.
func (m *metricsFlags) start(log *slog.Logger, srv *native.Server) (stop func(), err error) {
	if m.addr == "" {
		return func() {}, nil
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", prom.Handler(srv))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok"))
	})
	// readiness: a load balancer stops sending new clients once the
	// server drains (SIGTERM), while /healthz still says it is alive
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if srv.Draining() {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("draining"))
			return
		}
		w.Write([]byte("ready"))
	})
	hs, ln, err := listen(context.Background(), m.addr, mux)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr: %w", err)
	}
	m.bound = ln.Addr()
	log.Info("socketcore: serving metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	return func() { shutdown(hs) }, nil
}
