package core

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The core boundary (STYLE.md §1, ARCHITECTURE.md "Who may import whom"):
// core/... is deterministic and I/O-free, so it may import only core/* and
// the standard library's pure packages, and it never reads the clock, sleeps
// or starts goroutines. These tests check the non-test sources mechanically.

const modulePath = "github.com/socketcore/socketcore"

// directAllowed is what a core package may import itself.
var directAllowed = []string{
	"bytes", "strings", "strconv", "errors", "slices", "maps", "sort", "container/heap",
	"math", "math/bits", "math/rand/v2", "unicode", "unicode/utf8", "unicode/utf16",
	"encoding/base64", "time", // time for Duration only: see TestNoClockNoGoroutines
}

// depsAllowed is what the allowed packages pull in (found with `go list
// -deps ./core/...`): the runtime, its internal packages, and the few std
// packages that `time`, `math/rand/v2` and `slices` use. `sync`, `syscall`
// and `io` only come in through `time` and are forbidden as direct imports.
var depsAllowed = []string{
	"runtime", "unsafe", "cmp", "iter", "io", "sync", "sync/atomic", "syscall", "structs",
	"internal/*", "runtime/internal/*", "vendor/*",
}

// forbidden packages never appear, even indirectly.
var forbidden = []string{
	"net", "net/*", "os", "os/*", "fmt", "encoding/json", "reflect", "log", "log/*",
	"crypto/rand", "math/rand", "context", "io/fs", "bufio", "runtime/cgo", "plugin",
}

// forbiddenDirect are forbidden as direct imports of a core package (some
// of them are dependencies of `time`).
var forbiddenDirect = []string{"sync", "sync/atomic", "syscall", "unsafe", "io", "runtime"}

func matchAny(pkg string, patterns []string) bool {
	for _, p := range patterns {
		if p == pkg || strings.HasSuffix(p, "/*") && strings.HasPrefix(pkg, strings.TrimSuffix(p, "*")) {
			return true
		}
	}
	return false
}

func goList(t *testing.T, env []string, args ...string) []string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	cmd := exec.Command(gobin, append([]string{"list"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("go list %v: %v\n%s", args, err, msg)
	}
	return strings.Fields(string(out))
}

// TestImports runs `go list -deps` on ./... (from core/) for the host and
// for the two WASM targets, and checks every package against the lists.
func TestImports(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	for _, target := range [][]string{nil, {"GOOS=wasip1", "GOARCH=wasm"}, {"GOOS=js", "GOARCH=wasm"}} {
		deps := goList(t, target, "-deps", "./...")
		if len(deps) < 10 {
			t.Fatalf("%v: go list -deps gave only %q", target, deps)
		}
		var core int
		for _, p := range deps {
			switch {
			case p == modulePath+"/core" || strings.HasPrefix(p, modulePath+"/core/"):
				core++
			case strings.HasPrefix(p, modulePath+"/"):
				t.Errorf("%v: core depends on %s, outside core/", target, p)
			case matchAny(p, forbidden):
				t.Errorf("%v: core depends on forbidden package %s", target, p)
			case p == "syscall/js":
				// GOOS=js only: time's dependency on the JS runtime
			case !matchAny(p, directAllowed) && !matchAny(p, depsAllowed):
				t.Errorf("%v: core depends on %s, not in the allow-list", target, p)
			}
		}
		if core < 6 {
			t.Fatalf("%v: only %d core packages in %q", target, core, deps)
		}
	}
}

// TestDirectImports checks each core package's own imports.
func TestDirectImports(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	lines := goList(t, nil, "-f", `{{.ImportPath}}:{{join .Imports ","}}`, "./...")
	if len(lines) < 6 {
		t.Fatalf("go list gave %q", lines)
	}
	for _, line := range lines {
		pkg, imports, _ := strings.Cut(line, ":")
		for _, imp := range strings.Split(imports, ",") {
			switch {
			case imp == "":
			case strings.HasPrefix(imp, modulePath+"/core/") || imp == modulePath+"/core":
			case matchAny(imp, forbiddenDirect) || matchAny(imp, forbidden):
				t.Errorf("%s imports forbidden %s", pkg, imp)
			case !matchAny(imp, directAllowed):
				t.Errorf("%s imports %s, not in the allow-list", pkg, imp)
			}
		}
	}
}

// TestNoClockNoGoroutines parses every non-test Go file under core/ and
// fails on go statements, on reading or waiting for the clock (time.Now,
// Since, Until, Sleep, After, AfterFunc, Tick, NewTimer, NewTicker), and on
// any use of package sync.
func TestNoClockNoGoroutines(t *testing.T) {
	banned := []string{"Now", "Since", "Until", "Sleep", "After", "AfterFunc", "Tick", "NewTimer", "NewTicker"}
	fset := token.NewFileSet()
	var files int
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != "." && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		files++
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		// the local names of "time" and "sync" in this file
		names := map[string]string{}
		for _, imp := range f.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			name := p[strings.LastIndex(p, "/")+1:]
			if imp.Name != nil {
				name = imp.Name.Name
			}
			names[name] = p
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GoStmt:
				t.Errorf("%s: go statement", fset.Position(n.Pos()))
			case *ast.SelectorExpr:
				x, ok := n.X.(*ast.Ident)
				if !ok {
					return true
				}
				switch names[x.Name] {
				case "time":
					if slices.Contains(banned, n.Sel.Name) {
						t.Errorf("%s: time.%s (core never reads or waits for the clock)", fset.Position(n.Pos()), n.Sel.Name)
					}
				case "sync", "sync/atomic":
					t.Errorf("%s: %s.%s (core is single-owner)", fset.Position(n.Pos()), x.Name, n.Sel.Name)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 15 {
		t.Fatalf("only %d source files found under core/", files)
	}
}

func TestMatchAny(t *testing.T) {
	tests := []struct {
		pkg      string
		patterns []string
		want     bool
	}{
		{"net", []string{"net", "net/*"}, true},
		{"net/http", []string{"net", "net/*"}, true},
		{"network", []string{"net", "net/*"}, false},
		{"internal/abi", depsAllowed, true},
		{"os", forbidden, true},
		{"unicode/utf8", directAllowed, true},
		{"encoding/json", directAllowed, false},
	}
	for _, tt := range tests {
		if got := matchAny(tt.pkg, tt.patterns); got != tt.want {
			t.Errorf("matchAny(%q) = %v", tt.pkg, got)
		}
	}
}
