package redis

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	cw "github.com/socketcore/socketcore/core/wire"
)

// startRedisCluster runs a 3-master Redis Cluster of redis-server
// processes for the test, and returns its addresses.
func startRedisCluster(t *testing.T) []string {
	t.Helper()
	if os.Getenv("SOCKETCORE_SKIP_REDIS_CLUSTER") != "" {
		t.Skip("SOCKETCORE_SKIP_REDIS_CLUSTER is set: Redis Cluster test skipped")
	}
	server, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server not found: install Redis 7 (or set SOCKETCORE_SKIP_REDIS_CLUSTER=1 to skip the cluster test)")
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Fatal("redis-cli not found: install Redis 7 (or set SOCKETCORE_SKIP_REDIS_CLUSTER=1 to skip the cluster test)")
	}
	dir := t.TempDir()
	var addrs []string
	for len(addrs) < 3 {
		port := freePort(t)
		addr := "127.0.0.1:" + strconv.Itoa(port)
		cmd := exec.Command(server, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(dir, fmt.Sprintf("nodes-%d.conf", port)), "--dir", dir,
			"--save", "", "--appendonly", "no", "--cluster-node-timeout", "2000", "--protected-mode", "no")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
		addrs = append(addrs, addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for _, addr := range addrs {
		c := redis.NewClient(&redis.Options{Addr: addr})
		for c.Ping(ctx).Err() != nil {
			if ctx.Err() != nil {
				t.Fatalf("redis-server at %s did not start", addr)
			}
			time.Sleep(20 * time.Millisecond)
		}
		c.Close()
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	out, err := exec.CommandContext(ctx, cli, append(args, "--cluster-yes")...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, addr := range addrs {
		c := redis.NewClient(&redis.Options{Addr: addr})
		for {
			info, _ := c.ClusterInfo(ctx).Result()
			if strings.Contains(info, "cluster_state:ok") {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("cluster not ok at %s:\n%s", addr, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
		c.Close()
	}
	return addrs
}

// freePort returns a free port whose cluster bus port (+10000) is free too.
func freePort(t *testing.T) int {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if port+10000 > 65535 {
			continue
		}
		bus, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+10000))
		if err != nil {
			continue
		}
		bus.Close()
		return port
	}
	t.Fatal("no free port pair")
	return 0
}

// TestShardedRedisCluster runs two sharded adapters on a real Redis
// Cluster: their channels live on different nodes, and each slot's
// channels get a PubSub connected to its node.
func TestShardedRedisCluster(t *testing.T) {
	addrs := startRedisCluster(t)
	before := runtime.NumGoroutine()
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*wait)
	defer cancel()
	slots, err := c.ClusterSlots(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	nodeOf := func(channel string) string {
		s := hashSlot(channel)
		for _, r := range slots {
			if s >= int(r.Start) && s <= int(r.End) {
				return r.Nodes[0].Addr
			}
		}
		t.Fatalf("slot %d of %q not served", s, channel)
		return ""
	}
	// A prefix that puts the channels used below on more than one node.
	var prefix string
	for {
		prefix = randomPrefix(t)
		codec := ShardedCodec{Prefix: prefix}
		nodes := map[string]bool{}
		for _, ch := range []string{codec.MainChannel("/"), codec.MainChannel("/chat"), codec.RoomChannel("/", "r1"), codec.RoomChannel("/", "r2")} {
			nodes[nodeOf(ch)] = true
		}
		if len(nodes) == 3 {
			break
		}
	}
	codec := ShardedCodec{Prefix: prefix}

	inA, inB := newInbox(t), newInbox(t)
	mk := func(in *inbox) *Adapter {
		a, err := New(ctx, Options{Client: c, Prefix: prefix, Sharded: true, Receive: in.receive, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		for _, nsp := range []string{"/", "/chat"} {
			if err := a.AddNamespace(ctx, nsp); err != nil {
				t.Fatal(err)
			}
		}
		return a
	}
	a, b := mk(inA), mk(inB)
	defer a.Close()
	if !a.sh.perSlot {
		t.Fatal("a ClusterClient must use one PubSub per slot")
	}
	for _, nsp := range []string{"/", "/chat"} {
		if n, err := a.ServerCount(ctx, nsp); err != nil || n != 2 {
			t.Fatalf("ServerCount(%s) = %d, %v", nsp, n, err)
		}
	}
	clusterNumSub := func(ch string) int64 {
		t.Helper()
		n := redis.NewClient(&redis.Options{Addr: nodeOf(ch)})
		defer n.Close()
		m, err := n.PubSubShardNumSub(ctx, ch).Result()
		if err != nil {
			t.Fatal(err)
		}
		return m[ch]
	}
	waitClusterNumSub := func(ch string, want int64) {
		t.Helper()
		deadline := time.Now().Add(wait)
		for clusterNumSub(ch) != want {
			if time.Now().After(deadline) {
				t.Fatalf("SHARDNUMSUB %s = %d, want %d", ch, clusterNumSub(ch), want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitClusterNumSub(codec.ResponseChannel("/", a.UID()), 1)

	msgs := []cw.ClusterMessage{
		{Type: cw.ClusterBroadcast, Nsp: "/", Compress: true, Data: []byte(`["all"]`)},
		{Type: cw.ClusterBroadcast, Nsp: "/chat", Compress: true, Data: []byte(`["chat",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1}}},
		{Type: cw.ClusterFetchSockets, Nsp: "/chat", RequestID: "f1"},
	}
	for _, m := range msgs {
		publish(t, a, m)
		if got := inB.next(m.Type.String()); !reflect.DeepEqual(normalize(got), normalize(m)) {
			t.Errorf("\n got %+v\nwant %+v", normalize(got), normalize(m))
		}
	}
	publish(t, b, cw.ClusterMessage{Type: cw.ClusterFetchSocketsResponse, Nsp: "/chat", RequestID: "f1",
		Sockets: []cw.ClusterSocket{{ID: "s", Rooms: []string{"s"}, Handshake: []byte(`{}`), Data: []byte(`null`)}}})
	if got := inA.next("answer"); got.Type != cw.ClusterFetchSocketsResponse || len(got.Sockets) != 1 {
		t.Errorf("got %+v", got)
	}

	// Rooms on other nodes than the namespace's channel.
	b.RoomCreated("/", "r1")
	b.RoomCreated("/", "r2")
	waitClusterNumSub(codec.RoomChannel("/", "r1"), 1)
	waitClusterNumSub(codec.RoomChannel("/", "r2"), 1)
	for _, room := range []string{"r1", "r2"} {
		publish(t, a, cw.ClusterMessage{Type: cw.ClusterBroadcast, Nsp: "/", Rooms: []string{room}, Data: []byte(`["` + room + `"]`)})
		if got := inB.next(room); string(got.Data) != `["`+room+`"]` {
			t.Errorf("got %+v", got)
		}
	}
	b.RoomDeleted("/", "r1")
	b.RoomDeleted("/", "r2")
	waitClusterNumSub(codec.RoomChannel("/", "r1"), 0)
	waitClusterNumSub(codec.RoomChannel("/", "r2"), 0)
	b.sh.mu.Lock()
	conns := len(b.sh.conns)
	b.sh.mu.Unlock()
	// The namespaces' four channels remain, in at most four slots.
	if conns < 2 || conns > 4 {
		t.Errorf("%d PubSubs after the rooms went", conns)
	}
	inA.empty("a")
	inB.empty("b")

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	deadline := time.Now().Add(wait)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
