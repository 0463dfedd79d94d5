package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"

	cw "github.com/socketcore/socketcore/core/wire"
)

// Execer is what a Publisher needs of PostgreSQL: a *pgxpool.Pool, a
// *pgx.Conn or a pgx.Tx.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Publisher sends cluster messages without receiving any: the Adapter's
// sending half, which the emitter (adapter/postgres/emitter) uses with
// the uid "emitter".
type Publisher struct {
	DB    Execer
	Table string // the attachment table ("" is DefaultTable)
	Codec Codec
}

// Publish sends m on its namespace's channel: pg_notify with the JSON
// message, or, for a message with binary or of Codec.Threshold bytes or
// more, the msgpack message into the attachment table and pg_notify with
// a header naming its row, in one statement (the row is only kept when
// the NOTIFY is accepted).
func (p Publisher) Publish(ctx context.Context, m cw.ClusterMessage) error {
	out, err := p.Codec.Encode(m)
	if err != nil {
		return err
	}
	return p.send(ctx, out)
}

func (p Publisher) send(ctx context.Context, out Outgoing) error {
	if out.Attachment == nil {
		if _, err := p.DB.Exec(ctx, `SELECT pg_notify($1, $2)`, out.Channel, string(out.Notify)); err != nil {
			return fmt.Errorf("postgres adapter: NOTIFY: %w", err)
		}
		return nil
	}
	table := p.Table
	if table == "" {
		table = DefaultTable
	}
	if !tableName.MatchString(table) {
		return fmt.Errorf("postgres adapter: bad table name %q", table)
	}
	// The header is Codec.Header's: {"uid":…,"type":…,"attachmentId":"<id>"}.
	_, err := p.DB.Exec(ctx, `WITH a AS (INSERT INTO `+table+` (payload) VALUES ($1) RETURNING id)
SELECT pg_notify($2, format('{"uid":%s,"type":%s,"attachmentId":"%s"}', to_json($3::text), $4::int, a.id)) FROM a`,
		out.Attachment, out.Channel, p.Codec.UID, out.Type)
	if err != nil {
		return fmt.Errorf("postgres adapter: NOTIFY with attachment: %w", err)
	}
	return nil
}
