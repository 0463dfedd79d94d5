package engine

import (
	"strings"
	"testing"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// CONFORMANCE A.4: one packet per frame; text echoed as text, binary as binary.
func TestWebSocketEcho(t *testing.T) {
	h := newEchoHarness(t)
	sid, ws := h.wsHandshake()
	h.recv(ws, "4hello")
	h.wantMessage(sid, "hello", false)
	h.wantFrames(ws, txt("4hello"))
	h.recvBinary(ws, []byte{1, 2, 3, 4})
	h.wantMessage(sid, "\x01\x02\x03\x04", true)
	h.wantFrames(ws, bin(1, 2, 3, 4))
	h.recv(ws, "4😀")
	h.wantMessage(sid, "😀", false)
	h.wantFrames(ws, txt("4😀"))
	h.recvBinary(ws, []byte{})
	h.wantMessage(sid, "", true)
	h.wantFrames(ws, bin())
	h.wantIdle()
}

// Open, upgrade and noop packets on the WebSocket transport are ignored.
func TestWebSocketIgnored(t *testing.T) {
	h := newEchoHarness(t)
	_, ws := h.wsHandshake()
	for _, f := range []string{"", "0", "5", "6", "6junk", "3"} {
		h.recv(ws, f)
	}
	h.wantIdle()
}

// CONFORMANCE A.5: a malformed packet closes the WebSocket.
func TestWebSocketMalformed(t *testing.T) {
	for _, f := range []string{"abc", "7", "b!!!", " 4x"} {
		t.Run(f, func(t *testing.T) {
			h := newEchoHarness(t)
			sid, ws := h.wsHandshake()
			h.recv(ws, f)
			h.wantCloseConn(ws)
			h.wantClosed(sid, wire.ReasonParseError)
			h.wantIdle()
			h.wantDeadline(0)
			if h.e.Session(sid) != nil {
				t.Fatal("session still there")
			}
			h.recv(ws, "4late") // after the close: ignored
			h.wantIdle()
		})
	}
}

// CONFORMANCE A.9: a "1" frame: the server closes the WebSocket.
func TestWebSocketClientClose(t *testing.T) {
	h := newEchoHarness(t)
	sid, ws := h.wsHandshake()
	h.recv(ws, "1")
	h.wantCloseConn(ws)
	h.wantClosed(sid, wire.ReasonTransportClose)
	h.wantIdle()
	h.wantDeadline(0)
}

// The host reports the WebSocket gone.
func TestWebSocketClosed(t *testing.T) {
	for _, tt := range []struct {
		err    bool
		reason string
	}{{false, wire.ReasonTransportClose}, {true, wire.ReasonTransportError}} {
		h := newEchoHarness(t)
		sid, ws := h.wsHandshake()
		h.in(wire.Closed{Conn: ws, Error: tt.err})
		h.wantClosed(sid, tt.reason)
		h.wantIdle() // no CloseConn for a connection that is gone
		h.wantDeadline(0)
	}
}

// A message over MaxPayload closes the session (ws closes with 1009).
func TestWebSocketTooLarge(t *testing.T) {
	cfg := suiteConfig()
	cfg.MaxPayload = 16
	h := newHarness(t, cfg, nil)
	sid, ws := h.wsHandshake()
	h.recv(ws, "4"+strings.Repeat("x", 15))
	h.wantMessage(sid, strings.Repeat("x", 15), false)
	h.recvBinary(ws, make([]byte, 17))
	h.wantCloseConn(ws)
	h.wantClosed(sid, wire.ReasonTransportError)
	h.wantIdle()
}

// A WebSocket session has no polling buffer limit and no volatile drop
// decision: the frames go straight out.
func TestWebSocketSend(t *testing.T) {
	cfg := suiteConfig()
	cfg.MaxBufferedBytes = 4
	h := newHarness(t, cfg, nil)
	sid, ws := h.wsHandshake()
	s := h.e.Session(sid)
	h.e.Send(s, []wire.Frame{txt("4hello"), bin(1)}, false, false)
	h.e.Send(s, []wire.Frame{txt("4volatile")}, true, false)
	h.drain(false)
	h.wantFrames(ws, txt("4hello"), bin(1), txt("4volatile"))
	h.wantIdle()
}

// CloseSession on a WebSocket: queued frames first, then the close.
func TestWebSocketForcedClose(t *testing.T) {
	h := newHarness(t, suiteConfig(), nil)
	sid, ws := h.wsHandshake()
	s := h.e.Session(sid)
	h.e.Send(s, []wire.Frame{txt("4bye")}, false, false)
	h.e.CloseSession(h.now, s)
	h.drain(false)
	h.wantFrames(ws, txt("4bye"))
	h.wantCloseConn(ws)
	h.wantClosed(sid, wire.ReasonForcedClose)
	h.wantIdle()
	h.wantDeadline(0)
	h.e.Send(s, []wire.Frame{txt("4after")}, false, false)
	h.e.CloseSession(h.now, s)
	h.drain(false)
	h.wantIdle()
}

// handlerLog records the Handler calls.
type handlerLog struct {
	calls []string
}

func (l *handlerLog) Opened(now clock.Instant, s *Session) {
	l.calls = append(l.calls, "open "+string(s.ID))
}
func (l *handlerLog) Message(now clock.Instant, s *Session, data []byte, binary bool) {
	l.calls = append(l.calls, "msg "+string(data))
}
func (l *handlerLog) Closed(now clock.Instant, s *Session, reason string) {
	l.calls = append(l.calls, "closed "+reason)
}

// With a Handler, messages go to it instead of MessageReceived.
func TestHandler(t *testing.T) {
	var l handlerLog
	h := newHarness(t, suiteConfig(), &l)
	sid, ws := h.wsHandshake()
	s := h.e.Session(sid)
	s.Owner = "mine"
	h.recv(ws, "4a")
	h.recv(ws, "1")
	h.wantCloseConn(ws)
	h.wantClosed(sid, wire.ReasonTransportClose)
	h.wantIdle()
	want := []string{"open " + string(sid), "msg a", "closed transport close"}
	if strings.Join(l.calls, "|") != strings.Join(want, "|") {
		t.Fatalf("calls %q, want %q", l.calls, want)
	}
	if s.Owner != "mine" {
		t.Fatal("Owner changed")
	}
}

// engine.io-parser decodes "b"+base64 as a binary message on a WebSocket
// text frame too; the echo goes back as a binary frame.
func TestWebSocketBase64TextIsBinary(t *testing.T) {
	h := newEchoHarness(t)
	sid, ws := h.wsHandshake()
	h.recv(ws, "bAQIDBA==")
	h.wantMessage(sid, "\x01\x02\x03\x04", true)
	h.wantFrames(ws, bin(1, 2, 3, 4))
	h.wantIdle()
}
