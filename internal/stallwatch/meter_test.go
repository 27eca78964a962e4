package stallwatch

import (
	"strings"
	"testing"
	"time"
)

// The starvation verdict on known wake-ups: on time and small lateness
// are healthy; stalls adding up to more than MaxStalled of the span are
// starved; the worst is kept.
func TestHealth(t *testing.T) {
	var h Health
	h.Span = 10 * time.Second
	for range 9000 {
		h.Note(100 * time.Microsecond)
	}
	h.Note(StallSlack) // not more than the slack: no stall
	if h.Starved() || h.Stalls != 0 {
		t.Errorf("wake-ups within the slack: %v, want healthy with no stalls", h)
	}
	for range 9 {
		h.Note(10 * time.Millisecond)
	}
	if h.Starved() || h.Stalls != 9 || h.Stalled != 90*time.Millisecond {
		t.Errorf("90 ms of stalls in 10 s: %v, want healthy, 9 stalls, 90 ms", h)
	}
	h.Note(20 * time.Millisecond)
	if !h.Starved() || h.Worst != 20*time.Millisecond {
		t.Errorf("110 ms of stalls in 10 s: %v, want starved, worst 20 ms", h)
	}
	if s := h.String(); !strings.HasPrefix(s, "STARVED: 10 of 9011 wake-ups more than 2ms late, 110ms in all (1.1% of 10s, limit 1%), worst 20ms") {
		t.Errorf("String() = %q", s)
	}
}

// The meter wakes and stops: over 50 ms it records wake-ups and its span,
// and its goroutine ends (TestMain's goleak checks).
func TestMeter(t *testing.T) {
	m := StartMeter()
	time.Sleep(50 * time.Millisecond)
	h := m.Stop()
	if h.Wakes == 0 || h.Span < 50*time.Millisecond {
		t.Errorf("after 50 ms: %+v, want wake-ups and a span of at least 50 ms", h)
	}
}
