package proto

import (
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// RFC 9840 4.1.1: the advertised window never shrinks by more than the
// bytes received since it was advertised (its right edge never moves
// back), even when the yielding window collapses; and it does shrink to
// the yielding window as data arrives, from the larger early window
// advertised before the yielding window bound.
func TestYieldNeverRetractsTheWindowEdge(t *testing.T) {
	now := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := Config{}.withDefaults()
	var y yieldState
	y.init(now, cfg)
	const free = 4 << 20
	h := &wire.Header{Timestamp: 1, TimestampDiff: 30_000}
	feed := func(qd time.Duration, n int) {
		for range n {
			y.onPacket(now, h, uint32(20_000+qd.Microseconds()), 1000)
			now = now.Add(time.Millisecond)
		}
	}
	feed(0, 50)
	if got, want := y.bound(free), y.ctl.Window(); got != want || got >= free {
		t.Fatalf("window %d before any queue, want the early window %d, under the free buffer %d", got, want, free)
	}
	feed(100*time.Millisecond, 1000) // a steady flight over a standing queue: the yielding window activates
	if !y.ctl.Active() {
		t.Fatal("yielding window inactive after 1 s of a steady flight with 100 ms of queue")
	}
	prev, recvd := y.bound(free), y.recvd
	for range 5000 {
		feed(300*time.Millisecond, 1) // far above target: the bound collapses
		got := y.bound(free)
		if shrink := int64(prev - got); shrink > y.recvd-recvd {
			t.Fatalf("window %d -> %d after %d bytes received: the edge moved back", prev, got, y.recvd-recvd)
		}
		prev, recvd = got, y.recvd
	}
	if prev > 100_000 {
		t.Errorf("window %d after 5 MB at 300 ms of queue, want it down near the yielding window", prev)
	}
	var off yieldState
	off.init(now, Config{NoYield: true}.withDefaults())
	if got := off.bound(12345); got != 12345 {
		t.Errorf("NoYield: window %d, want the free buffer", got)
	}
}
