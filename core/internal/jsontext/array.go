package jsontext

// ArrayFirst returns the raw bytes of the first element of the JSON array b,
// without surrounding whitespace. ok is false when b is not an array or is
// the empty array. b must have passed Validate; elem aliases b.
func ArrayFirst(b []byte) (elem []byte, ok bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return nil, false
	}
	i = skipSpace(b, i+1)
	if i >= len(b) || b[i] == ']' {
		return nil, false
	}
	j := skipValue(b, i)
	return b[i:j], true
}

// ArrayElems calls fn with the raw bytes (trimmed, aliasing b) of each
// top-level element of the JSON array b, in order, until fn returns false.
// It does nothing when b is not an array. b must have passed Validate.
func ArrayElems(b []byte, fn func(elem []byte) bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return
	}
	for i < len(b) {
		j := skipValue(b, i)
		if j <= i || !fn(b[i:j]) {
			return
		}
		i = skipSpace(b, j)
		if i >= len(b) || b[i] != ',' {
			return
		}
		i = skipSpace(b, i+1)
	}
}

// ObjectMembers calls fn with the raw key literal (quotes included, escapes
// not decoded) and the raw value of each member of the JSON object b, in
// order, until fn returns false. It does nothing when b is not an object.
// b must have passed Validate; key and value alias b.
func ObjectMembers(b []byte, fn func(key, value []byte) bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return
	}
	i = skipSpace(b, i+1)
	for i < len(b) && b[i] == '"' {
		k := skipString(b, i)
		key := b[i:k]
		i = skipSpace(b, k)
		if i >= len(b) || b[i] != ':' {
			return
		}
		i = skipSpace(b, i+1)
		j := skipValue(b, i)
		if j <= i || !fn(key, b[i:j]) {
			return
		}
		i = skipSpace(b, j)
		if i >= len(b) || b[i] != ',' {
			return
		}
		i = skipSpace(b, i+1)
	}
}
