package sio

import (
	"bytes"
	"math"
	"strconv"

	"github.com/socketcore/socketcore/core/internal/jsontext"
)

// Reassembler rebuilds binary packets for one connection: a BINARY_EVENT or
// BINARY_ACK text packet announces N attachments, which follow as the next N
// binary messages (PROTOCOL-NOTES §10; socket.io-parser Decoder.add and
// BinaryReconstructor). Feed it every Socket.IO message of the connection in
// order: text messages to Text, binary ones to Binary.
//
// The zero value is ready to use. A Reassembler is not safe for concurrent
// use. After an error the official server closes the connection ("parse
// error"); the Reassembler is left reset, ready for a new packet.
type Reassembler struct {
	// Limits applies to every packet; the zero value means the defaults.
	Limits Limits

	pkt     Packet   // the pending binary packet; Data is owned
	atts    [][]byte // attachments received so far; cap == pkt.Attachments
	pending bool
	nsp     string // last non-root namespace decoded, reused to save allocations
}

// Text decodes a text message. A packet without attachments is returned at
// once, with complete == true and Data aliasing b (as Decode). For a binary
// packet, Text keeps a copy of it (b may be reused as soon as Text returns)
// and returns complete == false and a zero Packet; Binary completes it.
//
// A text message while attachments are pending is an error
// (ErrUnexpectedText), and the pending packet is dropped.
func (r *Reassembler) Text(b []byte) (p Packet, complete bool, err error) {
	if r.pending {
		r.Reset()
		return Packet{}, false, ErrUnexpectedText
	}
	p, err = decode(b, r.Limits, r.nsp)
	if err != nil {
		return Packet{}, false, err
	}
	if p.Nsp != "/" {
		r.nsp = p.Nsp
	}
	if !p.Type.Binary() {
		return p, true, nil
	}
	if p.Data != nil {
		p.Data = bytes.Clone(p.Data)
	}
	r.pkt = p
	r.atts = make([][]byte, 0, p.Attachments)
	r.pending = true
	return Packet{}, false, nil
}

// Binary adds one attachment (the payload of one binary message) to the
// pending packet. When it is the last one announced, Binary checks the
// placeholders (CheckPlaceholders) and returns the packet (Type still
// BINARY_EVENT or BINARY_ACK, Data with its placeholders) and its
// attachments in order, with complete == true. The returned Data and atts are
// the caller's: the Reassembler keeps no reference to them. The attachments
// are b's themselves, not copies: the caller must not reuse a buffer it has
// passed to Binary.
//
// A binary message while no packet is pending is an error
// (ErrUnexpectedBinary).
func (r *Reassembler) Binary(b []byte) (p Packet, atts [][]byte, complete bool, err error) {
	if !r.pending {
		return Packet{}, nil, false, ErrUnexpectedBinary
	}
	r.atts = append(r.atts, b)
	if len(r.atts) < r.pkt.Attachments {
		return Packet{}, nil, false, nil
	}
	p, atts = r.pkt, r.atts
	r.Reset()
	if err := CheckPlaceholders(p.Data, p.Attachments); err != nil {
		return Packet{}, nil, false, err
	}
	return p, atts, true, nil
}

// Pending reports whether a binary packet is waiting for attachments.
func (r *Reassembler) Pending() bool { return r.pending }

// Reset drops the pending packet, if any (socket.io-parser Decoder.destroy).
func (r *Reassembler) Reset() {
	r.pkt = Packet{}
	r.atts = nil
	r.pending = false
}

// maxPlaceholderDepth bounds the recursion of CheckPlaceholders on input that
// did not come from Decode; far above any sane Limits.MaxDepth.
const maxPlaceholderDepth = 10000

// CheckPlaceholders checks the placeholders of a binary packet's payload
// against its n attachments, as socket.io-parser reconstructPacket does: every
// object whose "_placeholder" member is true must have a "num" member that is
// an integer in [0, n). Otherwise it returns ErrInvalidAttachments ("illegal
// attachments"). Placeholders are not searched inside a placeholder object.
// A repeated key counts only with its last value, as with JSON.parse: an
// earlier value is neither a placeholder member nor searched.
//
// Unlike the official code (typeof num === "number"), a non-integer num such
// as 0.5 is rejected: it would resolve to undefined there.
//
// data must be valid JSON, as Decode returns it (nil is fine); on other input
// CheckPlaceholders returns ErrInvalidPayload or an unspecified result, and
// never panics. Nesting deeper than 10000 is reported as ErrInvalidPayload.
// It runs in one pass, and allocates only for objects holding an invalid
// placeholder (to track repeated keys).
func CheckPlaceholders(data []byte, n int) error {
	if len(data) == 0 {
		return nil
	}
	// Fast path: no placeholder can be spelled without this key or an escape.
	if bytes.IndexByte(data, '\\') < 0 && !hasPlaceholderKey(data) {
		return nil
	}
	w := phWalker{b: data, n: n}
	i, err := w.value(0, 0)
	if err == nil && skipSpace(data, i) != len(data) {
		err = ErrInvalidPayload
	}
	return err
}

type phWalker struct {
	b []byte
	n int
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// value walks the JSON value at b[i:] (after whitespace) and returns the
// index just past it. A placeholder error found inside an object is held
// back until the object ends, because it does not count when that object is
// itself a placeholder; structural errors return at once.
func (w *phWalker) value(i, depth int) (int, error) {
	b := w.b
	i = skipSpace(b, i)
	if i >= len(b) {
		return i, ErrInvalidPayload
	}
	switch b[i] {
	case '"':
		return w.str(i)
	case '[':
		if depth >= maxPlaceholderDepth {
			return i, ErrInvalidPayload
		}
		var held error
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == ']' {
			return i + 1, nil
		}
		for {
			var err error
			i, err = w.value(i, depth+1)
			if err == ErrInvalidPayload {
				return i, err
			}
			if held == nil {
				held = err
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return i, ErrInvalidPayload
			}
			switch b[i] {
			case ',':
				i++
				continue
			case ']':
				return i + 1, held
			}
			return i, ErrInvalidPayload
		}
	case '{':
		if depth >= maxPlaceholderDepth {
			return i, ErrInvalidPayload
		}
		var (
			isPH bool
			num  []byte
			// pending maps a member key to whether its latest value holds an
			// invalid placeholder. JSON.parse keeps only the last value of a
			// repeated key, so a later value clears an earlier error. Created
			// on the first error only.
			pending map[string]bool
		)
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == '}' {
			return i + 1, nil
		}
		for {
			if i >= len(b) || b[i] != '"' {
				return i, ErrInvalidPayload
			}
			ks := i
			var err error
			i, err = w.str(i)
			if err != nil {
				return i, err
			}
			key := b[ks:i]
			i = skipSpace(b, i)
			if i >= len(b) || b[i] != ':' {
				return i, ErrInvalidPayload
			}
			vs := skipSpace(b, i+1)
			i, err = w.value(vs, depth+1)
			if err == ErrInvalidPayload {
				return i, err
			}
			if err != nil || pending != nil {
				if pending == nil {
					pending = make(map[string]bool)
				}
				markKey(pending, key, err != nil)
			}
			switch {
			case jsontext.EqualString(key, "_placeholder"):
				isPH = string(b[vs:i]) == "true" // data._placeholder === true
			case jsontext.EqualString(key, "num"):
				num = b[vs:i]
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return i, ErrInvalidPayload
			}
			switch b[i] {
			case ',':
				i = skipSpace(b, i+1)
				continue
			case '}':
				i++
				if isPH {
					if !validNum(num, w.n) {
						return i, ErrInvalidAttachments
					}
					return i, nil
				}
				for _, bad := range pending {
					if bad {
						return i, ErrInvalidAttachments
					}
				}
				return i, nil
			}
			return i, ErrInvalidPayload
		}
	}
	// number or literal: up to the next delimiter.
	s := i
	for i < len(b) {
		c := b[i]
		if c == ',' || c == ']' || c == '}' || c == ':' || isSpace(c) {
			break
		}
		i++
	}
	if i == s {
		return i, ErrInvalidPayload
	}
	return i, nil
}

// markKey records in m whether the latest value of the member named by the
// string literal key holds an invalid placeholder. Keys already in m are
// updated; a key without an error is only recorded when it overrides one.
func markKey(m map[string]bool, key []byte, bad bool) {
	body := key[1 : len(key)-1]
	if bytes.IndexByte(body, '\\') < 0 {
		if _, ok := m[string(body)]; ok || bad {
			m[string(body)] = bad
		}
		return
	}
	k, ok := jsontext.Unquote(key)
	if !ok {
		return
	}
	if _, seen := m[k]; seen || bad {
		m[k] = bad
	}
}

// str returns the index just past the string literal at b[i].
func (w *phWalker) str(i int) (int, error) {
	b := w.b
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1, nil
		}
	}
	return len(b), ErrInvalidPayload
}

// validNum reports whether the JSON value num is a number holding an
// integer in [0, n).
func validNum(num []byte, n int) bool {
	if len(num) == 0 || !(num[0] == '-' || isDigit(num[0])) {
		return false // missing, or typeof num !== "number"
	}
	if len(num) <= 9 {
		v, plain := 0, true
		for _, c := range num {
			if !isDigit(c) {
				plain = false
				break
			}
			v = v*10 + int(c-'0')
		}
		if plain {
			return v < n
		}
	}
	f, err := strconv.ParseFloat(string(num), 64)
	if err != nil && !math.IsInf(f, 0) {
		return false
	}
	return f >= 0 && f < float64(n) && f == math.Trunc(f)
}

// hasPlaceholderKey is bytes.Contains(b, []byte("_placeholder")), written
// out: bytes.Index would link its Rabin-Karp search into core.wasm.
func hasPlaceholderKey(b []byte) bool {
	const key = "_placeholder"
	for {
		i := bytes.IndexByte(b, '_')
		if i < 0 || len(b)-i < len(key) {
			return false
		}
		if string(b[i:i+len(key)]) == key {
			return true
		}
		b = b[i+1:]
	}
}
