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
	// scratch is where a Send's frames are encoded before the write.
	scratch []byte
	// failed is set when the machine failed and no new one could be made
	// (Server.restartMachine): every request is then answered 503.
	failed bool
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
	d.loop.shutdown = d.shutdown
	d.startLoop()
	return d
}

func (d *driver) perform(o wire.Output) {
	switch o := o.(type) {
	case wire.Respond:
		if r := d.reqs[o.Conn]; r != nil {
			delete(d.reqs, o.Conn)
			r.reply <- reply{status: o.Status, contentType: o.ContentType, body: o.Body}
		}
	case wire.AcceptWebSocket:
		if r := d.reqs[o.Conn]; r != nil {
			delete(d.reqs, o.Conn)
			d.ws[o.Conn] = r.ws
			r.reply <- reply{upgrade: true}
		}
	case wire.Send:
		if c := d.ws[o.Conn]; c != nil {
			// encoded into the driver's scratch buffer: enqueue copies
			// what has to wait
			d.scratch = appendFrames(d.scratch[:0], o.Frames)
			if !c.enqueue(d.scratch, false, o.Volatile, d.writeQueueLimit) {
				d.overflow(c)
			}
			if cap(d.scratch) > 64<<10 {
				d.scratch = nil // do not keep a large message's buffer
			}
		}
	case wire.Broadcast:
		// encoded once, shared (read-only) by every connection
		frame := appendFrames(make([]byte, 0, framesLen(o.Frames)), o.Frames)
		for _, id := range o.Conns {
			if c := d.ws[id]; c != nil {
				if !c.enqueue(frame, true, o.Volatile, d.writeQueueLimit) {
					d.overflow(c)
				}
			}
		}
	case wire.CloseConn:
		if c := d.ws[o.Conn]; c != nil {
			delete(d.ws, o.Conn)
			c.closeAfterWrites()
		} else if r := d.reqs[o.Conn]; r != nil {
			delete(d.reqs, o.Conn)
			r.reply <- reply{status: 400}
		}
	default:
		if d.notify != nil {
			d.notify(d.now(), o)
		}
	}
}

// overflow closes a WebSocket whose writer fell too far behind, and tells
// the machine (the session ends with "transport error").
func (d *driver) overflow(c *wsConn) {
	delete(d.ws, c.id)
	c.closeAfterWrites()
	d.m.Handle(d.now(), wire.Closed{Conn: c.id, Error: true})
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
}
