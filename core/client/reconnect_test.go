package client

import (
	"testing"
	"time"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

var backoffSeed = [32]byte{'b', 'a', 'c', 'k', 'o', 'f', 'f'}

// The delays below are what socket.io-client 4.8.4's own contrib/backo2.js
// returns when Math.random is replaced by the first draws of the ChaCha8
// stream of backoffSeed (0.90863684653926435, 0.65673883313779213,
// 0.60373550525635888, 0.25872680484961219, 0.51004913168737664,
// 0.094542598486707319, 0.64315032631461433, ...): the Go Backoff computes
// the JS client's schedule to the millisecond.
func TestBackoffMatchesJS(t *testing.T) {
	for _, tc := range []struct {
		min, max int
		jitter   float64
		want     []int
	}{
		{1000, 5000, 0.5, []int{1454, 1344, 2793, 5000, 5000, 5000, 5000, 5000, 5000, 5000, 5000, 5000}},
		{300, 60000, 0.9, []int{545, 246, 548, 1842, 7003, 8784, 8087, 30225, 60000, 60000, 60000, 60000}},
	} {
		b := NewBackoff(time.Duration(tc.min)*time.Millisecond, time.Duration(tc.max)*time.Millisecond, tc.jitter, backoffSeed)
		for i, w := range tc.want {
			if got := b.Duration(); got != time.Duration(w)*time.Millisecond {
				t.Fatalf("min %d max %d jitter %v: attempt %d waits %v, want %dms", tc.min, tc.max, tc.jitter, i, got, w)
			}
		}
		if b.Attempts != len(tc.want) {
			t.Fatalf("attempts %d", b.Attempts)
		}
	}
}

func TestBackoffWithoutJitter(t *testing.T) {
	b := NewBackoff(100*time.Millisecond, 1000*time.Millisecond, 0, backoffSeed)
	var got []time.Duration
	for range 6 {
		got = append(got, b.Duration())
	}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("delays %v", got)
		}
	}
	b.Reset()
	if d := b.Duration(); d != 100*time.Millisecond {
		t.Fatalf("after Reset: %v", d)
	}
	for range 2000 { // no overflow, no NaN
		if d := b.Duration(); d != time.Second && b.Attempts > 5 {
			t.Fatalf("attempt %d: %v", b.Attempts, d)
		}
	}
}

// Jitter stays within ±factor of the exponential delay, and both signs occur.
func TestBackoffJitterBounds(t *testing.T) {
	b := NewBackoff(time.Second, time.Hour, 0.5, [32]byte{1})
	var below, above int
	for round := range 200 {
		b.Reset()
		for n := range 5 {
			base := time.Second << n
			d := b.Duration()
			if d < base/2 || d > base+base/2 {
				t.Fatalf("round %d attempt %d: %v outside %v ± 50%%", round, n, d, base)
			}
			if d < base {
				below++
			} else if d > base {
				above++
			}
		}
	}
	if below < 100 || above < 100 {
		t.Fatalf("jitter one-sided: %d below, %d above", below, above)
	}
}

// The reconnection schedule in virtual time: each failed attempt waits the
// Backoff's next delay, ReconnectAttempt counts from 1, every failure is a
// connect_error and a reconnect_error, and the attempts run out with
// reconnect_failed.
func TestReconnectSchedule(t *testing.T) {
	cfg := wsConfig()
	cfg.Seed = backoffSeed
	cfg.ReconnectionAttempts = 5
	h := newHarness(t, cfg)
	ws := h.wsSession(SocketOptions{})
	h.closeWS(ws, false)
	h.wantNote(wire.EngineClosed{Reason: "transport close", Description: "websocket connection closed"})
	h.wantNote(wire.SocketDisconnected{Nsp: "/", Socket: "S1", Reason: "transport close", Description: "websocket connection closed"})
	want := []int{1454, 1344, 2793, 5000, 5000} // TestBackoffMatchesJS
	for i, ms := range want {
		at := h.now.Add(time.Duration(ms) * time.Millisecond)
		if h.deadline != at {
			t.Fatalf("attempt %d at +%v, want +%dms", i+1, h.deadline.Sub(h.now), ms)
		}
		h.advance(time.Duration(ms)*time.Millisecond - time.Nanosecond)
		h.wantQuiet()
		h.advance(time.Nanosecond)
		h.wantNote(wire.ReconnectAttempt{Attempt: i + 1})
		h.refuse(h.wantDial())
		h.wantNote(wire.EngineError{Message: "websocket error"})
		h.wantNote(wire.ConnectError{Nsp: "/", Message: "websocket error"})
		if i == len(want)-1 {
			// manager.ts: reconnect() (which gives up) runs before
			// reconnect_error is emitted
			h.wantNote(wire.ReconnectFailed{})
		}
		h.wantNote(wire.ReconnectError{Message: "websocket error"})
	}
	if h.deadline != 0 || h.m.Reconnecting() {
		t.Fatal("still reconnecting after reconnect_failed")
	}
	// a manual Connect starts again
	h.do(func(now clock.Instant) error { return h.m.Connect(now, "/") })
	h.wantDial()
}

// A successful attempt reports reconnect with its number, re-joins every
// namespace that was connected, and the next loss starts from the first
// delay again.
func TestReconnectRejoinsAndResets(t *testing.T) {
	cfg := wsConfig()
	cfg.RandomizationFactor = -1
	h := newHarness(t, cfg)
	ws := h.wsSession(SocketOptions{})
	h.do(func(now clock.Instant) error {
		return h.m.AddSocket("/chat", SocketOptions{Auth: []byte(`{"token":"secret"}`)})
	})
	h.do(func(now clock.Instant) error { return h.m.Connect(now, "/chat") })
	h.wantFrames(ws, `40/chat,{"token":"secret"}`)
	h.recv(ws, `40/chat,{"sid":"C1"}`)
	h.wantNote(wire.Connected{Socket: "C1", SID: "SID1", Nsp: "/chat"})

	h.closeWS(ws, false)
	note[wire.EngineClosed](h)
	note[wire.SocketDisconnected](h)
	note[wire.SocketDisconnected](h)
	h.advance(time.Second)
	h.wantNote(wire.ReconnectAttempt{Attempt: 1})
	h.refuse(h.wantDial())
	note[wire.EngineError](h)
	note[wire.ConnectError](h)
	note[wire.ConnectError](h)
	note[wire.ReconnectError](h)
	if h.deadline != h.now.Add(2*time.Second) {
		t.Fatalf("second attempt +%v, want 2s", h.deadline.Sub(h.now))
	}
	h.advance(2 * time.Second)
	h.wantNote(wire.ReconnectAttempt{Attempt: 2})
	d := h.wantDial()
	h.accept(d)
	h.recv(d.Conn, `0{"sid":"SID2","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}`)
	h.wantNote(wire.EngineOpened{SID: "SID2", Transport: "websocket"})
	h.wantNote(wire.Reconnected{Attempt: 2})
	h.wantFrames(d.Conn, "40", `40/chat,{"token":"secret"}`)
	h.recv(d.Conn, `40{"sid":"S2"}`, `40/chat,{"sid":"C2"}`)
	h.wantNote(wire.Connected{Socket: "S2", SID: "SID2", Nsp: "/"})
	h.wantNote(wire.Connected{Socket: "C2", SID: "SID2", Nsp: "/chat"})

	h.closeWS(d.Conn, false)
	if h.deadline != h.now.Add(time.Second) {
		t.Fatalf("after a success the first delay is 1s again, got +%v", h.deadline.Sub(h.now))
	}
}

func TestNoReconnection(t *testing.T) {
	cfg := wsConfig()
	cfg.NoReconnection = true
	h := newHarness(t, cfg)
	ws := h.wsSession(SocketOptions{})
	h.closeWS(ws, false)
	note[wire.EngineClosed](h)
	note[wire.SocketDisconnected](h)
	if h.deadline != 0 || h.m.Reconnecting() {
		t.Fatal("reconnecting despite NoReconnection")
	}
}

// The first connection failing starts reconnection too (maybeReconnectOnOpen).
func TestFirstConnectionFailure(t *testing.T) {
	cfg := wsConfig()
	cfg.RandomizationFactor = -1
	h := newHarness(t, cfg)
	h.connectRoot(SocketOptions{})
	h.refuse(h.wantDial())
	h.wantNote(wire.EngineError{Message: "websocket error"})
	h.wantNote(wire.ConnectError{Nsp: "/", Message: "websocket error"})
	h.wantNoNote() // no reconnect_error: this was not a reconnection
	h.advance(time.Second)
	h.wantNote(wire.ReconnectAttempt{Attempt: 1})
}

// Closing the manager while waiting to reconnect stops the attempts.
func TestCloseDuringBackoff(t *testing.T) {
	h := newHarness(t, wsConfig())
	ws := h.wsSession(SocketOptions{})
	h.closeWS(ws, false)
	note[wire.EngineClosed](h)
	note[wire.SocketDisconnected](h)
	h.do(func(now clock.Instant) error { h.m.Close(now); return nil })
	h.wantNote(wire.EngineClosed{Reason: "forced close"})
	h.wantNoNote()
	if h.deadline != 0 || h.m.Reconnecting() {
		t.Fatal("reconnection survived Close")
	}
	if st := h.m.Stats(); st.Conns != 0 || st.Timers != 0 {
		t.Fatalf("left after Close: %+v", st)
	}
}
