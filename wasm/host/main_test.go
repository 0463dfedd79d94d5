package host

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/socketcore/socketcore/wasm/wasmtest"
)

// testModule is core.wasm compiled once for the package's tests.
var testModule *Module

func TestMain(m *testing.M) {
	path, err := wasmtest.Build()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testModule, err = Load(context.Background(), path, Options{CacheDir: cacheDir()})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	before := runtime.NumGoroutine()
	code := m.Run()
	testModule.Close(context.Background())
	wasmtest.Cleanup()
	if code == 0 && !goroutinesBackTo(before) {
		fmt.Fprintf(os.Stderr, "goroutines leaked: %d before, %d after\n", before, runtime.NumGoroutine())
		code = 1
	}
	os.Exit(code)
}

// goroutinesBackTo waits up to 5 s for the goroutine count to fall back
// (a Machine's watchdog must end with it).
func goroutinesBackTo(n int) bool {
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// cacheDir is a compilation cache shared by the test runs of this machine
// (wazero keys it by module hash and its own version).
func cacheDir() string {
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return d + "/socketcore/wazero"
}
