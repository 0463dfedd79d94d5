package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	cw "github.com/socketcore/socketcore/core/wire"
	"github.com/socketcore/socketcore/internal/pgtest"
	"github.com/socketcore/socketcore/internal/proctest"
)

// These tests need PostgreSQL: PG_URL, or postgres://postgres@127.0.0.1:5432/test.

// twoAdapters joins two adapters through a pool, channel prefix and table
// of the test's own; inA and inB collect what each receives.
func twoAdapters(t *testing.T) (a, b *Adapter, inA, inB *inbox) {
	t.Helper()
	pool := pgtest.Pool(t)
	prefix, table := pgtest.Unique(t)
	inA, inB = newInbox(), newInbox()
	return newTestAdapter(t, pool, prefix, table, inA), newTestAdapter(t, pool, prefix, table, inB), inA, inB
}

// wait bounds every single wait of the tests.
const wait = 10 * time.Second

// inbox collects what an adapter received.
type inbox struct {
	mu   sync.Mutex
	msgs []cw.ClusterMessage
	wake chan struct{}
}

func newInbox() *inbox { return &inbox{wake: make(chan struct{}, 1)} }

func (in *inbox) receive(m cw.ClusterMessage) {
	in.mu.Lock()
	in.msgs = append(in.msgs, m)
	in.mu.Unlock()
	select {
	case in.wake <- struct{}{}:
	default:
	}
}

// next waits for a message that is not a heartbeat-answer artefact.
func (in *inbox) next(t *testing.T) cw.ClusterMessage {
	t.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		in.mu.Lock()
		if len(in.msgs) > 0 {
			m := in.msgs[0]
			in.msgs = in.msgs[1:]
			in.mu.Unlock()
			return m
		}
		in.mu.Unlock()
		select {
		case <-in.wake:
		case <-deadline.C:
			t.Fatalf("no message within %v", wait)
		}
	}
}

func (in *inbox) empty(t *testing.T) {
	t.Helper()
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.msgs) > 0 {
		t.Fatalf("unexpected messages: %+v", in.msgs)
	}
}

func newTestAdapter(t *testing.T, pool *pgxpool.Pool, prefix, table string, in *inbox) *Adapter {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	a, err := New(ctx, Options{Pool: pool, ChannelPrefix: prefix, TableName: table, Receive: in.receive,
		HeartbeatInterval: 200 * time.Millisecond, HeartbeatTimeout: 2 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if err := a.AddNamespace(ctx, "/"); err != nil {
		t.Fatal(err)
	}
	return a
}

// eventually retries cond until it holds, for at most wait.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	proctest.Eventually(t, wait, what, cond)
}

func countIs(t *testing.T, a *Adapter, n int) {
	t.Helper()
	eventually(t, fmt.Sprintf("a server count of %d", n), func() (bool, string) {
		got, err := a.ServerCount(context.Background(), "/")
		return err == nil && got == n, fmt.Sprint(got, err)
	})
}

func TestAdapterLive(t *testing.T) {
	before := runtime.NumGoroutine()
	pool := pgtest.Pool(t)
	prefix, table := pgtest.Unique(t)
	inA, inB := newInbox(), newInbox()
	a := newTestAdapter(t, pool, prefix, table, inA)
	b := newTestAdapter(t, pool, prefix, table, inB)
	countIs(t, a, 2)
	countIs(t, b, 2)
	ctx := context.Background()

	// A broadcast, a large one (through the table) and one with binary.
	large := `["big","` + strings.Repeat("z", 10000) + `"]`
	for _, m := range []cw.ClusterMessage{
		{Type: cw.ClusterBroadcast, Nsp: "/", Rooms: []string{"r"}, Except: []string{"x"}, Volatile: true, Compress: true, Data: []byte(`["ev",1]`)},
		{Type: cw.ClusterBroadcast, Nsp: "/", Rooms: []string{}, Except: []string{}, Compress: true, Data: []byte(large)},
		{Type: cw.ClusterServerSideEmit, Nsp: "/", RequestID: "q1", Data: []byte(`["bin",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1, 2, 3}}},
		{Type: cw.ClusterServerSideEmitResponse, Nsp: "/", RequestID: "q1", Data: []byte(`["ok"]`)},
	} {
		if err := a.Publish(ctx, m); err != nil {
			t.Fatal(err)
		}
		got := inB.next(t)
		if got.Type != m.Type || string(got.Data) != string(m.Data) || got.RequestID != m.RequestID ||
			len(got.Attachments) != len(m.Attachments) || (len(m.Attachments) > 0 && !bytes.Equal(got.Attachments[0], m.Attachments[0])) {
			t.Fatalf("B received %+v, want %+v", got, m)
		}
	}
	var rows int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&rows); err != nil || rows != 2 {
		t.Fatalf("attachment rows: %d %v", rows, err)
	}
	inA.empty(t) // its own messages never come back

	// Both LISTEN connections cut: the adapters reconnect, LISTEN again
	// and announce themselves; messages flow again.
	if _, err := pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1`,
		`LISTEN "`+prefix+`#/"`); err != nil {
		t.Fatal(err)
	}
	eventually(t, "both adapters to reconnect", func() (bool, string) {
		return a.Stats().Reconnects >= 1 && b.Stats().Reconnects >= 1, fmt.Sprint(a.Stats(), b.Stats())
	})
	eventually(t, "messages to flow again", func() (bool, string) {
		m := cw.ClusterMessage{Type: cw.ClusterSocketsJoin, Nsp: "/", JoinRooms: []string{"again"}}
		if err := b.Publish(ctx, m); err != nil {
			return false, err.Error()
		}
		select {
		case <-inA.wake:
		case <-time.After(200 * time.Millisecond):
		}
		inA.mu.Lock()
		defer inA.mu.Unlock()
		return len(inA.msgs) > 0, fmt.Sprint(len(inA.msgs))
	})

	// An adapter with a short CleanupInterval deletes the old attachments.
	cctx, cancel := context.WithTimeout(ctx, wait)
	cleaner, err := New(cctx, Options{Pool: pool, ChannelPrefix: prefix, TableName: table, Receive: func(cw.ClusterMessage) {},
		CleanupInterval: 50 * time.Millisecond})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the attachments to be cleaned up", func() (bool, string) {
		err := pool.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&rows)
		return err == nil && rows == 0, fmt.Sprint(rows, err)
	})
	cleaner.Close()

	// B leaves: A counts one server at once (ADAPTER_CLOSE).
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	countIs(t, a, 1)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Publish(ctx, cw.ClusterMessage{Type: cw.ClusterBroadcast, Nsp: "/"}); err != ErrClosed {
		t.Fatalf("Publish after Close: %v", err)
	}
	pool.Close()
	eventually(t, "the adapters' goroutines to end", func() (bool, string) {
		n := runtime.NumGoroutine()
		return n <= before, fmt.Sprint(n, " > ", before)
	})
}

// A server that stops sending (its heartbeats stop) leaves the count after
// HeartbeatTimeout.
func TestHeartbeatTimeout(t *testing.T) {
	pool := pgtest.Pool(t)
	prefix, table := pgtest.Unique(t)
	a := newTestAdapter(t, pool, prefix, table, newInbox())
	b := newTestAdapter(t, pool, prefix, table, newInbox())
	countIs(t, a, 2)
	// b goes silent without ADAPTER_CLOSE: its goroutines stop.
	b.closed.Store(true)
	b.cancel()
	b.wg.Wait()
	countIs(t, a, 1)
}

func TestOptions(t *testing.T) {
	ctx := context.Background()
	recv := func(cw.ClusterMessage) {}
	for _, o := range []Options{
		{ConnString: pgtest.URL()}, // no Receive
		{Receive: recv},            // no pool
		{Receive: recv, ConnString: pgtest.URL(), TableName: "x; DROP TABLE y"},
	} {
		if a, err := New(ctx, o); err == nil {
			a.Close()
			t.Errorf("%+v: no error", o)
		}
	}
	pool := pgtest.Pool(t)
	prefix, table := pgtest.Unique(t)
	a := newTestAdapter(t, pool, prefix, table, newInbox())
	if err := a.AddNamespace(ctx, "/"+strings.Repeat("n", 80)); err == nil {
		t.Error("a channel longer than 63 bytes was accepted")
	}
	// The host answers AllRooms itself when the adapter says so.
	if err := a.Publish(ctx, cw.ClusterMessage{Type: cw.ClusterAllRooms, Nsp: "/", RequestID: "r"}); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("AllRooms: %v", err)
	}
}

// A namespace added while the LISTEN connection waits (the listener is
// interrupted to LISTEN on it) is counted and receives.
func TestLaterNamespace(t *testing.T) {
	a, b, _, inB := twoAdapters(t)
	countIs(t, a, 2)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for _, x := range []*Adapter{a, b} {
		if err := x.AddNamespace(ctx, "/chat"); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "both servers counted on /chat", func() (bool, string) {
		n, err := a.ServerCount(ctx, "/chat")
		return n == 2, fmt.Sprint(n, err)
	})
	m := cw.ClusterMessage{Type: cw.ClusterSocketsLeave, Nsp: "/chat", Rooms: []string{}, Except: []string{}, JoinRooms: []string{"x"}}
	if err := a.Publish(ctx, m); err != nil {
		t.Fatal(err)
	}
	if got := inB.next(t); got.Nsp != "/chat" || got.Type != cw.ClusterSocketsLeave || got.JoinRooms[0] != "x" {
		t.Fatalf("B received %+v", got)
	}
}

// Garbage on the channel and in the table is dropped and counted; the
// messages after it still arrive.
func TestGarbage(t *testing.T) {
	pool := pgtest.Pool(t)
	prefix, table := pgtest.Unique(t)
	in := newInbox()
	a := newTestAdapter(t, pool, prefix, table, in)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ch := prefix + "#/"
	var garbageID, otherID int64
	if err := pool.QueryRow(ctx, "INSERT INTO "+table+" (payload) VALUES ($1) RETURNING id", []byte{0xc1, 0xff}).Scan(&garbageID); err != nil {
		t.Fatal(err)
	}
	other, err := Codec{UID: "u"}.Encode(cw.ClusterMessage{Type: cw.ClusterServerSideEmit, Nsp: "/other",
		Data: []byte(`["e",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, "INSERT INTO "+table+" (payload) VALUES ($1) RETURNING id", other.Attachment).Scan(&otherID); err != nil {
		t.Fatal(err)
	}
	malformed := []string{
		`nope`, `[1,2]`, `{"uid":"u"}`, `{"type":3,"uid":"u","nsp":"/"}`,
		`{"uid":"u","type":3,"attachmentId":"999999999"}`, // no such row
		fmt.Sprintf(`{"uid":"u","type":3,"attachmentId":"%d"}`, garbageID),
	}
	quietly := []string{
		`{"type":99,"data":{},"uid":"u","nsp":"/"}`,
		fmt.Sprintf(`{"uid":"u","type":9,"attachmentId":"%d"}`, otherID), // another namespace's
	}
	for _, p := range append(malformed, quietly...) {
		if _, err := pool.Exec(ctx, "SELECT pg_notify($1, $2)", ch, p); err != nil {
			t.Fatal(err)
		}
	}
	good := cw.ClusterMessage{Type: cw.ClusterSocketsJoin, Nsp: "/", Rooms: []string{}, Except: []string{}, JoinRooms: []string{"ok"}}
	out, err := Codec{UID: "u"}.Encode(good)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "SELECT pg_notify($1, $2)", ch, string(out.Notify)); err != nil {
		t.Fatal(err)
	}
	if got := in.next(t); got.Type != cw.ClusterSocketsJoin || got.JoinRooms[0] != "ok" {
		t.Fatalf("received %+v, want the good message", got)
	}
	in.empty(t)
	if got := a.Stats().Dropped; got != uint64(len(malformed)) {
		t.Errorf("dropped %d, want %d", got, len(malformed))
	}
}
