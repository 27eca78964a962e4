package cc

import (
	"testing"
	"time"
)

// rlHarness feeds an RLEDBAT the packets of a sender moving perRTT bytes
// per RTT over a path of 50 ms base RTT (20 ms our way, 30 ms back).
type rlHarness struct {
	t         *testing.T
	r         *RLEDBAT
	now       time.Time
	fwd, back time.Duration // one-way base delays
}

func newRLHarness(t *testing.T) *rlHarness {
	return newRLHarnessPath(t, 20*time.Millisecond, 30*time.Millisecond)
}

// newRLHarnessPath is newRLHarness on a path of the given one-way delays.
func newRLHarnessPath(t *testing.T, fwd, back time.Duration) *rlHarness {
	r := NewRLEDBAT(t0, RLEDBATConfig{MSS: mss, MaxWindowBytes: 4 << 20})
	return &rlHarness{t: t, r: r, now: t0, fwd: fwd, back: back}
}

// rtt delivers packets of mss bytes for one RTT with qd of queue.
func (h *rlHarness) rtt(packets int, qd time.Duration) {
	rtt := h.fwd + h.back + qd
	delay := clockOffset + uint32((h.fwd + qd).Microseconds())
	echoed := uint32(h.back.Microseconds()) - clockOffset
	for range packets {
		h.r.OnPacket(h.now, delay, echoed, mss)
		h.now = h.now.Add(rtt / time.Duration(packets))
	}
}

// activate has the receiver see a sender that ignores delay: 50 packets
// per RTT, RTT after RTT, with 100 ms of queue.
func (h *rlHarness) activate() {
	h.rtt(50, 0)
	// One RTT more than the strikes: the first interval also saw the
	// empty queue before.
	for range blindStrikes + 2 {
		h.rtt(50, 100*time.Millisecond)
	}
	if !h.r.Active() {
		h.t.Fatalf("bound inactive after %d RTTs of a steady flight with 100 ms of queue", blindStrikes+2)
	}
}

// RFC 9840's aim, adapted: the receiver bounds only a sender that ignores
// delay. A sender that cuts its flight once the queue passes the target
// (as LEDBAT++ does, half per RTT at 5/4 of it) leaves the bound inactive
// whatever the queue did in the RTTs of its reaction; a sender that keeps
// its flight with the queue above 5/4 of the target for blindStrikes RTTs
// activates it, from the bytes it sent per RTT.
func TestRLEDBATBoundsOnlyADelayBlindSender(t *testing.T) {
	h := newRLHarness(t)
	h.rtt(50, 0)
	for _, step := range []struct {
		packets int
		qd      time.Duration
	}{{80, 40 * time.Millisecond}, {120, 70 * time.Millisecond}, {160, 110 * time.Millisecond}, {100, 120 * time.Millisecond}, {50, 90 * time.Millisecond}, {40, 50 * time.Millisecond}} {
		h.rtt(step.packets, step.qd)
	}
	for range 20 {
		h.rtt(40, 50*time.Millisecond)
	}
	if h.r.Active() {
		t.Fatalf("bound active (window %d) for a sender that halved its flight within an RTT of 110 ms of queue", h.r.Window())
	}
	if got := h.r.baseRTT(); got != 50*time.Millisecond {
		t.Errorf("base RTT %v, want 50 ms from the two one-way bases", got)
	}
	for i := range blindStrikes + 2 {
		if h.r.Active() {
			t.Fatalf("bound active after %d RTTs of a steady flight at 100 ms of queue, want %d", i, blindStrikes)
		}
		h.rtt(50, 100*time.Millisecond)
	}
	if !h.r.Active() {
		t.Fatalf("bound inactive after %d RTTs of a steady flight at 100 ms of queue", blindStrikes+2)
	}
	if got := h.r.Window(); got < 20*mss || got > 60*mss {
		t.Errorf("window %d once active, want at most the 50 packets per RTT received, less the decrease at 100 ms of queue", got)
	}
}

// Above the target the bound falls multiplicatively (LEDBAT++'s decrease,
// RFC 9840 section 4), by at most half per RTT; below it, it grows.
func TestRLEDBATDecreaseAndIncrease(t *testing.T) {
	h := newRLHarness(t)
	h.activate()
	h.rtt(50, 50*time.Millisecond)
	start := h.r.Window()
	h.rtt(50, 90*time.Millisecond)
	if got := h.r.Window(); got > start*6/10 {
		t.Errorf("window %d -> %d over an RTT at 90 ms of queue, want about halved", start, got)
	}
	low := h.r.Window()
	for range 10 {
		h.rtt(20, 50*time.Millisecond)
	}
	if got := h.r.Window(); got <= low {
		t.Errorf("window %d -> %d over 10 RTTs at 50 ms of queue, want growth", low, got)
	}
}

// RFC 9840's aim, adapted: a sender that holds the queue low is never held
// back; with almost no queue the bound stays at least twice the bytes
// received per RTT.
func TestRLEDBATDoesNotLimitALowDelaySender(t *testing.T) {
	h := newRLHarness(t)
	h.activate()
	h.rtt(50, 120*time.Millisecond)
	h.rtt(50, 120*time.Millisecond)
	for range 3 {
		h.rtt(100, 5*time.Millisecond)
	}
	if got := h.r.Window(); got < 190*mss {
		t.Errorf("window %d while 100 packets per RTT arrive with 5 ms of queue, want at least twice that", got)
	}
}

// Before the bound starts the window opens as data arrives (as Linux's
// receive window does): ten packets plus twice the bytes received, so
// that a window advertised before the first delay sample cannot keep a
// delay-blind sender's queue for long (RFC 9840 4.1.1 lets it shrink only
// by what arrives). A sender whose window grows by at most the bytes
// acknowledged, from two packets (LEDBAT++'s slow start at GAIN 1), is
// never held by it.
func TestRLEDBATEarlyWindowOpensWithData(t *testing.T) {
	h := newRLHarness(t)
	if got, want := h.r.Window(), DefaultRecvInitialWindow*mss; got != want {
		t.Fatalf("window %d before any data, want %d (ten packets)", got, want)
	}
	cwnd, recvd := 2*mss, 0
	for range 8 {
		if w := h.r.Window(); w < cwnd {
			t.Fatalf("window %d under a slow-starting sender's %d after %d bytes", w, cwnd, recvd)
		}
		packets := cwnd / mss
		h.rtt(packets, 0)
		recvd += packets * mss
		cwnd += packets * mss
	}
	if got, want := h.r.Window(), min(4<<20, (DefaultRecvInitialWindow*mss+2*recvd)); got != want {
		t.Errorf("window %d after %d bytes with no queue, want %d", got, recvd, want)
	}
	if got := h.r.Window(); got >= 4<<20 {
		t.Errorf("window %d reached the ceiling, want the test to stop short of it", got)
	}
}

// A doubling from a full link puts a base RTT of queue on it before the
// delay shows it. On a 200 ms path the active bound grows, with almost no
// queue, to at most 1 + target/base RTT (1.3) times the bytes received per
// RTT; on a 50 ms path (above) it still doubles.
func TestRLEDBATBoundsLowQueueGrowthOnLongPaths(t *testing.T) {
	h := newRLHarnessPath(t, 100*time.Millisecond, 100*time.Millisecond)
	h.rtt(50, 0)
	for range blindStrikes + 2 {
		h.rtt(50, 100*time.Millisecond)
	}
	if !h.r.Active() {
		t.Fatal("bound inactive after a steady flight at 100 ms of queue")
	}
	h.rtt(50, 120*time.Millisecond)
	for range 3 {
		h.rtt(100, 5*time.Millisecond)
	}
	if got := h.r.Window(); got < 125*mss || got > 135*mss {
		t.Errorf("window %d while 100 packets per RTT arrive with 5 ms of queue on a 200 ms path, want 1.3 times that", got)
	}
}
