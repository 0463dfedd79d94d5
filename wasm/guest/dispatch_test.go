package main

import (
	"testing"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/wire"
	"github.com/socketcore/socketcore/wasm/abi"
)

// The dispatcher run natively: the same code core.wasm runs behind its
// exports, minus the pointer arithmetic of exports_wasip1.go.

func put(t *testing.T, g *guest, r any) (abi.Kind, uint32) {
	t.Helper()
	k, b, err := abi.Append(nil, r)
	if err != nil {
		t.Fatal(err)
	}
	if !g.buffer(uint32(len(b))) {
		t.Fatal("buffer refused")
	}
	copy(g.xbuf, b)
	return k, uint32(len(b))
}

func newGuest(t *testing.T) *guest {
	t.Helper()
	g := &guest{}
	_, n := put(t, g, abi.Init{Role: abi.RoleServer})
	if st := g.newMachine(0, n); st != abi.StatusOK {
		t.Fatalf("newMachine = %v", st)
	}
	return g
}

func (g *guest) call(t *testing.T, r any) int64 {
	t.Helper()
	k, n := put(t, g, r)
	return g.handle(1, uint32(k), 0, n, uint32(len(g.xbuf)))
}

func (g *guest) next(t *testing.T) any {
	t.Helper()
	r := g.poll(0, uint32(len(g.xbuf)))
	if r < 0 {
		t.Fatalf("poll = %v", abi.Status(r))
	}
	k, n := abi.Kind(r>>32), uint32(r)
	if n > uint32(len(g.xbuf)) {
		g.buffer(n)
		if r2 := g.poll(0, uint32(len(g.xbuf))); r2 != r {
			t.Fatalf("poll after growing = %x, want %x", r2, r)
		}
	}
	o, err := abi.DecodeResult(k, g.xbuf[:n])
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestStateAndBounds(t *testing.T) {
	g := &guest{}
	if r := g.handle(0, uint32(abi.KindTimeout), 0, 0, 0); r != int64(abi.StatusState) {
		t.Errorf("handle before sio_new = %d", r)
	}
	if r := g.poll(0, 0); r != int64(abi.StatusState) {
		t.Errorf("poll before sio_new = %d", r)
	}
	if st := g.newMachine(0, 10); st != abi.StatusBounds {
		t.Errorf("newMachine past the area = %v", st)
	}
	_, n := put(t, g, abi.Init{Role: 2})
	if st := g.newMachine(0, n); st != abi.StatusRole {
		t.Errorf("newMachine role 2 = %v", st)
	}
	g.xbuf[0]--
	if st := g.newMachine(0, n-1); st != abi.StatusBadRecord {
		t.Errorf("newMachine short record = %v", st)
	}
	if st := g.newMachine(0, n); st != abi.StatusOK {
		t.Fatalf("newMachine = %v", st)
	}
	if st := g.newMachine(0, n); st != abi.StatusState {
		t.Errorf("second newMachine = %v", st)
	}
	if g.buffer(maxBuffer + 1) {
		t.Error("buffer over maxBuffer accepted")
	}
	size := uint32(len(g.xbuf))
	for _, c := range []struct{ off, n, limit uint32 }{{size, 1, 0}, {0, size + 1, 0}, {1<<32 - 1, 2, 0}, {0, 0, size + 1}} {
		if r := g.handle(0, uint32(abi.KindTimeout), c.off, c.n, c.limit); r != int64(abi.StatusBounds) {
			t.Errorf("handle%v = %d", c, r)
		}
	}
	if r := g.poll(size, 1); r != int64(abi.StatusBounds) {
		t.Errorf("poll out of bounds = %d", r)
	}
	if r := g.handle(0, uint32(abi.KindWait), 0, 8, size); r != int64(abi.StatusUnknownKind) {
		t.Errorf("an output kind as input = %d", r)
	}
	if r := g.handle(0, 0x10101, 0, 0, size); r != int64(abi.StatusUnknownKind) {
		t.Errorf("kind over 16 bits = %d", r)
	}
	if r := g.handle(0, uint32(abi.KindRecv), 0, 3, size); r != int64(abi.StatusBadRecord) {
		t.Errorf("short Recv = %d", r)
	}
}

func TestCommandsAndReplies(t *testing.T) {
	g := newGuest(t)
	if r := g.call(t, abi.Disconnect{Socket: "nope"}); r != int64(abi.StatusUnknownSocket) {
		t.Errorf("Disconnect(unknown) = %d", r)
	}
	if r := g.call(t, core.Broadcast{Nsp: "/nope"}); r != int64(abi.StatusUnknownNsp) {
		t.Errorf("Broadcast(unknown nsp) = %d", r)
	}
	if r := g.call(t, abi.Ack{Ref: 99}); r != int64(abi.StatusUnknownAck) {
		t.Errorf("Ack(unknown) = %d", r)
	}
	if r := g.call(t, abi.AddNamespace{Name: "bad"}); r != int64(abi.StatusUnknownNsp) {
		t.Errorf("AddNamespace(bad) = %d", r)
	}
	// A reply that fits is written over the input.
	r := g.call(t, abi.StatsQuery{})
	if r <= 0 {
		t.Fatalf("Stats = %d", r)
	}
	g.buffer(uint32(r))
	st, err := abi.DecodeResult(abi.KindStatsReply, g.xbuf[:r])
	if err != nil || st.(core.Stats).Namespaces != 1 {
		t.Fatalf("Stats reply %v %v", st, err)
	}
	// One that does not fit is held for sio_reply.
	k, n := put(t, g, abi.ConfigQuery{})
	r = g.handle(0, uint32(k), 0, n, 0)
	if r <= 0 {
		t.Fatalf("Config = %d", r)
	}
	g.buffer(uint32(r))
	if r2 := g.replyAt(0, uint32(len(g.xbuf))); r2 != r {
		t.Fatalf("replyAt = %d, want %d", r2, r)
	}
	cfg, err := abi.DecodeResult(abi.KindConfigReply, g.xbuf[:r])
	if err != nil || cfg.(core.Config).MaxDepth != 64 {
		t.Fatalf("Config reply %v %v", cfg, err)
	}
	if r := g.call(t, abi.Close{}); r != 0 {
		t.Errorf("Close = %d", r)
	}
}

func TestHandshakeThroughTheDispatcher(t *testing.T) {
	g := newGuest(t)
	if r := g.call(t, wire.HTTPRequest{Conn: 1, Method: "GET", Query: "EIO=4&transport=polling"}); r != 0 {
		t.Fatalf("handle = %d", r)
	}
	// A tiny area: the output is held, then delivered once it fits.
	g.xbuf = g.xbuf[:1]
	r := g.poll(0, 1)
	if abi.Kind(r>>32) != abi.KindSessionOpened || uint32(r) <= 1 {
		t.Fatalf("poll into 1 byte = %x", r)
	}
	if r2 := g.poll(0, 1); r2 != r {
		t.Fatalf("held output changed: %x, %x", r2, r)
	}
	g.buffer(uint32(r))
	o, err := abi.DecodeResult(abi.KindSessionOpened, g.xbuf[:g.poll(0, uint32(len(g.xbuf)))&0xffffffff])
	if err != nil || o.(wire.SessionOpened).Conn != 1 {
		t.Fatalf("SessionOpened %v %v", o, err)
	}
	if o := g.next(t); o.(wire.Respond).Status != 200 {
		t.Fatalf("got %#v", o)
	}
	if o := g.next(t); o.(wire.Wait).Deadline == 0 {
		t.Fatalf("got %#v", o)
	}
}
