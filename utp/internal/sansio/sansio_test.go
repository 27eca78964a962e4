package sansio

import (
	"go/parser"
	"go/token"
	"testing"
)

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
		{"math/rand/v2", `package p; import _ "math/rand/v2"`, 1},
		{"unrelated Now", `package p; type c struct{}; func (c) Now() int { return 0 }; var x = c{}.Now()`, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, "x.go", tt.src, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got := Violations(fset, f); len(got) != tt.want {
				t.Errorf("got %d violations %q, want %d", len(got), got, tt.want)
			}
		})
	}
}
