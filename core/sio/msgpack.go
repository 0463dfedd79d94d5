package sio

import (
	"bytes"
	"errors"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/socketcore/socketcore/core/internal/jsontext"
	"github.com/socketcore/socketcore/core/internal/msgpack"
)

// Parser names the Socket.IO parser of a connection: how packets become
// Engine.IO messages. Every client of a server uses the server's (as in
// Node, where it is the `parser` option of the Server and of io()).
type Parser uint8

const (
	// DefaultParser is socket.io-parser, the protocol's own encoding: a
	// text message per packet plus a binary message per attachment
	// (Decode, Append, Reassembler).
	DefaultParser Parser = 0
	// MsgpackParser is socket.io-msgpack-parser 3.x: every packet is one
	// binary message, the MessagePack map {type, data, nsp, id}
	// (DecodeMsgpack, AppendMsgpack).
	MsgpackParser Parser = 1
)

// String returns "default", "msgpack" or "unknown".
func (p Parser) String() string {
	switch p {
	case DefaultParser:
		return "default"
	case MsgpackParser:
		return "msgpack"
	}
	return "unknown"
}

// ErrUnknownParser is ParseParser's error.
var ErrUnknownParser = errors.New(`sio: unknown parser (want "default" or "msgpack")`)

// ParseParser returns the parser named name: "default" (also "" and
// "json") or "msgpack".
func ParseParser(name string) (Parser, error) {
	switch name {
	case "", "default", "json":
		return DefaultParser, nil
	case "msgpack":
		return MsgpackParser, nil
	}
	return DefaultParser, ErrUnknownParser
}

// ErrInvalidMsgpack: a message of the msgpack parser is not exactly one
// well-formed MessagePack value (notepack.io: "Could not parse", "N trailing
// bytes", or reading past the end).
var ErrInvalidMsgpack = errors.New("sio: malformed msgpack")

// The msgpack parser (socket.io-msgpack-parser 3.0.2 over notepack.io 2.2.0)
// carries what JavaScript values hold; the rest of the core keeps the
// default parser's representation (Packet.Data as JSON text, binary as
// placeholders plus attachments). DecodeMsgpack and AppendMsgpack transcode
// at that boundary:
//
//	msgpack (as notepack.io decodes it)  JSON Data (as JSON.stringify writes the JS value)
//	nil, true, false                     null, true, false
//	int / uint 8-64                      the integer, every digit kept
//	float 32/64                          the shortest form (Number::toString); NaN, ±Infinity → null
//	str                                  the string; invalid UTF-8 becomes U+FFFD per maximal subpart, as Buffer#toString
//	array / map                          array / object, members in order (repeated keys kept: the last wins when read)
//	bin, ext 8/16/32 of type 0 (ArrayBuffer)  a placeholder {"_placeholder":true,"num":i} + attachment i
//	fixext 1 of type 0 (undefined)       dropped from a map (with its key), null in an array
//	fixext 8 of type 0 (Date)            its toISOString() string, null when out of Date's range
//	any other ext (type t, bytes p)      [t, placeholder of p] (notepack.io's [type, Buffer])
//	map key                              str and bin as their text; numbers, nil, booleans, undefined as String(key);
//	                                     an array, map or any other ext key is refused (ErrInvalidPayload)
//
// and back: JSON numbers become what notepack.io writes for the same JS
// number (integers in the smallest int/uint encoding, -0 as 0; other
// values as float 64; integers beyond [-2^63, 2^64), which notepack.io
// writes modulo 2^64, as float 64), strings str (an escaped lone surrogate
// as U+FFFD), arrays and objects array and map, and when attachments are
// given every placeholder object naming one becomes bin.

// DecodeMsgpack decodes one message of the msgpack parser (socket.io-msgpack-
// parser's Decoder.add: notepack.io's decode, then checkPacket): a map
// whose "type" is an integer 0-4 (CONNECT..CONNECT_ERROR), "nsp" a string,
// "data" absent or an object for CONNECT, absent for DISCONNECT, a string or
// an object for CONNECT_ERROR, an array for EVENT and ACK, and "id" absent or
// an integer. Other keys are ignored.
//
// The packet comes back in the default parser's form: Data is fresh JSON
// text (see the mapping above), binary values are placeholders and atts
// the attachments, in document order, aliasing b; an EVENT or ACK with
// attachments is returned as BINARY_EVENT or BINARY_ACK with Attachments
// set, as the Reassembler returns one. Nsp is the namespace as sent ("" stays
// "").
//
// Besides notepack.io's and checkPacket's rejections (ErrInvalidMsgpack,
// ErrInvalidType, ErrInvalidNamespace, ErrInvalidPayload, ErrInvalidID), it
// applies the default parser's limits and a few deliberate checks of its
// own, each a packet the official server would take but has no sound
// meaning here:
//   - more binary values than lim.MaxAttachments: ErrTooManyAttachments;
//   - data nesting deeper than lim.MaxDepth: ErrInvalidPayload;
//   - an EVENT named like a reserved event ("disconnect", ...: the official
//     server would call that listener): ErrInvalidPayload, as socket.io-parser;
//   - binary inside a CONNECT or CONNECT_ERROR payload (auth is JSON here):
//     ErrInvalidPayload;
//   - a map with "_placeholder": true in a packet that also carries binary
//     (it would be taken for one): ErrInvalidAttachments;
//   - an ack id that is not in [0, MaxAckID]: ErrInvalidID;
//   - a map key that is an array, a map or an ext: ErrInvalidPayload.
//
// It never panics, and its work is linear in len(b).
func DecodeMsgpack(b []byte, lim Limits) (Packet, [][]byte, error) {
	r := msgpack.Reader{B: b}
	if r.Skip() != nil || !r.Done() {
		return Packet{}, nil, ErrInvalidMsgpack
	}
	// From here on every token is well-formed.
	r.Off = 0
	top, _ := r.Next()
	if top.Kind != msgpack.Map {
		return Packet{}, nil, ErrInvalidType // decoded.type is undefined
	}
	const (
		fType = iota
		fData
		fNsp
		fID
	)
	var at [4]int // offset of each field's value + 1 (the last one wins)
	var kbuf [16]byte
	for range top.Len {
		kt, _ := r.Next()
		if kt.Kind == msgpack.Array || kt.Kind == msgpack.Map {
			return Packet{}, nil, ErrInvalidPayload
		}
		key, ok := appendKey(kbuf[:0], kt)
		if !ok {
			return Packet{}, nil, ErrInvalidPayload
		}
		f := -1
		switch string(key) {
		case "type":
			f = fType
		case "data":
			f = fData
		case "nsp":
			f = fNsp
		case "id":
			f = fID
		}
		if f >= 0 {
			at[f] = r.Off + 1
		}
		r.Skip()
	}
	field := func(f int) (msgpack.Token, bool) {
		if at[f] == 0 {
			return msgpack.Token{}, false
		}
		fr := msgpack.Reader{B: b, Off: at[f] - 1}
		t, _ := fr.Next()
		if isUndefined(t) {
			return msgpack.Token{}, false
		}
		return t, true
	}

	var p Packet
	// type: isInteger(type) && 0 <= type <= 4
	tt, ok := field(fType)
	if n, isInt := intValue(tt); !ok || !isInt || n < float64(Connect) || n > float64(ConnectError) {
		return Packet{}, nil, ErrInvalidType
	}
	n, _ := intValue(tt)
	p.Type = Type(n)
	// nsp: a string
	nt, ok := field(fNsp)
	if !ok || nt.Kind != msgpack.Str {
		return Packet{}, nil, ErrInvalidNamespace
	}
	if string(nt.Bytes) == "/" {
		p.Nsp = "/"
	} else {
		p.Nsp = string(appendLossy(nil, nt.Bytes))
	}
	// data: the shape of its type (isDataValid)
	dt, hasData := field(fData)
	switch p.Type {
	case Connect:
		ok = !hasData || dt.Kind == msgpack.Map
	case Disconnect:
		ok = !hasData
	case ConnectError:
		ok = hasData && (dt.Kind == msgpack.Str || dt.Kind == msgpack.Map)
	default:
		ok = hasData && (dt.Kind == msgpack.Array || dt.Kind == msgpack.Ext && extKindOf(dt) == extTuple)
	}
	if !ok {
		return Packet{}, nil, ErrInvalidPayload
	}
	// id: undefined or an integer
	if it, ok := field(fID); ok {
		v, isInt := intValue(it)
		if !isInt {
			return Packet{}, nil, ErrInvalidID
		}
		if v < 0 || v > MaxAckID {
			return Packet{}, nil, ErrInvalidID // stricter: see above
		}
		p.ID, p.HasID = uint64(v), true
		if it.Kind == msgpack.Uint {
			p.ID = it.Uint
		}
	}
	if !hasData {
		return p, nil, nil
	}
	t := transcoder{r: msgpack.Reader{B: b, Off: at[fData] - 1}, maxDepth: lim.maxDepth(), maxAtts: lim.maxAttachments()}
	data, err := t.value(make([]byte, 0, len(b)+len(b)/2))
	if err != nil {
		return Packet{}, nil, err
	}
	if len(t.atts) > 0 {
		switch {
		case p.Type == Connect || p.Type == ConnectError:
			return Packet{}, nil, ErrInvalidPayload
		case t.literalPH:
			return Packet{}, nil, ErrInvalidAttachments
		}
		p.Type += BinaryEvent - Event // EVENT → BINARY_EVENT, ACK → BINARY_ACK
		p.Attachments = len(t.atts)
	}
	if p.Type == Event || p.Type == BinaryEvent {
		if first, ok := jsontext.ArrayFirst(data); ok && jsontext.Kind(first) == '"' && isReserved(first) {
			return Packet{}, nil, ErrInvalidPayload
		}
	}
	p.Data = data
	return p, t.atts, nil
}

// intValue returns the number t holds and whether it is an integer
// (Number.isInteger: finite, no fraction). Tokens that are not numbers are
// not integers.
func intValue(t msgpack.Token) (float64, bool) {
	switch t.Kind {
	case msgpack.Uint:
		return float64(t.Uint), true
	case msgpack.Int:
		return float64(t.Int), true
	case msgpack.Float32, msgpack.Float64:
		return t.Float, !math.IsInf(t.Float, 0) && t.Float == math.Trunc(t.Float)
	}
	return 0, false
}

// What notepack.io 2.2.0 makes of an ext.
type extKind uint8

const (
	extTuple     extKind = iota // [type, Buffer]
	extUndefined                // fixext 1, type 0
	extDate                     // fixext 8, type 0: milliseconds since the epoch, int64
	extBinary                   // ext 8/16/32, type 0: an ArrayBuffer
)

func extKindOf(t msgpack.Token) extKind {
	if t.ExtType != 0 {
		return extTuple
	}
	switch {
	case !t.Fixext:
		return extBinary
	case len(t.Bytes) == 1:
		return extUndefined
	case len(t.Bytes) == 8:
		return extDate
	}
	return extTuple
}

func isUndefined(t msgpack.Token) bool {
	return t.Kind == msgpack.Ext && extKindOf(t) == extUndefined
}

// appendKey appends String(key) for a map key notepack.io decoded into t
// (`value[key] = ...`); ok is false for the keys this package refuses.
func appendKey(dst []byte, t msgpack.Token) ([]byte, bool) {
	switch t.Kind {
	case msgpack.Str, msgpack.Bin:
		return appendLossy(dst, t.Bytes), true
	case msgpack.Nil:
		return append(dst, "null"...), true
	case msgpack.Bool:
		return strconv.AppendBool(dst, t.Bool), true
	case msgpack.Uint:
		return appendJSNumber(dst, float64(t.Uint)), true
	case msgpack.Int:
		return appendJSNumber(dst, float64(t.Int)), true
	case msgpack.Float32, msgpack.Float64:
		return appendJSNumber(dst, t.Float), true
	case msgpack.Ext:
		if extKindOf(t) == extUndefined {
			return append(dst, "undefined"...), true
		}
	}
	return dst, false
}

// appendLossy appends p decoded as UTF-8 the way Buffer#toString("utf8")
// (the WHATWG decoder) does: each maximal subpart of an ill-formed sequence
// becomes one U+FFFD.
func appendLossy(dst, p []byte) []byte {
	if utf8.Valid(p) {
		return append(dst, p...)
	}
	for i := 0; i < len(p); {
		c := p[i]
		if c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		if r, size := utf8.DecodeRune(p[i:]); r != utf8.RuneError || size > 1 {
			dst = append(dst, p[i:i+size]...)
			i += size
			continue
		}
		// ill-formed: the lead byte and as many continuation bytes as
		// could still have made a character
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
		}
		j := i + 1
		for k := 0; k < need && j < len(p) && p[j] >= lo && p[j] <= hi; k++ {
			j++
			lo, hi = 0x80, 0xbf
		}
		dst = append(dst, "\uFFFD"...)
		i = j
	}
	return dst
}

// transcoder writes one msgpack value as JSON, iteratively (no recursion,
// whatever the nesting).
type transcoder struct {
	r         msgpack.Reader
	maxDepth  int
	maxAtts   int
	atts      [][]byte
	literalPH bool // a map has "_placeholder": true
	scratch   []byte
}

type frame struct {
	isMap bool
	first bool
	left  int
}

func (t *transcoder) value(dst []byte) ([]byte, error) {
	var stack []frame
	for {
		if len(stack) > 0 {
			f := &stack[len(stack)-1]
			if f.left == 0 {
				if f.isMap {
					dst = append(dst, '}')
				} else {
					dst = append(dst, ']')
				}
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					return dst, nil
				}
				continue
			}
			f.left--
			if f.isMap {
				kt, _ := t.r.Next()
				key, ok := appendKey(t.scratch[:0], kt)
				t.scratch = key
				if !ok {
					return nil, ErrInvalidPayload
				}
				save := t.r.Off
				vt, _ := t.r.Next()
				if isUndefined(vt) {
					continue // JSON.stringify leaves the member out
				}
				t.r.Off = save
				if string(key) == "_placeholder" && vt.Kind == msgpack.Bool && vt.Bool {
					t.literalPH = true
				}
				if !f.first {
					dst = append(dst, ',')
				}
				f.first = false
				dst = jsontext.AppendQuote(dst, string(key))
				dst = append(dst, ':')
			} else {
				if !f.first {
					dst = append(dst, ',')
				}
				f.first = false
			}
		}
		tok, err := t.r.Next()
		if err != nil {
			return nil, ErrInvalidMsgpack // cannot happen after Skip
		}
		switch tok.Kind {
		case msgpack.Nil:
			dst = append(dst, "null"...)
		case msgpack.Bool:
			dst = strconv.AppendBool(dst, tok.Bool)
		case msgpack.Uint:
			dst = strconv.AppendUint(dst, tok.Uint, 10)
		case msgpack.Int:
			dst = strconv.AppendInt(dst, tok.Int, 10)
		case msgpack.Float32, msgpack.Float64:
			if math.IsNaN(tok.Float) || math.IsInf(tok.Float, 0) {
				dst = append(dst, "null"...)
			} else {
				dst = appendJSNumber(dst, tok.Float)
			}
		case msgpack.Str:
			t.scratch = appendLossy(t.scratch[:0], tok.Bytes)
			dst = jsontext.AppendQuote(dst, string(t.scratch))
		case msgpack.Bin:
			if dst, err = t.attach(dst, tok.Bytes); err != nil {
				return nil, err
			}
		case msgpack.Ext:
			switch extKindOf(tok) {
			case extUndefined:
				dst = append(dst, "null"...) // in an array (a map drops it above)
			case extDate:
				dst = appendDateJSON(dst, int64(beUint64(tok.Bytes)))
			case extBinary:
				if dst, err = t.attach(dst, tok.Bytes); err != nil {
					return nil, err
				}
			default:
				if len(stack)+1 > t.maxDepth {
					return nil, ErrInvalidPayload
				}
				dst = append(dst, '[')
				dst = strconv.AppendInt(dst, int64(tok.ExtType), 10)
				dst = append(dst, ',')
				if dst, err = t.attach(dst, tok.Bytes); err != nil {
					return nil, err
				}
				dst = append(dst, ']')
			}
		case msgpack.Array, msgpack.Map:
			if len(stack)+1 > t.maxDepth {
				return nil, ErrInvalidPayload
			}
			if tok.Kind == msgpack.Map {
				dst = append(dst, '{')
			} else {
				dst = append(dst, '[')
			}
			stack = append(stack, frame{isMap: tok.Kind == msgpack.Map, first: true, left: tok.Len})
			continue
		}
		if len(stack) == 0 {
			return dst, nil
		}
	}
}

func (t *transcoder) attach(dst, p []byte) ([]byte, error) {
	if len(t.atts) >= t.maxAtts {
		return nil, ErrTooManyAttachments
	}
	dst = AppendPlaceholder(dst, len(t.atts))
	t.atts = append(t.atts, p)
	return dst, nil
}

func beUint64(p []byte) uint64 {
	var v uint64
	for _, c := range p {
		v = v<<8 | uint64(c)
	}
	return v
}

// appendDateJSON appends JSON.stringify(new Date(ms)): Date#toISOString as
// a string, or null for a time outside Date's range (±8.64e15 ms).
func appendDateJSON(dst []byte, ms int64) []byte {
	const maxTime = 8.64e15
	if ms > maxTime || ms < -maxTime {
		return append(dst, "null"...)
	}
	const msPerDay = 86_400_000
	days := ms / msPerDay
	rem := ms % msPerDay
	if rem < 0 {
		rem += msPerDay
		days--
	}
	// civil_from_days (H. Hinnant), days since 1970-01-01
	z := days + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if mp >= 10 {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	dst = append(dst, '"')
	switch {
	case y >= 0 && y <= 9999:
		dst = appendPadded(dst, y, 4)
	case y < 0:
		dst = appendPadded(append(dst, '-'), -y, 6)
	default:
		dst = appendPadded(append(dst, '+'), y, 6)
	}
	dst = appendPadded(append(dst, '-'), m, 2)
	dst = appendPadded(append(dst, '-'), d, 2)
	dst = appendPadded(append(dst, 'T'), rem/3_600_000, 2)
	dst = appendPadded(append(dst, ':'), rem/60_000%60, 2)
	dst = appendPadded(append(dst, ':'), rem/1000%60, 2)
	dst = appendPadded(append(dst, '.'), rem%1000, 3)
	return append(dst, 'Z', '"')
}

func appendPadded(dst []byte, v int64, width int) []byte {
	var tmp [20]byte
	s := strconv.AppendInt(tmp[:0], v, 10)
	for range width - len(s) {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}

// ---- encoding ---------------------------------------------------------------

// AppendMsgpack appends the message of the msgpack parser for p to dst: the
// MessagePack map socket.io-msgpack-parser's Encoder writes for the packet
// object the official server builds, with its keys in the same order —
// {id, type, data, nsp} for an ACK, {type, data, id, nsp} otherwise; data
// is left out when p.Data is empty and id unless p.HasID. BINARY_EVENT and
// BINARY_ACK are written as EVENT and ACK (type 2 and 3), with every
// placeholder of Data that names one of atts written as that attachment
// (bin); attachments are not sent otherwise. The namespace is written as is.
//
// It returns ErrInvalidType for a type above BINARY_ACK and ErrInvalidPayload
// when p.Data is not valid JSON; Append's other preconditions (see Check)
// are not checked.
func AppendMsgpack(dst []byte, p Packet, atts [][]byte) ([]byte, error) {
	t := p.Type
	switch t {
	case BinaryEvent:
		t = Event
	case BinaryAck:
		t = Ack
	case Connect, Disconnect, Event, Ack, ConnectError:
	default:
		return dst, ErrInvalidType
	}
	hasData := len(p.Data) > 0
	if hasData && jsontext.Validate(p.Data, math.MaxInt) != nil {
		return dst, ErrInvalidPayload
	}
	n := 2
	if hasData {
		n++
	}
	if p.HasID {
		n++
	}
	start := len(dst)
	dst = msgpack.AppendMapHeader(dst, n)
	if t == Ack && p.HasID {
		dst = msgpack.AppendUint(msgpack.AppendString(dst, "id"), p.ID)
	}
	dst = msgpack.AppendUint(msgpack.AppendString(dst, "type"), uint64(t))
	if hasData {
		dst = msgpack.AppendString(dst, "data")
		var err error
		if dst, err = appendJSONAsMsgpack(dst, p.Data, atts); err != nil {
			return dst[:start], err
		}
	}
	if t != Ack && p.HasID {
		dst = msgpack.AppendUint(msgpack.AppendString(dst, "id"), p.ID)
	}
	return msgpack.AppendString(msgpack.AppendString(dst, "nsp"), p.Nsp), nil
}

// container is what the first pass of appendJSONAsMsgpack learns about an
// array or object, in the order they open.
type container struct {
	n    int // elements or members
	ph   int // the attachment a placeholder object stands for, or -1
	end  int // offset just past it
	next int // index of the first container after it (not inside it)
}

// appendJSONAsMsgpack writes the valid JSON value data as MessagePack. Two
// passes without recursion: the first counts every container's elements
// (MessagePack writes counts first) and finds the placeholders, the second
// writes.
func appendJSONAsMsgpack(dst, data []byte, atts [][]byte) ([]byte, error) {
	// a placeholder key may be spelled with escapes
	findPH := len(atts) > 0 && (hasPlaceholderKey(data) || bytes.IndexByte(data, '\\') >= 0)
	var (
		conts []container
		stack []openContainer
	)
	member := func(value []byte) { // a value inside the innermost container
		if len(stack) == 0 {
			return
		}
		top := &stack[len(stack)-1]
		conts[top.ci].n++
		if top.obj {
			top.key = true
			if findPH {
				switch {
				case top.keyPH:
					top.isPH = string(value) == "true"
				case top.keyNum:
					top.num = nil
					if len(value) > 0 && (value[0] == '-' || isDigit(value[0])) {
						top.num = value
					}
				}
			}
		}
	}
	for i := 0; i < len(data); {
		c := data[i]
		switch {
		case isSpace(c) || c == ',' || c == ':':
			i++
		case c == '[' || c == '{':
			member(nil)
			conts = append(conts, container{ph: -1})
			stack = append(stack, openContainer{ci: len(conts) - 1, obj: c == '{', key: c == '{'})
			i++
		case c == ']' || c == '}':
			if len(stack) == 0 {
				return dst, ErrInvalidPayload
			}
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			i++
			ct := &conts[top.ci]
			ct.end, ct.next = i, len(conts)
			if top.obj && top.isPH && validNum(top.num, len(atts)) {
				f, _ := strconv.ParseFloat(string(top.num), 64)
				ct.ph = int(f)
			}
		case c == '"':
			j := skipString(data, i)
			if len(stack) > 0 && stack[len(stack)-1].obj && stack[len(stack)-1].key {
				top := &stack[len(stack)-1]
				top.key = false
				if findPH {
					top.keyPH = jsontext.EqualString(data[i:j], "_placeholder")
					top.keyNum = jsontext.EqualString(data[i:j], "num")
				}
			} else {
				member(data[i:j])
			}
			i = j
		default:
			j := i
			for j < len(data) && !isDelim(data[j]) {
				j++
			}
			member(data[i:j])
			i = j
		}
	}

	k := 0 // next container
	for i := 0; i < len(data); {
		c := data[i]
		switch {
		case isSpace(c) || c == ',' || c == ':' || c == ']' || c == '}':
			i++
		case c == '[' || c == '{':
			ct := conts[k]
			if ct.ph >= 0 {
				dst = msgpack.AppendBin(dst, atts[ct.ph])
				i, k = ct.end, ct.next
				continue
			}
			if c == '[' {
				dst = msgpack.AppendArrayHeader(dst, ct.n)
			} else {
				dst = msgpack.AppendMapHeader(dst, ct.n)
			}
			i++
			k++
		case c == '"':
			j := skipString(data, i)
			body := data[i+1 : j-1]
			if bytes.IndexByte(body, '\\') < 0 {
				dst = append(msgpack.AppendStrHeader(dst, len(body)), body...)
			} else {
				var tmp [64]byte
				s, _ := jsontext.AppendUnquote(tmp[:0], data[i:j])
				dst = append(msgpack.AppendStrHeader(dst, len(s)), s...)
			}
			i = j
		default:
			j := i
			for j < len(data) && !isDelim(data[j]) {
				j++
			}
			dst = appendJSONScalar(dst, data[i:j])
			i = j
		}
	}
	return dst, nil
}

// openContainer is an array or object the first pass is inside: its index
// in conts and, for an object, the placeholder state (JSON.parse semantics:
// the last of repeated keys wins).
type openContainer struct {
	ci            int
	obj, key      bool // an object; its next string is a key
	keyPH, keyNum bool // the pending member is "_placeholder" / "num"
	isPH          bool
	num           []byte
}

func isDelim(c byte) bool { return isSpace(c) || c == ',' || c == ':' || c == ']' || c == '}' }

// skipString returns the offset just past the string literal at data[i]
// (data is valid JSON).
func skipString(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(data)
}

// appendJSONScalar writes a JSON number, true, false or null.
func appendJSONScalar(dst, lit []byte) []byte {
	switch string(lit) {
	case "true":
		return msgpack.AppendBool(dst, true)
	case "false":
		return msgpack.AppendBool(dst, false)
	case "null":
		return msgpack.AppendNil(dst)
	}
	// integers of up to 15 digits (below 2^53, so exact as JS numbers)
	// without a fraction or exponent: no float parsing
	if len(lit) <= 16 {
		neg := lit[0] == '-'
		digits := lit
		if neg {
			digits = lit[1:]
		}
		var v int64
		plain := len(digits) > 0 && len(digits) <= 15
		for _, c := range digits {
			if !isDigit(c) {
				plain = false
				break
			}
			v = v*10 + int64(c-'0')
		}
		if plain {
			if neg {
				v = -v
			}
			return msgpack.AppendInt(dst, v)
		}
	}
	f, _ := strconv.ParseFloat(string(lit), 64) // out of range: ±Inf or 0, as Number()
	return msgpack.AppendNumber(dst, f)
}
