package main

// The protections of `serve` against clients that misbehave
// (native.Limits): event rates, send queues and slow consumers, rooms per
// socket, namespaces per connection, connections per address. Every one is
// off by default, as in Node's server.

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/socketcore/socketcore/hosts/native"
)

// limitsFlags are native.Limits as flags.
type limitsFlags struct {
	rate          string
	burst         int
	eventRates    string
	action        string
	maxRooms      int
	maxNamespaces int
	maxConnsPerIP int
	trustProxy    bool
	maxSendQueue  int
	slowGrace     time.Duration
}

func (l *limitsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&l.rate, "rate-limit", "", `events one socket may send, as a token bucket's rate: "100/s", "600/m", "2/h" (empty: no limit)`)
	fs.IntVar(&l.burst, "rate-burst", 0, "events a socket may send at once after a quiet spell, the bucket's size (0: the per-second rate, rounded up)")
	fs.StringVar(&l.eventRates, "rate-limit-events", "", `per-event rates on top of --rate-limit, comma-separated NAME=RATE[:BURST] ("chat=5/s:10,typing=20/s")`)
	fs.StringVar(&l.action, "rate-limit-action", "drop", `what an event over a rate gets: drop, error-ack (its ack answered {"error":"rate limit exceeded","retryAfterMs":N}) or disconnect (the socket leaves: "rate limit exceeded")`)
	fs.IntVar(&l.maxRooms, "max-rooms-per-socket", 0, "rooms a socket may be in, its own not counted; a join past it fails (0: no limit)")
	fs.IntVar(&l.maxNamespaces, "max-namespaces-per-connection", 0, `namespaces a connection may join; a CONNECT past it gets connect_error "Too many namespaces" (0: no limit)`)
	fs.IntVar(&l.maxConnsPerIP, "max-conns-per-ip", 0, `sessions open from one client address; a handshake past it gets 403 "Too many connections" (0: no limit)`)
	fs.BoolVar(&l.trustProxy, "trust-proxy", false, "take the client address for --max-conns-per-ip from the last X-Forwarded-For entry (only behind a proxy that sets it)")
	fs.IntVar(&l.maxSendQueue, "max-send-queue", 0, "bytes waiting to be sent to one connection before volatile packets are dropped and the slow-consumer grace starts; twice it closes the connection at once (0: 4096 queued writes per WebSocket, 16 MiB per polling session)")
	fs.DurationVar(&l.slowGrace, "slow-consumer-grace", 5*time.Second, "how long a WebSocket may stay over --max-send-queue before it is closed (\"slow consumer\")")
}

// apply sets the options' Limits.
func (l *limitsFlags) apply(o *native.Options) error {
	lim := native.Limits{
		MaxRoomsPerSocket:          l.maxRooms,
		MaxNamespacesPerConnection: l.maxNamespaces,
		MaxConnectionsPerIP:        l.maxConnsPerIP,
		TrustProxy:                 l.trustProxy,
		MaxSendQueue:               l.maxSendQueue,
		SlowConsumerGrace:          l.slowGrace,
	}
	var err error
	if lim.EventRate, err = native.ParseRate(l.rate); err != nil {
		return fmt.Errorf("--rate-limit: %w", err)
	}
	lim.EventRate.Burst = l.burst
	if lim.OnLimit, err = native.ParseLimitAction(l.action); err != nil {
		return fmt.Errorf("--rate-limit-action: %w", err)
	}
	for _, item := range splitList(l.eventRates) {
		name, spec, ok := strings.Cut(item, "=")
		if !ok || strings.TrimSpace(name) == "" {
			return fmt.Errorf("--rate-limit-events: %q: want NAME=RATE[:BURST]", item)
		}
		spec, burst, hasBurst := strings.Cut(spec, ":")
		r, err := native.ParseRate(spec)
		if err != nil {
			return fmt.Errorf("--rate-limit-events: %w", err)
		}
		if hasBurst {
			if r.Burst, err = strconv.Atoi(strings.TrimSpace(burst)); err != nil || r.Burst < 1 {
				return fmt.Errorf("--rate-limit-events: %q: the burst is a positive number", item)
			}
		}
		if lim.EventRates == nil {
			lim.EventRates = make(map[string]native.Rate)
		}
		lim.EventRates[strings.TrimSpace(name)] = r
	}
	for name, v := range map[string]int{"rate-burst": l.burst, "max-rooms-per-socket": l.maxRooms,
		"max-namespaces-per-connection": l.maxNamespaces, "max-conns-per-ip": l.maxConnsPerIP, "max-send-queue": l.maxSendQueue} {
		if v < 0 {
			return fmt.Errorf("--%s %d: want 0 (off) or more", name, v)
		}
	}
	o.Limits = lim
	return nil
}
