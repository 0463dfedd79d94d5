package conformance

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/engine"
	"github.com/socketcore/socketcore/wasm/host"
	"github.com/socketcore/socketcore/wasm/wasmtest"
)

var wasmModule *host.Module

func TestMain(m *testing.M) {
	path, err := wasmtest.Build()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cache, _ := os.UserCacheDir()
	wasmModule, err = host.Load(context.Background(), path, host.Options{CacheDir: cache + "/socketcore/wazero"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	wasmModule.Close(context.Background())
	wasmtest.Cleanup()
	os.Exit(code)
}

// wasmFactory gives each scenario a fresh core.wasm instance.
func wasmFactory(t testing.TB, cfg core.Config) Machine {
	m, err := wasmModule.NewMachine(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Err(); err != nil {
			t.Errorf("core.wasm stopped: %v", err)
		}
		m.Release(context.Background())
	})
	return m
}

// The kit against itself: the native core twice gives one transcript (the
// machine is deterministic), and every scenario's checks hold.
func TestNativeDeterministic(t *testing.T) { Run(t, Native) }

// core.wasm through wazero behaves exactly as the native core.
func TestWasm(t *testing.T) { Run(t, wasmFactory) }

// wasmEngineFactory gives each engine scenario a fresh core.wasm instance
// in the engine role.
func wasmEngineFactory(t testing.TB, cfg engine.Config) EngineMachine {
	m, err := wasmModule.NewEngineMachine(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Err(); err != nil {
			t.Errorf("core.wasm stopped: %v", err)
		}
		m.Release(context.Background())
	})
	return m
}

// The engine scenarios: the native engine twice, then core.wasm's engine
// role against it.
func TestEngineNativeDeterministic(t *testing.T) { RunEngine(t, NativeEngine) }

func TestEngineWasm(t *testing.T) { RunEngine(t, wasmEngineFactory) }

// The cluster scenarios: native cores twice, then core.wasm servers
// against them (ABI version 2 carries the cluster).
func TestClusterNativeDeterministic(t *testing.T) { RunCluster(t, Native) }

func TestClusterWasm(t *testing.T) { RunCluster(t, wasmFactory) }
