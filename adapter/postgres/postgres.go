package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/socketcore/socketcore/adapter"
	"github.com/socketcore/socketcore/adapter/redis"
	cw "github.com/socketcore/socketcore/core/wire"
)

// Options configure an Adapter. Zero values are Node's defaults.
type Options struct {
	// Pool is the PostgreSQL connection pool the adapter publishes with,
	// fetches attachments with and cleans the attachment table with; the
	// adapter's own LISTEN connection is also taken from it (Acquire, then
	// Hijack: the pool's BeforeConnect and AfterConnect hooks apply, as
	// Node's pool.connect()). The adapter never closes it. Without a Pool,
	// ConnString makes one (closed by Close).
	Pool       *pgxpool.Pool
	ConnString string
	// ChannelPrefix is Node's channelPrefix (default "socket.io"): a
	// namespace's channel is <prefix>#<nsp>.
	ChannelPrefix string
	// TableName is Node's tableName (default "socket_io_attachments"): the
	// table of the messages too large for a NOTIFY or holding binary. New
	// creates it when missing. A name or schema.name of plain identifiers.
	TableName string
	// PayloadThreshold is Node's payloadThreshold (default 8000): messages
	// whose JSON has this many bytes or more go through the table. More
	// than 8000 is 8000 (PostgreSQL's limit; Node lets such a NOTIFY fail,
	// and sends one of exactly payloadThreshold bytes by NOTIFY, refused
	// at 8000).
	PayloadThreshold int
	// CleanupInterval is Node's cleanupInterval (default 30 s): how often
	// the attachments older than that are deleted.
	CleanupInterval time.Duration
	// HeartbeatInterval and HeartbeatTimeout are socket.io-adapter's
	// (defaults 5 s and 10 s): each server announces itself every
	// HeartbeatInterval on each namespace, and counts the servers heard
	// from within HeartbeatTimeout. When nothing arrived on the LISTEN
	// connection for HeartbeatTimeout (this server's own heartbeats come
	// back on it), the adapter pings it, and makes a new one when the ping
	// fails.
	HeartbeatInterval time.Duration
	HeartbeatTimeout  time.Duration
	// Receive takes the other servers' messages (required).
	Receive adapter.Receive
	// Logger gets the adapter's warnings (nil: slog.Default()).
	Logger *slog.Logger
}

// DefaultTable is Node's default tableName.
const DefaultTable = "socket_io_attachments"

// Adapter joins a server to a cluster through PostgreSQL's LISTEN/NOTIFY,
// wire-compatible with Node's @socket.io/postgres-adapter. See the package
// documentation.
type Adapter struct {
	codec   Codec
	pool    *pgxpool.Pool
	ownPool bool
	table   string
	opts    Options
	receive adapter.Receive
	log     *slog.Logger

	ctx    context.Context // cancelled by Close, after ADAPTER_CLOSE
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed atomic.Bool
	recvMu sync.Mutex // one Receive at a time

	// sendMu orders the sends of Publish, AddNamespace and the listener
	// (read-locked, each checking closed under it) before Close's
	// ADAPTER_CLOSE (write-locked): nothing is published after it.
	sendMu sync.RWMutex
	// hbStop stops the heartbeats goroutine (Close, before ADAPTER_CLOSE);
	// hbDone is closed when it returned.
	hbStop, hbDone chan struct{}
	// listening is true while the LISTEN connection is up and LISTENs on
	// every channel: heartbeats are only sent then, so that no server
	// counts this one while it cannot hear.
	listening atomic.Bool

	mu        sync.Mutex
	nsps      map[string]*nspState // by namespace; guarded by mu
	byChannel map[string]string    // channel -> namespace; guarded by mu
	pending   []string             // channels to LISTEN on the current connection; guarded by mu
	interrupt context.CancelFunc   // stops the listener's wait; guarded by mu

	hb chan string // namespaces to send a HEARTBEAT on now (buffered)

	// Counters (Stats).
	reconnects, dropped, publishErrors atomic.Uint64
}

type nspState struct {
	listening bool
	ready     chan struct{}        // closed on the first successful LISTEN, or when it was refused (err)
	err       error                // PostgreSQL refused the LISTEN; guarded by Adapter.mu
	nodes     map[string]time.Time // other servers' uids, last heard
}

var _ adapter.Adapter = (*Adapter)(nil)

// ErrClosed is returned by a closed Adapter.
var ErrClosed = errors.New("postgres adapter: closed")

var tableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$`)

// New connects the adapter's LISTEN connection, creates the attachment
// table when missing and starts the adapter's goroutines (Close stops
// them).
func New(ctx context.Context, opts Options) (*Adapter, error) {
	if opts.Receive == nil {
		return nil, errors.New("postgres adapter: Options.Receive is nil")
	}
	if opts.TableName == "" {
		opts.TableName = DefaultTable
	}
	if !tableName.MatchString(opts.TableName) {
		return nil, fmt.Errorf("postgres adapter: TableName %q: want name or schema.name of letters, digits, _ and $", opts.TableName)
	}
	if err := checkChannel(opts.ChannelPrefix); err != nil {
		return nil, fmt.Errorf("postgres adapter: ChannelPrefix: %w", err)
	}
	if opts.CleanupInterval <= 0 {
		opts.CleanupInterval = 30 * time.Second
	}
	if opts.HeartbeatInterval <= 0 {
		opts.HeartbeatInterval = 5 * time.Second
	}
	if opts.HeartbeatTimeout <= 0 {
		opts.HeartbeatTimeout = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	pool, own := opts.Pool, false
	if pool == nil {
		if opts.ConnString == "" {
			return nil, errors.New("postgres adapter: Options.Pool or Options.ConnString is required")
		}
		var err error
		if pool, err = pgxpool.New(ctx, opts.ConnString); err != nil {
			return nil, fmt.Errorf("postgres adapter: %w", err)
		}
		own = true
	}
	uid, err := newUID()
	if err != nil {
		return nil, err
	}
	a := &Adapter{
		codec:     Codec{Prefix: opts.ChannelPrefix, UID: uid, Threshold: opts.PayloadThreshold},
		pool:      pool,
		ownPool:   own,
		table:     opts.TableName,
		opts:      opts,
		receive:   opts.Receive,
		log:       opts.Logger.With("adapter", "postgres", "uid", uid),
		nsps:      make(map[string]*nspState),
		byChannel: make(map[string]string),
		hb:        make(chan string, 64),
		hbStop:    make(chan struct{}),
		hbDone:    make(chan struct{}),
	}
	fail := func(err error) (*Adapter, error) {
		if own {
			pool.Close()
		}
		return nil, err
	}
	if err := a.createTable(ctx); err != nil {
		return fail(err)
	}
	conn, err := a.connect(ctx)
	if err != nil {
		return fail(fmt.Errorf("postgres adapter: LISTEN connection: %w", err))
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.wg.Add(3)
	go a.listen(conn)
	go a.heartbeats()
	go a.cleanup()
	return a, nil
}

// newUID returns 16 hex characters, as Node's randomBytes(8).
func newUID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("postgres adapter: uid: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// UID is this server's uid in the cluster.
func (a *Adapter) UID() string { return a.codec.UID }

// createTable is the CREATE TABLE of Node's README. Without the right to
// create it, an existing table will do.
func (a *Adapter) createTable(ctx context.Context) error {
	_, err := a.pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+a.table+` (
    id          bigserial UNIQUE,
    created_at  timestamptz DEFAULT NOW(),
    payload     bytea
)`)
	if err == nil {
		return nil
	}
	var exists bool
	if e := a.pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, a.table).Scan(&exists); e == nil && exists {
		return nil
	}
	return fmt.Errorf("postgres adapter: creating table %s: %w", a.table, err)
}

// connect takes a connection of the pool for LISTEN, the pool's hooks
// applied; the adapter closes it.
func (a *Adapter) connect(ctx context.Context) (*pgx.Conn, error) {
	c, err := a.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	return c.Hijack(), nil
}

// maxChannel is the longest channel name PostgreSQL takes (NAMEDATALEN-1).
const maxChannel = 63

// checkChannel refuses what cannot be a channel: PostgreSQL refuses a
// LISTEN on invalid UTF-8, and pgx.Identifier drops NUL bytes (the LISTEN
// would be on another channel than pg_notify's).
func checkChannel(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%q is not valid UTF-8", s)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%q holds a NUL byte", s)
	}
	return nil
}

// AddNamespace LISTENs on <prefix>#<nsp> and waits until PostgreSQL
// confirmed it, then announces this server (INITIAL_HEARTBEAT): the others
// answer with a HEARTBEAT, which ServerCount counts.
func (a *Adapter) AddNamespace(ctx context.Context, nsp string) error {
	if a.closed.Load() {
		return ErrClosed
	}
	if nsp == "" {
		nsp = "/"
	}
	ch := a.codec.Channel(nsp)
	if len(ch) > maxChannel {
		return fmt.Errorf("postgres adapter: channel %q is longer than PostgreSQL's %d bytes", ch, maxChannel)
	}
	if err := checkChannel(ch); err != nil {
		return fmt.Errorf("postgres adapter: channel: %w", err)
	}
	st, added := a.register(nsp, ch)
	select {
	case <-st.ready:
	case <-a.ctx.Done():
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("postgres adapter: LISTEN %s: %w", ch, ctx.Err())
	}
	a.mu.Lock()
	err := st.err
	a.mu.Unlock()
	if err != nil {
		return err
	}
	if added {
		return a.sendUnlessClosed(func() error {
			return a.notify(ctx, ch, a.codec.Heartbeat(TypeInitialHeartbeat, nsp))
		})
	}
	return nil
}

// register makes nsp's state and has the listener LISTEN on ch, unless nsp
// is known (added false).
func (a *Adapter) register(nsp, ch string) (st *nspState, added bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if st := a.nsps[nsp]; st != nil {
		return st, false
	}
	st = &nspState{ready: make(chan struct{}), nodes: make(map[string]time.Time)}
	a.nsps[nsp] = st
	a.byChannel[ch] = nsp
	a.pending = append(a.pending, ch)
	if a.interrupt != nil {
		a.interrupt()
	}
	return st, true
}

// sendUnlessClosed runs send unless the adapter is closed, before Close's
// ADAPTER_CLOSE (see sendMu).
func (a *Adapter) sendUnlessClosed(send func() error) error {
	a.sendMu.RLock()
	defer a.sendMu.RUnlock()
	if a.closed.Load() {
		return ErrClosed
	}
	return send()
}

// Publish sends m to the other servers: pg_notify on the namespace's
// channel, through the attachment table when m carries binary or is large.
func (a *Adapter) Publish(ctx context.Context, m cw.ClusterMessage) error {
	if a.closed.Load() {
		return ErrClosed
	}
	if m.Type == cw.ClusterAllRooms || m.Type == cw.ClusterAllRoomsResponse {
		// ClusterAdapter has no ALL_ROOMS: the host answers with this
		// server's rooms.
		return fmt.Errorf("%w: %v has no ClusterAdapter form (%w)", ErrUnsupported, m.Type, errors.ErrUnsupported)
	}
	out, err := a.codec.Encode(m)
	if err != nil {
		return err
	}
	err = a.sendUnlessClosed(func() error { return a.send(ctx, out) })
	if err != nil && err != ErrClosed {
		a.publishErrors.Add(1)
	}
	return err
}

func (a *Adapter) send(ctx context.Context, out Outgoing) error {
	return Publisher{DB: a.pool, Table: a.table, Codec: a.codec}.send(ctx, out)
}

func (a *Adapter) notify(ctx context.Context, channel string, payload []byte) error {
	_, err := a.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, channel, string(payload))
	if err != nil {
		return fmt.Errorf("postgres adapter: NOTIFY: %w", err)
	}
	return nil
}

// ServerCount is socket.io-adapter's serverCount() with heartbeats: this
// server and the others heard from on nsp within HeartbeatTimeout.
func (a *Adapter) ServerCount(ctx context.Context, nsp string) (int, error) {
	if a.closed.Load() {
		return 0, ErrClosed
	}
	if nsp == "" {
		nsp = "/"
	}
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 1
	if st := a.nsps[nsp]; st != nil {
		for uid, seen := range st.nodes {
			if now.Sub(seen) > a.opts.HeartbeatTimeout {
				delete(st.nodes, uid)
				continue
			}
			n++
		}
	}
	return n, nil
}

// Close announces the departure of this server on each namespace
// (ADAPTER_CLOSE, within a second), stops the goroutines and closes the
// LISTEN connection, and the pool when the adapter made it. Receive is not
// called after Close returns. Nothing is published after ADAPTER_CLOSE:
// Close first waits for the heartbeat and the Publish calls under way (a
// NOTIFY cancelled in flight might still be committed after it), so that
// no server counts this one again.
func (a *Adapter) Close() error {
	if !a.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(a.hbStop)
	<-a.hbDone
	a.sendMu.Lock() // the sends under way are done; the later ones see closed
	a.mu.Lock()
	nsps := make([]string, 0, len(a.nsps))
	for nsp, st := range a.nsps {
		if st.listening {
			nsps = append(nsps, nsp)
		}
	}
	a.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	for _, nsp := range nsps {
		if err := a.notify(ctx, a.codec.Channel(nsp), a.codec.Heartbeat(TypeAdapterClose, nsp)); err != nil {
			a.log.Debug("postgres adapter: ADAPTER_CLOSE not sent", "nsp", nsp, "err", err)
		}
	}
	cancel()
	a.sendMu.Unlock()
	a.cancel()
	a.wg.Wait()
	if a.ownPool {
		a.pool.Close()
	}
	return nil
}

// pingTimeout bounds the ping of a LISTEN connection on which nothing
// arrived for HeartbeatTimeout: HeartbeatTimeout, within 1 to 5 s.
func (a *Adapter) pingTimeout() time.Duration {
	return min(max(a.opts.HeartbeatTimeout, time.Second), 5*time.Second)
}

// listen owns the LISTEN connection: it waits for notifications, LISTENs
// on new channels, and reconnects (after 1 to 3 s, as Node) when the
// connection breaks, or goes silent: nothing arrived for HeartbeatTimeout
// (this server's heartbeats come back every HeartbeatInterval) and a ping
// failed. NOTIFYs sent while it is down are lost: PostgreSQL only delivers
// to the sessions listening at commit time; heartbeats are not sent
// meanwhile.
func (a *Adapter) listen(conn *pgx.Conn) {
	defer a.wg.Done()
	defer a.listening.Store(false)
	defer func() {
		if conn != nil {
			a.drop(conn)
		}
	}()
	fresh := true       // conn has not LISTENed on the known channels yet
	var alive time.Time // when conn last proved alive (a notification, a ping)
	lost := func(what string, err error) {
		a.listening.Store(false)
		a.log.Warn("postgres adapter: "+what+", reconnecting (messages sent meanwhile are lost)", "err", err)
		a.drop(conn)
		conn = nil
	}
	for a.ctx.Err() == nil {
		if conn == nil {
			if !a.sleep(reconnectDelay()) {
				return
			}
			ctx, cancel := context.WithTimeout(a.ctx, 10*time.Second)
			c, err := a.connect(ctx)
			cancel()
			if err != nil {
				if a.ctx.Err() == nil {
					a.log.Warn("postgres adapter: LISTEN connection failed, retrying", "err", err)
				}
				continue
			}
			conn, fresh = c, true
			a.reconnects.Add(1)
		}
		a.mu.Lock()
		var chans []string
		if fresh {
			for ch := range a.byChannel {
				chans = append(chans, ch)
			}
		} else {
			chans = a.pending
		}
		a.pending = nil
		a.mu.Unlock()
		chans, err := a.listenTo(conn, chans)
		if err != nil {
			if a.ctx.Err() != nil {
				return
			}
			a.mu.Lock()
			a.pending = nil
			a.mu.Unlock()
			lost("LISTEN failed", err)
			continue
		}
		if fresh {
			alive = time.Now()
			a.listening.Store(true)
			if a.reconnects.Load() > 0 && len(chans) > 0 {
				a.announce(chans)
			}
			fresh = false
		}
		if time.Since(alive) >= a.opts.HeartbeatTimeout {
			// Nothing came, not even this server's heartbeats: a
			// connection broken without a word (a partition, a NAT that
			// forgot it) looks like this. No heartbeats until it answers.
			a.listening.Store(false)
			ctx, cancel := context.WithTimeout(a.ctx, a.pingTimeout())
			err := conn.Ping(ctx)
			cancel()
			if a.ctx.Err() != nil {
				return
			}
			if err != nil {
				lost(fmt.Sprintf("LISTEN connection silent for %v and its ping failed", a.opts.HeartbeatTimeout), err)
				continue
			}
			alive = time.Now()
			a.listening.Store(true)
		}
		a.mu.Lock()
		if len(a.pending) > 0 {
			a.mu.Unlock()
			continue
		}
		ctx, cancel := context.WithDeadline(a.ctx, alive.Add(a.opts.HeartbeatTimeout))
		a.interrupt = cancel
		a.mu.Unlock()
		n, err := conn.WaitForNotification(ctx)
		a.mu.Lock()
		a.interrupt = nil
		a.mu.Unlock()
		interrupted := ctx.Err() != nil // AddNamespace, or the liveness check is due
		cancel()
		switch {
		case err == nil:
			alive = time.Now()
			a.handle(n.Channel, []byte(n.Payload))
		case a.ctx.Err() != nil:
			return
		case interrupted && !conn.IsClosed():
			// AddNamespace: LISTEN on its channel; or the liveness check
		default:
			lost("LISTEN connection lost", err)
		}
	}
}

// announce sends INITIAL_HEARTBEAT on the namespaces of chans, back after a
// gap, so that the others answer and are counted again.
func (a *Adapter) announce(chans []string) {
	for _, ch := range chans {
		a.mu.Lock()
		nsp := a.byChannel[ch]
		a.mu.Unlock()
		err := a.sendUnlessClosed(func() error {
			ctx, cancel := context.WithTimeout(a.ctx, 5*time.Second)
			defer cancel()
			return a.notify(ctx, ch, a.codec.Heartbeat(TypeInitialHeartbeat, nsp))
		})
		if err == ErrClosed {
			return
		}
		if err != nil {
			a.log.Warn("postgres adapter: INITIAL_HEARTBEAT failed", "nsp", nsp, "err", err)
		}
	}
}

func (a *Adapter) drop(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	conn.Close(ctx)
	cancel()
}

// listenTo LISTENs on chans and marks their namespaces ready; it returns
// the channels listened to. A channel PostgreSQL refuses (the connection
// staying fine) is forgotten and its AddNamespace fails; any other error
// is the connection's.
func (a *Adapter) listenTo(conn *pgx.Conn, chans []string) ([]string, error) {
	ok := chans[:0:0]
	for _, ch := range chans {
		ctx, cancel := context.WithTimeout(a.ctx, 10*time.Second)
		_, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize())
		cancel()
		var pgErr *pgconn.PgError
		if err != nil && errors.As(err, &pgErr) && !conn.IsClosed() && a.ctx.Err() == nil {
			a.refused(ch, fmt.Errorf("postgres adapter: LISTEN %s: %w", ch, err))
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("LISTEN %s: %w", ch, err)
		}
		ok = append(ok, ch)
		a.mu.Lock()
		if st := a.nsps[a.byChannel[ch]]; st != nil && !st.listening {
			st.listening = true
			close(st.ready)
		}
		a.mu.Unlock()
	}
	return ok, nil
}

// refused forgets a channel PostgreSQL would not LISTEN on, failing the
// AddNamespace calls waiting for it.
func (a *Adapter) refused(ch string, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	nsp, known := a.byChannel[ch]
	if !known {
		return
	}
	delete(a.byChannel, ch)
	st := a.nsps[nsp]
	delete(a.nsps, nsp)
	if st == nil {
		return
	}
	if st.listening {
		// it was LISTENed on before: the namespace no longer hears
		a.log.Error("postgres adapter: namespace no longer listened to", "nsp", nsp, "err", err)
		return
	}
	st.err = err
	close(st.ready)
}

func reconnectDelay() time.Duration {
	n, err := rand.Int(rand.Reader, big.NewInt(2000))
	if err != nil {
		return 2 * time.Second
	}
	return time.Second + time.Duration(n.Int64())*time.Millisecond
}

// sleep waits d, or until Close (false).
func (a *Adapter) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-a.ctx.Done():
		return false
	}
}

// handle takes one notification, on the listener's goroutine.
func (a *Adapter) handle(channel string, payload []byte) {
	a.mu.Lock()
	nsp, ok := a.byChannel[channel]
	a.mu.Unlock()
	if !ok {
		return
	}
	top, err := parse(payload)
	var n Notification
	if err == nil {
		n, err = notificationOf(top)
	}
	if err != nil {
		a.dropped.Add(1)
		a.log.Warn("postgres adapter: malformed notification dropped", "channel", channel, "err", err, "payload", truncate(payload))
		return
	}
	if n.UID == a.codec.UID {
		return // PostgreSQL hands every listener its own notifications
	}
	body := payload
	var d Decoded
	if n.AttachmentID != 0 {
		ctx, cancel := context.WithTimeout(a.ctx, 5*time.Second)
		qerr := a.pool.QueryRow(ctx, `SELECT payload FROM `+a.table+` WHERE id = $1`, n.AttachmentID).Scan(&body)
		cancel()
		if qerr != nil {
			a.dropped.Add(1)
			a.log.Warn("postgres adapter: attachment not read, message dropped", "channel", channel, "id", n.AttachmentID, "err", qerr)
			return
		}
		d, err = a.codec.Decode(nsp, body)
	} else {
		d, err = a.codec.decodeParsed(nsp, body, top)
	}
	switch {
	case errors.Is(err, ErrUnsupported) || errors.Is(err, redis.ErrOtherNamespace):
		a.log.Debug("postgres adapter: message dropped", "channel", channel, "err", err)
		return
	case err != nil:
		a.dropped.Add(1)
		a.log.Warn("postgres adapter: malformed message dropped", "channel", channel, "err", err, "payload", truncate(body))
		return
	}
	if d.UID == a.codec.UID {
		return
	}
	if d.UID != "" && d.UID != emitterUID {
		a.mu.Lock()
		if st := a.nsps[nsp]; st != nil {
			if d.Type == TypeAdapterClose {
				delete(st.nodes, d.UID)
			} else {
				st.nodes[d.UID] = time.Now()
			}
		}
		a.mu.Unlock()
	}
	switch d.Type {
	case TypeInitialHeartbeat:
		select {
		case a.hb <- nsp:
		default: // a heartbeat is on its way anyway
		}
		return
	case TypeHeartbeat, TypeAdapterClose:
		return
	}
	a.recvMu.Lock()
	defer a.recvMu.Unlock()
	if !a.closed.Load() {
		a.receive(d.Msg)
	}
}

const emitterUID = "emitter"

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

// heartbeats sends a HEARTBEAT on each namespace every HeartbeatInterval,
// and at once when another server announced itself, while the LISTEN
// connection is up. Close stops it (hbStop) and waits for the send under
// way before its ADAPTER_CLOSE.
func (a *Adapter) heartbeats() {
	defer a.wg.Done()
	defer close(a.hbDone)
	t := time.NewTicker(a.opts.HeartbeatInterval)
	defer t.Stop()
	for {
		var nsps []string
		select {
		case <-a.hbStop:
			return
		case <-a.ctx.Done():
			return
		case nsp := <-a.hb:
			nsps = []string{nsp}
		case <-t.C:
			a.mu.Lock()
			for nsp, st := range a.nsps {
				if st.listening {
					nsps = append(nsps, nsp)
				}
			}
			a.mu.Unlock()
		}
		for _, nsp := range nsps {
			select {
			case <-a.hbStop:
				return
			default:
			}
			if !a.listening.Load() {
				break // deaf: nobody should count this server
			}
			// Not cancelled by hbStop: Close waits for it.
			ctx, cancel := context.WithTimeout(a.ctx, heartbeatSendTimeout)
			err := a.notify(ctx, a.codec.Channel(nsp), a.codec.Heartbeat(TypeHeartbeat, nsp))
			cancel()
			if err != nil && a.ctx.Err() == nil {
				a.log.Warn("postgres adapter: heartbeat failed", "nsp", nsp, "err", err)
			}
		}
	}
}

// heartbeatSendTimeout bounds one heartbeat's NOTIFY.
const heartbeatSendTimeout = 5 * time.Second

// cleanup deletes, every CleanupInterval, the attachments older than that
// (Node's cleanup query; every server runs it).
func (a *Adapter) cleanup() {
	defer a.wg.Done()
	t := time.NewTicker(a.opts.CleanupInterval)
	defer t.Stop()
	for {
		select {
		case <-a.ctx.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(a.ctx, 30*time.Second)
		_, err := a.pool.Exec(ctx, `DELETE FROM `+a.table+` WHERE created_at < now() - $1::bigint * interval '1 millisecond'`,
			a.opts.CleanupInterval.Milliseconds())
		cancel()
		if err != nil && a.ctx.Err() == nil {
			a.log.Warn("postgres adapter: attachment cleanup failed", "table", a.table, "err", err)
		}
	}
}

// Stats counts what the adapter did not deliver.
type Stats struct {
	Reconnects    uint64 // LISTEN connections made again after a failure
	Dropped       uint64 // malformed notifications, attachments not found
	PublishErrors uint64
}

// Stats returns the adapter's counters.
func (a *Adapter) Stats() Stats {
	return Stats{Reconnects: a.reconnects.Load(), Dropped: a.dropped.Load(), PublishErrors: a.publishErrors.Load()}
}
