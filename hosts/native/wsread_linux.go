package native

import (
	"io"
	"net"
	"syscall"
	"time"
)

// On Linux an idle WebSocket costs one parked goroutine that has only ever
// waited: its stack stays at the 2 KB minimum, it holds no buffer. The
// waiter tries a read into a pooled buffer and gives the buffer back when
// there is nothing to read, before it parks. When a read returns bytes (or
// the end, or an error), a read worker takes the connection, feeds the
// frames to the machine, reads on without blocking until the socket is
// drained, and starts a new waiter. Workers are kept while
// there is work (their grown stacks are reused) and end after workerIdle.
// A goroutine whose stack grew past 2 KB keeps it for good (the runtime
// shrinks a stack only when almost none of it is in use), which is why the
// waiting and the work are not done by the same goroutine.

const workerIdle = 5 * time.Second

// rawReader is one connection's reads. Its callbacks are made once, not at
// every read.
type rawReader struct {
	wsReader
	rc              syscall.RawConn
	firstFn, readFn func(fd uintptr) bool
	waitErr         error
	bp              *[]byte // the buffer of the waiter's read
	buf             []byte
	n               int
	err             error
}

func (t *transport) startReading(c *wsConn, nc net.Conn) {
	if sc, ok := nc.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			r := &rawReader{wsReader: wsReader{t: t, c: c}, rc: rc}
			r.fr.limit = t.opts.MaxHTTPBufferSize
			if c.deflate != nil {
				r.fr.inflate = &t.inflaters
			}
			r.firstFn, r.readFn = r.first, r.read
			t.wg.Add(1)
			go r.wait()
			return
		}
	}
	// Not a plain socket (TLS, say): a goroutine with blocking reads.
	t.readBlocking(c, nc)
}

// wait is a waiter goroutine's whole life; keep it shallow (no defer, no
// work) so that its stack never grows.
func (r *rawReader) wait() {
	r.n, r.err = 0, nil
	r.waitErr = r.rc.Read(r.firstFn)
	r.t.dispatch(r)
	r.t.wg.Done()
}

// dispatch gives r to an idle worker, or to a new one.
func (t *transport) dispatch(r *rawReader) {
	select {
	case t.work <- r:
	default:
		t.wg.Add(1)
		go t.worker(r)
	}
}

func (t *transport) worker(r *rawReader) {
	defer t.wg.Done()
	var idle *time.Timer
	for {
		if r.process() {
			t.wg.Add(1)
			go r.wait()
		}
		if idle == nil {
			idle = time.NewTimer(workerIdle)
		} else {
			idle.Reset(workerIdle)
		}
		select {
		case r = <-t.work:
		case <-idle.C:
			return
		case <-t.quit:
			idle.Stop()
			return
		}
	}
}

// process feeds what the waiter read and reads on until the socket is
// drained; false when the connection ended.
func (r *rawReader) process() bool {
	if r.waitErr != nil {
		r.end(r.waitErr)
		return false
	}
	bp := r.bp
	r.bp = nil
	r.buf = *bp
	defer func() {
		r.buf = nil
		r.t.readBuffers.Put(bp)
	}()
	for {
		if r.n > 0 {
			if err := r.feed(r.buf[:r.n]); err != nil {
				r.end(err)
				return false
			}
		}
		switch {
		case r.err == syscall.EAGAIN || r.err == syscall.EINTR:
			return true
		case r.err != nil:
			r.end(r.err)
			return false
		case r.n < len(r.buf):
			return true
		}
		r.n, r.err = 0, nil
		if err := r.rc.Read(r.readFn); err != nil {
			r.err = err
		}
	}
}

// first is the waiter's read: into a pooled buffer, given back (and false:
// RawConn.Read parks until the socket is readable) when there is nothing.
func (r *rawReader) first(fd uintptr) bool {
	bp := r.t.readBuffers.Get().(*[]byte)
	n, err := syscall.Read(int(fd), *bp)
	if err == syscall.EAGAIN || err == syscall.EINTR {
		r.t.readBuffers.Put(bp)
		return false
	}
	r.bp = bp
	switch {
	case err != nil:
		r.err = err
	case n == 0:
		r.err = io.EOF
	default:
		r.n = n
	}
	return true
}

// read reads once without blocking (the socket is non-blocking).
func (r *rawReader) read(fd uintptr) bool {
	n, err := syscall.Read(int(fd), r.buf)
	switch {
	case err != nil:
		r.err = err
	case n == 0:
		r.err = io.EOF
	default:
		r.n = n
	}
	return true
}
