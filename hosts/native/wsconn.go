package native

import (
	"encoding/binary"
	"net"
	"sync"
	"time"

	"github.com/socketcore/socketcore/core/wire"
)

// wsConn is one server WebSocket after the upgrade (gorilla performs the
// upgrade only; frames are written here). A frame is written by whoever finds
// the connection idle: the driver writes a Send or a Broadcast straight to the
// socket without blocking (wsconn_linux.go) — one syscall per connection and
// no goroutine, as a hand-written broadcast loop would. Only what the kernel
// does not take at once (a slow reader, a large message) is queued for a
// writer goroutine, started on demand, which writes the queue with writev
// (several frames per syscall) and blocking writes bounded by writeTTL. An
// idle connection therefore costs no writer goroutine and no buffer.
type wsConn struct {
	id wire.ConnID

	mu        sync.Mutex
	nc        net.Conn // nil until the upgrade completed
	raw       *rawWriter
	queue     [][]byte // encoded frames (one or more each), oldest first
	running   bool     // a writer goroutine owns the socket's writes
	closing   bool     // close after the queue
	closed    bool
	slow      bool // a write timed out: a slow consumer (limits.go)
	closeCode int  // the close frame's code; 0: 1000, -1: none
	// the driver's frames for this connection waiting for the end of the
	// drain (driver.pend); owned by the driver goroutine
	pendHead, pendTail int32
	wg                 *sync.WaitGroup
	writeTTL           time.Duration
	send               sendState // the send queue's bound (limits.go)
	// deflate is the permessage-deflate negotiated by the upgrade request
	// (deflate.go), nil if none; set before the driver sees c, then
	// immutable.
	deflate *wsDeflate
}

// appendFrames appends the server frames (unmasked, FIN) of fs to b.
func appendFrames(b []byte, fs []wire.Frame) []byte {
	for _, f := range fs {
		op := byte(0x1)
		if f.Binary {
			op = 0x2
		}
		b = appendFrame(b, op, f.Data)
	}
	return b
}

// appendFrame appends one final frame; op may carry rsv1 (deflate.go).
func appendFrame(b []byte, op byte, payload []byte) []byte {
	b = append(b, 0x80|op)
	switch n := len(payload); {
	case n < 126:
		b = append(b, byte(n))
	case n < 1<<16:
		b = append(b, 126, byte(n>>8), byte(n))
	default:
		b = append(b, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, payload...)
}

func framesLen(fs []wire.Frame) int {
	n := 0
	for _, f := range fs {
		n += len(f.Data) + 10
	}
	return n
}

// enqueue writes frame — encoded frames; shared says it is a broadcast's and
// immutable, otherwise it is the caller's scratch buffer, copied if it must
// wait — or queues it. False when the queue is over limit (a slow consumer).
func (c *wsConn) enqueue(frame []byte, shared, volatile bool, limit int) bool {
	ok, _ := c.offer(frame, shared, volatile, limit)
	return ok
}

// offer is enqueue, also reporting a volatile frame dropped (metrics.go).
func (c *wsConn) offer(frame []byte, shared, volatile bool, limit int) (ok, dropped bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing || c.closed {
		return true, false
	}
	busy := c.running || len(c.queue) > 0
	if volatile && busy {
		return true, true // not writable right now: drop
	}
	if !busy && c.raw != nil {
		n, err := c.raw.write(frame)
		if n == len(frame) {
			return true, false
		}
		if err != nil && !wouldBlock(err) {
			// The reader sees the broken connection and reports it.
			c.closed = true
			c.queue = nil
			c.nc.Close()
			return true, false
		}
		if n == 0 && volatile {
			return true, true // the kernel buffer is full: not writable, drop
		}
		frame = frame[n:]
	}
	if len(c.queue) >= limit {
		return false, false
	}
	if c.send.lim != nil && !c.send.lim.admit(c, len(frame)) {
		return false, false // over the send bound (limits.go)
	}
	if !shared {
		frame = append([]byte(nil), frame...)
	}
	c.queue = append(c.queue, frame)
	c.kickLocked()
	return true, false
}

// writable reports whether a frame would be written now rather than queued.
func (c *wsConn) writable() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.running && len(c.queue) == 0 && !c.closing && !c.closed
}

// closeAfterWrites closes the connection once the queue is written, with a
// normal close frame.
func (c *wsConn) closeAfterWrites() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing || c.closed {
		return
	}
	c.closing = true
	if c.nc == nil {
		return // never upgraded; the handler sees closing and gives up
	}
	c.kickLocked()
}

// closeNow drops the queue and closes the connection, after a close frame
// with code unless code is -1 (the peer is gone).
func (c *wsConn) closeNow(code int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.closing, c.closeCode, c.queue = true, code, nil
	if c.nc == nil {
		return
	}
	if !c.running {
		c.closed = true
		if code != -1 && c.raw != nil {
			c.raw.write(closeFrame(code))
		}
		c.nc.Close()
		return
	}
	// The writer closes after its current write, which must not wait for
	// a peer that stopped reading.
	c.nc.SetWriteDeadline(time.Now())
}

// control writes a control frame from a reader goroutine (a pong).
func (c *wsConn) control(op byte, payload []byte) {
	c.enqueue(appendFrame(nil, op, payload), true, false, 1<<30)
}

func closeFrame(code int) []byte {
	if code == 0 {
		code = 1000
	}
	if code == 1005 { // "no status": an empty close
		return []byte{0x88, 0}
	}
	return []byte{0x88, 2, byte(code >> 8), byte(code)}
}

// attach is called once the upgrade completed.
func (c *wsConn) attach(nc net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nc = nc
	c.raw = newRawWriter(nc)
	if c.closing && len(c.queue) == 0 {
		c.closed = true
		nc.Close()
		return false
	}
	c.kickLocked()
	return true
}

func (c *wsConn) kickLocked() {
	if c.running || c.nc == nil || c.closed || (len(c.queue) == 0 && !c.closing) {
		return
	}
	c.running = true
	c.wg.Add(1)
	go c.write()
}

// write is the writer goroutine: it writes the queue until it is empty.
func (c *wsConn) write() {
	defer c.wg.Done()
	var bufs net.Buffers
	for {
		c.mu.Lock()
		if len(c.queue) == 0 {
			c.running = false
			if c.closing && !c.closed {
				c.closed = true
				nc, code := c.nc, c.closeCode
				c.mu.Unlock()
				if code != -1 {
					nc.SetWriteDeadline(time.Now().Add(time.Second))
					nc.Write(closeFrame(code))
				}
				nc.Close()
				return
			}
			// Direct writes check the socket's deadline too (RawConn):
			// leave none behind.
			c.nc.SetWriteDeadline(time.Time{})
			c.mu.Unlock()
			return
		}
		batch := c.queue
		c.queue = nil
		nc := c.nc
		c.mu.Unlock()
		bufs = append(bufs[:0], batch...)
		err := c.writeBatch(nc, &bufs) // writev, within writeTTL (limits.go)
		clear(batch)
		if err != nil {
			c.mu.Lock()
			c.queue, c.closed, c.running = nil, true, false
			c.mu.Unlock()
			nc.Close() // the reader sees the error and reports Closed
			return
		}
	}
}
