package utp

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine outlives its tests: Sockets
// must take their reader goroutine with them, and Conns have none.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// checkLeaks fails t if goroutines started during it are still running
// when it ends (after its other cleanups, which close its Sockets).
func checkLeaks(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}
