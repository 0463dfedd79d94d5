// Package postgres_test runs clusters joined through PostgreSQL
// (adapter/postgres): Go servers in this process (gocluster_test.go), the
// socketcore command with --postgres, and, with the postgresnode build tag
// (make test-postgres, after npm ci here), a mixed cluster with a Node
// server on the official @socket.io/postgres-adapter, official clients and
// both emitters (mixed_test.go, mixed.mjs).
//
// Every server runs the same application: clustertest.App documents it
// and is the Go one; mixed.mjs has the Node copy.
package postgres_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/socketcore/socketcore/adapter"
	pgadapter "github.com/socketcore/socketcore/adapter/postgres"
	"github.com/socketcore/socketcore/hosts/native"
	"github.com/socketcore/socketcore/internal/clustertest"
	"github.com/socketcore/socketcore/internal/leaktest"
	"github.com/socketcore/socketcore/internal/proctest"
)

func TestMain(m *testing.M) {
	code := leaktest.Check(m)
	proctest.Cleanup()
	os.Exit(code)
}

// wait bounds every single wait of the tests.
const wait = 10 * time.Second

// startGo starts a Go server of the cluster, named name, with the
// application, on a loopback httptest listener.
func startGo(t *testing.T, pool *pgxpool.Pool, prefix, table, name string) (string, *native.Server) {
	t.Helper()
	return clustertest.Start(t, name, native.Options{
		RequestsTimeout: 3 * time.Second,
		Adapter: func(receive adapter.Receive) (adapter.Adapter, error) {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			return pgadapter.New(ctx, pgadapter.Options{Pool: pool, ChannelPrefix: prefix, TableName: table,
				Receive: receive, HeartbeatInterval: 500 * time.Millisecond, HeartbeatTimeout: 5 * time.Second,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		},
	}, 3*time.Second)
}
