package proto

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

// The sans-IO contract (doc.go, design.md): the protocol core does no IO,
// takes no locks, logs nothing, reads no clock, sets no timer and starts no
// goroutine. Every time comes in as an argument.

// bannedImports are packages, with their subpackages, the core must not
// import.
var bannedImports = []string{"net", "os", "sync", "log"}

// bannedTimeFuncs read the wall clock or schedule work on it.
var bannedTimeFuncs = []string{
	"Now", "Sleep", "AfterFunc", "NewTimer", "NewTicker", "Tick", "After", "Since", "Until",
}

// sansIOViolations lists how f breaks the contract.
func sansIOViolations(fset *token.FileSet, f *ast.File) []string {
	var bad []string
	timeNames := map[string]bool{}
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		for _, p := range bannedImports {
			if path == p || strings.HasPrefix(path, p+"/") {
				bad = append(bad, fset.Position(imp.Pos()).String()+": imports "+path)
			}
		}
		if path == "time" {
			switch name := imp.Name; {
			case name == nil:
				timeNames["time"] = true
			case name.Name == ".":
				// Calls could not be told apart from local functions.
				bad = append(bad, fset.Position(imp.Pos()).String()+": dot-imports time")
			default:
				timeNames[name.Name] = true
			}
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GoStmt:
			bad = append(bad, fset.Position(n.Pos()).String()+": go statement")
		case *ast.SelectorExpr:
			if id, ok := n.X.(*ast.Ident); ok && timeNames[id.Name] &&
				slices.Contains(bannedTimeFuncs, n.Sel.Name) {
				bad = append(bad, fset.Position(n.Pos()).String()+": time."+n.Sel.Name)
			}
		}
		return true
	})
	return bad
}

func TestImportsSansIO(t *testing.T) {
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
		for _, v := range sansIOViolations(fset, f) {
			t.Errorf("%s", v)
		}
	}
	if checked < 5 {
		t.Fatalf("checked %d files, want the package's sources (wrong directory?)", checked)
	}
}

// TestImportsDetectorCatches makes sure the check above can fail.
func TestImportsDetectorCatches(t *testing.T) {
	for _, tt := range []struct {
		name string
		src  string
		want int
	}{
		{"clean", `package p; import "time"; func f(now time.Time) time.Time { return now.Add(time.Second) }`, 0},
		{"net", `package p; import _ "net"`, 1},
		{"net/netip", `package p; import _ "net/netip"`, 1},
		{"os and log", `package p; import (_ "os"; _ "log/slog")`, 2},
		{"sync/atomic", `package p; import _ "sync/atomic"`, 1},
		{"time.Now", `package p; import "time"; var x = time.Now()`, 1},
		{"aliased time.Sleep", `package p; import tm "time"; func f() { tm.Sleep(1) }`, 1},
		{"timers", `package p; import "time"; func f() { time.AfterFunc(1, nil); time.NewTimer(1); <-time.After(1); time.Tick(1) }`, 4},
		{"dot import", `package p; import . "time"; var x = Now()`, 1},
		{"go statement", `package p; func f() { go f() }`, 1},
		{"unrelated Now", `package p; type c struct{}; func (c) Now() int { return 0 }; var x = c{}.Now()`, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, "x.go", tt.src, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got := sansIOViolations(fset, f); len(got) != tt.want {
				t.Errorf("got %d violations %q, want %d", len(got), got, tt.want)
			}
		})
	}
}
