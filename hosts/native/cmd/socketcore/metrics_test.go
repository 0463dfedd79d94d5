package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/socketcore/socketcore/hosts/native"
)

// --metrics-addr serves /metrics, /healthz and /readyz until stopped; without it
// nothing listens.
func TestMetricsAddr(t *testing.T) {
	srv := native.NewServer(native.Options{})
	defer srv.Close()
	log := slog.New(slog.DiscardHandler)

	var off metricsFlags
	stop, err := off.start(log, srv)
	if err != nil || off.bound != nil {
		t.Fatalf("without the flag: %v, listening on %v", err, off.bound)
	}
	stop()

	var m metricsFlags
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	m.register(fs)
	if err := fs.Parse([]string{"--metrics-addr", "127.0.0.1:0"}); err != nil {
		t.Fatal(err)
	}
	stop, err = m.start(log, srv)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(path string) (int, string, error) {
		res, err := client.Get("http://" + m.bound.String() + path)
		if err != nil {
			return 0, "", err
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b), nil
	}
	if code, body, err := get("/healthz"); err != nil || code != 200 || body != "ok" {
		t.Fatalf("/healthz: %d %q %v", code, body, err)
	}
	if code, body, err := get("/metrics"); err != nil || code != 200 ||
		!strings.Contains(body, `socketcore_sessions{transport="polling"} 0`) || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("/metrics: %d %v\n%s", code, err, body)
	}
	if code, _, _ := get("/socket.io/"); code != 404 {
		t.Fatalf("the admin address serves only metrics and health: %d", code)
	}
	if code, body, err := get("/readyz"); err != nil || code != 200 || body != "ready" {
		t.Fatalf("/readyz: %d %q %v", code, body, err)
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, body, err := get("/readyz"); err != nil || code != 503 || body != "draining" {
		t.Fatalf("/readyz while draining: %d %q %v", code, body, err)
	}
	if code, _, err := get("/healthz"); err != nil || code != 200 {
		t.Fatalf("/healthz while draining: %d %v", code, err)
	}
	stop()
	if _, _, err := get("/healthz"); err == nil {
		t.Fatal("still serving after stop")
	}
}
