// Package wasmtest gives tests a core.wasm: the file named by
// $SOCKETCORE_CORE_WASM if set (as `make test` sets it after `make wasm`),
// otherwise one built from source once per test binary, so that `go test
// ./...` works on a clean clone.
package wasmtest

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/socketcore/socketcore/wasm/build"
)

// EnvPath names the environment variable of a prebuilt core.wasm.
const EnvPath = "SOCKETCORE_CORE_WASM"

var (
	once sync.Once
	path string
	dir  string
	err  error
)

// Path returns the path of core.wasm, building it on first use. Call
// Cleanup from TestMain to remove a file it built.
func Path(tb testing.TB) string {
	tb.Helper()
	p, err := Build()
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// Build is Path for TestMain (no testing.TB yet).
func Build() (string, error) {
	once.Do(func() {
		if p := os.Getenv(EnvPath); p != "" {
			path = p
			return
		}
		dir, err = os.MkdirTemp("", "socketcore-wasm-")
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		path = filepath.Join(dir, "core.wasm")
		err = build.Guest(ctx, path)
	})
	return path, err
}

// Bytes returns the contents of core.wasm.
func Bytes(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile(Path(tb))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// Cleanup removes what Build built (not a file named by EnvPath).
func Cleanup() {
	if dir != "" {
		os.RemoveAll(dir)
	}
}
