//go:build linux

package shapes

import (
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/inet256/go-utp/v2/e2e/realpath"
	"github.com/inet256/go-utp/v2/utp"
)

// ours is our library at its defaults.
var ours = realpath.UTP("utp")

// socketStats is an endpoint of ours: its Socket's counters.
type socketStats interface{ Stats() utp.SocketStats }

// newPath builds cfg's path for one test and deletes it when the test
// ends, however it ends.
func newPath(t *testing.T, cfg realpath.Config) *realpath.Path {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("shapes: network namespaces need root (CI runs as root)")
	}
	for _, tool := range []string{"ip", "tc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("shapes: %s is missing (.ci/run installs iproute2): %v", tool, err)
		}
	}
	p, err := realpath.New(cfg)
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

// bitrate formats bits per second.
func bitrate(bps float64) string { return fmt.Sprintf("%.4g Mbit/s", bps/1e6) }
