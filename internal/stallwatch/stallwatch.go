// Package stallwatch bounds a test's waits by progress rather than by
// speed: a context that ends once a progress counter has stood still for
// a while. On a loaded machine work is slow but goes on; a fixed deadline
// then judges the machine, while a stalled counter still catches a hang.
package stallwatch

import (
	"context"
	"fmt"
	"time"
)

// poll is how often the counter is read.
const poll = 100 * time.Millisecond

// Context returns a context that ends when parent does, or once progress
// has returned the same value for stall, with a cause that wraps
// context.DeadlineExceeded and names the stall. progress must be safe to
// call from another goroutine. The returned cancel stops the watch.
func Context(parent context.Context, stall time.Duration, progress func() uint64) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	go func() {
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
