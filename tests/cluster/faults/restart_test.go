package faults

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/socketcore/socketcore/hosts/native"
)

// apiBound is how long an API call that does not wait for the cluster
// (Emit, To().Emit, a local EmitWithAck) may take while Redis is down.
const apiBound = 250 * time.Millisecond

// requestBound is how long a cluster request may take while Redis is
// down: the requests timeout and some slack.
const requestBound = requestsTimeout + 1500*time.Millisecond

// TestRedisRestart kills Redis under three servers, uses them while it is
// down, restarts it on the same port and checks that the cluster works
// again: subscriptions (including one made while Redis was down) are back,
// broadcasts and requests reach every server.
func TestRedisRestart(t *testing.T) {
	r := startRedis(t)
	admin := r.client(t)
	const prefix = "faults"
	nodes := []*node{startNode(t, r.addr, prefix, "a"), startNode(t, r.addr, prefix, "b"), startNode(t, r.addr, prefix, "c")}
	eventually(t, wait, "the three servers subscribed", func() (bool, string) {
		n, err := numSub(admin, prefix+"-request#/#")
		return err == nil && n == 3, fmt.Sprint(n, err)
	})
	peers := make([]*peer, len(nodes))
	for i, n := range nodes {
		peers[i] = dial(t, n, "/")
	}

	// 1. Broadcasts flow.
	for _, n := range nodes {
		if err := n.srv.Emit("news", "before-"+n.name); err != nil {
			t.Fatal(err)
		}
		for _, p := range peers {
			p.expect("news", "before-"+n.name)
		}
	}
	// (a publish is counted once Redis answered it: maybe after the
	// message arrived)
	before := make([]native.ClusterStats, len(nodes))
	eventually(t, wait, "the broadcasts counted", func() (bool, string) {
		ok := true
		for i, n := range nodes {
			st := n.srv.ClusterStats()
			before[i] = st
			ok = ok && st.Published == 1 && st.Received == 2 && st.PublishErrors == 0 && st.Dropped == 0 && st.Pending == 0
		}
		return ok, fmt.Sprintf("%+v", before)
	})

	// 2. Redis dies.
	r.kill()

	// Broadcasts return at once and reach the server's own clients.
	for i, n := range nodes {
		p := peers[i]
		if d := timed(func() {
			if err := n.srv.Emit("down", "all-"+n.name); err != nil {
				t.Errorf("%s: Emit while Redis is down: %v", n.name, err)
			}
		}); d > apiBound {
			t.Errorf("%s: Emit took %v while Redis is down", n.name, d)
		}
		if d := timed(func() {
			if err := n.srv.To("room-"+n.name).Emit("down", "room-"+n.name); err != nil {
				t.Errorf("%s: To().Emit while Redis is down: %v", n.name, err)
			}
		}); d > apiBound {
			t.Errorf("%s: To().Emit took %v while Redis is down", n.name, d)
		}
		p.expect("down", "all-"+n.name)
		p.expect("down", "room-"+n.name)
		// The driver is not blocked: a client → server round trip, and a
		// local broadcast with acknowledgements, complete at once.
		if d := timed(func() { p.ping(n.name) }); d > apiBound {
			t.Errorf("%s: ping round trip took %v while Redis is down", n.name, d)
		}
		var replies []native.Args
		var err error
		if d := timed(func() {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			replies, err = n.srv.Local().Timeout(wait).EmitWithAck(ctx, "quiz")
		}); d > apiBound || err != nil || !slices.Equal(strs(replies), []string{n.name}) {
			t.Errorf("%s: local EmitWithAck while Redis is down: %q, %v in %v", n.name, strs(replies), err, d)
		}
	}
	// Every server counted its failed publishes (the pump runs them soon).
	eventually(t, wait, "the failed publishes counted", func() (bool, string) {
		var saw []native.ClusterStats
		ok := true
		for i, n := range nodes {
			st := n.srv.ClusterStats()
			saw = append(saw, st)
			ok = ok && st.Pending == 0 && st.PublishErrors >= 2 && st.Published == before[i].Published
		}
		return ok, fmt.Sprintf("%+v", saw)
	})

	// Requests end at the requests timeout (no server can be counted) and
	// never hang; the server count fails at once.
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Add(4)
		go func() {
			defer wg.Done()
			var socks []native.RemoteSocket
			var err error
			d := timed(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 2*wait) // a hang fails below, not here
				defer cancel()
				socks, err = n.srv.FetchSockets(ctx)
			})
			if !errors.Is(err, native.ErrClusterTimeout) || d > requestBound || len(socks) != 0 {
				t.Errorf("%s: FetchSockets while Redis is down: %d sockets, %v in %v", n.name, len(socks), err, d)
			}
		}()
		go func() {
			defer wg.Done()
			var replies []native.Args
			var err error
			d := timed(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
				defer cancel()
				replies, err = n.srv.Of("/").ServerSideEmitWithAck(ctx, "whoami")
			})
			if !errors.Is(err, native.ErrClusterTimeout) || d > requestBound || len(replies) != 0 {
				t.Errorf("%s: ServerSideEmitWithAck while Redis is down: %q, %v in %v", n.name, strs(replies), err, d)
			}
		}()
		go func() {
			defer wg.Done()
			var replies []native.Args
			var err error
			d := timed(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
				defer cancel()
				replies, err = n.srv.Of("/").Timeout(requestsTimeout).EmitWithAck(ctx, "quiz")
			})
			// the server's own client answers; the others are out of reach
			if !errors.Is(err, native.ErrAckTimeout) || d > requestBound || !slices.Equal(strs(replies), []string{n.name}) {
				t.Errorf("%s: cluster EmitWithAck while Redis is down: %q, %v in %v", n.name, strs(replies), err, d)
			}
		}()
		go func() {
			defer wg.Done()
			var c int
			var err error
			d := timed(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
				defer cancel()
				c, err = n.srv.ServerCount(ctx)
			})
			if err == nil || d > requestBound {
				t.Errorf("%s: ServerCount while Redis is down: %d, %v in %v", n.name, c, err, d)
			}
		}()
	}
	wg.Wait()
	t0 := time.Now()
	eventually(t, 3*wait, "the failed server counts counted", func() (bool, string) {
		var saw []native.ClusterStats
		ok := true
		for _, n := range nodes {
			st := n.srv.ClusterStats()
			saw = append(saw, st)
			ok = ok && st.Pending == 0 && st.CountErrors == 3 // FetchSockets, ServerSideEmitWithAck, EmitWithAck
		}
		return ok, fmt.Sprintf("%+v", saw)
	})
	t.Logf("pumps drained in %v", time.Since(t0))

	// A namespace made while Redis is down.
	for _, n := range nodes {
		if d := timed(func() { n.app("/late") }); d > apiBound {
			t.Errorf("%s: Of took %v while Redis is down", n.name, d)
		}
	}
	// (the subscription is the last job: everything before it is done)
	eventually(t, 2*wait, "the subscriptions tried", func() (bool, string) {
		var saw []native.ClusterStats
		ok := true
		for _, n := range nodes {
			st := n.srv.ClusterStats()
			saw = append(saw, st)
			ok = ok && st.Pending == 0 && st.SubscribeErrors == 1
		}
		return ok, fmt.Sprintf("%+v", saw)
	})
	for _, n := range nodes {
		st := n.srv.ClusterStats()
		if logged := n.log.errs.Load(); logged != int64(st.PublishErrors+st.CountErrors+st.SubscribeErrors) {
			t.Errorf("%s: %d errors logged for %+v", n.name, logged, st)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// 3. Redis is back on the same port: the servers reconnect (go-redis
	// does) and subscribe again, to "/late" too.
	r.start()
	eventually(t, 2*wait, "every server to count the three again", func() (bool, string) {
		var saw []string
		ok := true
		for _, n := range nodes {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			c, err := n.srv.ServerCount(ctx)
			cancel()
			saw = append(saw, fmt.Sprint(n.name, ":", c, err))
			ok = ok && err == nil && c == 3
		}
		return ok, fmt.Sprint(saw)
	})
	eventually(t, 2*wait, "the three servers subscribed to /late", func() (bool, string) {
		var saw []string
		ok := true
		for _, ch := range []string{"-request#/late#", "-response#/late#"} {
			n, err := numSub(admin, prefix+ch)
			saw = append(saw, fmt.Sprint(ch, n, err))
			ok = ok && err == nil && n == 3
		}
		for _, n := range nodes {
			c, err := numSub(admin, prefix+"-response#/late#"+n.uid+"#")
			saw = append(saw, fmt.Sprint(n.name, c, err))
			ok = ok && err == nil && c == 1
		}
		return ok, fmt.Sprint(saw)
	})

	// 4. Broadcasts after the recovery reach every client of every server.
	late := make([]*peer, len(nodes))
	for i, n := range nodes {
		late[i] = dial(t, n, "/late")
	}
	for _, n := range nodes {
		if err := n.srv.Emit("news", "after-"+n.name); err != nil {
			t.Fatal(err)
		}
		if err := n.srv.Of("/late").Emit("news", "late-"+n.name); err != nil {
			t.Fatal(err)
		}
		if err := n.srv.To("room-b").Emit("news", "to-b-"+n.name); err != nil {
			t.Fatal(err)
		}
		for _, p := range peers {
			p.expect("news", "after-"+n.name)
		}
		peers[1].expect("news", "to-b-"+n.name)
		for _, p := range late {
			p.expect("news", "late-"+n.name)
		}
	}
	// Requests work again.
	for _, n := range nodes {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		socks, err := n.srv.FetchSockets(ctx)
		cancel()
		var ids []string
		for _, s := range socks {
			ids = append(ids, s.ID)
		}
		sort.Strings(ids)
		var want []string
		for _, p := range peers {
			want = append(want, p.c.ID())
		}
		sort.Strings(want)
		if err != nil || !slices.Equal(ids, want) {
			t.Errorf("%s: FetchSockets after the recovery: %q, %v; want %q", n.name, ids, err, want)
		}
		for _, nsp := range []string{"/", "/late"} {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			replies, err := n.srv.Of(nsp).ServerSideEmitWithAck(ctx, "whoami")
			cancel()
			got := strs(replies)
			sort.Strings(got)
			var others []string
			for _, o := range nodes {
				if o != n {
					others = append(others, o.name)
				}
			}
			if err != nil || !slices.Equal(got, others) {
				t.Errorf("%s: ServerSideEmitWithAck on %s after the recovery: %q, %v", n.name, nsp, got, err)
			}
		}
	}
	for i, n := range nodes {
		st := n.srv.ClusterStats()
		if st.Published <= before[i].Published || st.Received <= before[i].Received || st.Dropped != 0 {
			t.Errorf("%s after the recovery: %+v (before %+v)", n.name, st, before[i])
		}
		t.Logf("%s: %+v; %d warnings, %d errors logged", n.name, st, n.log.warn.Load(), n.log.errs.Load())
	}
	// Nothing else arrived: what was broadcast while Redis was down stayed
	// on its server.
	for _, p := range append(peers, late...) {
		p.quiet(50 * time.Millisecond)
	}
}

// TestShardedNamespaceWhileRedisDown: with the sharded adapter, a
// namespace made while Redis is down gets both its channels (the main one
// and the server's own answers channel) once Redis is back, so broadcasts
// and requests work in it.
func TestShardedNamespaceWhileRedisDown(t *testing.T) {
	r := startRedis(t)
	admin := r.client(t)
	const prefix = "sharded"
	cfg := nodeConfig{sharded: true}
	nodes := []*node{startNodeWith(t, r.addr, prefix, "a", cfg), startNodeWith(t, r.addr, prefix, "b", cfg)}
	shardNumSub := func(ch string) (int64, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		m, err := admin.PubSubShardNumSub(ctx, ch).Result()
		return m[ch], err
	}
	eventually(t, wait, "both servers subscribed", func() (bool, string) {
		n, err := shardNumSub(prefix + "#/#")
		return err == nil && n == 2, fmt.Sprint(n, err)
	})

	r.kill()
	for _, n := range nodes {
		n.app("/late")
	}
	eventually(t, 2*wait, "the subscriptions tried", func() (bool, string) {
		var saw []native.ClusterStats
		ok := true
		for _, n := range nodes {
			st := n.srv.ClusterStats()
			saw = append(saw, st)
			ok = ok && st.Pending == 0 && st.SubscribeErrors == 1
		}
		return ok, fmt.Sprintf("%+v", saw)
	})
	r.start()
	eventually(t, 2*wait, "both servers subscribed to /late", func() (bool, string) {
		n, err := shardNumSub(prefix + "#/late#")
		saw := []string{fmt.Sprint("main ", n, err)}
		ok := err == nil && n == 2
		for _, n := range nodes {
			c, err := shardNumSub(prefix + "#/late#" + n.uid + "#")
			saw = append(saw, fmt.Sprint(n.name, " ", c, err))
			ok = ok && err == nil && c == 1
		}
		return ok, fmt.Sprint(saw)
	})
	late := []*peer{dial(t, nodes[0], "/late"), dial(t, nodes[1], "/late")}
	for _, n := range nodes {
		if err := n.srv.Of("/late").Emit("news", "late-"+n.name); err != nil {
			t.Fatal(err)
		}
		for _, p := range late {
			p.expect("news", "late-"+n.name)
		}
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		replies, err := n.srv.Of("/late").ServerSideEmitWithAck(ctx, "whoami")
		cancel()
		if want := map[string]string{"a": "b", "b": "a"}[n.name]; err != nil || !slices.Equal(strs(replies), []string{want}) {
			t.Errorf("%s: ServerSideEmitWithAck on /late: %q, %v", n.name, strs(replies), err)
		}
	}
}
