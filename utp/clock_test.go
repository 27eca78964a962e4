package utp

import (
	"testing"
	"testing/synctest"
	"time"
)

// TestClockFollowsNow checks that the Socket's clock, one monotonic read,
// gives what time.Now would: between two time.Now readings around it
// (compared by their monotonic readings, as deadlines are), and never
// going back. Its wall-clock part is not compared: the system's wall
// clock may be stepped or slewed at any time (on this machine it moved
// 1.4 ms against the monotonic clock within one run of this test).
func TestClockFollowsNow(t *testing.T) {
	k := newClock()
	last := k.now()
	for range 1000 {
		before := time.Now()
		got := k.now()
		after := time.Now()
		if got.Before(before) || got.After(after) || got.Before(last) {
			t.Fatalf("clock read %v, not between %v and %v or before the last read %v", got, before, after, last)
		}
		last = got
	}
}

// TestClockInBubble checks that inside a synctest bubble the clock reads
// the bubble's time exactly, as the netsim tests' virtual time needs.
func TestClockInBubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newClock()
		time.Sleep(1500 * time.Millisecond)
		if got, want := k.now(), time.Now(); !got.Equal(want) {
			t.Fatalf("clock %v, bubble time %v", got, want)
		}
		if got := k.now().Sub(k.epoch); got != 1500*time.Millisecond {
			t.Fatalf("clock advanced %v in the bubble, want 1.5s", got)
		}
	})
}
