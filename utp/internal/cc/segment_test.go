package cc

import (
	"testing"
	"time"
)

// A window smaller than SegmentPackets Ethernet-sized packets is sent in
// packets halved until it holds that many, down to libutp's 373 bytes.
func TestSegmentFor(t *testing.T) {
	for _, tt := range []struct {
		w       float64
		full, n int
		want    int
		why     string
	}{
		{11360, 1420, 8, 1420, "eight full packets fit"},
		{11359, 1420, 8, 710, "one byte short of eight full packets"},
		{5680, 1420, 8, 710, "eight half packets fit"},
		{5679, 1420, 8, 373, "halving again would go below 373"},
		{0, 1420, 8, 373, "never below 373"},
		{100, 300, 8, 300, "a full packet below 373 stays"},
		{1000, 1420, -1, 1420, "off"},
		{72000, 9000, 8, 9000, "jumbo, eight fit"},
		{12000, 9000, 8, 9000, "jumbo: the window holds eight Ethernet-sized packets"},
		{11999, 9000, 8, 1125, "jumbo, halved until eight fit"},
		{600000, 65020, 8, 65020, "loopback-sized: full under eight packets"},
	} {
		if got := segmentFor(tt.w, tt.full, tt.n); got != tt.want {
			t.Errorf("segmentFor(%v, %d, %d) = %d, want %d (%s)", tt.w, tt.full, tt.n, got, tt.want, tt.why)
		}
	}
}

// A small LEDBATPP window counts in small packets once slow start is
// over: its floor is half of one of them (smallFloorDiv), while a
// slowdown and a timeout still hold full ones; once the window holds
// eight Ethernet-sized packets, packets are full again.
func TestLEDBATPPSegment(t *testing.T) {
	const full = 1420
	h := newPPHarness(t, LEDBATPPConfig{MSS: full, NoSlowdowns: true}, 40*time.Millisecond)
	if got := h.l.Segment(); got != full {
		t.Fatalf("in slow start, window %d: segment %d, want full (%d)", h.l.Window(), got, full)
	}
	h.leaveSlowStartAt(3, 10*time.Millisecond)
	if w := h.l.Window(); w >= 4*full {
		t.Fatalf("left slow start at window %d, want under %d for this test", w, 4*full)
	}
	if got := h.l.Segment(); got != minSegment {
		t.Fatalf("window %d after slow start: segment %d, want %d", h.l.Window(), got, minSegment)
	}
	if want := 2.0 * minSegment / smallFloorDiv; h.l.floor != want {
		t.Fatalf("floor %v with segment %d, want %v", h.l.floor, h.l.Segment(), want)
	}
	for h.l.Window() < DefaultSegmentPackets*full {
		h.round(0)
	}
	if got := h.l.Segment(); got != full {
		t.Fatalf("window %d: segment %d, want full (%d)", h.l.Window(), got, full)
	}
	h.l.startSlowdown(h.now, h.l.qd, false)
	if got := h.l.Window(); got != 2*full {
		t.Errorf("in a slowdown: window %d, want two full packets (%d)", got, 2*full)
	}
	h.l.OnTimeout(h.now)
	if got := h.l.Window(); got != full {
		t.Errorf("after a timeout: window %d, want one full packet (%d)", got, full)
	}
}

// RFC 6817 2.5's MIN_CWND, which the draft keeps (two packets), and our
// deviation: a window sent in small packets falls, under a delay over the
// target, to half of one of libutp's smallest packets, so that eight such
// windows hold less than a 10 ms, 1 Mbit/s path's BDP; with packets kept
// full (SegmentPackets < 0), the floor is the draft's two full packets.
func TestLEDBATPPSmallFloor(t *testing.T) {
	for _, tt := range []struct {
		segments int
		want     int
	}{
		{0, 2 * minSegment / smallFloorDiv},
		{-1, 2 * mss},
	} {
		h := newPPHarness(t, LEDBATPPConfig{NoSlowdowns: true, SegmentPackets: tt.segments}, 40*time.Millisecond)
		h.leaveSlowStartAt(3, 2*h.l.cfg.Target)
		for range 20 {
			h.round(2 * h.l.cfg.Target)
		}
		if got := h.l.Window(); got != tt.want {
			t.Errorf("SegmentPackets %d: window %d after 20 RTTs at twice the target, want the floor %d", tt.segments, got, tt.want)
		}
	}
}
