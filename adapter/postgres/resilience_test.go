package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	cw "github.com/socketcore/socketcore/core/wire"
	"github.com/socketcore/socketcore/internal/pgtest"
)

// adapterWith makes an adapter on pool with o's heartbeat settings and
// logger (nil: discarded), LISTENing on "/".
func adapterWith(t *testing.T, pool *pgxpool.Pool, prefix, table string, in *inbox, o Options) *Adapter {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	o.Pool, o.ChannelPrefix, o.TableName, o.Receive = pool, prefix, table, in.receive
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	a, err := New(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if err := a.AddNamespace(ctx, "/"); err != nil {
		t.Fatal(err)
	}
	return a
}

// syncBuffer is a log sink for several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A server that closed is not counted again: nothing it sends (a heartbeat
// every millisecond, its answers to INITIAL_HEARTBEAT) follows its
// ADAPTER_CLOSE. Each round, a marker sent by c after b.Close returned
// tells when a has read everything b sent.
func TestClosedServerNotCountedAgain(t *testing.T) {
	pool := pgtest.Pool(t)
	prefix, table := pgtest.Unique(t)
	inA := newInbox()
	slow := Options{HeartbeatInterval: 50 * time.Millisecond, HeartbeatTimeout: time.Minute}
	a := adapterWith(t, pool, prefix, table, inA, slow)
	c := adapterWith(t, pool, prefix, table, newInbox(), slow)
	countIs(t, a, 2)
	bpool := pgtest.Pool(t)
	ctx := context.Background()
	const rounds = 40
	judged := 0
	for i := range rounds {
		var logs syncBuffer
		b := adapterWith(t, bpool, prefix, table, newInbox(), Options{HeartbeatInterval: time.Millisecond,
			HeartbeatTimeout: time.Minute, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		countIs(t, a, 3)
		time.Sleep(time.Duration(i%5) * time.Millisecond) // land Close at various points of b's sends
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		mark := cw.ClusterMessage{Type: cw.ClusterSocketsJoin, Nsp: "/", Rooms: []string{}, Except: []string{}, JoinRooms: []string{fmt.Sprint("mark", i)}}
		if err := c.Publish(ctx, mark); err != nil {
			t.Fatal(err)
		}
		for m := inA.next(t); m.Type != cw.ClusterSocketsJoin || m.JoinRooms[0] != mark.JoinRooms[0]; m = inA.next(t) {
		}
		if l := logs.String(); strings.Contains(l, "ADAPTER_CLOSE not sent") || strings.Contains(l, "heartbeat failed") {
			// a send timed out (it may be committed later): too slow a
			// machine to judge this round; forget b
			t.Logf("round %d: %s", i, l)
			a.mu.Lock()
			delete(a.nsps["/"].nodes, b.UID())
			a.mu.Unlock()
			continue
		}
		judged++
		if n, err := a.ServerCount(ctx, "/"); n != 2 || err != nil {
			t.Fatalf("round %d: the closed server is counted (%d servers, %v): it sent after its ADAPTER_CLOSE", i, n, err)
		}
	}
	if judged < rounds/2 {
		t.Fatalf("only %d of %d rounds could be judged", judged, rounds)
	}
}

// A namespace whose channel PostgreSQL refuses fails its AddNamespace, and
// only it: the listener neither reconnects nor stops hearing the others.
func TestRefusedNamespace(t *testing.T) {
	pool := pgtest.Pool(t)
	prefix, table := pgtest.Unique(t)
	inA := newInbox()
	a := newTestAdapter(t, pool, prefix, table, inA)
	b := newTestAdapter(t, pool, prefix, table, newInbox())
	countIs(t, a, 2)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	// What PostgreSQL would refuse, or pgx would change, is refused first.
	for _, nsp := range []string{"/bad\xff", "/nul\x00x"} {
		if err := a.AddNamespace(ctx, nsp); err == nil {
			t.Errorf("AddNamespace(%q): no error", nsp)
		}
	}
	// A channel that gets past that and is refused by PostgreSQL (here,
	// registered as AddNamespace does but without its check).
	st, added := a.register("/refused", prefix+"#/refused\xff")
	if !added {
		t.Fatal("not added")
	}
	select {
	case <-st.ready:
	case <-ctx.Done():
		t.Fatalf("the refused LISTEN's waiter was never woken; stats %+v", a.Stats())
	}
	a.mu.Lock()
	err, known := st.err, a.nsps["/refused"] != nil
	a.mu.Unlock()
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || known {
		t.Fatalf("refused LISTEN: err %v (want PostgreSQL's), namespace still known: %v", err, known)
	}
	// The other namespaces still hear, on the same connection.
	if err := a.AddNamespace(ctx, "/later"); err != nil {
		t.Fatal(err)
	}
	m := cw.ClusterMessage{Type: cw.ClusterSocketsJoin, Nsp: "/", Rooms: []string{}, Except: []string{}, JoinRooms: []string{"x"}}
	if err := b.Publish(ctx, m); err != nil {
		t.Fatal(err)
	}
	if got := inA.next(t); got.Type != m.Type || got.JoinRooms[0] != "x" {
		t.Fatalf("a received %+v", got)
	}
	if n := a.Stats().Reconnects; n != 0 {
		t.Errorf("%d reconnects", n)
	}
}

// Quotes, spaces and capitals: LISTEN (a quoted identifier) and
// pg_notify (a string) name the same channel.
func TestOddNamespace(t *testing.T) {
	a, b, inA, _ := twoAdapters(t)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	const nsp = `/Chat "q" x`
	for _, x := range []*Adapter{a, b} {
		if err := x.AddNamespace(ctx, nsp); err != nil {
			t.Fatal(err)
		}
	}
	m := cw.ClusterMessage{Type: cw.ClusterSocketsJoin, Nsp: nsp, Rooms: []string{}, Except: []string{}, JoinRooms: []string{"x"}}
	if err := b.Publish(ctx, m); err != nil {
		t.Fatal(err)
	}
	if got := inA.next(t); got.Nsp != nsp || got.JoinRooms[0] != "x" {
		t.Fatalf("a received %+v", got)
	}
}

// Namespaces added while messages stream in (each interrupts the
// listener's wait) lose and reorder none of them.
func TestInterruptedListenerLosesNothing(t *testing.T) {
	pool := pgtest.Pool(t)
	prefix, table := pgtest.Unique(t)
	inA := newInbox()
	a := newTestAdapter(t, pool, prefix, table, inA)
	b := newTestAdapter(t, pool, prefix, table, newInbox())
	const n = 1000
	sent := make(chan error, 1)
	go func() {
		for i := range n {
			m := cw.ClusterMessage{Type: cw.ClusterSocketsJoin, Nsp: "/", Rooms: []string{}, Except: []string{}, JoinRooms: []string{fmt.Sprint(i)}}
			if err := b.Publish(context.Background(), m); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for i := range 50 {
		if err := a.AddNamespace(ctx, fmt.Sprintf("/n%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if m := inA.next(t); m.JoinRooms[0] != fmt.Sprint(i) {
			t.Fatalf("message %d: got %v", i, m.JoinRooms)
		}
	}
}

// A LISTEN connection that goes silent without breaking (a partition, a NAT
// that forgot it: no RST) is noticed; the server stops announcing itself
// while it cannot hear, and comes back once it can.
func TestSilentListenConnection(t *testing.T) {
	prefix, table := pgtest.Unique(t)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	cfg, err := pgxpool.ParseConfig(pgtest.URL())
	if err != nil {
		t.Fatal(err)
	}
	px := newFreezeProxy(t, net.JoinHostPort(cfg.ConnConfig.Host, fmt.Sprint(cfg.ConnConfig.Port)))
	// in clear, for the proxy to see the LISTEN
	cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.TLSConfig, cfg.ConnConfig.Fallbacks = "127.0.0.1", px.port(), nil, nil
	apool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(apool.Close)
	quick := Options{HeartbeatInterval: 100 * time.Millisecond, HeartbeatTimeout: time.Second}
	qa, logs := quick, &syncBuffer{}
	qa.Logger = slog.New(slog.NewTextHandler(logs, nil))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("a's log:\n%s", logs)
		}
	})
	inA, inB := newInbox(), newInbox()
	a := adapterWith(t, apool, prefix, table, inA, qa)
	b := adapterWith(t, pgtest.Pool(t), prefix, table, inB, quick)
	countIs(t, b, 2)

	// Every connection that LISTENs (a's, and those it makes again) stops
	// moving bytes; a's other connections, and so its NOTIFYs, still work.
	px.freezeListeners(true)
	countIs(t, b, 1) // a noticed it cannot hear, and went quiet
	if a.listening.Load() {
		t.Error("a claims to listen")
	}

	// The network heals (the frozen connections are reset): a hears again
	// and is counted again.
	px.freezeListeners(false)
	countIs(t, b, 2)
	eventually(t, "a to receive b's messages again", func() (bool, string) {
		m := cw.ClusterMessage{Type: cw.ClusterSocketsJoin, Nsp: "/", Rooms: []string{}, Except: []string{}, JoinRooms: []string{"again"}}
		if err := b.Publish(context.Background(), m); err != nil {
			return false, err.Error()
		}
		select {
		case <-inA.wake:
		case <-time.After(200 * time.Millisecond):
		}
		inA.mu.Lock()
		defer inA.mu.Unlock()
		return len(inA.msgs) > 0, fmt.Sprint(len(inA.msgs), " messages")
	})
	if a.Stats().Reconnects == 0 {
		t.Error("no reconnect counted")
	}
}

// freezeProxy forwards TCP connections to PostgreSQL.
// With freezeListeners(true), a connection that sent a LISTEN stops
// forwarding either way, without closing (as a partitioned network);
// freezeListeners(false) resets those and lets the others go on.
type freezeProxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup
	mu     sync.Mutex
	cond   *sync.Cond
	freeze bool
	closed bool
	conns  map[*proxied]bool
}

type proxied struct {
	client, server net.Conn
	listens        bool // sent a LISTEN; guarded by freezeProxy.mu
}

func newFreezeProxy(t *testing.T, target string) *freezeProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &freezeProxy{ln: ln, target: target, conns: make(map[*proxied]bool)}
	p.cond = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		p.closed = true
		for c := range p.conns {
			c.client.Close()
			c.server.Close()
		}
		p.cond.Broadcast()
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *freezeProxy) port() uint16 { return uint16(p.ln.Addr().(*net.TCPAddr).Port) }

func (p *freezeProxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			client.Close()
			continue
		}
		c := &proxied{client: client, server: server}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			client.Close()
			server.Close()
			return
		}
		p.conns[c] = true
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(c, server, client, true)
		go p.pipe(c, client, server, false)
	}
}

// pipe copies src to dst, holding while c is frozen.
func (p *freezeProxy) pipe(c *proxied, dst, src net.Conn, fromClient bool) {
	defer p.wg.Done()
	defer func() {
		dst.Close()
		src.Close()
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		p.mu.Lock()
		if fromClient && bytes.Contains(buf[:n], []byte("LISTEN ")) {
			c.listens = true
		}
		for p.freeze && c.listens && !p.closed {
			p.cond.Wait()
		}
		gone := p.closed || !p.conns[c]
		p.mu.Unlock()
		if gone {
			return
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			return
		}
	}
}

func (p *freezeProxy) freezeListeners(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.freeze = on
	if !on {
		for c := range p.conns {
			if c.listens {
				delete(p.conns, c)
				c.client.Close()
				c.server.Close()
			}
		}
	}
	p.cond.Broadcast()
}
