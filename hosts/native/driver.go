package native

import (
	"net/http"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// driver runs the six-step loop (STYLE.md §4): wait for a task or the
// deadline, Handle, drain Poll, perform outputs, re-arm the one timer.
type driver struct {
	loop
	notify func(now clock.Instant, o wire.Output) // application notifications
	reqs   map[wire.ConnID]*httpReq
	ws     map[wire.ConnID]*wsConn
	// writeQueueLimit bounds the frames waiting for one WebSocket writer;
	// past it the connection is closed (a slow consumer).
	writeQueueLimit int
	// The frames of one drain are written at its end (flush), one write
	// per connection: a connection that several outputs of the drain reach
	// gets them in one syscall. pending holds them in order, linked per
	// connection (wsConn.pendHead/pendTail); dirty lists the connections
	// that have some; arena holds the bytes of Sends (broadcast frames are
	// shared); scratch is where a connection's frames are joined.
	pending []pendingFrame
	dirty   []*wsConn
	arena   []byte
	scratch []byte
	// failed is set when the machine failed and no new one could be made
	// (Server.restartMachine): every request is then answered 503.
	failed bool
	// stats counts the traffic (metrics.go); onRefused, if set, hears of
	// every refused request (the server's observers).
	stats     transportStats
	onRefused func(code int, msg string, websocket bool)
	// lim applies Options.Limits to connections and counts what every
	// limit did (limits.go).
	lim driverLimits
	// z compresses the messages of connections with permessage-deflate
	// (deflate.go).
	z deflater
}

func newDriver(m machine, notify func(clock.Instant, wire.Output)) *driver {
	d := &driver{
		notify:          notify,
		reqs:            make(map[wire.ConnID]*httpReq),
		ws:              make(map[wire.ConnID]*wsConn),
		writeQueueLimit: 4096,
	}
	d.init(m)
	d.loop.perform = d.perform
	d.loop.flush = d.flush
	d.loop.shutdown = d.shutdown
	d.startLoop()
	return d
}

func (d *driver) perform(o wire.Output) {
	switch o := o.(type) {
	case wire.Respond:
		if r := d.reqs[o.Conn]; r != nil {
			delete(d.reqs, o.Conn)
			d.stats.bytesOut[0] += uint64(len(o.Body))
			if o.Status >= 400 {
				d.refusal(o, r.ws != nil)
			}
			r.reply <- reply{status: o.Status, contentType: o.ContentType, body: o.Body, compress: o.Compress}
		}
	case wire.AcceptWebSocket:
		if r := d.reqs[o.Conn]; r != nil {
			delete(d.reqs, o.Conn)
			d.ws[o.Conn] = r.ws
			r.reply <- reply{upgrade: true}
		}
	case wire.Send:
		if c := d.ws[o.Conn]; c != nil {
			d.stats.wsOut(o.Frames, 1)
			// encoded into the arena, written at the end of the drain
			start := len(d.arena)
			if c.deflate != nil && o.Compress {
				d.arena = d.z.appendFrames(d.arena, o.Frames, c.deflate) // deflate.go
			} else {
				d.arena = appendFrames(d.arena, o.Frames)
			}
			d.pend(c, d.arena[start:len(d.arena):len(d.arena)], false, o.Volatile)
		}
	case wire.Broadcast:
		// encoded once, shared (read-only) by every connection; once more,
		// compressed, for the connections with permessage-deflate when a
		// message reaches the threshold (deflate.go)
		var plain, packed []byte
		noDeflate := !o.Compress // or no message reaches the threshold
		n := 0
		for _, id := range o.Conns {
			c := d.ws[id]
			if c == nil {
				continue
			}
			n++
			if z := c.deflate; z != nil && !noDeflate {
				if packed == nil {
					if noDeflate = !z.wants(o.Frames); !noDeflate {
						packed = d.z.appendFrames(make([]byte, 0, framesLen(o.Frames)/2), o.Frames, z)
					}
				}
				if packed != nil {
					d.pend(c, packed, true, o.Volatile)
					continue
				}
			}
			if plain == nil {
				plain = appendFrames(make([]byte, 0, framesLen(o.Frames)), o.Frames)
			}
			d.pend(c, plain, true, o.Volatile)
		}
		d.stats.wsOut(o.Frames, n)
	case wire.CloseConn:
		if c := d.ws[o.Conn]; c != nil {
			delete(d.ws, o.Conn)
			d.flushConn(c)
			c.closeAfterWrites()
		} else if r := d.reqs[o.Conn]; r != nil {
			delete(d.reqs, o.Conn)
			r.reply <- reply{status: 400}
		}
	default:
		o = d.track(o) // limits.go
		if d.notify != nil {
			d.notify(d.now(), o)
		}
	}
}

// pendingFrame is frames waiting for the end of the drain.
type pendingFrame struct {
	c        *wsConn
	data     []byte
	next     int32 // index+1 of the connection's next pending frame, 0: none
	shared   bool
	volatile bool
}

func (d *driver) pend(c *wsConn, data []byte, shared, volatile bool) {
	i := int32(len(d.pending)) + 1
	d.pending = append(d.pending, pendingFrame{c: c, data: data, shared: shared, volatile: volatile})
	if c.pendHead == 0 {
		c.pendHead = i
		d.dirty = append(d.dirty, c)
	} else {
		d.pending[c.pendTail-1].next = i
	}
	c.pendTail = i
}

// flush writes what the drain left for each connection; true when it fed
// the machine (a slow consumer closed), whose outputs must be drained.
func (d *driver) flush() bool {
	fed := false
	for _, c := range d.dirty {
		fed = d.flushConn(c) || fed
	}
	clear(d.pending)
	clear(d.dirty)
	d.pending, d.dirty = d.pending[:0], d.dirty[:0]
	if cap(d.arena) > 1<<20 {
		d.arena = nil // do not keep a large message's buffer
	} else {
		d.arena = d.arena[:0]
	}
	return d.settle() || fed // limits.go
}

// flushConn writes c's pending frames (joined when there are several).
func (d *driver) flushConn(c *wsConn) bool {
	i := c.pendHead
	if i == 0 {
		return false
	}
	c.pendHead, c.pendTail = 0, 0
	first := d.pending[i-1]
	if first.next == 0 {
		ok, dropped := c.offer(first.data, first.shared, first.volatile, d.writeQueueLimit)
		if dropped {
			d.stats.volatileDropped++
		}
		if !ok {
			d.overflow(c)
			return true
		}
		return false
	}
	// Several: volatile ones go only if the connection is writable now.
	writable := c.writable()
	d.scratch = d.scratch[:0]
	for ; i != 0; i = d.pending[i-1].next {
		p := d.pending[i-1]
		if !p.volatile || writable {
			d.scratch = append(d.scratch, p.data...)
		} else {
			d.stats.volatileDropped++
		}
	}
	ok := len(d.scratch) == 0 || c.enqueue(d.scratch, false, false, d.writeQueueLimit)
	if cap(d.scratch) > 1<<20 {
		d.scratch = nil
	}
	if !ok {
		d.overflow(c)
		return true
	}
	return false
}

// overflow closes a WebSocket whose writer fell too far behind (its queue
// is dropped), and tells the machine, unless the machine is closing it
// already (CloseConn): the session ends as a slow consumer (limits.go).
func (d *driver) overflow(c *wsConn) {
	c.closeNow(closePolicyViolation)
	if d.ws[c.id] != c {
		return
	}
	delete(d.ws, c.id)
	d.slowConsumer(c)
}

// stop ends the driver: pending requests get 503, WebSockets close.
func (d *driver) stop() { d.stopLoop() }

func (d *driver) shutdown() { d.dropConnections(http.StatusServiceUnavailable) }

// dropConnections answers every pending request with status and closes
// every WebSocket (after the frames already queued).
func (d *driver) dropConnections(status int) {
	for id, r := range d.reqs {
		delete(d.reqs, id)
		r.reply <- reply{status: status}
	}
	for id, c := range d.ws {
		delete(d.ws, id)
		c.closeAfterWrites()
	}
	d.resetLimits() // the sessions are gone (limits.go)
}

// httpReq is a request waiting for the machine's answer.
type httpReq struct {
	reply chan reply // buffered 1: the driver never blocks on it
	ws    *wsConn    // for upgrade requests
}

type reply struct {
	upgrade     bool
	status      int
	contentType string
	body        []byte
	compress    bool // a polling payload that may be compressed (wire.Respond)
}
