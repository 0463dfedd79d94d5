// Package runner is the local WASI platform for the socketcore edge
// handler: it runs the wasip1 command hosts/wasi/cmd/wasi-handler under
// wazero and serves it over HTTP to a GRIP proxy (Pushpin), doing what a
// platform does around a handler: it turns each proxied request into a
// handler request, writes the handler's response, posts its publish items
// to the proxy's publish API, and calls the handler with a tick at the
// deadline it asked for.
//
// Two modes, as WASI platforms have:
//
//   - PerRequest: a fresh instance for every request (WAGI, Spin, Fastly
//     Compute); the handler keeps its state in a store directory mounted at
//     /store, saved after every request and restored from by the next
//     instance.
//   - Warm: one instance kept running ("serve"), fed requests over stdin,
//     with its state in memory.
//
// Requests are served one at a time (one instance, one shard; the store has
// no locks).
package runner

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/socketcore/socketcore/hosts/wasi/handler"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

// Options configures a Runner.
type Options struct {
	Wasm       []byte    // the wasi-handler module
	PerRequest bool      // an instance per request (else one warm instance)
	StoreDir   string    // PerRequest: the host directory mounted at /store
	PublishURL string    // the proxy's publish endpoint, e.g. http://127.0.0.1:5561/publish/
	Stderr     io.Writer // the module's stderr (default os.Stderr)
	CacheDir   string    // wazero compilation cache (optional)
	Trace      io.Writer // if set, one line per request, response and publish
	// Env is the module's environment: the handler's settings
	// (SOCKETCORE_GRIP_KEY, SOCKETCORE_GRIP_ISS, SOCKETCORE_RECOVERY_MS;
	// cmd/wasi-handler), as a platform passes them.
	Env map[string]string
}

// Runner serves the handler over HTTP. Close stops it.
type Runner struct {
	opts Options
	rt   wazero.Runtime
	mod  wazero.CompiledModule

	mu    sync.Mutex // one request at a time
	warm  *warm
	timer *time.Timer
	dead  int64 // the armed deadline
	err   error // a failed instance: every later request fails

	pub      chan batch
	pubDone  chan struct{}
	lastSent chan struct{} // closed when the last queued batch was posted
	client   *http.Client
	closed   bool
}

// batch is the publish items of one handler call; sent is closed once they
// were posted.
type batch struct {
	items []handler.Item
	sent  chan struct{}
}

type warm struct {
	stdin  *io.PipeWriter
	stdout *io.PipeReader
	done   chan error
}

// New compiles the module and, in warm mode, starts its instance.
func New(ctx context.Context, opts Options) (*Runner, error) {
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	if opts.PerRequest && opts.StoreDir == "" {
		return nil, errors.New("runner: PerRequest needs a StoreDir")
	}
	if key := opts.Env["SOCKETCORE_GRIP_KEY"]; key != "" {
		// the module would refuse to start: say it here, once
		if _, err := handler.NewGripVerifier(key, ""); err != nil {
			return nil, fmt.Errorf("runner: SOCKETCORE_GRIP_KEY: %w", err)
		}
	}
	cfg := wazero.NewRuntimeConfigCompiler()
	if opts.CacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(opts.CacheDir)
		if err != nil {
			return nil, err
		}
		cfg = cfg.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	mod, err := rt.CompileModule(ctx, opts.Wasm)
	if err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("runner: compile: %w", err)
	}
	done := make(chan struct{})
	close(done)
	r := &Runner{opts: opts, rt: rt, mod: mod, pub: make(chan batch, 1024), pubDone: make(chan struct{}),
		lastSent: done, client: &http.Client{Timeout: publishTimeout}}
	if !opts.PerRequest {
		r.warm = r.startWarm(ctx)
	}
	go r.publisher()
	return r, nil
}

func (r *Runner) config(args ...string) wazero.ModuleConfig {
	cfg := wazero.NewModuleConfig().WithName("").WithArgs(append([]string{"wasi-handler"}, args...)...).
		WithStderr(r.opts.Stderr).WithSysWalltime().WithSysNanotime().WithRandSource(rand.Reader)
	for _, k := range slices.Sorted(maps.Keys(r.opts.Env)) {
		cfg = cfg.WithEnv(k, r.opts.Env[k])
	}
	return cfg
}

func (r *Runner) startWarm(ctx context.Context) *warm {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	w := &warm{stdin: inW, stdout: outR, done: make(chan error, 1)}
	cfg := r.config("serve").WithStdin(inR).WithStdout(outW)
	go func() { // owned by the Runner: ends when Close closes stdin
		_, err := r.rt.InstantiateModule(ctx, r.mod, cfg)
		err = exitErr(err)
		outW.CloseWithError(fmt.Errorf("runner: the warm instance ended: %v", err))
		w.done <- err
	}()
	return w
}

// exitErr maps a clean exit to nil.
func exitErr(err error) error {
	var ee *sys.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 0 {
		return nil
	}
	return err
}

// call runs one request through the handler; r.mu is held.
func (r *Runner) call(ctx context.Context, req handler.Request) (handler.Response, error) {
	var resp handler.Response
	if r.err != nil {
		return resp, r.err
	}
	if r.warm != nil {
		if err := handler.WriteFrame(r.warm.stdin, req); err != nil {
			r.err = err
			return resp, err
		}
		if err := handler.ReadFrame(r.warm.stdout, &resp); err != nil {
			r.err = err
			return resp, err
		}
		return resp, nil
	}
	var in, out bytes.Buffer
	if err := handler.WriteFrame(&in, req); err != nil {
		return resp, err
	}
	cfg := r.config().WithStdin(&in).WithStdout(&out).
		WithFSConfig(wazero.NewFSConfig().WithDirMount(r.opts.StoreDir, "/store"))
	mod, err := r.rt.InstantiateModule(ctx, r.mod, cfg)
	if mod != nil {
		mod.Close(ctx)
	}
	if err = exitErr(err); err != nil {
		return resp, fmt.Errorf("runner: handler instance: %w", err)
	}
	if err := handler.ReadFrame(&out, &resp); err != nil {
		return resp, err
	}
	return resp, nil
}

// ServeHTTP serves one proxied request.
func (r *Runner) ServeHTTP(w http.ResponseWriter, hr *http.Request) {
	body, err := io.ReadAll(io.LimitReader(hr.Body, handler.MaxFrame/2))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := handler.Request{Method: hr.Method, Path: hr.URL.Path, Query: hr.URL.RawQuery, Body: body,
		Header: map[string]string{}}
	for _, k := range handler.RequestHeaders {
		if v := hr.Header.Get(k); v != "" {
			req.Header[k] = v
		}
	}
	if v := hr.Header.Values("Grip-Last"); len(v) > 0 {
		req.Header["Grip-Last"] = strings.Join(v, ", ")
	}
	for k, v := range hr.Header {
		if strings.HasPrefix(k, "Meta-") && len(v) > 0 {
			req.Header[k] = v[0]
		}
	}
	resp, sent, err := r.serve(hr.Context(), req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	// The publishes of this call and of every call before it go first: a
	// response must not overtake frames the core wrote before it to the same
	// connection. Bounded by the publisher's own timeout per batch.
	select {
	case <-sent:
	case <-time.After(2 * publishTimeout):
		fmt.Fprintln(r.opts.Stderr, "runner: publishes still pending; answering anyway")
	}
	for k, v := range resp.Header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(resp.Status)
	w.Write(resp.Body)
}

// publishTimeout bounds one publish request.
const publishTimeout = 10 * time.Second

// serve calls the handler, queues its publishes and arms its tick. sent is
// closed when this call's publishes and all earlier ones were posted.
func (r *Runner) serve(ctx context.Context, req handler.Request) (resp handler.Response, sent <-chan struct{}, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return handler.Response{}, nil, errors.New("runner: closed")
	}
	resp, err = r.call(context.WithoutCancel(ctx), req)
	if err != nil {
		return resp, nil, err
	}
	if t := r.opts.Trace; t != nil {
		fmt.Fprintf(t, "%s tick=%v %s %s?%s cid=%s last=%q body=%q -> %d %q hold=%s\n", time.Now().Format("15:04:05.000"), req.Tick,
			req.Method, req.Path, req.Query, req.Header["Connection-Id"], req.Header["Grip-Last"], trunc(req.Body), resp.Status, trunc(resp.Body), resp.Header["Grip-Channel"])
		for _, it := range resp.Publish {
			b, _ := json.Marshal(it)
			fmt.Fprintf(t, "   publish %s\n", trunc(b))
		}
	}
	if len(resp.Publish) > 0 {
		b := batch{items: resp.Publish, sent: make(chan struct{})}
		r.pub <- b
		r.lastSent = b.sent
	}
	r.arm(resp.Deadline)
	return resp, r.lastSent, nil
}

func trunc(b []byte) []byte {
	if len(b) > 120 {
		return b[:120]
	}
	return b
}

// arm schedules a tick at the deadline (Unix ns); r.mu is held.
func (r *Runner) arm(deadline int64) {
	if deadline == 0 || deadline == r.dead {
		return
	}
	if r.timer != nil {
		r.timer.Stop()
	}
	r.dead = deadline
	r.timer = time.AfterFunc(time.Until(time.Unix(0, deadline)), func() {
		r.mu.Lock()
		due := r.dead == deadline
		r.mu.Unlock()
		if due {
			r.serve(context.Background(), handler.Request{Tick: true}) // its publishes need no waiting
		}
	})
}

// publisher posts the publish batches in order (one goroutine, owned by the
// Runner; ends when Close closes pub).
func (r *Runner) publisher() {
	defer close(r.pubDone)
	for b := range r.pub {
		r.post(b.items)
		close(b.sent)
	}
}

func (r *Runner) post(items []handler.Item) {
	if r.opts.PublishURL == "" {
		return
	}
	b, _ := json.Marshal(map[string]any{"items": items})
	resp, err := r.client.Post(r.opts.PublishURL, "application/json", bytes.NewReader(b))
	if err != nil {
		fmt.Fprintln(r.opts.Stderr, "runner: publish:", err)
		return
	}
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		fmt.Fprintf(r.opts.Stderr, "runner: publish: %s: %s\n", resp.Status, msg)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// Close stops the ticks, the warm instance and the publisher.
func (r *Runner) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	if r.timer != nil {
		r.timer.Stop()
	}
	var err error
	if r.warm != nil {
		r.warm.stdin.Close()
		select {
		case err = <-r.warm.done:
		case <-time.After(5 * time.Second):
			err = errors.New("runner: the warm instance did not stop")
		}
	}
	close(r.pub)
	r.mu.Unlock()
	<-r.pubDone
	r.rt.Close(ctx)
	return err
}
