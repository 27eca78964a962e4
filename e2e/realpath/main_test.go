//go:build linux

package realpath

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a goroutine outlives the tests. The
// test binary also serves as the paths' delay lines (DelayLineMain).
func TestMain(m *testing.M) {
	DelayLineMain()
	goleak.VerifyTestMain(m)
}
