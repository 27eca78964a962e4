package realpath

import (
	"strings"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/internal/stallwatch"
)

// The scenarios' figures are only about the protocol when the harness
// keeps time. The delay line, the probes and both ends of every
// user-space transport run in the test process: when the machine is so
// loaded that the process waits for a processor, the line releases ACKs
// late (which a delay-based controller reads as queueing delay), probes
// are stamped late, and our sender idles beside a kernel TCP that does
// not. A stall meter (stallwatch.Meter) measures that while a scenario
// runs; a scenario that misses its target on a starved harness is run
// again, a bounded number of times, and fails only if it misses with a
// healthy one.

// maxAttempts bounds how often a scenario runs on a starved harness.
const maxAttempts = 3

// measure runs a scenario's measurement, which returns the targets it
// missed (none: it passed), until it passes, or misses while the
// harness was healthy (then the test fails with what it missed), or it
// has missed maxAttempts times on a starved harness, or the test's time
// would run out before another attempt. Every attempt is logged with the
// harness's health. When every attempt was starved the misses are
// logged, not failed: they say the machine was too busy to measure the
// path, not that the protocol missed.
func measure(t *testing.T, run func() []string) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		var misses []string
		var h stallwatch.Health
		func() {
			m := stallwatch.StartMeter()
			defer func() { h = m.Stop() }() // also when run fails the test: no goroutine left
			misses = run()
		}()
		if len(misses) == 0 {
			t.Logf("attempt %d met its targets; harness %v", attempt, h)
			return
		}
		t.Logf("attempt %d missed: %s; harness %v", attempt, strings.Join(misses, "; "), h)
		if !h.Starved() {
			for _, s := range misses {
				t.Error(s)
			}
			return
		}
		if attempt == maxAttempts || !timeFor(t, h.Span) {
			t.Logf("NOT ASSERTED: the harness was starved in each of %d attempts; on this machine now the figures measure the load, not the path", attempt)
			return
		}
	}
}

// timeFor reports whether the test binary's deadline (go test -timeout)
// leaves room for another attempt as long as the last, with a margin for
// the scenarios still to run.
func timeFor(t *testing.T, last time.Duration) bool {
	d, ok := t.Deadline()
	return !ok || time.Until(d) > 3*last
}
