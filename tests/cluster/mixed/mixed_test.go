// Package mixed_test runs one cluster of three servers on one Redis (at
// 127.0.0.1:6379): two Go servers (hosts/native with adapter/redis) in this
// process and one Node server (socket.io 4.8.4 on @socket.io/redis-adapter
// 8.3.0, server.mjs). Every server runs the same application (server.mjs
// documents it; clustertest.App is the Go one), and one Go client on each
// server (a clustertest.Peer) drives the cluster through it.
package mixed_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/socketcore/socketcore/adapter"
	redisadapter "github.com/socketcore/socketcore/adapter/redis"
	"github.com/socketcore/socketcore/hosts/native"
	"github.com/socketcore/socketcore/internal/clustertest"
	"github.com/socketcore/socketcore/internal/leaktest"
	"github.com/socketcore/socketcore/internal/nodetest"
	"github.com/socketcore/socketcore/internal/proctest"
	"github.com/socketcore/socketcore/internal/redistest"
)

func TestMain(m *testing.M) { leaktest.Main(m) }

// redisAddr is REDIS_URL's (default 127.0.0.1:6379).
var redisAddr = redistest.EnvAddr()

// wait bounds every single wait of the test.
const wait = 5 * time.Second

func randomKey(t *testing.T) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "mixtest-" + hex.EncodeToString(b[:])
}

// redisClient connects to the test Redis, failing loudly when it is absent.
func redisClient(t *testing.T) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: redisAddr})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		t.Fatalf("Redis is not reachable at %s (%v): this test needs a real Redis there; start one with\n"+
			"\tredis-server --port 6379 --save '' --appendonly no\nor: docker run --rm -p 6379:6379 redis:7", redisAddr, err)
	}
	return c
}

// ---- the servers -------------------------------------------------------------

// startGo starts a Go server of the cluster, named name, on a loopback
// httptest listener, with the application (clustertest.App).
func startGo(t *testing.T, key, name string) string {
	t.Helper()
	client := redisClient(t)
	t.Cleanup(func() { client.Close() }) // after the server's Close (cleanups run last first)
	url, _ := clustertest.Start(t, name, native.Options{
		RequestsTimeout: 2 * time.Second,
		Adapter: func(receive adapter.Receive) (adapter.Adapter, error) {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			return redisadapter.New(ctx, redisadapter.Options{Client: client, Prefix: key, Receive: receive})
		},
	}, 2*time.Second)
	return url
}

// startNode runs server.mjs as the server "node" and returns its URL once
// it is ready.
func startNode(t *testing.T, key string) string {
	t.Helper()
	root := nodetest.RepoRoot(t)
	node := nodetest.Node(t, root, "socket.io", "@socket.io/redis-adapter", "redis")
	cmd := exec.Command(node, filepath.Join(root, "tests", "cluster", "mixed", "server.mjs"), key, "node")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "REDIS_URL="+redistest.URL())
	return nodetest.Server(t, cmd, "node")
}

// ---- the clients -------------------------------------------------------------

type (
	peer    = clustertest.Peer
	payload = clustertest.Payload
)

// dial connects a client to the server named server, answers "quiz" with
// "<server>:<question>", and waits for its "hello".
func dial(t *testing.T, url, server string) *peer {
	t.Helper()
	return clustertest.Dial(t, url, server, clustertest.Options{Wait: wait, Hello: clustertest.HelloServer})
}

// eventually retries cond until it holds, for at most wait; cond also
// says what it saw, for the failure.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	proctest.Eventually(t, wait, what, cond)
}

// ---- the test ----------------------------------------------------------------

func TestMixedCluster(t *testing.T) {
	key := randomKey(t)
	rdb := redisClient(t)
	t.Cleanup(func() { rdb.Close() })

	urlA := startGo(t, key, "go-a")
	urlB := startGo(t, key, "go-b")
	urlN := startNode(t, key)

	// Every server counted (the Go adapters subscribe on their own goroutine).
	eventually(t, "Redis to count the three servers", func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n, err := rdb.PubSubNumSub(ctx, key+"-request#/#").Result()
		return err == nil && n[key+"-request#/#"] == 3, fmt.Sprint(n, err)
	})

	a, b, n := dial(t, urlA, "go-a"), dial(t, urlB, "go-b"), dial(t, urlN, "node")
	peers := []*peer{a, b, n}

	// 1. A broadcast requested on each server reaches every client, binary included.
	for i, from := range peers {
		p := payload{From: from.Server, Bin: []byte{0, byte(i), 0xff, 0x80}}
		from.Do("to", "", "news", p)
		for _, to := range peers {
			to.Expect("news", p)
		}
	}

	// 2. go-a's client joins "r"; "to r" asked on node reaches only it. The
	// broadcast to all that node sends next is the barrier: one publisher
	// connection, one subscriber connection per server, so it comes after.
	a.Do("join", "r")
	onlyR, mark := payload{From: "node", Bin: []byte("r")}, payload{From: "node", Bin: []byte("mark")}
	n.Do("to", "r", "only-r", onlyR)
	n.Do("to", "", "mark", mark)
	a.Expect("only-r", onlyR)
	for _, p := range peers {
		p.Expect("mark", mark)
	}

	// 3. fetchSockets on each server returns the three sockets, their rooms and data.
	all := clustertest.Want(map[*peer][]string{a: {"r"}}, peers...)
	for _, p := range peers {
		if got := p.Fetch(""); got != all {
			t.Errorf("fetchSockets on %s:\n got %s\nwant %s", p.Server, got, all)
		}
		if got, wantR := p.Fetch("r"), clustertest.Want(map[*peer][]string{a: {"r"}}, a); got != wantR {
			t.Errorf("fetchSockets of r on %s:\n got %s\nwant %s", p.Server, got, wantR)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// 4. socketsJoin asked on node makes go-b's client join "s"; "to s" from go-a reaches it.
	n.Do("socketsJoin", b.ID, "s")
	wantS := clustertest.Want(map[*peer][]string{b: {"s"}}, b)
	eventually(t, "go-b's client in s, as go-a fetches it", func() (bool, string) {
		got := a.Fetch("s")
		return got == wantS, got
	})
	onlyS, mark := payload{From: "go-a", Bin: []byte("s")}, payload{From: "go-a", Bin: []byte("mark")}
	a.Do("to", "s", "only-s", onlyS)
	a.Do("to", "", "mark", mark)
	b.Expect("only-s", onlyS)
	for _, p := range peers {
		p.Expect("mark", mark)
	}

	// 5. serverSideEmitWithAck: every other server answers.
	for _, p := range peers {
		var got []string
		p.Ask(&got, "sse")
		var others []string
		for _, o := range peers {
			if o != p {
				others = append(others, o.Server)
			}
		}
		if !slices.Equal(got, others) {
			t.Errorf("serverSideEmitWithAck from %s: got %q, want %q", p.Server, got, others)
		}
	}

	// 6. emitWithAck to the whole cluster collects every client's answer.
	for _, p := range []*peer{n, b, a} {
		var got []string
		p.Ask(&got, "poll")
		if all := []string{"go-a:q", "go-b:q", "node:q"}; !slices.Equal(got, all) {
			t.Errorf("emitWithAck from %s: got %q, want %q", p.Server, got, all)
		}
	}

	// 7. disconnectSockets asked on go-b disconnects node's client.
	b.Do("disconnectSockets", n.ID)
	if e := n.Next("disconnect"); e.Name != "disconnect" || e.Reason != "io server disconnect" {
		t.Fatalf("node's client: got %s, want disconnect io server disconnect", e)
	}
	wantLeft := clustertest.Want(map[*peer][]string{a: {"r"}, b: {"s"}}, a, b)
	eventually(t, "node's socket to leave the cluster's sockets", func() (bool, string) {
		got := a.Fetch("")
		return got == wantLeft, got
	})

	// Nothing else arrived.
	clustertest.Quiet(t, peers...)
}
