package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuSeconds is the user plus system CPU time this process has used.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// stopwatch measures wall and CPU time over an interval.
type stopwatch struct {
	start time.Time
	cpu   float64
}

func startWatch() stopwatch { return stopwatch{time.Now(), cpuSeconds()} }

func (s stopwatch) stop() (seconds, cpu float64) {
	return time.Since(s.start).Seconds(), cpuSeconds() - s.cpu
}

// goMemory is the memory the Go runtime holds for live objects and
// goroutine stacks, after a collection.
func goMemory() uint64 {
	runtime.GC()
	s := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/stacks:bytes"},
	}
	metrics.Read(s)
	return s[0].Value.Uint64() + s[1].Value.Uint64()
}

// rss is the process's resident set size in bytes (VmRSS), which also
// counts memory outside the Go heap, such as libutp's.
func rss() uint64 { return procStatus("VmRSS:") }

// peakRSS is the most resident memory the process has held (VmHWM): a
// worker is a fresh process, so it is the peak of its one measurement.
func peakRSS() uint64 { return procStatus("VmHWM:") }

// procStatus reads a size in kB from /proc/self/status, in bytes.
func procStatus(field string) uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// udpDrops sums the kernel's receive-buffer drop counters of the UDP
// sockets bound to ports (the last column of /proc/net/udp and udp6).
// Read it before the sockets close.
func udpDrops(ports ...int) int64 { return udpDropsIn("/proc/net", ports...) }

// udpDropsIn is udpDrops from the tables in dir: /proc/thread-self/net
// reads them in the calling thread's network namespace.
func udpDropsIn(dir string, ports ...int) int64 {
	var total int64
	for _, file := range []string{dir + "/udp", dir + "/udp6"} {
		f, err := os.Open(file)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 13 {
				continue
			}
			_, hexPort, ok := strings.Cut(fields[1], ":")
			if !ok {
				continue
			}
			port, err := strconv.ParseUint(hexPort, 16, 16)
			if err != nil || !slices.Contains(ports, int(port)) {
				continue
			}
			drops, _ := strconv.ParseInt(fields[len(fields)-1], 10, 64)
			total += drops
		}
		f.Close()
	}
	return total
}

// percentile returns the p-th percentile (0 to 100) of sorted durations,
// in microseconds.
func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p / 100)
	return float64(sorted[i].Nanoseconds()) / 1e3
}

func mib(n int64) string { return fmt.Sprintf("%d MiB", n>>20) }
