package interop

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a goroutine outlives the tests: ours,
// the relay's, and the peers' (each peer's socket takes its reader with
// it when closed).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
