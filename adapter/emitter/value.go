package emitter

import (
	"cmp"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/socketcore/socketcore/adapter/wire"
)

// This file turns Go arguments into wire values. The rules are those of
// encoding/json's Marshal (struct fields and their tags, json.Marshaler,
// encoding.TextMarshaler, sorted map keys, nil as null, invalid UTF-8 as
// U+FFFD, NaN and infinities refused), with two differences:
//
//   - a byte slice ([]byte, or any slice of a byte kind whose element type
//     has no marshaler, the slices encoding/json writes as base64) becomes a
//     binary value at any depth, a Node Buffer on the receiving server and a
//     binary attachment for its clients. A nil byte slice is an empty one.
//   - numbers take the form notepack.io gives the equal JS number: a float
//     with an integral value is an integer (2.0 is written as 2, -0 as 0),
//     and a float32 is the float64 of its shortest decimal text, as
//     encoding/json writes it (float32(0.1) is 0.1).
//
// The output of a json.Marshaler (json.RawMessage included) is parsed and
// passed on in its key order; its numbers keep their text.

// maxSteps bounds the recursion so that a cyclic value is an error, not a
// stack overflow. wire bounds the nesting of what is finally encoded.
const maxSteps = 1000

var (
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	numberType        = reflect.TypeFor[json.Number]()
	isZeroerType      = reflect.TypeFor[interface{ IsZero() bool }]()
)

// errCycle is returned for values nested more than maxSteps deep.
var errCycle = errors.New("value nested too deeply (is it cyclic?)")

// toValues converts args for a packet's data: [event, args...].
func toValues(event string, args []any) (data []wire.Value, err error) {
	defer func() {
		// A panicking MarshalJSON, IsZero or String method of the caller's
		// types must not take the caller's process down from here.
		if r := recover(); r != nil {
			data, err = nil, fmt.Errorf("emitter: panic while encoding an argument: %v", r)
		}
	}()
	data = make([]wire.Value, 0, 1+len(args))
	data = append(data, validString(event))
	for i, a := range args {
		v, err := toValue(reflect.ValueOf(a), false, 0)
		if err != nil {
			return nil, fmt.Errorf("emitter: argument %d: %w", i+1, err)
		}
		data = append(data, v)
	}
	return data, nil
}

// toValue converts v. quoted is the `,string` option of the struct field v
// was read from; it reaches through pointers only, as in encoding/json.
func toValue(v reflect.Value, quoted bool, steps int) (wire.Value, error) {
	if steps > maxSteps {
		return nil, errCycle
	}
	if !v.IsValid() {
		return nil, nil
	}
	t := v.Type()
	// encoding/json: a pointer-receiver MarshalJSON/MarshalText is used when
	// the value is addressable; Marshaler wins over TextMarshaler.
	if t.Kind() != reflect.Pointer && v.CanAddr() && reflect.PointerTo(t).Implements(marshalerType) {
		return marshalJSON(v.Addr())
	}
	if t.Implements(marshalerType) {
		return marshalJSON(v)
	}
	if t.Kind() != reflect.Pointer && v.CanAddr() && reflect.PointerTo(t).Implements(textMarshalerType) {
		return marshalText(v.Addr())
	}
	if t.Implements(textMarshalerType) {
		return marshalText(v)
	}
	switch t.Kind() {
	case reflect.Bool:
		if quoted {
			return strconv.FormatBool(v.Bool()), nil
		}
		return v.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if quoted {
			return strconv.FormatInt(v.Int(), 10), nil
		}
		return v.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := v.Uint()
		if quoted {
			return strconv.FormatUint(u, 10), nil
		}
		if u <= math.MaxInt64 {
			return int64(u), nil
		}
		return u, nil
	case reflect.Float32, reflect.Float64:
		return floatValue(v, quoted)
	case reflect.String:
		if t == numberType {
			return numberValue(json.Number(v.String()), quoted)
		}
		if quoted {
			b, err := json.Marshal(v.String()) // the inner text, HTML-escaped like Marshal
			if err != nil {
				return nil, err
			}
			return string(b), nil
		}
		return validString(v.String()), nil
	case reflect.Interface:
		if v.IsNil() {
			return nil, nil
		}
		return toValue(v.Elem(), false, steps+1)
	case reflect.Pointer:
		if v.IsNil() {
			return nil, nil
		}
		return toValue(v.Elem(), quoted, steps+1)
	case reflect.Struct:
		return structValue(v, steps)
	case reflect.Map:
		return mapValue(v, steps)
	case reflect.Slice:
		if isBytes(t) {
			if v.IsNil() {
				return []byte{}, nil
			}
			return v.Bytes(), nil
		}
		if v.IsNil() {
			return nil, nil
		}
		return listValue(v, steps)
	case reflect.Array:
		return listValue(v, steps)
	}
	return nil, &json.UnsupportedTypeError{Type: t}
}

// isBytes reports whether encoding/json writes t as base64: a slice of a
// byte kind whose element has no (pointer-receiver) marshaler.
func isBytes(t reflect.Type) bool {
	if t.Kind() != reflect.Slice || t.Elem().Kind() != reflect.Uint8 {
		return false
	}
	p := reflect.PointerTo(t.Elem())
	return !p.Implements(marshalerType) && !p.Implements(textMarshalerType)
}

func marshalJSON(v reflect.Value) (wire.Value, error) {
	if (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && v.IsNil() {
		return nil, nil
	}
	m, ok := v.Interface().(json.Marshaler)
	if !ok {
		return nil, nil
	}
	b, err := m.MarshalJSON()
	if err != nil {
		return nil, &json.MarshalerError{Type: v.Type(), Err: err}
	}
	val, err := wire.DecodeJSONValue(b)
	if err != nil {
		return nil, &json.MarshalerError{Type: v.Type(), Err: fmt.Errorf("invalid JSON %.40q: %w", b, err)}
	}
	return val, nil
}

func marshalText(v reflect.Value) (wire.Value, error) {
	if (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && v.IsNil() {
		return nil, nil
	}
	m, ok := v.Interface().(encoding.TextMarshaler)
	if !ok {
		return nil, nil
	}
	b, err := m.MarshalText()
	if err != nil {
		return nil, &json.MarshalerError{Type: v.Type(), Err: err}
	}
	return validString(string(b)), nil
}

func floatValue(v reflect.Value, quoted bool) (wire.Value, error) {
	f := v.Float()
	bits := v.Type().Bits()
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, &json.UnsupportedValueError{Value: v, Str: strconv.FormatFloat(f, 'g', -1, bits)}
	}
	if bits == 32 {
		// encoding/json writes the shortest text that reads back as the
		// float32; the JS number is that text's float64.
		f, _ = strconv.ParseFloat(strconv.FormatFloat(f, 'g', -1, 32), 64)
	}
	if quoted {
		var (
			b   []byte
			err error
		)
		if bits == 32 {
			b, err = json.Marshal(float32(v.Float()))
		} else {
			b, err = json.Marshal(f)
		}
		return string(b), err
	}
	return jsNumber(f), nil
}

// jsNumber is the form notepack.io writes a JS number in: integers when
// integral (-0 is 0), float64 otherwise.
func jsNumber(f float64) wire.Value {
	if f == math.Trunc(f) {
		switch {
		case f >= -(1<<63) && f < 1<<63:
			return int64(f)
		case f > 0 && f < 1<<64:
			return uint64(f)
		}
	}
	return f
}

func numberValue(n json.Number, quoted bool) (wire.Value, error) {
	if n == "" {
		n = "0" // as encoding/json
	}
	if !isValidNumber(string(n)) {
		return nil, fmt.Errorf("json: invalid number literal %q", string(n))
	}
	if quoted {
		return string(n), nil
	}
	return n, nil
}

// isValidNumber reports whether s is a JSON number literal.
func isValidNumber(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == '-' {
		s = s[1:]
		if s == "" {
			return false
		}
	}
	switch {
	case s[0] == '0':
		s = s[1:]
	case '1' <= s[0] && s[0] <= '9':
		s = strings.TrimLeft(s, "0123456789")
	default:
		return false
	}
	if len(s) >= 2 && s[0] == '.' && '0' <= s[1] && s[1] <= '9' {
		s = strings.TrimLeft(s[2:], "0123456789")
	}
	if len(s) >= 2 && (s[0] == 'e' || s[0] == 'E') {
		s = s[1:]
		if s[0] == '+' || s[0] == '-' {
			s = s[1:]
			if s == "" {
				return false
			}
		}
		if s[0] < '0' || s[0] > '9' {
			return false
		}
		s = strings.TrimLeft(s, "0123456789")
	}
	return s == ""
}

// validString replaces each byte of invalid UTF-8 with U+FFFD, as
// encoding/json does.
func validString(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteString("\uFFFD")
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func listValue(v reflect.Value, steps int) (wire.Value, error) {
	n := v.Len()
	out := make([]wire.Value, n)
	for i := range n {
		e, err := toValue(v.Index(i), false, steps+1)
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

func mapValue(v reflect.Value, steps int) (wire.Value, error) {
	if v.IsNil() {
		return nil, nil
	}
	kt := v.Type().Key()
	switch kt.Kind() {
	case reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
	default:
		if !kt.Implements(textMarshalerType) {
			return nil, &json.UnsupportedTypeError{Type: v.Type()}
		}
	}
	type entry struct {
		key string
		v   reflect.Value
	}
	entries := make([]entry, 0, v.Len())
	it := v.MapRange()
	for it.Next() {
		k, err := mapKey(it.Key())
		if err != nil {
			return nil, err
		}
		entries = append(entries, entry{k, it.Value()})
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	out := make(wire.Map, 0, len(entries))
	for _, e := range entries {
		val, err := toValue(e.v, false, steps+1)
		if err != nil {
			return nil, err
		}
		out = append(out, wire.KV{Key: validString(e.key), Value: val})
	}
	return out, nil
}

// mapKey is encoding/json's resolveKeyName.
func mapKey(k reflect.Value) (string, error) {
	if k.Kind() == reflect.String {
		return k.String(), nil
	}
	if tm, ok := k.Interface().(encoding.TextMarshaler); ok {
		if k.Kind() == reflect.Pointer && k.IsNil() {
			return "", nil
		}
		b, err := tm.MarshalText()
		if err != nil {
			return "", &json.MarshalerError{Type: k.Type(), Err: err}
		}
		return string(b), nil
	}
	switch k.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(k.Uint(), 10), nil
	}
	return "", &json.UnsupportedTypeError{Type: k.Type()}
}

func structValue(v reflect.Value, steps int) (wire.Value, error) {
	fields := cachedFields(v.Type())
	out := make(wire.Map, 0, len(fields))
next:
	for i := range fields {
		f := &fields[i]
		fv := v
		for _, idx := range f.index {
			if fv.Kind() == reflect.Pointer {
				if fv.IsNil() {
					continue next // a field promoted through a nil embedded pointer
				}
				fv = fv.Elem()
			}
			fv = fv.Field(idx)
		}
		if f.omitEmpty && isEmptyValue(fv) {
			continue
		}
		if f.omitZero && (f.isZero == nil && fv.IsZero() || f.isZero != nil && f.isZero(fv)) {
			continue
		}
		val, err := toValue(fv, f.quoted, steps+1)
		if err != nil {
			return nil, err
		}
		out = append(out, wire.KV{Key: f.name, Value: val})
	}
	return out, nil
}

func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64,
		reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// field is one JSON object member of a struct type.
type field struct {
	name      string
	tag       bool // named by its tag
	index     []int
	typ       reflect.Type
	omitEmpty bool
	omitZero  bool
	isZero    func(reflect.Value) bool
	quoted    bool
}

var fieldCache sync.Map // reflect.Type -> []field

func cachedFields(t reflect.Type) []field {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]field)
	}
	f, _ := fieldCache.LoadOrStore(t, typeFields(t))
	return f.([]field)
}

// typeFields lists the fields encoding/json writes for struct type t, in
// its order, with its rules for embedded structs: breadth first, and of
// several fields with one name the shallowest wins, then the tagged one;
// a tie hides them all.
func typeFields(t reflect.Type) []field {
	var current []field
	next := []field{{typ: t}}
	var count, nextCount map[reflect.Type]int
	visited := map[reflect.Type]bool{}
	var fields []field

	for len(next) > 0 {
		current, next = next, current[:0]
		count, nextCount = nextCount, map[reflect.Type]int{}
		for _, f := range current {
			if visited[f.typ] {
				continue
			}
			visited[f.typ] = true
			for i := range f.typ.NumField() {
				sf := f.typ.Field(i)
				if sf.Anonymous {
					et := sf.Type
					if et.Kind() == reflect.Pointer {
						et = et.Elem()
					}
					if !sf.IsExported() && et.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				if !isValidTag(name) {
					name = ""
				}
				index := make([]int, len(f.index)+1)
				copy(index, f.index)
				index[len(f.index)] = i

				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				quoted := false
				if hasOption(opts, "string") {
					switch ft.Kind() {
					case reflect.Bool,
						reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
						reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
						reflect.Float32, reflect.Float64,
						reflect.String:
						quoted = true
					}
				}
				if name != "" || !sf.Anonymous || ft.Kind() != reflect.Struct {
					tagged := name != ""
					if name == "" {
						name = sf.Name
					}
					fl := field{
						name:      name,
						tag:       tagged,
						index:     index,
						typ:       ft,
						omitEmpty: hasOption(opts, "omitempty"),
						omitZero:  hasOption(opts, "omitzero"),
						quoted:    quoted,
					}
					if fl.omitZero {
						fl.isZero = zeroFunc(sf.Type)
					}
					fields = append(fields, fl)
					if count[f.typ] > 1 {
						// Several embeddings of one type at one depth: the
						// duplicate makes the names below annihilate.
						fields = append(fields, fields[len(fields)-1])
					}
					continue
				}
				nextCount[ft]++
				if nextCount[ft] == 1 {
					next = append(next, field{name: ft.Name(), index: index, typ: ft})
				}
			}
		}
	}

	slices.SortFunc(fields, func(a, b field) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if c := cmp.Compare(len(a.index), len(b.index)); c != 0 {
			return c
		}
		if a.tag != b.tag {
			if a.tag {
				return -1
			}
			return 1
		}
		return slices.Compare(a.index, b.index)
	})
	out := fields[:0]
	for advance, i := 0, 0; i < len(fields); i += advance {
		fi := fields[i]
		for advance = 1; i+advance < len(fields); advance++ {
			if fields[i+advance].name != fi.name {
				break
			}
		}
		if advance == 1 {
			out = append(out, fi)
			continue
		}
		dominant := fields[i : i+advance]
		if len(dominant[0].index) == len(dominant[1].index) && dominant[0].tag == dominant[1].tag {
			continue
		}
		out = append(out, dominant[0])
	}
	fields = out
	slices.SortFunc(fields, func(a, b field) int { return slices.Compare(a.index, b.index) })
	return fields
}

// zeroFunc is how omitzero asks a field of type t whether it is zero: its
// IsZero method if it has one, else reflect's IsZero.
func zeroFunc(t reflect.Type) func(reflect.Value) bool {
	switch {
	case t.Kind() == reflect.Interface && t.Implements(isZeroerType):
		return func(v reflect.Value) bool {
			return v.IsNil() ||
				(v.Elem().Kind() == reflect.Pointer && v.Elem().IsNil()) ||
				v.Interface().(interface{ IsZero() bool }).IsZero()
		}
	case t.Kind() == reflect.Pointer && t.Implements(isZeroerType):
		return func(v reflect.Value) bool {
			return v.IsNil() || v.Interface().(interface{ IsZero() bool }).IsZero()
		}
	case t.Implements(isZeroerType):
		return func(v reflect.Value) bool {
			return v.Interface().(interface{ IsZero() bool }).IsZero()
		}
	case reflect.PointerTo(t).Implements(isZeroerType):
		return func(v reflect.Value) bool {
			if !v.CanAddr() {
				v2 := reflect.New(v.Type()).Elem()
				v2.Set(v)
				v = v2
			}
			return v.Addr().Interface().(interface{ IsZero() bool }).IsZero()
		}
	}
	return nil
}

func hasOption(opts, name string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == name {
			return true
		}
	}
	return false
}

func isValidTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}
