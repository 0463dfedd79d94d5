package emitter

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/socketcore/socketcore/adapter/postgres"
	cw "github.com/socketcore/socketcore/core/wire"
	"github.com/socketcore/socketcore/internal/pgtest"
)

func TestErrors(t *testing.T) {
	var e Emitter
	if err := e.Emit(context.Background(), "x"); !errors.Is(err, ErrNoDB) {
		t.Errorf("no pool: %v", err)
	}
	if err := New(nil, Options{}).Emit(context.Background(), "connect"); !errors.Is(err, ErrReservedEvent) {
		t.Errorf("reserved: %v", err)
	}
	if got := New(nil, Options{}).Of("chat").Namespace(); got != "/chat" {
		t.Errorf("Of: %q", got)
	}
}

// What the emitter NOTIFYs, read back by a listener and decoded as a
// server does.
func TestMessages(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool := pgtest.Pool(t)
	prefix, table := pgtest.Unique(t)
	if _, err := pool.Exec(ctx, "CREATE TABLE "+table+" (id bigserial UNIQUE, created_at timestamptz DEFAULT NOW(), payload bytea)"); err != nil {
		t.Fatal(err)
	}
	l, err := pgx.Connect(ctx, pgtest.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(context.Background())
	if _, err := l.Exec(ctx, `LISTEN "`+prefix+`#/chat"`); err != nil {
		t.Fatal(err)
	}
	e := New(pool, Options{ChannelPrefix: prefix, TableName: table}).Of("/chat")
	next := func() cw.ClusterMessage {
		t.Helper()
		n, err := l.WaitForNotification(ctx)
		if err != nil {
			t.Fatal(err)
		}
		h, err := postgres.ParseNotification([]byte(n.Payload))
		if err != nil || h.UID != "emitter" {
			t.Fatalf("%s: %+v %v", n.Payload, h, err)
		}
		body := []byte(n.Payload)
		if h.AttachmentID != 0 {
			if err := pool.QueryRow(ctx, "SELECT payload FROM "+table+" WHERE id = $1", h.AttachmentID).Scan(&body); err != nil {
				t.Fatal(err)
			}
		} else {
			var top map[string]any
			if json.Unmarshal(body, &top) != nil || top["nsp"] != "/chat" {
				t.Errorf("no nsp: %s", body)
			}
		}
		d, err := postgres.Codec{UID: "server"}.Decode("/chat", body)
		if err != nil {
			t.Fatal(err)
		}
		return d.Msg
	}
	if err := e.To("a").Except("b").Volatile().Compress(false).Emit(ctx, "ev", map[string]any{"bin": []byte{1}}, 2); err != nil {
		t.Fatal(err)
	}
	m := next()
	if m.Type != cw.ClusterBroadcast || m.Rooms[0] != "a" || m.Except[0] != "b" || !m.Volatile || m.Compress ||
		string(m.Data) != `["ev",{"bin":{"_placeholder":true,"num":0}},2]` || len(m.Attachments) != 1 {
		t.Errorf("emit: %+v %s", m, m.Data)
	}
	if err := e.In("a").SocketsJoin(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if m = next(); m.Type != cw.ClusterSocketsJoin || m.JoinRooms[0] != "c" || m.Rooms[0] != "a" {
		t.Errorf("join: %+v", m)
	}
	if err := e.SocketsLeave(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if m = next(); m.Type != cw.ClusterSocketsLeave || m.JoinRooms[0] != "c" || len(m.Rooms) != 0 {
		t.Errorf("leave: %+v", m)
	}
	if err := e.DisconnectSockets(ctx, true); err != nil {
		t.Fatal(err)
	}
	if m = next(); m.Type != cw.ClusterDisconnectSockets || !m.Close {
		t.Errorf("disconnect: %+v", m)
	}
	if err := e.ServerSideEmit(ctx, "hi", "x"); err != nil {
		t.Fatal(err)
	}
	if m = next(); m.Type != cw.ClusterServerSideEmit || string(m.Data) != `["hi","x"]` {
		t.Errorf("server-side emit: %+v", m)
	}
}
