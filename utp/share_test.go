package utp

import (
	"testing"
	"time"
)

// The window each connection may advertise is the budget divided among
// the connections that received at least shareActive bytes in this
// period or the one before, or any data after a period in which they
// counted, never below minShare; without a budget there is no limit.
func TestWindowShare(t *testing.T) {
	if w := newWindowShare(0); w.window() != 0 {
		t.Fatalf("no budget: window %d, want 0 (no limit)", w.window())
	}
	w := newWindowShare(16 << 20) // as Linux reports an 8 MiB request
	if got := w.window(); got != 8<<20 {
		t.Fatalf("before any data: %d, want the whole budget", got)
	}
	conns := make([]*Conn, 64)
	for i := range conns {
		conns[i] = &Conn{}
	}
	start := time.Unix(1000, 0)
	for _, c := range conns {
		before := w.window()
		w.noteData(c, start, 1000)
		if got := w.window(); got != before {
			t.Fatalf("a connection that received 1,000 bytes counts: window %d, was %d", got, before)
		}
		w.noteData(c, start, shareActive)
		w.noteData(c, start, shareActive) // counted once per period
	}
	if got := w.window(); got != 8<<20/64 {
		t.Fatalf("64 receiving: %d, want %d", got, 8<<20/64)
	}
	next := start.Add(sharePeriod)
	w.noteData(conns[0], next, shareActive)
	if got := w.window(); got != 8<<20/64 {
		t.Fatalf("the next period still counts the previous one: %d, want %d", got, 8<<20/64)
	}
	w.noteData(conns[0], next.Add(sharePeriod), shareActive)
	if got := w.window(); got != 8<<20 {
		t.Fatalf("one receiving after two periods: %d, want the whole budget", got)
	}
	w.noteData(conns[1], next.Add(10*sharePeriod), shareActive)
	if got := w.window(); got != 8<<20 {
		t.Fatalf("after a pause: %d, want the whole budget", got)
	}
	// A reader slowed by load: 64 connections counted, then each gets
	// only 1,000 bytes a period, and the reader misses three periods.
	slow := newWindowShare(16 << 20)
	for _, c := range conns {
		*c = Conn{}
		slow.noteData(c, start, shareActive)
	}
	at := start
	for _, gap := range []int{1, 1, 4, 1} {
		at = at.Add(time.Duration(gap) * sharePeriod)
		for _, c := range conns {
			slow.noteData(c, at, 1000)
			if got := slow.window(); got != 8<<20/64 {
				t.Fatalf("64 counted, then 1,000 bytes each %d period(s) later: window %d, want %d", gap, got, 8<<20/64)
			}
		}
	}
	// A connection that had no data in the last period with data must
	// receive shareActive again to count; the others, gone quiet, leave
	// the count one period later.
	at = at.Add(sharePeriod)
	slow.noteData(conns[0], at, 1000)
	if got := slow.window(); got != 8<<20/64 {
		t.Fatalf("the previous period's count stands: %d, want %d", got, 8<<20/64)
	}
	at = at.Add(sharePeriod)
	slow.noteData(conns[1], at, 1000) // quiet for two periods with data: not counted
	slow.noteData(conns[0], at, 1000) // counted in the last one: counts
	if got := slow.window(); got != 8<<20 {
		t.Fatalf("one receiving after the others went quiet: %d, want the whole budget", got)
	}

	many := newWindowShare(1 << 20)
	for range 10000 {
		many.noteData(&Conn{}, start, shareActive)
	}
	if got := many.window(); got != minShare {
		t.Fatalf("10,000 receiving: %d, want the floor %d", got, minShare)
	}
}
