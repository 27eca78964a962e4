//go:build linux

package realpath

import (
	"testing"
	"time"
)

// TestOrderStateLate checks the reordering count on send times whose
// answer is known: a burst of three held while three later packets pass
// is one episode of three late packets, the first 5 µs behind the newest
// (9 against 4) and overtaken by three; packets in order after it are
// not late, nor are packets in order across the 32-bit clock's wrap.
func TestOrderStateLate(t *testing.T) {
	var o orderState
	for _, ts := range []uint32{1, 2, 3, 7, 8, 9, 4, 5, 6, 10, 11} {
		o.add(ts)
	}
	want := ReorderStats{Packets: 11, Late: 3, Episodes: 1, WorstBehind: 5 * time.Microsecond, WorstOvertaken: 3}
	if got := o.take(); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	var w orderState
	for _, ts := range []uint32{1<<32 - 2, 1<<32 - 1, 0, 1, 1<<32 - 1, 2} {
		w.add(ts) // in order across the wrap but for the second 2^32-1
	}
	want = ReorderStats{Packets: 6, Late: 1, Episodes: 1, WorstBehind: 2 * time.Microsecond, WorstOvertaken: 2}
	if got := w.take(); got != want {
		t.Errorf("across the wrap: got %+v, want %+v", got, want)
	}
}
