package core

import (
	"slices"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core/wire"
)

// room fixture: three WebSocket clients a, b, c and two polling clients p,
// q, all on "/", joined in that order. Rooms: r1 = a b p, r2 = b c.
type roomFixture struct {
	h             *harness
	a, b, c, p, q *tclient
	ids           map[*tclient]wire.SocketID
}

func newRoomFixture(t *testing.T) *roomFixture {
	h := newHarness(t, testConfig())
	f := &roomFixture{h: h, ids: map[*tclient]wire.SocketID{}}
	f.a, f.b, f.c = h.connectWS(), h.connectWS(), h.connectWS()
	f.p, f.q = h.connectPolling(), h.connectPolling()
	for _, cl := range f.all() {
		f.ids[cl] = cl.join("/")
	}
	join := func(cl *tclient, rooms ...string) {
		if err := h.s.Join(f.ids[cl], rooms...); err != nil {
			t.Fatal(err)
		}
	}
	join(f.a, "r1")
	join(f.b, "r1", "r2")
	join(f.c, "r2")
	join(f.p, "r1")
	h.wantIdle()
	// the polling clients wait with a GET, as real ones do
	f.p.poll()
	f.q.poll()
	return f
}

func (f *roomFixture) all() []*tclient { return []*tclient{f.a, f.b, f.c, f.p, f.q} }

func (f *roomFixture) idsOf(cls ...*tclient) []wire.SocketID {
	var out []wire.SocketID
	for _, cl := range cls {
		out = append(out, f.ids[cl])
	}
	return out
}

// Broadcast: rooms (union without duplicates), except, deterministic order;
// ONE wire.Broadcast with every WebSocket target sharing the encoded frames,
// and the same packet in the polling targets' GET responses.
func TestBroadcastTargets(t *testing.T) {
	tests := []struct {
		name   string
		rooms  []string
		except []string
		want   func(f *roomFixture) []*tclient // in delivery order
	}{
		{"everyone", nil, nil, func(f *roomFixture) []*tclient { return f.all() }},
		{"one room", []string{"r1"}, nil, func(f *roomFixture) []*tclient { return []*tclient{f.a, f.b, f.p} }},
		{"union without duplicates", []string{"r1", "r2"}, nil, func(f *roomFixture) []*tclient { return []*tclient{f.a, f.b, f.p, f.c} }},
		{"union, other order", []string{"r2", "r1"}, nil, func(f *roomFixture) []*tclient { return []*tclient{f.b, f.c, f.a, f.p} }},
		{"room except room", []string{"r1"}, []string{"r2"}, func(f *roomFixture) []*tclient { return []*tclient{f.a, f.p} }},
		{"everyone except", nil, []string{"r1"}, func(f *roomFixture) []*tclient { return []*tclient{f.c, f.q} }},
		{"except everyone", []string{"r1"}, []string{"r1"}, func(f *roomFixture) []*tclient { return nil }},
		{"unknown room", []string{"nope"}, nil, func(f *roomFixture) []*tclient { return nil }},
		{"a socket's own room", []string{"$q"}, nil, func(f *roomFixture) []*tclient { return []*tclient{f.q} }},
		{"except a socket", nil, []string{"$b", "nope"}, func(f *roomFixture) []*tclient { return []*tclient{f.a, f.c, f.p, f.q} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newRoomFixture(t)
			h := f.h
			names := map[string]*tclient{"$a": f.a, "$b": f.b, "$c": f.c, "$p": f.p, "$q": f.q}
			resolve := func(rs []string) []string {
				var out []string
				for _, r := range rs {
					if cl, ok := names[r]; ok {
						r = string(f.ids[cl])
					}
					out = append(out, r)
				}
				return out
			}
			rooms, except := resolve(tt.rooms), resolve(tt.except)
			want := tt.want(f)
			if got := h.s.SocketsIn("/", rooms); except == nil && !slices.Equal(got, f.idsOf(want...)) {
				t.Fatalf("SocketsIn = %q, want %q", got, f.idsOf(want...))
			}
			_, n := h.broadcast(Broadcast{Nsp: "/", Rooms: rooms, Except: except, Data: []byte(`["news",1]`)})
			if n != len(want) {
				t.Fatalf("Broadcast reached %d, want %d", n, len(want))
			}
			var conns []wire.ConnID
			for _, cl := range want {
				if cl.ws != 0 {
					conns = append(conns, cl.ws)
				}
			}
			if len(conns) > 0 {
				h.wantBroadcast(conns, `42["news",1]`)
			}
			for _, cl := range want {
				if cl.ws == 0 {
					cl.want(`42["news",1]`)
				}
			}
			h.wantIdle()
			for _, cl := range f.all() {
				cl.wantQuiet()
			}
		})
	}
}

// The frames of a Broadcast are the very bytes the polling targets get: one
// encoding per broadcast. Binary attachments travel as binary frames (WS)
// and b64 (polling).
func TestBroadcastEncodedOnce(t *testing.T) {
	f := newRoomFixture(t)
	h := f.h
	data := `["pic",` + ph(0) + `]`
	h.broadcast(Broadcast{Nsp: "/", Data: []byte(data), Attachments: [][]byte{{1, 2, 3}}})
	b := h.wantBroadcast([]wire.ConnID{f.a.ws, f.b.ws, f.c.ws}, `451-`+data, "bAQID")
	// the polling targets' payloads are built from the same frame
	for _, cl := range []*tclient{f.p, f.q} {
		r := h.wantRespondTo(cl.get)
		cl.get = 0
		if string(r.Body) != string(b.Frames[0].Data)+"\x1ebAQID" {
			t.Fatalf("polling payload %q", r.Body)
		}
	}
	h.wantIdle()
}

// Per-connection order: what was sent to a socket before a broadcast
// arrives before it.
func TestBroadcastKeepsOrder(t *testing.T) {
	f := newRoomFixture(t)
	h := f.h
	h.emit(Emit{Socket: f.ids[f.b], Data: []byte(`["first"]`)})
	h.broadcast(Broadcast{Nsp: "/", Rooms: []string{"r2"}, Data: []byte(`["second"]`)})
	h.emit(Emit{Socket: f.ids[f.b], Data: []byte(`["third"]`)})
	f.b.want(`42["first"]`)
	h.wantBroadcast([]wire.ConnID{f.b.ws, f.c.ws}, `42["second"]`)
	f.b.want(`42["third"]`)
	h.wantIdle()
}

func TestBroadcastNamespaces(t *testing.T) {
	h := newHarness(t, testConfig())
	h.s.AddNamespace("/custom", false)
	a, b := h.connectWS(), h.connectWS()
	a.join("/")
	b.join("/custom")
	if _, _, err := h.s.Broadcast(h.now, Broadcast{Nsp: "/nope", Data: []byte(`["x"]`)}); err != ErrUnknownNamespace {
		t.Fatalf("unknown namespace: %v", err)
	}
	h.broadcast(Broadcast{Nsp: "/custom", Data: []byte(`["x"]`)})
	h.wantBroadcast([]wire.ConnID{b.ws}, `42/custom,["x"]`)
	h.wantIdle()
}

// Volatile: polling targets without a GET are skipped; the Broadcast says so.
func TestBroadcastVolatile(t *testing.T) {
	f := newRoomFixture(t)
	h := f.h
	h.emit(Emit{Socket: f.ids[f.p], Data: []byte(`["x"]`)})
	f.p.want(`42["x"]`) // p has no GET parked now; q has one
	h.broadcast(Broadcast{Nsp: "/", Data: []byte(`["v"]`), Volatile: true})
	b := h.wantBroadcast([]wire.ConnID{f.a.ws, f.b.ws, f.c.ws}, `42["v"]`)
	if !b.Volatile {
		t.Fatal("Broadcast not marked volatile")
	}
	f.q.want(`42["v"]`)
	h.wantIdle()
	f.p.wantQuiet()
}

// Broadcast acks: every target answers → resolved, replies in arrival order.
func TestBroadcastAckAllReply(t *testing.T) {
	f := newRoomFixture(t)
	h := f.h
	ref, n := h.broadcast(Broadcast{Nsp: "/", Rooms: []string{"r1"}, Data: []byte(`["poll"]`), WithAck: true, Timeout: time.Second})
	if ref == 0 || n != 3 {
		t.Fatalf("ref %d n %d", ref, n)
	}
	h.wantBroadcast([]wire.ConnID{f.a.ws, f.b.ws}, `420["poll"]`)
	f.p.want(`420["poll"]`)
	f.p.send(`430["p"]`)
	f.a.send(`430["a"]`)
	f.a.send(`430["a again"]`)
	h.wantIdle()
	f.b.send(`461-0[`+ph(0)+`]`, "bAQ==")
	got := app[wire.BroadcastAckResolved](h)
	want := wire.BroadcastAckResolved{Ref: ref, Replies: []wire.Reply{
		{Socket: f.ids[f.p], Args: []byte(`["p"]`)},
		{Socket: f.ids[f.a], Args: []byte(`["a"]`)},
		{Socket: f.ids[f.b], Args: []byte(`[` + ph(0) + `]`), Attachments: [][]byte{{1}}},
	}}
	if describe(got) != describe(want) {
		t.Fatalf("got %s\nwant %s", describe(got), describe(want))
	}
	h.wantIdle()
	h.wantDeadline(t0.Add(25 * time.Second)) // timer gone
	f.c.send(`430["not a target"]`)
	h.advance(2 * time.Second)
	h.wantIdle()
}

// Broadcast ack timeout: TimedOut with the replies received so far, at
// exactly now+Timeout.
func TestBroadcastAckTimeout(t *testing.T) {
	f := newRoomFixture(t)
	h := f.h
	h.advance(10 * time.Millisecond)
	start := h.now
	ref, _ := h.broadcast(Broadcast{Nsp: "/", Rooms: []string{"r2"}, Data: []byte(`["poll"]`), WithAck: true, Timeout: 3 * time.Second})
	h.wantBroadcast([]wire.ConnID{f.b.ws, f.c.ws}, `420["poll"]`)
	f.c.send(`430[2]`)
	h.wantDeadline(start.Add(3 * time.Second))
	h.advance(3*time.Second - 1)
	h.wantIdle()
	h.advance(1)
	h.wantApp(wire.BroadcastAckResolved{Ref: ref, TimedOut: true, Replies: []wire.Reply{{Socket: f.ids[f.c], Args: []byte(`[2]`)}}})
	h.wantIdle()
	f.b.send(`430[1]`)
	h.wantIdle()
}

// No targets: resolved at once, in the same drain, without replies.
func TestBroadcastAckNoTargets(t *testing.T) {
	f := newRoomFixture(t)
	h := f.h
	ref, n := h.broadcast(Broadcast{Nsp: "/", Rooms: []string{"empty"}, Data: []byte(`["x"]`), WithAck: true, Timeout: time.Second})
	if ref == 0 || n != 0 {
		t.Fatalf("ref %d n %d", ref, n)
	}
	h.wantApp(wire.BroadcastAckResolved{Ref: ref})
	h.wantIdle()
	h.wantDeadline(t0.Add(25 * time.Second))
}

// A target that leaves: without a timeout the broadcast stops waiting for
// it; with one it waits for the timeout (as Node's does).
func TestBroadcastAckTargetLeaves(t *testing.T) {
	t.Run("no timeout", func(t *testing.T) {
		f := newRoomFixture(t)
		h := f.h
		ref, _ := h.broadcast(Broadcast{Nsp: "/", Rooms: []string{"r2"}, Data: []byte(`["x"]`), WithAck: true})
		h.wantBroadcast([]wire.ConnID{f.b.ws, f.c.ws}, `420["x"]`)
		f.b.send(`430["b"]`)
		f.c.send("41")
		h.wantLeft(f.ids[f.c], wire.ReasonClientNamespaceDisconnect, string(f.ids[f.c]), "r2")
		h.wantApp(wire.BroadcastAckResolved{Ref: ref, Replies: []wire.Reply{{Socket: f.ids[f.b], Args: []byte(`["b"]`)}}})
		h.wantIdle()
	})
	t.Run("timeout", func(t *testing.T) {
		f := newRoomFixture(t)
		h := f.h
		ref, _ := h.broadcast(Broadcast{Nsp: "/", Rooms: []string{"r2"}, Data: []byte(`["x"]`), WithAck: true, Timeout: time.Second})
		h.wantBroadcast([]wire.ConnID{f.b.ws, f.c.ws}, `420["x"]`)
		f.b.send(`430["b"]`)
		f.c.send("41")
		h.wantLeft(f.ids[f.c], wire.ReasonClientNamespaceDisconnect, string(f.ids[f.c]), "r2")
		h.wantIdle()
		h.advance(time.Second)
		h.wantApp(wire.BroadcastAckResolved{Ref: ref, TimedOut: true, Replies: []wire.Reply{{Socket: f.ids[f.b], Args: []byte(`["b"]`)}}})
		h.wantIdle()
	})
}

// The same operations replay to the same order, whatever the map
// iteration order of the run.
func TestBroadcastDeterministic(t *testing.T) {
	run := func() []wire.SocketID {
		f := newRoomFixture(t)
		h := f.h
		// churn: leave and rejoin rooms
		h.s.Leave(f.ids[f.a], "r1")
		h.s.Join(f.ids[f.q], "r1", "r2")
		h.s.Join(f.ids[f.a], "r1")
		return h.s.SocketsIn("/", []string{"r2", "r1"})
	}
	first := run()
	for range 20 {
		if got := run(); !slices.Equal(got, first) {
			t.Fatalf("order %q then %q", first, got)
		}
	}
}
