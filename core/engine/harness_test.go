package engine

// The harness drives a Server the way a host does — one input at a time, then
// a drain of Poll until Wait — with a virtual clock that the test moves. Every
// drain is checked against the host contract (every Respond answers an open
// request exactly once, frames only go to accepted WebSockets, Wait.Deadline
// is the engine's deadline and never in the past), and the outputs are kept
// in a queue that the want* helpers consume, in the style of x/net/http2's
// connframes_test.go: transport outputs in order per connection,
// notifications in order among themselves.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
	"github.com/socketcore/socketcore/internal/wiretest"
)

// t0 is the instant the harness starts at: any non-zero value will do.
const t0 = clock.Instant(1_000_000_000_000)

// suiteConfig is the official test suites' server configuration
// (CONFORMANCE-SERVERS.md A).
func suiteConfig() Config {
	return Config{
		PingInterval:   300 * time.Millisecond,
		PingTimeout:    200 * time.Millisecond,
		UpgradeTimeout: time.Second,
		MaxPayload:     1_000_000,
		Seed:           [32]byte{'s', 'e', 'e', 'd'},
	}
}

type harness struct {
	t        *testing.T
	e        *Server
	now      clock.Instant
	deadline clock.Instant // from the last Wait
	out      []wire.Output // drained, not yet consumed by a want* helper
	lastConn wire.ConnID

	// echo makes the harness behave as the suite's engine-only echo app:
	// each MessageReceived is sent straight back (from inside the drain
	// loop, as the drain contract allows).
	echo bool

	requests map[wire.ConnID]bool // HTTP requests not answered yet (value: WebSocket upgrade)
	ws       map[wire.ConnID]bool // accepted WebSockets, not closed
}

func newHarness(t *testing.T, cfg Config, h Handler) *harness {
	t.Helper()
	return &harness{
		t:        t,
		e:        NewServer(cfg, h),
		now:      t0,
		requests: map[wire.ConnID]bool{},
		ws:       map[wire.ConnID]bool{},
	}
}

func newEchoHarness(t *testing.T) *harness {
	h := newHarness(t, suiteConfig(), nil)
	h.echo = true
	return h
}

func (h *harness) newConn() wire.ConnID {
	h.lastConn++
	return h.lastConn
}

// in feeds one input at the current instant and drains the outputs.
func (h *harness) in(in wire.Input) {
	h.t.Helper()
	switch in := in.(type) {
	case wire.HTTPRequest:
		h.requests[in.Conn] = in.WebSocket
	case wire.Closed:
		delete(h.requests, in.Conn)
		delete(h.ws, in.Conn)
	}
	if err := h.e.Handle(h.now, in); err != nil {
		h.t.Fatalf("Handle(%T): %v", in, err)
	}
	_, timeout := in.(wire.Timeout)
	h.drain(timeout)
}

// drain polls until Wait, checking each output against the host contract.
func (h *harness) drain(afterTimeout bool) {
	h.t.Helper()
	for n := 0; ; n++ {
		if n > 100_000 {
			h.t.Fatal("Poll never returned Wait")
		}
		o := h.e.Poll()
		switch o := o.(type) {
		case wire.Wait:
			if o.Deadline != h.e.Deadline() {
				h.t.Fatalf("Wait.Deadline %d != engine Deadline %d", o.Deadline, h.e.Deadline())
			}
			if o.Deadline != 0 && o.Deadline < h.now {
				h.t.Fatalf("Wait.Deadline %s is in the past (now %s)", h.rel(o.Deadline), h.rel(h.now))
			}
			if afterTimeout && o.Deadline != 0 && o.Deadline <= h.now {
				h.t.Fatalf("after Timeout at %s the deadline is still %s", h.rel(h.now), h.rel(o.Deadline))
			}
			h.deadline = o.Deadline
			return
		case wire.Respond:
			if _, ok := h.requests[o.Conn]; !ok {
				h.t.Fatalf("Respond to conn %d, which is not an open request", o.Conn)
			}
			delete(h.requests, o.Conn)
		case wire.AcceptWebSocket:
			if ws, ok := h.requests[o.Conn]; !ok || !ws {
				h.t.Fatalf("AcceptWebSocket for conn %d, which is not an open upgrade request", o.Conn)
			}
			delete(h.requests, o.Conn)
			h.ws[o.Conn] = true
		case wire.Send:
			if !h.ws[o.Conn] {
				h.t.Fatalf("Send to conn %d, which is not an open WebSocket", o.Conn)
			}
			if len(o.Frames) == 0 {
				h.t.Fatalf("Send to conn %d without frames", o.Conn)
			}
		case wire.Broadcast:
			for _, c := range o.Conns {
				if !h.ws[c] {
					h.t.Fatalf("Broadcast to conn %d, which is not an open WebSocket", c)
				}
			}
			if len(o.Conns) == 0 || len(o.Frames) == 0 {
				h.t.Fatalf("empty Broadcast %+v", o)
			}
		case wire.CloseConn:
			_, req := h.requests[o.Conn]
			if !req && !h.ws[o.Conn] {
				h.t.Fatalf("CloseConn for conn %d, which is neither a WebSocket nor an open request", o.Conn)
			}
			delete(h.requests, o.Conn)
			delete(h.ws, o.Conn)
		case wire.MessageReceived:
			if h.echo {
				// (a session closed later in the same input is gone:
				// Send to it is a no-op, as for any app)
				if s := h.e.Session(o.SID); s != nil {
					f := wire.Frame{Data: o.Data, Binary: o.Binary}
					if !o.Binary {
						f.Data = append([]byte{'4'}, o.Data...)
					}
					h.e.Send(s, []wire.Frame{f}, false, false)
				}
			}
		}
		h.out = append(h.out, o)
	}
}

// rel prints an instant relative to t0.
func (h *harness) rel(i clock.Instant) string {
	if i == 0 {
		return "none"
	}
	return "t0+" + i.Sub(t0).String()
}

// advance moves the clock by d, feeding Timeout at every deadline on the
// way, at exactly that instant (as a host's timer would).
func (h *harness) advance(d time.Duration) {
	h.t.Helper()
	h.advanceTo(h.now.Add(d))
}

func (h *harness) advanceTo(at clock.Instant) {
	h.t.Helper()
	if at < h.now {
		h.t.Fatalf("advanceTo(%s) goes back from %s", h.rel(at), h.rel(h.now))
	}
	for h.deadline != 0 && h.deadline <= at {
		h.now = h.deadline
		h.in(wire.Timeout{})
	}
	h.now = at
}

// ---- inputs ----------------------------------------------------------------

func (h *harness) request(method, query string, websocket bool, body string) wire.ConnID {
	h.t.Helper()
	c := h.newConn()
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	h.in(wire.HTTPRequest{Conn: c, Method: method, Query: query, WebSocket: websocket, Body: b})
	return c
}

func pollQuery(sid wire.SID) string { return "EIO=4&transport=polling&t=N8hyd6w&sid=" + string(sid) }
func wsQuery(sid wire.SID) string   { return "EIO=4&transport=websocket&sid=" + string(sid) }

func (h *harness) get(sid wire.SID) wire.ConnID {
	h.t.Helper()
	return h.request("GET", pollQuery(sid), false, "")
}

func (h *harness) post(sid wire.SID, body string) wire.ConnID {
	h.t.Helper()
	return h.request("POST", pollQuery(sid), false, body)
}

func (h *harness) recv(c wire.ConnID, text string) {
	h.t.Helper()
	h.in(wire.Recv{Conn: c, Data: []byte(text)})
}

func (h *harness) recvBinary(c wire.ConnID, data []byte) {
	h.t.Helper()
	h.in(wire.Recv{Conn: c, Data: data, Binary: true})
}

// handshake opens a polling session and returns its sid, consuming the
// handshake response and SessionOpened.
func (h *harness) handshake() wire.SID {
	h.t.Helper()
	c := h.request("GET", "EIO=4&transport=polling&t=N8hyd6w", false, "")
	r := h.wantRespondTo(c)
	if r.Status != 200 || r.ContentType != ContentTypePayload || len(r.Body) == 0 || r.Body[0] != '0' {
		h.t.Fatalf("handshake response %d %q %q", r.Status, r.ContentType, r.Body)
	}
	o := h.wantOpen(r.Body[1:], true)
	h.wantNote(wire.SessionOpened{SID: o.SID, Conn: c})
	return o.SID
}

// wsHandshake opens a WebSocket-only session.
func (h *harness) wsHandshake() (wire.SID, wire.ConnID) {
	h.t.Helper()
	c := h.request("GET", "EIO=4&transport=websocket", true, "")
	h.wantAccept(c)
	f := h.wantFrame(c)
	if f.Binary || len(f.Data) == 0 || f.Data[0] != '0' {
		h.t.Fatalf("first WebSocket frame %q", f.Data)
	}
	o := h.wantOpen(f.Data[1:], false)
	h.wantNote(wire.SessionOpened{SID: o.SID, Conn: c, WebSocket: true})
	return o.SID, c
}

// upgrade runs the whole polling→WebSocket upgrade of sid (no GET pending)
// and returns the WebSocket.
func (h *harness) upgrade(sid wire.SID) wire.ConnID {
	h.t.Helper()
	c := h.request("GET", wsQuery(sid), true, "")
	h.wantAccept(c)
	h.recv(c, "2probe")
	h.wantFrames(c, txt("3probe"))
	h.recv(c, "5")
	h.wantNote(wire.SessionUpgraded{SID: sid, Conn: c})
	return c
}

// ---- the output queue ------------------------------------------------------

func outConn(o wire.Output) (wire.ConnID, bool) {
	switch o := o.(type) {
	case wire.Respond:
		return o.Conn, true
	case wire.AcceptWebSocket:
		return o.Conn, true
	case wire.Send:
		return o.Conn, true
	case wire.CloseConn:
		return o.Conn, true
	}
	return 0, false
}

func isTransport(o wire.Output) bool {
	switch o.(type) {
	case wire.Respond, wire.AcceptWebSocket, wire.Send, wire.Broadcast, wire.CloseConn:
		return true
	}
	return false
}

func describe(o wire.Output) string {
	switch o := o.(type) {
	case wire.Respond:
		return fmt.Sprintf("Respond{conn %d, %d %q, %q}", o.Conn, o.Status, o.ContentType, o.Body)
	case wire.Send:
		return fmt.Sprintf("Send{conn %d, %s}", o.Conn, describeFrames(o.Frames))
	case wire.Broadcast:
		return fmt.Sprintf("Broadcast{conns %v, %s}", o.Conns, describeFrames(o.Frames))
	case wire.MessageReceived:
		return fmt.Sprintf("MessageReceived{%s %q binary=%v}", o.SID, o.Data, o.Binary)
	}
	return fmt.Sprintf("%T%+v", o, o)
}

func describeFrames(fs []wire.Frame) string { return wiretest.Frames(fs) }

func (h *harness) dump() string { return wiretest.Dump(h.out, describe) }

// popConn removes and returns the first queued output for conn (a
// Broadcast counts for each of its conns, and is not popped here).
func (h *harness) popConn(c wire.ConnID) wire.Output {
	h.t.Helper()
	for i, o := range h.out {
		if b, ok := o.(wire.Broadcast); ok && slices.Contains(b.Conns, c) {
			h.t.Fatalf("next output for conn %d is %s", c, describe(o))
		}
		if oc, ok := outConn(o); ok && oc == c {
			h.out = slices.Delete(h.out, i, i+1)
			return o
		}
	}
	h.t.Fatalf("no output for conn %d; queued:%s", c, h.dump())
	return nil
}

// wantRespondTo pops the response to c.
func (h *harness) wantRespondTo(c wire.ConnID) wire.Respond {
	h.t.Helper()
	o := h.popConn(c)
	r, ok := o.(wire.Respond)
	if !ok {
		h.t.Fatalf("conn %d: got %s, want a Respond", c, describe(o))
	}
	return r
}

// wantRespond pops the response to c and checks status and body.
func (h *harness) wantRespond(c wire.ConnID, status int, contentType, body string) {
	h.t.Helper()
	r := h.wantRespondTo(c)
	if r.Status != status || r.ContentType != contentType || string(r.Body) != body {
		h.t.Fatalf("conn %d: got %s, want %d %q %q", c, describe(r), status, contentType, body)
	}
}

// wantPayload checks a 200 polling GET response.
func (h *harness) wantPayload(c wire.ConnID, body string) {
	h.t.Helper()
	h.wantRespond(c, 200, ContentTypePayload, body)
}

// wantOK checks a 200 "ok" POST response.
func (h *harness) wantOK(c wire.ConnID) {
	h.t.Helper()
	h.wantRespond(c, 200, ContentTypeOK, "ok")
}

// wantStatus checks a bodiless error response (400 of a broken session, 413).
func (h *harness) wantStatus(c wire.ConnID, status int) {
	h.t.Helper()
	h.wantRespond(c, status, "", "")
}

// wantError checks the official JSON error answer with code.
func (h *harness) wantError(c wire.ConnID, code int) {
	h.t.Helper()
	status := 400
	if code == ErrForbidden {
		status = 403
	}
	body := `{"code":` + strconv.Itoa(code) + `,"message":"` + errorMessages[code] + `"}`
	h.wantRespond(c, status, ContentTypeJSON, body)
}

// wantUpgradeError checks a refused WebSocket upgrade (the official
// abortUpgrade: 400 with the bare message).
func (h *harness) wantUpgradeError(c wire.ConnID, code int) {
	h.t.Helper()
	h.wantRespond(c, 400, ContentTypeOK, errorMessages[code])
}

// wantPending checks that nothing answered c yet.
func (h *harness) wantPending(c wire.ConnID) {
	h.t.Helper()
	for _, o := range h.out {
		if oc, ok := outConn(o); ok && oc == c {
			h.t.Fatalf("conn %d should be pending, got %s", c, describe(o))
		}
	}
	if _, ok := h.requests[c]; !ok {
		h.t.Fatalf("conn %d is not an open request", c)
	}
}

func (h *harness) wantAccept(c wire.ConnID) {
	h.t.Helper()
	if o := h.popConn(c); o != (wire.AcceptWebSocket{Conn: c}) {
		h.t.Fatalf("conn %d: got %s, want AcceptWebSocket", c, describe(o))
	}
}

func (h *harness) wantCloseConn(c wire.ConnID) {
	h.t.Helper()
	if o := h.popConn(c); o != (wire.CloseConn{Conn: c}) {
		h.t.Fatalf("conn %d: got %s, want CloseConn", c, describe(o))
	}
}

func txt(s string) wire.Frame        { return wire.Frame{Data: []byte(s)} }
func bin(b ...byte) wire.Frame       { return wire.Frame{Data: b, Binary: true} }
func sameFrame(a, b wire.Frame) bool { return a.Binary == b.Binary && bytes.Equal(a.Data, b.Data) }

// wantFrame pops the next frame written to the WebSocket c.
func (h *harness) wantFrame(c wire.ConnID) wire.Frame {
	h.t.Helper()
	for i, o := range h.out {
		switch o := o.(type) {
		case wire.Send:
			if o.Conn != c {
				continue
			}
			f := o.Frames[0]
			if len(o.Frames) == 1 {
				h.out = slices.Delete(h.out, i, i+1)
			} else {
				o.Frames = o.Frames[1:]
				h.out[i] = o
			}
			return f
		case wire.Broadcast:
			if slices.Contains(o.Conns, c) {
				h.t.Fatalf("next output for conn %d is %s", c, describe(o))
			}
		default:
			if oc, ok := outConn(o); ok && oc == c {
				h.t.Fatalf("conn %d: got %s, want a frame", c, describe(o))
			}
		}
	}
	h.t.Fatalf("no frame for conn %d; queued:%s", c, h.dump())
	return wire.Frame{}
}

// wantFrames pops frames written to c, however they were split into Sends.
func (h *harness) wantFrames(c wire.ConnID, want ...wire.Frame) {
	h.t.Helper()
	for _, w := range want {
		if f := h.wantFrame(c); !sameFrame(f, w) {
			h.t.Fatalf("conn %d: got frame %s, want %s", c, describeFrames([]wire.Frame{f}), describeFrames([]wire.Frame{w}))
		}
	}
}

// wantBroadcast pops the next Broadcast and checks its conns and frames.
func (h *harness) wantBroadcast(conns []wire.ConnID, frames ...wire.Frame) {
	h.t.Helper()
	for i, o := range h.out {
		b, ok := o.(wire.Broadcast)
		if !ok {
			continue
		}
		if !slices.Equal(b.Conns, conns) || len(b.Frames) != len(frames) {
			h.t.Fatalf("got %s, want conns %v and %s", describe(b), conns, describeFrames(frames))
		}
		for j := range frames {
			if !sameFrame(b.Frames[j], frames[j]) {
				h.t.Fatalf("got %s, want conns %v and %s", describe(b), conns, describeFrames(frames))
			}
		}
		h.out = slices.Delete(h.out, i, i+1)
		return
	}
	h.t.Fatalf("no Broadcast; queued:%s", h.dump())
}

// popNote pops the first queued notification (non-transport output).
func (h *harness) popNote() wire.Output {
	h.t.Helper()
	for i, o := range h.out {
		if !isTransport(o) {
			h.out = slices.Delete(h.out, i, i+1)
			return o
		}
	}
	h.t.Fatalf("no notification queued; queued:%s", h.dump())
	return nil
}

// wantNote pops the first notification and compares it with want.
func (h *harness) wantNote(want wire.Output) {
	h.t.Helper()
	got := h.popNote()
	if describe(got) != describe(want) {
		h.t.Fatalf("got %s, want %s", describe(got), describe(want))
	}
}

func (h *harness) wantClosed(sid wire.SID, reason string) {
	h.t.Helper()
	h.wantNote(wire.SessionClosed{SID: sid, Reason: reason})
}

func (h *harness) wantMessage(sid wire.SID, data string, binary bool) {
	h.t.Helper()
	h.wantNote(wire.MessageReceived{SID: sid, Data: []byte(data), Binary: binary})
}

// wantIdle checks that every output has been consumed.
func (h *harness) wantIdle() {
	h.t.Helper()
	if len(h.out) > 0 {
		h.t.Fatalf("unexpected outputs:%s", h.dump())
	}
}

// wantDeadline checks the last Wait.
func (h *harness) wantDeadline(want clock.Instant) {
	h.t.Helper()
	if h.deadline != want {
		h.t.Fatalf("deadline %s, want %s", h.rel(h.deadline), h.rel(want))
	}
}

// wantGone checks that sid is unknown: a GET gets 400 "Session ID unknown".
func (h *harness) wantGone(sid wire.SID) {
	h.t.Helper()
	if h.e.Session(sid) != nil {
		h.t.Fatalf("session %s still exists", sid)
	}
	c := h.get(sid)
	h.wantError(c, ErrUnknownSID)
}

// openInfo is the handshake JSON.
type openInfo struct {
	SID          wire.SID `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int      `json:"pingInterval"`
	PingTimeout  int      `json:"pingTimeout"`
	MaxPayload   int      `json:"maxPayload"`
}

// wantOpen checks that data is the handshake JSON with exactly the keys
// sid, upgrades, pingInterval, pingTimeout and maxPayload (CONFORMANCE A.1),
// and the values of the configuration.
func (h *harness) wantOpen(data []byte, polling bool) openInfo {
	h.t.Helper()
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		h.t.Fatalf("handshake %q: %v", data, err)
	}
	got := slices.Sorted(func(yield func(string) bool) {
		for k := range keys {
			if !yield(k) {
				return
			}
		}
	})
	if want := []string{"maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"}; !slices.Equal(got, want) {
		h.t.Fatalf("handshake keys %v, want exactly %v", got, want)
	}
	var o openInfo
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		h.t.Fatalf("handshake %q: %v", data, err)
	}
	cfg := h.e.Config()
	wantUp := []string{}
	if polling && !cfg.DisableUpgrades && cfg.Transports&WebSocket != 0 {
		wantUp = []string{"websocket"}
	}
	if len(o.SID) != 20 || !slices.Equal(o.Upgrades, wantUp) || o.Upgrades == nil ||
		o.PingInterval != int(cfg.PingInterval.Milliseconds()) || o.PingTimeout != int(cfg.PingTimeout.Milliseconds()) ||
		o.MaxPayload != cfg.MaxPayload {
		h.t.Fatalf("handshake %s, want 20-char sid, upgrades %q, %v/%v, maxPayload %d", data, wantUp, cfg.PingInterval, cfg.PingTimeout, cfg.MaxPayload)
	}
	for _, c := range []byte(o.SID) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			h.t.Fatalf("sid %q is not URL-safe base64", o.SID)
		}
	}
	return o
}
