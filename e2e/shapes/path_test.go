//go:build linux

package shapes

import (
	"fmt"
	"testing"

	"github.com/inet256/go-utp/v2/e2e/realpath"
	"github.com/inet256/go-utp/v2/utp"
)

// ours is our library at its defaults.
var ours = realpath.UTP("utp")

// socketStats is an endpoint of ours: its Socket's counters.
type socketStats interface{ Stats() utp.SocketStats }

// newPath builds cfg's path for one test (realpath.NewForTest).
func newPath(t *testing.T, cfg realpath.Config) *realpath.Path {
	return realpath.NewForTest(t, cfg)
}

// bitrate formats bits per second.
func bitrate(bps float64) string { return fmt.Sprintf("%.4g Mbit/s", bps/1e6) }
