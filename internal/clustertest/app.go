// Package clustertest gives the cluster tests that drive every server of a
// cluster through its clients (tests/cluster/mixed on Redis,
// tests/cluster/postgres on PostgreSQL) what they share: the application
// their Go servers run, a Go server on a loopback listener, and Peer, a Go
// client of one server that asks the application for cluster operations
// and checks what it receives.
//
// The application (App) answers, on "/":
//
//	on connection            socket.data = {server}; emit "hello" {id, server}
//	"join" (room, ack)       socket.join(room); ack("ok")
//	"to" (room, event, payload, ack)
//	                         io.to(room).emit(event, payload) (io.emit if room is ""); ack("ok")
//	"emit" (spec, event, payload, ack)
//	                         io.to(spec.to).except(spec.except)[.local][.volatile].emit(event, payload); ack("ok")
//	"fetch" (room, ack)      io.in(room).fetchSockets() (all if room is "") → [{id, rooms, data}]
//	"socketsJoin" / "socketsLeave" (target, room, ack), "disconnectSockets" (target, ack)
//	"sse" (ack)              io.serverSideEmitWithAck("whoami") → sorted answers
//	"note" (text, ack)       io.serverSideEmit("note", text); ack("ok")
//	"poll" (ack)             io.timeout(PollTimeout).emitWithAck("quiz", "q") → sorted answers
//	"count" (ack)            the server count
//	server-side "whoami" (cb)  cb(<server name>)
//	server-side "note" (text)  io.local.emit("noted", <server name> + ":" + text)
//
// A request that fails acks {error: "<message>"}. The Node servers of the
// tests (tests/cluster/mixed/server.mjs, tests/cluster/postgres/mixed.mjs)
// run the part of it their test uses.
package clustertest

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"github.com/socketcore/socketcore/hosts/native"
)

// Start starts a Go server of a cluster, named name, with opts (its
// Adapter joins the cluster) and the application, on a loopback httptest
// listener closed at the end of the test. pollTimeout is the timeout of
// the application's "poll".
func Start(t testing.TB, name string, opts native.Options, pollTimeout time.Duration) (string, *native.Server) {
	t.Helper()
	srv, err := native.Start(opts)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	App(srv, name, pollTimeout)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
		srv.Close()
	})
	return hs.URL, srv
}

// EmitSpec is the first argument of "emit".
type EmitSpec struct {
	To       []string `json:"to"`
	Except   []string `json:"except"`
	Local    bool     `json:"local"`
	Volatile bool     `json:"volatile"`
}

// failure is what a request that failed acknowledges.
func failure(err error) map[string]string { return map[string]string{"error": err.Error()} }

// App installs the application (see the package documentation) on srv, the
// server named name; "poll" waits pollTimeout for the clients' answers.
func App(srv *native.Server, name string, pollTimeout time.Duration) {
	root := srv.Of("/")
	// in is io, or io.in(room) when room is not "".
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
		so.On("to", func(room, event string, payload any, ack native.Ack) {
			done(ack, in(room).Emit(event, payload))
		})
		so.On("emit", func(spec EmitSpec, event string, payload any, ack native.Ack) {
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
			replies, err := root.Timeout(pollTimeout).EmitWithAck(context.Background(), "quiz", "q")
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
