package faults

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/socketcore/socketcore/adapter/wire"
)

// msgpack encodes v, failing the test if it cannot.
func msgpack(t *testing.T, v wire.Value) []byte {
	t.Helper()
	b, err := wire.AppendMsgpackValue(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// m builds a wire.Map from key, value pairs.
func m(kv ...any) wire.Map {
	out := make(wire.Map, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, wire.KV{Key: kv[i].(string), Value: kv[i+1]})
	}
	return out
}

func arr(v ...wire.Value) []wire.Value { return v }

// garbage is what no server may take: random bytes, truncated and
// malformed msgpack and JSON, well-formed messages whose fields have the
// wrong types, for nsp. None may be delivered, none may disturb a server.
// Left out, as the decoder takes them (as Node's duck typing would, more
// or less): a broadcast without opts ([uid, packet]), flags of the wrong
// types (ignored), unknown msgpack extensions ([type, <binary>]), and
// answers with a placeholder-shaped object but no attachment (an object).
func garbage(t *testing.T, rng *rand.Rand, nsp string) [][]byte {
	var out [][]byte
	for _, n := range []int{0, 1, 2, 7, 64, 1024, 64 << 10} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		out = append(out, b)
	}
	opts := m("rooms", arr(), "except", arr(), "flags", m())
	valid := msgpack(t, arr("zz", m("type", int64(2), "data", arr("garbage", "x"), "nsp", nsp), opts))
	for _, cut := range []int{1, 2, 5, len(valid) / 2, len(valid) - 1} {
		out = append(out, valid[:cut]) // truncated
	}
	deep := append(bytes.Repeat([]byte{0x91}, 100_000), 0xc0)
	out = append(out,
		// lengths far beyond the message
		[]byte{0xdd, 0xff, 0xff, 0xff, 0xff}, []byte{0xdf, 0xff, 0xff, 0xff, 0xff},
		[]byte{0xdb, 0xff, 0xff, 0xff, 0xff, 'x'}, []byte{0xc6, 0xff, 0xff, 0xff, 0xff, 0},
		[]byte{0x93, 0xda, 0xff, 0xff}, []byte{0xc9, 0xff, 0xff, 0xff, 0xff, 0x01},
		deep, append(slices.Clone(valid), 0xc0, 0xc0), // trailing bytes
		// broadcasts whose parts have the wrong types
		msgpack(t, arr()), msgpack(t, arr("zz")), msgpack(t, m("uid", "zz")), msgpack(t, "zz"), msgpack(t, nil),
		msgpack(t, arr(int64(1), m("type", int64(2), "data", arr("garbage"), "nsp", nsp), opts)),
		msgpack(t, arr("zz", "packet", opts)),
		msgpack(t, arr("zz", m("type", int64(2), "data", "garbage", "nsp", nsp), opts)),
		msgpack(t, arr("zz", m("type", int64(2), "data", arr(), "nsp", nsp), opts)),
		msgpack(t, arr("zz", m("type", int64(2), "data", arr(int64(5), "x"), "nsp", nsp), opts)),
		msgpack(t, arr("zz", m("type", int64(2), "data", arr([]byte("bin")), "nsp", nsp), opts)),
		msgpack(t, arr("zz", m("type", int64(2), "data", arr(nil), "nsp", nsp), opts)),
		msgpack(t, arr("zz", m("type", "2", "data", arr("garbage"), "nsp", nsp), opts)),
		msgpack(t, arr("zz", m("type", int64(2), "data", arr("garbage"), "nsp", int64(5)), opts)),
		msgpack(t, arr("zz", m("type", int64(2), "data", arr("garbage"), "nsp", nsp), "opts")),
		msgpack(t, arr("zz", m("type", int64(2), "data", arr("garbage"), "nsp", nsp), m("rooms", m("a", int64(1))))),
		msgpack(t, arr("zz", m("type", int64(2), "data", arr("garbage"), "nsp", nsp), m("rooms", arr(int64(1), arr("x"))))),
		msgpack(t, arr("zz", m("type", int64(2), "data", arr("garbage"), "nsp", nsp), m("rooms", "r", "except", int64(5)))),
		msgpack(t, arr("zz", m("type", int64(2), "data", arr("garbage"), "nsp", nsp),
			m("rooms", arr(), "except", arr(), "flags", "f"))),
		msgpack(t, arr("zz", m("type", int64(2), "data", arr(m("_placeholder", true, "num", int64(9))), "nsp", nsp), opts)),
		// msgpack requests (type 7 broadcast with acks) and answers (type 9) gone wrong
		msgpack(t, m("uid", "zz", "requestId", "g1", "type", int64(7), "packet", "p", "opts", opts)),
		msgpack(t, m("uid", "zz", "requestId", "g1", "type", int64(7), "packet",
			m("type", int64(2), "data", arr("garbage"), "nsp", nsp))),
		msgpack(t, m("uid", "zz", "requestId", int64(7), "type", int64(7), "packet",
			m("type", int64(2), "data", arr("garbage"), "nsp", nsp), "opts", opts)),
		msgpack(t, m("uid", "zz", "type", int64(7), "packet",
			m("type", int64(2), "data", arr("garbage"), "nsp", nsp), "opts", opts)),
		msgpack(t, m("type", int64(9), "requestId", arr(), "packet", "x")),
		msgpack(t, m("type", "9", "requestId", "g1", "packet", "x")),
		msgpack(t, m("type", int64(9))),
	)
	for _, s := range []string{
		`{`, `{"type":`, `[]`, `null`, `"x"`, `123`, `{}`, `{"type":1e999}`, `{"uid":"\xff\xfe","type":5}`,
		string(bytes.Repeat([]byte("["), 100_000)), `{"a":` + string(bytes.Repeat([]byte(`{"a":`), 20_000)) + `1`,
		// requests
		`{"uid":"zz","type":"5","requestId":"g1","opts":{"rooms":[],"except":[]}}`,
		`{"uid":5,"type":5,"requestId":"g1","opts":{"rooms":[],"except":[]}}`,
		`{"uid":"zz","type":5,"requestId":"g1","opts":"all"}`,
		`{"uid":"zz","type":5,"requestId":"g1"}`,
		`{"uid":"zz","type":5,"opts":{"rooms":[],"except":[]}}`,
		`{"uid":"zz","type":5,"requestId":"g1","opts":{"rooms":{"a":1},"except":[]}}`,
		`{"uid":"zz","type":5,"requestId":"g1","opts":{"rooms":[1,[2]],"except":null}}`,
		`{"uid":"zz","type":1}`,
		`{"uid":"zz","type":6,"data":[1]}`,
		`{"uid":"zz","type":6,"data":[]}`,
		`{"uid":"zz","type":6,"data":"whoami"}`,
		`{"uid":"zz","type":6,"data":[null]}`,
		`{"uid":"zz","type":2,"opts":"x","rooms":["j"]}`,
		`{"uid":"zz","type":2,"rooms":["j"]}`,
		`{"uid":"zz","type":3,"opts":7,"rooms":"j"}`,
		`{"uid":"zz","type":4,"close":true}`,
		`{"uid":"zz","type":4,"opts":[],"close":"yes"}`,
		`{"uid":"zz","type":7,"requestId":"g1","packet":{"type":2,"data":"x"},"opts":{}}`,
		`{"uid":"zz","type":99,"requestId":"g1"}`,
		`{"uid":"zz","type":-1}`,
		`{"uid":"zz","type":5.5,"requestId":"g1","opts":{"rooms":[],"except":[]}}`,
		// answers
		`{"requestId":"g1","sockets":"none"}`,
		`{"requestId":"g1","sockets":[1,null,{"id":5}]}`,
		`{"requestId":"g1","sockets":[{"id":"s","rooms":"r","handshake":1,"data":{}}]}`,
		`{"requestId":7,"rooms":[1]}`,
		`{"requestId":"g1","rooms":"r"}`,
		`{"requestId":"","rooms":["r"]}`,
		`{"rooms":["r"]}`,
		`{"type":8,"requestId":"g1","clientCount":-1}`,
		`{"type":8,"requestId":"g1","clientCount":1e300}`,
		`{"type":8,"requestId":"g1","clientCount":"3"}`,
		`{"type":8,"requestId":"g1"}`,
		`{"type":"6","requestId":"g1","data":1}`,
		`{"type":6,"requestId":["g1"],"data":1}`,
	} {
		out = append(out, []byte(s))
	}
	return out
}

// TestGarbageOnChannels publishes garbage on every channel two servers
// subscribe to, for "/" and another namespace (broadcast pattern channels,
// requests, responses, each server's own response channel), interleaved
// with valid broadcasts: the servers drop it (and say so), keep serving,
// and the valid broadcasts arrive, in order.
func TestGarbageOnChannels(t *testing.T) {
	r := startRedis(t)
	admin := r.client(t)
	const prefix = "garbage"
	a, b := startNode(t, r.addr, prefix, "a", "/other"), startNode(t, r.addr, prefix, "b", "/other")
	nodes := []*node{a, b}
	for _, nsp := range []string{"/", "/other"} {
		eventually(t, wait, "both servers subscribed to "+nsp, func() (bool, string) {
			n, err := numSub(admin, prefix+"-request#"+nsp+"#")
			return err == nil && n == 2, fmt.Sprint(n, err)
		})
	}
	root := []*peer{dial(t, a, "/"), dial(t, b, "/")}
	other := []*peer{dial(t, a, "/other"), dial(t, b, "/other")}

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	type pub struct {
		channel string
		payload []byte
	}
	var junk []pub
	for _, nsp := range []string{"/", "/other"} {
		channels := []string{
			wire.BroadcastChannel(prefix, nsp),
			wire.RoomChannel(prefix, nsp, "room-a"),
			wire.RoomChannel(prefix, nsp, "nobody"),
			wire.RequestChannel(prefix, nsp),
			wire.ResponseChannel(prefix, nsp),
			wire.SpecificResponseChannel(prefix, nsp, a.uid),
			wire.SpecificResponseChannel(prefix, nsp, b.uid),
		}
		for _, p := range garbage(t, rng, nsp) {
			for _, ch := range channels {
				junk = append(junk, pub{ch, p})
			}
		}
	}
	validRaw := func(nsp, arg string) []byte {
		p, err := wire.AppendBroadcast(nil, wire.Broadcast{UID: "emitter",
			Packet: wire.Packet{Type: 2, Data: []wire.Value{"valid", arg}, Nsp: nsp},
			Opts:   wire.Opts{Rooms: []string{}, Except: []string{}, Flags: wire.Map{}}})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	before := []uint64{a.srv.ClusterStats().Received, b.srv.ClusterStats().Received}
	warnBefore := []int64{a.log.warn.Load(), b.log.warn.Load()}
	const rounds = 3
	for round := range rounds {
		// Garbage, then a valid message from an emitter, on one connection:
		// Redis hands them to each server in that order.
		rng.Shuffle(len(junk), func(i, j int) { junk[i], junk[j] = junk[j], junk[i] })
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		pipe := admin.Pipeline()
		for i, j := range junk {
			pipe.Publish(ctx, j.channel, j.payload)
			if i == len(junk)/2 { // one valid message in the middle of the garbage
				pipe.Publish(ctx, wire.BroadcastChannel(prefix, "/other"), validRaw("/other", fmt.Sprint("mid-", round)))
			}
		}
		pipe.Publish(ctx, wire.BroadcastChannel(prefix, "/"), validRaw("/", fmt.Sprint("raw-", round)))
		_, err := pipe.Exec(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range other {
			p.expect("valid", fmt.Sprint("mid-", round))
		}
		for _, p := range root {
			p.expect("valid", fmt.Sprint("raw-", round))
		}
		// The servers' own broadcasts still cross.
		if err := a.srv.Emit("valid", fmt.Sprint("a-", round)); err != nil {
			t.Fatal(err)
		}
		if err := b.srv.Of("/other").Emit("valid", fmt.Sprint("b-", round)); err != nil {
			t.Fatal(err)
		}
		for _, p := range root {
			p.expect("valid", fmt.Sprint("a-", round))
		}
		for _, p := range other {
			p.expect("valid", fmt.Sprint("b-", round))
		}
	}

	// Only the valid messages were taken: per round, the two from the
	// emitter and the other server's broadcast. The garbage was dropped,
	// and said so.
	for i, n := range nodes {
		st := n.srv.ClusterStats()
		if got := st.Received - before[i]; got != 3*rounds {
			t.Errorf("%s received %d messages, want %d (garbage went through?); %+v", n.name, got, 3*rounds, st)
		}
		if n.log.warn.Load()-warnBefore[i] < int64(len(junk)) {
			t.Errorf("%s: %d warnings for %d junk messages per round", n.name, n.log.warn.Load()-warnBefore[i], len(junk))
		}
		t.Logf("%s: %+v; %d warnings", n.name, st, n.log.warn.Load()-warnBefore[i])
	}

	// The servers serve: round trips, requests across the cluster.
	for i, p := range root {
		p.ping(nodes[i].name)
		other[i].ping(nodes[i].name)
	}
	for _, n := range nodes {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		socks, err := n.srv.FetchSockets(ctx)
		cancel()
		if err != nil || len(socks) != 2 {
			t.Errorf("%s: FetchSockets after the garbage: %d sockets, %v", n.name, len(socks), err)
		}
		ctx, cancel = context.WithTimeout(context.Background(), wait)
		replies, err := n.srv.Of("/other").ServerSideEmitWithAck(ctx, "whoami")
		cancel()
		if want := map[string]string{"a": "b", "b": "a"}[n.name]; err != nil || !slices.Equal(strs(replies), []string{want}) {
			t.Errorf("%s: ServerSideEmitWithAck after the garbage: %q, %v", n.name, strs(replies), err)
		}
	}
	for _, p := range append(root, other...) {
		p.quiet(50 * time.Millisecond)
	}
}
