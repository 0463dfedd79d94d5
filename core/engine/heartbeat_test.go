package engine

import (
	"testing"
	"time"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

const (
	interval = 300 * time.Millisecond
	timeout  = 200 * time.Millisecond
)

// CONFORMANCE A.8, PROTOCOL-NOTES §5: ping at +pingInterval, a pong
// reschedules the next ping pingInterval after it; three polling rounds.
func TestHeartbeatPolling(t *testing.T) {
	h := newEchoHarness(t)
	sid := h.handshake()
	h.wantDeadline(t0.Add(interval))
	round := t0
	for i := range 3 {
		g := h.get(sid)
		h.wantPending(g)
		h.advance(interval - 1)
		h.wantPending(g)
		h.advance(1)
		ping := round.Add(interval)
		if h.now != ping {
			t.Fatalf("round %d: clock at %s", i, h.rel(h.now))
		}
		h.wantPayload(g, "2")
		h.wantDeadline(ping.Add(timeout)) // the pong timer
		h.advance(50 * time.Millisecond)
		h.wantOK(h.post(sid, "3"))
		round = h.now
		h.wantDeadline(round.Add(interval))
		h.wantIdle()
	}
}

// No pong: the session is closed at exactly +pingInterval+pingTimeout, with
// "ping timeout"; a GET at +500ms gets 400 (the suite's check).
func TestHeartbeatPollingTimeout(t *testing.T) {
	h := newEchoHarness(t)
	sid := h.handshake()
	h.advance(interval)
	h.wantDeadline(t0.Add(interval + timeout))
	h.advance(timeout - 1)
	if h.e.Session(sid) == nil {
		t.Fatal("closed before the pong timeout")
	}
	h.wantIdle() // the ping waits in the buffer: no GET
	h.advance(1)
	h.wantClosed(sid, wire.ReasonPingTimeout)
	h.wantIdle()
	h.wantDeadline(0)
	h.wantGone(sid)
}

// A GET pending at the timeout gets the close packet (after the ping that
// was waiting for it, if any).
func TestHeartbeatPollingTimeoutWithGet(t *testing.T) {
	h := newEchoHarness(t)
	sid := h.handshake()
	g := h.get(sid)
	h.advance(interval)
	h.wantPayload(g, "2")
	g = h.get(sid)
	h.advance(timeout)
	h.wantPayload(g, "1")
	h.wantClosed(sid, wire.ReasonPingTimeout)
	h.wantIdle()
}

// A GET that comes late still gets the ping queued for it.
func TestHeartbeatPingQueued(t *testing.T) {
	h := newEchoHarness(t)
	sid := h.handshake()
	h.advance(interval + 10*time.Millisecond)
	h.wantIdle()
	h.wantPayload(h.get(sid), "2")
	h.wantOK(h.post(sid, "3"))
	h.wantDeadline(h.now.Add(interval))
}

// WebSocket: "2" at +pingInterval, "3" answered, and a silent client is
// closed at +pingInterval+pingTimeout.
func TestHeartbeatWebSocket(t *testing.T) {
	h := newEchoHarness(t)
	sid, ws := h.wsHandshake()
	h.advance(interval)
	h.wantFrames(ws, txt("2"))
	h.advance(100 * time.Millisecond)
	h.recv(ws, "3")
	h.wantDeadline(h.now.Add(interval))
	h.advance(interval)
	h.wantFrames(ws, txt("2"))
	h.advance(timeout - 1)
	h.wantIdle()
	h.advance(1)
	h.wantCloseConn(ws)
	h.wantClosed(sid, wire.ReasonPingTimeout)
	h.wantIdle()
	h.wantDeadline(0)
}

// Messages are no pong (v4: only "3" is), but the first packet received
// while a pong is awaited pushes the pong deadline back to pingTimeout after
// it, once per ping (engine.io 6.6.13, probed).
func TestHeartbeatTrafficDelaysPongOnce(t *testing.T) {
	h := newEchoHarness(t)
	sid, ws := h.wsHandshake()
	for round := range 2 {
		h.advance(interval)
		h.wantFrames(ws, txt("2"))
		ping := h.now
		h.wantDeadline(ping.Add(timeout))
		h.advance(50 * time.Millisecond)
		h.recv(ws, "4x")
		h.wantMessage(sid, "x", false)
		h.wantFrames(ws, txt("4x"))
		h.wantDeadline(ping.Add(50*time.Millisecond + timeout))
		h.advance(50 * time.Millisecond)
		h.recv(ws, "4y")
		h.wantMessage(sid, "y", false)
		h.wantFrames(ws, txt("4y"))
		h.wantDeadline(ping.Add(50*time.Millisecond + timeout)) // not again
		if round == 0 {
			h.recv(ws, "3")
			h.wantDeadline(h.now.Add(interval))
			h.wantIdle()
			continue
		}
		h.advance(timeout - 50*time.Millisecond - 1)
		h.wantIdle()
		h.advance(1)
		h.wantCloseConn(ws)
		h.wantClosed(sid, wire.ReasonPingTimeout)
	}
}

// v4: a client ping is "invalid heartbeat direction" and closes the session.
func TestHeartbeatClientPing(t *testing.T) {
	h := newEchoHarness(t)
	sid, ws := h.wsHandshake()
	h.recv(ws, "2")
	h.wantCloseConn(ws)
	h.wantClosed(sid, wire.ReasonTransportError)
	h.wantIdle()
}

// An unsolicited pong just restarts the interval.
func TestHeartbeatEarlyPong(t *testing.T) {
	h := newEchoHarness(t)
	_, ws := h.wsHandshake()
	h.advance(100 * time.Millisecond)
	h.recv(ws, "3")
	h.wantDeadline(h.now.Add(interval))
	h.advance(interval)
	h.wantFrames(ws, txt("2"))
	h.wantIdle()
}

// Extra or early Timeouts are no-ops: the deadline stays put.
func TestSpuriousTimeouts(t *testing.T) {
	h := newEchoHarness(t)
	sid := h.handshake()
	for _, d := range []time.Duration{0, time.Millisecond, interval - 1} {
		h.now = t0.Add(d)
		h.in(wire.Timeout{})
		h.wantIdle()
		h.wantDeadline(t0.Add(interval))
	}
	h.now = t0.Add(interval)
	h.in(wire.Timeout{})
	h.in(wire.Timeout{})
	h.wantIdle()
	h.wantPayload(h.get(sid), "2")
}

// A late Timeout (the host slept through the deadline) does what was due,
// and what it starts is timed from the instant the host reports: the ping
// goes out now, so the pong is awaited until now+pingTimeout.
func TestLateTimeout(t *testing.T) {
	h := newEchoHarness(t)
	sid := h.handshake()
	h.now = t0.Add(10 * time.Second)
	h.in(wire.Timeout{})
	h.wantIdle()
	h.wantDeadline(h.now.Add(timeout))
	h.wantPayload(h.get(sid), "2")
	h.advance(timeout)
	h.wantClosed(sid, wire.ReasonPingTimeout)
	h.wantIdle()
}

// Many sessions with staggered handshakes: every deadline is met exactly
// and the engine's deadline is always the earliest.
func TestHeartbeatManySessions(t *testing.T) {
	h := newEchoHarness(t)
	var opened []clock.Instant
	for i := range 20 {
		h.wsHandshake()
		opened = append(opened, h.now)
		h.advance(time.Duration(i+1) * time.Millisecond)
	}
	h.wantDeadline(opened[0].Add(interval))
	end := h.now.Add(5 * time.Second)
	for h.now < end {
		// every client answers every ping at once
		h.advanceTo(min(h.deadline, end))
		for len(h.out) > 0 {
			o := h.out[0]
			h.out = h.out[1:]
			s, ok := o.(wire.Send)
			if !ok || len(s.Frames) != 1 || string(s.Frames[0].Data) != "2" {
				t.Fatalf("unexpected %s", describe(o))
			}
			h.recv(s.Conn, "3")
		}
	}
	if h.e.Len() != 20 {
		t.Fatalf("%d sessions alive", h.e.Len())
	}
}
