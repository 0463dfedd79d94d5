// Package sio owns the Socket.IO protocol v5 packet codec: Decode and Append
// of one packet (PROTOCOL-NOTES §10, socket.io-protocol "Packet encoding"),
// the payload rules of the official socket.io-parser 4.2.x
// (isPayloadValid), event names, and the Reassembler that joins a binary
// packet with the attachments that follow it. msgpack.go is the codec of
// the other parser a server may choose (Parser): socket.io-msgpack-parser,
// transcoded to and from this package's Packet form.
//
// It holds no connection state beyond one Reassembler per connection and
// knows nothing of Engine.IO framing: its input is the payload of one
// Engine.IO message (so `2["foo"]`, not `42["foo"]`).
//
// Like all of core/ it may import only core/* and bytes, strings, strconv,
// errors, slices, maps, sort, math, unicode/utf8, unicode/utf16 and
// encoding/base64 — no fmt, encoding/json, reflect, sync, os, time or unsafe —
// starts no goroutines, and never panics on any input. Payloads stay raw JSON
// (STYLE.md §3); validation uses core/internal/jsontext, MessagePack
// core/internal/msgpack.
package sio

import "errors"

// Type is a Socket.IO packet type (PROTOCOL-NOTES §10).
type Type byte

// Packet types, as written in the first byte of a packet.
const (
	Connect      Type = 0
	Disconnect   Type = 1
	Event        Type = 2
	Ack          Type = 3
	ConnectError Type = 4
	BinaryEvent  Type = 5
	BinaryAck    Type = 6
)

var typeNames = [...]string{
	Connect:      "CONNECT",
	Disconnect:   "DISCONNECT",
	Event:        "EVENT",
	Ack:          "ACK",
	ConnectError: "CONNECT_ERROR",
	BinaryEvent:  "BINARY_EVENT",
	BinaryAck:    "BINARY_ACK",
}

// String returns the protocol name of t (e.g. "BINARY_EVENT"), or "UNKNOWN".
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "UNKNOWN"
}

// Binary reports whether packets of type t announce binary attachments.
func (t Type) Binary() bool { return t == BinaryEvent || t == BinaryAck }

// Packet is one decoded Socket.IO packet.
//
// After Decode, Data aliases the input buffer: it is valid only as long as
// the caller keeps that buffer unchanged. Copy it (bytes.Clone) to keep it
// longer.
type Packet struct {
	Type Type
	// Nsp is the namespace, "/" when the packet does not name one. Append
	// treats "" like "/".
	Nsp string
	// ID is the ack id; valid only when HasID. Decode accepts at most
	// MaxAckID, the largest integer a JS number holds exactly.
	ID    uint64
	HasID bool
	// Data is the raw JSON payload without surrounding whitespace, nil when
	// the packet has none: an array for EVENT/ACK and their binary forms, an
	// object for CONNECT, an object or a string for CONNECT_ERROR. Binary
	// placeholders ({"_placeholder":true,"num":i}) are left in place.
	//
	// Decode accepts an absent payload for every type, as the official
	// decoder does (it runs isPayloadValid only on a payload that is there):
	// `2`, `3/admin,12` are valid packets with Data == nil, and deciding what
	// they mean is up to the caller.
	Data []byte
	// Attachments is the number of binary attachments announced by a
	// BINARY_EVENT or BINARY_ACK (1 or more); 0 for other types.
	Attachments int
}

// MaxAckID is the largest ack id Decode accepts: 2^53-1, the largest integer
// that a JS number (what the official parser stores ids in) holds exactly.
const MaxAckID = 1<<53 - 1

// Default limits, used for zero fields of Limits.
const (
	DefaultMaxAttachments = 10 // socket.io-parser DecoderOptions.maxAttachments
	DefaultMaxDepth       = 64
)

// Limits bounds what Decode accepts. The zero value means the defaults.
type Limits struct {
	// MaxAttachments is the largest attachment count a binary packet may
	// announce (default 10, as socket.io-parser). A negative value rejects
	// every binary packet.
	MaxAttachments int
	// MaxDepth is the deepest nesting of arrays and objects allowed in a
	// payload (default 64; the depth of [[1]] is 2). Zero or negative means
	// the default.
	MaxDepth int
}

func (l Limits) maxAttachments() int {
	if l.MaxAttachments == 0 {
		return DefaultMaxAttachments
	}
	return l.MaxAttachments
}

func (l Limits) maxDepth() int {
	if l.MaxDepth <= 0 {
		return DefaultMaxDepth
	}
	return l.MaxDepth
}

// Decoding errors. Each is a distinct failure of the official parser; the
// message in parentheses is its text. Any of them means the peer broke the
// protocol: the official server closes the connection ("parse error").
var (
	// ErrInvalidType: the first byte is not a packet type 0-6 ("unknown packet type").
	ErrInvalidType = errors.New("sio: unknown packet type")
	// ErrInvalidAttachments: a binary packet's attachment count is missing,
	// malformed or zero ("Illegal attachments"), or, once its attachments
	// arrived, a placeholder names none of them ("illegal attachments").
	ErrInvalidAttachments = errors.New("sio: illegal attachments")
	// ErrTooManyAttachments: the count exceeds Limits.MaxAttachments ("too many attachments").
	ErrTooManyAttachments = errors.New("sio: too many attachments")
	// ErrInvalidNamespace: the namespace is not valid UTF-8 (Decode), or, for
	// Check, does not start with '/' or contains ',' ("invalid namespace").
	ErrInvalidNamespace = errors.New("sio: invalid namespace")
	// ErrInvalidID: the ack id exceeds MaxAckID or is followed by
	// whitespace (which the official parser would take as part of the id).
	ErrInvalidID = errors.New("sio: invalid ack id")
	// ErrInvalidPayload: the payload is not JSON, nests deeper than
	// Limits.MaxDepth, or has the wrong shape for the type ("invalid payload").
	ErrInvalidPayload = errors.New("sio: invalid payload")
	// ErrUnexpectedText: a text packet arrived while the Reassembler waited
	// for attachments ("got plaintext data when reconstructing a packet").
	ErrUnexpectedText = errors.New("sio: got plaintext data when reconstructing a packet")
	// ErrUnexpectedBinary: a binary message arrived while no binary packet was
	// pending ("got binary data when not reconstructing a packet").
	ErrUnexpectedBinary = errors.New("sio: got binary data when not reconstructing a packet")
)
