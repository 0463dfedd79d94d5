package main

// PostgreSQL instead of Redis: --postgres joins the server to a cluster
// through PostgreSQL's LISTEN/NOTIFY (adapter/postgres), shared with Node
// servers on @socket.io/postgres-adapter and reachable by
// @socket.io/postgres-emitter.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/socketcore/socketcore/adapter"
	pgadapter "github.com/socketcore/socketcore/adapter/postgres"
	"github.com/socketcore/socketcore/core/wire"
	"github.com/socketcore/socketcore/hosts/native"
	"github.com/socketcore/socketcore/hosts/native/debuglog"
)

type postgresFlags struct {
	url               string
	channelPrefix     string
	table             string
	payloadThreshold  int
	cleanupInterval   time.Duration
	heartbeatInterval time.Duration
	heartbeatTimeout  time.Duration
}

func (f *postgresFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.url, "postgres", "", "join a cluster through PostgreSQL LISTEN/NOTIFY (@socket.io/postgres-adapter): postgres://user[:pass]@host:port/db (empty: no PostgreSQL)")
	fs.StringVar(&f.channelPrefix, "postgres-channel-prefix", "socket.io", "prefix of the cluster's NOTIFY channels (the adapter's channelPrefix)")
	fs.StringVar(&f.table, "postgres-table", pgadapter.DefaultTable, "table of the messages too large for a NOTIFY or holding binary (tableName; created when missing)")
	fs.IntVar(&f.payloadThreshold, "postgres-payload-threshold", pgadapter.DefaultThreshold, "messages of this many bytes or more go through the table (payloadThreshold)")
	fs.DurationVar(&f.cleanupInterval, "postgres-cleanup-interval", 30*time.Second, "how often attachments older than this are deleted (cleanupInterval)")
	fs.DurationVar(&f.heartbeatInterval, "postgres-heartbeat-interval", 5*time.Second, "how often the server announces itself to the cluster (heartbeatInterval)")
	fs.DurationVar(&f.heartbeatTimeout, "postgres-heartbeat-timeout", 10*time.Second, "a server not heard from for this long is no longer counted (heartbeatTimeout)")
}

// apply sets o.Adapter when --postgres is given; c holds the Redis flags,
// refused with it rather than ignored (--recovery-shared, true by default,
// does not apply either: recovery stays in each server's memory).
func (f *postgresFlags) apply(o *native.Options, c *clusterFlags) error {
	if f.url == "" {
		return nil
	}
	switch {
	case c.redisURL != "":
		return errors.New("--redis and --postgres: choose one cluster")
	case c.sharded:
		return errors.New("--redis-sharded is Redis's: it does not apply to --postgres")
	case c.subscription != "":
		return errors.New("--redis-subscription-mode is Redis's: it does not apply to --postgres")
	case c.specific:
		return errors.New("--redis-specific-response-channel is Redis's: it does not apply to --postgres")
	}
	cfg, err := pgxpool.ParseConfig(f.url)
	if err != nil {
		return fmt.Errorf("--postgres: %w", err)
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	clog := debuglog.Subsystem(log, debuglog.Cluster)
	o.Adapter = func(receive adapter.Receive) (adapter.Adapter, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("--postgres: %w", err)
		}
		a, err := pgadapter.New(ctx, pgadapter.Options{
			Pool: pool, ChannelPrefix: f.channelPrefix, TableName: f.table, PayloadThreshold: f.payloadThreshold,
			CleanupInterval: f.cleanupInterval, HeartbeatInterval: f.heartbeatInterval, HeartbeatTimeout: f.heartbeatTimeout,
			Receive: debuglog.ClusterReceive(clog, receive), Logger: clog,
		})
		if err != nil {
			pool.Close()
			return nil, fmt.Errorf("--postgres %s:%d/%s: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, err)
		}
		log.Info("socketcore: joined the PostgreSQL cluster", "host", cfg.ConnConfig.Host, "port", cfg.ConnConfig.Port,
			"database", cfg.ConnConfig.Database, "channel_prefix", f.channelPrefix, "table", f.table, "uid", a.UID())
		return ownedPool{a, pool, clog}, nil
	}
	return nil
}

// ownedPool closes the pool the command made with its adapter, and logs
// what it publishes for socketcore:cluster.
type ownedPool struct {
	*pgadapter.Adapter
	pool *pgxpool.Pool
	log  *slog.Logger
}

func (o ownedPool) Publish(ctx context.Context, m wire.ClusterMessage) error {
	err := o.Adapter.Publish(ctx, m)
	debuglog.ClusterPublished(o.log, m, err)
	return err
}

func (o ownedPool) Close() error {
	err := o.Adapter.Close()
	o.pool.Close()
	return err
}
