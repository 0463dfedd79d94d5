package core

import (
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// moveTo makes a second machine take over h's clients: its bookkeeping
// (open requests, WebSockets, sessions, sockets, refs) and clock.
func (h *harness) moveTo(cfg Config) *harness {
	h2 := newHarness(h.t, cfg)
	h2.now, h2.lastConn = h.now, h.lastConn
	h2.requests, h2.ws, h2.sids = maps.Clone(h.requests), maps.Clone(h.ws), maps.Clone(h.sids)
	h2.sockets, h2.ever = maps.Clone(h.sockets), maps.Clone(h.ever)
	h2.issued, h2.resolved, h2.inRefs = maps.Clone(h.issued), maps.Clone(h.resolved), maps.Clone(h.inRefs)
	return h2
}

func (h *harness) restore(snap []byte) Restored {
	h.t.Helper()
	var got Restored
	if err := h.do("Restore", func(now clock.Instant) error {
		var err error
		got, err = h.s.Restore(now, snap)
		return err
	}); err != nil {
		h.fatalf("Restore: %v", err)
	}
	return got
}

func otherSeed(cfg Config) Config { cfg.Seed = [32]byte{'o', 't', 'h', 'e', 'r'}; return cfg }

// A WebSocket session with rooms and acknowledgements pending both ways
// goes on in a fresh machine: the client's ack reaches the application
// under the same ref, the application answers the client's ack, room
// broadcasts reach it, and the heartbeat continues where it was.
func TestSnapshotRestoreWebSocket(t *testing.T) {
	cfg := testConfig()
	h := newHarness(t, cfg)
	c := h.connectWS()
	id := c.join("/")
	h.out = nil
	if err := h.do("Join", func(clock.Instant) error { return h.s.Join(id, "room") }); err != nil {
		t.Fatal(err)
	}
	c.send(`421["q",1]`)
	ev := app[wire.EventReceived](h)
	if ev.Ack == 0 {
		t.Fatalf("no ack ref in %+v", ev)
	}
	ref := h.emit(Emit{Socket: id, Data: []byte(`["question"]`), WithAck: true, Timeout: 40 * time.Second})
	c.want(`420["question"]`)
	h.advance(10 * time.Second)

	snap, err := h.s.Snapshot(c.sid)
	if err != nil {
		t.Fatal(err)
	}
	if sid, err := SnapshotSID(snap); err != nil || sid != c.sid {
		t.Fatalf("SnapshotSID = %q, %v", sid, err)
	}
	h2 := h.moveTo(otherSeed(cfg))
	c.h = h2
	got := h2.restore(snap)
	if got.SID != c.sid || !slices.Equal(got.Sockets, []RestoredSocket{{ID: id, Nsp: "/"}}) {
		t.Fatalf("Restore = %+v", got)
	}
	if len(h2.out) != 0 {
		t.Fatalf("Restore made outputs: %s", h2.dump())
	}
	if rooms := h2.s.Rooms(id); !slices.Equal(rooms, []string{string(id), "room"}) {
		t.Fatalf("rooms %q", rooms)
	}
	if _, err := h2.s.Restore(h2.now, snap); !errors.Is(err, ErrSnapshotConflict) {
		t.Fatalf("second Restore: %v, want ErrSnapshotConflict", err)
	}

	c.send(`430["yes"]`)
	h2.wantApp(wire.AckResolved{Ref: ref, Socket: id, Args: []byte(`["yes"]`)})
	h2.ack(ev.Ack, `["ok"]`)
	c.want(`431["ok"]`)
	h2.broadcast(Broadcast{Nsp: "/", Rooms: []string{"room"}, Data: []byte(`["news"]`)})
	h2.wantBroadcast([]wire.ConnID{c.ws}, `42["news"]`)
	// a new ack on the restored machine gets a fresh ref and packet id
	ref2 := h2.emit(Emit{Socket: id, Data: []byte(`["again"]`), WithAck: true})
	if ref2 <= ref || ref2 <= ev.Ack {
		t.Fatalf("new ref %d collides with restored refs %d, %d", ref2, ref, ev.Ack)
	}
	c.want(`421["again"]`)

	// the heartbeat: the first ping was due 25 s after the handshake
	h2.advance(15 * time.Second)
	c.want("2")
	c.send("3")
	h2.advance(25 * time.Second)
	c.want("2")
	h2.wantIdle()
}

// A pending ack with a deadline times out on the restored machine, once.
func TestSnapshotRestoreAckTimeout(t *testing.T) {
	cfg := testConfig()
	h := newHarness(t, cfg)
	c := h.connectWS()
	id := c.join("/")
	ref := h.emit(Emit{Socket: id, Data: []byte(`["q"]`), WithAck: true, Timeout: 3 * time.Second})
	c.want(`420["q"]`)
	snap, err := h.s.Snapshot(c.sid)
	if err != nil {
		t.Fatal(err)
	}
	h2 := h.moveTo(otherSeed(cfg))
	c.h = h2
	h2.restore(snap)
	h2.advance(3 * time.Second)
	h2.wantApp(wire.AckResolved{Ref: ref, Socket: id, Err: wire.AckTimedOut})
}

// Frames buffered for a polling session without a GET go out at its next
// GET on the restored machine.
func TestSnapshotRestorePolling(t *testing.T) {
	cfg := testConfig()
	h := newHarness(t, cfg)
	if err := h.s.AddNamespace("/chat", false); err != nil {
		t.Fatal(err)
	}
	c := h.connectPolling()
	id := c.join("/chat")
	_ = id
	h.out = nil
	h.emit(Emit{Socket: id, Data: []byte(`["buffered"]`)})
	snap, err := h.s.Snapshot(c.sid)
	if err != nil {
		t.Fatal(err)
	}
	h2 := h.moveTo(otherSeed(cfg))
	c.h = h2
	got := h2.restore(snap)
	if len(got.Sockets) != 1 || got.Sockets[0].Nsp != "/chat" {
		t.Fatalf("Restore = %+v", got)
	}
	c.want(`42/chat,["buffered"]`)
	c.send(`42/chat,["hi"]`)
	h2.wantApp(wire.EventReceived{Socket: id, Name: "hi", Data: []byte(`["hi"]`)})
}

// A broadcast with acks waiting for two sessions, restored one after the
// other, resolves when both answered.
func TestSnapshotRestoreBroadcastAck(t *testing.T) {
	cfg := testConfig()
	h := newHarness(t, cfg)
	a, b := h.connectWS(), h.connectWS()
	ida, idb := a.join("/"), b.join("/")
	ref, n := h.broadcast(Broadcast{Nsp: "/", Data: []byte(`["poll"]`), WithAck: true, Timeout: 5 * time.Second})
	if n != 2 {
		t.Fatalf("targets %d", n)
	}
	h.out = nil
	sa, err1 := h.s.Snapshot(a.sid)
	sb, err2 := h.s.Snapshot(b.sid)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	h2 := h.moveTo(otherSeed(cfg))
	a.h, b.h = h2, h2
	h2.restore(sa)
	h2.restore(sb)
	a.send(`430[1]`)
	h2.wantIdle()
	b.send(`430[2]`)
	got := app[wire.BroadcastAckResolved](h2)
	if got.Ref != ref || len(got.Replies) != 2 || got.Replies[0].Socket != ida || got.Replies[1].Socket != idb {
		t.Fatalf("got %+v", got)
	}
}

const twoAttachments = `452-/chat,["up",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`

// A polling client posts a binary packet with its first attachment, and
// the second in a later request that meets another machine: the snapshot
// carries the pending packet, and the event is complete there. The
// machine the snapshot was taken from goes on with its own copy.
func TestSnapshotRestorePartialBinary(t *testing.T) {
	cfg := testConfig()
	h := newHarness(t, cfg)
	if err := h.s.AddNamespace("/chat", false); err != nil {
		t.Fatal(err)
	}
	c := h.connectPolling()
	id := c.join("/chat")
	h.out = nil
	c.send(twoAttachments, "bAQI=") // [1 2]
	h.wantIdle()
	snap, err := h.s.Snapshot(c.sid)
	if err != nil {
		t.Fatal(err)
	}
	want := wire.EventReceived{Socket: id, Name: "up",
		Data:        []byte(`["up",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`),
		Attachments: [][]byte{{1, 2}, {3}}}

	h2 := h.moveTo(otherSeed(cfg))
	c2 := *c
	c2.h = h2
	h2.restore(snap)
	if len(h2.out) != 0 {
		t.Fatalf("Restore made outputs: %s", h2.dump())
	}
	c2.send("bAw==") // [3]
	h2.wantApp(want)
	// the next binary packet starts afresh
	c2.send(`451-/chat,["again",{"_placeholder":true,"num":0}]`, "bBA==")
	h2.wantApp(wire.EventReceived{Socket: id, Name: "again",
		Data: []byte(`["again",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{4}}})
	h2.wantIdle()

	// the original machine still waits for its own second attachment
	c.send("bAw==")
	h.wantApp(want)

	// a snapshot taken with nothing pending restores nothing pending: a
	// binary message there closes the session (socket.io client.ts
	// onerror), as it would here
	snap, err = h2.s.Snapshot(c.sid)
	if err != nil {
		t.Fatal(err)
	}
	h3 := h2.moveTo(otherSeed(cfg))
	c3 := c2
	c3.h = h3
	h3.restore(snap)
	p := c3.post("bAw==")
	h3.wantRespond(p, 200, "ok")
	if got := app[wire.Disconnecting](h3); got.Socket != id || got.Reason != wire.ReasonForcedClose {
		t.Fatalf("got %+v, want a forced close", got)
	}
}

// A WebSocket client's pending binary packet moves too.
func TestSnapshotRestorePartialBinaryWebSocket(t *testing.T) {
	cfg := testConfig()
	h := newHarness(t, cfg)
	c := h.connectWS()
	id := c.join("/")
	h.out = nil
	c.send(`451-3["file",{"_placeholder":true,"num":0}]`)
	snap, err := h.s.Snapshot(c.sid)
	if err != nil {
		t.Fatal(err)
	}
	h2 := h.moveTo(otherSeed(cfg))
	c.h = h2
	h2.restore(snap)
	c.send("bBQY=") // [5 6]
	h2.wantApp(wire.EventReceived{Socket: id, Name: "file", Ack: 1,
		Data: []byte(`["file",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{5, 6}}})
}

// Version 1 snapshots (before the pending binary packet) still restore.
func TestSnapshotRestoreVersion1(t *testing.T) {
	cfg := testConfig()
	h := newHarness(t, cfg)
	c := h.connectWS()
	id := c.join("/")
	snap, err := h.s.Snapshot(c.sid)
	if err != nil {
		t.Fatal(err)
	}
	// version 2 with nothing pending is version 1 with 8 more zero bytes
	// (two empty counts) after the version and the connect deadline
	if snap[0] != 2 || !slices.Equal(snap[9:17], make([]byte, 8)) {
		t.Fatalf("unexpected snapshot layout % x", snap[:17])
	}
	v1 := slices.Concat([]byte{1}, snap[1:9], snap[17:])
	h2 := h.moveTo(otherSeed(cfg))
	c.h = h2
	got := h2.restore(v1)
	if !slices.Equal(got.Sockets, []RestoredSocket{{ID: id, Nsp: "/"}}) {
		t.Fatalf("Restore = %+v", got)
	}
	c.send(`42["hi"]`)
	h2.wantApp(wire.EventReceived{Socket: id, Name: "hi", Data: []byte(`["hi"]`)})
	for _, v := range []byte{0, 3, 255} {
		bad := slices.Clone(snap)
		bad[0] = v
		if _, err := newHarness(t, cfg).s.Restore(h.now, bad); !errors.Is(err, ErrBadSnapshot) {
			t.Fatalf("version %d: %v, want ErrBadSnapshot", v, err)
		}
	}
}

// withPartial returns snap (taken with nothing pending) with the pending
// packet fields replaced: a header and attachments.
func withPartial(snap []byte, header string, atts ...[]byte) []byte {
	b := slices.Clone(snap[:9])
	b = appendLenBytes(b, []byte(header))
	b = append(b, byte(len(atts)), 0, 0, 0)
	for _, a := range atts {
		b = appendLenBytes(b, a)
	}
	return append(b, snap[17:]...)
}

func appendLenBytes(b, p []byte) []byte {
	return append(append(b, byte(len(p)), byte(len(p)>>8), 0, 0), p...)
}

// A pending packet that is not one fails the restore, changing nothing.
func TestSnapshotBadPartial(t *testing.T) {
	cfg := testConfig()
	h := newHarness(t, cfg)
	c := h.connectWS()
	c.join("/")
	snap, err := h.s.Snapshot(c.sid)
	if err != nil {
		t.Fatal(err)
	}
	ok := withPartial(snap, `52-["x",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, []byte{1})
	if _, err := newHarness(t, cfg).s.Restore(h.now, ok); err != nil {
		t.Fatalf("a well-formed pending packet: %v", err)
	}
	for name, bad := range map[string][]byte{
		"attachments without a packet": withPartial(snap, "", []byte{1}),
		"not a binary packet":          withPartial(snap, `2["x"]`),
		"not a packet":                 withPartial(snap, `9nonsense`),
		"every attachment already":     withPartial(snap, `51-["x",{"_placeholder":true,"num":0}]`, []byte{1}),
		"more attachments than announced": withPartial(snap, `51-["x",{"_placeholder":true,"num":0}]`,
			[]byte{1}, []byte{2}),
		"over this machine's limits": withPartial(snap, `511-["x",{"_placeholder":true,"num":0}]`),
	} {
		h2 := newHarness(t, cfg)
		if _, err := h2.s.Restore(h.now, bad); !errors.Is(err, ErrBadSnapshot) {
			t.Errorf("%s: %v, want ErrBadSnapshot", name, err)
		}
		if st := h2.s.Stats(); st.Sessions != 0 || st.Sockets != 0 || st.Timers != 0 {
			t.Errorf("%s: a failed restore left %+v", name, st)
		}
	}
}

func TestSnapshotErrors(t *testing.T) {
	h := newHarness(t, testConfig())
	if _, err := h.s.Snapshot("nope"); !errors.Is(err, ErrUnknownSession) {
		t.Fatalf("Snapshot(unknown) = %v", err)
	}
	c := h.connectWS()
	c.join("/")
	snap, err := h.s.Snapshot(c.sid)
	if err != nil {
		t.Fatal(err)
	}
	h2 := newHarness(t, testConfig())
	for i := range snap {
		if _, err := h2.s.Restore(h.now, snap[:i]); !errors.Is(err, ErrBadSnapshot) {
			t.Fatalf("Restore(truncated to %d) = %v", i, err)
		}
	}
	if _, err := h2.s.Restore(h.now, append(slices.Clone(snap), 0)); !errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("Restore(trailing byte) = %v", err)
	}
	if st := h2.s.Stats(); st.Sessions != 0 || st.Sockets != 0 || st.Timers != 0 {
		t.Fatalf("failed restores left state: %+v", st)
	}
}

// FuzzRestore: any bytes either restore a session or fail with one of
// Restore's errors, leaving the machine unchanged; never a panic.
func FuzzRestore(f *testing.F) {
	h := newHarness(f, testConfig())
	c := h.connectWS()
	id := c.join("/")
	h.emit(Emit{Socket: id, Data: []byte(`["q"]`), WithAck: true, Timeout: time.Second})
	if err := h.s.Join(id, "a", "b"); err != nil {
		f.Fatal(err)
	}
	snap, err := h.s.Snapshot(c.sid)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(snap)
	f.Add([]byte{1})
	// with a pending binary packet (a header and one of its two attachments)
	c.send(`452-["b",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, "bAQI=")
	snap, err = h.s.Snapshot(c.sid)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(snap)
	f.Fuzz(func(t *testing.T, b []byte) {
		s := NewServer(testConfig())
		_, err := s.Restore(t0, b)
		if err != nil {
			if !errors.Is(err, ErrBadSnapshot) && !errors.Is(err, ErrSnapshotConflict) {
				t.Fatalf("Restore: %v", err)
			}
			if st := s.Stats(); st.Sessions != 0 || st.Sockets != 0 || st.Timers != 0 || st.OutAcks != 0 {
				t.Fatalf("a failed Restore left %+v", st)
			}
			return
		}
		for i := 0; ; i++ {
			if i > 100_000 {
				t.Fatal("Poll never returned Wait")
			}
			if _, ok := s.Poll().(wire.Wait); ok {
				break
			}
		}
	})
}

// With a recovery store, a restored socket's rooms are not a change of its
// rooms: Restore writes no session (a RecoverySession naming the new
// machine would send a later lookup of its pid to this machine's memory,
// which does not have the packets the client missed; they are in the log).
func TestSnapshotRestoreRecoveryStoreNoSession(t *testing.T) {
	cfg := recoveryConfig()
	cfg.RecoveryStore = true
	h := newHarness(t, cfg)
	c := h.connectWS()
	id, _, _ := c.connectRecovering("")
	if err := h.do("Join", func(clock.Instant) error { return h.s.Join(id, "room") }); err != nil {
		t.Fatal(err)
	}
	if _, ok := outputOf[wire.RecoverySession](h.out); !ok {
		t.Fatalf("no RecoverySession after a join: %s", h.dump())
	}
	h.out = nil
	snap, err := h.s.Snapshot(c.sid)
	if err != nil {
		t.Fatal(err)
	}
	h2 := h.moveTo(otherSeed(cfg))
	c.h = h2
	h2.restore(snap)
	if len(h2.out) != 0 {
		t.Fatalf("Restore made outputs: %s", h2.dump())
	}
	if rooms := h2.s.Rooms(id); !slices.Equal(rooms, []string{string(id), "room"}) {
		t.Fatalf("rooms %q", rooms)
	}
	// a real change after the restore is written, by the new machine
	if err := h2.do("Join", func(clock.Instant) error { return h2.s.Join(id, "other") }); err != nil {
		t.Fatal(err)
	}
	if _, ok := outputOf[wire.RecoverySession](h2.out); !ok {
		t.Fatalf("no RecoverySession after a join on the restored machine: %s", h2.dump())
	}
}

// outputOf is the first output of type T in out.
func outputOf[T wire.Output](out []wire.Output) (T, bool) {
	for _, o := range out {
		if v, ok := o.(T); ok {
			return v, true
		}
	}
	var zero T
	return zero, false
}
