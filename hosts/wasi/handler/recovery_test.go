package handler

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core/wire"
)

// deployment is a Handler served as a warm instance or one instance per
// request (serve).
type deployment struct {
	t          *testing.T
	h          *Handler
	perRequest bool
	now        int64
}

// pollClient is an Engine.IO polling session on a deployment.
type pollClient struct {
	d   *deployment
	sid string
}

func (d *deployment) do(req Request) Response {
	d.t.Helper()
	var r Response
	d.h, r = serve(d.t, d.h, d.perRequest, d.now, req)
	return r
}

func (d *deployment) open() *pollClient {
	d.t.Helper()
	r := d.do(Request{Method: "GET", Path: "/socket.io/", Query: "EIO=4&transport=polling"})
	var open struct{ Sid string }
	if r.Status != 200 || len(r.Body) < 2 || json.Unmarshal(r.Body[1:], &open) != nil || open.Sid == "" {
		d.t.Fatalf("handshake: %d %q", r.Status, r.Body)
	}
	return &pollClient{d: d, sid: open.Sid}
}

func (c *pollClient) q() string { return "EIO=4&transport=polling&sid=" + c.sid }

func (c *pollClient) post(packets ...string) {
	c.d.t.Helper()
	r := c.d.do(Request{Method: "POST", Path: "/socket.io/", Query: c.q(), Body: []byte(strings.Join(packets, "\x1e")),
		Header: map[string]string{"Content-Type": "text/plain;charset=UTF-8"}})
	if r.Status != 200 || string(r.Body) != "ok" {
		c.d.t.Fatalf("POST %q: %d %q", packets, r.Status, r.Body)
	}
}

// get returns the packets the session has (it must have some: a held GET
// fails the test).
func (c *pollClient) get() []string {
	c.d.t.Helper()
	r := c.d.do(Request{Method: "GET", Path: "/socket.io/", Query: c.q()})
	if r.Status != 200 || r.Header["Grip-Hold"] != "" {
		c.d.t.Fatalf("GET: %d %v %q", r.Status, r.Header, r.Body)
	}
	return strings.Split(string(r.Body), "\x1e")
}

// event decodes a "42..." packet's arguments.
func event(t *testing.T, p string) []json.RawMessage {
	t.Helper()
	var v []json.RawMessage
	if !strings.HasPrefix(p, "42") || json.Unmarshal([]byte(p[2:]), &v) != nil {
		t.Fatalf("not an event packet: %q", p)
	}
	return v
}

// TestRecovery: a socket whose session closes for a recoverable reason
// comes back within the window with its id, data and rooms and the events
// it missed; past the window it gets a fresh socket. Warm (the core's
// memory) and per request (the handler's store).
func TestRecovery(t *testing.T) {
	const window = 2 * time.Second
	for _, perRequest := range []bool{false, true} {
		d := &deployment{t: t, h: New(Options{RecoveryWindow: window}), perRequest: perRequest, now: time.Now().UnixNano()}
		a := d.open()
		a.post("40")
		got := a.get()
		var conn struct{ Sid, Pid string }
		if len(got) != 2 || !strings.HasPrefix(got[0], "40") || json.Unmarshal([]byte(got[0][2:]), &conn) != nil || conn.Pid == "" {
			t.Fatalf("connect: %q", got)
		}
		w := event(t, got[1]) // ["welcome", {...}, offset]
		var offset string
		if len(w) != 3 || json.Unmarshal(w[2], &offset) != nil || offset == "" {
			t.Fatalf("welcome without an offset: %q", got[1])
		}
		a.post(`421["data-set",{"user":"ann"}]`, `422["join","r"]`)
		if got := a.get(); strings.Join(got, " ") != `431["ok"] 432["ok"]` {
			t.Fatalf("acks: %q", got)
		}
		b := d.open()
		b.post("40")
		b.get()
		// a's transport closes (the client's "forced close"): recoverable
		a.post("1")
		b.post(`421["broadcast",{"room":"r","event":"news","args":["missed"]}]`,
			`422["broadcast",{"room":"elsewhere","event":"news","args":["not for a"]}]`)
		b.get()
		d.now += int64(window / 2)
		a2 := d.open()
		a2.post(`40{"pid":"` + conn.Pid + `","offset":"` + offset + `"}`)
		got = a2.get()
		if len(got) < 2 {
			t.Fatalf("per-request %v: recovery: %q", perRequest, got)
		}
		news := event(t, got[0])
		if len(news) != 3 || string(news[0]) != `"news"` || string(news[1]) != `"missed"` {
			t.Fatalf("per-request %v: the missed event first: %q", perRequest, got)
		}
		var conn2 struct{ Sid, Pid string }
		if !strings.HasPrefix(got[1], "40") || json.Unmarshal([]byte(got[1][2:]), &conn2) != nil || conn2.Sid != conn.Sid {
			t.Fatalf("per-request %v: same socket id %s: %q", perRequest, conn.Sid, got)
		}
		a2.post(`423["recovered?"]`, `424["data-get"]`, `425["broadcast",{"room":"r","event":"news","args":["after"]}]`)
		got = strings.Split(strings.Join(a2.get(), "\x1e"), "\x1e")
		joined := strings.Join(got, " ")
		for _, want := range []string{`433[true]`, `434[{"user":"ann"}]`, `"after"`} {
			if !strings.Contains(joined, want) {
				t.Fatalf("per-request %v: after recovery, want %s in %q", perRequest, want, got)
			}
		}
		if strings.Contains(joined, "not for a") {
			t.Fatalf("per-request %v: got another room's event: %q", perRequest, got)
		}

		// past the window: a fresh socket
		var last string
		for _, p := range got {
			if strings.HasPrefix(p, "42") {
				json.Unmarshal(event(t, p)[2], &last)
			}
		}
		a2.post("1")
		d.now += int64(window) + int64(time.Second)
		d.do(Request{Tick: true}) // the deadlines that passed fire
		a3 := d.open()
		a3.post(`40{"pid":"` + conn.Pid + `","offset":"` + last + `"}`)
		got = a3.get()
		var conn3 struct{ Sid string }
		if !strings.HasPrefix(got[0], "40") || json.Unmarshal([]byte(got[0][2:]), &conn3) != nil || conn3.Sid == conn.Sid {
			t.Fatalf("per-request %v: past the window, want a new socket: %q", perRequest, got)
		}
		if perRequest {
			st := d.h.Rec
			for _, log := range st.Logs {
				for _, p := range log {
					if p.At+int64(window) <= d.now-int64(time.Second) {
						t.Fatalf("a packet past the window is kept: %+v", p)
					}
				}
			}
		}
	}
}

// connectPoll opens a polling session and connects to "/": the client,
// its pid and the offset of the welcome event.
func connectPoll(t *testing.T, d *deployment) (*pollClient, string, string) {
	t.Helper()
	a := d.open()
	a.post("40")
	got := a.get()
	var conn struct{ Sid, Pid string }
	if len(got) != 2 || json.Unmarshal([]byte(got[0][2:]), &conn) != nil || conn.Pid == "" {
		t.Fatalf("connect: %q", got)
	}
	var off string
	if err := json.Unmarshal(event(t, got[1])[2], &off); err != nil || off == "" {
		t.Fatalf("welcome without an offset: %q", got[1])
	}
	return a, conn.Pid, off
}

// A client whose connection died unnoticed (its session not yet closed:
// the ping timeout has not come) comes back with {pid, offset}: the store
// has its live session and the log the packet it missed. Per request, the
// instance that restores the old session must not take the session over
// (core: Restore writes no session), or the lookup would look for the
// packets in a fresh instance's empty memory. (Warm, the core's memory
// keeps sessions that left, as Node does: such a client gets a fresh
// socket there, as with Node.)
func TestRecoveryWhileOldSessionOpen(t *testing.T) {
	for _, perRequest := range []bool{true} {
		d := &deployment{t: t, h: New(Options{RecoveryWindow: 10 * time.Second}), perRequest: perRequest, now: time.Now().UnixNano()}
		a, pid, off := connectPoll(t, d)
		a.post(`422["join","r"]`)
		a.get()
		b, _, _ := connectPoll(t, d)
		b.post(`421["broadcast",{"room":"r","event":"news","args":["m1"]}]`)
		b.get()
		for _, p := range a.get() {
			if strings.Contains(p, "m1") {
				if err := json.Unmarshal(event(t, p)[2], &off); err != nil {
					t.Fatal(err)
				}
			}
		}
		b.post(`422["broadcast",{"room":"r","event":"news","args":["m2"]}]`)
		b.get()
		a2 := d.open()
		a2.post(`40{"pid":"` + pid + `","offset":"` + off + `"}`)
		got := a2.get()
		if len(got) < 2 || !strings.Contains(got[0], `"m2"`) || strings.Contains(strings.Join(got, ""), `"m1"`) {
			t.Fatalf("per request %v: want m2 (only) replayed, then the CONNECT answer; got %q", perRequest, got)
		}
	}
}

// The state holds the kept packets as the client's JSON: its size is what
// the byte bound counts (no HTML escaping), and saved sessions are bounded.
func TestRecStoreBounds(t *testing.T) {
	opts := Options{RecoveryWindow: time.Minute, RecoveryMaxPackets: 10_000, RecoveryMaxBytes: 1 << 20}
	h := New(opts)
	h.Rec = &RecStore{}
	h.Rec.init()
	payload := `["news","` + strings.Repeat("<&>", 3000) + `"]`
	for i := range 200 {
		h.Rec.record(1, wire.RecoveryRecord{Nsp: "/", Packet: wire.RecoveryPacket{Offset: "abcdef" + strconv.Itoa(i), Data: []byte(payload)}}, opts)
	}
	state, err := h.Save()
	if err != nil {
		t.Fatal(err)
	}
	if len(state) > 2*opts.RecoveryMaxBytes {
		t.Fatalf("state %d bytes for a bound of %d (counted %d)", len(state), opts.RecoveryMaxBytes, h.Rec.bytes)
	}
	for i := range maxSaved + 50 {
		h.Rec.save(int64(i), wire.RecoverySession{State: wire.RecoverySaved, PID: "p" + strconv.Itoa(i), Socket: "s", Nsp: "/", Node: "n"})
	}
	if len(h.Rec.Sessions) != maxSaved || h.Rec.Sessions["p49"] != nil || h.Rec.Sessions["p50"] == nil {
		t.Fatalf("%d saved sessions kept, p49 %v p50 %v: want the newest %d", len(h.Rec.Sessions), h.Rec.Sessions["p49"] != nil, h.Rec.Sessions["p50"] != nil, maxSaved)
	}
}

// A damaged state (a null session) is not a panic on every request.
func TestRecStoreNullSession(t *testing.T) {
	st := &RecStore{}
	if err := json.Unmarshal([]byte(`{"sessions":{"p":null,"q":{"state":3,"socket":"s","nsp":"/","node":"n","at":1}}}`), st); err != nil {
		t.Fatal(err)
	}
	st.init()
	st.expire(int64(time.Hour), Options{RecoveryWindow: time.Minute})
	if len(st.Sessions) != 0 {
		t.Fatalf("sessions %v", st.Sessions)
	}
}
