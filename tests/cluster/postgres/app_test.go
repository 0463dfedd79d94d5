// Package postgres_test runs clusters joined through PostgreSQL
// (adapter/postgres): Go servers in this process (gocluster_test.go), the
// socketcore command with --postgres, and, with the postgresnode build tag
// (make test-postgres, after npm ci here), a mixed cluster with a Node
// server on the official @socket.io/postgres-adapter, official clients and
// both emitters (mixed_test.go, mixed.mjs).
//
// Every server runs the same application (mixed.mjs has the Node copy):
//
//	on connection            socket.data = {server}; emit "hello" {id, server}
//	"join" (room, ack)       socket.join(room); ack("ok")
//	"emit" (spec, event, payload, ack)
//	                         io.to(spec.to).except(spec.except)[.local][.volatile].emit(event, payload); ack("ok")
//	"fetch" (room, ack)      io.in(room).fetchSockets() (all if room is "") → [{id, rooms, data}]
//	"socketsJoin" / "socketsLeave" (target, room, ack), "disconnectSockets" (target, ack)
//	"sse" (ack)              io.serverSideEmitWithAck("whoami") → sorted answers
//	"note" (text, ack)       io.serverSideEmit("note", text); ack("ok")
//	"poll" (ack)             io.timeout(3s).emitWithAck("quiz", "q") → sorted answers
//	"count" (ack)            the server count
//	server-side "whoami" (cb)  cb(<server name>)
//	server-side "note" (text)  io.local.emit("noted", <server name> + ":" + text)
package postgres_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/socketcore/socketcore/adapter"
	pgadapter "github.com/socketcore/socketcore/adapter/postgres"
	"github.com/socketcore/socketcore/hosts/native"
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
	srv, err := native.Start(native.Options{
		RequestsTimeout: 3 * time.Second,
		Adapter: func(receive adapter.Receive) (adapter.Adapter, error) {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			return pgadapter.New(ctx, pgadapter.Options{Pool: pool, ChannelPrefix: prefix, TableName: table,
				Receive: receive, HeartbeatInterval: 500 * time.Millisecond, HeartbeatTimeout: 5 * time.Second,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		},
	})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	goApp(srv, name)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
		srv.Close()
	})
	return hs.URL, srv
}

// emitSpec is the first argument of "emit".
type emitSpec struct {
	To       []string `json:"to"`
	Except   []string `json:"except"`
	Local    bool     `json:"local"`
	Volatile bool     `json:"volatile"`
}

func failure(err error) map[string]string { return map[string]string{"error": err.Error()} }

// goApp is the application (see the package documentation) on the Go API.
func goApp(srv *native.Server, name string) {
	root := srv.Of("/")
	in := func(room string) *native.BroadcastOperator {
		if room == "" {
			return root.To()
		}
		return root.In(room)
	}
	srv.OnServerSideEmit("whoami", func(ack native.Ack) { ack(name) })
	srv.OnServerSideEmit("note", func(text string) { root.Local().Emit("noted", name+":"+text) })
	srv.OnConnection(func(so *native.Socket) {
		so.Data = map[string]any{"server": name}
		so.Emit("hello", map[string]string{"id": so.ID(), "server": name})
		done := func(ack native.Ack, err error) {
			if err != nil {
				ack(failure(err))
				return
			}
			ack("ok")
		}
		so.On("join", func(room string, ack native.Ack) { done(ack, so.Join(room)) })
		so.On("emit", func(spec emitSpec, event string, payload any, ack native.Ack) {
			op := root.To(spec.To...).Except(spec.Except...)
			if spec.Local {
				op = op.Local()
			}
			if spec.Volatile {
				op = op.Volatile()
			}
			done(ack, op.Emit(event, payload))
		})
		so.On("fetch", func(room string, ack native.Ack) {
			socks, err := in(room).FetchSockets(context.Background())
			if err != nil {
				ack(failure(err))
				return
			}
			out := make([]map[string]any, 0, len(socks))
			for _, s := range socks {
				rooms := s.Rooms
				if rooms == nil {
					rooms = []string{}
				}
				out = append(out, map[string]any{"id": s.ID, "rooms": rooms, "data": s.Data})
			}
			ack(out)
		})
		so.On("socketsJoin", func(target, room string, ack native.Ack) { done(ack, root.In(target).SocketsJoin(room)) })
		so.On("socketsLeave", func(target, room string, ack native.Ack) { done(ack, root.In(target).SocketsLeave(room)) })
		so.On("disconnectSockets", func(target string, ack native.Ack) {
			done(ack, root.In(target).DisconnectSockets(false))
		})
		so.On("sse", func(ack native.Ack) {
			replies, err := root.ServerSideEmitWithAck(context.Background(), "whoami")
			if err != nil {
				ack(failure(err))
				return
			}
			names, err := strs(replies)
			if err != nil {
				ack(failure(err))
				return
			}
			ack(names)
		})
		so.On("note", func(text string, ack native.Ack) { done(ack, root.ServerSideEmit("note", text)) })
		so.On("poll", func(ack native.Ack) {
			replies, err := root.Timeout(3*time.Second).EmitWithAck(context.Background(), "quiz", "q")
			if err != nil {
				ack(failure(err))
				return
			}
			answers, err := strs(replies)
			if err != nil {
				ack(failure(err))
				return
			}
			ack(answers)
		})
		so.On("count", func(ack native.Ack) {
			n, err := srv.ServerCount(context.Background())
			if err != nil {
				ack(failure(err))
				return
			}
			ack(n)
		})
	})
}

// strs decodes each reply's first argument as a string, sorted.
func strs(replies []native.Args) ([]string, error) {
	out := make([]string, 0, len(replies))
	for _, r := range replies {
		var s string
		if err := r.Decode(&s); err != nil {
			return nil, fmt.Errorf("reply %v: %w", r.Values(), err)
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out, nil
}
