// Package build builds core.wasm from source with the go command, the way
// `make wasm` does, for tests, tools and programs that run the guest
// without a prebuilt artefact. It owns no logic of the guest or the host.
package build

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
)

// Package is the import path of the guest (package main).
const Package = "github.com/socketcore/socketcore/wasm/guest"

// Flags are the go build flags of core.wasm: a WASI reactor
// (-buildmode=c-shared), reproducible (-trimpath) and without the symbol
// table and DWARF (-s -w: about 56 KB; Go's panic traces keep their names).
var Flags = []string{"-buildmode=c-shared", "-trimpath", "-ldflags=-s -w"}

// Env is the environment the build adds to the current one.
var Env = []string{"GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0"}

// Guest builds core.wasm to dst with the go command found in PATH (or
// $GOROOT/bin). It runs in the current directory, which must be inside a
// module that contains or requires github.com/socketcore/socketcore.
func Guest(ctx context.Context, dst string) error {
	gobin, err := goCommand()
	if err != nil {
		return err
	}
	if dir := filepath.Dir(dst); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	args := append([]string{"build"}, Flags...)
	args = append(args, "-o", dst, Package)
	cmd := exec.CommandContext(ctx, gobin, args...)
	cmd.Env = append(os.Environ(), Env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return errors.New("build core.wasm: " + err.Error() + "\n" + stderr.String())
	}
	return nil
}

func goCommand() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	if root := os.Getenv("GOROOT"); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("build core.wasm: no go command in PATH")
}
