// Package nodetest finds what the tests that run Node.js need: the
// repository root (where node_modules is) and the node binary with the npm
// packages a test uses, and a script started with pipes (Start), or run as
// a server until it says it is ready (Server). A missing one fails the test
// with what to install; it is never skipped.
package nodetest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

// Start starts cmd (a Node script, its Dir, Env and Stderr set) with a pipe
// to its stdin and one from its stdout, failing the test when it cannot.
func Start(t testing.TB, cmd *exec.Cmd) (stdin io.WriteCloser, stdout io.ReadCloser) {
	t.Helper()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err = cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", cmd.Path, err)
	}
	return stdin, stdout
}

// Server runs cmd, node with a server script (its Dir and Env set), as the
// server name, and returns its URL, http://127.0.0.1:P, once it prints the line
// {"type":"ready","port":P}; a line {"type":"error","message":M} is logged.
// At the end of the test its stdin is closed, on which the script exits
// (it is killed after 3s); its stderr is logged when it failed or the
// test did.
func Server(t testing.TB, cmd *exec.Cmd, name string) string {
	t.Helper()
	script := filepath.Base(cmd.Path)
	if len(cmd.Args) > 1 {
		script = filepath.Base(cmd.Args[1]) // node <script> ...
	}
	cmd.WaitDelay = 2 * time.Second
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, stdout := Start(t, cmd)
	type readyLine struct {
		Type    string `json:"type"`
		Port    int    `json:"port"`
		Message string `json:"message"`
	}
	ready := make(chan readyLine, 1)
	exited := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<16), 1<<20)
		for sc.Scan() {
			var l readyLine
			if json.Unmarshal(sc.Bytes(), &l) != nil {
				continue
			}
			switch l.Type {
			case "ready":
				ready <- l
			case "error":
				t.Logf("%s: %s", name, l.Message) // trouble reported by the Node side
			}
		}
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		stdin.Close() // the script exits when stdin closes
		var err error
		select {
		case err = <-exited:
		case <-time.After(3 * time.Second):
			cmd.Process.Kill()
			err = <-exited
		}
		if err != nil || (t.Failed() && stderr.Len() > 0) {
			t.Logf("%s exited (%v); stderr:\n%s", name, err, stderr.String())
		}
	})
	select {
	case l := <-ready:
		return fmt.Sprintf("http://127.0.0.1:%d", l.Port)
	case err := <-exited:
		exited <- err
		t.Fatalf("%s: %s exited before it was ready (%v):\n%s", name, script, err, stderr.String())
	case <-time.After(15 * time.Second):
		t.Fatalf("%s: %s not ready within 15s", name, script)
	}
	return ""
}

// RunJSON runs node (from Node) with the script at path below root and
// args, within a minute, and decodes the one JSON line it prints into out;
// a script that fails or prints something else fails the test with its
// output.
func RunJSON(t testing.TB, node, root, script string, out any, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join(root, script)}, args...)...)
	cmd.Dir = root
	b, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("%s %v: %v\n%s%s", script, args, err, b, stderr)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s %v: %q: %v", script, args, b, err)
	}
}
