// Package sansio checks the sans-IO contract of the protocol packages
// (proto, cc): no IO, no locks, no logging, no randomness, no clock reads,
// no timers, no goroutines. Their tests call CheckDir.
package sansio

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

// The sans-IO contract (doc.go): the protocol core does no IO,
// takes no locks, logs nothing, reads no clock, sets no timer and starts no
// goroutine. Every time comes in as an argument.

// bannedImports are packages, with their subpackages, the core must not
// import: IO, locking, logging and randomness.
var bannedImports = []string{"net", "os", "sync", "log", "math/rand", "crypto/rand"}

// bannedTimeFuncs read the wall clock or schedule work on it.
var bannedTimeFuncs = []string{
	"Now", "Sleep", "AfterFunc", "NewTimer", "NewTicker", "Tick", "After", "Since", "Until",
}

// Violations lists how f breaks the contract.
func Violations(fset *token.FileSet, f *ast.File) []string {
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

// CheckDir fails t for every violation in the non-test Go files of the
// current directory (a package's tests run there), and if fewer than
// minFiles were checked.
func CheckDir(t testing.TB, minFiles int) {
	t.Helper()
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
		for _, v := range Violations(fset, f) {
			t.Errorf("%s", v)
		}
	}
	if checked < minFiles {
		t.Fatalf("checked %d files, want the package's sources (wrong directory?)", checked)
	}
}
