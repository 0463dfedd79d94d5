// Command wasi-bench measures, in one run, the round trip and the broadcast
// throughput of the e2e application (tests/e2e/APP.md) served by the native
// server and by the WASI handler behind a private Pushpin (a warm instance,
// and an instance per request), over WebSocket and long-polling, with
// hosts/wasi/test/bench.mjs (the official socket.io-client). `make
// bench-wasi` builds what it needs and runs it:
//
//	go run ./hosts/wasi/cmd/wasi-bench --wasm build/wasi-handler.wasm
//
// Every deployment runs in this process, one after the other; each
// measurement is bounded by --timeout. The WASI deployments verify the
// Grip-Sig of every request (HS256), as a deployment should.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/socketcore/socketcore/hosts/native"
	"github.com/socketcore/socketcore/hosts/wasi/internal/pushpin"
	"github.com/socketcore/socketcore/hosts/wasi/runner"
	"github.com/socketcore/socketcore/tests/e2e"
)

func main() {
	wasm := flag.String("wasm", "build/wasi-handler.wasm", "the wasi-handler module (make wasi-handler)")
	script := flag.String("script", "hosts/wasi/test/bench.mjs", "the bench script")
	node := flag.String("node", "node", "the node binary")
	timeout := flag.Duration("timeout", 90*time.Second, "bound of one measurement")
	flag.Parse()
	if err := run(*wasm, *script, *node, *timeout); err != nil {
		log.Fatal(err)
	}
}

type result struct {
	Mode       string `json:"mode"`
	P50        string `json:"rtt_ms_p50"`
	P99        string `json:"rtt_ms_p99"`
	Got        int    `json:"broadcast_deliveries"`
	Of         int    `json:"of"`
	PerSecond  int    `json:"deliveries_per_s"`
	Seconds    string `json:"secs"`
	Deployment string `json:"-"`
	Err        string `json:"-"`
}

func run(wasmPath, script, node string, timeout time.Duration) error {
	wasm, err := os.ReadFile(wasmPath)
	if err != nil {
		return fmt.Errorf("%w (build it with: make wasi-handler)", err)
	}
	tmp, err := os.MkdirTemp("", "wasi-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var results []result
	measure := func(name, url string) {
		for _, mode := range []string{"websocket", "polling"} {
			r := bench(node, script, url, mode, timeout)
			r.Deployment = name
			results = append(results, r)
			fmt.Fprintf(os.Stderr, "%-22s %-9s %+v\n", name, mode, r)
		}
	}

	// the native server
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	app := e2e.NewApp(native.Options{})
	srv := &http.Server{Handler: app}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(l) }() // ends at Shutdown below
	measure("native", "http://"+l.Addr().String())
	srv.Shutdown(context.Background())
	<-done
	app.Close()

	for _, perRequest := range []bool{false, true} {
		name := "wasi warm + pushpin"
		if perRequest {
			name = "wasi per-request + pushpin"
		}
		dir := filepath.Join(tmp, fmt.Sprint(perRequest))
		if err := deployed(wasm, dir, perRequest, func(url string) { measure(name, url) }); err != nil {
			return err
		}
	}

	fmt.Println("| deployment | transport | round trip p50 / p99 (ms) | broadcast deliveries/s | delivered |")
	fmt.Println("|---|---|---|---|---|")
	for _, r := range results {
		if r.Err != "" {
			fmt.Printf("| %s | %s | failed: %s | | |\n", r.Deployment, r.Mode, r.Err)
			continue
		}
		fmt.Printf("| %s | %s | %s / %s | %d | %d of %d |\n", r.Deployment, r.Mode, r.P50, r.P99, r.PerSecond, r.Got, r.Of)
	}
	return nil
}

// deployed runs f with the URL of the handler served by a runner behind a
// private pushpin, then stops both.
func deployed(wasm []byte, dir string, perRequest bool, f func(url string)) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	ctx := context.Background()
	// requests are signed and verified, as a deployment should run
	var secret [32]byte
	rand.Read(secret[:])
	key := "base64:" + base64.StdEncoding.EncodeToString(secret[:])
	p, err := pushpin.Start(ctx, filepath.Join(dir, "pushpin"), l.Addr().String(), pushpin.Options{SigKey: key, SigIss: "pushpin"})
	if err != nil {
		l.Close()
		return err
	}
	defer p.Stop()
	opts := runner.Options{Wasm: wasm, PerRequest: perRequest, PublishURL: p.PublishURL, Stderr: os.Stderr,
		Env: map[string]string{"SOCKETCORE_GRIP_KEY": key, "SOCKETCORE_GRIP_ISS": "pushpin"}}
	if perRequest {
		opts.StoreDir = filepath.Join(dir, "store")
		if err := os.MkdirAll(opts.StoreDir, 0o755); err != nil {
			l.Close()
			return err
		}
	}
	r, err := runner.New(ctx, opts)
	if err != nil {
		l.Close()
		return err
	}
	srv := &http.Server{Handler: r}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(l) }() // ends at Shutdown below
	f("http://" + p.HTTPAddr)
	srv.Shutdown(ctx)
	<-done
	return r.Close(ctx)
}

func bench(node, script, url, mode string, timeout time.Duration) result {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script, url, mode)
	var out strings.Builder
	cmd.Stdout = &out
	cmd.Stderr = io.MultiWriter(&out)
	err := cmd.Run()
	r := result{Mode: mode}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if err != nil || json.Unmarshal([]byte(lines[len(lines)-1]), &r) != nil {
		r.Err = strings.ReplaceAll(fmt.Sprintf("%v: %s", err, tailString(out.String(), 300)), "\n", " ")
	}
	return r
}

func tailString(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
