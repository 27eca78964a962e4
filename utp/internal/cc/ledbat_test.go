package cc

import (
	"math"
	"testing"
	"time"
)

const mss = 1000

// clockOffset is an arbitrary offset between the two hosts' clocks, close
// to the uint32 wrap so that the controller's wrapping arithmetic is
// exercised by every test.
const clockOffset uint32 = 0xFFFF_0000

// delayFor returns the timestamp_difference the peer would report for a
// packet that waited qd in the bottleneck queue.
func delayFor(qd time.Duration) uint32 {
	return clockOffset + 20_000 + uint32(qd.Microseconds())
}

// harness drives one LEDBAT through virtual time.
type harness struct {
	t   *testing.T
	l   *LEDBAT
	now time.Time
	rtt time.Duration // passed in Ack.RTT; 0 = unknown
}

func newHarness(t *testing.T, cfg LEDBATConfig) *harness {
	if cfg.MSS == 0 {
		cfg.MSS = mss
	}
	if cfg.IncreasePerRTT == 0 {
		// The window tests check RFC 6817's formula with GAIN 1; the
		// libutp default is checked by TestDefaultIncreaseIsLibutps.
		cfg.IncreasePerRTT = cfg.MSS
	}
	return &harness{t: t, l: NewLEDBAT(t0, cfg), now: t0}
}

// ack delivers one ACK at the current time and advances the clock 1 ms.
func (h *harness) ack(acked, flight int, qd time.Duration) {
	h.l.OnAck(Ack{Now: h.now, AckedBytes: acked, FlightBefore: flight, Delay: delayFor(qd), HasDelay: true, RTT: h.rtt})
	h.now = h.now.Add(time.Millisecond)
}

// settle establishes the base delay and then fills the filter with qd
// using duplicate ACKs, which carry samples but acknowledge nothing.
func (h *harness) settle(qd time.Duration) {
	h.ack(0, 0, 0)
	for range filterSize {
		h.ack(0, 0, qd)
	}
	if got := h.l.QueuingDelay(); h.rtt == 0 && got != qd {
		h.t.Fatalf("settle: QueuingDelay = %v, want %v", got, qd)
	}
}

// round acknowledges one window's worth of data in chunk-sized ACKs, the
// sender keeping its window full (FlightBefore = window), i.e. one RTT of a
// window-limited sender. It returns the window at the start of the round.
func (h *harness) round(chunk int, qd time.Duration) int {
	start := h.l.Window()
	for left := start; left > 0; left -= chunk {
		h.ack(min(chunk, left), h.l.Window(), qd)
	}
	return start
}

// leaveSlowStart ends slow start with a loss and moves past its RTT.
func (h *harness) leaveSlowStart() {
	h.l.OnLoss(h.now, 0)
	h.now = h.now.Add(time.Second)
	if h.l.InSlowStart() {
		h.t.Fatal("still in slow start after a loss")
	}
}

func TestNewLEDBATDefaults(t *testing.T) {
	l := NewLEDBAT(t0, LEDBATConfig{MSS: 1400})
	if got, want := l.Window(), 2*1400; got != want {
		t.Errorf("Window = %d, want %d", got, want)
	}
	if !l.InSlowStart() {
		t.Error("not in slow start")
	}
	if l.QueuingDelay() != 0 {
		t.Errorf("QueuingDelay = %v, want 0", l.QueuingDelay())
	}
	cfg := LEDBATConfig{MSS: 1}.withDefaults()
	want := LEDBATConfig{MSS: 1, Target: 100 * time.Millisecond, Gain: 1, MinWindow: 1, InitialWindow: 2, AllowedIncrease: 1, MaxWindowBytes: 1 << 30, IncreasePerRTT: 3000}
	if cfg != want {
		t.Errorf("defaults = %+v, want %+v", cfg, want)
	}
}

func TestNewLEDBATPanicsWithoutMSS(t *testing.T) {
	for _, m := range []int{0, -1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("MSS %d: no panic", m)
				}
			}()
			NewLEDBAT(t0, LEDBATConfig{MSS: m})
		}()
	}
}

func TestSlowStartDoublesPerRTT(t *testing.T) {
	for _, chunk := range []int{mss, 2 * mss, 1 << 20} {
		h := newHarness(t, LEDBATConfig{})
		h.settle(0)
		for r := 1; r <= 6; r++ {
			start := h.round(chunk, 0)
			if got, want := h.l.Window(), 2*start; got != want {
				t.Fatalf("chunk %d, round %d: window %d -> %d, want %d", chunk, r, start, got, want)
			}
		}
		if !h.l.InSlowStart() {
			t.Errorf("chunk %d: left slow start with no queuing delay", chunk)
		}
	}
}

func TestSlowStartCannotMoreThanDoubleInOneACK(t *testing.T) {
	h := newHarness(t, LEDBATConfig{})
	h.settle(0)
	w := h.l.Window()
	h.ack(math.MaxInt32, math.MaxInt32, 0) // a nonsensical ACK claiming far more than the window
	if got := h.l.Window(); got > 2*w {
		t.Fatalf("window %d -> %d, more than doubled", w, got)
	}
}

func TestSlowStartExitsNearTarget(t *testing.T) {
	tests := []struct {
		qd       time.Duration
		wantSlow bool
	}{
		{0, true},
		{50 * time.Millisecond, true},
		{90 * time.Millisecond, true}, // exactly 90% is not "exceeds"
		{90*time.Millisecond + time.Microsecond, false},
		{150 * time.Millisecond, false},
	}
	for _, tt := range tests {
		h := newHarness(t, LEDBATConfig{InitialWindow: 4})
		h.settle(tt.qd)
		h.ack(mss, h.l.Window(), tt.qd)
		if got := h.l.InSlowStart(); got != tt.wantSlow {
			t.Errorf("qd %v: InSlowStart = %v, want %v", tt.qd, got, tt.wantSlow)
		}
		// Slow start adds a whole MSS per MSS acknowledged; LEDBAT far less.
		grewByMSS := h.l.Window() == 5*mss
		if grewByMSS != tt.wantSlow {
			t.Errorf("qd %v: window %d after one ACK; slow-start growth = %v, want %v", tt.qd, h.l.Window(), grewByMSS, tt.wantSlow)
		}
	}
}

func TestSlowStartIsNotReenteredByLowDelay(t *testing.T) {
	h := newHarness(t, LEDBATConfig{})
	h.settle(95 * time.Millisecond)
	h.ack(mss, h.l.Window(), 95*time.Millisecond)
	if h.l.InSlowStart() {
		t.Fatal("did not leave slow start")
	}
	for range 5 {
		h.round(mss, 0)
	}
	if h.l.InSlowStart() {
		t.Fatal("re-entered slow start without a timeout")
	}
}

func TestCongestionAvoidanceGrowsOneMSSPerRTT(t *testing.T) {
	h := newHarness(t, LEDBATConfig{InitialWindow: 10})
	h.settle(0)
	h.leaveSlowStart()
	for r := range 30 {
		start := h.round(mss, 0)
		growth := h.l.Window() - start
		// RFC 6817 2.4.2: GAIN * MSS per window of acknowledged bytes; a
		// little less because the window grows during the round.
		if growth < 900 || growth > mss {
			t.Fatalf("round %d: window %d grew by %d, want 900..1000", r, start, growth)
		}
	}
}

func TestAllowedIncreaseCapsGrowthButDoesNotShrink(t *testing.T) {
	tests := []struct {
		name       string
		flight     int // FlightBefore on every ACK
		wantWindow int // after many ACKs at zero queuing delay
	}{
		// Application-limited far below the window: no growth, and the
		// literal RFC cap (flight + 1 MSS = 4000) is not applied.
		{"app-limited", 3 * mss, 10 * mss},
		// Nearly window-limited: growth stops at flight + ALLOWED_INCREASE*MSS.
		{"near window", 9*mss + mss/2, 10*mss + mss/2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, LEDBATConfig{InitialWindow: 20})
			h.settle(0)
			h.leaveSlowStart() // 10 MSS
			for range 500 {
				h.ack(mss, tt.flight, 0)
			}
			if got := h.l.Window(); got != tt.wantWindow {
				t.Errorf("window = %d, want %d", got, tt.wantWindow)
			}
		})
	}
}

func TestWindowFollowsDistanceFromTarget(t *testing.T) {
	tests := []struct {
		name     string
		qd       time.Duration
		min, max int // growth over one RTT, bytes
	}{
		{"no queue", 0, 900, 1000},
		{"half target", 50 * time.Millisecond, 450, 500},
		{"at target", 100 * time.Millisecond, 0, 0},
		{"twice target", 200 * time.Millisecond, -1150, -1000},
		{"far above target", 2 * time.Second, -10 * mss, -10 * mss}, // bounded: at most halving per RTT
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, LEDBATConfig{InitialWindow: 40})
			h.settle(tt.qd)
			h.leaveSlowStart() // 20 MSS
			for r := range 3 {
				start := h.round(mss, tt.qd)
				if g := h.l.Window() - start; g < tt.min || g > tt.max {
					t.Fatalf("round %d: window %d changed by %d, want %d..%d", r, start, g, tt.min, tt.max)
				}
				if tt.qd == 2*time.Second {
					break // the next round starts from a halved window
				}
			}
		})
	}
}

func TestDrainScalesWithWindowWhenRTTKnown(t *testing.T) {
	// 100 ms above target with a 250 ms RTT: the excess queue is 100/250
	// of the window, and half of it goes per RTT, 20% of the window,
	// where RFC 6817's decrease alone would take one MSS.
	tests := []struct {
		rtt      time.Duration
		min, max int // window after one RTT from 20 MSS
	}{
		{250 * time.Millisecond, 16 * mss, 16 * mss},
		{0, 19*mss - 50, 19 * mss}, // RTT unknown: RFC 6817 only, ~1 MSS
	}
	for _, tt := range tests {
		h := newHarness(t, LEDBATConfig{InitialWindow: 40})
		h.rtt = tt.rtt
		h.settle(200 * time.Millisecond)
		h.leaveSlowStart() // 20 MSS
		h.round(mss, 200*time.Millisecond)
		if got := h.l.Window(); got < tt.min || got > tt.max {
			t.Errorf("rtt %v: window %d after one RTT, want %d..%d", tt.rtt, got, tt.min, tt.max)
		}
	}
}

func TestDecreaseAtMostHalvesPerRTT(t *testing.T) {
	for _, qd := range []time.Duration{150 * time.Millisecond, time.Second, 30 * time.Second, 2000 * time.Second} {
		h := newHarness(t, LEDBATConfig{InitialWindow: 128})
		h.rtt = qd + 10*time.Millisecond // the largest drain the RTT allows
		h.settle(qd)
		h.leaveSlowStart() // 64 MSS
		for r := range 4 {
			start := h.round(mss, qd)
			if got := h.l.Window(); got < start/2 || got >= start {
				t.Fatalf("qd %v round %d: window %d -> %d, want in [%d, %d)", qd, r, start, got, start/2, start)
			}
		}
	}
}

func TestWindowFloor(t *testing.T) {
	for _, minWin := range []int{1, 2, 3} {
		h := newHarness(t, LEDBATConfig{MinWindow: minWin, InitialWindow: 8})
		h.settle(time.Second)
		h.leaveSlowStart()
		for range 50 {
			h.round(mss, time.Second)
			if h.l.Window() < minWin*mss {
				t.Fatalf("MinWindow %d: window %d below the floor", minWin, h.l.Window())
			}
		}
		if got := h.l.Window(); got != minWin*mss {
			t.Errorf("MinWindow %d: window %d, want the floor %d", minWin, got, minWin*mss)
		}
		h.l.OnTimeout(h.now)
		h.l.OnLoss(h.now.Add(time.Hour), 0)
		if got := h.l.Window(); got != minWin*mss {
			t.Errorf("MinWindow %d: window %d after timeout and loss, want %d", minWin, got, minWin*mss)
		}
	}
}

func TestLossHalvesAtMostOncePerRTT(t *testing.T) {
	tests := []struct {
		at         time.Duration // since the first loss
		rtt        time.Duration
		wantWindow int
	}{
		{0, 200 * ms, 32 * mss},
		{100 * ms, 200 * ms, 32 * mss}, // within one RTT of the decrease: ignored
		{199 * ms, 200 * ms, 32 * mss},
		{200 * ms, 200 * ms, 16 * mss},
		{299 * ms, 0, 16 * mss}, // rtt unknown: 100 ms default
		{300 * ms, 0, 8 * mss},
		{350 * ms, 10 * ms, 4 * mss},
		{355 * ms, 10 * ms, 4 * mss},
		{360 * ms, 10 * ms, 2 * mss},
		{time.Second, 10 * ms, 1 * mss},
		{2 * time.Second, 10 * ms, 1 * mss}, // floor
	}
	h := newHarness(t, LEDBATConfig{InitialWindow: 64})
	for _, tt := range tests {
		h.l.OnLoss(t0.Add(tt.at), tt.rtt)
		if got := h.l.Window(); got != tt.wantWindow {
			t.Errorf("loss at %v (rtt %v): window %d, want %d", tt.at, tt.rtt, got, tt.wantWindow)
		}
		if h.l.InSlowStart() {
			t.Errorf("loss at %v: still in slow start", tt.at)
		}
	}
}

func TestTimeoutDropsToFloorThenBoundedSlowStart(t *testing.T) {
	h := newHarness(t, LEDBATConfig{InitialWindow: 40})
	h.settle(0)
	h.leaveSlowStart() // 20 MSS
	h.l.OnTimeout(h.now)
	if got := h.l.Window(); got != mss {
		t.Fatalf("window after timeout = %d, want %d", got, mss)
	}
	if !h.l.InSlowStart() {
		t.Fatal("timeout did not restart slow start")
	}
	// A loss detected just after the timeout does not cut again (and the
	// window is at the floor anyway); slow start resumes up to ssthresh =
	// 10 MSS, half the window before the timeout.
	h.l.OnLoss(h.now.Add(time.Millisecond), 100*time.Millisecond)
	if !h.l.InSlowStart() {
		t.Fatal("loss within an RTT of the timeout ended slow start")
	}
	for _, want := range []int{2, 4, 8} {
		h.round(mss, 0)
		if got := h.l.Window(); got != want*mss {
			t.Fatalf("window = %d, want %d", got, want*mss)
		}
	}
	// This round reaches ssthresh after two ACKs; the other six grow the
	// window LEDBAT's way, by well under one MSS in total.
	h.round(mss, 0)
	if got := h.l.Window(); got < 10*mss || got >= 11*mss {
		t.Fatalf("window = %d, want in [%d, %d)", got, 10*mss, 11*mss)
	}
	if h.l.InSlowStart() {
		t.Fatal("slow start went past ssthresh")
	}
}

func TestACKWithoutDelaySampleChangesNothing(t *testing.T) {
	h := newHarness(t, LEDBATConfig{})
	h.settle(30 * time.Millisecond)
	w, qd := h.l.Window(), h.l.QueuingDelay()
	h.l.OnAck(Ack{Now: h.now, AckedBytes: mss, FlightBefore: w, HasDelay: false})
	if h.l.Window() != w || h.l.QueuingDelay() != qd {
		t.Fatalf("window %d -> %d, qd %v -> %v; want unchanged", w, h.l.Window(), qd, h.l.QueuingDelay())
	}
}

func TestQueuingDelayClampedToRTT(t *testing.T) {
	h := newHarness(t, LEDBATConfig{})
	h.rtt = 200 * time.Millisecond
	h.settle(500 * time.Millisecond)
	if got := h.l.QueuingDelay(); got != 200*time.Millisecond {
		t.Fatalf("QueuingDelay = %v, want the RTT 200ms", got)
	}
	h.rtt = 0
	h.ack(0, 0, 500*time.Millisecond)
	if got := h.l.QueuingDelay(); got != 500*time.Millisecond {
		t.Fatalf("QueuingDelay without RTT = %v, want 500ms", got)
	}
}

func TestWindowNeverOverflows(t *testing.T) {
	h := newHarness(t, LEDBATConfig{MaxWindowBytes: 1 << 20})
	h.settle(0)
	for range 100 {
		h.ack(math.MaxInt, math.MaxInt, 0)
	}
	if got := h.l.Window(); got != 1<<20 {
		t.Fatalf("window = %d, want the ceiling %d", got, 1<<20)
	}
}

// libutp: MAX_CWND_INCREASE_BYTES_PER_RTT is 3000 bytes. With no queuing
// delay and a full window acknowledged, the default window grows by that
// much per RTT, or by one MSS when packets are larger.
func TestDefaultIncreaseIsLibutps(t *testing.T) {
	for _, c := range []struct{ mss, want int }{{1000, 3000}, {1400, 3000}, {8000, 8000}} {
		cfg := LEDBATConfig{MSS: c.mss, InitialWindow: 20}
		l := NewLEDBAT(t0, cfg)
		l.exitSlowStart()
		before := l.Window()
		now := t0
		for acked := 0; acked < before; acked += c.mss {
			l.OnAck(Ack{Now: now, AckedBytes: c.mss, FlightBefore: l.Window(), Delay: 1000, HasDelay: true, RTT: 50 * time.Millisecond})
			now = now.Add(time.Millisecond)
		}
		grew := l.Window() - before
		if grew < c.want*9/10 || grew > c.want {
			t.Errorf("MSS %d: window grew %d bytes in one RTT, want about %d", c.mss, grew, c.want)
		}
	}
}
