package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"log"
	"os"
	"regexp"
	"sync"
	"time"

	"github.com/socketcore/socketcore/hosts/native"
)

// NewApp builds the e2e application of APP.md with the public Go API.
func NewApp(opts native.Options) *native.Server {
	opts.PingInterval = 500 * time.Millisecond
	opts.PingTimeout = 2000 * time.Millisecond
	opts.CORS = &native.CORS{Origins: []string{"*"}}
	srv := native.NewServer(opts)
	var reasons sync.Map

	truthy := func(v any) bool {
		switch x := v.(type) {
		case nil:
			return false
		case bool:
			return x
		case float64:
			return x != 0
		case string:
			return x != ""
		}
		return true
	}
	srv.Of("/").Use(func(s *native.Socket) error {
		var auth map[string]any
		json.Unmarshal(s.Handshake().Auth, &auth)
		if truthy(auth["reject"]) {
			return &native.ConnectError{Message: "rejected", Data: map[string]any{"code": 42}}
		}
		return nil
	})
	chat := srv.Of("/chat")
	chat.Use(func(s *native.Socket) error {
		var auth map[string]any
		json.Unmarshal(s.Handshake().Auth, &auth)
		if auth["token"] != "secret" {
			return &native.ConnectError{Message: "unauthorized", Data: map[string]any{"reason": "bad token"}}
		}
		return nil
	})
	dynName := regexp.MustCompile(`^/dyn-[a-z0-9]+$`)
	dyn := srv.OfDynamic(dynName.MatchString)

	onConnection := func(s *native.Socket) {
		n := s.Namespace()
		var query any
		if q := s.Handshake().Query; q.Has("foo") {
			query = q.Get("foo")
		}
		s.OnDisconnect(func(reason string) {
			reasons.Store(s.ID(), reason)
			if os.Getenv("E2E_DEBUG") != "" {
				log.Printf("disconnect %s %s: %s", n.Name(), s.ID(), reason)
			}
		})
		s.Emit("welcome", map[string]any{"id": s.ID(), "nsp": n.Name(), "auth": s.Handshake().Auth, "query": query})

		s.On("echo", func(args native.Args, ack native.Ack) {
			vals := args.Values()
			if err := ack(vals...); errors.Is(err, native.ErrNoAck) {
				s.Emit("echo", vals...)
			}
		})
		s.On("ask", func(payload any, timeoutMs float64, ack native.Ack) {
			res, err := s.Timeout(time.Duration(timeoutMs)*time.Millisecond).EmitWithAck(context.Background(), "question", payload)
			if err != nil {
				ack(map[string]any{"ok": false, "error": err.Error()})
				return
			}
			var answer any
			if v := res.Values(); len(v) > 0 {
				answer = v[0]
			}
			ack(map[string]any{"ok": true, "answer": answer})
		})
		s.On("slow-ack", func(ms float64, ack native.Ack) {
			time.AfterFunc(time.Duration(ms)*time.Millisecond, func() { ack("late") })
		})
		s.On("join", func(room string, ack native.Ack) { s.Join(room); ack("ok") })
		s.On("leave", func(room string, ack native.Ack) { s.Leave(room); ack("ok") })
		s.On("broadcast", func(spec map[string]any, ack native.Ack) {
			op := n.To().To(roomList(spec["room"])...).Except(roomList(spec["except"])...)
			event, _ := spec["event"].(string)
			args, _ := spec["args"].([]any)
			op.Emit(event, args...)
			ack("ok")
		})
		s.On("broadcast-ack", func(spec map[string]any, ack native.Ack) {
			room, _ := spec["room"].(string)
			ms, _ := spec["timeoutMs"].(float64)
			replies, err := n.To(room).Timeout(time.Duration(ms)*time.Millisecond).EmitWithAck(context.Background(), "poll")
			responses := []any{}
			for _, r := range replies {
				if v := r.Values(); len(v) > 0 {
					responses = append(responses, v[0])
				} else {
					responses = append(responses, nil)
				}
			}
			var errText any
			if err != nil {
				errText = err.Error()
			}
			ack(map[string]any{"err": errText, "responses": responses})
		})
		s.On("disconnect-me", func(closeConn bool) { s.Disconnect(closeConn) })
		s.On("last-reason", func(id string, ack native.Ack) {
			r, _ := reasons.Load(id)
			ack(r)
		})
		s.On("count", func(ack native.Ack) { ack(len(n.SocketIDs())) })
		// For the recovery tests (SIO_RECOVERY_MS); harmless without recovery.
		s.On("data-set", func(v any, ack native.Ack) { s.Data = v; ack("ok") })
		s.On("data-get", func(ack native.Ack) {
			if s.Data == nil {
				ack(map[string]any{}) // Node's socket.data starts as {}
				return
			}
			ack(s.Data)
		})
		s.On("recovered?", func(ack native.Ack) { ack(s.Recovered()) })
	}
	srv.Of("/").OnConnection(onConnection)
	chat.OnConnection(onConnection)
	dyn.OnConnection(onConnection)
	return srv
}

// roomList reads a room argument: a name, a list of names, or nothing.
func roomList(v any) []string {
	switch x := v.(type) {
	case string:
		if x != "" {
			return []string{x}
		}
	case []any:
		var out []string
		for _, e := range x {
			if r, ok := e.(string); ok {
				out = append(out, r)
			}
		}
		return out
	}
	return nil
}
