// Package nodetest finds what the tests that run Node.js need: the
// repository root (where node_modules is) and the node binary with the npm
// packages a test uses. A missing one fails the test with what to install;
// it is never skipped.
package nodetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// RepoRoot is the directory of go.mod above the test's working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// Node returns the node binary, after checking that each of pkgs is
// installed in root's node_modules.
func Node(t testing.TB, root string, pkgs ...string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node not found: install Node.js 20+ (apt-get install nodejs npm), then run `npm ci` at the repository root (`make test` does)")
	}
	for _, pkg := range pkgs {
		if _, err := os.Stat(filepath.Join(root, "node_modules", pkg, "package.json")); err != nil {
			t.Fatalf("node_modules/%s missing: run `npm ci` at the repository root (`make test` does)", pkg)
		}
	}
	return node
}
