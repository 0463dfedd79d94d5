package client

// pair couples a client Manager with the real server machine (core.Server)
// in virtual time, as h11's ConnectionPair does: every Fetch, Dial, Send and
// CloseConn of one becomes the other's input, delivered in order with no
// latency, and the clock jumps from deadline to deadline. The server can be
// stopped (every connection fails, new ones are refused) and started again,
// which is the reconnection flow without a network.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

type pairConn struct {
	client, server wire.ConnID
	ws             bool // a WebSocket (once accepted) or an upgrade request
	open           bool // the WebSocket is open
}

type pair struct {
	t      testing.TB
	now    clock.Instant
	c      *Manager
	cd     clock.Instant
	s      *core.Server
	sd     clock.Instant
	scfg   core.Config
	starts int

	byClient map[wire.ConnID]*pairConn
	byServer map[wire.ConnID]*pairConn
	nextS    wire.ConnID
	cq, sq   []wire.Input

	notes    []wire.Output // client notifications, in order
	events   []wire.EventReceived
	gate     func(o wire.ConnectRequested) (ok bool, msg string)
	onServer func(o wire.Output)
}

func pairServerConfig() core.Config {
	var c core.Config
	c.PingInterval = 300 * time.Millisecond
	c.PingTimeout = 200 * time.Millisecond
	c.Seed = [32]byte{'s', 'r', 'v'}
	return c
}

func newPair(t testing.TB, ccfg Config) *pair {
	t.Helper()
	m, err := New(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	p := &pair{t: t, now: t0, c: m, scfg: pairServerConfig(),
		byClient: map[wire.ConnID]*pairConn{}, byServer: map[wire.ConnID]*pairConn{}}
	p.start()
	return p
}

// start (re)starts the server machine with a fresh seed.
func (p *pair) start() {
	p.starts++
	cfg := p.scfg
	cfg.Seed[31] = byte(p.starts)
	p.s = core.NewServer(cfg)
	p.s.AddNamespace("/chat", false)
	p.s.AddNamespace("/secure", true)
	p.sd = 0
}

// stop kills the server: WebSockets end, pending requests fail.
func (p *pair) stop() {
	for _, pc := range p.byClient {
		if pc.ws && pc.open {
			p.cq = append(p.cq, wire.Closed{Conn: pc.client})
		} else {
			p.cq = append(p.cq, wire.Closed{Conn: pc.client, Error: true})
		}
	}
	clear(p.byClient)
	clear(p.byServer)
	p.s, p.sd = nil, 0
	p.settle()
}

func (p *pair) fatalf(format string, args ...any) {
	p.t.Helper()
	var b strings.Builder
	for _, o := range p.notes {
		b.WriteString("  " + describe(o) + "\n")
	}
	p.t.Fatalf("at +%v: %s\nclient notifications:\n%s", p.now.Sub(t0), fmt.Sprintf(format, args...), b.String())
}

// do runs a client command, then lets everything settle.
func (p *pair) do(f func(now clock.Instant) error) {
	p.t.Helper()
	if err := f(p.now); err != nil {
		p.fatalf("command: %v", err)
	}
	p.settle()
}

// server runs a server command, then lets everything settle.
func (p *pair) server(f func(now clock.Instant, s *core.Server) error) {
	p.t.Helper()
	if err := f(p.now, p.s); err != nil {
		p.fatalf("server command: %v", err)
	}
	p.settle()
}

func (p *pair) settle() {
	p.t.Helper()
	for i := 0; ; i++ {
		if i > 100000 {
			p.fatalf("no quiescence")
		}
		p.drainClient()
		if p.s != nil {
			p.drainServer()
		}
		switch {
		case len(p.cq) > 0:
			in := p.cq[0]
			p.cq = p.cq[1:]
			if err := p.c.Handle(p.now, in); err != nil {
				p.fatalf("client Handle(%T): %v", in, err)
			}
		case len(p.sq) > 0:
			in := p.sq[0]
			p.sq = p.sq[1:]
			if p.s != nil {
				if err := p.s.Handle(p.now, in); err != nil {
					p.fatalf("server Handle(%T): %v", in, err)
				}
			}
		default:
			return
		}
	}
}

func (p *pair) drainClient() {
	for {
		o := p.c.Poll()
		if w, ok := o.(wire.Wait); ok {
			p.cd = w.Deadline
			return
		}
		switch o := o.(type) {
		case wire.Fetch, wire.Dial:
			var (
				cc  wire.ConnID
				url string
				ws  bool
				in  wire.HTTPRequest
			)
			if f, ok := o.(wire.Fetch); ok {
				cc, url = f.Conn, f.URL
				in = wire.HTTPRequest{Method: f.Method, Body: f.Body}
			} else {
				d := o.(wire.Dial)
				cc, url, ws = d.Conn, d.URL, true
				in = wire.HTTPRequest{Method: "GET", WebSocket: true}
			}
			if p.s == nil {
				p.cq = append(p.cq, wire.Closed{Conn: cc, Error: true})
				continue
			}
			p.nextS++
			pc := &pairConn{client: cc, server: p.nextS, ws: ws}
			p.byClient[cc], p.byServer[p.nextS] = pc, pc
			in.Conn = p.nextS
			_, in.Query, _ = strings.Cut(url, "?")
			p.sq = append(p.sq, in)
		case wire.Send:
			pc := p.byClient[o.Conn]
			if pc == nil {
				continue
			}
			for _, f := range o.Frames {
				p.sq = append(p.sq, wire.Recv{Conn: pc.server, Data: f.Data, Binary: f.Binary})
			}
		case wire.CloseConn:
			pc := p.byClient[o.Conn]
			if pc == nil {
				continue
			}
			p.unmap(pc)
			p.sq = append(p.sq, wire.Closed{Conn: pc.server, Error: !pc.ws})
		default:
			p.notes = append(p.notes, o)
			if e, ok := o.(wire.EventReceived); ok {
				p.events = append(p.events, e)
			}
		}
	}
}

func (p *pair) unmap(pc *pairConn) {
	delete(p.byClient, pc.client)
	delete(p.byServer, pc.server)
}

func (p *pair) drainServer() {
	for {
		o := p.s.Poll()
		if w, ok := o.(wire.Wait); ok {
			p.sd = w.Deadline
			return
		}
		toClient := func(sc wire.ConnID, frames []wire.Frame) {
			if pc := p.byServer[sc]; pc != nil {
				for _, f := range frames {
					p.cq = append(p.cq, wire.Recv{Conn: pc.client, Data: f.Data, Binary: f.Binary})
				}
			}
		}
		switch o := o.(type) {
		case wire.Respond:
			if pc := p.byServer[o.Conn]; pc != nil {
				p.unmap(pc)
				if pc.ws {
					p.cq = append(p.cq, wire.Closed{Conn: pc.client, Error: true})
				} else {
					p.cq = append(p.cq, wire.HTTPResponse{Conn: pc.client, Status: o.Status, Body: o.Body})
				}
			}
		case wire.AcceptWebSocket:
			if pc := p.byServer[o.Conn]; pc != nil {
				pc.open = true
				p.cq = append(p.cq, wire.Dialed{Conn: pc.client})
			}
		case wire.Send:
			toClient(o.Conn, o.Frames)
		case wire.Broadcast:
			for _, c := range o.Conns {
				toClient(c, o.Frames)
			}
		case wire.CloseConn:
			if pc := p.byServer[o.Conn]; pc != nil {
				p.unmap(pc)
				p.cq = append(p.cq, wire.Closed{Conn: pc.client, Error: !pc.ws})
			}
		case wire.ConnectRequested:
			ok, msg := true, ""
			if p.gate != nil {
				ok, msg = p.gate(o)
			}
			if ok {
				p.s.AcceptConnect(p.now, o.Socket)
			} else {
				p.s.RejectConnect(p.now, o.Socket, msg, []byte(`{"code":42}`))
			}
		default:
			if p.onServer != nil {
				p.onServer(o)
			}
		}
	}
}

// run advances virtual time by d, feeding both machines their timeouts.
func (p *pair) run(d time.Duration) {
	p.t.Helper()
	end := p.now.Add(d)
	for {
		next := clock.Instant(0)
		for _, dl := range []clock.Instant{p.cd, p.sd} {
			if dl != 0 && (next == 0 || dl < next) {
				next = dl
			}
		}
		if next == 0 || next > end {
			break
		}
		p.now = next
		if p.cd != 0 && p.cd <= p.now {
			p.c.Handle(p.now, wire.Timeout{})
		}
		if p.s != nil && p.sd != 0 && p.sd <= p.now {
			p.s.Handle(p.now, wire.Timeout{})
		}
		p.settle()
	}
	p.now = end
}

// until runs until cond holds (checked after every step), at most d.
func (p *pair) until(d time.Duration, what string, cond func() bool) {
	p.t.Helper()
	end := p.now.Add(d)
	for !cond() {
		if p.now >= end {
			p.fatalf("after %v: still not %s", d, what)
		}
		p.run(10 * time.Millisecond)
	}
}

// connected reports whether the last Connected/SocketDisconnected for nsp
// says connected.
func (p *pair) connected(nsp string) bool {
	on := false
	for _, o := range p.notes {
		switch o := o.(type) {
		case wire.Connected:
			if o.Nsp == nsp {
				on = true
			}
		case wire.SocketDisconnected:
			if o.Nsp == nsp {
				on = false
			}
		}
	}
	return on
}

func countNotes[T wire.Output](p *pair) int {
	n := 0
	for _, o := range p.notes {
		if _, ok := o.(T); ok {
			n++
		}
	}
	return n
}

func transportConfig(mode string) Config {
	c := testConfig()
	switch mode {
	case "websocket":
		c.Transports = []string{WebSocket}
	case "polling":
		c.Transports = []string{Polling}
	}
	return c
}

var modes = []string{"websocket", "polling", "upgrade"}
