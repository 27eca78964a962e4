//go:build linux

package realpath

import "testing"

// TestCPUMask checks the sysfs bitmaps steerFlows writes.
func TestCPUMask(t *testing.T) {
	for n, want := range map[int]string{1: "00000001", 2: "00000003", 32: "ffffffff", 33: "00000001,ffffffff"} {
		if got := cpuMask(n); got != want {
			t.Errorf("cpuMask(%d) = %q, want %q", n, got, want)
		}
	}
}
