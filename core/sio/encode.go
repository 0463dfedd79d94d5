package sio

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/socketcore/socketcore/core/internal/jsontext"
)

// Append appends the wire form of p to dst, as socket.io-parser
// Encoder.encodeAsString writes it (socket.io-protocol "Packet encoding"):
//
//	<type>[<attachments>-][<nsp>,][<id>][<data>]
//
// The attachment count is written for BINARY_EVENT and BINARY_ACK only; the
// namespace, always followed by ',', only when it is neither "" nor "/"; the
// id only when HasID; the data only when non-empty. Append does not validate
// p: use Check first for a packet that did not come from Decode. For binary
// packets, send the attachments as the following binary messages.
func Append(dst []byte, p Packet) []byte {
	dst = strconv.AppendUint(dst, uint64(p.Type), 10)
	if p.Type.Binary() {
		dst = strconv.AppendInt(dst, int64(p.Attachments), 10)
		dst = append(dst, '-')
	}
	if p.Nsp != "" && p.Nsp != "/" {
		dst = append(dst, p.Nsp...)
		dst = append(dst, ',')
	}
	if p.HasID {
		dst = strconv.AppendUint(dst, p.ID, 10)
	}
	return append(dst, p.Data...)
}

// AppendPlaceholder appends the JSON that stands for binary attachment num in
// a binary packet's payload: exactly {"_placeholder":true,"num":<num>}
// (socket.io-parser deconstructPacket).
func AppendPlaceholder(dst []byte, num int) []byte {
	dst = append(dst, `{"_placeholder":true,"num":`...)
	dst = strconv.AppendInt(dst, int64(num), 10)
	return append(dst, '}')
}

// Check reports whether Append(nil, p) is a packet that Decode (with lim)
// accepts and decodes back to p, returning the error Decode would give
// otherwise. It is the counterpart of socket.io-parser's isPacketValid and
// of the Encoder's "invalid namespace: must not contain a comma" check.
// Fields that do not apply (ID without HasID, Attachments of a non-binary
// type) are ignored.
func Check(p Packet, lim Limits) error {
	if p.Type > BinaryAck {
		return ErrInvalidType
	}
	if p.Type.Binary() {
		if p.Attachments < 1 {
			return ErrInvalidAttachments
		}
		if p.Attachments > lim.maxAttachments() {
			return ErrTooManyAttachments
		}
	}
	if p.Nsp != "" && (p.Nsp[0] != '/' || strings.IndexByte(p.Nsp, ',') >= 0 || !utf8.ValidString(p.Nsp)) {
		return ErrInvalidNamespace
	}
	if p.HasID && p.ID > MaxAckID {
		return ErrInvalidID
	}
	if len(p.Data) > 0 {
		if isSpace(p.Data[0]) || isSpace(p.Data[len(p.Data)-1]) ||
			jsontext.Validate(p.Data, lim.maxDepth()) != nil || !payloadValid(p.Type, p.Data) {
			return ErrInvalidPayload
		}
	}
	return nil
}
