//go:build !linux

package utp

import "time"

// threadSched is measured only on Linux (schedstat in /proc).
func threadSched() (ran, waited time.Duration, ok bool) { return 0, 0, false }
