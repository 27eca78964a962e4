package cc

import (
	"testing"
	"time"
)

// timeoutUndoCases are the controllers that undo a spurious timeout.
var timeoutUndoCases = []struct {
	name string
	mk   func(now time.Time) TimeoutUndoer
}{
	{"LEDBAT", func(now time.Time) TimeoutUndoer { return NewLEDBAT(now, LEDBATConfig{MSS: mss, InitialWindow: 40}) }},
	{"LEDBATPP", func(now time.Time) TimeoutUndoer {
		return NewLEDBATPP(now, LEDBATPPConfig{MSS: mss, InitialWindow: 40})
	}},
}

// RFC 4015's response to a spurious timeout: the window and slow start
// are as before the first of a series of timeouts, and a real loss right
// after may reduce again.
func TestSpuriousTimeoutUndoesCollapse(t *testing.T) {
	for _, tt := range timeoutUndoCases {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Unix(1000, 0)
			u := tt.mk(now)
			c := u.(Controller)
			before, slow := c.Window(), c.InSlowStart()
			c.OnTimeout(now)
			c.OnTimeout(now.Add(time.Second)) // backed off, still no ACK
			if c.Window() >= before {
				t.Fatalf("window %d after a timeout, want below %d", c.Window(), before)
			}
			u.OnSpuriousTimeout(now.Add(2 * time.Second))
			if c.Window() != before || c.InSlowStart() != slow {
				t.Fatalf("after the undo: window %d, slow start %v; want %d, %v", c.Window(), c.InSlowStart(), before, slow)
			}
			c.OnLoss(now.Add(3*time.Second), 50*time.Millisecond)
			if c.Window() >= before {
				t.Fatalf("window %d after a real loss following the undo, want below %d", c.Window(), before)
			}
		})
	}
}

// The undo does nothing once an ACK has come after the timeout (the
// connection judges a timeout at the first ACK that follows it), nor
// twice.
func TestSpuriousTimeoutUndoBounded(t *testing.T) {
	for _, tt := range timeoutUndoCases {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Unix(1000, 0)
			u := tt.mk(now)
			c := u.(Controller)
			c.OnTimeout(now)
			c.OnAck(Ack{Now: now.Add(time.Second), AckedBytes: mss, FlightBefore: mss, Delay: 1000, HasDelay: true, RTT: 50 * time.Millisecond})
			after := c.Window()
			u.OnSpuriousTimeout(now.Add(2 * time.Second))
			if c.Window() != after {
				t.Fatalf("undo after an ACK moved the window %d -> %d", after, c.Window())
			}
			c.OnTimeout(now.Add(3 * time.Second))
			u.OnSpuriousTimeout(now.Add(4 * time.Second))
			w := c.Window()
			u.OnSpuriousTimeout(now.Add(5 * time.Second))
			if c.Window() != w {
				t.Fatalf("a second undo moved the window %d -> %d", w, c.Window())
			}
		})
	}
}
