// Command wasi-runner serves the WASI edge handler (build/wasi-handler.wasm,
// `make wasi-handler`) to a GRIP proxy on this machine, as a WASI platform
// would: an instance per request (--per-request, state in --store) or one
// warm instance. With --pushpin it also starts a private Pushpin in front of
// it and prints the address clients use.
//
//	go run ./hosts/wasi/cmd/wasi-runner --pushpin [--per-request]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/socketcore/socketcore/hosts/wasi/internal/pushpin"
	"github.com/socketcore/socketcore/hosts/wasi/runner"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "the handler's address (the proxy's backend)")
	wasm := flag.String("wasm", "build/wasi-handler.wasm", "the wasi-handler module")
	perRequest := flag.Bool("per-request", false, "a fresh instance for every request (state in --store)")
	store := flag.String("store", "", "the store directory for --per-request (default: a temporary one)")
	publish := flag.String("publish", "http://127.0.0.1:5561/publish/", "the proxy's publish API (ignored with --pushpin)")
	withPushpin := flag.Bool("pushpin", false, "start a private pushpin in front of the handler")
	trace := flag.Bool("trace", false, "log every request, response and publish to stderr")
	flag.Parse()
	traceTo = nil
	if *trace {
		traceTo = os.Stderr
	}
	if err := run(*addr, *wasm, *perRequest, *store, *publish, *withPushpin); err != nil {
		log.Fatal(err)
	}
}

var traceTo io.Writer

func run(addr, wasmPath string, perRequest bool, store, publish string, withPushpin bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	wasm, err := os.ReadFile(wasmPath)
	if err != nil {
		return fmt.Errorf("%w (build it with: make wasi-handler)", err)
	}
	if perRequest && store == "" {
		if store, err = os.MkdirTemp("", "wasi-store-"); err != nil {
			return err
		}
		defer os.RemoveAll(store)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	front := l.Addr().String()
	if withPushpin {
		dir, err := os.MkdirTemp("", "pushpin-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		p, err := pushpin.Start(ctx, dir, l.Addr().String())
		if err != nil {
			return err
		}
		defer p.Stop()
		publish, front = p.PublishURL, p.HTTPAddr
	}
	r, err := runner.New(ctx, runner.Options{Wasm: wasm, PerRequest: perRequest, StoreDir: store, PublishURL: publish, Trace: traceTo})
	if err != nil {
		return err
	}
	defer r.Close(context.Background())
	srv := &http.Server{Handler: r}
	go srv.Serve(l) // ends at Shutdown below
	fmt.Printf("listening %s\n", front)
	<-ctx.Done()
	return srv.Shutdown(context.Background())
}
