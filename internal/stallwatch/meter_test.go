package stallwatch

import (
	"fmt"
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

// recordTB records what Measure reports instead of failing the test.
type recordTB struct {
	testing.TB
	errs, logs []string
}

func (r *recordTB) Helper()           {}
func (r *recordTB) Error(args ...any) { r.errs = append(r.errs, fmt.Sprint(args...)) }
func (r *recordTB) Logf(format string, args ...any) {
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}

// Measure runs once when the bounds hold. A miss is run again only while
// the process was starved, at most the attempts given; the first miss of
// a healthy run fails with each miss, and if all were starved nothing
// fails and the log says so. (Whether this machine starves the tiny runs
// is not the test's to choose: it checks that the outcome follows what
// each attempt's log says.)
func TestMeasure(t *testing.T) {
	r := &recordTB{TB: t}
	runs := 0
	Measure(r, 3, func() []string { runs++; return nil })
	if runs != 1 || len(r.errs) != 0 || len(r.logs) != 1 || !strings.Contains(r.logs[0], "met its bounds; the process was") {
		t.Errorf("bounds held: %d runs, errors %q, logs %q; want 1 run, no error, its health logged", runs, r.errs, r.logs)
	}
	r, runs = &recordTB{TB: t}, 0
	Measure(r, 3, func() []string { runs++; return []string{"a", "b"} })
	starved := 0
	for _, l := range r.logs {
		if strings.Contains(l, "was STARVED") {
			starved++
		}
	}
	switch {
	case runs < 1 || runs > 3 || (runs != starved && runs != starved+1):
		t.Errorf("misses: %d runs, %d of them starved; logs %q", runs, starved, r.logs)
	case runs == starved+1 && strings.Join(r.errs, ",") != "a,b":
		t.Errorf("a healthy run missed a and b: errors %q", r.errs)
	case runs == starved && (runs != 3 || len(r.errs) != 0 || !strings.Contains(r.logs[len(r.logs)-1], "NOT ASSERTED")):
		t.Errorf("every run starved: %d runs, errors %q, logs %q; want 3 runs, no error, NOT ASSERTED", runs, r.errs, r.logs)
	}
}
