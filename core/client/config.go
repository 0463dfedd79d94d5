package client

import (
	"errors"
	"strings"
	"time"

	"github.com/socketcore/socketcore/core/sio"
)

// Transport names, as in the official client's `transports` option.
const (
	Polling   = "polling"
	WebSocket = "websocket"
)

// Config configures a Manager: one Engine.IO connection to one server and
// the namespace sockets multiplexed on it. Zero values take the defaults of
// socket.io-client 4.8 (its option names are given in parentheses).
type Config struct {
	// Secure selects https/wss instead of http/ws.
	Secure bool
	// Host is the server's "host[:port]" as written in a URL (an IPv6
	// address in brackets). Required.
	Host string
	// Path is the Engine.IO path (path), default "/socket.io/"; a trailing
	// slash is added when missing (addTrailingSlash).
	Path string
	// Query is extra URL query (query), already encoded ("a=1&b=2"); it
	// comes first in every request's query.
	Query string
	// Transports lists the transports to use, in order (transports),
	// default {"polling", "websocket"}: the first opens the session, later
	// ones are upgrade targets.
	Transports []string
	// NoUpgrade disables the polling → WebSocket upgrade (upgrade: false).
	NoUpgrade bool
	// RememberUpgrade opens with WebSocket directly once a WebSocket
	// connection of this manager succeeded (rememberUpgrade).
	RememberUpgrade bool
	// TryAllTransports tries the next transport when the first fails to
	// open (tryAllTransports).
	TryAllTransports bool
	// NoTimestamp leaves the cache-busting "t" parameter out of polling
	// requests (timestampRequests: false).
	NoTimestamp bool

	// NoReconnection disables reconnection (reconnection: false).
	NoReconnection bool
	// ReconnectionAttempts bounds the attempts in a row
	// (reconnectionAttempts); 0 means no bound (Infinity).
	ReconnectionAttempts int
	// ReconnectionDelay is the first delay (reconnectionDelay), default 1s;
	// it doubles with every attempt up to ReconnectionDelayMax (default 5s).
	ReconnectionDelay    time.Duration
	ReconnectionDelayMax time.Duration
	// RandomizationFactor is the jitter (randomizationFactor), default 0.5;
	// a negative value means none (0 in JS). Values above 1 mean none, as
	// backo2 ignores them.
	RandomizationFactor float64
	// Timeout bounds the Engine.IO handshake of one attempt (timeout),
	// default 20s; negative disables it (timeout: false).
	Timeout time.Duration

	// MaxAttachments and MaxDepth bound what the decoder accepts (defaults
	// 10 and 64, as the server); MaxPendingAcks bounds the server's
	// acknowledgement requests waiting for the application (default 1024,
	// the oldest is forgotten).
	MaxAttachments int
	MaxDepth       int
	MaxPendingAcks int

	// Parser is the Socket.IO parser (parser), which must be the server's:
	// sio.DefaultParser, or sio.MsgpackParser (socket.io-msgpack-parser,
	// one binary message per packet). Other values mean the default.
	Parser sio.Parser

	// Seed seeds the reconnection jitter and the cache-busting tokens.
	// Hosts pass crypto-random bytes; tests pass a fixed seed.
	Seed [32]byte
}

// SocketOptions configures one namespace socket (the per-socket options of
// io(url, opts) / manager.socket(nsp, opts)).
type SocketOptions struct {
	// Auth is the CONNECT payload (auth), a raw JSON object; nil sends none.
	Auth []byte
	// DynamicAuth asks the host for the payload before every CONNECT
	// (an auth function): the machine outputs AuthRequested and waits for
	// SetAuth.
	DynamicAuth bool
	// Retries makes emits at-least-once (retries): each waits in a queue,
	// one at a time, for the server's acknowledgement, and is sent again
	// (with a new packet id) when the acknowledgement times out or the
	// connection drops, up to Retries more times.
	Retries int
	// AckTimeout is the default acknowledgement timeout (ackTimeout); 0
	// means none.
	AckTimeout time.Duration
}

// ErrConfig reports an invalid Config.
var ErrConfig = errors.New("client: invalid config")

func (c *Config) init() error {
	if c.Host == "" {
		return ErrConfig
	}
	if c.Path == "" {
		c.Path = "/socket.io/"
	}
	if !strings.HasPrefix(c.Path, "/") {
		c.Path = "/" + c.Path
	}
	if !strings.HasSuffix(c.Path, "/") {
		c.Path += "/"
	}
	if len(c.Transports) == 0 {
		c.Transports = []string{Polling, WebSocket}
	}
	for _, t := range c.Transports {
		if t != Polling && t != WebSocket {
			return ErrConfig
		}
	}
	c.Transports = append([]string(nil), c.Transports...)
	if c.ReconnectionDelay <= 0 {
		c.ReconnectionDelay = time.Second
	}
	if c.ReconnectionDelayMax <= 0 {
		c.ReconnectionDelayMax = 5 * time.Second
	}
	switch {
	case c.RandomizationFactor == 0:
		c.RandomizationFactor = 0.5
	case c.RandomizationFactor < 0 || c.RandomizationFactor > 1:
		c.RandomizationFactor = 0
	}
	if c.Timeout == 0 {
		c.Timeout = 20 * time.Second
	}
	if c.MaxAttachments <= 0 {
		c.MaxAttachments = 10
	}
	if c.MaxDepth <= 0 {
		c.MaxDepth = 64
	}
	if c.MaxPendingAcks <= 0 {
		c.MaxPendingAcks = 1024
	}
	return nil
}
