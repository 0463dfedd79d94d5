package host

// A tiny WebAssembly module writer, for modules core.wasm must be refused
// as or trap like: each export of wasm/ABI.md with a one-instruction body.

type tinyFunc struct {
	name    string
	params  []byte // 0x7f i32, 0x7e i64
	results []byte
	body    []byte // instructions, without the end
}

func uleb(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
		} else {
			return append(b, c)
		}
	}
}

func sleb(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func section(b []byte, id byte, content []byte) []byte {
	b = append(b, id)
	b = uleb(b, uint64(len(content)))
	return append(b, content...)
}

func name(b []byte, s string) []byte { return append(uleb(b, uint64(len(s))), s...) }

const (
	i32 = 0x7f
	i64 = 0x7e
)

func i32c(v int64) []byte { return sleb([]byte{0x41}, v) }
func i64c(v int64) []byte { return sleb([]byte{0x42}, v) }

var unreachable = []byte{0x00}

// abiFuncs returns the exports of wasm/ABI.md answering benign values,
// with version as sio_abi_version; edit the result to break it.
func abiFuncs(version int64) []tinyFunc {
	return []tinyFunc{
		{"_initialize", nil, nil, nil},
		{"sio_abi_version", nil, []byte{i32}, i32c(version)},
		{"sio_buffer", []byte{i32}, []byte{i32}, i32c(1024)},
		{"sio_new", []byte{i32, i32}, []byte{i32}, i32c(0)},
		{"sio_handle", []byte{i64, i32, i32, i32, i32}, []byte{i64}, i64c(0)},
		{"sio_reply", []byte{i32, i32}, []byte{i64}, i64c(0)},
		{"sio_poll", []byte{i32, i32}, []byte{i64}, i64c(0x1006_0000_0008)}, // Wait, 8 bytes of zeros
	}
}

// tinyModule assembles a module with one memory page exported as "memory",
// the functions, and optionally one imported function module.name () -> ().
func tinyModule(funcs []tinyFunc, importModule, importName string) []byte {
	b := []byte{0, 'a', 's', 'm', 1, 0, 0, 0}
	var types, fns, exps, code []byte
	nImports := 0
	ntypes := len(funcs)
	types = uleb(types, uint64(ntypes+1))
	for _, f := range funcs {
		types = append(types, 0x60)
		types = append(uleb(types, uint64(len(f.params))), f.params...)
		types = append(uleb(types, uint64(len(f.results))), f.results...)
	}
	types = append(types, 0x60, 0, 0) // the import's type
	b = section(b, 1, types)
	if importModule != "" {
		var imp []byte
		imp = uleb(imp, 1)
		imp = name(imp, importModule)
		imp = name(imp, importName)
		imp = append(imp, 0x00)
		imp = uleb(imp, uint64(ntypes))
		b = section(b, 2, imp)
		nImports = 1
	}
	fns = uleb(fns, uint64(len(funcs)))
	for i := range funcs {
		fns = uleb(fns, uint64(i))
	}
	b = section(b, 3, fns)
	b = section(b, 5, []byte{1, 0x00, 1}) // one memory, min 1 page
	exps = uleb(exps, uint64(len(funcs)+1))
	exps = name(exps, "memory")
	exps = append(exps, 0x02, 0)
	for i, f := range funcs {
		exps = name(exps, f.name)
		exps = append(exps, 0x00)
		exps = uleb(exps, uint64(nImports+i))
	}
	b = section(b, 7, exps)
	code = uleb(code, uint64(len(funcs)))
	for _, f := range funcs {
		body := append([]byte{0}, f.body...) // no locals
		body = append(body, 0x0b)
		code = uleb(code, uint64(len(body)))
		code = append(code, body...)
	}
	return section(b, 10, code)
}
