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
