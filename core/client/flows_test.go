package client

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// serverLog records what the server machine reports.
type serverLog struct {
	events  []wire.EventReceived
	acks    []wire.AckResolved
	left    map[wire.SocketID]string
	sockets map[string]wire.SocketID // nsp → last connected socket
}

func (p *pair) logServer() *serverLog {
	l := &serverLog{left: map[wire.SocketID]string{}, sockets: map[string]wire.SocketID{}}
	p.onServer = func(o wire.Output) {
		switch o := o.(type) {
		case wire.EventReceived:
			l.events = append(l.events, o)
		case wire.AckResolved:
			l.acks = append(l.acks, o)
		case wire.Connected:
			l.sockets[o.Nsp] = o.Socket
		case wire.Disconnected:
			l.left[o.Socket] = o.Reason
		}
	}
	return l
}

func (l *serverLog) names() []string {
	var out []string
	for _, e := range l.events {
		out = append(out, e.Name)
	}
	return out
}

func (p *pair) add(nsp string, opts SocketOptions) {
	p.t.Helper()
	p.do(func(now clock.Instant) error { return p.c.AddSocket(nsp, opts) })
	p.do(func(now clock.Instant) error { return p.c.Connect(now, nsp) })
}

func (p *pair) emit(nsp string, e Emit) wire.AckRef {
	p.t.Helper()
	var ref wire.AckRef
	p.do(func(now clock.Instant) error {
		var err error
		ref, err = p.c.Emit(now, nsp, e)
		return err
	})
	return ref
}

func (p *pair) lastNote(pred func(wire.Output) bool) wire.Output {
	for i := len(p.notes) - 1; i >= 0; i-- {
		if pred(p.notes[i]) {
			return p.notes[i]
		}
	}
	return nil
}

func (p *pair) ackResolved(ref wire.AckRef) (wire.AckResolved, bool) {
	o := p.lastNote(func(o wire.Output) bool { a, ok := o.(wire.AckResolved); return ok && a.Ref == ref })
	a, ok := o.(wire.AckResolved)
	return a, ok
}

// Against the server machine, in every transport mode: namespaces share one
// session, events and acknowledgements go both ways (binary too), the
// middleware's refusal arrives as connect_error, and pings keep the
// connection alive.
func TestPairFlows(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			p := newPair(t, transportConfig(mode))
			l := p.logServer()
			p.gate = func(o wire.ConnectRequested) (bool, string) {
				return strings.Contains(string(o.Auth), "secret"), "unauthorized"
			}
			p.add("/", SocketOptions{Auth: []byte(`{"a":1}`)})
			p.add("/chat", SocketOptions{})
			p.add("/secure", SocketOptions{Auth: []byte(`{"token":"bad"}`)})
			p.until(time.Second, "connected", func() bool { return p.connected("/") && p.connected("/chat") })
			if st := p.s.Stats(); st.Sessions != 1 || st.Sockets != 2 {
				t.Fatalf("server stats %+v: namespaces not multiplexed on one session", st)
			}
			ce, _ := p.lastNote(func(o wire.Output) bool { _, ok := o.(wire.ConnectError); return ok }).(wire.ConnectError)
			if ce.Nsp != "/secure" || ce.Message != "unauthorized" || string(ce.Data) != `{"code":42}` {
				t.Fatalf("connect_error %s", describe(ce))
			}
			if mode == "upgrade" {
				p.until(time.Second, "upgraded", func() bool { return countNotes[wire.EngineUpgraded](p) == 1 })
			}

			// client → server, with an acknowledgement and an attachment
			ref := p.emit("/chat", Emit{Data: []byte(`["hello",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{0xff, 0}}, WithAck: true})
			if len(l.events) != 1 || l.events[0].Name != "hello" || l.events[0].Ack == 0 || string(l.events[0].Attachments[0]) != "\xff\x00" {
				t.Fatalf("server got %+v", l.events)
			}
			p.server(func(now clock.Instant, s *core.Server) error { return s.Ack(l.events[0].Ack, []byte(`["hi"]`), nil) })
			if a, ok := p.ackResolved(ref); !ok || string(a.Args) != `["hi"]` || a.Err != wire.AckOK {
				t.Fatalf("ack %s", describe(a))
			}

			// server → client, with an acknowledgement
			var sref wire.AckRef
			p.server(func(now clock.Instant, s *core.Server) error {
				var err error
				sref, err = s.Emit(now, core.Emit{Socket: l.sockets["/"], Data: []byte(`["news",1]`), WithAck: true})
				return err
			})
			e := p.events[len(p.events)-1]
			if e.Name != "news" || e.Ack == 0 || e.Socket != l.sockets["/"] {
				t.Fatalf("client got %s", describe(e))
			}
			p.do(func(now clock.Instant) error { return p.c.Ack(now, e.Ack, []byte(`["thanks"]`), [][]byte{{1}}) })
			if len(l.acks) != 1 || l.acks[0].Ref != sref || string(l.acks[0].Args) != `["thanks"]` || len(l.acks[0].Attachments) != 1 {
				t.Fatalf("server ack %+v", l.acks)
			}

			// heartbeats for a while: nothing drops
			p.run(3 * time.Second)
			if n := countNotes[wire.SocketDisconnected](p); n != 0 || !p.connected("/") {
				t.Fatalf("%d disconnections while idle", n)
			}

			// the client closes: the server sees "transport close"
			p.do(func(now clock.Instant) error { p.c.Close(now); return nil })
			p.run(100 * time.Millisecond)
			for nsp, id := range l.sockets {
				if l.left[id] != "transport close" {
					t.Fatalf("server reason for %s: %q", nsp, l.left[id])
				}
			}
			if st := p.s.Stats(); st.Sessions != 0 {
				t.Fatalf("server still holds %+v", st)
			}
			if st := p.c.Stats(); st.Conns != 0 || st.Timers != 0 {
				t.Fatalf("client still holds %+v", st)
			}
		})
	}
}

// The server disconnecting a socket (or the whole connection) is "io server
// disconnect", and no reconnection follows.
func TestPairServerDisconnect(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			p := newPair(t, transportConfig(mode))
			l := p.logServer()
			p.add("/", SocketOptions{})
			p.add("/chat", SocketOptions{})
			p.until(time.Second, "connected", func() bool { return p.connected("/") && p.connected("/chat") })
			p.server(func(now clock.Instant, s *core.Server) error { return s.Disconnect(now, l.sockets["/chat"], false) })
			sd := p.lastNote(func(o wire.Output) bool { _, ok := o.(wire.SocketDisconnected); return ok }).(wire.SocketDisconnected)
			if sd.Nsp != "/chat" || sd.Reason != "io server disconnect" || !p.connected("/") {
				t.Fatalf("after server disconnect of /chat: %+v", sd)
			}
			p.server(func(now clock.Instant, s *core.Server) error { return s.Disconnect(now, l.sockets["/"], true) })
			p.run(2 * time.Second)
			if p.connected("/") || p.c.Reconnecting() || countNotes[wire.ReconnectAttempt](p) != 0 {
				t.Fatal("reconnecting after io server disconnect")
			}
			sd = p.lastNote(func(o wire.Output) bool { _, ok := o.(wire.SocketDisconnected); return ok }).(wire.SocketDisconnected)
			if sd.Reason != "io server disconnect" {
				t.Fatalf("reason %q", sd.Reason)
			}
		})
	}
}

// The seed's network glitch: the server goes away and comes back. The
// client reconnects with backoff, re-joins its namespaces, flushes what was
// emitted meanwhile in order, drops the volatile emits, and delivers the
// retried emit that was never acknowledged.
func TestPairReconnection(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			cfg := transportConfig(mode)
			cfg.Seed = backoffSeed // delays 1454, 1344, 2793 ms
			p := newPair(t, cfg)
			l := p.logServer()
			p.add("/", SocketOptions{})
			p.add("/chat", SocketOptions{Retries: 3})
			p.until(time.Second, "connected", func() bool { return p.connected("/") && p.connected("/chat") })
			if mode == "upgrade" {
				p.until(time.Second, "upgraded", func() bool { return countNotes[wire.EngineUpgraded](p) == 1 })
			}
			// at-least-once: the server never answers this one
			retried := p.emit("/chat", Emit{Data: []byte(`["retried"]`), WithAck: true})
			if got := l.names(); !slices.Equal(got, []string{"retried"}) {
				t.Fatalf("server got %q", got)
			}

			p.stop()
			sd := p.lastNote(func(o wire.Output) bool { _, ok := o.(wire.SocketDisconnected); return ok }).(wire.SocketDisconnected)
			if sd.Reason != "transport close" && sd.Reason != "transport error" {
				t.Fatalf("reason %q", sd.Reason)
			}
			down := p.now
			p.emit("/", Emit{Data: []byte(`["buffered",1]`)})
			p.emit("/", Emit{Data: []byte(`["volatile"]`), Volatile: true})
			p.emit("/", Emit{Data: []byte(`["buffered",2]`)})
			p.run(3 * time.Second) // two failed attempts (at +1454ms and +2798ms)
			if n := countNotes[wire.ReconnectAttempt](p); n != 2 {
				t.Fatalf("%d attempts in 3s, want 2", n)
			}
			if n := countNotes[wire.ReconnectError](p); n != 2 {
				t.Fatalf("%d reconnect errors", n)
			}
			p.emit("/", Emit{Data: []byte(`["volatile"]`), Volatile: true})
			p.start()
			p.until(5*time.Second, "reconnected", func() bool { return p.connected("/") && p.connected("/chat") })
			if at := p.now.Sub(down); at < 1454*time.Millisecond+1344*time.Millisecond+2793*time.Millisecond {
				t.Fatalf("reconnected %v after the loss, before the third delay", at)
			}
			r := p.lastNote(func(o wire.Output) bool { _, ok := o.(wire.Reconnected); return ok }).(wire.Reconnected)
			if r.Attempt != 3 {
				t.Fatalf("reconnect attempt %d, want 3", r.Attempt)
			}
			if st := p.s.Stats(); st.Sessions != 1 || st.Sockets != 2 {
				t.Fatalf("server after reconnection: %+v", st)
			}
			// what the server got after the restart: the buffer in order, the
			// retried emit once more, no volatile
			got := l.names()[1:]
			if !slices.Equal(got, []string{"buffered", "buffered", "retried"}) && !slices.Equal(got, []string{"retried", "buffered", "buffered"}) {
				t.Fatalf("server got %q after the restart", got)
			}
			var again wire.EventReceived
			for _, e := range l.events[1:] {
				if e.Name == "retried" {
					again = e
				} else if e.Name == "buffered" && !strings.HasPrefix(string(e.Data), `["buffered",`) {
					t.Fatalf("bad payload %s", e.Data)
				}
			}
			if _, ok := p.ackResolved(retried); ok {
				t.Fatal("retried emit resolved before the server answered")
			}
			p.server(func(now clock.Instant, s *core.Server) error { return s.Ack(again.Ack, []byte(`["got it"]`), nil) })
			if a, ok := p.ackResolved(retried); !ok || a.Err != wire.AckOK || string(a.Args) != `["got it"]` {
				t.Fatalf("retried ack %s", describe(a))
			}
			order := eventsData(l.events[1:])
			bi := slices.Index(order, `["buffered",1]`)
			if bi < 0 || bi+1 >= len(order) || order[bi+1] != `["buffered",2]` {
				t.Fatalf("buffer flushed out of order: %q", order)
			}
		})
	}
}

func eventsData(evs []wire.EventReceived) []string {
	var out []string
	for _, e := range evs {
		out = append(out, string(e.Data))
	}
	return out
}

// A server that stops answering (its host hangs; the TCP connection stays)
// is detected by the missing pings: pingInterval + pingTimeout after the
// last one.
func TestPairDeadServer(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			p := newPair(t, transportConfig(mode))
			p.add("/", SocketOptions{})
			p.until(time.Second, "connected", func() bool { return p.connected("/") })
			p.run(time.Second)
			// freeze: the server machine gets nothing more and says nothing
			p.s, p.sd = nil, 0
			frozen := p.now
			p.until(time.Second, "ping timeout", func() bool { return !p.connected("/") })
			sd := p.lastNote(func(o wire.Output) bool { _, ok := o.(wire.SocketDisconnected); return ok }).(wire.SocketDisconnected)
			if sd.Reason != "ping timeout" {
				t.Fatalf("reason %q", sd.Reason)
			}
			if d := p.now.Sub(frozen); d > 500*time.Millisecond+10*time.Millisecond {
				t.Fatalf("detected %v after the freeze, later than pingInterval+pingTimeout", d)
			}
		})
	}
}
