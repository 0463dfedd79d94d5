package core

import (
	"slices"
	"testing"

	"github.com/socketcore/socketcore/core/wire"
)

func TestNamespaceCounts(t *testing.T) {
	f := newRoomFixture(t) // five sockets of "/" in r1 and r2
	h := f.h
	h.s.AddNamespace("/custom", false)
	h.s.AddNamespace("/empty", false)
	f.a.join("/custom")
	want := []NamespaceCount{{"/", 5, 2}, {"/custom", 1, 0}, {"/empty", 0, 0}}
	if got := h.s.NamespaceCounts(); !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if p, ws := h.s.Transports(); p != 2 || ws != 3 {
		t.Fatalf("Transports = %d polling, %d websocket; want 2, 3", p, ws)
	}
	// a room named after a socket is an application room once it has
	// another member; a socket that left its own room does not count
	if err := h.s.Join(f.ids[f.a], string(f.ids[f.b])); err != nil {
		t.Fatal(err)
	}
	if err := h.s.Leave(f.ids[f.c], string(f.ids[f.c])); err != nil {
		t.Fatal(err)
	}
	h.drain(false)
	want[0].Rooms = 3
	if got := h.s.NamespaceCounts(); !slices.Equal(got, want) {
		t.Fatalf("after joins: got %v, want %v", got, want)
	}
}

// Volatile packets are counted once per polling session without a GET,
// whatever their frames (attachments) and whether emitted or broadcast;
// WebSocket sessions are the host's to count.
func TestVolatileDropped(t *testing.T) {
	f := newRoomFixture(t)
	h := f.h
	h.emit(Emit{Socket: f.ids[f.p], Data: []byte(`["x"]`)})
	f.p.want(`42["x"]`) // p has no GET parked now; q has one
	if n := h.s.VolatileDropped(); n != 0 {
		t.Fatalf("before: %d", n)
	}
	h.broadcast(Broadcast{Nsp: "/", Data: []byte(`["v"]`), Volatile: true})
	h.wantBroadcast([]wire.ConnID{f.a.ws, f.b.ws, f.c.ws}, `42["v"]`)
	f.q.want(`42["v"]`) // q's GET took it; now q has none either
	h.emit(Emit{Socket: f.ids[f.p], Data: []byte(`["bin",` + ph(0) + `]`), Attachments: [][]byte{{1}}, Volatile: true})
	h.emit(Emit{Socket: f.ids[f.a], Data: []byte(`["ws"]`), Volatile: true})
	f.a.want(`42["ws"]`)
	h.broadcast(Broadcast{Nsp: "/", Rooms: []string{"r1"}, Data: []byte(`["r1"]`), Volatile: true})
	h.wantBroadcast([]wire.ConnID{f.a.ws, f.b.ws}, `42["r1"]`)
	h.wantIdle()
	// p: the first broadcast, the binary emit, the r1 broadcast; q: none
	// (its GET was parked for the first, and it is not in r1)
	if n := h.s.VolatileDropped(); n != 3 {
		t.Fatalf("VolatileDropped = %d, want 3", n)
	}
}
