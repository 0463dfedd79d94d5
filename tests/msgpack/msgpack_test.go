// Package msgpack drives the native server configured with the msgpack
// parser (native.Options.Parser = MsgpackParser, Node's
// `parser: require("socket.io-msgpack-parser")`) with the official
// socket.io-client@4.8.4 using socket.io-msgpack-parser@3.0.2, in every
// transport mode (client.mjs), on the native core and on core.wasm. The
// same script runs against Node's socket.io@4.8.4 with that parser
// (node-app.mjs), which proves the script right; and the Go client with the
// msgpack parser talks to both servers.
package msgpack

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/hosts/native"
	"github.com/socketcore/socketcore/internal/leaktest"
	"github.com/socketcore/socketcore/internal/nodetest"
	"github.com/socketcore/socketcore/wasm/host"
	"github.com/socketcore/socketcore/wasm/wasmtest"
)

func TestMain(m *testing.M) {
	code := leaktest.Check(m)
	wasmtest.Cleanup() // a core.wasm built for this binary
	os.Exit(code)
}

var modes = []string{"websocket", "polling", "upgrade"}

func repoRoot(t *testing.T) string { return nodetest.RepoRoot(t) }

func requireNode(t *testing.T, root string) string {
	return nodetest.Node(t, root, "socket.io-client", "socket.io-msgpack-parser", "socket.io")
}

// NewApp is node-app.mjs with the public Go API.
func NewApp(t testing.TB, opts native.Options) *native.Server {
	opts.Parser = native.MsgpackParser
	opts.PingInterval = 500 * time.Millisecond
	opts.PingTimeout = 2000 * time.Millisecond
	srv, err := native.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	common := func(s *native.Socket) {
		s.On("echo", func(args native.Args, ack native.Ack) { ack(args.Values()...) })
		s.On("whoami", func(ack native.Ack) { ack(s.ID()) })
	}
	srv.OnConnection(func(s *native.Socket) {
		common(s)
		s.On("join", func(room string, ack native.Ack) {
			s.Join(room)
			ack("ok")
		})
		s.On("shout", func(room string, args native.Args) { srv.To(room).Emit("shouted", args.Values()...) })
		s.On("types", func(ack native.Ack) {
			ack(map[string]any{
				"int": 42, "neg": -7, "float": 1.5, "big": int64(1) << 40, "str": "héllo 😀", "yes": true, "nil": nil,
				"arr": []any{1, "two", []any{3}}, "bin": []byte{1, 2, 3},
			})
		})
		s.On("ask", func(q string) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			res, err := s.Timeout(5*time.Second).EmitWithAck(ctx, "question", q, []byte{7})
			var a string
			if err == nil {
				err = res.Decode(&a)
			}
			if err != nil {
				a = "error: " + err.Error()
			}
			s.Emit("answer", a)
		})
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
	return srv
}

// runScript runs client.mjs against url in one mode.
func runScript(t *testing.T, url, mode string) {
	t.Helper()
	root := repoRoot(t)
	node := requireNode(t, root)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(root, "tests", "msgpack", "client.mjs"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "SIO_URL="+url, "SIO_MODE="+mode)
	out, err := cmd.CombinedOutput()
	if err != nil || testing.Verbose() {
		t.Logf("node client.mjs (%s):\n%s", mode, out)
	}
	if err != nil {
		t.Fatalf("socket.io-client@4.8.4 with socket.io-msgpack-parser failed in %s mode: %v", mode, err)
	}
}

func runOfficialClient(t *testing.T, opts native.Options) {
	requireNode(t, repoRoot(t))
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			srv := NewApp(t, opts)
			hs := httptest.NewServer(srv)
			defer func() {
				hs.CloseClientConnections()
				hs.Close()
				srv.Close()
			}()
			runScript(t, hs.URL, mode)
		})
	}
}

func TestOfficialClient(t *testing.T) { runOfficialClient(t, native.Options{}) }

// TestOfficialClientWASM: the same with the core as core.wasm (the parser
// crosses the ABI in Config).
func TestOfficialClientWASM(t *testing.T) {
	mod, err := host.Load(context.Background(), wasmtest.Path(t), host.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer mod.Close(context.Background())
	runOfficialClient(t, native.Options{Machine: func(cfg core.Config) (native.Machine, error) {
		return mod.NewMachine(context.Background(), cfg)
	}})
}

// nodeServer starts node-app.mjs (Node's socket.io@4.8.4 with the msgpack
// parser) and returns its URL.
func nodeServer(t *testing.T) string {
	t.Helper()
	root := repoRoot(t)
	node := requireNode(t, root)
	cmd := exec.Command(node, filepath.Join("tests", "msgpack", "node-app.mjs"), "0")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		for sc.Scan() {
		}
	}()
	select {
	case line := <-lines:
		port, err := strconv.Atoi(strings.TrimPrefix(line, "listening "))
		if err != nil || !strings.HasPrefix(line, "listening ") {
			t.Fatalf("node-app.mjs said %q (stderr: %s)", line, stderr.String())
		}
		return "http://127.0.0.1:" + strconv.Itoa(port)
	case <-time.After(10 * time.Second):
		t.Fatalf("node-app.mjs did not start within 10s (stderr: %s)", stderr.String())
	}
	return ""
}

// TestScriptAgainstNode runs client.mjs against the reference server.
func TestScriptAgainstNode(t *testing.T) {
	url := nodeServer(t)
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) { runScript(t, url, mode) })
	}
}

// TestGoClient: the Go client with the msgpack parser against Node's
// server and ours.
func TestGoClient(t *testing.T) {
	ours := NewApp(t, native.Options{})
	hs := httptest.NewServer(ours)
	defer func() {
		hs.CloseClientConnections()
		hs.Close()
		ours.Close()
	}()
	for target, url := range map[string]string{"node": nodeServer(t), "ours": hs.URL} {
		for _, mode := range modes {
			t.Run(target+" "+mode, func(t *testing.T) {
				o := native.ClientOptions{Parser: native.MsgpackParser, NoReconnection: true, Timeout: 5 * time.Second,
					NoAutoConnect: true, Seed: [32]byte{'m'}}
				switch mode {
				case "websocket":
					o.Transports = []string{"websocket"}
				case "polling":
					o.Transports = []string{"polling"}
				}
				sock, err := native.Dial(url, o)
				if err != nil {
					t.Fatal(err)
				}
				defer sock.Close()
				questions := make(chan string, 1)
				sock.On("question", func(q string, b []byte, ack native.Ack) {
					questions <- q + " " + string(b)
					ack("because", []byte{1})
				})
				answers := make(chan string, 1)
				sock.On("answer", func(a string) { answers <- a })
				connected := make(chan struct{})
				sock.OnConnect(func() { close(connected) })
				sock.Connect()
				select {
				case <-connected:
				case <-time.After(5 * time.Second):
					t.Fatal("not connected")
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				res, err := sock.Timeout(5*time.Second).EmitWithAck(ctx, "echo", "x", []byte{1, 2}, map[string]any{"n": 2.5, "b": []byte{3}})
				var (
					s    string
					bin  []byte
					nest map[string]any
				)
				if err == nil {
					err = res.Decode(&s, &bin, &nest)
				}
				if err != nil || s != "x" || !bytes.Equal(bin, []byte{1, 2}) || nest["n"] != 2.5 || !bytes.Equal(nest["b"].([]byte), []byte{3}) {
					t.Fatalf("echo: %q %v %v %v", s, bin, nest, err)
				}
				res, err = sock.Timeout(5*time.Second).EmitWithAck(ctx, "types")
				var types map[string]any
				if err == nil {
					err = res.Decode(&types)
				}
				if err != nil || types["big"] != float64(1<<40) || types["str"] != "héllo 😀" || !bytes.Equal(types["bin"].([]byte), []byte{1, 2, 3}) {
					t.Fatalf("types: %v %v", types, err)
				}
				sock.Emit("ask", "why?")
				if q := <-questions; q != "why? \x07" {
					t.Fatalf("question %q", q)
				}
				select {
				case a := <-answers:
					if a != "because" {
						t.Fatalf("answer %q", a)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("no answer")
				}
			})
		}
	}
}
