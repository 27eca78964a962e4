//go:build linux

package realpath

import (
	"strings"
	"testing"
	"time"
)

// TestLateCounter checks the delay line's timekeeping figures: releases
// within LateBy of their due time are on time, later ones are counted
// with their total and worst lateness, and take starts afresh.
func TestLateCounter(t *testing.T) {
	var c lateCounter
	for _, d := range []time.Duration{-time.Millisecond, 0, 50 * time.Microsecond, LateBy, 3 * time.Millisecond, 7 * time.Millisecond} {
		c.note(d)
	}
	got := c.take()
	want := LineStats{Released: 6, Late: 2, TotalLate: 10 * time.Millisecond, Worst: 7 * time.Millisecond}
	if got != want {
		t.Errorf("after six releases, two late: %+v, want %+v", got, want)
	}
	if s := got.String(); !strings.Contains(s, "2 of 6 packets (33.33%) released more than 1ms late, by 5ms on average, at worst 7ms") {
		t.Errorf("String() = %q", s)
	}
	if again := c.take(); again != (LineStats{}) {
		t.Errorf("a second take without releases: %+v, want zero", again)
	}
	c.note(0)
	if s := c.take().String(); s != "none of 1 packets released more than 1ms late" {
		t.Errorf("String() on time = %q", s)
	}
}
