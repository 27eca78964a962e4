package attack

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// untilStalled returns a context that ends when parent does, or once
// progress has not changed for stall: a wall-clock bound on progress,
// not on speed. A loaded machine drains a flood slowly, and a legitimate
// handshake waits its turn in the same kernel queue, so a fixed deadline
// would judge the machine's speed; a Socket that stops handling packets
// altogether still fails the wait within stall.
func untilStalled(parent context.Context, stall time.Duration, progress func() uint64) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	go func() {
		const poll = 100 * time.Millisecond
		t := time.NewTicker(poll)
		defer t.Stop()
		last, since := progress(), time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if p := progress(); p != last {
				last, since = p, time.Now()
				continue
			}
			if time.Since(since) >= stall {
				cancel(fmt.Errorf("no progress for %v: %w", stall, context.DeadlineExceeded))
				return
			}
		}
	}()
	return ctx, func() { cancel(context.Canceled) }
}

// untilStalled ends its context when progress stops, with a cause that
// says so, and not while progress goes on.
func TestUntilStalled(t *testing.T) {
	var n atomic.Uint64
	ctx, cancel := untilStalled(context.Background(), 2*time.Second, n.Load)
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
	case <-time.After(time.Minute): // bounds the test, not the helper's speed
		t.Fatal("progress stopped, yet the context did not end")
	}
	if err := context.Cause(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cause %v, want one matching context.DeadlineExceeded", err)
	}
}
