package cc

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// forbiddenImports are packages (and their subpackages) a sans-IO package
// must not use: I/O, locking, logging and randomness.
var forbiddenImports = []string{"net", "os", "sync", "log", "math/rand", "crypto/rand"}

// forbiddenTimeFuncs read the wall clock or schedule work on it.
var forbiddenTimeFuncs = []string{
	"Now", "Sleep", "AfterFunc", "NewTimer", "NewTicker", "Tick", "After", "Since", "Until",
}

// purityViolations lists the ways f breaks the package's sans-IO rules.
func purityViolations(fset *token.FileSet, f *ast.File) []string {
	var bad []string
	timeNames := map[string]bool{}
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		for _, p := range forbiddenImports {
			if path == p || strings.HasPrefix(path, p+"/") {
				bad = append(bad, "imports "+path)
			}
		}
		if path == "time" {
			name := "time"
			if imp.Name != nil {
				name = imp.Name.Name
			}
			timeNames[name] = true
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GoStmt:
			bad = append(bad, fset.Position(n.Pos()).String()+": go statement")
		case *ast.SelectorExpr:
			if id, ok := n.X.(*ast.Ident); ok && timeNames[id.Name] && slices.Contains(forbiddenTimeFuncs, n.Sel.Name) {
				bad = append(bad, fset.Position(n.Pos()).String()+": time."+n.Sel.Name)
			}
		}
		return true
	})
	return bad
}

func TestPackageIsSansIO(t *testing.T) {
	paths, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, p, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, v := range purityViolations(fset, f) {
			t.Errorf("%s: %s", p, v)
		}
	}
	if checked < 4 {
		t.Fatalf("checked %d files, want at least 4 (wrong directory?)", checked)
	}
}

// TestPurityCheckerCatches makes sure the checker above is not vacuous.
func TestPurityCheckerCatches(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want int
	}{
		{"clean", `package p; import "time"; func f(now time.Time) time.Time { return now.Add(time.Second) }`, 0},
		{"net", `package p; import _ "net"`, 1},
		{"sync/atomic", `package p; import _ "sync/atomic"`, 1},
		{"os and log", `package p; import (_ "os"; _ "log/slog")`, 2},
		{"rand", `package p; import _ "math/rand/v2"`, 1},
		{"time.Now", `package p; import "time"; var x = time.Now()`, 1},
		{"aliased time.Sleep", `package p; import tm "time"; func f() { tm.Sleep(1) }`, 1},
		{"timers", `package p; import "time"; func f() { time.AfterFunc(1, nil); time.NewTimer(1); <-time.After(1); time.Tick(1) }`, 4},
		{"go statement", `package p; func f() { go f() }`, 1},
		{"unrelated Now", `package p; type c struct{}; func (c) Now() int { return 0 }; var x = c{}.Now()`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, "x.go", tt.src, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got := purityViolations(fset, f); len(got) != tt.want {
				t.Errorf("got %d violations %q, want %d", len(got), got, tt.want)
			}
		})
	}
}
