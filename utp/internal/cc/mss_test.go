package cc

import (
	"testing"
	"time"
)

// TestLEDBATSetMSS checks that a new MSS moves the floor and the
// ALLOWED_INCREASE cap: after it, a sender with one 9,000-byte packet in
// flight may grow its window past flight + one old MSS.
func TestLEDBATSetMSS(t *testing.T) {
	now := time.Unix(1000, 0)
	l := NewLEDBAT(now, LEDBATConfig{MSS: 1200})
	l.SetMSS(9000)
	if l.Window() < 9000 {
		t.Fatalf("window %d below the new floor of one 9000-byte packet", l.Window())
	}
	if got := l.allowedIncrease(); got != 9000*float64(l.cfg.AllowedIncrease) {
		t.Fatalf("allowed increase %v, want %d × 9000", got, l.cfg.AllowedIncrease)
	}
	l.SetMSS(0) // ignored
	if l.cfg.MSS != 9000 {
		t.Fatalf("MSS %d after SetMSS(0)", l.cfg.MSS)
	}
}
