package handler

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// The handler protocol on stdio: each message is a 4-byte little-endian
// length and that many bytes of JSON (a Request in, a Response out). It is
// the seam between the handler and a platform: the local runner
// (hosts/wasi/runner) speaks it over the module's stdin and stdout; a
// platform adapter (Fastly's hostcalls, a WAGI/CGI wrapper) would turn its
// own request and response into these two records.

// MaxFrame bounds one message (the core's MaxPayload is 1e6 by default;
// JSON and base64 add a third).
const MaxFrame = 16 << 20

// ReadFrame reads one message into v; io.EOF at a clean end.
func ReadFrame(r io.Reader, v any) error {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("handler: truncated frame header")
		}
		return err
	}
	n := uint32(hdr[0]) | uint32(hdr[1])<<8 | uint32(hdr[2])<<16 | uint32(hdr[3])<<24
	if n > MaxFrame {
		return fmt.Errorf("handler: frame of %d bytes", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return fmt.Errorf("handler: truncated frame: %w", err)
	}
	return json.Unmarshal(b, v)
}

// WriteFrame writes v as one message.
func WriteFrame(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	n := len(b)
	if n > MaxFrame {
		return fmt.Errorf("handler: frame of %d bytes", n)
	}
	_, err = w.Write(append([]byte{byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24)}, b...))
	return err
}
