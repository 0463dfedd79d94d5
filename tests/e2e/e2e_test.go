// Package e2e drives the native server with the official socket.io-client
// (npm, pinned in package-lock.json) in every transport mode. The JS tests
// in js/ and the application contract in APP.md are shared with the Node
// reference server (run-node.sh), which proves the tests themselves right.
package e2e

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/hosts/native"
	"github.com/socketcore/socketcore/internal/leaktest"
	"github.com/socketcore/socketcore/internal/nodetest"
	"github.com/socketcore/socketcore/wasm/host"
	"github.com/socketcore/socketcore/wasm/wasmtest"
)

func TestMain(m *testing.M) {
	code := leaktest.Check(m)
	wasmtest.Cleanup() // a core.wasm built for this binary
	os.Exit(code)
}

func repoRoot(t *testing.T) string { return nodetest.RepoRoot(t) }

func requireNode(t *testing.T, root string) string {
	return nodetest.Node(t, root, "socket.io-client")
}

func TestOfficialClient(t *testing.T) { runOfficialClient(t, native.Options{}) }

// TestOfficialClientWASM runs the same suite with the protocol core as
// core.wasm under wazero (--core=wasm).
func TestOfficialClientWASM(t *testing.T) {
	mod, err := host.Load(context.Background(), wasmtest.Path(t), host.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer mod.Close(context.Background())
	runOfficialClient(t, native.Options{Machine: func(cfg core.Config) (native.Machine, error) {
		return mod.NewMachine(context.Background(), cfg)
	}})
}

// recoveryWindow is the recovery run's maxDisconnectionDuration: short, since
// one test waits past it (run-node.sh uses the same by default).
const recoveryWindow = 2000 * time.Millisecond

// TestOfficialClientRecovery runs js/recovery.test.mjs alone against the app
// with connection state recovery (APP.md "Recovery mode"): recovery appends
// an offset to every event without ack, which the other tests do not expect.
// Native core only for now.
func TestOfficialClientRecovery(t *testing.T) {
	runOfficialClient(t, native.Options{Recovery: &native.Recovery{MaxDisconnectionDuration: recoveryWindow}})
}

func runOfficialClient(t *testing.T, opts native.Options) {
	root := repoRoot(t)
	node := requireNode(t, root)
	files, _ := filepath.Glob(filepath.Join(root, "tests", "e2e", "js", "*.test.mjs"))
	if len(files) == 0 {
		t.Fatal("no JS tests found in tests/e2e/js")
	}
	env := append(os.Environ(), "SIO_RECOVERY_MS=") // empty: recovery.test.mjs skips
	if opts.Recovery != nil {
		files = []string{filepath.Join(root, "tests", "e2e", "js", "recovery.test.mjs")}
		env = append(os.Environ(), fmt.Sprintf("SIO_RECOVERY_MS=%d", opts.Recovery.MaxDisconnectionDuration.Milliseconds()))
	}
	for _, mode := range []string{"websocket", "polling", "upgrade"} {
		t.Run(mode, func(t *testing.T) {
			srv := NewApp(opts)
			hs := httptest.NewServer(srv)
			defer func() {
				hs.CloseClientConnections()
				hs.Close()
				srv.Close()
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			args := append([]string{"--test", "--test-reporter=spec", "--test-concurrency=1"}, files...)
			cmd := exec.CommandContext(ctx, node, args...)
			cmd.Dir = root
			cmd.Env = append(slices.Clip(env), "SIO_URL="+hs.URL, "SIO_TRANSPORTS="+mode)
			out, err := cmd.CombinedOutput()
			if err != nil || testing.Verbose() {
				t.Logf("node --test (%s):\n%s", mode, out)
			}
			if err != nil {
				t.Fatalf("official client e2e failed in %s mode: %v", mode, err)
			}
		})
	}
}
