//go:build linux

package realpath

import (
	"fmt"
	"runtime"
	"strings"
)

// A veth device has no receive queues of its own: a packet sent into one
// end is put on the backlog of the CPU that sent it (netif_rx), and each
// CPU's backlog is drained by that CPU's softirq. A sender whose thread
// moves between CPUs (a Go program's goroutines do), or a tbf whose
// dequeue runs on whichever CPU its timer or the enqueuer ran, thus
// spreads one flow over several backlogs, and when one CPU drains its
// backlog late (on a loaded machine its softirq may wait for the CPU),
// later packets queued on the other pass the packets queued there: the
// path reorders a little, which a real router whose network card's
// receive-side scaling keeps each flow on one queue would not. The
// kernel's receive packet steering (RPS), turned on for a device, does
// what that card does: it hashes each flow to one CPU of a mask and
// queues the packet on that CPU's backlog, whichever CPU sent it. The
// paths turn it on for every veth end (the taps count what is left,
// tap.go; docs/performance.md has the figures).

// steerFlows turns on receive packet steering over every CPU for device
// dev in namespace ns (Documentation/networking/scaling.rst, "RPS").
func steerFlows(ns, dev string) error {
	path := fmt.Sprintf("/sys/class/net/%s/queues/rx-0/rps_cpus", dev)
	// ip netns exec mounts the namespace's own sysfs, where dev is.
	return run("ip", "netns", "exec", ns, "sh", "-c", fmt.Sprintf("echo %s > %s", cpuMask(runtime.NumCPU()), path))
}

// cpuMask is the sysfs bitmap of CPUs 0 to n-1: hexadecimal words of 32
// bits, most significant first, separated by commas.
func cpuMask(n int) string {
	var words []string
	for lo := 0; lo < n; lo += 32 {
		bits := min(n-lo, 32)
		words = append(words, fmt.Sprintf("%08x", uint32(1<<bits-1)))
	}
	for i, j := 0, len(words)-1; i < j; i, j = i+1, j-1 {
		words[i], words[j] = words[j], words[i]
	}
	return strings.Join(words, ",")
}
