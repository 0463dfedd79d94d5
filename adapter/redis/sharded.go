package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/socketcore/socketcore/adapter"
	cw "github.com/socketcore/socketcore/core/wire"
)

// RoomWatcher is told which rooms have sockets on this server. The sharded
// adapter in a dynamic subscription mode needs it: other servers publish a
// broadcast to a single room on the room's own channel, which a server
// must subscribe to while the room has local sockets (Node's adapter does
// so on its "create-room" and "delete-room" events).
//
// The host calls RoomCreated when the first local socket of nsp joins room
// (every room, a socket's own id room included: the adapter decides which
// need a channel) and RoomDeleted when the last one leaves it (on leave or
// disconnect), in that order per room. Both are cheap and never block on
// Redis: the subscriptions are made by a goroutine of the adapter. Calls
// are idempotent and may come before AddNamespace.
type RoomWatcher = adapter.RoomWatcher

var _ RoomWatcher = (*Adapter)(nil)

// RoomCreated implements RoomWatcher. Only the sharded adapter in a dynamic
// mode subscribes to room channels; for the others it does nothing.
func (a *Adapter) RoomCreated(nsp, room string) {
	if a.sh != nil {
		a.sh.setRoom(nsp, room, true)
	}
}

// RoomDeleted implements RoomWatcher.
func (a *Adapter) RoomDeleted(nsp, room string) {
	if a.sh != nil {
		a.sh.setRoom(nsp, room, false)
	}
}

// sharded is the adapter's I/O in sharded mode: SSUBSCRIBE and SPUBLISH.
// On a standalone Redis one PubSub connection holds every channel; on a
// Redis Cluster (a *redis.ClusterClient) there is one PubSub per hash slot
// in use, connected to that slot's node, since SSUBSCRIBE only takes the
// channels of the connection's shard (and go-redis resubscribes all of a
// PubSub's channels in one command).
type sharded struct {
	codec   ShardedCodec
	client  redis.UniversalClient
	receive adapter.Receive
	log     *slog.Logger
	perSlot bool
	closing chan struct{}
	closed  atomic.Bool
	wg      sync.WaitGroup // the readers and the worker
	recvMu  sync.Mutex     // one Receive at a time
	wake    chan struct{}  // buffered 1: dirty channels to apply

	// subMu serializes the (un)subscribe commands and the PubSubs' birth
	// and death; mu is never held while taking it.
	subMu sync.Mutex

	mu    sync.Mutex
	chans map[string]*shardChan // wanted or subscribed channels; guarded by mu
	nsps  map[string]*nspState  // guarded by mu
	conns map[int]*shardConn    // by hash slot (0 when !perSlot); guarded by mu
	dirty map[string]struct{}   // channels whose wanted state changed; guarded by mu
	// unsubs counts the SUNSUBSCRIBEs sent whose confirmation has not come
	// back, to tell them from Redis dropping a subscription; guarded by mu.
	unsubs map[string]int

	requests requesters
}

type shardChan struct {
	nsp        string
	fixed      bool // the main or own response channel of an added namespace
	room       bool // a room with local sockets, which the mode gives a channel
	subscribed bool // SSUBSCRIBE issued through conn (go-redis redoes it on reconnect)
	conn       *shardConn
}

type shardConn struct {
	ps *redis.PubSub
	n  int // channels subscribed through it
}

// newShardedUID returns 16 hex characters, as Node's randomBytes(8).
func newShardedUID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("redis adapter: uid: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

func newSharded(opts Options) (*sharded, error) {
	mode := opts.SubscriptionMode
	if mode == "" {
		mode = Dynamic
	}
	if !mode.valid() {
		return nil, fmt.Errorf("redis adapter: unknown SubscriptionMode %q", opts.SubscriptionMode)
	}
	if _, ok := opts.Client.(*redis.Ring); ok {
		return nil, errors.New("redis adapter: sharded mode does not support *redis.Ring (use a Client or a ClusterClient)")
	}
	uid, err := newShardedUID()
	if err != nil {
		return nil, err
	}
	_, perSlot := opts.Client.(*redis.ClusterClient)
	s := &sharded{
		codec:   ShardedCodec{Prefix: opts.Prefix, UID: uid, Mode: mode},
		client:  opts.Client,
		receive: opts.Receive,
		log:     opts.Logger.With("adapter", "redis-sharded", "uid", uid),
		perSlot: perSlot,
		closing: make(chan struct{}),
		wake:    make(chan struct{}, 1),
		chans:   make(map[string]*shardChan),
		nsps:    make(map[string]*nspState),
		conns:   make(map[int]*shardConn),
		dirty:   make(map[string]struct{}),
		unsubs:  make(map[string]int),
	}
	s.requests.init(maxRequests)
	s.wg.Add(1)
	go s.work()
	return s, nil
}

// chanState returns channel's state, made for nsp if absent; mu held.
func (s *sharded) chanState(channel, nsp string) *shardChan {
	c := s.chans[channel]
	if c == nil {
		c = &shardChan{nsp: nsp}
		s.chans[channel] = c
	}
	return c
}

// addNamespace subscribes to <prefix>#<nsp># and <prefix>#<nsp>#<uid>#
// (Node's SSUBSCRIBEs) and waits until Redis confirmed both, so that
// ServerCount counts this server from then on.
func (s *sharded) addNamespace(ctx context.Context, nsp string) error {
	if s.closed.Load() {
		return ErrClosed
	}
	channels := []string{s.codec.MainChannel(nsp), s.codec.ResponseChannel(nsp, s.codec.UID)}
	s.mu.Lock()
	st, ok := s.nsps[nsp]
	if !ok {
		st = &nspState{pending: map[string]bool{}, ready: make(chan struct{})}
		for _, ch := range channels {
			c := s.chanState(ch, nsp)
			c.fixed = true
			if !c.subscribed {
				st.pending[ch] = true
			}
		}
		if len(st.pending) == 0 {
			close(st.ready)
		}
		s.nsps[nsp] = st
	}
	s.mu.Unlock()
	if !ok {
		// Every channel, whatever the others' fate: the PubSub keeps what
		// failed (Redis down) and subscribes again on reconnect.
		var errs []error
		for _, ch := range channels {
			errs = append(errs, s.apply(ctx, ch))
		}
		if err := errors.Join(errs...); err != nil {
			if s.closed.Load() {
				return ErrClosed
			}
			return fmt.Errorf("redis adapter: subscribing to %s: %w", nsp, err)
		}
	}
	select {
	case <-st.ready:
		return nil
	case <-s.closing:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// setRoom records whether room has local sockets; the worker subscribes
// to or unsubscribes from its channel when the mode gives it one.
func (s *sharded) setRoom(nsp, room string, exists bool) {
	if s.closed.Load() || !s.codec.UsesRoomChannel(room) {
		return
	}
	if nsp == "" {
		nsp = "/"
	}
	ch := s.codec.RoomChannel(nsp, room)
	s.mu.Lock()
	c := s.chans[ch]
	if c == nil && !exists {
		s.mu.Unlock()
		return
	}
	c = s.chanState(ch, nsp)
	if c.room != exists {
		c.room = exists
		s.dirty[ch] = struct{}{}
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// work applies the room subscriptions' changes.
func (s *sharded) work() {
	defer s.wg.Done()
	for {
		select {
		case <-s.wake:
		case <-s.closing:
			return
		}
		s.mu.Lock()
		dirty := s.dirty
		s.dirty = make(map[string]struct{})
		s.mu.Unlock()
		for ch := range dirty {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := s.apply(ctx, ch)
			cancel()
			if err != nil && !s.closed.Load() {
				// go-redis keeps the subscription and redoes it on its
				// next connection.
				s.log.Warn("redis adapter: room channel (un)subscribe failed", "channel", ch, "err", err)
			}
		}
	}
}

// apply brings channel's subscription to its wanted state.
func (s *sharded) apply(ctx context.Context, channel string) error {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	s.mu.Lock()
	c := s.chans[channel]
	if c == nil {
		s.mu.Unlock()
		return nil
	}
	want := c.fixed || c.room
	switch {
	case want && !c.subscribed:
		s.mu.Unlock()
		conn, err := s.connFor(ctx, channel)
		if conn == nil {
			return err
		}
		s.mu.Lock()
		c.subscribed, c.conn = true, conn
		conn.n++
		s.mu.Unlock()
		return err
	case !want && c.subscribed:
		conn := c.conn
		c.subscribed, c.conn = false, nil
		conn.n--
		drop := s.perSlot && conn.n == 0
		if drop {
			for k, v := range s.conns {
				if v == conn {
					delete(s.conns, k)
				}
			}
		}
		delete(s.chans, channel)
		if !drop {
			s.unsubs[channel]++
		}
		s.mu.Unlock()
		if drop {
			// Its last channel: closing the connection unsubscribes.
			s.closeConn(conn)
			return nil
		}
		return conn.ps.SUnsubscribe(ctx, channel)
	case !want:
		delete(s.chans, channel)
	}
	s.mu.Unlock()
	return nil
}

// connFor subscribes to channel on the PubSub of its slot (the only one
// on a standalone Redis), made when needed; subMu held. The PubSub keeps
// the channel even when the command fails, and redoes it on reconnect.
func (s *sharded) connFor(ctx context.Context, channel string) (*shardConn, error) {
	key := 0
	if s.perSlot {
		key = hashSlot(channel)
	}
	s.mu.Lock()
	conn := s.conns[key]
	s.mu.Unlock()
	if conn != nil {
		return conn, conn.ps.SSubscribe(ctx, channel)
	}
	// A PubSub without channels yet: its first SSUBSCRIBE picks the node
	// (on a ClusterClient, the owner of channel's slot).
	conn = &shardConn{ps: s.client.SSubscribe(context.WithoutCancel(ctx))}
	err := conn.ps.SSubscribe(ctx, channel)
	// Node's subClient: go-redis reconnects and resubscribes by itself,
	// and pings an idle connection to notice a dead one.
	msgs := conn.ps.ChannelWithSubscriptions(redis.WithChannelSize(1024))
	s.mu.Lock()
	s.conns[key] = conn
	s.mu.Unlock()
	s.wg.Add(1)
	go s.read(msgs)
	return conn, err
}

func (s *sharded) closeConn(conn *shardConn) {
	if err := conn.ps.Close(); err != nil && !errors.Is(err, redis.ErrClosed) {
		s.log.Debug("redis adapter: closing a PubSub", "err", err)
	}
}

// read is one PubSub's receive goroutine; it ends when the PubSub closes.
func (s *sharded) read(msgs <-chan any) {
	defer s.wg.Done()
	for x := range msgs {
		switch x := x.(type) {
		case *redis.Subscription:
			s.confirmed(x)
		case *redis.Message:
			if !s.closed.Load() {
				s.handle(x.Channel, []byte(x.Payload))
			}
		}
	}
}

func (s *sharded) confirmed(sub *redis.Subscription) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chans[sub.Channel]
	switch sub.Kind {
	case "ssubscribe":
		if c == nil {
			return
		}
		st := s.nsps[c.nsp]
		if st == nil || !st.pending[sub.Channel] {
			return
		}
		delete(st.pending, sub.Channel)
		if len(st.pending) == 0 {
			close(st.ready)
		}
	case "sunsubscribe":
		if s.unsubs[sub.Channel] > 0 {
			s.unsubs[sub.Channel]--
			if s.unsubs[sub.Channel] == 0 {
				delete(s.unsubs, sub.Channel)
			}
			return
		}
		if c != nil && c.subscribed && !s.closed.Load() {
			// Not asked for: on a Redis Cluster the channel's slot moved.
			// go-redis subscribes again on its next connection only.
			s.log.Warn("redis adapter: Redis dropped a subscription (slot migrated?)", "channel", sub.Channel)
		}
	}
}

func (s *sharded) handle(channel string, payload []byte) {
	s.mu.Lock()
	c := s.chans[channel]
	s.mu.Unlock()
	if c == nil {
		return // unsubscribed meanwhile
	}
	d, err := s.codec.Decode(c.nsp, payload)
	switch {
	case errors.Is(err, ErrUnsupported) || errors.Is(err, ErrOtherNamespace):
		s.log.Debug("redis adapter: message dropped", "channel", channel, "err", err)
		return
	case err != nil:
		s.log.Warn("redis adapter: malformed message dropped", "channel", channel, "err", err,
			"payload", truncate(string(payload)))
		return
	}
	if d.UID == s.codec.UID {
		return // Redis hands every server its own messages back
	}
	m := d.Msg
	if !m.Type.IsResponse() && m.RequestID != "" {
		ttl := requestTTL
		if m.Timeout > 0 {
			ttl = max(ttl, m.Timeout+time.Minute)
		}
		s.requests.put(m.RequestID, d.UID, time.Now().Add(ttl))
	}
	s.recvMu.Lock()
	defer s.recvMu.Unlock()
	if !s.closed.Load() {
		s.receive(m)
	}
}

// publish is Node's doPublish / doPublishResponse: SPUBLISH on the channel
// the codec picks; answers go to the requester's channel, whose uid came
// with the request.
func (s *sharded) publish(ctx context.Context, m cw.ClusterMessage) error {
	if s.closed.Load() {
		return ErrClosed
	}
	requester := ""
	if m.Type.IsResponse() {
		requester = s.requests.get(m.RequestID, time.Now())
	}
	msg, err := s.codec.Encode(m, requester)
	if err != nil {
		return err
	}
	return s.client.SPublish(ctx, msg.Channel, msg.Payload).Err()
}

// serverCount is Node's serverCount(): PUBSUB SHARDNUMSUB <prefix>#<nsp>#
// (on a Redis Cluster, summed over its nodes).
func (s *sharded) serverCount(ctx context.Context, nsp string) (int, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	ch := s.codec.MainChannel(nsp)
	if cc, ok := s.client.(*redis.ClusterClient); ok {
		var n atomic.Int64
		err := cc.ForEachShard(ctx, func(ctx context.Context, c *redis.Client) error {
			m, err := c.PubSubShardNumSub(ctx, ch).Result()
			n.Add(m[ch])
			return err
		})
		return int(n.Load()), err
	}
	m, err := s.client.PubSubShardNumSub(ctx, ch).Result()
	if err != nil {
		return 0, err
	}
	return int(m[ch]), nil
}

// close closes every PubSub connection and returns once the goroutines
// have ended, after which Receive is not called again.
func (s *sharded) close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(s.closing)
	s.subMu.Lock()
	s.mu.Lock()
	conns := make([]*shardConn, 0, len(s.conns))
	for _, c := range s.conns {
		conns = append(conns, c)
	}
	s.conns = map[int]*shardConn{}
	s.mu.Unlock()
	var err error
	for _, c := range conns {
		if e := c.ps.Close(); e != nil && !errors.Is(e, redis.ErrClosed) && err == nil {
			err = e
		}
	}
	s.subMu.Unlock()
	s.wg.Wait()
	return err
}

// hashSlot is the Redis Cluster hash slot of key: CRC16 (XMODEM) of the
// key, or of its {hash tag}, modulo 16384.
func hashSlot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	var crc uint16
	for i := 0; i < len(key); i++ {
		crc ^= uint16(key[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) % 16384
}
