package abi

// The codec is split by direction (calls.go: host → guest, results.go:
// guest → host) so that core.wasm links only the half it uses: its decoder
// of calls and its encoder of results. Append and Decode cover both, for
// tests, tools and the fuzz target.

// Append appends the encoding of record r (any record type of this
// version) to dst and returns its kind. It fails only with ErrUnknownKind,
// for a value that is not a record.
func Append(dst []byte, r any) (Kind, []byte, error) {
	if k, b, err := AppendCall(dst, r); err == nil {
		return k, b, nil
	}
	if k, b, err := AppendClientCall(dst, r); err == nil { // the client role's (client.go)
		return k, b, nil
	}
	if k, b, err := AppendClientResult(dst, r); err == nil {
		return k, b, nil
	}
	if k, b, ok := AppendSnapshotRecord(dst, r); ok { // session snapshots (snapshot.go)
		return k, b, nil
	}
	return AppendResult(dst, r)
}

// KindOf returns the kind of a record value, or 0 if it is not one.
func KindOf(r any) Kind {
	k, _, _ := Append(nil, r)
	return k
}

// Decode decodes one record of kind k. Byte slices in the result alias b
// (callers that reuse b copy it first); strings are copies. Every value
// has one encoding: trailing bytes, booleans other than 0 and 1 and lengths
// past the end are ErrBadRecord, an undefined kind ErrUnknownKind.
// Empty byte strings and lists decode as nil.
func Decode(k Kind, b []byte) (any, error) {
	if IsClientKind(k) { // the client role's own kinds (client.go)
		if r, err := DecodeClientCall(k, b); err != ErrUnknownKind {
			return r, err
		}
		return DecodeClientResult(k, b)
	}
	if IsSnapshotKind(k) { // session snapshots (snapshot.go)
		return DecodeSnapshotRecord(k, b)
	}
	if k.IsInput() || k.IsCommand() || k == KindInit {
		return DecodeCall(k, b)
	}
	return DecodeResult(k, b)
}
