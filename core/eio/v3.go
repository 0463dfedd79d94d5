package eio

// Engine.IO protocol v3 (socketio/engine.io-protocol v3), for servers that
// also accept v3 clients (Socket.IO 2.x), as Node's engine.io 6.6 does with
// allowEIO3. Its codec is engine.io-parser 2.2, which engine.io 6.6 ships as
// lib/parser-v3; the functions below follow it byte for byte on well-formed
// input and are stricter on malformed input where its looseness comes from
// JavaScript (Number(), Buffer.from(s, "base64"), silently short slices).
//
// Frames keep the v4 WebSocket form (AppendPacket) everywhere else: a text
// frame is the type digit and its text, a binary frame is a message's raw
// bytes. These functions translate them at the transport's edge.

import (
	"strconv"
	"unicode/utf8"

	"github.com/socketcore/socketcore/core/internal/b64"
)

// Unknown is the type of a v3 packet whose type byte (binary) or character
// (after "b") the v3 parser does not know. The official server ignores such
// a packet on an open transport and drops an upgrade probe that sends one.
const Unknown Type = 0xff

// DecodePacketV3 decodes one v3 packet as received in one WebSocket message
// (or one entry of a payload). A binary message is the type byte followed by
// the data; a text message is the type digit and text, or "b", the type
// digit and base64. Binary and base64 packets have Binary set whatever
// their type. Data aliases b, except for base64.
//
// Unlike v4, an empty text message is a parse error.
func DecodePacketV3(b []byte, binary bool) (Packet, error) {
	if binary {
		if len(b) == 0 {
			return Packet{Type: Unknown, Binary: true}, nil
		}
		return Packet{Type: typeV3(b[0]), Data: b[1:], Binary: true}, nil
	}
	if len(b) == 0 {
		return Packet{}, ErrParse
	}
	c := b[0]
	if c == 'b' {
		t, data := Unknown, b[1:]
		if len(data) > 0 {
			if d := data[0]; d >= '0' && d <= '6' {
				t = Type(d - '0')
			}
			data = data[1:]
		}
		raw, ok := decodeBase64(data)
		if !ok {
			return Packet{}, ErrParse
		}
		return Packet{Type: t, Data: raw, Binary: true}, nil
	}
	if c < '0' || c > '6' {
		return Packet{}, ErrParse
	}
	return Packet{Type: Type(c - '0'), Data: b[1:]}, nil
}

func typeV3(c byte) Type {
	if c > byte(Noop) {
		return Unknown
	}
	return Type(c)
}

// AppendBinaryMessageV3 appends the v3 WebSocket form of a binary message:
// the message type byte 4, then the data (sent as a binary frame).
func AppendBinaryMessageV3(dst, data []byte) []byte {
	dst = append(dst, byte(Message))
	return append(dst, data...)
}

// AppendBase64Message appends the base64 form of a binary message, for
// clients that asked for it with b64=1 (or polling in v4): "b" + base64 in
// v4, "b4" + base64 in v3 (sent as text).
func AppendBase64Message(dst, data []byte, v3 bool) []byte {
	dst = append(dst, 'b')
	if v3 {
		dst = append(dst, '0'+byte(Message))
	}
	return b64.AppendEncode(dst, data)
}

// AppendPayloadV3 appends one frame (AppendPacket form) to a v3 text
// payload: "<length>:<packet>", the length counted in UTF-16 code units as
// JavaScript's String length is, a binary message as "b4" + base64.
func AppendPayloadV3(dst, frame []byte, binary bool) []byte {
	if binary {
		dst = strconv.AppendInt(dst, int64(2+b64.EncodedLen(len(frame))), 10)
		dst = append(dst, ':')
		return AppendBase64Message(dst, frame, true)
	}
	dst = strconv.AppendInt(dst, int64(UTF16Len(frame)), 10)
	dst = append(dst, ':')
	return append(dst, frame...)
}

// AppendBinaryPayloadV3 appends one frame (AppendPacket form) to a v3
// binary payload (used when the client supports binary and a payload holds
// a binary message): 0 for text or 1 for binary, the length's decimal digits
// as bytes 0-9, 255, then the packet: the text's UTF-8 bytes, or the type
// byte 4 and the data.
func AppendBinaryPayloadV3(dst, frame []byte, binary bool) []byte {
	n := len(frame)
	if binary {
		dst = append(dst, 1)
		n++
	} else {
		dst = append(dst, 0)
	}
	start := len(dst)
	dst = strconv.AppendInt(dst, int64(n), 10)
	for i := start; i < len(dst); i++ {
		dst[i] -= '0'
	}
	dst = append(dst, 0xff)
	if binary {
		return AppendBinaryMessageV3(dst, frame)
	}
	return append(dst, frame...)
}

// DecodePayloadV3 splits a v3 text payload ("<length>:<packet>..." with
// lengths in UTF-16 code units, the body read as UTF-8) and calls fn for each
// packet in order; fn returning false stops early. An entry of length 0
// carries no packet. The first malformed entry stops decoding with ErrParse
// (packets before it have been delivered); an empty body is malformed.
// Text Data aliases body.
func DecodePayloadV3(body []byte, fn func(Packet) bool) error {
	if len(body) == 0 {
		return ErrParse
	}
	for i := 0; i < len(body); {
		n, start, ok := lengthPrefix(body, i)
		if !ok {
			return ErrParse
		}
		end, ok := skipUTF16(body, start, n)
		if !ok {
			return ErrParse
		}
		i = end
		if start == end {
			continue
		}
		p, err := DecodePacketV3(body[start:end], false)
		if err != nil {
			return err
		}
		if !fn(p) {
			return nil
		}
	}
	return nil
}

// lengthPrefix reads "<digits>:" at body[i:]: the length and where the
// packet starts. A length that cannot fit in the rest of body fails (a UTF-16
// code unit takes at least one byte).
func lengthPrefix(body []byte, i int) (n, start int, ok bool) {
	j := i
	for j < len(body) && body[j] != ':' {
		c := body[j]
		if c < '0' || c > '9' {
			return 0, 0, false
		}
		if n <= len(body) {
			n = n*10 + int(c-'0')
		}
		j++
	}
	if j == i || j == len(body) || n > len(body)-j-1 {
		return 0, 0, false
	}
	return n, j + 1, true
}

// skipUTF16 returns the index after n UTF-16 code units of body from start,
// false if body ends first or the n-th unit is the first half of a
// surrogate pair.
func skipUTF16(body []byte, start, n int) (int, bool) {
	i := start
	for n > 0 {
		if i >= len(body) {
			return 0, false
		}
		size, units := utf8Seq(body[i:])
		if units > n {
			return 0, false
		}
		i += size
		n -= units
	}
	return i, true
}

// UTF16Len is the length JavaScript gives the string that b decodes to as
// UTF-8 (TextDecoder, Buffer.toString): UTF-16 code units, each invalid
// sequence one U+FFFD.
func UTF16Len(b []byte) int {
	n := 0
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			n++
			continue
		}
		size, units := utf8Seq(b[i:])
		i += size
		n += units
	}
	return n
}

// utf8Seq reads the UTF-8 sequence at the start of b (not empty) as the
// WHATWG decoder does: its size in bytes and its UTF-16 code units. An
// invalid or truncated sequence is one U+FFFD covering its longest valid
// prefix (at least one byte).
func utf8Seq(b []byte) (size, units int) {
	c := b[0]
	if c < utf8.RuneSelf {
		return 1, 1
	}
	need, lo, hi := 0, byte(0x80), byte(0xbf)
	switch {
	case c >= 0xc2 && c <= 0xdf:
		need = 1
	case c == 0xe0:
		need, lo = 2, 0xa0
	case c == 0xed:
		need, hi = 2, 0x9f
	case c >= 0xe1 && c <= 0xef:
		need = 2
	case c == 0xf0:
		need, lo = 3, 0x90
	case c == 0xf4:
		need, hi = 3, 0x8f
	case c >= 0xf1 && c <= 0xf3:
		need = 3
	default:
		return 1, 1
	}
	i := 1
	for range need {
		if i >= len(b) || b[i] < lo || b[i] > hi {
			return i, 1
		}
		lo, hi = 0x80, 0xbf
		i++
	}
	if need == 3 {
		return 4, 2
	}
	return i, 1
}

// DecodeBinaryPayloadV3 splits a v3 binary payload (a POST with
// Content-Type application/octet-stream; see AppendBinaryPayloadV3) and
// calls fn for each packet in order; fn returning false stops early. The
// whole body is split before any packet is delivered, as the official
// parser does, so a malformed structure delivers nothing; a malformed packet
// stops decoding with ErrParse after the ones before it. Text entries must
// be UTF-8 (surrogate code points allowed: the official client encodes lone
// surrogates so); an empty body holds no packet. Data aliases body.
func DecodeBinaryPayloadV3(body []byte, fn func(Packet) bool) error {
	for rest := body; len(rest) > 0; {
		var ok bool
		if _, _, rest, ok = binaryEntry(rest); !ok {
			return ErrParse
		}
	}
	for rest := body; len(rest) > 0; {
		var (
			text bool
			msg  []byte
			p    Packet
			err  error
		)
		text, msg, rest, _ = binaryEntry(rest)
		if text {
			if len(msg) > 0 && msg[0] != 'b' && !validWTF8(msg) {
				return ErrParse
			}
			p, err = DecodePacketV3(msg, false)
		} else {
			p, err = DecodePacketV3(msg, true)
		}
		if err != nil {
			return err
		}
		if !fn(p) {
			return nil
		}
	}
	return nil
}

// maxLengthDigits is the official parser's bound on a binary payload's
// length digits (more than 310 is a parse error).
const maxLengthDigits = 311

// binaryEntry splits the first entry of a binary payload.
func binaryEntry(b []byte) (text bool, msg, rest []byte, ok bool) {
	text = b[0] == 0
	n, i := 0, 1
	for ; i < len(b) && b[i] != 0xff; i++ {
		if b[i] > 9 || i > maxLengthDigits {
			return false, nil, nil, false
		}
		if n <= len(b) {
			n = n*10 + int(b[i])
		}
	}
	if i == 1 || i == len(b) || n > len(b)-i-1 {
		return false, nil, nil, false
	}
	i++
	return text, b[i : i+n], b[i+n:], true
}

// validWTF8 reports whether b is UTF-8 in which UTF-16 surrogates (encoded
// as three bytes, ED A0-BF 80-BF) are also allowed, as utf8.js decodes
// non-strictly.
func validWTF8(b []byte) bool {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			if b[i] == 0xed && i+2 < len(b) && b[i+1] >= 0xa0 && b[i+1] <= 0xbf && b[i+2]&0xc0 == 0x80 {
				i += 3
				continue
			}
			return false
		}
		i += size
	}
	return true
}
