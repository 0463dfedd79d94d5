// Package engine is the Engine.IO v4 server machine (and v3 with
// Config.AllowEIO3): handshakes, sessions, heartbeat, long-polling buffers,
// the polling→WebSocket upgrade, limits and the official server's HTTP
// errors. It knows nothing of namespaces: the Socket.IO layer plugs in
// through Handler, and without one the machine is a plain Engine.IO server
// that reports MessageReceived.
//
// It performs no I/O and reads no clock: the host feeds wire.Input values with
// the current instant and drains wire.Output values (STYLE.md §3). It may import
// only core/* and the standard library's pure packages.
package engine

import "time"

// Transports selects the transports a server accepts. Zero means both.
type Transports uint8

const (
	Polling   Transports = 1 << iota // HTTP long-polling
	WebSocket                        // WebSocket
)

// Config configures a Server. Zero values take the documented defaults
// (those of the official Node server).
type Config struct {
	PingInterval   time.Duration // default 25s
	PingTimeout    time.Duration // default 20s
	UpgradeTimeout time.Duration // default 10s: a probe WebSocket that does not complete the upgrade is closed
	CloseTimeout   time.Duration // default 30s: how long a closing polling session waits for its last GET
	MaxPayload     int           // default 1e6 bytes (maxHttpBufferSize): POST body and WebSocket message limit
	// MaxBufferedBytes bounds the bytes queued for one polling session that
	// has no GET pending; past it the session is closed as a slow consumer
	// (ReasonSlowConsumer). A lone packet always fits an empty buffer.
	// Default 16 MiB.
	MaxBufferedBytes int
	Transports       Transports // default Polling|WebSocket
	DisableUpgrades  bool       // do not offer "websocket" in the polling handshake
	// AllowEIO3 accepts Engine.IO v3 clients (Socket.IO 2.x) besides v4,
	// as Node's allowEIO3: a handshake whose EIO is not "4" is a v3 session
	// (eio3.go). Off, such a handshake gets 400 "Unsupported protocol
	// version".
	AllowEIO3 bool
	// Seed seeds the session id generator. Hosts pass crypto-random bytes.
	Seed [32]byte
}

// ReasonSlowConsumer closes a session whose client does not take what is
// sent to it: a polling session past MaxBufferedBytes (and, in the native
// host, a WebSocket past its send queue's bound). The official server has
// no such bound, and so no such reason; its client sees its transport close
// and reconnects.
const ReasonSlowConsumer = "slow consumer"

func (c *Config) init() {
	if c.PingInterval <= 0 {
		c.PingInterval = 25 * time.Second
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = 20 * time.Second
	}
	if c.UpgradeTimeout <= 0 {
		c.UpgradeTimeout = 10 * time.Second
	}
	if c.CloseTimeout <= 0 {
		c.CloseTimeout = 30 * time.Second
	}
	if c.MaxPayload <= 0 {
		c.MaxPayload = 1_000_000
	}
	if c.MaxBufferedBytes <= 0 {
		c.MaxBufferedBytes = 16 << 20
	}
	if c.Transports == 0 {
		c.Transports = Polling | WebSocket
	}
}
