package redis

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	cw "github.com/socketcore/socketcore/core/wire"
)

func enableRecovery(t *testing.T, a *Adapter, window time.Duration, maxPackets int) {
	t.Helper()
	if err := a.EnableRecovery(window, maxPackets); err != nil {
		t.Fatal(err)
	}
}

func record(t *testing.T, a *Adapter, nsp string, p cw.RecoveryPacket, publish *cw.ClusterMessage) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := a.Record(ctx, nsp, p, publish); err != nil {
		t.Fatalf("record %s: %v", p.Offset, err)
	}
}

func save(t *testing.T, a *Adapter, s cw.RecoverySession) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := a.SaveSession(ctx, s); err != nil {
		t.Fatalf("save %v %s: %v", s.State, s.PID, err)
	}
}

func lookup(t *testing.T, a *Adapter, l cw.RecoveryLookup) cw.RecoveryFound {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	f, err := a.Lookup(ctx, l)
	if err != nil {
		t.Fatalf("lookup %s: %v", l.PID, err)
	}
	return f
}

// The store keeps the packets a server originates (binary included) and
// the sessions; a lookup from another server takes the session and the
// packets after the client's offset, and consumes the session.
func TestLiveRecoveryStore(t *testing.T) {
	c := newClient(t, "recovery")
	prefix := randomPrefix(t)
	a := newAdapter(t, c, prefix, newInbox(t), false, "/")
	enableRecovery(t, a, time.Minute, 0)

	packets := []cw.RecoveryPacket{
		{Offset: "AAAAAA0", Data: []byte(`["seen"]`)},
		{Offset: "AAAAAA1", Rooms: []string{"team", "a b"}, Except: []string{"muted"}, Data: []byte(`["m1",{"x":[1,2]}]`)},
		{Offset: "BBBBBB0", Rooms: []string{"sid1"}, Data: []byte(`["bin",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`),
			Attachments: [][]byte{{0, 1, 0xff}, {}}},
		{Offset: "AAAAAA2", Data: []byte(`["m3"]`)},
	}
	for i, p := range packets {
		record(t, a, "/", p, nil)
		if i == 1 { // not for it: left out
			record(t, a, "/", cw.RecoveryPacket{Offset: "CCCCCC0", Rooms: []string{"other"}, Data: []byte(`["x"]`)}, nil)
			record(t, a, "/", cw.RecoveryPacket{Offset: "CCCCCC1", Except: []string{"team"}, Data: []byte(`["x"]`)}, nil)
		}
	}
	if n := c.XLen(context.Background(), StreamKey(prefix, "/")).Val(); n != 6 {
		t.Fatalf("stream holds %d entries", n)
	}
	if ttl := c.PTTL(context.Background(), StreamKey(prefix, "/")).Val(); ttl <= time.Minute || ttl > 80*time.Second {
		t.Fatalf("stream TTL %v, want the window and a refresh period", ttl)
	}

	pid := "AAAAAAbcdefghijklmno"
	save(t, a, cw.RecoverySession{State: cw.RecoveryLive, PID: pid, Socket: "sid1", Nsp: "/", Rooms: []string{"sid1", "team"},
		Node: "AAAAAA", Data: []byte(`{"user":"ann","n":[1,2]}`)})
	l := cw.RecoveryLookup{Ref: 7, Nsp: "/", PID: pid, Offset: "AAAAAA0", Node: "CCCCCC"}
	f := lookup(t, a, l)
	want := cw.RecoveryFound{Ref: 7, Found: true, Session: cw.RecoverySession{State: cw.RecoveryLive, PID: pid, Socket: "sid1",
		Nsp: "/", Rooms: []string{"sid1", "team"}, Node: "AAAAAA", Data: []byte(`{"user":"ann","n":[1,2]}`)},
		OffsetFound: true, Packets: packets[1:]}
	if !reflect.DeepEqual(normal(f), normal(want)) {
		t.Fatalf("lookup:\n got %+v\nwant %+v", f, want)
	}
	if f := lookup(t, a, l); f.Found {
		t.Fatalf("a session is consumed by its lookup: %+v", f)
	}

	// the holder does not need the packets; an offset the stream does not
	// have recovers nothing; nor does a pid that is no server's
	save(t, a, cw.RecoverySession{State: cw.RecoveryLive, PID: pid, Socket: "sid1", Nsp: "/", Node: "AAAAAA"})
	if f := lookup(t, a, cw.RecoveryLookup{Nsp: "/", PID: pid, Offset: "AAAAAA0", Node: "AAAAAA"}); !f.Found || f.OffsetFound || f.Packets != nil {
		t.Fatalf("holder's lookup %+v", f)
	}
	save(t, a, cw.RecoverySession{State: cw.RecoveryLive, PID: pid, Socket: "sid1", Nsp: "/", Node: "AAAAAA"})
	if f := lookup(t, a, cw.RecoveryLookup{Nsp: "/", PID: pid, Offset: "nope", Node: "CCCCCC"}); !f.Found || f.OffsetFound {
		t.Fatalf("unknown offset %+v", f)
	}
	for _, forged := range []string{"AAAAAAAAAAAAAAAAAAAA", "x", "", "{AAAA}aaaaaaa", "AAAAAA\x00bcdefghijklmno"} {
		if f := lookup(t, a, cw.RecoveryLookup{Nsp: "/", PID: forged, Offset: "AAAAAA0", Node: "CCCCCC"}); f.Found {
			t.Fatalf("forged pid %q found %+v", forged, f)
		}
	}
}

// normal makes empty byte strings and lists nil (the ABI's rule: empty
// and absent are one value).
func normal(f cw.RecoveryFound) cw.RecoveryFound {
	nb := func(b []byte) []byte {
		if len(b) == 0 {
			return nil
		}
		return b
	}
	ns := func(s []string) []string {
		if len(s) == 0 {
			return nil
		}
		return s
	}
	f.Session.Data, f.Session.Rooms = nb(f.Session.Data), ns(f.Session.Rooms)
	var ps []cw.RecoveryPacket
	for _, p := range f.Packets {
		p.Rooms, p.Except, p.Data = ns(p.Rooms), ns(p.Except), nb(p.Data)
		var atts [][]byte
		for _, a := range p.Attachments {
			atts = append(atts, nb(a))
		}
		p.Attachments = atts
		ps = append(ps, p)
	}
	f.Packets = ps
	return f
}

// The writes are conditional: a snapshot is its holder's until a recovery
// takes it; the old holder's late writes change nothing; a save moves the
// snapshot to a session that expires with the window.
func TestLiveRecoveryStoreConditionalWrites(t *testing.T) {
	c := newClient(t, "recovery")
	prefix := randomPrefix(t)
	a := newAdapter(t, c, prefix, newInbox(t), false, "/")
	enableRecovery(t, a, 2*time.Second, 0)
	ctx := context.Background()
	pid := "AAAAAAbcdefghijklmno"
	sess := func(st cw.RecoveryState, node string, rooms ...string) cw.RecoverySession {
		return cw.RecoverySession{State: st, PID: pid, Socket: "sid1", Nsp: "/", Rooms: rooms, Node: node}
	}
	holder := func() string {
		v := c.HGet(ctx, LiveKey(prefix, "AAAAAA"), pid).Val()
		if v == "" {
			return ""
		}
		return v[len(`{"node":"`) : len(`{"node":"`)+6]
	}
	save(t, a, sess(cw.RecoveryLive, "AAAAAA", "sid1"))
	if holder() != "AAAAAA" {
		t.Fatal("no snapshot")
	}
	if ttl := c.PTTL(ctx, LiveKey(prefix, "AAAAAA")).Val(); ttl <= 2*time.Second {
		t.Fatalf("snapshot hash TTL %v", ttl)
	}
	save(t, a, sess(cw.RecoveryLive, "BBBBBB", "sid1"))
	if holder() != "AAAAAA" {
		t.Fatal("another server replaced the holder's snapshot")
	}
	c.Set(ctx, SessionKey(prefix, pid), "stale", time.Minute)
	save(t, a, sess(cw.RecoveryResumed, "BBBBBB", "sid1", "team"))
	if holder() != "BBBBBB" || c.Exists(ctx, SessionKey(prefix, pid)).Val() != 0 {
		t.Fatal("a recovery did not take the session over")
	}
	for _, st := range []cw.RecoveryState{cw.RecoveryLive, cw.RecoverySaved, cw.RecoveryGone} {
		save(t, a, sess(st, "AAAAAA", "sid1"))
		if holder() != "BBBBBB" || c.Exists(ctx, SessionKey(prefix, pid)).Val() != 0 {
			t.Fatalf("the old holder's late %v changed the store", st)
		}
	}
	save(t, a, sess(cw.RecoverySaved, "BBBBBB", "sid1", "team"))
	if holder() != "" {
		t.Fatal("the snapshot stays after its save")
	}
	if ttl := c.PTTL(ctx, SessionKey(prefix, pid)).Val(); ttl <= time.Second || ttl > 2*time.Second {
		t.Fatalf("saved session TTL %v, want the window", ttl)
	}
	f := lookup(t, a, cw.RecoveryLookup{Nsp: "/", PID: pid, Offset: "x", Node: "CCCCCC"})
	if !f.Found || f.Session.State != cw.RecoverySaved || f.Session.Node != "BBBBBB" || !reflect.DeepEqual(f.Session.Rooms, []string{"sid1", "team"}) {
		t.Fatalf("lookup %+v", f)
	}
	// put back (its client left while it was looked up), then expired
	save(t, a, sess(cw.RecoveryUnused, "BBBBBB", "sid1"))
	time.Sleep(2100 * time.Millisecond)
	if f := lookup(t, a, cw.RecoveryLookup{Nsp: "/", PID: pid, Offset: "x", Node: "CCCCCC"}); f.Found {
		t.Fatalf("found past the window: %+v", f)
	}
	// gone
	save(t, a, sess(cw.RecoveryLive, "AAAAAA"))
	save(t, a, sess(cw.RecoveryGone, "AAAAAA"))
	if holder() != "" {
		t.Fatal("a socket that left for good is still recoverable")
	}
}

// A broadcast is appended and published in one step; the other servers
// get its offset (flags.offset in both protocols), Node servers ignore it.
func TestLiveRecoveryRecordAndPublish(t *testing.T) {
	for _, sharded := range []bool{false, true} {
		t.Run(fmt.Sprintf("sharded=%v", sharded), func(t *testing.T) {
			c := newClient(t, "recovery")
			prefix := randomPrefix(t)
			inA, inB := newInbox(t), newInbox(t)
			var a *Adapter
			if sharded {
				a = newShardedAdapter(t, c, prefix, Static, inA, "/")
				newShardedAdapter(t, c, prefix, Static, inB, "/")
			} else {
				a = newAdapter(t, c, prefix, inA, false, "/")
				newAdapter(t, c, prefix, inB, false, "/")
			}
			enableRecovery(t, a, time.Minute, 0)
			m := cw.ClusterMessage{Type: cw.ClusterBroadcast, Nsp: "/", Rooms: []string{"team"}, Compress: true,
				Data: []byte(`["news",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1, 2}}, Offset: "AAAAAA7"}
			record(t, a, "/", cw.RecoveryPacket{Offset: m.Offset, Rooms: m.Rooms, Data: m.Data, Attachments: m.Attachments}, &m)
			got := inB.next("broadcast")
			if got.Offset != "AAAAAA7" || string(got.Data) != string(m.Data) || !reflect.DeepEqual(got.Rooms, m.Rooms) {
				t.Fatalf("received %+v", got)
			}
			if n := c.XLen(context.Background(), StreamKey(prefix, "/")).Val(); n != 1 {
				t.Fatalf("stream holds %d", n)
			}
			inA.empty("own broadcast")
		})
	}
}

// The stream is bounded in length (MAXLEN ~) and in time (the periodic
// XTRIM MINID ~); the refresh keeps the TTLs of what a server holds.
func TestLiveRecoveryStoreBounds(t *testing.T) {
	c := newClient(t, "recovery")
	prefix := randomPrefix(t)
	a := newAdapter(t, c, prefix, newInbox(t), false, "/")
	enableRecovery(t, a, time.Second, 200)
	for i := range 2000 {
		record(t, a, "/", cw.RecoveryPacket{Offset: fmt.Sprint("AAAAAA", i), Data: []byte(`["x"]`)}, nil)
	}
	key := StreamKey(prefix, "/")
	if n := c.XLen(context.Background(), key).Val(); n < 200 || n > 400 {
		t.Fatalf("stream of %d entries, want about 200", n)
	}
	save(t, a, cw.RecoverySession{State: cw.RecoveryLive, PID: "AAAAAAbcdefghijklmno", Socket: "s", Nsp: "/", Node: "AAAAAA"})
	time.Sleep(1500 * time.Millisecond) // past the window, a refresh or more
	if n := c.XLen(context.Background(), key).Val(); n > 100 {
		t.Fatalf("stream of %d entries past the window", n) // MINID ~ leaves at most a node's worth
	}
	if ttl := c.PTTL(context.Background(), LiveKey(prefix, "AAAAAA")).Val(); ttl < time.Second {
		t.Fatalf("the hash of a held socket is not refreshed: TTL %v", ttl)
	}
	// a lookup reads at most the bound: an offset that old is not found
	record(t, a, "/", cw.RecoveryPacket{Offset: "old", Data: []byte(`["x"]`)}, nil)
	for i := range 300 {
		record(t, a, "/", cw.RecoveryPacket{Offset: fmt.Sprint("BBBBBB", i), Data: []byte(`["x"]`)}, nil)
	}
	if f := lookup(t, a, cw.RecoveryLookup{Nsp: "/", PID: "AAAAAAbcdefghijklmno", Offset: "old", Node: "CCCCCC"}); !f.Found || f.OffsetFound {
		t.Fatalf("an offset past the bound: %+v", f)
	}
}

// What a kept packet costs in Redis: MEMORY USAGE of a stream of typical
// entries (the README quotes it).
func TestLiveRecoveryMemoryPerPacket(t *testing.T) {
	c := newClient(t, "recovery")
	prefix := randomPrefix(t)
	a := newAdapter(t, c, prefix, newInbox(t), false, "/")
	enableRecovery(t, a, time.Minute, 0)
	ctx := context.Background()
	key := StreamKey(prefix, "/")
	const n = 10_000
	payload := `["chat",{"from":"ann","text":"` + strings.Repeat("x", 64) + `"}]`
	for i := range n {
		rooms := []string{"room" + fmt.Sprint(i%10)}
		record(t, a, "/", cw.RecoveryPacket{Offset: fmt.Sprintf("AbCdEf%x", i), Rooms: rooms, Data: []byte(payload)}, nil)
	}
	used, err := c.MemoryUsage(ctx, key, 0).Result() // SAMPLES 0: every node of the stream
	if err != nil {
		t.Fatal(err)
	}
	per := float64(used) / n
	t.Logf("MEMORY USAGE of %d entries: %d bytes, %.1f per entry (payload %d bytes, offset ~10, one room)", n, used, per, len(payload))
	if per > float64(len(payload))+120 {
		t.Fatalf("%.1f bytes per entry: more than the payload and 120 bytes of overhead", per)
	}
	var sess []byte
	for i := range 1000 {
		save(t, a, cw.RecoverySession{State: cw.RecoveryLive, PID: fmt.Sprintf("AbCdEf%014d", i), Socket: cw.SocketID(fmt.Sprintf("%020d", i)),
			Nsp: "/", Rooms: []string{fmt.Sprintf("%020d", i), "team"}, Node: "AbCdEf", Data: []byte(`{"user":"ann"}`)})
	}
	sess, _ = encodeSession(&cw.RecoverySession{PID: "AbCdEf00000000000000", Socket: "00000000000000000000", Nsp: "/",
		Rooms: []string{"00000000000000000000", "team"}, Node: "AbCdEf", Data: []byte(`{"user":"ann"}`)})
	hused := c.MemoryUsage(ctx, LiveKey(prefix, "AbCdEf"), 0).Val()
	t.Logf("MEMORY USAGE of 1000 snapshots: %d bytes, %.1f per socket (value %d bytes)", hused, float64(hused)/1000, len(sess))
}
