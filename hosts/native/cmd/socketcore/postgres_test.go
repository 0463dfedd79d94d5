package main

import (
	"bytes"
	"context"
	"flag"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/socketcore/socketcore/core/wire"
	"github.com/socketcore/socketcore/hosts/native"
)

func postgresURL() string {
	if u := os.Getenv("PG_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test"
}

func clusterFrom(t *testing.T, args ...string) (native.Options, error) {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var c clusterFlags
	c.register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	o := native.Options{Logger: slog.New(slog.NewTextHandler(&buf, nil))}
	err := c.apply(&o)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", buf.String())
		}
	})
	return o, err
}

func TestPostgresFlags(t *testing.T) {
	if _, err := clusterFrom(t, "--redis", "redis://127.0.0.1:6379", "--postgres", postgresURL()); err == nil ||
		!strings.Contains(err.Error(), "choose one") {
		t.Errorf("--redis with --postgres: %v", err)
	}
	for _, redisOnly := range [][]string{{"--redis-sharded"}, {"--redis-subscription-mode", "static"}, {"--redis-specific-response-channel"}} {
		if _, err := clusterFrom(t, append([]string{"--postgres", postgresURL()}, redisOnly...)...); err == nil ||
			!strings.Contains(err.Error(), redisOnly[0]) {
			t.Errorf("%s with --postgres: %v", redisOnly[0], err)
		}
	}
	if _, err := clusterFrom(t, "--postgres", "postgres://%zz"); err == nil || !strings.Contains(err.Error(), "--postgres") {
		t.Errorf("bad URL: %v", err)
	}
	o, err := clusterFrom(t)
	if err != nil || o.Adapter != nil {
		t.Fatalf("no cluster: %v %v", o.Adapter != nil, err)
	}
	// Recovery with PostgreSQL stays in each server's memory (the Node
	// adapter has none; adapter/postgres is no RecoveryStore).
	o, err = clusterFrom(t, "--postgres", postgresURL(), "--recovery", "2m")
	if err != nil || o.Adapter == nil || o.Recovery == nil || o.Recovery.Shared {
		t.Fatalf("--recovery with --postgres: %+v %v", o.Recovery, err)
	}

	// A real join: the adapter is made on the given channel prefix and table.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, postgresURL())
	if err != nil {
		t.Fatalf("PostgreSQL is not reachable at %s (%v): start it (apt-get install postgresql; trust auth on 127.0.0.1, database test) or set PG_URL", postgresURL(), err)
	}
	defer conn.Close(context.Background())
	table := "sio_cmd_test_" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	defer conn.Exec(context.Background(), "DROP TABLE IF EXISTS "+table)
	var logs bytes.Buffer
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var c clusterFlags
	c.register(fs)
	if err := fs.Parse([]string{"--postgres", postgresURL(), "--postgres-channel-prefix", "cmdtest", "--postgres-table", table,
		"--postgres-heartbeat-interval", "1s"}); err != nil {
		t.Fatal(err)
	}
	o = native.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	if err := c.apply(&o); err != nil || o.Adapter == nil {
		t.Fatalf("apply: %v", err)
	}
	a, err := o.Adapter(func(wire.ClusterMessage) {})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "socketcore: joined the PostgreSQL cluster") || !strings.Contains(logs.String(), "uid=") {
		t.Errorf("log: %s", logs.String())
	}
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", table).Scan(&exists); err != nil || !exists {
		t.Errorf("table %s not created: %v", table, err)
	}
	if err := a.AddNamespace(ctx, "/"); err != nil {
		t.Fatal(err)
	}
	if n, err := a.ServerCount(ctx, "/"); err != nil || n != 1 {
		t.Errorf("server count %d %v", n, err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
}
