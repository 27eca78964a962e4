package cc

import (
	"testing"
	"time"
)

// undoCase drives one controller through a loss, a spurious-loss undo,
// and the cases where the undo must do nothing.
type undoCase struct {
	name string
	mk   func(now time.Time) Controller
}

var undoCases = []undoCase{
	{"LEDBAT", func(now time.Time) Controller { return NewLEDBAT(now, LEDBATConfig{MSS: mss, InitialWindow: 40}) }},
	{"Reno", func(time.Time) Controller { return NewReno(RenoConfig{MSS: mss, InitialWindow: 40}) }},
}

// RFC 4015 3.2 (the Eifel response), as Linux's tcp_undo_cwnd_reduction:
// a reduction whose losses were all spurious is undone, window and slow
// start as they were.
func TestSpuriousLossUndoesReduction(t *testing.T) {
	for _, tt := range undoCases {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Unix(1000, 0)
			c := tt.mk(now)
			before, slow := c.Window(), c.InSlowStart()
			c.OnLoss(now, 50*time.Millisecond)
			if c.Window() >= before {
				t.Fatalf("window %d after a loss, want below %d", c.Window(), before)
			}
			c.OnSpuriousLoss(now.Add(10 * time.Millisecond))
			if c.Window() != before || c.InSlowStart() != slow {
				t.Fatalf("after the undo: window %d, slow start %v; want %d, %v", c.Window(), c.InSlowStart(), before, slow)
			}
			// A real loss right after may reduce again.
			c.OnLoss(now.Add(20*time.Millisecond), 50*time.Millisecond)
			if c.Window() >= before {
				t.Fatalf("window %d after a real loss following an undo, want below %d", c.Window(), before)
			}
		})
	}
}

// An undo restores only what the latest loss took, and never after a
// timeout (which the Eifel evidence does not cover) or twice.
func TestSpuriousLossUndoBounded(t *testing.T) {
	for _, tt := range undoCases {
		t.Run(tt.name+"/after timeout", func(t *testing.T) {
			now := time.Unix(1000, 0)
			c := tt.mk(now)
			c.OnLoss(now, 50*time.Millisecond)
			c.OnTimeout(now.Add(time.Second))
			after := c.Window()
			c.OnSpuriousLoss(now.Add(2 * time.Second))
			if c.Window() != after {
				t.Fatalf("undo after a timeout moved the window %d -> %d", after, c.Window())
			}
		})
		t.Run(tt.name+"/twice", func(t *testing.T) {
			now := time.Unix(1000, 0)
			c := tt.mk(now)
			c.OnLoss(now, 50*time.Millisecond)
			c.OnSpuriousLoss(now)
			w := c.Window()
			c.OnSpuriousLoss(now)
			if c.Window() != w {
				t.Fatalf("a second undo moved the window %d -> %d", w, c.Window())
			}
		})
		t.Run(tt.name+"/ignored loss", func(t *testing.T) {
			// A loss the controller ignored (within an RTT of the last
			// decrease) must not let an undo restore the earlier one.
			now := time.Unix(1000, 0)
			c := tt.mk(now)
			c.OnLoss(now, 50*time.Millisecond)
			halved := c.Window()
			c.OnLoss(now.Add(10*time.Millisecond), 50*time.Millisecond)
			c.OnSpuriousLoss(now.Add(20 * time.Millisecond))
			if c.Window() != halved {
				t.Fatalf("undo of an ignored loss moved the window %d -> %d", halved, c.Window())
			}
		})
	}
}
