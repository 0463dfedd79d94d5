package engine

import (
	"testing"

	"github.com/socketcore/socketcore/core/wire"
)

// A shutdown that finds frames queued for a parked GET answers it with
// them alone; the close packet goes in the next response. The official
// client takes a payload's messages a tick after a close packet in it:
// after its "disconnect", where recovery would give them again.
func TestCloseAllDrainsAParkedGetFirst(t *testing.T) {
	h := newHarness(t, suiteConfig(), nil)
	sid := h.handshake()
	g := h.get(sid)
	h.e.Send(h.e.Session(sid), []wire.Frame{txt("4last")}, false, false)
	h.e.CloseAll(h.now)
	h.drain(false)
	h.wantPayload(g, "4last")
	h.wantClosed(sid, wire.ReasonServerShuttingDown)
	h.wantPayload(h.get(sid), "1")
	h.wantError(h.get(sid), ErrUnknownSID)
	h.wantIdle()
}
