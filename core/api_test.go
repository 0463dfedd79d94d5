package core

import (
	"testing"
	"time"

	"github.com/socketcore/socketcore/core/wire"
)

// Local misuse returns an error; it never panics and emits nothing.
func TestMisuse(t *testing.T) {
	h := newHarness(t, testConfig())
	if err := h.s.Handle(h.now, nil); err != ErrUnknownInput {
		t.Fatalf("Handle(nil) = %v", err)
	}
	if _, _, err := h.s.Broadcast(h.now, Broadcast{Nsp: "/x"}); err != ErrUnknownNamespace {
		t.Fatalf("Broadcast to unknown namespace = %v", err)
	}
	if err := h.s.Disconnect(h.now, "x", true); err != ErrUnknownSocket {
		t.Fatalf("Disconnect(unknown) = %v", err)
	}
	for _, f := range []func() error{
		func() error { return h.s.AcceptConnect(h.now, "x") },
		func() error { return h.s.RejectConnect(h.now, "x", "no", nil) },
	} {
		if err := f(); err != nil {
			t.Fatalf("answering an unknown connection: %v", err)
		}
	}
	h.drain(false)
	h.wantIdle()
	h.wantDeadline(0)
}

func TestConfigDefaults(t *testing.T) {
	s := NewServer(Config{})
	cfg := s.Config()
	if cfg.ConnectTimeout != 45*time.Second || cfg.MaxAttachments != 10 || cfg.MaxDepth != 64 ||
		cfg.PingInterval != 25*time.Second || cfg.PingTimeout != 20*time.Second || cfg.MaxPayload != 1_000_000 {
		t.Fatalf("defaults %+v", cfg)
	}
}

// MaxAttachments from the Config bounds binary packets.
func TestMaxAttachments(t *testing.T) {
	cfg := testConfig()
	cfg.MaxAttachments = 2
	h := newHarness(t, cfg)
	c := h.connectWS()
	id := c.join("/")
	c.send(`452-["x",`+ph(0)+`,`+ph(1)+`]`, "bAA==", "bAQ==")
	if ev := app[wire.EventReceived](h); len(ev.Attachments) != 2 {
		t.Fatalf("got %s", describe(ev))
	}
	c.send(`453-["x"]`)
	h.wantSession(wire.SessionClosed{SID: c.sid, Reason: wire.ReasonForcedClose})
	h.wantLeft(id, wire.ReasonForcedClose, string(id))
	c.wantClosedConn()
	h.wantIdle()
}
