package native

import (
	"encoding/binary"
	"errors"
	"net"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// The server's WebSocket reads do not go through gorilla's reader. Gorilla
// keeps a goroutine blocked deep in its read path for every connection, and
// that goroutine's stack (4–8 KB) plus gorilla's read buffer were most of an
// idle connection's memory. Here a connection waits for data on a goroutine
// that holds no buffer and has a minimal stack (wsread_linux.go); when bytes
// arrive they are read into a pooled buffer and parsed by frameReader, which
// keeps bytes only while a frame or a fragmented message is incomplete.
// Gorilla performs the upgrade only; frames are written by wsconn.go.

// Close codes of RFC 6455 §7.4.1 that the reader sends.
const (
	closeProtocolError = websocket.CloseProtocolError           // 1002
	closeInvalidData   = websocket.CloseInvalidFramePayloadData // 1007
	closeTooBig        = websocket.CloseMessageTooBig           // 1009
)

// frameError is a violation of RFC 6455 by the peer (or a message over the
// limit): the connection is closed with Code.
type frameError struct {
	Code int
	Msg  string
}

func (e *frameError) Error() string { return "websocket: " + e.Msg }

// errPeerClosed is returned by frameReader.feed after the peer's close frame.
var errPeerClosed = errors.New("websocket: closed by the peer")

// frameSink receives what a frameReader parses.
type frameSink interface {
	// message is a complete data message; data is the reader's to keep.
	message(binary bool, data []byte)
	// ping must be answered with a pong carrying payload (valid only
	// during the call).
	ping(payload []byte)
	// closeFrame is the peer's close frame (code 1005 when it had none).
	closeFrame(code int, reason string)
}

// frameReader parses the client-to-server frames of RFC 6455 from the bytes
// fed to it. It is not safe for concurrent use.
type frameReader struct {
	limit int // largest message payload; larger ones are refused (1009)
	// inflate is set when the connection negotiated permessage-deflate
	// (deflate.go): messages with RSV1 are inflated, to limit bytes at
	// most. Nil: RSV1 is a protocol error.
	inflate *inflaters

	// partial holds the bytes of an incomplete frame (header included)
	// between two feeds; nil when feeds end on a frame boundary.
	partial []byte
	// msg is the fragmented data message being assembled (its frames so
	// far); inMsg says a message is open (a continuation is expected).
	msg       []byte
	inMsg     bool
	msgBinary bool
	msgZ      bool // the message is compressed (RSV1 on its first frame)
}

// feed parses p (which it may modify: payloads are unmasked in place).
// It returns a *frameError for a protocol violation, errPeerClosed after a
// close frame, nil otherwise.
func (r *frameReader) feed(p []byte, sink frameSink) error {
	if len(r.partial) > 0 {
		// Complete the pending frame first, taking only what it needs, so
		// that the rest of p is parsed in place.
		for {
			need, err := r.frameLen(r.partial)
			if err != nil {
				return err
			}
			if need < 0 { // header still incomplete: take one more byte
				if len(p) == 0 {
					return nil
				}
				r.partial = append(r.partial, p[0])
				p = p[1:]
				continue
			}
			take := need - len(r.partial)
			if take > len(p) {
				r.partial = append(r.partial, p...)
				return nil
			}
			r.partial = append(r.partial, p[:take]...)
			p = p[take:]
			frame := r.partial
			r.partial = nil
			if err := r.frame(frame, true, sink); err != nil {
				return err
			}
			break
		}
		if len(p) == 0 {
			return nil
		}
	}
	for len(p) > 0 {
		need, err := r.frameLen(p)
		if err != nil {
			return err
		}
		if need < 0 || need > len(p) {
			// Keep the incomplete frame. Reserve its full size once known
			// (bounded by the limit, checked by frameLen) so a large frame
			// is not copied again at every read.
			c := need
			if c < len(p) {
				c = len(p) + 14
			}
			r.partial = append(make([]byte, 0, c), p...)
			return nil
		}
		if err := r.frame(p[:need], false, sink); err != nil {
			return err
		}
		p = p[need:]
	}
	return nil
}

// frameLen returns the length of the frame starting at b (header + payload),
// or -1 if b does not yet hold the whole header. It checks what the header
// alone tells: masking, reserved bits, opcodes, control-frame rules, limit.
func (r *frameReader) frameLen(b []byte) (int, error) {
	if len(b) < 2 {
		return -1, nil
	}
	b0, b1 := b[0], b[1]
	op := b0 & 0x0f
	if b0&0x70 != 0 {
		switch {
		case r.inflate == nil:
			return 0, &frameError{closeProtocolError, "reserved bits set (no extension was negotiated)"}
		case b0&0x30 != 0:
			return 0, &frameError{closeProtocolError, "RSV2 or RSV3 set"}
		case op != 0x1 && op != 0x2:
			// RFC 7692 §6: RSV1 on the first frame of a data message only
			return 0, &frameError{closeProtocolError, "RSV1 set on a control or continuation frame"}
		}
	}
	fin := b0&0x80 != 0
	switch op {
	case 0x0: // continuation
		if !r.inMsg {
			return 0, &frameError{closeProtocolError, "continuation frame without a message"}
		}
	case 0x1, 0x2:
		if r.inMsg {
			return 0, &frameError{closeProtocolError, "data frame inside a fragmented message"}
		}
	case 0x8, 0x9, 0xa:
		if !fin {
			return 0, &frameError{closeProtocolError, "fragmented control frame"}
		}
	default:
		return 0, &frameError{closeProtocolError, "reserved opcode"}
	}
	if b1&0x80 == 0 {
		return 0, &frameError{closeProtocolError, "unmasked client frame"}
	}
	n := int64(b1 & 0x7f)
	hdr := 2
	switch n {
	case 126:
		if len(b) < 4 {
			return -1, nil
		}
		n = int64(binary.BigEndian.Uint16(b[2:4]))
		hdr = 4
	case 127:
		if len(b) < 10 {
			return -1, nil
		}
		u := binary.BigEndian.Uint64(b[2:10])
		if u > 1<<62 {
			return 0, &frameError{closeTooBig, "message too big"}
		}
		n = int64(u)
		hdr = 10
	}
	if op >= 0x8 && n > 125 {
		return 0, &frameError{closeProtocolError, "control frame payload over 125 bytes"}
	}
	if op < 0x8 {
		total := n
		if op == 0x0 {
			total += int64(len(r.msg))
		}
		if total > int64(r.limit) {
			return 0, &frameError{closeTooBig, "message too big"}
		}
	}
	return hdr + 4 + int(n), nil
}

// frame handles one complete frame (checked by frameLen); owned says f is
// the reader's own (a completed partial frame), not the caller's buffer.
func (r *frameReader) frame(f []byte, owned bool, sink frameSink) error {
	op := f[0] & 0x0f
	fin := f[0]&0x80 != 0
	hdr := 2
	switch f[1] & 0x7f {
	case 126:
		hdr = 4
	case 127:
		hdr = 10
	}
	var key [4]byte
	copy(key[:], f[hdr:hdr+4])
	payload := f[hdr+4:]
	unmask(key, payload)
	switch op {
	case 0x9:
		sink.ping(payload)
		return nil
	case 0xa:
		return nil
	case 0x8:
		code, reason := websocket.CloseNoStatusReceived, ""
		switch {
		case len(payload) == 1:
			return &frameError{closeProtocolError, "close frame with a 1-byte payload"}
		case len(payload) >= 2:
			code = int(binary.BigEndian.Uint16(payload))
			if !validCloseCode(code) {
				return &frameError{closeProtocolError, "invalid close code"}
			}
			if !utf8.Valid(payload[2:]) {
				return &frameError{closeInvalidData, "invalid UTF-8 in the close reason"}
			}
			reason = string(payload[2:])
		}
		sink.closeFrame(code, reason)
		return errPeerClosed
	}
	// Data. A message in one frame is copied out of the caller's buffer
	// once; one the reader assembled is handed over as is.
	if op != 0x0 {
		r.msgBinary = op == 0x2
		r.msgZ = f[0]&rsv1 != 0
		if fin {
			return r.deliver(payload, !owned, sink)
		}
		r.inMsg = true
		r.msg = append(make([]byte, 0, len(payload)*2), payload...)
		return nil
	}
	r.msg = append(r.msg, payload...)
	if !fin {
		return nil
	}
	msg := r.msg
	r.msg, r.inMsg = nil, false
	return r.deliver(msg, false, sink)
}

// deliver hands a complete message to the sink; borrowed says data belongs
// to the read buffer and must be copied.
func (r *frameReader) deliver(data []byte, borrowed bool, sink frameSink) error {
	if r.msgZ {
		var err error
		if data, err = r.inflate.inflate(data, r.limit); err != nil {
			return err
		}
		borrowed = false
	}
	if !r.msgBinary && !utf8.Valid(data) {
		return &frameError{closeInvalidData, "invalid UTF-8 in a text message"}
	}
	if borrowed {
		data = append([]byte(nil), data...)
	}
	sink.message(r.msgBinary, data)
	return nil
}

// unmask XORs payload with the masking key (RFC 6455 §5.3).
func unmask(key [4]byte, b []byte) {
	if len(b) >= 8 {
		k := uint64(binary.LittleEndian.Uint32(key[:]))
		k |= k << 32
		for len(b) >= 8 {
			binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k)
			b = b[8:]
		}
	}
	for i := range b {
		b[i] ^= key[i&3]
	}
}

// validCloseCode reports whether a peer may send code (RFC 6455 §7.4).
func validCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1011:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// readBufferSize is the size of the pooled buffers reads go into; a
// connection holds one only while it has bytes to parse.
const readBufferSize = 16 << 10

// readBlocking reads a connection on a goroutine of its own with blocking
// reads into a buffer of its own (for connections that are not plain
// sockets, and on systems other than Linux).
func (t *transport) readBlocking(c *wsConn, nc net.Conn) {
	w := &wsReader{t: t, c: c}
	w.fr.limit = t.opts.MaxHTTPBufferSize
	if c.deflate != nil {
		w.fr.inflate = &t.inflaters
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		w.end(readAll(nc, w.feed))
	}()
}

func readAll(nc net.Conn, feed func([]byte) error) error {
	buf := make([]byte, 4096)
	for {
		n, err := nc.Read(buf)
		if n > 0 {
			if ferr := feed(buf[:n]); ferr != nil {
				return ferr
			}
		}
		if err != nil {
			return err
		}
	}
}
