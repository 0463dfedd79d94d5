package native

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/socketcore/socketcore/core/client"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// clientDriver runs the six-step loop for one client machine, as driver
// does for the server: one goroutine owns the machine; it waits for a task
// (an I/O report or an API command) or the deadline, handles it, drains Poll,
// performs the outputs and re-arms its one timer. Each Fetch runs on its own
// goroutine; each WebSocket has a reader goroutine (the one that dialed it)
// and a writer goroutine.
type clientDriver struct {
	loop
	m      *client.Manager // the loop's machine, typed for the API's commands
	notify func(now clock.Instant, o wire.Output)

	httpc   *http.Client
	dialer  *websocket.Dialer
	header  http.Header
	ctx     context.Context // parent of every request and dial; cancelled at stop
	cancel  context.CancelFunc
	fetches map[wire.ConnID]context.CancelFunc
	conns   map[wire.ConnID]*clientWS
	idle    chan struct{} // closed when no fetch or WebSocket is left (set by waitIdle)
	wg      sync.WaitGroup
}

// maxResponseBytes bounds one polling response.
const maxResponseBytes = 64 << 20

func newClientDriver(m *client.Manager, httpc *http.Client, dialer *websocket.Dialer, header http.Header, notify func(clock.Instant, wire.Output)) *clientDriver {
	ctx, cancel := context.WithCancel(context.Background())
	d := &clientDriver{
		m: m, notify: notify,
		httpc: httpc, dialer: dialer, header: header,
		ctx: ctx, cancel: cancel,
		fetches: make(map[wire.ConnID]context.CancelFunc),
		conns:   make(map[wire.ConnID]*clientWS),
	}
	d.init(m)
	d.loop.perform = d.perform
	d.loop.afterDrain = d.checkIdle
	d.loop.shutdown = d.shutdown
	d.startLoop()
	return d
}

func (d *clientDriver) perform(o wire.Output) {
	switch o := o.(type) {
	case wire.Fetch:
		ctx, cancel := context.WithCancel(d.ctx)
		d.fetches[o.Conn] = cancel
		d.wg.Add(1)
		go d.fetch(ctx, o)
	case wire.Dial:
		ctx, cancel := context.WithCancel(d.ctx)
		c := &clientWS{id: o.Conn, cancel: cancel, wake: make(chan struct{}, 1)}
		d.conns[o.Conn] = c
		d.wg.Add(1)
		go d.dial(ctx, c, o.URL)
	case wire.Send:
		if c := d.conns[o.Conn]; c != nil {
			c.enqueue(o.Frames, o.Volatile)
		}
	case wire.CloseConn:
		if cancel := d.fetches[o.Conn]; cancel != nil {
			delete(d.fetches, o.Conn)
			cancel()
		} else if c := d.conns[o.Conn]; c != nil {
			delete(d.conns, o.Conn)
			c.close()
		}
	default:
		if d.notify != nil {
			d.notify(d.now(), o)
		}
	}
}

func (d *clientDriver) fetch(ctx context.Context, f wire.Fetch) {
	defer d.wg.Done()
	var body io.Reader
	if f.Method == http.MethodPost {
		body = bytes.NewReader(f.Body)
	}
	in, err := d.roundTrip(ctx, f, body)
	if err != nil {
		in = wire.Closed{Conn: f.Conn, Error: true}
	}
	d.post(func(now clock.Instant) {
		if cancel := d.fetches[f.Conn]; cancel != nil {
			delete(d.fetches, f.Conn)
			cancel()
			d.m.Handle(now, in)
		}
	})
}

func (d *clientDriver) roundTrip(ctx context.Context, f wire.Fetch, body io.Reader) (wire.Input, error) {
	req, err := http.NewRequestWithContext(ctx, f.Method, f.URL, body)
	if err != nil {
		return nil, err
	}
	for k, vs := range d.header {
		req.Header[k] = vs
	}
	req.Header.Set("Accept", "*/*")
	if f.ContentType != "" {
		req.Header.Set("Content-Type", f.ContentType)
	}
	res, err := d.httpc.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxResponseBytes+1))
	if err != nil || len(b) > maxResponseBytes {
		return nil, errors.New("bad response body")
	}
	return wire.HTTPResponse{Conn: f.Conn, Status: res.StatusCode, Body: b}, nil
}

// dial opens the WebSocket, then becomes its reader.
func (d *clientDriver) dial(ctx context.Context, c *clientWS, url string) {
	defer d.wg.Done()
	conn, res, err := d.dialer.DialContext(ctx, url, d.header)
	if res != nil && res.Body != nil {
		res.Body.Close()
	}
	if err != nil {
		d.post(func(now clock.Instant) {
			if d.conns[c.id] == c {
				delete(d.conns, c.id)
				d.m.Handle(now, wire.Closed{Conn: c.id, Error: true})
			}
		})
		return
	}
	if !c.attach(conn) {
		conn.Close() // closed while dialing
		return
	}
	d.wg.Add(1)
	go c.write(&d.wg)
	if !d.post(func(now clock.Instant) {
		if d.conns[c.id] == c {
			d.m.Handle(now, wire.Dialed{Conn: c.id})
		}
	}) {
		c.close()
		return
	}
	for {
		typ, data, err := conn.ReadMessage()
		if err != nil {
			// A close frame or the connection ending (also abruptly) is
			// "transport close"; a failure of the connection itself is an error.
			var ce *websocket.CloseError
			orderly := errors.As(err, &ce) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
			d.post(func(now clock.Instant) {
				if d.conns[c.id] == c {
					delete(d.conns, c.id)
					d.m.Handle(now, wire.Closed{Conn: c.id, Error: !orderly})
				}
			})
			c.close()
			return
		}
		if typ != websocket.TextMessage && typ != websocket.BinaryMessage {
			continue
		}
		if !d.post(func(now clock.Instant) {
			if d.conns[c.id] == c {
				d.m.Handle(now, wire.Recv{Conn: c.id, Data: data, Binary: typ == websocket.BinaryMessage})
			}
		}) {
			c.close()
			return
		}
	}
}

// waitIdle waits (at most for timeout) until no request or WebSocket of the
// machine is left, so that a closing connection can say goodbye (the close
// packet of a polling session, a WebSocket close frame).
func (d *clientDriver) waitIdle(timeout time.Duration) {
	var ch chan struct{}
	if !d.call(func(clock.Instant) {
		ch = make(chan struct{})
		d.idle = ch
		d.checkIdle()
	}) {
		return
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	case <-d.done:
	}
}

func (d *clientDriver) checkIdle() {
	if d.idle != nil && len(d.fetches) == 0 && len(d.conns) == 0 {
		close(d.idle)
		d.idle = nil
	}
}

// stop ends the driver and every connection, and waits for the goroutines.
func (d *clientDriver) stop() {
	d.stopLoop()
	d.wg.Wait()
}

func (d *clientDriver) shutdown() {
	d.cancel()
	for id, cancel := range d.fetches {
		delete(d.fetches, id)
		cancel()
	}
	for id, c := range d.conns {
		delete(d.conns, id)
		c.close()
	}
}

// clientWS is one client WebSocket: a queue drained by one writer
// goroutine (gorilla allows one writer), closed with a close frame after the
// frames already queued.
type clientWS struct {
	id     wire.ConnID
	cancel context.CancelFunc // aborts the dial
	wake   chan struct{}

	mu      sync.Mutex
	conn    *websocket.Conn
	queue   []wire.Frame
	writing bool
	closing bool
}

// writeTimeout bounds one WebSocket write of the client.
const writeTimeout = 10 * time.Second

func (c *clientWS) attach(conn *websocket.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return false
	}
	c.conn = conn
	return true
}

// enqueue queues frames; volatile frames are dropped while earlier ones are
// still being written (the transport is not writable).
func (c *clientWS) enqueue(frames []wire.Frame, volatile bool) {
	c.mu.Lock()
	if c.closing || volatile && (c.writing || len(c.queue) > 0) {
		c.mu.Unlock()
		return
	}
	c.queue = append(c.queue, frames...)
	c.mu.Unlock()
	c.signal()
}

func (c *clientWS) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *clientWS) close() {
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	c.cancel()
	c.signal()
}

func (c *clientWS) write(wg *sync.WaitGroup) {
	defer wg.Done()
	for range c.wake {
		c.mu.Lock()
		batch := c.queue
		c.queue = nil
		c.writing = len(batch) > 0
		conn := c.conn
		c.mu.Unlock()
		conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		for _, f := range batch {
			t := websocket.TextMessage
			if f.Binary {
				t = websocket.BinaryMessage
			}
			if err := conn.WriteMessage(t, f.Data); err != nil {
				conn.Close() // the reader sees it and reports Closed
				c.drop()
				return
			}
		}
		c.mu.Lock()
		c.writing = false
		more := len(c.queue) > 0
		closing := c.closing
		c.mu.Unlock()
		if more {
			c.signal()
			continue
		}
		if closing {
			conn.SetWriteDeadline(time.Now().Add(time.Second))
			conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
			conn.Close()
			return
		}
	}
}

func (c *clientWS) drop() {
	c.mu.Lock()
	c.queue, c.writing, c.closing = nil, false, true
	c.mu.Unlock()
}
