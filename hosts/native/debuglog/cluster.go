package debuglog

import (
	"context"
	"log/slog"

	"github.com/socketcore/socketcore/adapter"
	"github.com/socketcore/socketcore/core/wire"
)

// ClusterReceive wraps an adapter's Receive function (what an adapter
// constructor is given) so that every message from the other servers is
// logged at debug level through l, a Subsystem(logger, Cluster) logger;
// with socketcore:cluster off it returns receive itself.
func ClusterReceive(l *slog.Logger, receive adapter.Receive) adapter.Receive {
	if !l.Enabled(context.Background(), slog.LevelDebug) {
		return receive
	}
	return func(m wire.ClusterMessage) {
		logCluster(l, "cluster message received", m, nil)
		receive(m)
	}
}

// ClusterPublished logs, at debug level through l (a Subsystem(logger,
// Cluster) logger), a message this server published and the adapter's
// error; adapters wrapped by a command call it from Publish.
func ClusterPublished(l *slog.Logger, m wire.ClusterMessage, err error) {
	logCluster(l, "cluster message published", m, err)
}

func logCluster(l *slog.Logger, msg string, m wire.ClusterMessage, err error) {
	ctx := context.Background()
	if !l.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{slog.String("type", m.Type.String()), slog.String("nsp", m.Nsp)}
	if m.RequestID != "" {
		attrs = append(attrs, slog.String("request", m.RequestID))
	}
	if len(m.Rooms) > 0 {
		attrs = append(attrs, slog.Any("rooms", m.Rooms))
	}
	if len(m.Except) > 0 {
		attrs = append(attrs, slog.Any("except", m.Except))
	}
	if len(m.Data) > 0 {
		attrs = append(attrs, slog.Int("bytes", len(m.Data)))
	}
	if err != nil {
		attrs = append(attrs, slog.Any("err", err))
	}
	l.LogAttrs(ctx, slog.LevelDebug, msg, attrs...)
}
