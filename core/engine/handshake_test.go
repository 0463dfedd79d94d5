package engine

import (
	"testing"

	"github.com/socketcore/socketcore/core/wire"
)

// CONFORMANCE A.1: the polling handshake.
func TestHandshakePolling(t *testing.T) {
	h := newEchoHarness(t)
	c := h.request("GET", "EIO=4&transport=polling&t=N8hyd6w", false, "")
	r := h.wantRespondTo(c)
	if r.Status != 200 || r.ContentType != "text/plain; charset=UTF-8" {
		t.Fatalf("handshake: %s", describe(r))
	}
	o := h.wantOpen(r.Body[1:], true)
	want := `0{"sid":"` + string(o.SID) + `","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}`
	if string(r.Body) != want {
		t.Fatalf("handshake body %s, want %s", r.Body, want)
	}
	h.wantNote(wire.SessionOpened{SID: o.SID, Conn: c})
	h.wantIdle()
	if s := h.e.Session(o.SID); s == nil || s.Transport() != "polling" || !s.Open() || s.WebSocket() != 0 {
		t.Fatalf("session after handshake: %+v", s)
	}
	h.wantDeadline(t0.Add(300 * 1e6))
}

// CONFORMANCE A.1: the WebSocket-only handshake: the first frame, upgrades [].
func TestHandshakeWebSocket(t *testing.T) {
	h := newEchoHarness(t)
	c := h.request("GET", "EIO=4&transport=websocket", true, "")
	h.wantAccept(c)
	f := h.wantFrame(c)
	o := h.wantOpen(f.Data[1:], false)
	want := `0{"sid":"` + string(o.SID) + `","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}`
	if string(f.Data) != want || f.Binary {
		t.Fatalf("first frame %q, want %s", f.Data, want)
	}
	h.wantNote(wire.SessionOpened{SID: o.SID, Conn: c, WebSocket: true})
	h.wantIdle()
	if s := h.e.Session(o.SID); s.Transport() != "websocket" || s.WebSocket() != c {
		t.Fatalf("session transport %q conn %d", s.Transport(), s.WebSocket())
	}
}

func TestHandshakeUpgradesOffered(t *testing.T) {
	tests := []struct {
		name string
		cfg  func(*Config)
	}{
		{"upgrades disabled", func(c *Config) { c.DisableUpgrades = true }},
		{"polling only", func(c *Config) { c.Transports = Polling }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := suiteConfig()
			tt.cfg(&cfg)
			h := newHarness(t, cfg, nil)
			sid := h.handshake() // wantOpen checks upgrades == []
			// and a WebSocket carrying the sid is not taken as a probe
			c := h.request("GET", wsQuery(sid), true, "")
			if h.e.Config().Transports&WebSocket == 0 {
				h.wantUpgradeError(c, ErrUnknownTransport)
			} else {
				h.wantAccept(c)
				h.wantCloseConn(c)
			}
			h.wantIdle()
		})
	}
}

func TestHandshakeDefaults(t *testing.T) {
	h := newHarness(t, Config{}, nil)
	cfg := h.e.Config()
	if cfg.PingInterval.Milliseconds() != 25000 || cfg.PingTimeout.Milliseconds() != 20000 || cfg.MaxPayload != 1_000_000 ||
		cfg.Transports != Polling|WebSocket || cfg.UpgradeTimeout.Seconds() != 10 || cfg.CloseTimeout.Seconds() != 30 ||
		cfg.MaxBufferedBytes <= 0 {
		t.Fatalf("defaults: %+v", cfg)
	}
	h.handshake()
}

// The sid generator is the seeded PRNG: the same seed replays the same sids,
// and every sid is distinct.
func TestHandshakeSIDs(t *testing.T) {
	run := func(seed byte) []wire.SID {
		cfg := suiteConfig()
		cfg.Seed[0] = seed
		h := newHarness(t, cfg, nil)
		var sids []wire.SID
		for range 50 {
			sids = append(sids, h.handshake())
		}
		return sids
	}
	a, b, c := run(1), run(1), run(2)
	seen := map[wire.SID]bool{}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, sid %d: %s != %s", i, a[i], b[i])
		}
		if a[i] == c[i] {
			t.Fatalf("different seeds gave the same sid %s", a[i])
		}
		if seen[a[i]] {
			t.Fatalf("sid %s repeated", a[i])
		}
		seen[a[i]] = true
	}
}

// CONFORMANCE A.2 and D, PROTOCOL-NOTES §8: the official error answers.
func TestHTTPErrors(t *testing.T) {
	tests := []struct {
		name      string
		method    string
		query     string
		websocket bool
		code      int
	}{
		{"transport missing", "GET", "EIO=4", false, ErrUnknownTransport},
		{"transport abc", "GET", "EIO=4&transport=abc", false, ErrUnknownTransport},
		{"transport empty", "GET", "EIO=4&transport=", false, ErrUnknownTransport},
		{"transport case", "GET", "EIO=4&transport=Polling", false, ErrUnknownTransport},
		{"EIO missing", "GET", "transport=polling", false, ErrUnsupportedProtocol},
		{"EIO abc", "GET", "EIO=abc&transport=polling", false, ErrUnsupportedProtocol},
		{"EIO 5", "GET", "EIO=5&transport=polling", false, ErrUnsupportedProtocol},
		{"EIO 3 (allowEIO3 off)", "GET", "EIO=3&transport=polling", false, ErrUnsupportedProtocol},
		{"POST handshake", "POST", "EIO=4&transport=polling", false, ErrBadHandshakeMethod},
		{"PUT handshake", "PUT", "EIO=4&transport=polling", false, ErrBadHandshakeMethod},
		{"POST handshake bad EIO", "POST", "EIO=5&transport=polling", false, ErrBadHandshakeMethod},
		{"unknown sid GET", "GET", "EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA", false, ErrUnknownSID},
		{"unknown sid POST", "POST", "EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA", false, ErrUnknownSID},
		{"unknown sid before transport check order", "GET", "transport=polling&sid=nope", false, ErrUnknownSID},
		{"websocket over plain GET", "GET", "EIO=4&transport=websocket", false, ErrBadRequest},
		{"transport before method", "POST", "EIO=4&transport=abc", false, ErrUnknownTransport},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newEchoHarness(t)
			c := h.request(tt.method, tt.query, tt.websocket, "")
			h.wantError(c, tt.code)
			h.wantIdle()
			if h.e.Len() != 0 || h.deadline != 0 {
				t.Fatalf("a refused request left %d sessions, deadline %s", h.e.Len(), h.rel(h.deadline))
			}
		})
	}
}

// A refused WebSocket upgrade gets the official abortUpgrade answer.
func TestUpgradeRequestErrors(t *testing.T) {
	tests := []struct {
		name  string
		query string
		code  int
	}{
		{"transport missing", "EIO=4", ErrUnknownTransport},
		{"transport abc", "EIO=4&transport=abc", ErrUnknownTransport},
		{"EIO missing", "transport=websocket", ErrUnsupportedProtocol},
		{"EIO abc", "EIO=abc&transport=websocket", ErrUnsupportedProtocol},
		{"EIO 5", "EIO=5&transport=websocket", ErrUnsupportedProtocol},
		{"unknown sid", "EIO=4&transport=websocket&sid=AAAAAAAAAAAAAAAAAAAA", ErrUnknownSID},
		{"upgrade asking for polling", "EIO=4&transport=polling", ErrBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newEchoHarness(t)
			c := h.request("GET", tt.query, true, "")
			h.wantUpgradeError(c, tt.code)
			h.wantIdle()
			if h.e.Len() != 0 {
				t.Fatal("a refused upgrade left a session")
			}
		})
	}
}

func TestTransportNotAllowed(t *testing.T) {
	cfg := suiteConfig()
	cfg.Transports = WebSocket
	h := newHarness(t, cfg, nil)
	c := h.request("GET", "EIO=4&transport=polling", false, "")
	h.wantError(c, ErrUnknownTransport)
	h.wsHandshake()
	h.wantIdle()
}

func TestQueryParsing(t *testing.T) {
	tests := []struct {
		query string
		want  query
	}{
		{"", query{}},
		{"EIO=4&transport=polling&t=N8hyd6w", query{eio: "4", transport: "polling"}},
		{"transport=pollin%67&EIO=%34", query{eio: "4", transport: "polling"}},
		{"sid=a%2Bb+c&EIO=4", query{eio: "4", sid: "a+b c", hasSID: true}},
		{"sid=", query{hasSID: true}},
		{"sid", query{hasSID: true}},
		{"EIO=4&EIO=3", query{eio: "3"}},
		{"transport=%zz%4", query{transport: "%zz%4"}},
		{"&&=&EIO", query{}},
	}
	for _, tt := range tests {
		if got := parseQuery(tt.query); got != tt.want {
			t.Errorf("parseQuery(%q) = %+v, want %+v", tt.query, got, tt.want)
		}
	}
}

// An empty sid is no sid: the request is a handshake (server.ts `if (sid)`).
func TestEmptySIDIsHandshake(t *testing.T) {
	h := newEchoHarness(t)
	c := h.request("GET", "EIO=4&transport=polling&sid=", false, "")
	r := h.wantRespondTo(c)
	h.wantOpen(r.Body[1:], true)
}
