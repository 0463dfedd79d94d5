// Command wasi-runner serves the WASI edge handler (build/wasi-handler.wasm,
// `make wasi-handler`) to a GRIP proxy on this machine, as a WASI platform
// would: an instance per request (--per-request, state in --store) or one
// warm instance. With --pushpin it also starts a private Pushpin in front of
// it and prints the address clients use.
//
//	go run ./hosts/wasi/cmd/wasi-runner --pushpin [--per-request] [--recovery 2m]
//
// The handler refuses (403) every request without a valid Grip-Sig when it
// has a key: --grip-key (a secret as Pushpin's sig_key writes it, or
// "file:" and the path of a PEM public key for ES256/RS256). With
// --pushpin and no --grip-key, a random secret is made and shared with
// the private pushpin, so verification is on unless --no-grip-sig.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

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
	gripKey := flag.String("grip-key", "", "verify the proxy's Grip-Sig with this key: a secret, base64:<secret>, or file:<PEM public key>")
	gripIss := flag.String("grip-iss", "", "the issuer a Grip-Sig must name (pushpin's sig_iss); with --pushpin, default pushpin")
	noGrip := flag.Bool("no-grip-sig", false, "with --pushpin: do not sign nor verify requests")
	recovery := flag.Duration("recovery", 0, "connection state recovery with this window (0: off)")
	flag.Parse()
	traceTo = nil
	if *trace {
		traceTo = os.Stderr
	}
	c := config{addr: *addr, wasm: *wasm, perRequest: *perRequest, store: *store, publish: *publish, pushpin: *withPushpin,
		gripKey: *gripKey, gripIss: *gripIss, noGrip: *noGrip, recovery: *recovery}
	if err := run(c); err != nil {
		log.Fatal(err)
	}
}

var traceTo io.Writer

type config struct {
	addr, wasm, store, publish string
	perRequest, pushpin        bool
	gripKey, gripIss           string
	noGrip                     bool
	recovery                   time.Duration
}

// env is the module's environment; pushpinKey is what the private pushpin
// signs with ("" none).
func (c config) env() (env map[string]string, pushpinKey string, err error) {
	env = map[string]string{}
	if c.recovery > 0 {
		env["SOCKETCORE_RECOVERY_MS"] = strconv.FormatInt(c.recovery.Milliseconds(), 10)
	}
	key := c.gripKey
	switch {
	case c.noGrip:
		if key != "" {
			return nil, "", errors.New("--grip-key and --no-grip-sig")
		}
		return env, "", nil
	case strings.HasPrefix(key, "file:"):
		if c.pushpin {
			return nil, "", errors.New("with --pushpin, --grip-key is the secret the private pushpin signs with (or nothing: a random one)")
		}
		b, err := os.ReadFile(key[len("file:"):])
		if err != nil {
			return nil, "", err
		}
		key = string(b)
	case key == "" && c.pushpin:
		var b [32]byte
		rand.Read(b[:])
		key = "base64:" + base64.StdEncoding.EncodeToString(b[:])
	}
	iss := c.gripIss
	if c.pushpin && iss == "" {
		iss = "pushpin"
	}
	if key != "" {
		env["SOCKETCORE_GRIP_KEY"] = key
		env["SOCKETCORE_GRIP_ISS"] = iss
	} else {
		fmt.Fprintln(os.Stderr, "wasi-runner: no --grip-key: the handler serves requests that did not come through the proxy")
	}
	if c.pushpin {
		pushpinKey = key
	}
	return env, pushpinKey, nil
}

func run(c config) error {
	addr, wasmPath, perRequest, store, publish, withPushpin := c.addr, c.wasm, c.perRequest, c.store, c.publish, c.pushpin
	env, sigKey, err := c.env()
	if err != nil {
		return err
	}
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
		p, err := pushpin.Start(ctx, dir, l.Addr().String(), pushpin.Options{SigKey: sigKey, SigIss: env["SOCKETCORE_GRIP_ISS"]})
		if err != nil {
			return err
		}
		defer p.Stop()
		publish, front = p.PublishURL, p.HTTPAddr
	}
	r, err := runner.New(ctx, runner.Options{Wasm: wasm, PerRequest: perRequest, StoreDir: store, PublishURL: publish, Trace: traceTo, Env: env})
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
