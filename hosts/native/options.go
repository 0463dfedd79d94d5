package native

import (
	"crypto/rand"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/socketcore/socketcore/adapter"
	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/engine"
	"github.com/socketcore/socketcore/core/sio"
)

// Options configures a Server. Zero values take the defaults of Node's
// socket.io server.
type Options struct {
	Path           string        // default "/socket.io/"
	PingInterval   time.Duration // default 25s
	PingTimeout    time.Duration // default 20s
	ConnectTimeout time.Duration // default 45s
	UpgradeTimeout time.Duration // default 10s
	// MaxHTTPBufferSize bounds a polling POST body and a WebSocket message
	// (maxHttpBufferSize), default 1e6 bytes.
	MaxHTTPBufferSize int
	// Transports lists the accepted transports, default polling and websocket.
	Transports []string
	// DisableUpgrades stops offering the polling → WebSocket upgrade.
	DisableUpgrades bool
	// AllowEIO3 accepts Engine.IO v3 clients (Socket.IO 2.x), as Node's
	// allowEIO3.
	AllowEIO3 bool
	// Parser is the Socket.IO parser every client must use (Node's parser
	// option): DefaultParser, or MsgpackParser for clients configured with
	// socket.io-msgpack-parser. Handlers see the same arguments either way.
	Parser Parser
	// CORS is the cross-origin policy; nil sends no CORS headers and checks
	// no Origin.
	CORS *CORS
	// AllowRequest, if set, vets every handshake request; a non-nil error
	// refuses it with 403 {"code":4,"message":"Forbidden"} (or the error's text).
	AllowRequest func(r *http.Request) error
	// ClientJS, if set, is a file served at Path+"socket.io.js" (the
	// official client bundle, as Node's serveClient does).
	ClientJS string
	// WriteTimeout bounds one WebSocket write, default 10s.
	WriteTimeout time.Duration
	// Seed seeds the session and socket id generator; zero draws 32 bytes
	// from crypto/rand (tests pass a fixed seed).
	Seed [32]byte
	// Machine makes the protocol machine; nil runs the native core. Each
	// Server gets its own machine, and a new one if it fails (a core.wasm
	// that trapped).
	Machine NewMachine
	// Adapter joins the server to a cluster (adapter/redis, adapter/memory):
	// it is called once with the function that takes the other servers'
	// messages. Nil: a single server.
	Adapter func(receive adapter.Receive) (adapter.Adapter, error)
	// RequestsTimeout bounds a cluster request (FetchSockets, AllRooms,
	// ServerSideEmitWithAck), default 5s.
	RequestsTimeout time.Duration
	// Recovery enables connection state recovery (Node's
	// connectionStateRecovery): nil is off.
	Recovery *Recovery
	// Logger receives the server's own reports (a machine that failed and
	// was restarted); nil means slog.Default().
	Logger *slog.Logger
	// Observers see the sessions', sockets' and rooms' events as they
	// happen (observe.go): the admin UI, debug logs. A server started with
	// at least one reports rooms joined and left (core.Config.RoomEvents:
	// an output per membership change, which a server without observers
	// does not pay for); observers added later with Server.Observe see
	// them only then.
	Observers []Observer
	// Limits protects the server from clients that misbehave: event
	// rates, send queues and slow consumers, rooms per socket, namespaces
	// per connection, connections per address (limits.go). Zero: off.
	Limits Limits
	// PerMessageDeflate compresses WebSocket messages (RFC 7692) with the
	// clients that offer it, as Node's perMessageDeflate (deflate.go);
	// nil: off, Node's default.
	PerMessageDeflate *Deflate
	// HTTPCompression compresses polling responses by Accept-Encoding
	// (gzip, deflate), as Node's httpCompression (compress.go); nil: on
	// with threshold 1024, Node's default; &HTTPCompression{Disable: true}:
	// off.
	HTTPCompression *HTTPCompression
	// Cookie sends the session id as a cookie on the polling handshake's
	// answer, for cookie-based sticky sessions (Node's cookie option,
	// cookie.go); nil sends none.
	Cookie *Cookie
	// EventRules restrict what clients may emit, per namespace: the
	// events allowed, their sizes, whether catch-all handlers run
	// (events.go). A key is a namespace's name ("/chat") or, ending in
	// "*", a prefix of names ("/room-*", for the children of a dynamic
	// namespace; "*" alone: every namespace). A namespace follows the
	// rules of its own name if there is such a key, else those of its
	// longest matching prefix, alone (rules are not merged). Nil: no
	// rules, as in Node.
	EventRules map[string]EventRules
}

// Parser names a Socket.IO parser (sio.Parser): how packets travel.
type Parser = sio.Parser

const (
	// DefaultParser is socket.io-parser, the protocol's own encoding.
	DefaultParser = sio.DefaultParser
	// MsgpackParser is socket.io-msgpack-parser 3.x: every packet is one
	// binary MessagePack message.
	MsgpackParser = sio.MsgpackParser
)

// ParseParser returns the parser named "default" (or "") or "msgpack".
func ParseParser(name string) (Parser, error) { return sio.ParseParser(name) }

// CORS is a cross-origin policy. It also guards the WebSocket upgrade: a
// browser request whose Origin is not allowed is refused with 403.
type CORS struct {
	// Origins allowed; "*" allows any. Matching is exact on scheme://host[:port].
	Origins     []string
	Credentials bool
	// MaxAge of a preflight answer, default none.
	MaxAge time.Duration
}

func (c *CORS) allowAll() bool {
	for _, o := range c.Origins {
		if o == "*" {
			return true
		}
	}
	return false
}

func (c *CORS) allowed(origin string) bool {
	if c.allowAll() {
		return true
	}
	for _, o := range c.Origins {
		if strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}

func (o *Options) init() {
	if o.Path == "" {
		o.Path = "/socket.io/"
	}
	if !strings.HasSuffix(o.Path, "/") {
		o.Path += "/"
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.MaxHTTPBufferSize <= 0 {
		o.MaxHTTPBufferSize = 1_000_000
	}
	// "no limit" written as a huge number: bounded so that limit+1 (the
	// polling body's reader, the inflater) cannot wrap
	o.MaxHTTPBufferSize = min(o.MaxHTTPBufferSize, math.MaxInt32)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Seed == ([32]byte{}) {
		rand.Read(o.Seed[:])
	}
}

// Recovery configures connection state recovery: a client that lost its
// connection and comes back within MaxDisconnectionDuration gets its
// socket back — id, rooms, Data — with every packet it missed
// (Socket.Recovered reports it).
type Recovery struct {
	// MaxDisconnectionDuration is the window, default 2 minutes.
	MaxDisconnectionDuration time.Duration
	// RunMiddlewares runs the namespace's middleware for recovered sockets
	// too; by default they skip it (Node's skipMiddlewares: true).
	RunMiddlewares bool
	// MaxPackets and MaxBytes bound the packets kept for recovery
	// (defaults 100,000 and 64 MiB); the oldest go first.
	MaxPackets int
	MaxBytes   int
	// Shared keeps the sessions and the packets they may miss in the
	// cluster adapter's store (adapter.RecoveryStore: Redis for
	// adapter/redis) instead of this server's memory alone, so that a
	// client resumes on any server of the cluster — the one it was on
	// may have died. Start fails (ErrNoRecoveryStore) without such an
	// adapter. MaxPackets also bounds each namespace's log in the store.
	Shared bool
}

func (o *Options) engineConfig() engine.Config {
	var t engine.Transports
	for _, name := range o.Transports {
		switch name {
		case "polling":
			t |= engine.Polling
		case "websocket":
			t |= engine.WebSocket
		}
	}
	return engine.Config{
		PingInterval:    o.PingInterval,
		PingTimeout:     o.PingTimeout,
		UpgradeTimeout:  o.UpgradeTimeout,
		MaxPayload:      o.MaxHTTPBufferSize,
		Transports:      t,
		DisableUpgrades: o.DisableUpgrades,
		AllowEIO3:       o.AllowEIO3,
		Seed:            o.Seed,
		// polling's send queue (Limits.MaxSendQueue)
		MaxBufferedBytes: o.Limits.pollingBuffer(),
	}
}

func (o *Options) coreConfig() core.Config {
	c := core.Config{Config: o.engineConfig(), ConnectTimeout: o.ConnectTimeout, DynamicNamespaces: true,
		Cluster: o.Adapter != nil, RequestsTimeout: o.RequestsTimeout, Parser: o.Parser,
		RoomEvents: len(o.Observers) > 0}
	if r := o.Recovery; r != nil {
		c.RecoveryWindow = r.MaxDisconnectionDuration
		if c.RecoveryWindow <= 0 {
			c.RecoveryWindow = 2 * time.Minute
		}
		c.RecoveryMaxPackets, c.RecoveryMaxBytes = r.MaxPackets, r.MaxBytes
		c.RecoveryStore = r.Shared && o.Adapter != nil
	}
	return c
}
