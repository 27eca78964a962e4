package main

import (
	"fmt"
	"os"
	"time"
)

// progress draws a one-line progress bar on stderr while bytes pass
// through it, when stderr is a terminal; otherwise it does nothing. It
// does not depend on --json, whose summary goes to stdout.
type progress struct {
	name     string
	total    int64
	n        int64
	start    time.Time
	lastDraw time.Time
	on       bool
}

func newProgress(name string, total int64) *progress {
	return &progress{name: name, total: total, start: time.Now(), on: isTerminal(os.Stderr)}
}

func isTerminal(f *os.File) bool {
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

func (p *progress) Write(b []byte) (int, error) {
	p.n += int64(len(b))
	if p.on && time.Since(p.lastDraw) > 200*time.Millisecond {
		p.draw()
	}
	return len(b), nil
}

func (p *progress) draw() {
	p.lastDraw = time.Now()
	secs := time.Since(p.start).Seconds()
	rate := float64(p.n) / max(secs, 1e-9)
	eta := "?"
	if rate > 0 && p.total >= p.n {
		eta = time.Duration(float64(p.total-p.n) / rate * float64(time.Second)).Round(time.Second).String()
	}
	pct := 100.0
	if p.total > 0 {
		pct = 100 * float64(p.n) / float64(p.total)
	}
	fmt.Fprintf(os.Stderr, "\r%s: %5.1f%% %s / %s  %.1f MB/s  ETA %s   ",
		p.name, pct, humanBytes(p.n), humanBytes(p.total), rate/1e6, eta)
}

func (p *progress) done() {
	if p.on {
		p.draw()
		fmt.Fprintln(os.Stderr)
	}
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
