//go:build linux

package realpath

import (
	"os"
	"os/exec"
	"testing"
)

// NewForTest builds cfg's path for one test and deletes it when the test
// ends, however it ends. It skips the test where it cannot run (not
// root) and fails it where a tool it needs is missing, so that every
// package testing on these paths says the same.
func NewForTest(t testing.TB, cfg Config) *Path {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("realpath: network namespaces need root (CI runs as root)")
	}
	for _, tool := range []string{"ip", "tc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("realpath: %s is missing (.ci/run installs iproute2): %v", tool, err)
		}
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	})
	return p
}
