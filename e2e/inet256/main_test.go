package inet256e2e

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine outlives the tests: node
// clients, Sockets, PacketConns and daemon waiters must all end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// checkLeaks fails t if goroutines started during it are still running
// when it ends. Call it first, so that its check runs after every other
// cleanup (which close sockets and kill daemons).
func checkLeaks(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}
