//go:build linux

package shapes

import (
	"testing"

	"github.com/inet256/go-utp/v2/e2e/realpath"
	"go.uber.org/goleak"
)

// TestMain fails the package if a goroutine outlives the tests. The
// test binary also serves as the paths' delay lines.
func TestMain(m *testing.M) {
	realpath.DelayLineMain()
	goleak.VerifyTestMain(m)
}
