package main

import (
	"strings"
	"testing"
	"time"
)

// The bar, drawn at chosen instants (no clock): the current rate follows
// the last rateWindow while the average covers the whole transfer, the
// ETA comes from the current rate, 2 s without progress say "stalled", a
// phase replaces the ETA, every size and rate is in binary units, and
// the line fits the width it is given.
func TestProgressLine(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const MiB = 1 << 20
	p := &progress{name: "payload.bin", total: 100 * MiB, start: t0, moved: t0,
		quit: make(chan struct{}), done: make(chan struct{})}
	at := func(sec float64, n int64) string {
		p.set(n)
		return p.line(t0.Add(time.Duration(sec*float64(time.Second))), 120)
	}
	// 5 MiB/s for 10 s, then 1 MiB/s, drawn every 200 ms.
	var line string
	for i := int64(1); i <= 100; i++ {
		n := i * MiB
		if i > 50 {
			n = 50*MiB + (i-50)*MiB/5
		}
		line = at(float64(i)/5, n)
	}
	// At 20 s: 60 MiB moved, 1 MiB/s now, 3 MiB/s on average, 40 s to go.
	for _, want := range []string{"60.0%", "60.0 MiB / 100.0 MiB", "1.0 MiB/s (avg 3.0 MiB/s)", "ETA 40s"} {
		if !strings.Contains(line, want) {
			t.Fatalf("bar at 20 s lacks %q: %q", want, line)
		}
	}
	if l := at(21.9, 60*MiB); strings.Contains(l, "stalled") {
		t.Fatalf("stalled after 1.9 s without progress: %q", l)
	}
	if l := at(22.1, 60*MiB); !strings.Contains(l, "stalled 2s") || strings.Contains(l, "ETA") {
		t.Fatalf("not stalled after 2.1 s without progress: %q", l)
	}
	p.phase("verifying")
	if l := at(22.3, 100*MiB); !strings.Contains(l, "verifying") || strings.Contains(l, "ETA") {
		t.Fatalf("the verifying phase does not show: %q", l)
	}
	for _, l := range []string{line, at(22.5, 100*MiB)} {
		if strings.Contains(l, "MB") || strings.Contains(l, "KB") {
			t.Fatalf("a decimal unit in %q", l)
		}
	}
	for _, width := range []int{120, 80, 40, 20} {
		l := p.line(t0.Add(23*time.Second), width)
		if n := len([]rune(l)); n >= width {
			t.Fatalf("%d columns: a line of %d: %q", width, n, l)
		}
	}
}
