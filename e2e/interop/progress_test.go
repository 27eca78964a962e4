package interop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// TestWatchProgressEndsAStall: a transfer whose reads stay blocked is
// ended by the watch once g.stall passes without a byte: the group's
// context ends with the stalled cause, and the blocked read wakes with
// its deadline passed instead of waiting for the test's total bound.
func TestWatchProgressEndsAStall(t *testing.T) {
	a, b, g := stallPipe(t, 500*time.Millisecond)
	readErr := make(chan error, 1)
	go func() {
		var buf [1]byte
		_, err := g.countReads(a).Read(buf[:]) // b never writes
		readErr <- err
	}()
	start := time.Now()
	g.watchProgress(a, b)
	var err error
	select {
	case err = <-readErr:
	case <-time.After(progressBound):
		t.Fatalf("step %q: the blocked read did not wake within %v", "the watch ends the stall", progressBound)
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("step %q: the blocked read returned %v, want its deadline passed", "the watch sets the deadline", err)
	}
	var st stalled
	if !errors.As(context.Cause(g.ctx), &st) {
		t.Errorf("step %q: the group's context ended with %v, want a stall", "the cause names the stall", context.Cause(g.ctx))
	}
	if took := time.Since(start); took < g.stall {
		t.Errorf("step %q: the watch ended the steps after %v, before the %v stall bound", "only a stall ends them", took, g.stall)
	}
	g.cancel(nil)
}

// TestWatchProgressLetsASlowTransferRun: a transfer that takes longer in
// all than g.stall, a byte at a time, is not ended by the watch: the
// bound is on progress, not on the total.
func TestWatchProgressLetsASlowTransferRun(t *testing.T) {
	a, b, g := stallPipe(t, 2*time.Second)
	const n = 30 // a byte every 100 ms: 3 s in all, each gap 1/20 of g.stall
	g.Go("write a byte every 100 ms", func() error {
		for range n {
			time.Sleep(100 * time.Millisecond)
			if _, err := b.Write([]byte{1}); err != nil {
				return err
			}
		}
		return b.Close()
	})
	g.Go("read them to EOF", func() error {
		got, err := io.ReadAll(g.countReads(a))
		if err == nil && len(got) != n {
			err = fmt.Errorf("read %d bytes, want %d", len(got), n)
		}
		return err
	})
	g.watchProgress(a, b)
	g.Wait(t)
	if took := time.Since(g.start); took < g.stall {
		t.Errorf("step %q: the transfer took %v, not longer than the %v stall bound, so it proves nothing", "slower than the bound", took, g.stall)
	}
}

// stallPipe is the two ends of a pipe, closed when t ends, and a group
// whose watch ends its steps after stall without progress.
func stallPipe(t *testing.T, stall time.Duration) (a, b net.Conn, g *group) {
	a, b = net.Pipe()
	t.Cleanup(func() {
		a.Close()
		b.Close()
	})
	g = newGroup(testCtx(t, progressBound))
	g.stall = stall
	return a, b, g
}
