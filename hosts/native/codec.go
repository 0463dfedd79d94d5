package native

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
)

// Binary arguments follow socket.io: a []byte anywhere in an argument (top
// level, or inside map[string]any / []any values) travels as a binary
// attachment, and arrives as []byte. Inside structs a []byte field is
// marshalled by encoding/json (base64) on emit, and on receipt a binary
// attachment decodes into a []byte field.

var placeholderPrefix = []byte(`{"_placeholder":true,"num":`)

// encodeArgs builds the JSON array [event, args...] and its attachments.
func encodeArgs(event string, args []any) ([]byte, [][]byte, error) {
	var atts [][]byte
	buf := bytes.NewBuffer(make([]byte, 0, 64))
	buf.WriteByte('[')
	if event != "" {
		b, _ := marshal(event)
		buf.Write(b)
	}
	for i, a := range args {
		if i > 0 || event != "" {
			buf.WriteByte(',')
		}
		if err := encodeValue(buf, a, &atts); err != nil {
			return nil, nil, err
		}
	}
	buf.WriteByte(']')
	return buf.Bytes(), atts, nil
}

func encodeValue(buf *bytes.Buffer, v any, atts *[][]byte) error {
	switch x := v.(type) {
	case []byte:
		buf.Write(placeholderPrefix)
		buf.WriteString(strconv.Itoa(len(*atts)))
		buf.WriteByte('}')
		if x == nil {
			x = []byte{}
		}
		*atts = append(*atts, x)
		return nil
	case json.RawMessage:
		if len(x) == 0 {
			buf.WriteString("null")
			return nil
		}
		buf.Write(x)
		return nil
	case map[string]any:
		if !containsBinary(x) {
			break
		}
		buf.WriteByte('{')
		first := true
		for _, k := range sortedKeys(x) {
			if !first {
				buf.WriteByte(',')
			}
			first = false
			kb, _ := marshal(k)
			buf.Write(kb)
			buf.WriteByte(':')
			if err := encodeValue(buf, x[k], atts); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
		return nil
	case []any:
		if !containsBinary(x) {
			break
		}
		buf.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := encodeValue(buf, e, atts); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
		return nil
	}
	b, err := marshal(v)
	if err != nil {
		return err
	}
	buf.Write(b)
	return nil
}

// marshal is json.Marshal without HTML escaping, so text reaches JS clients
// byte for byte as JSON.stringify would write it ("<", ">" and "&" stay).
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'}), nil
}

func containsBinary(v any) bool {
	switch x := v.(type) {
	case []byte:
		return true
	case map[string]any:
		for _, e := range x {
			if containsBinary(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if containsBinary(e) {
				return true
			}
		}
	}
	return false
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

// splitArgs returns the raw elements of a JSON array (skipping the first
// `skip` elements: 1 for events, whose first element is the name).
func splitArgs(data []byte, skip int) ([]json.RawMessage, error) {
	all, err := splitArray(data)
	if err != nil {
		return nil, err
	}
	if len(all) < skip {
		return nil, errors.New("socketcore: short argument array")
	}
	return all[skip:], nil
}

var errNotArray = errors.New("socketcore: packet data is not a JSON array")

// splitArray returns the elements of a JSON array as sub-slices of data.
// The core hands over data it has validated (core/sio checks every packet's
// JSON), so this only finds the top-level commas: it tracks strings and
// nesting, and refuses what is not an array of balanced values, but does
// not check each value's grammar (a value's own decoding does).
func splitArray(data []byte) ([]json.RawMessage, error) {
	i := skipSpace(data, 0)
	if i == len(data) || data[i] != '[' {
		return nil, errNotArray
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == ']' {
		if skipSpace(data, i+1) != len(data) {
			return nil, errNotArray
		}
		return []json.RawMessage{}, nil
	}
	out := make([]json.RawMessage, 0, 4)
	depth, start, inStr := 0, i, false
	for ; i < len(data); i++ {
		c := data[i]
		if inStr {
			switch c {
			case '\\':
				i++
			case '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '[', '{':
			depth++
		case ']', '}':
			if depth > 0 {
				depth--
				continue
			}
			if c != ']' {
				return nil, errNotArray
			}
			v := trimSpace(data[start:i])
			if len(v) == 0 || skipSpace(data, i+1) != len(data) {
				return nil, errNotArray
			}
			return append(out, v), nil
		case ',':
			if depth == 0 {
				v := trimSpace(data[start:i])
				if len(v) == 0 {
					return nil, errNotArray
				}
				out = append(out, v)
				start = i + 1
			}
		}
	}
	return nil, errNotArray
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

func trimSpace(b []byte) json.RawMessage {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// decodeArg decodes one raw argument into dst (a pointer), resolving binary
// placeholders against atts.
func decodeArg(raw json.RawMessage, atts [][]byte, dst any) error {
	if len(atts) == 0 || !bytes.Contains(raw, []byte(`"_placeholder"`)) {
		return json.Unmarshal(raw, dst)
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		return err
	}
	resolved := substitute(generic, atts)
	switch d := dst.(type) {
	case *any:
		*d = resolved
		return nil
	case *map[string]any:
		if m, ok := resolved.(map[string]any); ok {
			*d = m
			return nil
		}
	case *[]any:
		if a, ok := resolved.([]any); ok {
			*d = a
			return nil
		}
	case *[]byte:
		if b, ok := resolved.([]byte); ok {
			*d = b
			return nil
		}
	}
	// typed target: []byte fields decode from base64 strings
	b, err := marshal(resolved)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, dst)
}

// substitute replaces placeholder objects with their attachments.
func substitute(v any, atts [][]byte) any {
	switch x := v.(type) {
	case map[string]any:
		if p, ok := x["_placeholder"].(bool); ok && p && len(x) == 2 {
			if n, ok := x["num"].(float64); ok && n >= 0 && int(n) < len(atts) && float64(int(n)) == n {
				return atts[int(n)]
			}
		}
		for k, e := range x {
			x[k] = substitute(e, atts)
		}
	case []any:
		for i, e := range x {
			x[i] = substitute(e, atts)
		}
	}
	return v
}

// Args is a list of raw arguments received with an event or an
// acknowledgement, with their binary attachments.
type Args struct {
	Raw         []json.RawMessage
	Attachments [][]byte
}

// Len is the number of arguments.
func (a Args) Len() int { return len(a.Raw) }

// Decode decodes the arguments, in order, into dsts (pointers); extra
// destinations are left alone. A []byte destination receives a binary
// attachment.
func (a Args) Decode(dsts ...any) error {
	for i, d := range dsts {
		if i >= len(a.Raw) {
			return nil
		}
		if err := decodeArg(a.Raw[i], a.Attachments, d); err != nil {
			return err
		}
	}
	return nil
}

// Values decodes every argument as any (objects as map[string]any, binary
// as []byte), ready to be emitted again as is.
func (a Args) Values() []any {
	out := make([]any, len(a.Raw))
	for i, r := range a.Raw {
		var v any
		if decodeArg(r, a.Attachments, &v) == nil {
			out[i] = v
		}
	}
	return out
}

// Ack answers an acknowledgement the peer asked for. Calling it when none
// was asked, or a second time, does nothing and returns ErrNoAck.
type Ack func(args ...any) error

// ErrNoAck is returned by an Ack that cannot be sent (not requested, already
// sent, or the socket is gone).
var ErrNoAck = errors.New("socketcore: no acknowledgement pending")

var (
	ackType  = reflect.TypeOf(Ack(nil))
	argsType = reflect.TypeOf(Args{})
)

// handlerFunc adapts a user handler of any func type to one call shape.
// Parameters are decoded from the event's arguments in order; a last
// parameter of type Ack receives the acknowledgement function; a parameter
// of type Args receives all remaining arguments raw; a variadic ...any
// receives the remaining arguments decoded.
type handlerFunc func(args Args, ack Ack)

func makeHandler(fn any) (handlerFunc, error) {
	if h, ok := fn.(func(Args, Ack)); ok {
		return h, nil
	}
	v := reflect.ValueOf(fn)
	t := v.Type()
	if t.Kind() != reflect.Func {
		return nil, errors.New("socketcore: handler must be a func")
	}
	n := t.NumIn()
	hasAck := n > 0 && t.In(n-1) == ackType
	return func(args Args, ack Ack) {
		in := make([]reflect.Value, 0, n)
		params := n
		if hasAck {
			params--
		}
		ai := 0
		for i := 0; i < params; i++ {
			pt := t.In(i)
			if t.IsVariadic() && i == n-1 {
				et := pt.Elem()
				for ; ai < len(args.Raw); ai++ {
					pv := reflect.New(et)
					decodeArg(args.Raw[ai], args.Attachments, pv.Interface())
					in = append(in, pv.Elem())
				}
				break
			}
			if pt == argsType {
				in = append(in, reflect.ValueOf(Args{Raw: args.Raw[min(ai, len(args.Raw)):], Attachments: args.Attachments}))
				ai = len(args.Raw)
				continue
			}
			pv := reflect.New(pt)
			if ai < len(args.Raw) {
				decodeArg(args.Raw[ai], args.Attachments, pv.Interface())
			}
			ai++
			in = append(in, pv.Elem())
		}
		if hasAck {
			in = append(in, reflect.ValueOf(ack))
		}
		v.Call(in) // for a variadic func, Call takes the spread values
	}, nil
}
