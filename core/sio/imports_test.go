package sio

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// allowedImports is the core/ allow-list for these packages (STYLE.md §1).
var allowedImports = map[string]bool{
	"bytes": true, "strings": true, "strconv": true, "errors": true, "slices": true, "maps": true,
	"sort": true, "math": true, "unicode/utf8": true, "unicode/utf16": true, "encoding/base64": true,
	"github.com/socketcore/socketcore/core/internal/jsontext": true,
	"github.com/socketcore/socketcore/core/internal/msgpack":  true,
}

// TestImports keeps the non-test code of sio, jsontext and msgpack inside the core
// boundary: allowed imports only, no goroutines, no panics.
func TestImports(t *testing.T) {
	for _, dir := range []string{".", "../internal/jsontext", "../internal/msgpack"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			af, err := parser.ParseFile(token.NewFileSet(), f, src, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range af.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				if !allowedImports[path] {
					t.Errorf("%s imports %q, which core/ may not use", f, path)
				}
			}
			ast.Inspect(af, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.GoStmt:
					t.Errorf("%s starts a goroutine", f)
				case *ast.CallExpr:
					if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "panic" {
						t.Errorf("%s calls panic", f)
					}
				}
				return true
			})
		}
	}
}
