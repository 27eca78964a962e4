package stallwatch

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the package if a goroutine outlives the tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// The context ends when progress stops, with a cause that says so, and
// not while progress goes on.
func TestContext(t *testing.T) {
	var n atomic.Uint64
	ctx, cancel := Context(context.Background(), 2*time.Second, n.Load)
	defer cancel()
	// Progress every 20 ms, for a second: far from the 2 s stall even
	// when this goroutine waits its turn on a loaded machine.
	moving := time.Now().Add(time.Second)
	for time.Now().Before(moving) {
		n.Add(1)
		if ctx.Err() != nil {
			t.Fatalf("ended while progress went on: %v", context.Cause(ctx))
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case <-ctx.Done():
	case <-time.After(time.Minute): // bounds the test, not the watch's speed
		t.Fatal("progress stopped, yet the context did not end")
	}
	if err := context.Cause(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cause %v, want one matching context.DeadlineExceeded", err)
	}
}

// Cancel ends the context and its watch at once (goleak checks the
// goroutine is gone).
func TestCancel(t *testing.T) {
	ctx, cancel := Context(context.Background(), time.Hour, func() uint64 { return 0 })
	cancel()
	<-ctx.Done()
	if err := context.Cause(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cause %v, want context.Canceled", err)
	}
}
