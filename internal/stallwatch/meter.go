package stallwatch

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// A figure measured on the wall clock (a round trip through a relay or a
// delay line in user space, a rate beside the kernel's TCP) describes the
// path only while the test process gets a processor when it asks: when it
// waits for one, every timer it runs fires late. A Meter measures that
// while a figure is taken, so a test can tell a starved run from a miss.

const (
	// MeterTick is how long a Meter sleeps between wake-ups.
	MeterTick = time.Millisecond
	// StallSlack is how much later than asked a wake-up may come before it
	// counts as a stall. A sleeping goroutine wakes some tens of
	// microseconds late on an idle machine; two milliseconds more means
	// the process was waiting for a processor.
	StallSlack = 2 * time.Millisecond
	// MaxStalled is the share of a span its stalls may add up to before
	// the span counts as starved: 1% is 100 ms in 10 s.
	MaxStalled = 0.01
)

// Health is what a Meter saw.
type Health struct {
	Span    time.Duration // how long the meter ran
	Wakes   int           // wake-ups measured
	Stalls  int           // wake-ups later than StallSlack
	Stalled time.Duration // their lateness, summed
	Worst   time.Duration // the latest wake-up
}

// Note records one wake-up, late by d.
func (h *Health) Note(d time.Duration) {
	h.Wakes++
	h.Worst = max(h.Worst, d)
	if d > StallSlack {
		h.Stalls++
		h.Stalled += d
	}
}

// Starved reports whether the stalls add up to more than MaxStalled of
// the span.
func (h Health) Starved() bool {
	return float64(h.Stalled) > MaxStalled*float64(h.Span)
}

func (h Health) String() string {
	verdict := "healthy"
	if h.Starved() {
		verdict = "STARVED"
	}
	return fmt.Sprintf("%s: %d of %d wake-ups more than %v late, %v in all (%.1f%% of %v, limit %.0f%%), worst %v",
		verdict, h.Stalls, h.Wakes, StallSlack, h.Stalled.Round(time.Millisecond),
		100*float64(h.Stalled)/float64(max(h.Span, 1)), h.Span.Round(time.Millisecond),
		100*MaxStalled, h.Worst.Round(time.Millisecond))
}

// Meter is one goroutine that sleeps MeterTick at a time and records how
// late it wakes, as every timer of the process does.
type Meter struct {
	start time.Time
	stop  chan struct{}
	done  chan Health
}

// StartMeter starts a Meter; Stop ends it.
func StartMeter() *Meter {
	m := &Meter{start: time.Now(), stop: make(chan struct{}), done: make(chan Health, 1)}
	go m.run()
	return m
}

func (m *Meter) run() {
	var h Health
	tm := time.NewTimer(MeterTick)
	defer tm.Stop()
	for {
		before := time.Now()
		tm.Reset(MeterTick)
		select {
		case <-m.stop:
			h.Span = time.Since(m.start)
			m.done <- h
			return
		case <-tm.C:
		}
		h.Note(time.Since(before) - MeterTick)
	}
}

// Stop ends the meter's goroutine and returns what it saw. Call it once.
func (m *Meter) Stop() Health {
	close(m.stop)
	return <-m.done
}

// Measure takes a figure that a starved process could spoil: run takes
// it and returns the bounds it missed. Measure runs it under a Meter
// until it misses none; or misses while the process was healthy, which
// fails t with each miss; or has missed attempts times in starved runs,
// or t's deadline leaves no room for another run as long as the last.
// Every attempt is logged with the process's health. When every attempt
// was starved the misses are logged, not failed: they describe the load,
// not what the figure is meant to judge.
//
// A starved run that meets its bounds ends it, as a healthy one does:
// sound for a bound that starvation can only make harder to meet (a rate,
// a delay, a deadline), and weaker evidence for one it can flatter (how
// little a flow of ours takes beside TCP, when our sender was the one
// starved). The log says which kind of run passed; only the test process
// is metered, not a helper process such as a delay line.
func Measure(t testing.TB, attempts int, run func() []string) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		var misses []string
		var h Health
		func() {
			m := StartMeter()
			defer func() { h = m.Stop() }() // also when run fails t: no goroutine left
			misses = run()
		}()
		if len(misses) == 0 {
			t.Logf("attempt %d met its bounds; the process was %v", attempt, h)
			return
		}
		t.Logf("attempt %d missed: %s; the process was %v", attempt, strings.Join(misses, "; "), h)
		if !h.Starved() {
			for _, s := range misses {
				t.Error(s)
			}
			return
		}
		dl, ok := t.(interface{ Deadline() (time.Time, bool) })
		if attempt == attempts || ok && noRoom(dl, h.Span) {
			t.Logf("NOT ASSERTED: the process was starved in each of %d attempts; the figures describe the load", attempt)
			return
		}
	}
}

// noRoom reports whether t's deadline is too near for another run as
// long as last, with a margin for the tests still to run.
func noRoom(t interface{ Deadline() (time.Time, bool) }, last time.Duration) bool {
	d, ok := t.Deadline()
	return ok && time.Until(d) < 3*last
}
