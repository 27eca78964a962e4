package cc

import (
	"testing"
	"time"
)

// rlHarness feeds an RLEDBAT the packets of a sender moving perRTT bytes
// per RTT over a path of 50 ms base RTT (20 ms our way, 30 ms back).
type rlHarness struct {
	t   *testing.T
	r   *RLEDBAT
	now time.Time
}

func newRLHarness(t *testing.T) *rlHarness {
	return &rlHarness{t: t, r: NewRLEDBAT(t0, RLEDBATConfig{MSS: mss, MaxWindowBytes: 4 << 20}), now: t0}
}

// rtt delivers packets of mss bytes for one RTT with qd of queue.
func (h *rlHarness) rtt(packets int, qd time.Duration) {
	rtt := 50*time.Millisecond + qd
	offset := clockOffset
	for range packets {
		h.r.OnPacket(h.now, delayFor(qd), 30_000-offset, mss)
		h.now = h.now.Add(rtt / time.Duration(packets))
	}
}

// RFC 9840 with LEDBAT++'s slow-start exit: the receiver does not bound
// the window until the queue passes 3/4 of the target, then starts from
// what the sender moved in the last RTT.
func TestRLEDBATActivatesAtThreeQuartersOfTarget(t *testing.T) {
	h := newRLHarness(t)
	h.rtt(50, 0)
	for range 20 {
		h.rtt(50, 40*time.Millisecond)
	}
	if got := h.r.Window(); got != 4<<20 {
		t.Fatalf("window %d with 40 ms of queue, want the ceiling (inactive)", got)
	}
	if got := h.r.baseRTT(); got != 50*time.Millisecond {
		t.Errorf("base RTT %v, want 50 ms from the two one-way bases", got)
	}
	h.rtt(50, 50*time.Millisecond)
	if got := h.r.Window(); got < 40*mss || got > 60*mss {
		t.Errorf("window %d after the queue passed 45 ms, want about the 50 packets per RTT received", got)
	}
}

// Above the target the bound falls multiplicatively (LEDBAT++'s decrease,
// RFC 9840 section 4), by at most half per RTT; below it, it grows.
func TestRLEDBATDecreaseAndIncrease(t *testing.T) {
	h := newRLHarness(t)
	h.rtt(50, 0)
	h.rtt(50, 50*time.Millisecond) // active
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
	h.rtt(50, 0)
	h.rtt(50, 50*time.Millisecond) // active
	h.rtt(50, 120*time.Millisecond)
	h.rtt(50, 120*time.Millisecond)
	for range 3 {
		h.rtt(100, 5*time.Millisecond)
	}
	if got := h.r.Window(); got < 190*mss {
		t.Errorf("window %d while 100 packets per RTT arrive with 5 ms of queue, want at least twice that", got)
	}
}
