// Package official_test runs clusters of servers on one Redis (internal/redistest)
// with the official socket.io-client 4.8.4 connected to every server, and
// checks that every cluster operation asked on any server reaches the
// clients of every other one:
//
//   - three Go servers (hosts/native on adapter/redis, in this process);
//   - two Node servers (socket.io 4.8.4 on @socket.io/redis-adapter 8.3.0,
//     server.mjs) and two Go servers.
//
// Every server runs the same application (server.mjs documents it; goApp is
// the Go copy). driver.mjs connects the clients, asks each server for each
// operation through a control socket, checks what every client received,
// and also emits to the cluster with @socket.io/redis-emitter 5.1.0. It
// prints the differences from Node it tolerates as "DIFFERS:" lines (go test -v).
package official_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/socketcore/socketcore/adapter"
	redisadapter "github.com/socketcore/socketcore/adapter/redis"
	"github.com/socketcore/socketcore/hosts/native"
	"github.com/socketcore/socketcore/internal/leaktest"
	"github.com/socketcore/socketcore/internal/nodetest"
	"github.com/socketcore/socketcore/internal/redistest"
)

func TestMain(m *testing.M) { leaktest.Main(m) }

// wait bounds the waits for servers to start and to subscribe.
const wait = 5 * time.Second

// driverTimeout bounds the whole driver.mjs run (its own waits are 5 s each).
const driverTimeout = 60 * time.Second

func randomKey(t *testing.T) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "offtest-" + hex.EncodeToString(b[:])
}

func repoRoot(t *testing.T) string { return nodetest.RepoRoot(t) }

func requireNode(t *testing.T, root string) string {
	return nodetest.Node(t, root, "socket.io", "socket.io-client", "@socket.io/redis-adapter", "@socket.io/redis-emitter", "redis")
}

// ---- the Go servers ----------------------------------------------------------

// startGo starts a Go server of the cluster, named name, on a loopback
// httptest listener, with the application.
func startGo(t *testing.T, key, name string) string {
	t.Helper()
	client := redistest.Client(t) // closed after the server (cleanups run last first)
	srv, err := native.Start(native.Options{
		RequestsTimeout: 2 * time.Second,
		Adapter: func(receive adapter.Receive) (adapter.Adapter, error) {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			return redisadapter.New(ctx, redisadapter.Options{Client: client, Prefix: key, Receive: receive})
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
	return hs.URL
}

// opSpec is the first argument of "op" (server.mjs).
type opSpec struct {
	Op       string   `json:"op"`
	Rooms    []string `json:"rooms"`
	Except   []string `json:"except"`
	Local    bool     `json:"local"`
	Volatile bool     `json:"volatile"`
	Compress *bool    `json:"compress"`
	Timeout  int      `json:"timeout"` // ms
	Event    string   `json:"event"`
	Room     string   `json:"room"`
	Close    bool     `json:"close"`
	Action   string   `json:"action"`
}

// auth is what the driver's clients send with CONNECT on "/".
type auth struct {
	Label string   `json:"label"`
	Rooms []string `json:"rooms"`
}

// goApp is server.mjs's application on the Go API.
func goApp(srv *native.Server, name string) {
	root := srv.Of("/")
	srv.Of("/side")

	root.OnServerSideEmit("note", func(a native.Args) {
		v := a.Values()
		for len(v) < 2 {
			v = append(v, nil)
		}
		root.Local().Emit("noted", map[string]any{"by": name, "from": v[0], "payload": v[1]})
	})
	root.OnServerSideEmit("whoami", func(a native.Args, ack native.Ack) {
		var x any
		if v := a.Values(); len(v) > 0 {
			x = v[0]
		}
		ack(map[string]any{"name": name, "got": x})
	})

	root.OnConnection(func(so *native.Socket) {
		var au auth
		json.Unmarshal(so.Handshake().Auth, &au)
		so.Data = map[string]any{"server": name, "label": au.Label}
		if len(au.Rooms) > 0 {
			so.Join(au.Rooms...)
		}
	})

	srv.Of("/ctl").OnConnection(func(so *native.Socket) {
		so.On("op", func(a native.Args, ack native.Ack) {
			res, err := runOp(srv, a)
			if err != nil {
				ack(map[string]string{"error": err.Error()})
				return
			}
			ack(res)
		})
	})
}

// runOp runs one "op" of server.mjs: a[0] is its opSpec, the rest its arguments.
func runOp(srv *native.Server, a native.Args) (any, error) {
	root := srv.Of("/")
	if a.Len() == 0 {
		return nil, errors.New("no spec")
	}
	var spec opSpec
	if err := json.Unmarshal(a.Raw[0], &spec); err != nil {
		return nil, err
	}
	args := a.Values()[1:]
	b := root.To(spec.Rooms...).Except(spec.Except...)
	if spec.Local {
		b = b.Local()
	}
	if spec.Volatile {
		b = b.Volatile()
	}
	if spec.Compress != nil && !*spec.Compress {
		b = b.Compress(false)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	switch spec.Op {
	case "emit":
		return "ok", b.Emit(spec.Event, args...)
	case "socketsJoin":
		return "ok", b.SocketsJoin(spec.Room)
	case "socketsLeave":
		return "ok", b.SocketsLeave(spec.Room)
	case "disconnectSockets":
		return "ok", b.DisconnectSockets(spec.Close)
	case "fetch":
		socks, err := b.FetchSockets(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]map[string]any, 0, len(socks))
		for _, s := range socks {
			out = append(out, describe(s))
		}
		sort.Slice(out, func(i, j int) bool { return out[i]["id"].(string) < out[j]["id"].(string) })
		return out, nil
	case "remote":
		socks, err := b.FetchSockets(ctx)
		if err != nil {
			return nil, err
		}
		ids := []string{}
		for _, s := range socks {
			switch spec.Action {
			case "emit":
				err = s.Emit(spec.Event, args...)
			case "join":
				err = s.Join(spec.Room)
			case "leave":
				err = s.Leave(spec.Room)
			case "disconnect":
				err = s.Disconnect(spec.Close)
			default:
				err = fmt.Errorf("unknown action %q", spec.Action)
			}
			if err != nil {
				return nil, err
			}
			ids = append(ids, s.ID)
		}
		sort.Strings(ids)
		return ids, nil
	case "poll":
		replies, err := b.Timeout(time.Duration(spec.Timeout)*time.Millisecond).EmitWithAck(ctx, spec.Event, args...)
		if err != nil {
			return nil, err
		}
		return firsts(replies), nil
	case "sse":
		return "ok", root.ServerSideEmit(spec.Event, args...)
	case "sseAck":
		replies, err := root.ServerSideEmitWithAck(ctx, spec.Event, args...)
		if err != nil {
			return nil, err
		}
		return firsts(replies), nil
	case "allRooms":
		rooms, err := root.AllRooms(ctx)
		if err != nil {
			return nil, err
		}
		if rooms == nil {
			rooms = []string{}
		}
		sort.Strings(rooms)
		return rooms, nil
	case "serverCount":
		return srv.ServerCount(ctx)
	}
	return nil, fmt.Errorf("unknown op %q", spec.Op)
}

// firsts is the first argument of each reply, as Node's emitWithAck gives them.
func firsts(replies []native.Args) []any {
	out := make([]any, 0, len(replies))
	for _, r := range replies {
		var v any
		if vs := r.Values(); len(vs) > 0 {
			v = vs[0]
		}
		out = append(out, v)
	}
	return out
}

// describe is server.mjs's describe: the socket as Node's RemoteSocket has it.
func describe(s native.RemoteSocket) map[string]any {
	rooms := slices.Clone(s.Rooms)
	sort.Strings(rooms)
	if rooms == nil {
		rooms = []string{}
	}
	h := s.Handshake
	query := map[string]string{}
	for k, v := range h.Query {
		if len(v) > 0 {
			query[k] = v[0]
		}
	}
	headers := map[string]string{}
	for k, v := range h.Headers {
		headers[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	au := h.Auth
	if len(au) == 0 {
		au = json.RawMessage(`null`)
	}
	data := s.Data
	if len(data) == 0 {
		data = json.RawMessage(`null`)
	}
	return map[string]any{
		"id":    s.ID,
		"rooms": rooms,
		"data":  data,
		"handshake": map[string]any{
			"auth":    au,
			"query":   query,
			"address": h.Address,
			"url":     h.URL,
			"issued":  h.Time.UnixMilli(),
			"secure":  h.Secure,
			"headers": headers,
		},
	}
}

// ---- the Node servers --------------------------------------------------------

// startNode runs server.mjs as the server name and returns its URL once it
// is ready.
func startNode(t *testing.T, node, root, key, name string) string {
	t.Helper()
	cmd := exec.Command(node, filepath.Join(root, "tests", "cluster", "official", "server.mjs"), key, name)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "REDIS_URL="+redistest.URL())
	return nodetest.Server(t, cmd, name)
}

// ---- the test ----------------------------------------------------------------

// server is one server of the cluster, as driver.mjs's SIO_NODES lists it.
type server struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	Kind string `json:"kind"` // "go" or "node"
}

func TestOfficialClients(t *testing.T) {
	t.Run("3go", func(t *testing.T) { runCluster(t, []string{"go1", "go2", "go3"}) })
	t.Run("2node2go", func(t *testing.T) { runCluster(t, []string{"node1", "go1", "node2", "go2"}) })
}

// runCluster starts the servers named (kind by prefix), waits until Redis
// counts them all, and runs driver.mjs against them.
func runCluster(t *testing.T, names []string) {
	root := repoRoot(t)
	node := requireNode(t, root)
	rdb := redistest.Client(t)
	key := randomKey(t)

	var servers []server
	for _, name := range names {
		s := server{Name: name, Kind: "go"}
		if strings.HasPrefix(name, "node") {
			s.Kind = "node"
			s.URL = startNode(t, node, root, key, name)
		} else {
			s.URL = startGo(t, key, name)
		}
		servers = append(servers, s)
	}

	// Every server counted (the Go adapters subscribe on their own goroutine).
	channel := key + "-request#/#"
	var n int64
	for end := time.Now().Add(wait); ; {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		counts, err := rdb.PubSubNumSub(ctx, channel).Result()
		cancel()
		n = counts[channel]
		if err == nil && n == int64(len(servers)) {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("Redis counts %d subscribers of %s (%v), want %d", n, channel, err, len(servers))
		}
		time.Sleep(10 * time.Millisecond)
	}

	list, err := json.Marshal(servers)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), driverTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(root, "tests", "cluster", "official", "driver.mjs"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "REDIS_URL="+redistest.URL(), "SIO_KEY="+key, "SIO_NODES="+string(list))
	cmd.WaitDelay = 2 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil || testing.Verbose() {
		t.Logf("node driver.mjs (%v):\n%s", time.Since(start).Round(time.Millisecond), out)
	}
	if err != nil {
		t.Fatalf("driver.mjs failed: %v", err)
	}
}
