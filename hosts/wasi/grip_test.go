//go:build pushpin

// The WASI handler behind a real Pushpin, driven by the official
// socket.io-client. Run by `make test-wasi` (which installs pushpin and
// runs `npm ci`): go test -tags pushpin ./hosts/wasi/
package wasi_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/socketcore/socketcore/hosts/wasi/internal/pushpin"
	"github.com/socketcore/socketcore/hosts/wasi/runner"
	"github.com/socketcore/socketcore/internal/nodetest"
)

// buildHandler compiles the wasip1 command.
func buildHandler(t *testing.T, root string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "wasi-handler.wasm")
	cmd := exec.Command("go", "build", "-o", out, "./hosts/wasi/cmd/wasi-handler")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the handler: %v\n%s", err, b)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}

// deployment is the handler served by a runner behind a private pushpin.
type deployment struct {
	URL   string
	trace *strings.Builder
}

func deploy(t *testing.T, wasm []byte, perRequest bool) deployment {
	t.Helper()
	if _, err := pushpin.Binary(); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p, err := pushpin.Start(ctx, t.TempDir(), l.Addr().String())
	if err != nil {
		l.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop() })
	opts := runner.Options{Wasm: wasm, PerRequest: perRequest, PublishURL: p.PublishURL, Stderr: testWriter{t}}
	if perRequest {
		opts.StoreDir = t.TempDir()
	}
	r, err := runner.New(ctx, opts)
	if err != nil {
		l.Close()
		t.Fatal(err)
	}
	srv := &http.Server{Handler: r}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Shutdown(context.Background())
		<-done
		if err := r.Close(context.Background()); err != nil {
			t.Errorf("runner close: %v", err)
		}
		if t.Failed() {
			if b, err := os.ReadFile(p.LogFile); err == nil && len(b) > 0 {
				t.Logf("pushpin log (end):\n%s", tail(b, 4000))
			}
		}
	})
	return deployment{URL: "http://" + p.HTTPAddr}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// nodeTest runs node --test files against url in mode; tests whose names
// contain one of known may fail (reported, not failed).
func nodeTest(t *testing.T, root, url, mode string, timeout time.Duration, known []string, env []string, files ...string) {
	t.Helper()
	node := nodetest.Node(t, root, "socket.io-client")
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	args := append([]string{"--test", "--test-concurrency=1", "--test-reporter=tap"}, files...)
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = root
	cmd.Env = append(slices.Clip(os.Environ()), "SIO_URL="+url, "SIO_TRANSPORTS="+mode)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	var unexpected, expected []string
	for _, l := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(l, "not ok ") {
			continue
		}
		if slices.ContainsFunc(known, func(k string) bool { return strings.Contains(l, k) }) {
			expected = append(expected, l)
		} else {
			unexpected = append(unexpected, l)
		}
	}
	switch {
	case len(unexpected) > 0 || (err != nil && len(expected) == 0):
		t.Errorf("node --test (%s) against %s: %v\n%s", mode, url, err, out)
	default:
		t.Logf("node --test (%s): %s; known failures: %q", mode, summary(out), expected)
	}
}

func summary(out []byte) string {
	var s []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "# pass") || strings.HasPrefix(l, "# fail") {
			s = append(s, strings.TrimPrefix(l, "# "))
		}
	}
	return strings.Join(s, ", ")
}

// TestGRIP: the official client in every transport mode, events with acks
// both ways and a broadcast across connections, with a warm instance and
// with an instance per request.
func TestGRIP(t *testing.T) {
	root := nodetest.RepoRoot(t)
	wasm := buildHandler(t, root)
	file := filepath.Join("hosts", "wasi", "test", "grip.test.mjs")
	for _, mode := range []struct {
		name       string
		perRequest bool
	}{{"warm", false}, {"per-request", true}} {
		t.Run(mode.name, func(t *testing.T) {
			d := deploy(t, wasm, mode.perRequest)
			for _, transports := range []string{"websocket", "polling", "upgrade"} {
				t.Run(transports, func(t *testing.T) {
					env := []string{"WASI_PER_REQUEST=0"}
					if mode.perRequest {
						env = []string{"WASI_PER_REQUEST=1"}
					}
					nodeTest(t, root, d.URL, transports, 60*time.Second, nil, env, file)
				})
			}
		})
	}
}

// e2eFiles are the tests/e2e/js files that pass through Pushpin. Left out:
// crowd.test.mjs (200 polling clients at once: Pushpin answers part of the
// burst with 502), recovery.test.mjs (not implemented here), and in
// websocket modes the two tests of messages over 200 KB (Pushpin's
// WebSocket-over-HTTP buffer is 200,000 bytes).
var e2eFiles = []string{"connect", "events", "rooms", "binary", "disconnect"}

// TestOfficialE2E runs the shared e2e suite (tests/e2e/APP.md) against the
// warm deployment.
func TestOfficialE2E(t *testing.T) {
	root := nodetest.RepoRoot(t)
	wasm := buildHandler(t, root)
	d := deploy(t, wasm, false)
	var files []string
	for _, f := range e2eFiles {
		files = append(files, filepath.Join("tests", "e2e", "js", f+".test.mjs"))
	}
	for _, mode := range []string{"websocket", "polling", "upgrade"} {
		t.Run(mode, func(t *testing.T) {
			var known []string
			if mode != "polling" {
				// README, limits: Pushpin closes a WebSocket whose client
				// message exceeds its 200,000-byte WebSocket-over-HTTP buffer
				known = []string{"large binary (512 KB random) round-trips", "large payload (300 KB string) round-trips"}
			}
			nodeTest(t, root, d.URL, mode, 120*time.Second, known, nil, files...)
		})
	}
}
