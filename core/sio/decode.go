package sio

import (
	"bytes"
	"unicode/utf8"

	"github.com/socketcore/socketcore/core/internal/jsontext"
)

// Decode decodes one Socket.IO packet: the payload of one Engine.IO message,
// `<type>[<attachments>-][<nsp>,][<ack id>][<JSON>]` (PROTOCOL-NOTES §10,
// socket.io-parser Decoder.decodeString + isPayloadValid).
//
// It matches the official decoder on every input the official encoder can
// produce and on every rejection (checked differentially against
// socket.io-parser 4.2.7 on half a million generated inputs), and is
// deliberately stricter where the official one leans on JavaScript's loose
// Number() coercion:
//   - an empty input, or one starting with whitespace, is an error
//     (official: Number("") == 0, so it decodes as CONNECT);
//   - the attachment count must be ASCII digits (official also takes " 2",
//     "0x2", "2.0", "2e0", "+2");
//   - the ack id must be ASCII digits, at most MaxAckID, and must not be
//     followed by whitespace (official folds whitespace into the id, giving
//     0 for " " and NaN for "1 2", and rounds ids above 2^53);
//   - the namespace must be valid UTF-8, and the JSON nests at most
//     lim.MaxDepth deep.
//
// For a binary type Decode checks the header only; placeholders are checked
// against the attachments by the Reassembler (or CheckPlaceholders).
// The returned Packet's Data aliases b. Decode allocates only for a
// namespace other than "/".
func Decode(b []byte, lim Limits) (Packet, error) {
	return decode(b, lim, "")
}

// decode is Decode with a namespace string to reuse when the packet names
// the same namespace (saves the allocation of converting it).
func decode(b []byte, lim Limits, nspHint string) (Packet, error) {
	var p Packet
	// Type: one digit (decodeString: `Number(str.charAt(0))`).
	if len(b) == 0 || b[0] < '0' || b[0] > '6' {
		return Packet{}, ErrInvalidType
	}
	p.Type = Type(b[0] - '0')
	i := 1

	// Attachments: `<digits>-` after a binary type.
	if p.Type.Binary() {
		start, n := i, 0
		for ; i < len(b) && isDigit(b[i]); i++ {
			if n < 1e8 { // saturate: stays far below MaxInt32
				n = n*10 + int(b[i]-'0')
			}
		}
		if i == start || i >= len(b) || b[i] != '-' || n < 1 {
			return Packet{}, ErrInvalidAttachments
		}
		if n > lim.maxAttachments() {
			return Packet{}, ErrTooManyAttachments
		}
		p.Attachments = n
		i++
	}

	// Namespace: from '/' to the first ',' or the end of the input
	// (PROTOCOL-NOTES §10: `40/custom` == `40/custom,`).
	p.Nsp = "/"
	if i < len(b) && b[i] == '/' {
		end := len(b)
		if c := bytes.IndexByte(b[i:], ','); c >= 0 {
			end = i + c
		}
		nsp := b[i:end]
		i = min(end+1, len(b))
		switch {
		case len(nsp) == 1:
		case string(nsp) == nspHint:
			p.Nsp = nspHint
		case !utf8.Valid(nsp):
			return Packet{}, ErrInvalidNamespace
		default:
			p.Nsp = string(nsp)
		}
	}

	// Ack id: the run of digits before the payload.
	if i < len(b) && isDigit(b[i]) {
		var id uint64
		for ; i < len(b) && isDigit(b[i]); i++ {
			id = id*10 + uint64(b[i]-'0')
			if id > MaxAckID {
				return Packet{}, ErrInvalidID
			}
		}
		p.ID, p.HasID = id, true
	}

	// Payload: the rest, which must be JSON of the right shape.
	if i < len(b) {
		data := b[i:]
		if isSpace(data[0]) {
			// JSON.parse would skip it, but the official id scan takes
			// whitespace as part of the id (Number(" ") == 0).
			return Packet{}, ErrInvalidID
		}
		if jsontext.Validate(data, lim.maxDepth()) != nil {
			return Packet{}, ErrInvalidPayload
		}
		data = jsontext.TrimSpace(data)
		if !payloadValid(p.Type, data) {
			return Packet{}, ErrInvalidPayload
		}
		p.Data = data
	}
	return p, nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// payloadValid is socket.io-parser's Decoder.isPayloadValid for a payload
// that passed jsontext.Validate (PROTOCOL-NOTES §10).
func payloadValid(t Type, data []byte) bool {
	k := jsontext.Kind(data)
	switch t {
	case Connect:
		return k == '{' // isObject(payload)
	case Disconnect:
		return false // payload === undefined
	case ConnectError:
		return k == '"' || k == '{'
	case Event, BinaryEvent:
		if k != '[' {
			return false
		}
		first, ok := jsontext.ArrayFirst(data)
		if !ok {
			return false // payload[0] is undefined
		}
		switch fk := jsontext.Kind(first); {
		case fk == '"':
			return !isReserved(first)
		case fk == '-' || isDigit(fk):
			return true // typeof payload[0] === "number"
		}
		return false
	case Ack, BinaryAck:
		return k == '['
	}
	return false
}

// reservedEvents may not be used as event names (socket.io-parser
// RESERVED_EVENTS).
var reservedEvents = [...]string{
	"connect",        // used on the client side
	"connect_error",  // used on the client side
	"disconnect",     // used on both sides
	"disconnecting",  // used on the server side
	"newListener",    // used by the Node.js EventEmitter
	"removeListener", // used by the Node.js EventEmitter
}

// IsReservedEvent reports whether name is one of the event names that the
// protocol forbids in EVENT packets: connect, connect_error, disconnect,
// disconnecting, newListener and removeListener.
func IsReservedEvent(name string) bool {
	for _, r := range reservedEvents {
		if name == r {
			return true
		}
	}
	return false
}

// isReserved reports whether the JSON string literal lit decodes to a
// reserved event name. It does not allocate.
func isReserved(lit []byte) bool {
	body := lit[1 : len(lit)-1]
	if bytes.IndexByte(body, '\\') < 0 {
		return IsReservedEvent(string(body))
	}
	if len(body) > 6*len("removeListener") {
		return false
	}
	var tmp [6 * len("removeListener")]byte
	dec, ok := jsontext.AppendUnquote(tmp[:0], lit)
	return ok && IsReservedEvent(string(dec))
}

// EventName returns the name of an event from its payload (Packet.Data of an
// EVENT or BINARY_EVENT): the first array element, which is a string or a
// number. A number is returned as JavaScript's String(number) writes it
// ("1e2" → "100", "-0" → "0", "1e400" → "Infinity"), since that is the
// listener key the JS EventEmitter uses for it. ok is false when data is not
// an array whose first element is a string or a number. data must be valid
// JSON (as Decode guarantees). The reserved names are not rejected here;
// Decode does that.
func EventName(data []byte) (name string, ok bool) {
	first, ok := jsontext.ArrayFirst(data)
	if !ok {
		return "", false
	}
	switch k := jsontext.Kind(first); {
	case k == '"':
		return jsontext.Unquote(first)
	case k == '-' || isDigit(k):
		return jsNumberString(first)
	}
	return "", false
}
