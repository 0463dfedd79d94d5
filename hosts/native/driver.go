package native

import (
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
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
			if !c.enqueue(o.Frames, nil, o.Volatile, d.writeQueueLimit) {
				d.overflow(c)
			}
		}
	case wire.Broadcast:
		var prepared []*websocket.PreparedMessage
		if len(o.Conns) > 1 {
			prepared = prepare(o.Frames)
		}
		for _, id := range o.Conns {
			if c := d.ws[id]; c != nil {
				if !c.enqueue(o.Frames, prepared, o.Volatile, d.writeQueueLimit) {
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

func prepare(frames []wire.Frame) []*websocket.PreparedMessage {
	out := make([]*websocket.PreparedMessage, len(frames))
	for i, f := range frames {
		t := websocket.TextMessage
		if f.Binary {
			t = websocket.BinaryMessage
		}
		pm, err := websocket.NewPreparedMessage(t, f.Data)
		if err != nil {
			return nil
		}
		out[i] = pm
	}
	return out
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

// wsConn is one WebSocket. Its writer runs only while frames are queued
// (a goroutine started on demand), so an idle connection costs no writer
// goroutine; gorilla's one-writer rule holds because at most one runs.
type wsConn struct {
	id wire.ConnID

	mu       sync.Mutex
	conn     *websocket.Conn // nil until the upgrade completed
	queue    []outFrame
	running  bool
	closing  bool
	closed   bool
	wg       *sync.WaitGroup // the server's, to wait for writers on Close
	writeTTL time.Duration
}

type outFrame struct {
	f  wire.Frame
	pm *websocket.PreparedMessage
}

// enqueue queues frames; false when the queue is over limit.
func (c *wsConn) enqueue(frames []wire.Frame, pms []*websocket.PreparedMessage, volatile bool, limit int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing || c.closed {
		return true
	}
	if volatile && (c.running || len(c.queue) > 0) {
		return true // not writable right now: drop
	}
	if len(c.queue)+len(frames) > limit {
		return false
	}
	for i, f := range frames {
		of := outFrame{f: f}
		if pms != nil {
			of.pm = pms[i]
		}
		c.queue = append(c.queue, of)
	}
	c.kickLocked()
	return true
}

func (c *wsConn) closeAfterWrites() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing || c.closed {
		return
	}
	c.closing = true
	if c.conn == nil {
		return // never upgraded; the handler sees closing and gives up
	}
	c.kickLocked()
}

// attach is called once the upgrade completed.
func (c *wsConn) attach(conn *websocket.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conn = conn
	if c.closing && len(c.queue) == 0 {
		c.closed = true
		conn.Close()
		return false
	}
	c.kickLocked()
	return true
}

func (c *wsConn) kickLocked() {
	if c.running || c.conn == nil || c.closed {
		return
	}
	c.running = true
	c.wg.Add(1)
	go c.write()
}

func (c *wsConn) write() {
	defer c.wg.Done()
	var batch []outFrame
	for {
		c.mu.Lock()
		if len(c.queue) == 0 {
			c.running = false
			if c.closing && !c.closed {
				c.closed = true
				conn := c.conn
				c.mu.Unlock()
				conn.SetWriteDeadline(time.Now().Add(time.Second))
				conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
				conn.Close()
				return
			}
			c.mu.Unlock()
			return
		}
		batch, c.queue = c.queue, batch[:0]
		conn := c.conn
		c.mu.Unlock()
		conn.SetWriteDeadline(time.Now().Add(c.writeTTL))
		for i, of := range batch {
			var err error
			if of.pm != nil {
				err = conn.WritePreparedMessage(of.pm)
			} else {
				t := websocket.TextMessage
				if of.f.Binary {
					t = websocket.BinaryMessage
				}
				err = conn.WriteMessage(t, of.f.Data)
			}
			batch[i] = outFrame{}
			if err != nil {
				c.mu.Lock()
				c.queue, c.closed, c.running = nil, true, false
				c.mu.Unlock()
				conn.Close() // the reader sees the error and reports Closed
				return
			}
		}
	}
}
