package cc

import (
	"math"
	"testing"
	"time"
)

// joinHarness is a controller on a 40 ms path whose first periodic
// slowdown (draft section 4.6.2) has ended, holding the queue at the
// target, a quarter of the way to its next slowdown, when a join
// becomes allowed (LEDBATPP.othersSlowingDown).
func joinHarness(t *testing.T, cfg LEDBATPPConfig) *ppHarness {
	t.Helper()
	return joinHarnessOn(t, cfg, 40*time.Millisecond)
}

// joinHarnessOn is joinHarness on a path of the given base RTT.
func joinHarnessOn(t *testing.T, cfg LEDBATPPConfig, rtt time.Duration) *ppHarness {
	t.Helper()
	h := newPPHarness(t, cfg, rtt)
	target := h.l.cfg.Target
	h.leaveSlowStartAt(60, target)
	h.untilPhase(ppFreeze, target)
	h.untilPhase(ppAvoid, target)
	if h.l.slowdownEnd.IsZero() {
		t.Fatal("no slowdown ended")
	}
	allowed := h.l.slowdownEnd.Add(h.l.nextSlowdown.Sub(h.l.slowdownEnd) / joinAfterDen)
	for !h.now.After(allowed) {
		h.round(target)
	}
	if h.l.phase != ppAvoid {
		t.Fatalf("phase %v before the queue falls, want avoid", h.l.phase)
	}
	return h
}

// afterOwnSlowdown is a controller on a path of the given RTT that left
// slow start at the given window (in packets) and whose first slowdown
// has just ended, with the queue held at the target throughout.
func afterOwnSlowdown(t *testing.T, rtt time.Duration, packets int) *ppHarness {
	t.Helper()
	h := newPPHarness(t, LEDBATPPConfig{}, rtt)
	target := h.l.cfg.Target
	h.leaveSlowStartAt(packets, target)
	h.untilPhase(ppFreeze, target)
	h.untilPhase(ppAvoid, target)
	return h
}

// fall plays one round at qd and reports whether the controller began a
// slowdown.
func (h *ppHarness) fall(qd time.Duration) bool {
	h.round(qd)
	return h.l.phase == ppFreeze
}

// Deviation documented on othersSlowingDown (draft section 4.6: each
// flow's slowdowns on its own schedule): a flow that sees the queue it
// held at the target fall within an RTT, while its own window did not,
// takes it for another flow's slowdown and joins it, and ramps back to
// the share of its window that the queue before the fall says
// (rampBackTo), not to all of it as the empty queue would.
func TestLEDBATPPJoinsAnotherFlowsSlowdown(t *testing.T) {
	h := joinHarness(t, LEDBATPPConfig{})
	before := h.l.Window()
	if !h.fall(5 * time.Millisecond) {
		t.Fatalf("the queue fell from %v to 5 ms: phase %v, want a slowdown (freeze)", h.l.cfg.Target, h.l.phase)
	}
	if h.l.Window() != 2*mss {
		t.Errorf("joined slowdown: window %d, want 2 packets", h.l.Window())
	}
	// 60 ms of queue on a 40 ms path: back to half (40/100 < 1/2).
	if want := float64(before) / 2; h.l.ssthresh < want-mss || h.l.ssthresh > want+mss {
		t.Errorf("joined slowdown ramps back to %.0f, want half of %d", h.l.ssthresh, before)
	}
}

// Deviation documented on rampBackTo: on a path whose base RTT is over
// the target, where an empty queue is refilled by the same bytes for
// every flow (additiveRefill), a flow that joins another's slowdown
// ramps back to a quarter of its window (the decrease of the AIMD step
// a joined slowdown makes there), not to the share base/(base + queue)
// (0.77 here) that its own slowdowns keep.
func TestLEDBATPPJoinOnLongPathRampsBackToAQuarter(t *testing.T) {
	h := joinHarnessOn(t, LEDBATPPConfig{}, 200*time.Millisecond)
	before := h.l.Window()
	if !h.fall(5 * time.Millisecond) {
		t.Fatalf("the queue fell from %v to 5 ms: phase %v, want a slowdown (freeze)", h.l.cfg.Target, h.l.phase)
	}
	if want := float64(before) / 4; h.l.ssthresh < want-mss || h.l.ssthresh > want+mss {
		t.Errorf("joined slowdown on a 200 ms path ramps back to %.0f, want a quarter of %d", h.l.ssthresh, before)
	}
}

// Deviation documented on slowdownRefill: after a joined slowdown on a path
// over the target, flows of different windows refill the empty queue by
// the same bytes, GAIN full packets doubled each base RTT from the end of
// their ramps, past the share of the window (emptyQueueGain, 0.15 here)
// that bounds the refill otherwise: the increase of the AIMD step. Grown
// as a share, the refill kept the shares the slowdown left, and eight
// flows on 100 Mbit/s × 200 ms had a Jain index of 0.842 (docs/protocol.md).
func TestLEDBATPPJoinedRefillIsEqual(t *testing.T) {
	const rtt = 200 * time.Millisecond
	var hs [2]*ppHarness
	for i, packets := range []int{60, 180} {
		h := newPPHarness(t, LEDBATPPConfig{}, rtt)
		target := h.l.cfg.Target
		h.leaveSlowStartAt(packets, target)
		h.untilPhase(ppFreeze, target)
		h.untilPhase(ppAvoid, target)
		allowed := h.l.slowdownEnd.Add(h.l.nextSlowdown.Sub(h.l.slowdownEnd) / joinAfterDen)
		for !h.now.After(allowed) {
			h.round(target)
		}
		if !h.fall(5 * time.Millisecond) {
			t.Fatalf("window of %d packets: the queue fell to 5 ms, phase %v, want a slowdown", packets, h.l.phase)
		}
		h.untilPhase(ppAvoid, 0)
		hs[i] = h
	}
	small, large := hs[0], hs[1]
	for r := range 5 {
		s0, l0 := small.round(0), large.round(0)
		s, l := float64(small.l.Window()-s0)/mss, float64(large.l.Window()-l0)/mss
		// The round's ACKs come over one RTT, and the ramp ended within
		// the round before: between 2^r and about 2^(r+1) packets.
		for _, g := range []float64{s, l} {
			if g < math.Exp2(float64(r))*0.9 || g > math.Exp2(float64(r+1))*1.3 {
				t.Errorf("round %d after the ramp: windows of %d and %d packets grew by %.1f and %.1f, want %d to %d", r, s0/mss, l0/mss, s, l, 1<<r, 2<<r)
			}
		}
		// The ramps ended within a round of each other, so the doublings
		// differ by less than one; in proportion to the windows the larger
		// would grow 3 times as much.
		if l > 1.5*s {
			t.Errorf("round %d after the ramp: windows of %d and %d packets grew by %.1f and %.1f packets, want about the same", r, s0/mss, l0/mss, s, l)
		}
		if r == 4 && s <= 0.15*float64(s0)/mss {
			t.Errorf("round 4 after the ramp: a window of %d packets grew by %.1f, want more than the share bound 0.15 of it", s0/mss, s)
		}
	}
}

// Deviation documented on emptyQueueGrowth and slowdownRefill: after a
// flow's own slowdown the refill of the empty queue doubles from GAIN
// full packets at the end of the ramp, not from when the queue emptied
// (during the slowdown, whose ramp already doubled into it), and is not
// bounded by a share of the window until the queue shows; once it has
// shown, an empty queue is refilled within the bound (emptyQueueGain,
// 0.15 of the window on a 200 ms path) again.
func TestLEDBATPPRefillAfterSlowdownStartsAtRampEnd(t *testing.T) {
	h := newPPHarness(t, LEDBATPPConfig{}, 200*time.Millisecond)
	target := h.l.cfg.Target
	h.leaveSlowStartAt(100, target)
	h.untilPhase(ppFreeze, target)
	h.untilPhase(ppAvoid, 0) // the slowdown empties the queue
	if h.l.joined {
		t.Fatal("the slowdown was joined, want the flow's own")
	}
	for r := range 6 {
		start := h.round(0)
		got := float64(h.l.Window()-start) / mss
		// The ramp ended within the round before this one's first.
		if got < math.Exp2(float64(r))*0.9 || got > math.Exp2(float64(r+2)) {
			t.Errorf("round %d after the ramp: a window of %d packets grew by %.1f, want %d to %d", r, start/mss, got, 1<<r, 4<<r)
		}
		if bound := 0.15 * float64(start) / mss; r >= 4 && got <= bound {
			t.Errorf("round %d after the ramp: a window of %d packets grew by %.1f, want more than the share bound %.1f", r, start/mss, got, bound)
		}
	}
	h.round(10 * time.Millisecond) // the queue shows
	h.emptyRounds(12)
	start := h.round(0)
	if got, bound := float64(h.l.Window()-start)/mss, 0.15*float64(start)/mss; got > bound*1.05 {
		t.Errorf("an empty queue after the queue showed: a window of %d packets grew by %.1f in one RTT, want at most %.1f", start/mss, got, bound)
	}
}

// The join's limits (othersSlowingDown): no join for a small fall, for a
// fall the flow's own decrease or held sending explains, before the flow's first
// slowdown, at a slow rate or on a path whose base RTT is the target or
// more within a third of its pause after its last one, or with slowdowns
// off.
func TestLEDBATPPJoinLimits(t *testing.T) {
	target := DefaultPPTarget
	t.Run("small fall", func(t *testing.T) {
		h := joinHarness(t, LEDBATPPConfig{})
		if h.fall(target - target/4) {
			t.Error("the queue fell by a quarter of the target: the flow began a slowdown")
		}
	})
	t.Run("own decrease", func(t *testing.T) {
		h := joinHarness(t, LEDBATPPConfig{})
		w := h.l.Window()
		h.round(target * 2) // the window falls by about half
		if h.l.Window() > w*3/4 {
			t.Fatalf("at twice the target the window went %d -> %d; the test needs a decrease", w, h.l.Window())
		}
		// Alone, half of a window that held 40 ms of base RTT and 120 ms
		// of queue holds 80 ms of path: 40 ms of queue.
		if h.fall(2 * target / 3) {
			t.Error("the queue fell as the flow's own decrease made it: the flow began a slowdown")
		}
	})
	t.Run("own window not steady", func(t *testing.T) {
		h := joinHarness(t, LEDBATPPConfig{})
		w := h.l.Window()
		h.round(target * 11 / 10) // about a fifth of the window goes
		if h.l.Window() > w*19/20 {
			t.Fatalf("at 1.1× the target the window went %d -> %d; the test needs a decrease", w, h.l.Window())
		}
		// A fall of 56 ms, more than the cut explains alone (about
		// 20 ms): but every flow at 1.1× the target cut as this one did.
		// (Not to an empty queue, where the window would grow back within
		// the round.)
		if h.fall(10 * time.Millisecond) {
			t.Error("the queue fell while the flow's own window was cut by more than 5%: the flow began a slowdown")
		}
	})
	t.Run("own sending held", func(t *testing.T) {
		// A lone flow whose sender the scheduler held for a third of an
		// RTT sent that much less than its window: the queue it held
		// falls by as much, from 60 ms to 25 ms here, more than a third
		// of the target, though no other flow slowed down.
		h := joinHarness(t, LEDBATPPConfig{})
		w := h.l.Window()
		for left := w; left > 0; left -= mss {
			h.ack(min(mss, left), w*2/3, target)
			h.now = h.now.Add(h.rtt * time.Duration(mss) / time.Duration(w))
		}
		if h.fall(25 * time.Millisecond) {
			t.Error("the queue fell as the flow's own held sending explains: the flow began a slowdown")
		}
		// The same fall while the flow kept its window in flight is
		// another flow's slowdown.
		h = joinHarness(t, LEDBATPPConfig{})
		if !h.fall(25 * time.Millisecond) {
			t.Error("the queue fell by 35 ms with the window in flight: no slowdown, want a join")
		}
	})
	t.Run("before the first slowdown", func(t *testing.T) {
		h := newPPHarness(t, LEDBATPPConfig{}, 40*time.Millisecond)
		h.leaveSlowStartAt(60, target)
		if h.fall(5*time.Millisecond) && h.now.Before(h.l.nextSlowdown) {
			t.Error("a flow joined before its initial slowdown was due")
		}
	})
	t.Run("too soon on a long path", func(t *testing.T) {
		h := afterOwnSlowdown(t, 200*time.Millisecond, 300)
		h.round(target)
		if h.fall(5 * time.Millisecond) {
			t.Error("a flow on a 200 ms path joined a slowdown an RTT after its own ended")
		}
	})
	t.Run("too soon at a slow rate", func(t *testing.T) {
		h := afterOwnSlowdown(t, 40*time.Millisecond, 60)
		// 2 kB per 50 ms: two full packets take 50 ms to send (slowRate),
		// as in TestLEDBATPPSmallWindowJoinsOnSlowPath.
		h.l.cwnd = 2 * mss
		h.l.peaks = [2]ppPeak{}
		h.round(target)
		if h.fall(10 * time.Millisecond) {
			t.Error("a flow at a slow rate joined a slowdown an RTT after its own ended")
		}
	})
	t.Run("soon after its own on a short path", func(t *testing.T) {
		h := afterOwnSlowdown(t, 40*time.Millisecond, 60)
		h.round(target)
		if !h.fall(5 * time.Millisecond) {
			t.Error("a flow of 60 packets on a 40 ms path did not join a slowdown an RTT after its own ended")
		}
	})
	t.Run("slowdowns off", func(t *testing.T) {
		h := newPPHarness(t, LEDBATPPConfig{NoSlowdowns: true}, 40*time.Millisecond)
		h.leaveSlowStartAt(60, target)
		for range 100 {
			h.round(target)
		}
		if h.fall(5 * time.Millisecond) {
			t.Error("NoSlowdowns: the flow began a slowdown")
		}
	})
}

// slowdownPause (draft section 4.6.2, nine times the slowdown): a
// joined slowdown that was short does not bring the next one closer than
// the pause before it; a slowdown of the flow's own schedule does.
func TestLEDBATPPJoinedSlowdownKeepsPause(t *testing.T) {
	l := NewLEDBATPP(t0, LEDBATPPConfig{MSS: mss})
	l.pause = 6 * time.Second
	l.slowdownStart = t0
	end := t0.Add(300 * time.Millisecond)
	l.joined = true
	if got := l.slowdownPause(end); got != 6*time.Second {
		t.Errorf("joined slowdown of 300 ms: pause %v, want the 6 s before it", got)
	}
	l.joined = false
	if got := l.slowdownPause(end); got != 2700*time.Millisecond {
		t.Errorf("own slowdown of 300 ms: pause %v, want 9 × 300 ms", got)
	}
}

// slowdownPause on a path whose base RTT is over the target
// (additiveRefill): a joined slowdown's pause is nine times its own, so
// that the flow that joined, whose slowdown was the shorter, begins the
// next one and the flows take turns at the joiner's larger decrease
// (rampBackTo).
func TestLEDBATPPJoinedSlowdownOnLongPathTakesTurns(t *testing.T) {
	l := NewLEDBATPP(t0, LEDBATPPConfig{MSS: mss})
	l.minRTT = 200 * time.Millisecond
	l.cwnd = 100 * mss
	if !l.additiveRefill() {
		t.Fatal("a 200 ms path, 100 packets: want the additive refill")
	}
	l.pause = 6 * time.Second
	l.slowdownStart = t0
	l.joined = true
	if got := l.slowdownPause(t0.Add(300 * time.Millisecond)); got != 2700*time.Millisecond {
		t.Errorf("joined slowdown of 300 ms on a 200 ms path: pause %v, want 9 × 300 ms", got)
	}
}

// A window of fewer than DefaultSegmentPackets full packets does not
// join (othersSlowingDown) where its slowdown would hold two full
// packets, most of it; on a slow path, where its slowdown holds the
// floor (slowPathSlowdown: two full packets take more than half the
// target at its rate), it joins.
func TestLEDBATPPSmallWindowJoinsOnSlowPath(t *testing.T) {
	for _, tt := range []struct {
		packets int
		join    bool
	}{
		{DefaultSegmentPackets - 1, false}, // 7 kB per 50 ms: 2 kB take 14 ms
		{2, true},                          // 2 kB per 50 ms: 2 kB take 50 ms
	} {
		h := joinHarness(t, LEDBATPPConfig{})
		h.l.cwnd = float64(tt.packets * mss)
		h.l.peaks = [2]ppPeak{}
		h.round(h.l.cfg.Target) // the queue held with the small window
		// Not to an empty queue, where the window would grow past 8
		// packets within the round.
		if got := h.fall(10 * time.Millisecond); got != tt.join {
			t.Errorf("a window of %d packets, the queue falling from the target to 10 ms: joined %v, want %v", tt.packets, got, tt.join)
		}
	}
}

// Deviation documented on emptyQueueRoom (draft sections 4.3 and 4.6): a
// queue that other flows' slowdowns empty, one after another, so that it
// falls too slowly for this flow to join them (by 5 ms an RTT), is not
// room: for as long as this flow's own latest slowdown took, the window
// grows by GAIN packets per RTT, not by a share of itself, and only a
// queue that stays empty longer brings the growth with an empty queue
// back.
func TestLEDBATPPEmptiedQueueIsNotRoom(t *testing.T) {
	h := afterOwnSlowdown(t, 40*time.Millisecond, 60) // GAIN 1/3
	target := h.l.cfg.Target
	took := h.l.slowdownLen
	if took <= 0 {
		t.Fatal("no slowdown ended")
	}
	var held time.Time // the end of the last round at half the target or more
	for qd := target; qd > 0; qd -= 5 * time.Millisecond {
		h.round(qd)
		if 2*qd >= target {
			held = h.now
		}
	}
	if h.l.phase != ppAvoid {
		t.Fatalf("the queue fell by 5 ms an RTT: phase %v, want avoid (no join)", h.l.phase)
	}
	for h.now.Sub(held) < took-h.rtt {
		start := h.round(0)
		if got := float64(h.l.Window()-start) / mss; got > 0.4 {
			t.Fatalf("%v after the queue held half the target: window grew by %.2f packets in one RTT, want GAIN = 1/3", h.now.Sub(held), got)
		}
	}
	for h.now.Sub(held) < took+h.rtt {
		h.round(0)
	}
	start := h.round(0)
	if got := float64(h.l.Window()) / float64(start); math.Abs(got-4.0/3) > 0.05 {
		t.Errorf("%v after the queue held half the target (the slowdown took %v): window × %.3f in one RTT, want × 4/3", h.now.Sub(held), took, got)
	}
}
