package native

import (
	"io"
	"net"
	"syscall"
	"time"
	"unsafe"
)

// On Linux an idle WebSocket costs one parked goroutine that has only ever
// waited: its stack stays at the 2 KB minimum, it holds no buffer. When the
// socket becomes readable (a one-byte MSG_PEEK says bytes, the end or an
// error are there), a read worker takes the connection, reads without
// blocking into a pooled buffer until the socket is drained, feeds the
// frames to the machine and starts a new waiter. Workers are kept while
// there is work (their grown stacks are reused) and end after workerIdle.
// A goroutine whose stack grew past 2 KB keeps it for good (the runtime
// shrinks a stack only when almost none of it is in use), which is why the
// waiting and the work are not done by the same goroutine.

const workerIdle = 5 * time.Second

// rawReader is one connection's reads. Its callbacks are made once, not at
// every read.
type rawReader struct {
	wsReader
	rc             syscall.RawConn
	peekFn, readFn func(fd uintptr) bool
	waitErr        error
	one            [1]byte
	buf            []byte
	n              int
	err            error
}

func (t *transport) startReading(c *wsConn, nc net.Conn) {
	if sc, ok := nc.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			r := &rawReader{wsReader: wsReader{t: t, c: c, nc: nc}, rc: rc}
			r.fr.limit = t.opts.MaxHTTPBufferSize
			r.peekFn, r.readFn = r.peek, r.read
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
	r.waitErr = r.rc.Read(r.peekFn)
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

// process reads what the socket holds; false when the connection ended.
func (r *rawReader) process() bool {
	if r.waitErr != nil {
		r.end(r.waitErr)
		return false
	}
	bp := r.t.readBuffers.Get().(*[]byte)
	r.buf = *bp
	defer func() {
		r.buf = nil
		r.t.readBuffers.Put(bp)
	}()
	for {
		r.n, r.err = 0, nil
		if err := r.rc.Read(r.readFn); err != nil {
			r.err = err
		}
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
	}
}

// peek reports whether the socket has something to say (bytes, the end or
// an error); false makes RawConn.Read wait for readability.
func (r *rawReader) peek(fd uintptr) bool {
	_, _, e := syscall.Syscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&r.one[0])), 1,
		syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	return e != syscall.EAGAIN && e != syscall.EINTR
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
