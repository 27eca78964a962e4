package utp

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"testing"
)

// Platform code stays behind the packet boundary: no file of package utp
// imports unsafe or golang.org/x/sys/unix; internal/packetio does.
func TestNoPlatformImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files found: %v", err)
	}
	for _, name := range files {
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if path == "unsafe" || path == "golang.org/x/sys/unix" {
				t.Errorf("%s imports %s: platform code belongs in internal/packetio", name, path)
			}
		}
	}
}
