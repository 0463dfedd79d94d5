// Package eio is the Engine.IO protocol v4 packet and payload codec
// (engine.io-protocol README, "Packet encoding" and "Payload" sections), and
// the v3 codec for servers that also accept v3 clients (v3.go). Pure
// functions over byte slices: no state, no I/O.
//
// It may import only the standard library's pure packages and core/internal/b64.
package eio

import (
	"errors"

	"github.com/socketcore/socketcore/core/internal/b64"
)

// Type is an Engine.IO packet type.
type Type byte

// Packet types (engine.io-protocol §"Packet types").
const (
	Open Type = iota
	Close
	Ping
	Pong
	Message
	Upgrade
	Noop
)

var typeNames = [...]string{"open", "close", "ping", "pong", "message", "upgrade", "noop"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "invalid"
}

// Packet is one Engine.IO packet. Binary is only meaningful for Message:
// the payload is raw bytes rather than text.
type Packet struct {
	Type   Type
	Data   []byte
	Binary bool
}

// Separator joins packets in a v4 polling payload (record separator).
const Separator = 0x1e

// ErrParse is returned for bytes that are not an Engine.IO packet; the
// official server closes the session with reason "parse error".
var ErrParse = errors.New("eio: parse error")

// DecodePacket decodes one packet as received in one WebSocket message.
// A binary message is always a Message packet with the raw bytes
// (engine.io-protocol §"WebSocket"). Data aliases b.
//
// As the official parser does, an empty text message decodes as Open (which
// a server ignores).
func DecodePacket(b []byte, binary bool) (Packet, error) {
	if binary {
		return Packet{Type: Message, Data: b, Binary: true}, nil
	}
	if len(b) == 0 {
		return Packet{Type: Open}, nil
	}
	c := b[0]
	if c == 'b' {
		// engine.io-parser decodePacket takes "b"+base64 as a binary
		// message on any transport, WebSocket text frames included
		data, ok := decodeBase64(b[1:])
		if !ok {
			return Packet{}, ErrParse
		}
		return Packet{Type: Message, Data: data, Binary: true}, nil
	}
	if c < '0' || c > '6' {
		return Packet{}, ErrParse
	}
	return Packet{Type: Type(c - '0'), Data: b[1:]}, nil
}

// AppendPacket appends the WebSocket form of p: the type digit and text
// data, or for a binary message the raw bytes alone.
func AppendPacket(dst []byte, p Packet) []byte {
	if p.Binary {
		return append(dst, p.Data...)
	}
	dst = append(dst, '0'+byte(p.Type))
	return append(dst, p.Data...)
}

// AppendPayloadPacket appends the polling form of p: as AppendPacket for
// text, and "b" + base64 for binary (engine.io-protocol §"HTTP long-polling").
func AppendPayloadPacket(dst []byte, p Packet) []byte {
	if p.Binary {
		dst = append(dst, 'b')
		return b64.AppendEncode(dst, p.Data)
	}
	return AppendPacket(dst, p)
}

// AppendEncodedToPayload appends one already-encoded WebSocket frame (as made
// by AppendPacket) to a polling payload, inserting the separator when dst is
// not empty. It lets a packet encoded once serve both transports.
func AppendEncodedToPayload(dst []byte, frame []byte, binary bool) []byte {
	if len(dst) > 0 {
		dst = append(dst, Separator)
	}
	if binary {
		dst = append(dst, 'b')
		return b64.AppendEncode(dst, frame)
	}
	return append(dst, frame...)
}

// DecodePayload splits a v4 polling payload and calls fn for each packet in
// order; fn returning false stops early. Text Data aliases body; binary
// packets are decoded into fresh slices. The first malformed packet stops
// decoding with ErrParse (packets before it have been delivered).
func DecodePayload(body []byte, fn func(Packet) bool) error {
	for start := 0; start <= len(body); {
		end := start
		for end < len(body) && body[end] != Separator {
			end++
		}
		part := body[start:end]
		var p Packet
		if len(part) > 0 && part[0] == 'b' {
			data, ok := decodeBase64(part[1:])
			if !ok {
				return ErrParse
			}
			p = Packet{Type: Message, Data: data, Binary: true}
		} else {
			var err error
			if p, err = DecodePacket(part, false); err != nil {
				return err
			}
		}
		if !fn(p) {
			return nil
		}
		start = end + 1
	}
	return nil
}

// decodeBase64 accepts padded and unpadded standard base64, as Node's
// Buffer.from(s, "base64") does for well-formed input.
func decodeBase64(s []byte) ([]byte, bool) { return b64.Decode(s) }
