package admin

import (
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/socketcore/socketcore/hosts/native"
)

// When the UIs fall behind by more than maxQueue items, the queue becomes
// one resync whose snapshot includes everything dropped: the state the UIs
// are then given is exact.
func TestQueueOverflowResyncs(t *testing.T) {
	adm, err := New(Options{NoAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := native.Start(native.Options{Observers: []native.Observer{adm}, Seed: [32]byte{2}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer func() { hs.CloseClientConnections(); hs.Close(); adm.Close(); srv.Close() }()
	c, err := native.Dial(hs.URL, native.ClientOptions{NoReconnection: true, Transports: []string{"websocket"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for !c.Connected() {
		if time.Now().After(deadline) {
			t.Fatal("no connection")
		}
		time.Sleep(5 * time.Millisecond)
	}
	id := c.ID()
	// not attached yet: nothing drains the queue; play a flood of
	// memberships as the driver would report them
	for i := range maxQueue + 10 {
		kind := native.RoomJoined
		if i%2 == 1 {
			kind = native.RoomLeft
		}
		adm.Observe(native.Event{Kind: kind, Nsp: "/", Room: "r", Socket: id})
	}
	adm.Observe(native.Event{Kind: native.RoomJoined, Nsp: "/", Room: "last", Socket: id})
	adm.mu.Lock()
	q := slices.Clone(adm.queue)
	adm.mu.Unlock()
	if len(q) == 0 || q[0].kind != itemResync || q[0].dropped == 0 || len(q) > 20 {
		t.Fatalf("queue of %d, first %+v", len(q), q[0].kind)
	}
	if len(q[0].snap) != 1 || q[0].snap[0].id != id {
		t.Fatalf("resync snapshot %+v", q[0].snap)
	}
	adm.mu.Lock()
	rooms := slices.Clone(adm.track.sockets[id].rooms)
	adm.mu.Unlock()
	if !slices.Equal(rooms, []string{id, "last"}) {
		t.Fatalf("tracked rooms %q", rooms)
	}
}
