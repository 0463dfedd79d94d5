package client

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// Connection state recovery, client side (socket.ts _pid/_lastOffset): the
// pid of the CONNECT reply and the offset of the last event (its string
// last argument, not for events with an ack) go back in the next CONNECT,
// before the auth's own members; the same pid in the reply is a recovery.
func TestRecoverySendsPidAndOffset(t *testing.T) {
	cfg := wsConfig()
	cfg.RandomizationFactor = -1
	h := newHarness(t, cfg)
	ws := h.wsSession(SocketOptions{})
	h.do(func(now clock.Instant) error {
		return h.m.AddSocket("/chat", SocketOptions{Auth: []byte(`{"token":"secret"}`)})
	})
	h.do(func(now clock.Instant) error { return h.m.Connect(now, "/chat") })
	h.wantFrames(ws, `40/chat,{"token":"secret"}`)
	h.recv(ws, `40/chat,{"sid":"C1","pid":"P1"}`)
	h.wantNote(wire.Connected{Socket: "C1", SID: "SID1", Nsp: "/chat"})
	h.recv(ws, `42/chat,["news",1,"off-1"]`, `42/chat,["bare"]`, `42/chat,7["asked","not-an-offset"]`)
	note[wire.EventReceived](h)
	note[wire.EventReceived](h)
	note[wire.EventReceived](h)

	h.closeWS(ws, false)
	note[wire.EngineClosed](h)
	note[wire.SocketDisconnected](h)
	note[wire.SocketDisconnected](h)
	h.advance(time.Second)
	h.wantNote(wire.ReconnectAttempt{Attempt: 1})
	d := h.wantDial()
	h.accept(d)
	h.recv(d.Conn, `0{"sid":"SID2","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}`)
	h.wantNote(wire.EngineOpened{SID: "SID2", Transport: "websocket"})
	h.wantNote(wire.Reconnected{Attempt: 1})
	// "/" never got a pid (its reply had none): its CONNECT is unchanged
	h.wantFrames(d.Conn, "40", `40/chat,{"pid":"P1","offset":"off-1","token":"secret"}`)
	h.recv(d.Conn, `40{"sid":"S2"}`, `40/chat,{"sid":"C1","pid":"P1"}`)
	h.wantNote(wire.Connected{Socket: "S2", SID: "SID2", Nsp: "/"})
	h.wantNote(wire.Connected{Socket: "C1", SID: "SID2", Nsp: "/chat", Recovered: true})

	// a server that did not recover answers with a new pid: not recovered,
	// and no offset yet for the new pid's events
	h.closeWS(d.Conn, false)
	note[wire.EngineClosed](h)
	note[wire.SocketDisconnected](h)
	note[wire.SocketDisconnected](h)
	h.advance(time.Second)
	h.wantNote(wire.ReconnectAttempt{Attempt: 1})
	d = h.wantDial()
	h.accept(d)
	h.recv(d.Conn, `0{"sid":"SID3","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}`)
	note[wire.EngineOpened](h)
	note[wire.Reconnected](h)
	h.wantFrames(d.Conn, "40", `40/chat,{"pid":"P1","offset":"off-1","token":"secret"}`)
	h.recv(d.Conn, `40{"sid":"S3"}`, `40/chat,{"sid":"C9","pid":"P9"}`)
	note[wire.Connected](h)
	h.wantNote(wire.Connected{Socket: "C9", SID: "SID3", Nsp: "/chat"})
}

// recoveryAuth merges like Object.assign({pid, offset}, auth).
func TestRecoveryAuth(t *testing.T) {
	for _, c := range []struct {
		auth      string
		offset    string
		hasOffset bool
		want      string
	}{
		{"", "", false, `{"pid":"P"}`},
		{"", "o", true, `{"pid":"P","offset":"o"}`},
		{`{}`, "o", true, `{"pid":"P","offset":"o"}`},
		{`{"a":1,"b":[2]}`, "o", true, `{"pid":"P","offset":"o","a":1,"b":[2]}`},
		{`{"offset":"mine","pid":"X","a":1}`, "o", true, `{"pid":"X","offset":"mine","a":1}`},
		{`{"offset":"mine"}`, "", false, `{"pid":"P","offset":"mine"}`},
	} {
		var auth []byte
		if c.auth != "" {
			auth = []byte(c.auth)
		}
		if got := string(recoveryAuth(auth, "P", c.offset, c.hasOffset)); got != c.want {
			t.Errorf("recoveryAuth(%s, %q) = %s, want %s", c.auth, c.offset, got, c.want)
		}
	}
}

// dropConnections breaks every connection (as a network failure would)
// while the server machine lives on.
func (p *pair) dropConnections() {
	for _, pc := range p.byClient {
		p.cq = append(p.cq, wire.Closed{Conn: pc.client, Error: true})
		p.sq = append(p.sq, wire.Closed{Conn: pc.server, Error: true})
	}
	clear(p.byClient)
	clear(p.byServer)
	p.settle()
}

// The Go client against the real server machine with recovery: the
// connection drops, the server broadcasts meanwhile, the client comes back
// recovered, with the same socket id and every missed event.
func TestPairRecovery(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			p := newPair(t, transportConfig(mode))
			p.scfg.RecoveryWindow = time.Minute
			p.start()
			p.add("/", SocketOptions{})
			p.until(time.Second, "connected", func() bool { return p.connected("/") })
			first := p.lastNote(func(o wire.Output) bool { _, ok := o.(wire.Connected); return ok }).(wire.Connected)
			p.server(func(now clock.Instant, s *core.Server) error {
				_, _, err := s.Broadcast(now, core.Broadcast{Nsp: "/", Data: []byte(`["news",1]`)})
				return err
			})
			p.until(time.Second, "the first event", func() bool { return len(p.events) == 1 })

			p.dropConnections()
			for i := 2; i <= 3; i++ {
				p.server(func(now clock.Instant, s *core.Server) error {
					_, _, err := s.Broadcast(now, core.Broadcast{Nsp: "/", Data: []byte(`["news",` + strconv.Itoa(i) + `]`)})
					return err
				})
			}
			p.until(5*time.Second, "reconnected", func() bool { return p.connected("/") })
			again := p.lastNote(func(o wire.Output) bool { _, ok := o.(wire.Connected); return ok }).(wire.Connected)
			if !again.Recovered || again.Socket != first.Socket {
				t.Fatalf("after the drop: %+v (first %+v)", again, first)
			}
			p.run(100 * time.Millisecond)
			var got []string
			for _, ev := range p.events {
				got = append(got, string(ev.Data[:len(`["news",1`)]))
			}
			if !slices.Equal(got, []string{`["news",1`, `["news",2`, `["news",3`}) {
				t.Fatalf("events %q", got)
			}
		})
	}
}
