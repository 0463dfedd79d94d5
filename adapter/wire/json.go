package wire

import "errors"

// Socket.IO's JSON form of a payload with binary parts: the JSON document
// holds a placeholder {"_placeholder":true,"num":i} where attachment i
// goes. FromJSON and ToJSON convert between that form and a Value, whose
// binary parts are []byte (msgpack bin, a Node Buffer).

var errPlaceholder = errors.New("wire: bad attachment placeholder")

// FromJSON decodes data, a JSON document whose placeholders refer to atts,
// into a Value with each placeholder replaced by its attachment (not
// copied). Key order and number text are kept, so encoding the result as
// msgpack gives the bytes notepack.io writes for the same JS value. As in
// socket-io-parser, any object whose _placeholder is true is a
// placeholder; one whose num is not an index of atts is an error.
func FromJSON(data []byte, atts [][]byte) (Value, error) {
	v, err := DecodeJSONValue(data)
	if err != nil {
		return nil, err
	}
	return fillPlaceholders(v, atts, 0)
}

func fillPlaceholders(v Value, atts [][]byte, depth int) (Value, error) {
	if depth > maxDepth {
		return nil, errDepth
	}
	var err error
	switch x := v.(type) {
	case []Value:
		for i, e := range x {
			if x[i], err = fillPlaceholders(e, atts, depth+1); err != nil {
				return nil, err
			}
		}
	case Map:
		if p, _ := x.Get("_placeholder"); p == true {
			n, _ := x.Get("num")
			i, ok := Int(n)
			if !ok || i < 0 || i >= int64(len(atts)) {
				return nil, errPlaceholder
			}
			if atts[i] == nil {
				return []byte{}, nil
			}
			return atts[i], nil
		}
		for i, kv := range x {
			if x[i].Value, err = fillPlaceholders(kv.Value, atts, depth+1); err != nil {
				return nil, err
			}
		}
	}
	return v, nil
}

// ToJSON is the reverse of FromJSON: it writes v as JSON.stringify would
// after socket.io-parser took the binary parts out. Each []byte becomes a
// placeholder numbered in document order (socket.io-parser's order) and
// is returned, not copied, as an attachment; a timestamp extension becomes
// its ISO string (a JS Date), any other extension [type, <binary>] (what
// notepack.io decodes it to), and the legacy undefined extension is
// dropped from objects and null in arrays.
func ToJSON(v Value) (data []byte, atts [][]byte, err error) {
	t, err := takeAttachments(v, &atts, 0)
	if err != nil {
		return nil, nil, err
	}
	data, err = AppendJSONValue(nil, t)
	if err != nil {
		return nil, nil, err
	}
	return data, atts, nil
}

// isUndefined reports notepack's legacy undefined (fixext1 type 0, d4 00 00).
func isUndefined(v Value) bool {
	e, ok := v.(Ext)
	return ok && e.Type == 0 && len(e.Data) == 1 && e.Data[0] == 0
}

func takeAttachments(v Value, atts *[][]byte, depth int) (Value, error) {
	if depth > maxDepth {
		return nil, errDepth
	}
	switch x := v.(type) {
	case []byte:
		*atts = append(*atts, x)
		return Map{{"_placeholder", true}, {"num", int64(len(*atts) - 1)}}, nil
	case []Value:
		out := make([]Value, len(x))
		for i, e := range x {
			if isUndefined(e) {
				continue // null
			}
			t, err := takeAttachments(e, atts, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = t
		}
		return out, nil
	case Map:
		out := make(Map, 0, len(x))
		for _, kv := range x {
			if isUndefined(kv.Value) {
				continue
			}
			t, err := takeAttachments(kv.Value, atts, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, KV{kv.Key, t})
		}
		return out, nil
	case Ext:
		if isUndefined(x) {
			return nil, nil
		}
		if _, ok := x.Time(); ok {
			return x, nil // AppendJSONValue writes the ISO string
		}
		return takeAttachments([]Value{int64(x.Type), x.Data}, atts, depth)
	}
	return v, nil // scalars; AppendJSONValue rejects what it cannot write
}
