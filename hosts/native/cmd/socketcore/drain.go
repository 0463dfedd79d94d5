package main

// Graceful shutdown of `serve`: on SIGTERM (or SIGINT) the server drains
// (native.Server.Shutdown) instead of dropping its clients — new
// handshakes get 503, what is in flight finishes within --drain-timeout,
// then every socket leaves with "server shutting down" (its session saved
// for recovery), the server leaves the cluster, and the HTTP server shuts
// down; the process exits 0. A second signal exits at once (status 1).
//
// The listener keeps accepting while the server drains, on purpose: a
// polling client's every request is a new request, often on a new
// connection, so closing the listener first would cut the polling
// sessions that are to finish; and load balancers keep sending a few
// requests after SIGTERM (Kubernetes removes the endpoint asynchronously),
// which a 503 — retried elsewhere — serves better than a refused
// connection.

import (
	"context"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/socketcore/socketcore/hosts/native"
)

// drainFlags configure the graceful shutdown.
type drainFlags struct {
	timeout time.Duration
}

func (d *drainFlags) register(fs *flag.FlagSet) {
	// 20s: the close after it takes a few seconds more, within the 30s
	// Kubernetes gives a pod between SIGTERM and SIGKILL by default
	fs.DurationVar(&d.timeout, "drain-timeout", 20*time.Second,
		"on SIGTERM/SIGINT, how long to wait for in-flight acknowledgements and handlers before closing every socket (\"server shutting down\"); keep it a few seconds under the time before SIGKILL; a second signal exits at once")
}

// serveUntilSignal waits for SIGTERM or SIGINT, then drains srv and shuts
// hs down. A second signal meanwhile exits the process at once.
func (d *drainFlags) serveUntilSignal(log *slog.Logger, srv *native.Server, hs ...*http.Server) {
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	first := <-sig
	start := time.Now()
	log.Info("socketcore: draining: new sessions are refused", "signal", first.String(), "drain-timeout", d.timeout)

	done := make(chan struct{})
	defer close(done)
	go func() { // ends with the drain, or the process
		select {
		case s := <-sig:
			log.Warn("socketcore: second signal: exiting now, without draining", "signal", s.String())
			os.Exit(1)
		case <-done:
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), d.timeout)
	err := srv.Shutdown(ctx)
	cancel()
	if err != nil {
		log.Warn("socketcore: drain timeout reached: closed with work still in flight", "drain-timeout", d.timeout)
	}
	shutdown(hs...) // the listener and the idle connections; parked polls were answered
	log.Info("socketcore: stopped", "took", time.Since(start).Round(time.Millisecond))
}
