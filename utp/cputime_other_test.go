//go:build !unix

package utp

import (
	"testing"
	"time"
)

// processCPU is not measured where getrusage is missing: the benchmarks
// that report CPU per operation report 0 there.
func processCPU(testing.TB) time.Duration { return 0 }
