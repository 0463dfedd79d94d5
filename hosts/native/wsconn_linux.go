package native

import (
	"errors"
	"net"
	"syscall"
)

// rawWriter writes to a socket without blocking: what the kernel does not
// take at once is left to the connection's writer goroutine.
type rawWriter struct {
	rc      syscall.RawConn
	writeFn func(fd uintptr) bool
	buf     []byte
	n       int
	err     error
}

func newRawWriter(nc net.Conn) *rawWriter {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil // TLS, say: every write goes through the writer goroutine
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	w := &rawWriter{rc: rc}
	w.writeFn = w.writeOnce
	return w
}

// write writes what the socket takes now; n < len(b) with a wouldBlock error
// when the kernel buffer is full.
func (w *rawWriter) write(b []byte) (int, error) {
	w.buf, w.n, w.err = b, 0, nil
	if err := w.rc.Write(w.writeFn); err != nil {
		w.buf = nil
		return 0, err
	}
	w.buf = nil
	return w.n, w.err
}

func (w *rawWriter) writeOnce(fd uintptr) bool {
	for len(w.buf) > w.n {
		n, err := syscall.Write(int(fd), w.buf[w.n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			w.err = err
			break
		}
		w.n += n
	}
	return true // never wait: the caller queues the rest
}

func wouldBlock(err error) bool { return errors.Is(err, syscall.EAGAIN) }
