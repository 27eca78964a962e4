package main

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// drawEvery is how often a bar is redrawn.
	drawEvery = 200 * time.Millisecond
	// rateWindow is the span of the current rate: long enough to smooth
	// uTP's bursts, short enough to show a change within seconds.
	rateWindow = 3 * time.Second
	// stallAfter is how long a bar waits without progress before it
	// says "stalled".
	stallAfter = 2 * time.Second
)

// bars makes the progress bars of one command: drawn on stderr when it
// is a terminal and -q was not given; otherwise they only count.
type bars struct {
	on bool
}

func newBars(quiet bool) *bars {
	return &bars{on: !quiet && isTerminal(os.Stderr)}
}

// progress is one file's bar. Its counters are set by the goroutine
// moving the data; a goroutine of its own draws it (when on), so that a
// transfer that stops is seen to stop.
type progress struct {
	name  string
	total int64 // -1: unknown
	n     atomic.Int64
	// lag, if set, is how much of n has not arrived yet: a sender counts
	// what it read, and its connection says what is still unacknowledged.
	lag   func() int64
	start time.Time
	on    bool

	mu      sync.Mutex // guards what follows
	label   string     // a phase that replaces the ETA ("verifying")
	end     time.Time
	samples []sample // the last rateWindow of (time, n), oldest first
	moved   time.Time
	last    int64 // n at moved
	width   int   // of the last line drawn

	quit chan struct{}
	done chan struct{}
}

type sample struct {
	t time.Time
	n int64
}

// start makes a bar for a file of total bytes (-1 if unknown); lag, if
// not nil, is subtracted from what it counts (see progress.lag).
func (b *bars) start(name string, total int64, lag func() int64) *progress {
	now := time.Now()
	p := &progress{name: name, total: total, lag: lag, start: now, moved: now, on: b.on,
		quit: make(chan struct{}), done: make(chan struct{})}
	if p.on {
		go p.run()
	} else {
		close(p.done)
	}
	return p
}

func (p *progress) run() {
	defer close(p.done)
	t := time.NewTicker(drawEvery)
	defer t.Stop()
	for {
		select {
		case <-p.quit:
			return
		case now := <-t.C:
			p.draw(now)
		}
	}
}

func (p *progress) add(k int64) { p.n.Add(k) }
func (p *progress) set(n int64) { p.n.Store(n) }

// phase names what the bar waits for, in place of its ETA.
func (p *progress) phase(s string) {
	p.mu.Lock()
	p.label = s
	p.mu.Unlock()
}

// finish draws the bar a last time, complete, and ends it.
func (p *progress) finish() { p.end1(true) }

// stop ends the bar where it stands.
func (p *progress) stop() { p.end1(false) }

func (p *progress) end1(complete bool) {
	p.mu.Lock()
	ended := !p.end.IsZero()
	if !ended {
		p.end = time.Now()
		if complete {
			p.label = "done"
		}
	}
	p.mu.Unlock()
	if ended {
		return
	}
	close(p.quit)
	<-p.done
	if p.on {
		p.draw(time.Now())
		fmt.Fprintln(os.Stderr)
	}
}

func (p *progress) ended() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.end.IsZero()
}

// took is the time from the bar's start to its end (or now).
func (p *progress) took() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.end.IsZero() {
		return time.Since(p.start)
	}
	return p.end.Sub(p.start)
}

func (p *progress) draw(now time.Time) {
	line := p.line(now, termWidth(os.Stderr))
	p.mu.Lock()
	pad := max(p.width-len([]rune(line)), 0)
	p.width = len([]rune(line))
	p.mu.Unlock()
	fmt.Fprint(os.Stderr, "\r"+line+strings.Repeat(" ", pad))
}

// line renders the bar for a terminal width columns wide:
//
//	name [=====>     ]  45.2%  12.3 MiB / 27.2 MiB  5.1 MiB/s (avg 4.8 MiB/s)  ETA 3s
func (p *progress) line(now time.Time, width int) string {
	n := p.n.Load()
	if p.lag != nil && !p.ended() {
		n = max(n-p.lag(), 0)
	}
	rate, avg, label := p.rates(now, n)
	tail := humanBytes(n)
	pct := -1.0
	if p.total >= 0 {
		tail += " / " + humanBytes(p.total)
		pct = 100
		if p.total > 0 {
			pct = 100 * float64(n) / float64(p.total)
		}
	}
	if label == "done" {
		tail += fmt.Sprintf("  %s/s  done", humanBytes(int64(avg)))
	} else {
		tail += fmt.Sprintf("  %s/s (avg %s/s)", humanBytes(int64(rate)), humanBytes(int64(avg)))
	}
	switch {
	case label == "done":
	case label != "":
		tail += "  " + label
	case pct >= 0 && rate > 0:
		eta := time.Duration(float64(p.total-n) / rate * float64(time.Second)).Round(time.Second)
		tail += "  ETA " + eta.String()
	default:
		tail += "  ETA ?"
	}
	if pct >= 0 {
		tail = fmt.Sprintf("%5.1f%%  ", pct) + tail
	}
	return fit(p.name, tail, pct, width-1) // the last column would wrap on some terminals
}

// fit lays out name, a bar and tail in width columns: the bar takes what
// is left (it goes first when space is short), then the name shrinks.
func fit(name, tail string, pct float64, width int) string {
	tailLen := len([]rune(tail))
	nameRunes := []rune(name)
	room := width - tailLen - 2
	if room <= 1 {
		// No room for a name: the figures alone, cut to the width, so
		// that a narrow terminal does not wrap and scroll.
		if r := []rune(tail); len(r) > width {
			return string(r[:max(width, 0)])
		}
		return tail
	}
	if len(nameRunes) > room {
		nameRunes = append(nameRunes[:room-1], '…')
	}
	name = string(nameRunes)
	barLen := width - len(nameRunes) - tailLen - 5 // ": [", "] "
	if pct < 0 || barLen < 10 {
		return name + ": " + tail
	}
	barLen = min(barLen, 40)
	full := int(float64(barLen) * min(pct, 100) / 100)
	bar := strings.Repeat("=", full)
	if full < barLen {
		bar += ">" + strings.Repeat(" ", barLen-full-1)
	}
	return name + ": [" + bar + "] " + tail
}

// rates returns the current rate (over the last rateWindow), the average
// since the start, and the phase label, "stalled" when nothing moved for
// stallAfter.
func (p *progress) rates(now time.Time, n int64) (rate, avg float64, label string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n != p.last {
		p.last, p.moved = n, now
	}
	p.samples = append(p.samples, sample{now, n})
	for len(p.samples) > 1 && now.Sub(p.samples[0].t) > rateWindow {
		p.samples = p.samples[1:]
	}
	if first := p.samples[0]; now.Sub(first.t) > 0 {
		rate = float64(n-first.n) / now.Sub(first.t).Seconds()
	}
	end := now
	if !p.end.IsZero() {
		end = p.end
	}
	avg = float64(n) / max(end.Sub(p.start).Seconds(), 1e-9)
	label = p.label
	if label == "" && now.Sub(p.moved) >= stallAfter {
		label = fmt.Sprintf("stalled %ds", int(now.Sub(p.moved).Seconds()))
	}
	return max(rate, 0), avg, label
}

// humanBytes writes n in binary units (KiB, MiB, GiB): the one family
// every size and rate the command prints uses.
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
