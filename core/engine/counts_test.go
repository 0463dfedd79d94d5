package engine

import (
	"testing"

	"github.com/socketcore/socketcore/core/wire"
)

// Transports follows handshakes, upgrades and closes.
func TestTransports(t *testing.T) {
	h := newEchoHarness(t)
	want := func(polling, websocket int) {
		t.Helper()
		if p, ws := h.e.Transports(); p != polling || ws != websocket {
			t.Fatalf("Transports = %d polling, %d websocket; want %d, %d", p, ws, polling, websocket)
		}
	}
	want(0, 0)
	a := h.handshake()
	h.handshake()
	_, c := h.wsHandshake()
	want(2, 1)
	ws := h.request("GET", wsQuery(a), true, "")
	h.wantAccept(ws)
	h.recv(ws, "2probe")
	h.wantFrames(ws, txt("3probe"))
	want(2, 1) // probing: still on polling
	h.recv(ws, "5")
	h.wantNote(wire.SessionUpgraded{SID: a, Conn: ws})
	want(1, 2)
	h.in(wire.Closed{Conn: c})
	h.popNote() // SessionClosed
	want(1, 1)
}

// A volatile packet is dropped, and counted once whatever its frames,
// when its polling session has no GET parked; never on a WebSocket (the
// host's part) or with a GET parked.
func TestVolatileDropped(t *testing.T) {
	h := newEchoHarness(t)
	sid := h.handshake()
	s := h.e.Session(sid)
	frames := []wire.Frame{{Data: []byte("4x")}, {Data: []byte{1}, Binary: true}}
	h.e.Send(s, frames, true, false)
	h.e.SendMany([]*Session{s}, frames, true, false)
	h.e.Send(s, frames, false, false) // not volatile: buffered
	if n := h.e.VolatileDropped(); n != 2 {
		t.Fatalf("VolatileDropped = %d, want 2", n)
	}
	g := h.get(sid)
	h.wantRespondTo(g) // the buffered frames
	g = h.get(sid)
	h.e.Send(s, frames[:1], true, false)
	h.drain(false)
	h.wantPayload(g, "4x")
	if n := h.e.VolatileDropped(); n != 2 {
		t.Fatalf("with a GET parked: VolatileDropped = %d, want 2", n)
	}
}
