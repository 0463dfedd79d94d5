// Package eio3 drives the native server, with Engine.IO v3 accepted
// (core.Config.AllowEIO3, Node's allowEIO3), with the official Socket.IO 2.x
// client (npm socket.io-client@2.5.0, installed as socket.io-client-v2) in
// every transport mode: v2client.mjs is the client side.
package eio3

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/hosts/native"
	"github.com/socketcore/socketcore/internal/leaktest"
	"github.com/socketcore/socketcore/internal/nodetest"
)

func TestMain(m *testing.M) { os.Exit(leaktest.Check(m)) }

func repoRoot(t *testing.T) string { return nodetest.RepoRoot(t) }

func requireNode(t *testing.T, root string) string {
	return nodetest.Node(t, root, "socket.io-client-v2")
}

// allowEIO3 is the Machine factory of a server that also accepts v3
// clients (hosts/native has no option for it: the core's config does).
func allowEIO3(cfg core.Config) (native.Machine, error) {
	cfg.AllowEIO3 = true
	return core.NewServer(cfg), nil
}

// reasons records the server side's disconnect reasons by namespace.
type reasons struct {
	mu sync.Mutex
	m  map[string][]string
}

func (r *reasons) add(nsp, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[nsp] = append(r.m[nsp], reason)
}

func (r *reasons) get(nsp string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.m[nsp])
}

// newApp is the server v2client.mjs expects.
func newApp(t *testing.T, rec *reasons) *native.Server {
	srv, err := native.Start(native.Options{
		PingInterval: 500 * time.Millisecond,
		PingTimeout:  500 * time.Millisecond,
		Machine:      allowEIO3,
	})
	if err != nil {
		t.Fatal(err)
	}
	common := func(s *native.Socket) {
		s.On("whoami", func(ack native.Ack) { ack(s.ID()) })
		s.On("echo", func(args native.Args, ack native.Ack) { ack(args.Values()...) })
		s.On("auth", func(ack native.Ack) { ack(json.RawMessage(s.Handshake().Auth)) })
		s.OnDisconnect(func(reason string) { rec.add(s.Namespace().Name(), reason) })
	}
	srv.OnConnection(func(s *native.Socket) {
		common(s)
		s.On("ask", func(q string) {
			// a server → client event with an acknowledgement
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			res, err := s.Timeout(5*time.Second).EmitWithAck(ctx, "question", q)
			var a string
			if err == nil {
				err = res.Decode(&a)
			}
			if err != nil {
				a = "error: " + err.Error()
			}
			s.Emit("answer", a)
		})
		s.On("shout", func(args native.Args) { srv.Emit("shouted", args.Values()...) })
		s.On("kick-me", func() { s.Disconnect(false) })
	})
	chat := srv.Of("/chat")
	chat.Use(func(s *native.Socket) error {
		var auth struct{ Token string }
		if json.Unmarshal(s.Handshake().Auth, &auth) != nil || auth.Token != "t0k3n" {
			return &native.ConnectError{Message: "unauthorized", Data: map[string]any{"reason": "bad token"}}
		}
		return nil
	})
	chat.OnConnection(common)
	srv.Of("/plain").Use(func(*native.Socket) error { return errors.New("plain refusal") })
	return srv
}

// TestOfficialV2Client runs v2client.mjs once per transport mode: polling
// with binary payloads (an XHR2 stand-in, as a browser), polling base64
// (Node's xmlhttprequest-ssl has no XHR2), WebSocket with binary frames or
// base64 (forceBase64), and the upgrade.
func TestOfficialV2Client(t *testing.T) {
	root := repoRoot(t)
	node := requireNode(t, root)
	script := filepath.Join(root, "tests", "eio3", "v2client.mjs")
	for _, mode := range []string{"polling", "polling-b64", "websocket", "websocket-b64", "upgrade"} {
		t.Run(mode, func(t *testing.T) {
			rec := &reasons{m: map[string][]string{}}
			srv := newApp(t, rec)
			hs := httptest.NewServer(srv)
			defer func() {
				hs.CloseClientConnections()
				hs.Close()
				srv.Close()
			}()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, node, script)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "SIO_URL="+hs.URL, "SIO_MODE="+mode)
			out, err := cmd.CombinedOutput()
			if err != nil || testing.Verbose() {
				t.Logf("node v2client.mjs (%s):\n%s", mode, out)
			}
			if err != nil {
				t.Fatalf("socket.io-client@2.5.0 e2e failed in %s mode: %v", mode, err)
			}
			// the server saw the client leave "/chat" and kicked "/"
			deadline := time.Now().Add(5 * time.Second)
			for !slices.Contains(rec.get("/"), "server namespace disconnect") && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if got := rec.get("/chat"); len(got) == 0 || got[0] != "client namespace disconnect" {
				t.Errorf("/chat disconnect reasons %q, want \"client namespace disconnect\" first", got)
			}
			if got := rec.get("/"); !slices.Contains(got, "server namespace disconnect") {
				t.Errorf("/ disconnect reasons %q, want \"server namespace disconnect\"", got)
			}
		})
	}
}
