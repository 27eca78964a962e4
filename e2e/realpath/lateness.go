//go:build linux

package realpath

import (
	"fmt"
	"sync/atomic"
	"time"
)

// LateBy is how far past its due time the delay line may release a
// packet before the release counts as late. A sleeping goroutine wakes
// some tens of microseconds after its timer on an idle machine; a
// millisecond more means the process was descheduled, and the packets
// then carry that much more round trip than the path's.
const LateBy = time.Millisecond

// LineStats say whether the user-space delay line kept time: how many
// packets it released, how many of those more than LateBy after they
// were due, by how much in total, and the worst. A line that falls
// behind adds its lateness to every round trip it carries, which a
// delay-based controller reads as queueing delay. (A packet the kernel
// held in the TUN device's queue before the line read it is not seen
// here: its clock starts when it is read.)
type LineStats struct {
	Released, Late int64
	TotalLate      time.Duration // summed over the late packets
	Worst          time.Duration
}

// String summarises the stats as the reports print them.
func (s LineStats) String() string {
	if s.Late == 0 {
		return fmt.Sprintf("none of %d packets released more than %v late", s.Released, LateBy)
	}
	return fmt.Sprintf("%d of %d packets (%.2f%%) released more than %v late, by %v on average, at worst %v",
		s.Late, s.Released, 100*float64(s.Late)/float64(max(s.Released, 1)), LateBy,
		(s.TotalLate / time.Duration(s.Late)).Round(10*time.Microsecond), s.Worst.Round(10*time.Microsecond))
}

// lateCounter accumulates LineStats from the writing goroutine; a run
// reads it from another.
type lateCounter struct {
	released, late, totalLate, worst atomic.Int64
}

// note records one release, late by d (negative or small: on time).
func (c *lateCounter) note(d time.Duration) {
	c.released.Add(1)
	if d <= LateBy {
		return
	}
	c.late.Add(1)
	c.totalLate.Add(int64(d))
	for {
		w := c.worst.Load()
		if int64(d) <= w || c.worst.CompareAndSwap(w, int64(d)) {
			return
		}
	}
}

// take returns the stats since the last take and starts afresh, so each
// run on a path sees only its own.
func (c *lateCounter) take() LineStats {
	return LineStats{Released: c.released.Swap(0), Late: c.late.Swap(0),
		TotalLate: time.Duration(c.totalLate.Swap(0)), Worst: time.Duration(c.worst.Swap(0))}
}
