// Package host runs core.wasm under wazero and gives a Go program the same
// machine as the native core: Machine has the method set of *core.Server
// (Handle, Poll, Emit, Broadcast, ...), so a host drives either without
// knowing which (ARCHITECTURE.md "Embed core.wasm in another Go program").
// EngineMachine is the module's other role, a plain Engine.IO server
// (engine.NewServer(cfg, nil)), for hosts of the engine.io protocol alone.
//
// A Module is compiled once (wazero's compiler, optionally with an on-disk
// compilation cache) and checked before anything runs: a file that is not
// WASM, a module that imports more than WASI or lacks an export of
// wasm/ABI.md, or one whose ABI version differs is refused by Compile. Each
// Machine (or EngineMachine) is one instance, one shard: its calls are
// serialized, and a trap inside it (a Go panic, running out of memory)
// turns into an error that every later call returns (Err), never a host
// panic or a hang.
//
// It uses the core's public types and the ABI codec (wasm/abi), never the
// core's logic.
package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/wasm/abi"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Options configures a Module. The zero value is ready.
type Options struct {
	// CacheDir keeps wazero's compiled code between processes
	// (wazero.NewCompilationCacheWithDir): with a warm cache Compile takes
	// milliseconds instead of seconds. Empty means an in-memory cache
	// shared by nothing.
	CacheDir string
	// MemoryLimitPages bounds each instance's linear memory, in 64 KiB
	// pages (0: wazero's default, 4 GiB). A guest that needs more traps.
	MemoryLimitPages uint32
	// Stderr also receives what guests write to stderr (the Go runtime's
	// panic messages). The last few KiB are kept anyway and quoted in
	// TrapError.
	Stderr io.Writer
	// Interpreter selects wazero's interpreter instead of its compiler
	// (about 30× slower; for platforms without the compiler).
	Interpreter bool
	// CallTimeout, if positive, bounds one call into a guest: a call
	// still running after it (a guest stuck in a loop) is aborted and the
	// machine fails with a *TrapError. It costs one goroutine per Machine,
	// and wazero's termination checks in the compiled code more than double
	// the time of every call (a 100-byte event: about 20 µs → 50 µs), so
	// it is off by default.
	CallTimeout time.Duration
}

// Module is a compiled core.wasm, ready to create instances. It is safe for
// concurrent use; its Machines are not.
type Module struct {
	opts Options
	rt   wazero.Runtime
	cm   wazero.CompiledModule
}

// Errors of Compile.
var (
	// ErrBadModule: the bytes are not a WebAssembly module core.wasm can be.
	ErrBadModule = errors.New("core.wasm: bad module")
	// ErrVersion: the module speaks another ABI version.
	ErrVersion = errors.New("core.wasm: ABI version mismatch")
)

// exports are the functions of wasm/ABI.md with their signatures.
var exports = map[string]struct{ params, results []api.ValueType }{
	"_initialize":     {nil, nil},
	"sio_abi_version": {nil, []api.ValueType{api.ValueTypeI32}},
	"sio_buffer":      {[]api.ValueType{api.ValueTypeI32}, []api.ValueType{api.ValueTypeI32}},
	"sio_new":         {[]api.ValueType{api.ValueTypeI32, api.ValueTypeI32}, []api.ValueType{api.ValueTypeI32}},
	"sio_handle": {[]api.ValueType{api.ValueTypeI64, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32},
		[]api.ValueType{api.ValueTypeI64}},
	"sio_reply": {[]api.ValueType{api.ValueTypeI32, api.ValueTypeI32}, []api.ValueType{api.ValueTypeI64}},
	"sio_poll":  {[]api.ValueType{api.ValueTypeI32, api.ValueTypeI32}, []api.ValueType{api.ValueTypeI64}},
}

// Load reads core.wasm from path and compiles it (see Compile).
func Load(ctx context.Context, path string, opts Options) (*Module, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Compile(ctx, b, opts)
}

// Compile compiles core.wasm and checks it: its imports, its exports and
// their signatures, and the ABI version an instance reports (one instance
// is created and closed to ask; it also proves the module starts).
func Compile(ctx context.Context, wasm []byte, opts Options) (*Module, error) {
	rc := wazero.NewRuntimeConfig() // the compiler where wazero has one
	if opts.Interpreter {
		rc = wazero.NewRuntimeConfigInterpreter()
	}
	if opts.CacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(opts.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("core.wasm: compilation cache: %w", err)
		}
		rc = rc.WithCompilationCache(cache)
	}
	if opts.MemoryLimitPages > 0 {
		rc = rc.WithMemoryLimitPages(opts.MemoryLimitPages)
	}
	if opts.CallTimeout > 0 {
		rc = rc.WithCloseOnContextDone(true)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	m := &Module{opts: opts, rt: rt}
	if err := m.compile(ctx, wasm); err != nil {
		rt.Close(ctx)
		return nil, err
	}
	return m, nil
}

func (m *Module) compile(ctx context.Context, wasm []byte) error {
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, m.rt); err != nil {
		return err
	}
	cm, err := m.rt.CompileModule(ctx, wasm)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadModule, err)
	}
	m.cm = cm
	for _, f := range cm.ImportedFunctions() {
		mod, name, _ := f.Import()
		if mod != wasi_snapshot_preview1.ModuleName {
			return fmt.Errorf("%w: imports %s.%s (core.wasm imports only WASI)", ErrBadModule, mod, name)
		}
	}
	if _, ok := cm.ExportedMemories()["memory"]; !ok {
		return fmt.Errorf("%w: no exported memory", ErrBadModule)
	}
	defs := cm.ExportedFunctions()
	names := make([]string, 0, len(exports))
	for n := range exports {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		want := exports[name]
		d, ok := defs[name]
		if !ok {
			return fmt.Errorf("%w: no export %s", ErrBadModule, name)
		}
		if !slices.Equal(d.ParamTypes(), want.params) || !slices.Equal(d.ResultTypes(), want.results) {
			return fmt.Errorf("%w: export %s has signature %s, want %s", ErrBadModule, name,
				signature(d.ParamTypes(), d.ResultTypes()), signature(want.params, want.results))
		}
	}
	// Fail fast (http-wasm's middleware instantiates one guest eagerly):
	// start one instance and ask its version.
	inst, _, err := m.instantiate(ctx)
	if err != nil {
		return err
	}
	defer inst.Close(ctx)
	res, err := inst.ExportedFunction("sio_abi_version").Call(ctx)
	if err != nil {
		return fmt.Errorf("%w: sio_abi_version: %v", ErrBadModule, err)
	}
	if v := uint32(res[0]); v != abi.Version {
		return fmt.Errorf("%w: the module speaks version %d, this host version %d", ErrVersion, v, abi.Version)
	}
	return nil
}

func signature(params, results []api.ValueType) string {
	var b strings.Builder
	b.WriteString("(func")
	if len(params) > 0 {
		b.WriteString(" (param")
		for _, p := range params {
			b.WriteString(" " + api.ValueTypeName(p))
		}
		b.WriteString(")")
	}
	if len(results) > 0 {
		b.WriteString(" (result")
		for _, r := range results {
			b.WriteString(" " + api.ValueTypeName(r))
		}
		b.WriteString(")")
	}
	return b.String() + ")"
}

// instantiate starts one instance: the Go runtime initializes in
// _initialize (a WASI reactor). Clocks and randomness stay wazero's
// deterministic fakes: the core reads neither (time and the seed come in
// through the ABI).
func (m *Module) instantiate(ctx context.Context) (api.Module, *tail, error) {
	stderr := &tail{}
	var w io.Writer = stderr
	if m.opts.Stderr != nil {
		w = io.MultiWriter(stderr, m.opts.Stderr)
	}
	cfg := wazero.NewModuleConfig().
		WithName(""). // anonymous: many instances of one module
		WithStartFunctions("_initialize").
		WithStderr(w)
	inst, err := m.rt.InstantiateModule(ctx, m.cm, cfg)
	if err != nil {
		return nil, nil, &TrapError{Op: "_initialize", Err: err, Stderr: stderr.String()}
	}
	return inst, stderr, nil
}

// NewMachine starts an instance and creates its machine with cfg (zero
// values take the core's defaults, as core.NewServer does).
func (m *Module) NewMachine(ctx context.Context, cfg core.Config) (*Machine, error) {
	inst, stderr, err := m.instantiate(ctx)
	if err != nil {
		return nil, err
	}
	mc, err := newMachine(inst, stderr, cfg, m.opts.CallTimeout)
	if err != nil {
		inst.Close(ctx)
		return nil, err
	}
	return mc, nil
}

// Close releases the runtime and every instance still open.
func (m *Module) Close(ctx context.Context) error { return m.rt.Close(ctx) }

// tail keeps the first and the last KiB written to it (a guest's stderr:
// a Go panic says what happened first, then dumps every goroutine).
type tail struct {
	head, end []byte
	cut       bool
}

const tailKeep = 2 << 10

func (t *tail) Write(p []byte) (int, error) {
	n := len(p)
	if room := tailKeep - len(t.head); room > 0 {
		k := min(room, len(p))
		t.head = append(t.head, p[:k]...)
		p = p[k:]
	}
	t.end = append(t.end, p...)
	if len(t.end) > tailKeep {
		t.end = append(t.end[:0], t.end[len(t.end)-tailKeep:]...)
		t.cut = true
	}
	return n, nil
}

func (t *tail) String() string {
	s := string(t.head)
	if t.cut {
		s += "\n[...]\n"
	}
	return strings.TrimSpace(s + string(t.end))
}
