// Package pgtest gives tests the PostgreSQL they run against: PG_URL, or
// postgres://postgres@127.0.0.1:5432/test. A test that needs PostgreSQL
// fails, saying how to get one, when it is not reachable; it is never
// skipped.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultURL is used when PG_URL is not set.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test"

// URL is the PostgreSQL the tests use.
func URL() string {
	if u := os.Getenv("PG_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// Pool connects to the test database and pings it, failing the test with
// what to install when it does not answer. The pool is closed at the end.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, URL())
	if err == nil {
		err = pool.Ping(ctx)
	}
	if err != nil {
		t.Fatalf("PostgreSQL is not reachable at %s (%v): these tests need a real PostgreSQL there (or set PG_URL); "+
			"install it with `apt-get install postgresql` and allow trust auth on 127.0.0.1 for database test, "+
			"or: docker run --rm -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust -e POSTGRES_DB=test postgres:15", URL(), err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// Unique returns a channel prefix and an attachment table of the test's
// own, so that tests running at once (and other users of the database) do
// not meet; the table is dropped at the end.
func Unique(t testing.TB) (prefix, table string) {
	t.Helper()
	var b [5]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	s := hex.EncodeToString(b[:])
	table = "sio_test_" + s
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, URL())
		if err == nil {
			_, err = conn.Exec(ctx, "DROP TABLE IF EXISTS "+table)
			conn.Close(ctx)
		}
		if err != nil {
			t.Errorf("dropping %s: %v", table, err)
		}
	})
	return "siotest-" + s, table
}
