package redis

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tinylib/msgp/msgp"

	"github.com/socketcore/socketcore/adapter"
	"github.com/socketcore/socketcore/adapter/wire"
	cw "github.com/socketcore/socketcore/core/wire"
)

// Options configure an Adapter.
type Options struct {
	// Client is the Redis connection: the adapter publishes and counts
	// servers with it and makes its own PubSub connection from it. The
	// adapter never closes it.
	Client redis.UniversalClient
	// Prefix is the channels' prefix (default "socket.io"): Node's `key`
	// option in the classic mode, its `channelPrefix` in sharded mode.
	Prefix string
	// PublishOnSpecificResponseChannel is Node's option of the same name:
	// answers to FetchSockets, AllRooms and broadcasts with
	// acknowledgements go to <prefix>-response#<nsp>#<requester uid>#
	// instead of the channel every server receives. Node 8.x servers
	// listen there; older ones do not. Classic mode only: in sharded mode
	// answers always go to the requester's channel.
	PublishOnSpecificResponseChannel bool
	// Sharded speaks the protocol of Node's createShardedAdapter (Redis 7
	// sharded pub/sub: SSUBSCRIBE, SPUBLISH, PUBSUB SHARDNUMSUB) instead of
	// the classic one; the two do not interoperate, and the emitter only
	// reaches classic clusters. See the package documentation.
	Sharded bool
	// SubscriptionMode is Node's subscriptionMode of the sharded adapter
	// ("" is Dynamic); it must be the same on every server of the cluster.
	// In Dynamic and DynamicPrivate modes the host must report its rooms
	// (RoomWatcher). Sharded mode only.
	SubscriptionMode SubscriptionMode
	// Receive takes the messages of the other servers (required).
	Receive adapter.Receive
	// Logger gets dropped messages (malformed at Warn, unsupported at
	// Debug) and PubSub trouble; nil is slog.Default().
	Logger *slog.Logger
}

// Adapter is a cluster adapter on Redis pub/sub, speaking the classic
// protocol of Node's @socket.io/redis-adapter (createAdapter), so that Go
// and Node servers (and @socket.io/redis-emitter) share one cluster.
type Adapter struct {
	codec   Codec
	client  redis.UniversalClient
	receive adapter.Receive
	log     *slog.Logger
	ps      *redis.PubSub
	msgs    <-chan any
	done    chan struct{} // closed when the receive goroutine has returned
	closing chan struct{} // closed by Close
	closed  atomic.Bool

	mu     sync.Mutex
	nsps   map[string]*nspState // guarded by mu
	byName map[string]string    // subscribed channel or pattern -> nsp; guarded by mu

	requests requesters

	sh *sharded // sharded mode: everything goes there

	rec atomic.Pointer[recoveryStore] // set by EnableRecovery (recovery.go)
}

var _ adapter.Adapter = (*Adapter)(nil)

type nspState struct {
	pending map[string]bool // channels and pattern not yet confirmed
	ready   chan struct{}   // closed when every subscription was confirmed
}

// ErrClosed is returned by a closed Adapter.
var ErrClosed = errors.New("redis adapter: closed")

// New makes an adapter and starts its receive goroutine, which Close
// stops. It checks that Redis answers a PING within ctx.
func New(ctx context.Context, opts Options) (*Adapter, error) {
	if opts.Client == nil {
		return nil, errors.New("redis adapter: Options.Client is nil")
	}
	if opts.Receive == nil {
		return nil, errors.New("redis adapter: Options.Receive is nil")
	}
	if opts.Prefix == "" {
		opts.Prefix = wire.DefaultPrefix
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if !opts.Sharded && opts.SubscriptionMode != "" {
		return nil, errors.New("redis adapter: SubscriptionMode needs Sharded")
	}
	if err := opts.Client.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("redis adapter: %w", err)
	}
	if opts.Sharded {
		sh, err := newSharded(opts)
		if err != nil {
			return nil, err
		}
		return &Adapter{sh: sh}, nil
	}
	uid, err := newUID()
	if err != nil {
		return nil, err
	}
	a := &Adapter{
		codec:   Codec{Prefix: opts.Prefix, UID: uid, PublishOnSpecificResponseChannel: opts.PublishOnSpecificResponseChannel},
		client:  opts.Client,
		receive: opts.Receive,
		log:     opts.Logger.With("adapter", "redis", "uid", uid),
		done:    make(chan struct{}),
		closing: make(chan struct{}),
		nsps:    make(map[string]*nspState),
		byName:  make(map[string]string),
	}
	a.requests.init(maxRequests)
	// One PubSub connection for every namespace, as Node's subClient. Its
	// channel goroutine reconnects and resubscribes by itself, and pings
	// an idle connection to notice a dead one.
	a.ps = opts.Client.Subscribe(context.WithoutCancel(ctx))
	a.msgs = a.ps.ChannelWithSubscriptions(redis.WithChannelSize(1024))
	go a.run()
	return a, nil
}

// uidChars is uid2's alphabet.
const uidChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// newUID returns 6 random characters, as Node's uid2(6).
func newUID() (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("redis adapter: uid: %w", err)
	}
	for i := range b {
		b[i] = uidChars[b[i]%64]
	}
	return string(b[:]), nil
}

// UID is the adapter's uid, which its broadcasts and requests carry (and,
// in sharded mode, its answers).
func (a *Adapter) UID() string {
	if a.sh != nil {
		return a.sh.codec.UID
	}
	return a.codec.UID
}

// globEscape escapes Redis glob characters, so that a prefix or namespace
// holding *?[]\ is matched literally (Node does not escape them).
func globEscape(s string) string {
	if !strings.ContainsAny(s, `*?[]\`) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// AddNamespace subscribes to nsp's channels as Node does (PSUBSCRIBE
// <prefix>#<nsp>#*, SUBSCRIBE <prefix>-request#<nsp># <prefix>-response#<nsp>#
// <prefix>-response#<nsp>#<uid>#) and waits until Redis confirmed them,
// so that ServerCount counts this server from then on. In sharded mode it
// is SSUBSCRIBE <prefix>#<nsp># <prefix>#<nsp>#<uid>#.
func (a *Adapter) AddNamespace(ctx context.Context, nsp string) error {
	if a.sh != nil {
		return a.sh.addNamespace(ctx, nsp)
	}
	if a.closed.Load() {
		return ErrClosed
	}
	pattern := globEscape(wire.BroadcastChannel(a.codec.Prefix, nsp)) + "*"
	channels := []string{
		wire.RequestChannel(a.codec.Prefix, nsp),
		wire.ResponseChannel(a.codec.Prefix, nsp),
		wire.SpecificResponseChannel(a.codec.Prefix, nsp, a.codec.UID),
	}
	a.mu.Lock()
	st, ok := a.nsps[nsp]
	if !ok {
		st = &nspState{pending: map[string]bool{pattern: true}, ready: make(chan struct{})}
		for _, c := range channels {
			st.pending[c] = true
		}
		for name := range st.pending {
			a.byName[name] = nsp
		}
		a.nsps[nsp] = st
	}
	a.mu.Unlock()
	if !ok {
		// go-redis remembers these even when the write fails (Redis down),
		// and issues them again on its next connection: both are made
		// whatever the first one's fate, or the channels would never be.
		err := errors.Join(a.ps.PSubscribe(ctx, pattern), a.ps.Subscribe(ctx, channels...))
		if a.closed.Load() {
			return ErrClosed
		}
		if err != nil {
			return fmt.Errorf("redis adapter: subscribing to %s: %w", nsp, err)
		}
	}
	select {
	case <-st.ready:
		return nil
	case <-a.closing:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Publish sends m to the other servers. In sharded mode AllRooms and
// AllRoomsResponse fail with an error wrapping ErrUnsupported (and
// errors.ErrUnsupported): Node's sharded adapter has no such request.
func (a *Adapter) Publish(ctx context.Context, m cw.ClusterMessage) error {
	if a.sh != nil {
		return a.sh.publish(ctx, m)
	}
	if a.closed.Load() {
		return ErrClosed
	}
	requester := ""
	if m.Type.IsResponse() {
		requester = a.requests.get(m.RequestID, time.Now())
	}
	msg, err := a.codec.Encode(m, requester)
	if err != nil {
		return err
	}
	return a.client.Publish(ctx, msg.Channel, msg.Payload).Err()
}

// ServerCount is Node's serverCount(): PUBSUB NUMSUB
// <prefix>-request#<nsp># (on a Redis Cluster, summed over its nodes); in
// sharded mode PUBSUB SHARDNUMSUB <prefix>#<nsp>#.
func (a *Adapter) ServerCount(ctx context.Context, nsp string) (int, error) {
	if a.sh != nil {
		return a.sh.serverCount(ctx, nsp)
	}
	if a.closed.Load() {
		return 0, ErrClosed
	}
	ch := wire.RequestChannel(a.codec.Prefix, nsp)
	if cc, ok := a.client.(*redis.ClusterClient); ok {
		var n atomic.Int64
		err := cc.ForEachShard(ctx, func(ctx context.Context, c *redis.Client) error {
			m, err := c.PubSubNumSub(ctx, ch).Result()
			n.Add(m[ch])
			return err
		})
		return int(n.Load()), err
	}
	m, err := a.client.PubSubNumSub(ctx, ch).Result()
	if err != nil {
		return 0, err
	}
	return int(m[ch]), nil
}

// Close stops receiving: it closes the PubSub connection and returns once
// the receive goroutine has ended, after which Receive is not called
// again. The Client stays open.
func (a *Adapter) Close() error {
	a.stopRecovery() // recovery.go
	if a.sh != nil {
		return a.sh.close()
	}
	if !a.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(a.closing)
	err := a.ps.Close()
	<-a.done
	if errors.Is(err, redis.ErrClosed) {
		err = nil
	}
	return err
}

// run is the receive goroutine. It ends when the PubSub is closed.
func (a *Adapter) run() {
	defer close(a.done)
	for x := range a.msgs {
		switch x := x.(type) {
		case *redis.Subscription:
			a.confirmed(x)
		case *redis.Message:
			if !a.closed.Load() {
				a.handle(x)
			}
		}
	}
}

func (a *Adapter) confirmed(s *redis.Subscription) {
	if s.Kind != "subscribe" && s.Kind != "psubscribe" {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	st := a.nsps[a.byName[s.Channel]]
	if st == nil || !st.pending[s.Channel] {
		return
	}
	delete(st.pending, s.Channel)
	if len(st.pending) == 0 {
		close(st.ready)
	}
}

// requestTTL is how long the requester of a received request is
// remembered (longer for broadcasts with a longer timeout).
const (
	requestTTL  = 2 * time.Minute
	maxRequests = 1 << 16
)

func (a *Adapter) handle(x *redis.Message) {
	name := x.Channel
	if x.Pattern != "" {
		name = x.Pattern
	}
	a.mu.Lock()
	nsp, ok := a.byName[name]
	a.mu.Unlock()
	if !ok {
		return
	}
	payload := []byte(x.Payload)
	if x.Pattern != "" && ownBroadcast(payload, a.codec.UID) {
		return // Redis hands every server its own broadcasts back
	}
	d, err := a.codec.Decode(nsp, x.Channel, payload)
	switch {
	case errors.Is(err, ErrUnsupported) || errors.Is(err, ErrOtherNamespace):
		a.log.Debug("redis adapter: message dropped", "channel", x.Channel, "err", err)
		return
	case err != nil:
		a.log.Warn("redis adapter: malformed message dropped", "channel", x.Channel, "err", err,
			"payload", truncate(x.Payload))
		return
	}
	m := d.Msg
	if m.Type.IsResponse() {
		// An answer to another server's request (this one's own answers
		// included): not for us.
		if a.requests.has(m.RequestID, time.Now()) {
			return
		}
	} else {
		if d.UID == a.codec.UID {
			return
		}
		if m.RequestID != "" {
			ttl := requestTTL
			if m.Timeout > 0 {
				ttl = max(ttl, m.Timeout+time.Minute)
			}
			a.requests.put(m.RequestID, d.UID, time.Now().Add(ttl))
		}
	}
	a.receive(m)
}

// ownBroadcast peeks at a msgpack broadcast's uid.
func ownBroadcast(b []byte, uid string) bool {
	n, rest, err := msgp.ReadArrayHeaderBytes(b)
	if err != nil || n == 0 {
		return false
	}
	s, _, err := msgp.ReadStringZC(rest)
	return err == nil && string(s) == uid
}

func truncate(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// requesters remembers, for the requests received from other servers, who
// sent them: answers go to that server's specific response channel, and
// answers to them seen on the common channel are not delivered. Bounded:
// the oldest entries go first.
type requesters struct {
	mu    sync.Mutex
	max   int
	m     map[string]requester
	order []string // insertion order; order[head:] are live
	head  int
}

type requester struct {
	uid     string
	expires time.Time
}

func (r *requesters) init(max int) {
	r.max = max
	r.m = make(map[string]requester)
}

func (r *requesters) put(id, uid string, expires time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	for r.head < len(r.order) {
		old := r.order[r.head]
		e, ok := r.m[old]
		if ok && len(r.m) < r.max && e.expires.After(now) {
			break
		}
		delete(r.m, old)
		r.order[r.head] = ""
		r.head++
	}
	if r.head > len(r.order)/2 && r.head > 64 {
		r.order = append(r.order[:0:0], r.order[r.head:]...)
		r.head = 0
	}
	if _, ok := r.m[id]; !ok {
		r.order = append(r.order, id)
	}
	r.m[id] = requester{uid, expires}
}

func (r *requesters) lookup(id string, now time.Time) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.m[id]
	if !ok || !e.expires.After(now) {
		return "", false
	}
	return e.uid, true
}

// get returns the requester's uid ("" when unknown).
func (r *requesters) get(id string, now time.Time) string { uid, _ := r.lookup(id, now); return uid }

func (r *requesters) has(id string, now time.Time) bool { _, ok := r.lookup(id, now); return ok }
