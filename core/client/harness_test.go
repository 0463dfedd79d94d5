package client

// The harness drives a Manager as a host does, in virtual time: one input or
// command at an instant, then a drain of Poll until Wait. It checks the host
// contract on every drain (outputs name connections the host has open,
// deadlines lie in the future, ConnIDs are fresh) and queues the outputs for
// the want* helpers, which take transport outputs per connection and
// notifications in order. The test plays the server by hand (scripted
// responses); pair_test.go couples the machine to the real server machine.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// t0 is where the virtual clock starts (any non-zero instant).
const t0 = clock.Instant(1_000_000_000_000)

func testConfig() Config {
	return Config{Host: "example.com:3000", Seed: [32]byte{'c', 'l', 'i'}, NoTimestamp: true}
}

type harness struct {
	t        testing.TB
	m        *Manager
	now      clock.Instant
	deadline clock.Instant
	out      []wire.Output

	fetches map[wire.ConnID]wire.Fetch
	dials   map[wire.ConnID]wire.Dial
	ws      map[wire.ConnID]bool
	seen    map[wire.ConnID]bool
}

func newHarness(t testing.TB, cfg Config) *harness {
	t.Helper()
	m, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &harness{
		t: t, m: m, now: t0,
		fetches: map[wire.ConnID]wire.Fetch{},
		dials:   map[wire.ConnID]wire.Dial{},
		ws:      map[wire.ConnID]bool{},
		seen:    map[wire.ConnID]bool{},
	}
}

func (h *harness) fatalf(format string, args ...any) {
	h.t.Helper()
	h.t.Fatalf("at +%v: %s\nqueued outputs:\n%s", h.now.Sub(t0), fmt.Sprintf(format, args...), h.dump())
}

// do runs a command at the current instant, then drains.
func (h *harness) do(f func(now clock.Instant) error) {
	h.t.Helper()
	if err := f(h.now); err != nil {
		h.fatalf("command: %v", err)
	}
	h.drain()
}

func (h *harness) in(in wire.Input) {
	h.t.Helper()
	if err := h.m.Handle(h.now, in); err != nil {
		h.fatalf("Handle(%T): %v", in, err)
	}
	h.drain()
}

func (h *harness) drain() {
	h.t.Helper()
	for i := 0; ; i++ {
		if i > 100000 {
			h.fatalf("Poll never returned Wait")
		}
		o := h.m.Poll()
		if w, ok := o.(wire.Wait); ok {
			if w.Deadline != 0 && w.Deadline <= h.now {
				h.fatalf("deadline %v is not in the future", w.Deadline.Sub(t0))
			}
			h.deadline = w.Deadline
			return
		}
		h.check(o)
		h.out = append(h.out, o)
	}
}

func (h *harness) check(o wire.Output) {
	h.t.Helper()
	fresh := func(c wire.ConnID) {
		if h.seen[c] {
			h.fatalf("ConnID %d reused", c)
		}
		h.seen[c] = true
	}
	switch o := o.(type) {
	case wire.Fetch:
		fresh(o.Conn)
		h.fetches[o.Conn] = o
	case wire.Dial:
		fresh(o.Conn)
		h.dials[o.Conn] = o
	case wire.Send:
		if !h.ws[o.Conn] {
			h.fatalf("Send to %d, which is not an open WebSocket", o.Conn)
		}
	case wire.CloseConn:
		switch {
		case h.ws[o.Conn]:
			delete(h.ws, o.Conn)
		case h.dials[o.Conn] != (wire.Dial{}):
			delete(h.dials, o.Conn)
		default:
			if _, ok := h.fetches[o.Conn]; !ok {
				h.fatalf("CloseConn of %d, which is not open", o.Conn)
			}
			delete(h.fetches, o.Conn)
		}
	}
}

// advance moves the clock by d, feeding Timeout at every deadline on the way.
func (h *harness) advance(d time.Duration) { h.t.Helper(); h.advanceTo(h.now.Add(d)) }

func (h *harness) advanceTo(at clock.Instant) {
	h.t.Helper()
	for h.deadline != 0 && h.deadline <= at {
		h.now = h.deadline
		h.in(wire.Timeout{})
	}
	h.now = at
}

// ---- the host side of connections ---------------------------------------

func (h *harness) respond(f wire.Fetch, status int, body string) {
	h.t.Helper()
	if _, ok := h.fetches[f.Conn]; !ok {
		h.fatalf("respond to %d, which is not pending", f.Conn)
	}
	delete(h.fetches, f.Conn)
	h.in(wire.HTTPResponse{Conn: f.Conn, Status: status, Body: []byte(body)})
}

func (h *harness) failFetch(f wire.Fetch) {
	h.t.Helper()
	delete(h.fetches, f.Conn)
	h.in(wire.Closed{Conn: f.Conn, Error: true})
}

func (h *harness) accept(d wire.Dial) {
	h.t.Helper()
	if _, ok := h.dials[d.Conn]; !ok {
		h.fatalf("accept %d, which is not dialing", d.Conn)
	}
	delete(h.dials, d.Conn)
	h.ws[d.Conn] = true
	h.in(wire.Dialed{Conn: d.Conn})
}

func (h *harness) refuse(d wire.Dial) {
	h.t.Helper()
	delete(h.dials, d.Conn)
	h.in(wire.Closed{Conn: d.Conn, Error: true})
}

// recv delivers text frames (a leading "\x00" marks a binary frame).
func (h *harness) recv(c wire.ConnID, frames ...string) {
	h.t.Helper()
	for _, f := range frames {
		if strings.HasPrefix(f, "\x00") {
			h.in(wire.Recv{Conn: c, Data: []byte(f[1:]), Binary: true})
		} else {
			h.in(wire.Recv{Conn: c, Data: []byte(f)})
		}
	}
}

func (h *harness) closeWS(c wire.ConnID, isErr bool) {
	h.t.Helper()
	delete(h.ws, c)
	h.in(wire.Closed{Conn: c, Error: isErr})
}

// ---- want helpers ----------------------------------------------------------

func (h *harness) pop(what string, pred func(wire.Output) bool) wire.Output {
	h.t.Helper()
	for i, o := range h.out {
		if pred(o) {
			h.out = append(h.out[:i:i], h.out[i+1:]...)
			return o
		}
	}
	h.fatalf("no %s", what)
	return nil
}

func isNote(o wire.Output) bool {
	switch o.(type) {
	case wire.Fetch, wire.Dial, wire.Send, wire.CloseConn:
		return false
	}
	return true
}

// wantFetch pops the first Fetch with method.
func (h *harness) wantFetch(method string) wire.Fetch {
	h.t.Helper()
	return h.pop(method+" Fetch", func(o wire.Output) bool {
		f, ok := o.(wire.Fetch)
		return ok && f.Method == method
	}).(wire.Fetch)
}

func (h *harness) wantDial() wire.Dial {
	h.t.Helper()
	return h.pop("Dial", func(o wire.Output) bool { _, ok := o.(wire.Dial); return ok }).(wire.Dial)
}

// wantFrames pops the Send outputs for c in order and checks their frames
// (binary frames written with a leading "\x00").
func (h *harness) wantFrames(c wire.ConnID, want ...string) {
	h.t.Helper()
	var got []string
	for len(got) < len(want) {
		o := h.pop(fmt.Sprintf("Send to %d (have %q, want %q)", c, got, want), func(o wire.Output) bool {
			s, ok := o.(wire.Send)
			return ok && s.Conn == c
		}).(wire.Send)
		for _, f := range o.Frames {
			got = append(got, frameString(f))
		}
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		h.fatalf("frames to %d: got %q, want %q", c, got, want)
	}
}

func frameString(f wire.Frame) string {
	if f.Binary {
		return "\x00" + string(f.Data)
	}
	return string(f.Data)
}

func (h *harness) wantCloseConn(c wire.ConnID) {
	h.t.Helper()
	h.pop(fmt.Sprintf("CloseConn %d", c), func(o wire.Output) bool { cc, ok := o.(wire.CloseConn); return ok && cc.Conn == c })
}

// wantNote pops the first notification and checks it equals want.
func (h *harness) wantNote(want wire.Output) {
	h.t.Helper()
	got := h.pop(fmt.Sprintf("notification %#v", want), isNote)
	if describe(got) != describe(want) {
		h.fatalf("notification: got %s, want %s", describe(got), describe(want))
	}
}

// note pops the first notification, which must be a T.
func note[T wire.Output](h *harness) T {
	h.t.Helper()
	got := h.pop("notification", isNote)
	v, ok := got.(T)
	if !ok {
		var zero T
		h.fatalf("notification: got %s, want a %T", describe(got), zero)
	}
	return v
}

// wantNoNote checks that no notification is queued.
func (h *harness) wantNoNote() {
	h.t.Helper()
	for _, o := range h.out {
		if isNote(o) {
			h.fatalf("unexpected notification %s", describe(o))
		}
	}
}

// wantQuiet checks that nothing at all is queued.
func (h *harness) wantQuiet() {
	h.t.Helper()
	if len(h.out) > 0 {
		h.fatalf("unexpected outputs")
	}
}

func describe(o wire.Output) string {
	switch o := o.(type) {
	case wire.Send:
		var fs []string
		for _, f := range o.Frames {
			fs = append(fs, frameString(f))
		}
		return fmt.Sprintf("Send{%d %q}", o.Conn, fs)
	case wire.Fetch:
		return fmt.Sprintf("Fetch{%d %s %s %q}", o.Conn, o.Method, o.URL, o.Body)
	case wire.EventReceived:
		return fmt.Sprintf("EventReceived{%s %s %s atts=%q ack=%v}", o.Socket, o.Name, o.Data, o.Attachments, o.Ack != 0)
	case wire.AckResolved:
		return fmt.Sprintf("AckResolved{ref=%d %s %s atts=%q err=%d}", o.Ref, o.Socket, o.Args, o.Attachments, o.Err)
	case wire.ConnectError:
		return fmt.Sprintf("ConnectError{%s %q %s server=%v}", o.Nsp, o.Message, o.Data, o.Server)
	}
	return fmt.Sprintf("%T%+v", o, o)
}

func (h *harness) dump() string {
	var b strings.Builder
	for _, o := range h.out {
		b.WriteString("  " + describe(o) + "\n")
	}
	return b.String()
}

// ---- common scripts --------------------------------------------------------

const openJSON = `{"sid":"SID1","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}`

// openPolling connects "/" (with auth, may be nil) over polling and
// answers the handshake with hs; it returns the next poll.
func (h *harness) openPolling(hs string) wire.Fetch {
	h.t.Helper()
	get := h.wantFetch("GET")
	h.respond(get, 200, "0"+hs)
	h.wantNote(wire.EngineOpened{SID: sidOf(hs), Transport: "polling"})
	return h.wantFetch("GET")
}

func sidOf(hs string) wire.SID {
	h, _ := parseHandshake([]byte(hs))
	return wire.SID(h.sid)
}

// connectRoot adds "/" and connects it, returning the handshake poll.
func (h *harness) connectRoot(opts SocketOptions) {
	h.t.Helper()
	h.do(func(now clock.Instant) error { return h.m.AddSocket("/", opts) })
	h.do(func(now clock.Instant) error { return h.m.Connect(now, "/") })
}

// wsSession connects "/" over WebSocket only and completes CONNECT; it
// returns the WebSocket.
func (h *harness) wsSession(opts SocketOptions) wire.ConnID {
	h.t.Helper()
	h.connectRoot(opts)
	d := h.wantDial()
	h.accept(d)
	h.recv(d.Conn, `0{"sid":"SID1","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}`)
	h.wantNote(wire.EngineOpened{SID: "SID1", Transport: "websocket"})
	auth := ""
	if opts.Auth != nil {
		auth = string(opts.Auth)
	}
	h.wantFrames(d.Conn, "40"+auth)
	h.recv(d.Conn, `40{"sid":"S1"}`)
	h.wantNote(wire.Connected{Socket: "S1", SID: "SID1", Nsp: "/"})
	return d.Conn
}

func wsConfig() Config {
	c := testConfig()
	c.Transports = []string{WebSocket}
	return c
}
