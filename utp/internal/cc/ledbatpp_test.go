package cc

import (
	"math"
	"testing"
	"time"
)

// ppHarness drives one LEDBATPP through virtual time, one RTT per round.
type ppHarness struct {
	t   *testing.T
	l   *LEDBATPP
	now time.Time
	rtt time.Duration
}

func newPPHarness(t *testing.T, cfg LEDBATPPConfig, rtt time.Duration) *ppHarness {
	if cfg.MSS == 0 {
		cfg.MSS = mss
	}
	return &ppHarness{t: t, l: NewLEDBATPP(t0, cfg), now: t0, rtt: rtt}
}

func (h *ppHarness) ack(acked, flight int, qd time.Duration) {
	h.l.OnAck(Ack{Now: h.now, AckedBytes: acked, FlightBefore: flight, Delay: delayFor(qd), HasDelay: true, RTT: h.rttWith(qd)})
}

// rttWith is the RTT a sender sees with qd of queue on the path.
func (h *ppHarness) rttWith(qd time.Duration) time.Duration {
	if h.rtt == 0 {
		return 0
	}
	return h.rtt + qd
}

// settle establishes the base delay and the filter at qd with duplicate
// ACKs, which carry samples and acknowledge nothing.
func (h *ppHarness) settle(qd time.Duration) {
	h.ack(0, 0, 0)
	for range filterSize {
		h.ack(0, 0, qd)
	}
}

// round acknowledges one window in MSS-sized ACKs spread over one RTT, the
// sender keeping the window full, and returns the window it started with.
func (h *ppHarness) round(qd time.Duration) int {
	start := h.l.Window()
	n := max(1, start/mss)
	step := h.rtt / time.Duration(n)
	for left := start; left > 0; left -= mss {
		h.ack(min(mss, left), h.l.Window(), qd)
		h.now = h.now.Add(step)
	}
	return start
}

// grow takes the controller out of slow start at window w (in packets)
// with a loss-free exit on delay, then lets the queue settle at qd.
func (h *ppHarness) leaveSlowStartAt(w int, qd time.Duration) {
	h.settle(0)
	for h.l.Window() < w*mss {
		h.round(0)
	}
	h.round(h.l.cfg.Target) // over 3/4 of the target: slow start ends
	if h.l.phase != ppAvoid {
		h.t.Fatalf("phase %v after the delay reached the target, want avoid", h.l.phase)
	}
	h.settle(qd)
}

// Draft section 4.2 (target 60 ms), RFC 6817 2.5 (MIN_CWND and INIT_CWND 2).
func TestLEDBATPPDefaults(t *testing.T) {
	cfg := LEDBATPPConfig{MSS: 1}.withDefaults()
	want := LEDBATPPConfig{MSS: 1, Target: 60 * time.Millisecond, MinWindow: 2, InitialWindow: 2,
		MaxWindowBytes: 1 << 30, LossTolerance: 0.03, SegmentPackets: 8}
	if cfg != want {
		t.Errorf("defaults %+v, want %+v", cfg, want)
	}
	l := NewLEDBATPP(t0, LEDBATPPConfig{MSS: 1400})
	if l.Window() != 2800 || !l.InSlowStart() {
		t.Errorf("new controller: window %d, slow start %v; want 2800, true", l.Window(), l.InSlowStart())
	}
	defer func() {
		if recover() == nil {
			t.Error("MSS 0: no panic")
		}
	}()
	NewLEDBATPP(t0, LEDBATPPConfig{})
}

// Draft section 4.3: GAIN = 1 / min(F max, 2*TARGET/base) with the base
// RTT (not rounded up: see LEDBATPP.gain), F max being 6 here, not the
// draft's 16 (see maxGainDivisor); with no RTT known, the smallest gain. Without the peer's delays the base is the smallest RTT less the
// queuing delay.
func TestLEDBATPPGainScalesWithBaseRTT(t *testing.T) {
	for _, tt := range []struct {
		rtt  time.Duration
		want float64
	}{
		{0, 1.0 / 6},
		{time.Millisecond, 1.0 / 6},
		{10 * time.Millisecond, 1.0 / 6},
		{30 * time.Millisecond, 1.0 / 4},
		{40 * time.Millisecond, 1.0 / 3},
		{100 * time.Millisecond, 1 / 1.2},
		{120 * time.Millisecond, 1},
		{time.Second, 1},
	} {
		h := newPPHarness(t, LEDBATPPConfig{}, tt.rtt)
		h.settle(30 * time.Millisecond) // RTT = rtt + 30 ms, less the 30 ms queue
		if got := h.l.gain(); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("base RTT %v: gain %v, want %v", tt.rtt, got, tt.want)
		}
	}
}

// The base RTT is the sum of the two directions' base one-way delays once
// the peer's are known, whatever the smoothed RTT says.
func TestLEDBATPPBaseRTTFromOneWayDelays(t *testing.T) {
	h := newPPHarness(t, LEDBATPPConfig{}, 200*time.Millisecond)
	h.settle(0)           // our packets: 20 ms plus the clock offset
	offset := clockOffset // a variable: the wrap is meant
	h.l.OnPeerDelay(h.now, 30_000-offset)
	if got := h.l.baseRTT(); got != 50*time.Millisecond {
		t.Errorf("base RTT %v, want 50 ms (20 + 30)", got)
	}
	if got, want := h.l.gain(), 1/2.4; math.Abs(got-want) > 1e-9 {
		t.Errorf("gain %v, want %v", got, want)
	}
}

// Draft section 4.3: below the target, congestion avoidance adds GAIN
// packets per RTT, less than Reno's one.
func TestLEDBATPPAdditiveIncrease(t *testing.T) {
	h := newPPHarness(t, LEDBATPPConfig{NoSlowdowns: true}, 40*time.Millisecond)
	h.leaveSlowStartAt(50, 10*time.Millisecond)
	for r := range 5 {
		start := h.round(10 * time.Millisecond)
		got := float64(h.l.Window()-start) / mss
		if math.Abs(got-1.0/3) > 0.02 {
			t.Fatalf("round %d: window grew by %.3f packets, want GAIN = 1/3", r, got)
		}
	}
}

// Deviation documented on avoidAck: with no queue at all, congestion
// avoidance grows like slow start (GAIN per acknowledged packet) once the
// queue has stayed empty long enough (emptyQueueGrowth); with a queue of
// a tenth of the target or more, by GAIN packets per RTT.
func TestLEDBATPPGrowthWithEmptyQueue(t *testing.T) {
	h := newPPHarness(t, LEDBATPPConfig{NoSlowdowns: true}, 40*time.Millisecond) // GAIN 1/3
	h.leaveSlowStartAt(60, 0)
	h.emptyRounds(10)
	start := h.round(0)
	if got := float64(h.l.Window()) / float64(start); math.Abs(got-4.0/3) > 0.05 {
		t.Errorf("no queue: window × %.3f in one RTT, want × 4/3", got)
	}
	h.settle(10 * time.Millisecond)
	start = h.round(10 * time.Millisecond)
	if got := float64(h.l.Window()-start) / mss; got > 0.4 {
		t.Errorf("10 ms of queue: window grew by %.2f packets in one RTT, want GAIN = 1/3", got)
	}
}

// Deviation documented on emptyQueueGain: with no queue, the growth per
// RTT is GAIN of the window but at most target/(2·base RTT), so that the
// RTT of growth the delay reports late overshoots by at most half the
// target: on a 200 ms path × 1.15 per RTT, not the × 2 GAIN 1 gives.
func TestLEDBATPPEmptyQueueGrowthBoundedByBaseRTT(t *testing.T) {
	for _, tt := range []struct {
		rtt  time.Duration
		want float64 // the window after one RTT with no queue, as a share of the one before
	}{
		{40 * time.Millisecond, 1 + 1.0/3}, // GAIN 1/3 < 60/80
		{100 * time.Millisecond, 1 + 0.3},  // GAIN 1/1.2 > 60/200
		{200 * time.Millisecond, 1 + 0.15}, // GAIN 1 > 60/400
	} {
		h := newPPHarness(t, LEDBATPPConfig{NoSlowdowns: true}, tt.rtt)
		h.leaveSlowStartAt(100, 0)
		h.emptyRounds(12)
		start := h.round(0)
		if got := float64(h.l.Window()) / float64(start); math.Abs(got-tt.want) > 0.03 {
			t.Errorf("base RTT %v, no queue: window × %.3f in one RTT, want × %.3f", tt.rtt, got, tt.want)
		}
	}
}

// emptyRounds runs n rounds with no queue, long enough for the growth of
// emptyQueueGrowth to reach its bound.
func (h *ppHarness) emptyRounds(n int) {
	for range n {
		h.round(0)
	}
}

// Deviation documented on emptyQueueGrowth: with no queue, two flows of
// different windows that saw the queue empty at the same time add the
// same bytes per RTT, GAIN full packets doubled each base RTT, until the
// bound of emptyQueueGain (a share of each window) holds the smaller;
// grown as shares of their windows, the refill after a decrease kept the
// shares the decrease left (two flows on 100 Mbit/s × 200 ms held 63
// and 35 Mbit/s).
func TestLEDBATPPEmptyQueueGrowthIsAdditive(t *testing.T) {
	const rtt = 200 * time.Millisecond // GAIN 1; the bound 0.15 of the window
	small := newPPHarness(t, LEDBATPPConfig{NoSlowdowns: true}, rtt)
	large := newPPHarness(t, LEDBATPPConfig{NoSlowdowns: true}, rtt)
	small.leaveSlowStartAt(200, 10*time.Millisecond)
	large.leaveSlowStartAt(600, 10*time.Millisecond)
	small.settle(0)
	large.settle(0)
	for r := range 6 {
		s0, l0 := small.round(0), large.round(0)
		s, l := float64(small.l.Window()-s0)/mss, float64(large.l.Window()-l0)/mss
		// The round's ACKs come over one RTT, so the round adds between
		// 2^r and 2^(r+1) packets.
		if s < math.Exp2(float64(r))*0.9 || s > math.Exp2(float64(r+1))*1.1 {
			t.Errorf("round %d with no queue: a window of %d packets grew by %.1f, want %d to %d", r, s0/mss, s, 1<<r, 2<<r)
		}
		if math.Abs(s-l) > 0.1*s {
			t.Errorf("round %d with no queue: windows of %d and %d packets grew by %.1f and %.1f packets, want the same", r, s0/mss, l0/mss, s, l)
		}
	}
}

// Draft section 4.4: above the target, the window shrinks per RTT by
// C*W*(delay/target - 1) less the gain, and by at most half; C is 2 here
// (see ppDecreaseConstant).
func TestLEDBATPPMultiplicativeDecrease(t *testing.T) {
	for _, tt := range []struct {
		qd   time.Duration
		want float64 // the window after one RTT, as a share of the window before
	}{
		{63 * time.Millisecond, 0.90},
		{66 * time.Millisecond, 0.80},
		{72 * time.Millisecond, 0.60},
		{75 * time.Millisecond, 0.50},
		{time.Second, 0.50}, // the cap: at most half per RTT
	} {
		h := newPPHarness(t, LEDBATPPConfig{NoSlowdowns: true}, 200*time.Millisecond)
		h.leaveSlowStartAt(200, tt.qd)
		start := h.round(tt.qd)
		got := float64(h.l.Window()) / float64(start)
		if math.Abs(got-tt.want) > 0.01 {
			t.Errorf("delay %v: window × %.3f in one RTT, want %.2f", tt.qd, got, tt.want)
		}
		if h.l.Window() < 2*mss {
			t.Errorf("delay %v: window %d below the floor", tt.qd, h.l.Window())
		}
	}
}

// Draft section 4.5: slow start grows by GAIN per acknowledged packet and
// ends once the delay exceeds 3/4 of the target.
func TestLEDBATPPModifiedSlowStart(t *testing.T) {
	h := newPPHarness(t, LEDBATPPConfig{}, 40*time.Millisecond) // GAIN 1/3
	h.settle(0)
	for h.l.Window() < 20*mss {
		start := h.round(0)
		ratio := float64(h.l.Window()) / float64(start)
		if math.Abs(ratio-4.0/3) > 0.1 {
			t.Fatalf("window %d -> %d in one RTT, want × 4/3", start, h.l.Window())
		}
	}
	h.round(44 * time.Millisecond)
	if !h.l.InSlowStart() {
		t.Fatal("slow start ended at 44 ms of queue, below 3/4 of 60 ms")
	}
	for range filterSize {
		h.ack(0, 0, 46*time.Millisecond)
	}
	w := h.l.Window()
	h.ack(mss, w, 46*time.Millisecond)
	if h.l.InSlowStart() || h.l.Window() != w {
		t.Fatalf("at 46 ms of queue: slow start %v, window %d -> %d; want it ended where it stood", h.l.InSlowStart(), w, h.l.Window())
	}
}

// Draft section 4.6.1 and 4.6.2: two RTTs after slow start the window
// drops to two packets for two RTTs, then slow-starts back (here to the
// share rampBackTo keeps, TestLEDBATPPRampBackTo); the next slowdown comes
// nine slowdown-durations after that one ended.
func TestLEDBATPPSlowdowns(t *testing.T) {
	const rtt = 100 * time.Millisecond
	h := newPPHarness(t, LEDBATPPConfig{}, rtt)
	h.leaveSlowStartAt(40, 30*time.Millisecond)
	exit := h.now
	before := h.l.Window()
	var frozeAt, endAt time.Time
	for i := 0; i < 200 && endAt.IsZero(); i++ {
		phase := h.l.phase
		h.round(30 * time.Millisecond)
		switch {
		case phase != ppFreeze && h.l.phase == ppFreeze:
			frozeAt = h.now
			if h.l.Window() != 2*mss {
				t.Fatalf("slowdown window %d, want 2 packets", h.l.Window())
			}
		case phase == ppRamp && h.l.phase == ppAvoid:
			endAt = h.now
		}
	}
	if frozeAt.IsZero() || endAt.IsZero() {
		t.Fatal("no complete slowdown within 200 RTTs")
	}
	if d := frozeAt.Sub(exit); d < 2*rtt || d > 4*rtt {
		t.Errorf("initial slowdown %v after slow start, want about 2 RTTs", d)
	}
	// 30 ms of queue on a 100 ms path: back to 100/130 of the window.
	if want := before * 100 / 130; h.l.Window() < want || h.l.Window() >= before {
		t.Errorf("after the slowdown the window is %d, want back at %d or more, below %d", h.l.Window(), want, before)
	}
	// Phase changes happen within a round and are seen at its end: allow
	// a round of error at each end of the slowdown.
	next, d := h.l.nextSlowdown.Sub(endAt), endAt.Sub(frozeAt)
	if next < 9*(d-2*rtt) || next > 9*(d+2*rtt) {
		t.Errorf("next slowdown %v after the end, want 9 × the slowdown (≈ %v)", next, 9*d)
	}
	// The freeze lasts two RTTs.
	h2 := newPPHarness(t, LEDBATPPConfig{}, rtt)
	h2.leaveSlowStartAt(40, 10*time.Millisecond)
	for h2.l.phase != ppFreeze {
		h2.round(10 * time.Millisecond)
	}
	frozen := 0
	for h2.l.phase == ppFreeze {
		h2.round(10 * time.Millisecond)
		frozen++
	}
	if frozen < 2 || frozen > 3 {
		t.Errorf("freeze lasted %d rounds, want 2 RTTs", frozen)
	}
	// Off, there are none.
	h3 := newPPHarness(t, LEDBATPPConfig{NoSlowdowns: true}, rtt)
	h3.leaveSlowStartAt(40, 10*time.Millisecond)
	for range 100 {
		h3.round(10 * time.Millisecond)
		if h3.l.phase != ppAvoid {
			t.Fatalf("NoSlowdowns: phase %v", h3.l.phase)
		}
	}
}

// Deviation documented on rampBackTo: a slowdown's ramp returns to the
// part of the window that fills the path without its queue, base RTT over
// base RTT plus queuing delay, and to at least half the window, so that
// slowdowns take most from the largest flows (AIMD) while a flow alone
// keeps the path full.
func TestLEDBATPPRampBackTo(t *testing.T) {
	for _, tt := range []struct {
		rtt, qd time.Duration
		want    float64 // the window after the ramp, as a share of the one before
	}{
		{10 * time.Millisecond, 50 * time.Millisecond, 0.5},  // 10/60 < 1/2
		{40 * time.Millisecond, 40 * time.Millisecond, 0.5},  // 40/80
		{200 * time.Millisecond, 50 * time.Millisecond, 0.8}, // 200/250
	} {
		h := newPPHarness(t, LEDBATPPConfig{}, tt.rtt)
		h.leaveSlowStartAt(100, tt.qd)
		before := h.l.Window()
		h.l.nextSlowdown = h.now // due at the next ACK
		h.ack(mss, before, tt.qd)
		if h.l.phase != ppFreeze {
			t.Fatalf("RTT %v: phase %v after a due slowdown, want freeze", tt.rtt, h.l.phase)
		}
		// The queue empties: only the window the ramp aims for ends it.
		h.settle(0)
		for i := 0; i < 10000 && h.l.phase != ppAvoid; i++ {
			h.ack(mss, h.l.Window(), 0)
			h.now = h.now.Add(h.rtt * mss / time.Duration(h.l.Window()))
		}
		want := tt.want * float64(before)
		if got := float64(h.l.Window()); got < want-mss || got > want*1.2 {
			t.Errorf("RTT %v, queue %v: the ramp ended at %.0f, want %.2f of %d", tt.rtt, tt.qd, got, tt.want, before)
		}
	}
}

// Deviation documented on refillAfterFreeze (draft section 4.6 ramps back
// from two packets in slow start): on a path whose base RTT is the target
// or more, a freeze ends at the first ACK a smoothed RTT or more into it
// that shows the queue empty, with the window back at once at what the
// ramp would have reached (rampBackTo); the next slowdown comes when the
// draft's would have, nine times the slowdown's length after its end
// (section 4.6.2), the length counted to where the draft's ramp would
// have reached that window. A queue that stays (another flow's) and a path under the target
// keep the draft's freeze of two RTTs and ramp.
func TestLEDBATPPRefillAfterFreeze(t *testing.T) {
	for _, tt := range []struct {
		name       string
		rtt, after time.Duration // path RTT; the queue the freeze's own ACKs show
		refill     bool
	}{
		{"long path, empty queue", 200 * time.Millisecond, 0, true},
		{"long path, another flow's queue", 200 * time.Millisecond, 10 * time.Millisecond, false},
		{"short path, empty queue", 40 * time.Millisecond, 0, false},
	} {
		h := newPPHarness(t, LEDBATPPConfig{}, tt.rtt)
		h.leaveSlowStartAt(100, 20*time.Millisecond)
		before := h.l.Window()
		h.l.nextSlowdown = h.now // due at the next ACK
		h.ack(mss, before, 20*time.Millisecond)
		start := h.now
		if h.l.phase != ppFreeze {
			t.Fatalf("%s: phase %v after a due slowdown, want freeze", tt.name, h.l.phase)
		}
		// The old flight drains through the queue it made.
		h.now = h.now.Add(tt.rtt / 2)
		h.ack(mss, before/2, 20*time.Millisecond)
		if h.l.phase != ppFreeze {
			t.Fatalf("%s: phase %v while the old flight drains, want freeze", tt.name, h.l.phase)
		}
		// The freeze's own packets come back.
		h.now = start.Add(tt.rtt + tt.rtt/10)
		h.ack(mss, 2*mss, tt.after)
		if !tt.refill {
			if h.l.phase != ppFreeze || h.l.Window() != 2*mss {
				t.Errorf("%s: phase %v, window %d a round into the freeze, want freeze at 2 packets", tt.name, h.l.phase, h.l.Window())
			}
			h.now = start.Add(2*h.rttWith(20*time.Millisecond) + tt.rtt/10) // the freeze holds two of the RTTs it began with
			h.ack(mss, 2*mss, tt.after)
			if h.l.phase != ppRamp || h.l.Window() > 4*mss {
				t.Errorf("%s: phase %v, window %d two rounds into the freeze, want a ramp from 2 packets", tt.name, h.l.phase, h.l.Window())
			}
			continue
		}
		// 20 ms of queue on a 200 ms path: back to 200/220 of the window.
		want := before * 200 / 220
		if h.l.phase != ppAvoid || h.l.Window() < want-mss || h.l.Window() > want+mss {
			t.Errorf("%s: phase %v, window %d at the first ACK showing no queue, want avoid at %d", tt.name, h.l.phase, h.l.Window(), want)
		}
		if end := h.now.Add(h.rttWith(tt.after)); !h.l.slowdownEnd.Equal(end) {
			t.Errorf("%s: refill over at %v, want a round trip after it, %v", tt.name, h.l.slowdownEnd.Sub(start), end.Sub(start))
		}
		// The schedule is the draft's: the slowdown lasts until the ramp
		// from two packets, doubling each RTT (GAIN 1 on a 200 ms path),
		// would have reached the window, and the next is nine times that
		// after it.
		ramp := time.Duration(math.Ceil(math.Log2(float64(h.l.Window())/(2*mss)))) * tt.rtt
		length := h.now.Add(ramp).Sub(start)
		if got, want := h.l.nextSlowdown.Sub(start), (1+slowdownPeriod)*length; got != want {
			t.Errorf("%s: next slowdown %v after the start of this one, want 10 × (the freeze and a ramp of %v), %v", tt.name, got, ramp, want)
		}
	}
}

// untilPhase plays rounds at qd until the controller is in phase p, and
// fails the test if that takes more than 200 RTTs.
func (h *ppHarness) untilPhase(p ppPhase, qd time.Duration) {
	for range 200 {
		if h.l.phase == p {
			return
		}
		h.round(qd)
	}
	h.t.Fatalf("phase %v after 200 RTTs, want %v", h.l.phase, p)
}

// Draft section 4.6.2 schedules the next slowdown when a slowdown's ramp
// ends. A ramp whose growth the flight holds (the peer's window or the
// application limits the flow, not ours) ends once a window of ACKs has
// come so held, and the next slowdown is scheduled; a ramp that fills its
// window goes on.
func TestLEDBATPPHeldRampEnds(t *testing.T) {
	const rtt = 40 * time.Millisecond
	h := newPPHarness(t, LEDBATPPConfig{}, rtt)
	h.leaveSlowStartAt(100, 30*time.Millisecond)
	h.untilPhase(ppRamp, 30*time.Millisecond)
	h.round(0) // a full window: the ramp grows
	if h.l.phase != ppRamp {
		t.Fatalf("phase %v after a round that filled the window, want ramp", h.l.phase)
	}
	// The flight stays at 5 packets whatever the window allows.
	for i := 0; i < 20 && h.l.phase == ppRamp; i++ {
		h.ack(mss, 5*mss, 0)
		h.now = h.now.Add(rtt / 5)
	}
	if h.l.phase != ppAvoid {
		t.Fatalf("phase %v after 20 ACKs held by a 5-packet flight, want avoid", h.l.phase)
	}
	if !h.l.nextSlowdown.After(h.now) {
		t.Errorf("next slowdown %v, want one scheduled after %v", h.l.nextSlowdown, h.now)
	}
}

// A ramp's count of held ACKs (rampHeld) belongs to that ramp: ACKs held
// just before a ramp ends at ssthresh must not count toward ending the
// next one. On a 100 ms path (GAIN 1) an ACK whose flight was any part of
// a packet short of the window counts as held, as the first ACKs after a
// slowdown's freeze often are (the freeze's window is sent in packets
// that do not divide it), and the stale count ended the next ramp at two
// packets.
func TestLEDBATPPRampHeldCountIsPerRamp(t *testing.T) {
	const rtt = 100 * time.Millisecond
	// Every ACK shows a queue of a tenth of the target or more (another
	// flow's), so the ramps are the draft's, not a refill
	// (refillAfterFreeze).
	const other = 10 * time.Millisecond
	h := newPPHarness(t, LEDBATPPConfig{}, rtt)
	h.leaveSlowStartAt(100, 0)
	h.untilPhase(ppRamp, other)
	// Fill the window until an ACK of two packets would reach ssthresh
	// and one of one would not, hold the flight for half a window of
	// ACKs of one packet, then let the ACK of two come.
	for h.l.cwnd+2*h.l.gain()*mss < h.l.ssthresh {
		h.ack(mss, h.l.Window(), other)
		h.now = h.now.Add(h.rtt * mss / time.Duration(h.l.Window()))
	}
	for range h.l.Window() / mss / 2 {
		h.ack(mss, mss, other)
	}
	if h.l.phase != ppRamp {
		t.Fatalf("phase %v after half a window of held ACKs, want ramp", h.l.phase)
	}
	h.ack(2*mss, h.l.Window(), other)
	if h.l.phase != ppAvoid {
		t.Fatalf("phase %v after the ramp reached ssthresh, want avoid", h.l.phase)
	}
	before := h.l.Window()
	h.l.nextSlowdown = h.now // due at the next ACK
	h.ack(mss, before, other)
	// The freeze is over; the ramp's first two ACKs come with a flight
	// half a packet short of the window.
	h.now = h.now.Add(3 * h.rtt)
	for range 2 {
		seg := h.l.Segment()
		h.ack(seg, h.l.Window()-seg/2, other)
	}
	if h.l.phase != ppRamp {
		t.Fatalf("phase %v, window %d after two ACKs of the ramp, want ramp", h.l.phase, h.l.Window())
	}
	for i := 0; i < 100000 && h.l.phase == ppRamp; i++ {
		h.ack(h.l.Segment(), h.l.Window(), other)
		h.now = h.now.Add(h.rtt * time.Duration(h.l.Segment()) / time.Duration(h.l.Window()))
	}
	if h.l.Window() < before/2 {
		t.Errorf("the ramp ended at %d, want at least half of %d", h.l.Window(), before)
	}
}

// Deviation documented on OnLoss: with no queue and a low loss rate, a loss
// is random and the window holds; with a queue it halves (RFC 6817 2.4.2);
// a loss rate above the tolerance with no queue (a policer) halves too.
func TestLEDBATPPLossResponse(t *testing.T) {
	t.Run("random", func(t *testing.T) {
		h := newPPHarness(t, LEDBATPPConfig{NoSlowdowns: true}, 20*time.Millisecond)
		h.leaveSlowStartAt(100, 0)
		w := h.l.Window()
		for range 20 {
			for range 99 {
				h.ack(mss, h.l.Window(), 0)
			}
			h.l.OnPacketsLost(1)
			h.l.OnLoss(h.now, h.rtt) // 1% loss
			h.now = h.now.Add(h.rtt)
		}
		if h.l.Window() < w {
			t.Errorf("1%% loss, no queue: window %d -> %d, want no decrease", w, h.l.Window())
		}
	})
	t.Run("queue", func(t *testing.T) {
		h := newPPHarness(t, LEDBATPPConfig{NoSlowdowns: true}, 20*time.Millisecond)
		h.leaveSlowStartAt(100, 40*time.Millisecond)
		w := h.l.Window()
		h.l.OnLoss(h.now, h.rtt)
		if got := h.l.Window(); got != w/2 {
			t.Errorf("loss with 40 ms of queue: window %d -> %d, want halved", w, got)
		}
		h.l.OnLoss(h.now.Add(h.rtt/2), h.rtt)
		if got := h.l.Window(); got != w/2 {
			t.Errorf("second loss within an RTT: window %d, want %d", got, w/2)
		}
	})
	t.Run("policer", func(t *testing.T) {
		h := newPPHarness(t, LEDBATPPConfig{NoSlowdowns: true}, 20*time.Millisecond)
		h.leaveSlowStartAt(100, 0)
		w := h.l.Window()
		for range 50 { // 10% loss
			for range 9 {
				h.ack(mss, h.l.Window(), 0)
			}
			h.l.OnPacketsLost(1)
			h.l.OnLoss(h.now, h.rtt)
			h.now = h.now.Add(h.rtt)
		}
		if h.l.Window() > w/2 {
			t.Errorf("10%% loss, no queue: window %d -> %d, want at least halved", w, h.l.Window())
		}
	})
	t.Run("draft", func(t *testing.T) {
		h := newPPHarness(t, LEDBATPPConfig{NoSlowdowns: true, LossTolerance: -1}, 20*time.Millisecond)
		h.leaveSlowStartAt(100, 0)
		w := h.l.Window()
		h.l.OnLoss(h.now, h.rtt)
		if got := h.l.Window(); got != w/2 {
			t.Errorf("LossTolerance < 0: window %d -> %d, want halved", w, got)
		}
	})
	t.Run("slow start", func(t *testing.T) {
		h := newPPHarness(t, LEDBATPPConfig{}, 20*time.Millisecond)
		h.settle(0)
		h.round(0)
		h.l.OnLoss(h.now, h.rtt)
		if !h.l.InSlowStart() {
			t.Error("a random loss ended slow start")
		}
	})
}

// RFC 5681 3.1 as LEDBAT: a timeout drops the window to the floor and slow
// start climbs back to half of it.
func TestLEDBATPPTimeout(t *testing.T) {
	h := newPPHarness(t, LEDBATPPConfig{NoSlowdowns: true}, 40*time.Millisecond)
	h.leaveSlowStartAt(40, 0)
	w := h.l.Window()
	h.l.OnTimeout(h.now)
	if h.l.Window() != mss || !h.l.InSlowStart() {
		t.Fatalf("after a timeout: window %d, slow start %v; want 1 packet, true", h.l.Window(), h.l.InSlowStart())
	}
	h.ack(mss, mss, 0)
	if h.l.Window() < 2*mss {
		t.Fatalf("after the first ACK: window %d, want the 2-packet floor", h.l.Window())
	}
	for range 100 {
		h.round(10 * time.Millisecond)
	}
	if h.l.InSlowStart() || h.l.Window() < w/2 {
		t.Errorf("100 RTTs after the timeout: window %d, slow start %v; want at least %d, false", h.l.Window(), h.l.InSlowStart(), w/2)
	}
}

// Deviation documented on OnTimeout: the backed-off timer firing again,
// with no ACK since the first timeout, leaves the window slow start
// returns to at half the window before the first (as Linux's
// tcp_enter_loss), not at half of one packet; an ACK ends the series.
func TestLEDBATPPBackoffTimeoutKeepsSsthresh(t *testing.T) {
	h := newPPHarness(t, LEDBATPPConfig{NoSlowdowns: true}, 40*time.Millisecond)
	h.leaveSlowStartAt(40, 0)
	w := float64(h.l.Window())
	h.l.OnTimeout(h.now)
	h.now = h.now.Add(time.Second)
	h.l.OnTimeout(h.now)
	h.now = h.now.Add(2 * time.Second)
	h.l.OnTimeout(h.now)
	if h.l.Window() != mss || !h.l.InSlowStart() || math.Abs(h.l.ssthresh-w/2) > 1 {
		t.Fatalf("after three timeouts: window %d, slow start %v, returning to %.0f; want 1 packet, true, %.0f",
			h.l.Window(), h.l.InSlowStart(), h.l.ssthresh, w/2)
	}
	// An ACK ends the series: the next timeout halves what it finds.
	h.ack(mss, mss, 0)
	h.round(0)
	cur := float64(h.l.Window())
	h.l.OnTimeout(h.now)
	if want := max(cur/2, 2*mss); math.Abs(h.l.ssthresh-want) > 1 {
		t.Errorf("a timeout after an ACK: returning to %.0f, want half of %.0f", h.l.ssthresh, cur)
	}
}

// Path MTU discovery changes the packet size mid-connection: the floor and
// the per-packet increase follow, the window stays.
func TestLEDBATPPSetMSS(t *testing.T) {
	// Full packets only: how a small window shrinks them is
	// TestLEDBATPPSegment's.
	h := newPPHarness(t, LEDBATPPConfig{NoSlowdowns: true, SegmentPackets: -1}, 40*time.Millisecond)
	h.leaveSlowStartAt(20, 10*time.Millisecond)
	w := h.l.Window()
	h.l.SetMSS(9000)
	if h.l.Window() != max(w, 18000) || h.l.floor != 18000 {
		t.Fatalf("after SetMSS(9000): window %d, floor %v; want %d, 18000", h.l.Window(), h.l.floor, max(w, 18000))
	}
	h.l.SetMSS(0) // ignored
	if h.l.cfg.MSS != 9000 {
		t.Fatalf("SetMSS(0) changed the MSS to %d", h.l.cfg.MSS)
	}
}

// Draft section 4.6: a slowdown holds two packets; our deviation: where
// two full packets take more than half the target to send at the flow's
// rate and its window is sent in small packets (a slow path), the
// slowdown holds the floor of the smallest packets instead, so that it
// empties its share of the queue. A window of the same size on a fast
// path, a large window, and a slow window that loses more than
// DefaultLossTolerance of its packets (slowed by loss, not by the path:
// the floor would only slow it further) still hold two full packets.
func TestLEDBATPPSlowPathSlowdown(t *testing.T) {
	for _, tt := range []struct {
		name    string
		rtt     time.Duration
		packets int
		lossy   bool
		want    int
	}{
		{"slow: 3 kB per 100 ms", 100 * time.Millisecond, 3, false, 2 * minSegment / smallFloorDiv},
		{"slow, lossy: 3 kB per 100 ms, 5% lost", 100 * time.Millisecond, 3, true, 2 * mss},
		{"fast: 5 kB per 100 µs", 100 * time.Microsecond, 5, false, 2 * mss},
		{"large: 40 kB per 100 ms", 100 * time.Millisecond, 40, false, 2 * mss},
	} {
		h := newPPHarness(t, LEDBATPPConfig{}, tt.rtt)
		h.leaveSlowStartAt(tt.packets, 0)
		if tt.lossy {
			h.l.lossRate = 0.05
		}
		if small := h.l.Segment() < mss; small != (tt.packets < DefaultSegmentPackets) {
			t.Fatalf("%s: window %d sent in packets of %d", tt.name, h.l.Window(), h.l.Segment())
		}
		h.l.startSlowdown(h.now, 0, false)
		if got := h.l.Window(); got != tt.want {
			t.Errorf("%s: slowdown window %d, want %d", tt.name, got, tt.want)
		}
		for h.l.phase == ppFreeze {
			h.round(0)
			if got := h.l.Window(); h.l.phase == ppFreeze && got != tt.want {
				t.Fatalf("%s: window %d during the slowdown, want %d", tt.name, got, tt.want)
			}
		}
	}
}
