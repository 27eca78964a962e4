//go:build linux

package realpath

import (
	"testing"

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
// missed, until a healthy run decides (stallwatch.Measure).
func measure(t *testing.T, run func() []string) {
	t.Helper()
	stallwatch.Measure(t, maxAttempts, run)
}
