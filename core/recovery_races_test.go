package core

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// Recovery under a rolling restart (tests/cluster/drain found these): the
// packets that come while a recovered socket is being restored reach it
// once.

// What comes while a recovered socket waits for the application's
// decision (or for the host to get to its ConnectRequested) reaches it
// too, after what it missed and once: it was in no room meanwhile.
func TestRecoveryKeepsWhatCameBeforeTheAccept(t *testing.T) {
	h := newHarness(t, recoveryConfig())
	h.s.AddNamespace("/g", true)
	c := h.connectWS()
	c.send("40/g,")
	req := app[wire.ConnectRequested](h)
	h.do("Accept", func(now clock.Instant) error { return h.s.AcceptConnect(now, req.Socket) })
	var m struct{ Sid, Pid string }
	f := c.text()
	json.Unmarshal([]byte(f[len("40/g,"):]), &m)
	app[wire.Connected](h)
	h.broadcast(Broadcast{Nsp: "/g", Data: []byte(`["x"]`)})
	offset := lastArg(t, string(h.popBroadcast([]wire.ConnID{c.ws}).Frames[0].Data))
	h.in(wire.Closed{Conn: c.ws, Error: true})
	h.wantLeft(req.Socket, wire.ReasonTransportError)
	h.wantSession(wire.SessionClosed{SID: c.sid, Reason: "transport error"})
	h.broadcast(Broadcast{Nsp: "/g", Data: []byte(`["missed"]`)})

	back := h.connectWS()
	back.send(`40/g,` + resumePayload(m.Pid, offset))
	again := app[wire.ConnectRequested](h)
	h.broadcast(Broadcast{Nsp: "/g", Data: []byte(`["meanwhile"]`)})
	h.do("Accept", func(now clock.Instant) error { return h.s.AcceptConnect(now, again.Socket) })
	for _, want := range []string{`42/g,["missed","`, `42/g,["meanwhile","`} {
		if f := back.text(); !strings.HasPrefix(f, want) {
			t.Fatalf("got %q, want %s...", f, want)
		}
	}
	if f := back.text(); !strings.Contains(f, string(req.Socket)) {
		t.Fatalf("CONNECT %q", f)
	}
	app[wire.Connected](h)
	h.broadcast(Broadcast{Nsp: "/g", Data: []byte(`["after"]`)})
	if f := string(h.popBroadcast([]wire.ConnID{back.ws}).Frames[0].Data); !strings.HasPrefix(f, `42/g,["after","`) {
		t.Fatalf("after %q", f)
	}
	back.wantQuiet()
}

// The log may be ahead of pub/sub: a lookup reads a packet whose
// publication has not reached this server yet (a rolling restart under a
// steady broadcast does it). The socket gets that packet from the log, and
// not again when its publication comes.
func TestStoreRecoveryLogAheadOfPubSub(t *testing.T) {
	sc := newStoreCluster(t, 3)
	b, c := sc.nodes[1], sc.nodes[2]
	id, back, lk := resumingOnAnother(t, sc)
	c.broadcast(Broadcast{Nsp: "/", Data: []byte(`["ahead"]`)})
	sc.st.take(c) // in the log, its publication still on its way to b
	late := c.popClusterPublish()
	sc.st.lookups = []wire.RecoveryLookup{lk}
	b.in(sc.st.answer(t))
	if got := nextText(back); !strings.HasPrefix(got, `42["ahead","`) {
		t.Fatalf("missed %q, want ahead", got)
	}
	if rid, _ := readConnect(t, back); rid != id {
		t.Fatalf("recovered as %s", rid)
	}
	b.in(wire.ClusterReceived{Msg: late.Msg})
	c.broadcast(Broadcast{Nsp: "/", Data: []byte(`["live"]`)})
	sc.pump()
	if got := nextText(back); !strings.HasPrefix(got, `42["live","`) {
		t.Fatalf("after the recovery %q, want live (ahead once only)", got)
	}
	back.wantQuiet()
}
