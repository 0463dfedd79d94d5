// Command socketcore is a Socket.IO 4.x server.
//
//	socketcore [serve] [--addr 127.0.0.1:3000] [--path /socket.io/] [--cors-origin ORIGINS] [--redis redis://...] [--parser msgpack] ...
//	socketcore conformance [--engine-addr HOST:PORT] [--sio-addr HOST:PORT]
//	socketcore bench-server [--addr 127.0.0.1:3004]
//	socketcore help-config [serve|conformance|bench-server] [--readme README.md]
//
// Every flag can also be set from the environment, SOCKETCORE_<FLAG> with
// dashes as underscores (SOCKETCORE_ADDR, SOCKETCORE_CORS_ORIGIN, ...), and
// from a YAML file (--config FILE or SOCKETCORE_CONFIG) whose keys are the
// flags' names; the command line wins over the environment, which wins over
// the file (config.go). help-config prints the table of them all.
package main

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/socketcore/socketcore/adapter"
	redisadapter "github.com/socketcore/socketcore/adapter/redis"
	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/engine"
	"github.com/socketcore/socketcore/core/wire"
	"github.com/socketcore/socketcore/hosts/native"
	"github.com/socketcore/socketcore/hosts/native/debuglog"
	"github.com/socketcore/socketcore/wasm/host"
)

//go:embed web
var webFS embed.FS

func main() {
	args := os.Args[1:]
	mode := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		mode, args = args[0], args[1:]
	}
	var err error
	if mode == "help-config" {
		err = helpConfig(args, os.Stdout)
	} else if cmd := command(mode); cmd == nil {
		err = fmt.Errorf("unknown mode %q (serve, conformance, bench-server, help-config)", mode)
	} else {
		err = cmd(args, parse)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "socketcore:", err)
		os.Exit(1)
	}
}

// command returns the subcommand called mode, nil for none. Each one builds
// its FlagSet, has parse fill it, then runs; help-config passes a parse that
// prints the FlagSet instead, so the table cannot miss a flag.
func command(mode string) func(args []string, parse parseFunc) error {
	switch mode {
	case "serve":
		return serve
	case "conformance":
		return conformance
	case "bench-server":
		return benchServer
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// coreFlags choose the protocol machine: the native core, or core.wasm run
// by wazero (the same core compiled to WebAssembly).
type coreFlags struct {
	kind     string
	wasmPath string
	cacheDir string
	mod      *host.Module // loaded once, for every machine of the process
}

func (c *coreFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.kind, "core", "native", "protocol core: native, or wasm (core.wasm through wazero)")
	fs.StringVar(&c.wasmPath, "core-wasm", "build/core.wasm", "core.wasm for --core=wasm (make wasm builds it)")
	fs.StringVar(&c.cacheDir, "wasm-cache", "", "directory for wazero's compiled code (faster restarts)")
}

// module loads core.wasm for --core=wasm (once); nil for native.
func (c *coreFlags) module() (*host.Module, error) {
	switch c.kind {
	case "", "native":
		return nil, nil
	case "wasm":
		if c.mod == nil {
			mod, err := host.Load(context.Background(), c.wasmPath, host.Options{CacheDir: c.cacheDir, Stderr: os.Stderr})
			if err != nil {
				return nil, fmt.Errorf("--core=wasm: %w (run `make wasm`, or set --core-wasm)", err)
			}
			c.mod = mod
		}
		return c.mod, nil
	}
	return nil, fmt.Errorf("--core=%q: want native or wasm", c.kind)
}

// machine returns the Machine factory for the options, nil for native.
func (c *coreFlags) machine() (native.NewMachine, error) {
	mod, err := c.module()
	if mod == nil || err != nil {
		return nil, err
	}
	return func(cfg core.Config) (native.Machine, error) {
		return mod.NewMachine(context.Background(), cfg)
	}, nil
}

// engineMachine returns the EngineMachine factory (core.wasm's engine
// role), nil for native.
func (c *coreFlags) engineMachine() (native.NewEngineMachine, error) {
	mod, err := c.module()
	if mod == nil || err != nil {
		return nil, err
	}
	return func(cfg engine.Config) (native.EngineMachine, error) {
		return mod.NewEngineMachine(context.Background(), cfg)
	}, nil
}

// clusterFlags join the server to a Redis cluster shared with other
// socketcore and Node socket.io servers (@socket.io/redis-adapter's
// classic protocol).
type clusterFlags struct {
	redisURL        string
	key             string
	specific        bool
	requestsTimeout time.Duration
	recovery        time.Duration
	recoveryShared  bool
	allowEIO3       bool
	parser          string
	sharded         bool
	subscription    string
	postgres        postgresFlags // --postgres: PostgreSQL instead of Redis (postgres.go)
}

func (c *clusterFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.redisURL, "redis", "", "join a cluster through Redis: redis://[user:pass@]host:port[/db] (empty: single server, in-memory)")
	fs.StringVar(&c.key, "redis-key", "socket.io", "prefix of the cluster's Redis channels (the adapter's key option)")
	fs.BoolVar(&c.specific, "redis-specific-response-channel", false, "answer requests on the requester's own channel (publishOnSpecificResponseChannel)")
	fs.DurationVar(&c.requestsTimeout, "requests-timeout", 5*time.Second, "how long cluster requests (fetchSockets, serverSideEmit acks) wait for every server")
	fs.BoolVar(&c.sharded, "redis-sharded", false, "speak the sharded adapter's protocol (SPUBLISH/SSUBSCRIBE, Redis 7; Node's createShardedAdapter)")
	fs.StringVar(&c.subscription, "redis-subscription-mode", "", "sharded mode's subscriptionMode: dynamic (default), dynamic-private or static")
	c.postgres.register(fs)
	fs.BoolVar(&c.allowEIO3, "allow-eio3", false, "accept Engine.IO v3 clients (Socket.IO 2.x), as Node's allowEIO3")
	fs.StringVar(&c.parser, "parser", "default", "Socket.IO parser every client must use: default (socket.io-parser) or msgpack (socket.io-msgpack-parser)")
	fs.DurationVar(&c.recovery, "recovery", 0, "connection state recovery window (maxDisconnectionDuration, e.g. 2m); 0: off")
	fs.BoolVar(&c.recoveryShared, "recovery-shared", true, "with --redis: keep recovery's sessions and missed packets in Redis, so that a client recovers on any server of the cluster (false: in this server's memory)")
}

// apply sets the options' adapter when --redis is given.
func (c *clusterFlags) apply(o *native.Options) error {
	o.RequestsTimeout = c.requestsTimeout
	o.AllowEIO3 = c.allowEIO3
	p, err := native.ParseParser(c.parser)
	if err != nil {
		return fmt.Errorf("--parser %q: want default or msgpack", c.parser)
	}
	o.Parser = p
	if c.recovery > 0 {
		o.Recovery = &native.Recovery{MaxDisconnectionDuration: c.recovery, Shared: c.recoveryShared && c.redisURL != ""}
	}
	if c.postgres.url != "" {
		return c.postgres.apply(o, c)
	}
	if c.redisURL == "" {
		return nil
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	clog := debuglog.Subsystem(log, debuglog.Cluster) // the adapter's messages; debug ones with socketcore:cluster
	ropts, err := goredis.ParseURL(c.redisURL)
	if err != nil {
		return fmt.Errorf("--redis: %w", err)
	}
	o.Adapter = func(receive adapter.Receive) (adapter.Adapter, error) {
		client := goredis.NewClient(ropts)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a, err := redisadapter.New(ctx, redisadapter.Options{
			Client: client, Prefix: c.key, PublishOnSpecificResponseChannel: c.specific,
			Receive: debuglog.ClusterReceive(clog, receive),
			Sharded: c.sharded, SubscriptionMode: redisadapter.SubscriptionMode(c.subscription),
			Logger: clog,
		})
		if err != nil {
			client.Close()
			return nil, fmt.Errorf("--redis %s: %w", c.redisURL, err)
		}
		log.Info("socketcore: joined the Redis cluster", "addr", ropts.Addr, "key", c.key, "uid", a.UID())
		return ownedClient{a, client, clog}, nil
	}
	return nil
}

// ownedClient closes the Redis client the command made with its adapter,
// and logs what it publishes for socketcore:cluster.
type ownedClient struct {
	*redisadapter.Adapter
	client *goredis.Client
	log    *slog.Logger
}

func (o ownedClient) Publish(ctx context.Context, m wire.ClusterMessage) error {
	err := o.Adapter.Publish(ctx, m)
	debuglog.ClusterPublished(o.log, m, err)
	return err
}

func (o ownedClient) Close() error {
	err := o.Adapter.Close()
	o.client.Close()
	return err
}

type commonFlags struct {
	core         coreFlags
	cluster      clusterFlags
	path         string
	cors         string
	pingInterval time.Duration
	pingTimeout  time.Duration
	connectTO    time.Duration
	maxBuffer    int
	transports   string
}

func (c *commonFlags) register(fs *flag.FlagSet, path string) {
	c.core.register(fs)
	c.cluster.register(fs)
	fs.StringVar(&c.path, "path", path, "request path of the Socket.IO endpoint")
	fs.StringVar(&c.cors, "cors-origin", "", `allowed CORS origins, comma-separated ("*" for any; empty: no CORS)`)
	fs.DurationVar(&c.pingInterval, "ping-interval", 25*time.Second, "Engine.IO ping interval")
	fs.DurationVar(&c.pingTimeout, "ping-timeout", 20*time.Second, "Engine.IO ping timeout")
	fs.DurationVar(&c.connectTO, "connect-timeout", 45*time.Second, "time a client has to join a namespace")
	fs.IntVar(&c.maxBuffer, "max-http-buffer-size", 1_000_000, "largest message or polling POST, in bytes")
	fs.StringVar(&c.transports, "transports", "polling,websocket", "accepted transports")
}

// options are the server's options; log gets the server's messages.
func (c *commonFlags) options(log *slog.Logger) (native.Options, error) {
	m, err := c.core.machine()
	if err != nil {
		return native.Options{}, err
	}
	o := native.Options{
		Logger:            log,
		Machine:           m,
		Path:              c.path,
		PingInterval:      c.pingInterval,
		PingTimeout:       c.pingTimeout,
		ConnectTimeout:    c.connectTO,
		MaxHTTPBufferSize: c.maxBuffer,
		Transports:        splitList(c.transports),
	}
	if origins := splitList(c.cors); len(origins) > 0 {
		o.CORS = &native.CORS{Origins: origins}
	}
	return o, c.cluster.apply(&o)
}

// listen serves h on addr until SIGINT/SIGTERM or ctx ends.
func listen(ctx context.Context, addr string, h http.Handler) (*http.Server, net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    64 << 10,
		IdleTimeout:       120 * time.Second,
	}
	go hs.Serve(ln)
	return hs, ln, nil
}

func waitSignal() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	<-ch
	signal.Stop(ch)
}

func shutdown(hs ...*http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	for _, h := range hs {
		h.Shutdown(ctx)
	}
}

func serve(args []string, parse parseFunc) error {
	fs, ops := newFlagSet("serve")
	addr := fs.String("addr", "127.0.0.1:3000", "listen address")
	clientJS := fs.String("client-js", "node_modules/socket.io-client/dist/socket.io.min.js", "official client bundle served at PATH/socket.io.js (empty: none)")
	sdkDir := fs.String("sdk", "sdk/js/dist", "the JS SDK (make sdk) served at /sdk/, which the demo page loads (empty: none)")
	var c commonFlags
	c.register(fs, "/socket.io/")
	var drain drainFlags // drain.go
	drain.register(fs)
	var mf metricsFlags // metrics.go
	mf.register(fs)
	var adm adminFlags // admin.go
	adm.register(fs)
	var lf limitsFlags // limits.go
	lf.register(fs)
	var ef eventsFlags // events.go
	ef.register(fs)
	var tf tlsFlags // tls.go
	tf.register(fs)
	var zf compressFlags // compress.go
	zf.register(fs)
	var ck cookieFlags // cookie.go
	ck.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	log, err := ops.logger(os.Stderr)
	if err != nil {
		return err
	}
	opts, err := c.options(log)
	if err != nil {
		return err
	}
	opts.Observers = append(opts.Observers, ops.observers(log)...)
	if err := adm.apply(&opts, log); err != nil {
		return err
	}
	if err := lf.apply(&opts); err != nil {
		return err
	}
	if err := ef.apply(&opts); err != nil {
		return err
	}
	if err := ck.apply(&opts, tf.on()); err != nil {
		return err
	}
	if err := zf.apply(&opts); err != nil {
		return err
	}
	if _, err := os.Stat(*clientJS); err == nil {
		opts.ClientJS = *clientJS
	} else if *clientJS != "" {
		log.Warn("socketcore: the official client bundle is missing (run `npm ci`); "+c.path+"socket.io.js is not served", "client-js", *clientJS)
	}
	srv, err := native.Start(opts)
	if err != nil {
		return err
	}
	defer srv.Close()
	stopMetrics, err := mf.start(log, srv) // metrics.go
	if err != nil {
		return err
	}
	defer stopMetrics()
	chat(srv)
	mux := http.NewServeMux()
	mux.Handle(srv.Path(), srv)
	stopAdmin, err := adm.start(log, srv, mux)
	if err != nil {
		return err
	}
	defer stopAdmin()
	web, _ := fs2sub(webFS, "web")
	mux.Handle("/", http.FileServer(http.FS(web)))
	if _, err := os.Stat(*sdkDir + "/index.js"); err == nil {
		mux.Handle("/sdk/", http.StripPrefix("/sdk/", http.FileServer(http.Dir(*sdkDir))))
	} else if *sdkDir != "" {
		log.Warn("socketcore: the JS SDK is missing (run `make sdk`); the demo page needs it", "sdk", *sdkDir)
	}
	tf.log = log
	hs, ln, scheme, err := tf.listen(*addr, mux) // tls.go: https when configured
	if err != nil {
		return err
	}
	log.Info("socketcore: serving Socket.IO", "url", scheme+"://"+ln.Addr().String()+srv.Path(), "demo", scheme+"://"+ln.Addr().String()+"/")
	drain.serveUntilSignal(log, srv, hs) // SIGTERM: drain, then stop (drain.go)
	return nil
}

func fs2sub(f embed.FS, dir string) (fs.FS, error) { return fs.Sub(f, dir) }

// chat is the demo page's server side.
func chat(srv *native.Server) {
	presence := func() {
		srv.Emit("presence", map[string]any{"count": len(srv.Of("/").SocketIDs())})
	}
	srv.OnConnection(func(s *native.Socket) {
		var auth struct {
			Name string `json:"name"`
		}
		json.Unmarshal(s.Handshake().Auth, &auth)
		from := strings.TrimSpace(auth.Name)
		if from == "" || len(from) > 40 {
			from = s.ID()[:6]
		}
		s.On("chat", func(text string) {
			if text = strings.TrimSpace(text); text == "" || len(text) > 2000 {
				return
			}
			srv.Emit("chat", map[string]any{"from": from, "text": text, "at": time.Now().UnixMilli()})
		})
		s.OnDisconnect(func(string) { presence() })
		presence()
	})
}

func conformance(args []string, parse parseFunc) error {
	fs, ops := newFlagSet("conformance")
	engineAddr := fs.String("engine-addr", "127.0.0.1:3000", "Engine.IO echo server address (path /engine.io/); empty: off")
	sioAddr := fs.String("sio-addr", "127.0.0.1:3001", "Socket.IO server address (path /socket.io/); empty: off")
	var cf coreFlags
	cf.register(fs)
	var cl clusterFlags
	cl.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	log, err := ops.logger(os.Stderr)
	if err != nil {
		return err
	}
	machine, err := cf.machine()
	if err != nil {
		return err
	}
	engineMachine, err := cf.engineMachine()
	if err != nil {
		return err
	}
	var (
		servers []*http.Server
		closers []func() error // the protocol servers, closed before HTTP shuts down
	)
	base := native.Options{
		PingInterval:   300 * time.Millisecond,
		PingTimeout:    200 * time.Millisecond,
		ConnectTimeout: time.Second,
		CORS:           &native.CORS{Origins: []string{"*"}},
		Logger:         log,
		Observers:      ops.observers(log),
	}
	if *engineAddr != "" {
		eo := base
		eo.Path = "/engine.io/"
		es, err := native.StartEngine(eo, engineMachine) // core.wasm's engine role with --core=wasm
		if err != nil {
			return err
		}
		defer es.Close()
		closers = append(closers, es.Close)
		es.OnMessage = func(e *native.EngineServer, sid string, data []byte, binary bool) {
			e.SendLocked(sid, data, binary)
		}
		mux := http.NewServeMux()
		mux.Handle(es.Path(), es)
		hs, ln, err := listen(context.Background(), *engineAddr, mux)
		if err != nil {
			return err
		}
		servers = append(servers, hs)
		log.Info("socketcore: Engine.IO conformance server", "url", "http://"+ln.Addr().String()+"/engine.io/")
	}
	if *sioAddr != "" {
		so := base
		so.Machine = machine
		if err := cl.apply(&so); err != nil {
			return err
		}
		srv, err := native.Start(so)
		if err != nil {
			return err
		}
		defer srv.Close()
		closers = append(closers, srv.Close)
		ConformanceApp(srv)
		mux := http.NewServeMux()
		mux.Handle(srv.Path(), srv)
		hs, ln, err := listen(context.Background(), *sioAddr, mux)
		if err != nil {
			return err
		}
		servers = append(servers, hs)
		log.Info("socketcore: Socket.IO conformance server", "url", "http://"+ln.Addr().String()+"/socket.io/")
	}
	if len(servers) == 0 {
		return errors.New("nothing to serve")
	}
	waitSignal()
	for _, c := range closers {
		c()
	}
	shutdown(servers...)
	return nil
}

// ConformanceApp is the application of CONFORMANCE-SERVERS.md section B:
// "/" and "/custom", each greeting with "auth"; "message" echoed as
// "message-back"; "message-with-ack" acknowledged with its arguments.
func ConformanceApp(srv *native.Server) {
	for _, name := range []string{"/", "/custom"} {
		srv.Of(name).OnConnection(func(s *native.Socket) {
			s.Emit("auth", s.Handshake().Auth)
			s.On("message", func(args native.Args) {
				s.Emit("message-back", args.Values()...)
			})
			s.On("message-with-ack", func(args native.Args, ack native.Ack) {
				ack(args.Values()...)
			})
		})
	}
}

func benchServer(args []string, parse parseFunc) error {
	fs, ops := newFlagSet("bench-server")
	addr := fs.String("addr", "127.0.0.1:3004", "listen address")
	pprofAddr := fs.String("pprof", "", "serve net/http/pprof on this address (e.g. 127.0.0.1:6060; empty: off)")
	var cf coreFlags
	cf.register(fs)
	var cl clusterFlags
	cl.register(fs)
	var mf metricsFlags // metrics.go
	mf.register(fs)
	var ck cookieFlags // cookie.go
	ck.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	log, err := ops.logger(os.Stderr)
	if err != nil {
		return err
	}
	machine, err := cf.machine()
	if err != nil {
		return err
	}
	bo := native.Options{Machine: machine, Logger: log, Observers: ops.observers(log)}
	if err := cl.apply(&bo); err != nil {
		return err
	}
	if err := ck.apply(&bo, false); err != nil {
		return err
	}
	srv, err := native.Start(bo)
	if err != nil {
		return err
	}
	defer srv.Close()
	stopMetrics, err := mf.start(log, srv) // metrics.go
	if err != nil {
		return err
	}
	defer stopMetrics()
	BenchApp(srv)
	mux := http.NewServeMux()
	mux.Handle(srv.Path(), srv)
	hs, ln, err := listen(context.Background(), *addr, mux)
	if err != nil {
		return err
	}
	log.Info("socketcore: bench server", "url", "http://"+ln.Addr().String()+"/socket.io/")
	var ps *http.Server
	if *pprofAddr != "" {
		pm := http.NewServeMux()
		pm.HandleFunc("/debug/pprof/", pprof.Index)
		pm.HandleFunc("/debug/pprof/profile", pprof.Profile)
		pm.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		pm.HandleFunc("/debug/pprof/trace", pprof.Trace)
		if ps, _, err = listen(context.Background(), *pprofAddr, pm); err != nil {
			return err
		}
	}
	waitSignal()
	srv.Close()
	shutdown(hs)
	if ps != nil {
		shutdown(ps)
	}
	return nil
}

// BenchApp implements ../shared/bench/BENCH-PROTOCOL.md with the public API.
func BenchApp(srv *native.Server) {
	srv.OnConnection(func(s *native.Socket) {
		s.On("echo", func(args native.Args, ack native.Ack) {
			vals := make([]any, len(args.Raw))
			for i, r := range args.Raw {
				vals[i] = r // raw JSON goes back as is
			}
			ack(vals...)
		})
		s.On("join", func(room string, ack native.Ack) {
			s.Join(room)
			ack("ok")
		})
		s.On("broadcast", func(payload native.Args, ack native.Ack) {
			var p any = nil
			if payload.Len() > 0 {
				p = payload.Raw[0]
			}
			srv.To("bench").Emit("tick", p)
			ack()
		})
	})
}
