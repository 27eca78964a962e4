package cc

import (
	"math/rand/v2"
	"testing"
	"time"
)

// t0 is an arbitrary virtual epoch; nothing in this package reads a clock.
var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func TestWrapLess(t *testing.T) {
	tests := []struct {
		a, b uint32
		want bool
	}{
		{1, 2, true},
		{2, 1, false},
		{5, 5, false},
		{0xFFFFFFFF, 0, true}, // just before the wrap is "less" than just after
		{0, 0xFFFFFFFF, false},
		{0xFFFFFF00, 0x00000400, true},
		{0x00000400, 0xFFFFFF00, false},
		{0, 0x7FFFFFFF, true},  // largest forward distance still "less"
		{0, 0x80000001, false}, // (exactly 2^31 apart is ambiguous)
	}
	for _, tt := range tests {
		if got := wrapLess(tt.a, tt.b); got != tt.want {
			t.Errorf("wrapLess(%#x, %#x) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

// step is one delay sample at a virtual time, with what the history should
// say right after it.
type step struct {
	at        time.Duration // since t0
	sample    uint32
	wantBase  uint32
	wantQueue uint32 // queuing delay in µs
}

func runSteps(t *testing.T, steps []step) {
	t.Helper()
	h := newDelayHist(t0)
	for i, s := range steps {
		h.add(t0.Add(s.at), s.sample)
		base, ok := h.baseDelay()
		if !ok || base != s.wantBase {
			t.Errorf("step %d (at %v, sample %#x): base = %#x, %v; want %#x", i, s.at, s.sample, base, ok, s.wantBase)
		}
		q, ok := h.queuingDelay()
		if !ok || q != s.wantQueue {
			t.Errorf("step %d (at %v, sample %#x): queuing delay = %d, %v; want %d", i, s.at, s.sample, q, ok, s.wantQueue)
		}
	}
}

func TestDelayHistBaseIsMinimum(t *testing.T) {
	runSteps(t, []step{
		{0, 50_000, 50_000, 0},
		{time.Second, 70_000, 50_000, 0}, // filter min(50k, 70k) = 50k
		{2 * time.Second, 80_000, 50_000, 0},
		{3 * time.Second, 90_000, 50_000, 20_000}, // filter = min(70k, 80k, 90k)
		{4 * time.Second, 30_000, 30_000, 0},      // a lower sample lowers the base at once
		{5 * time.Second, 40_000, 30_000, 0},
		{6 * time.Second, 45_000, 30_000, 0},
		{7 * time.Second, 46_000, 30_000, 10_000}, // filter = min(40k, 45k, 46k)
	})
}

func TestDelayHistFilterIsMinOfLastThree(t *testing.T) {
	runSteps(t, []step{
		{0, 1000, 1000, 0},
		{10 * time.Millisecond, 9000, 1000, 0},
		{20 * time.Millisecond, 5000, 1000, 0},
		{30 * time.Millisecond, 7000, 1000, 4000}, // min(9000, 5000, 7000) - 1000
		{40 * time.Millisecond, 8000, 1000, 4000}, // min(5000, 7000, 8000) - 1000
		{50 * time.Millisecond, 9000, 1000, 6000}, // min(7000, 8000, 9000) - 1000
		{60 * time.Millisecond, 2000, 1000, 1000},
	})
}

func TestDelayHistWrapAround(t *testing.T) {
	// Samples drift across 2^32 -> 0; every comparison and difference must
	// treat 0x00000400 as 0x500 µs after 0xFFFFFF00.
	const near = 0xFFFFFF00 // 256 µs before the wrap
	const lower = near - 0x100
	runSteps(t, []step{
		{0 * ms, near, near, 0},
		{10 * ms, 0x400, near, 0}, // filter min(near, 0x400) = near
		{20 * ms, 0x500, near, 0},
		{30 * ms, 0x600, near, 0x500},       // filter 0x400, 0x500 past the base
		{40 * ms, lower, lower, 0},          // a lower base before the wrap
		{50 * ms, 0x10, lower, 0},           // filter still holds lower
		{60 * ms, 0x20, lower, 0},           // ... and here
		{70 * ms, 0x30, lower, 0x210},       // filter 0x10
		{80 * ms, 0xFFFFFFF0, lower, 0x1F0}, // before the wrap, smaller than 0x20
		{90 * ms, lower - 5, lower - 5, 0},
	})
}

func TestDelayHistBaseBelowZeroWraps(t *testing.T) {
	// The base sits just after 0 and a sample arrives just before it: the
	// sample is the smaller one and becomes the base, with no queue.
	runSteps(t, []step{
		{0, 0x400, 0x400, 0},
		{time.Millisecond, 0xFFFFFF00, 0xFFFFFF00, 0},
		{2 * time.Millisecond, 0x100, 0xFFFFFF00, 0},
		{3 * time.Millisecond, 0x200, 0xFFFFFF00, 0},
		{4 * time.Millisecond, 0x300, 0xFFFFFF00, 0x200}, // min(0x100,0x200,0x300) - base
	})
}

func TestDelayHistMinuteBucketsExpire(t *testing.T) {
	// A low sample at t0, then one higher sample a minute for ten minutes.
	// The low minimum lives in bucket 0 and must be forgotten exactly when
	// bucket 0 is reused, ten minutes after t0.
	h := newDelayHist(t0)
	h.add(t0, 10_000)
	for m := 1; m <= 9; m++ {
		h.add(t0.Add(time.Duration(m)*time.Minute), uint32(20_000+m))
	}
	tests := []struct {
		at       time.Duration
		sample   uint32
		wantBase uint32
	}{
		{9*time.Minute + 59*time.Second, 30_000, 10_000},
		{10 * time.Minute, 30_000, 20_001},             // bucket 0 forgotten
		{11 * time.Minute, 30_000, 20_002},             // bucket 1 forgotten
		{11*time.Minute + time.Second, 5, 5},           // still lowered at once
		{21*time.Minute + time.Second, 40_000, 40_000}, // ten idle minutes forget everything
	}
	for _, tt := range tests {
		h.add(t0.Add(tt.at), tt.sample)
		if base, _ := h.baseDelay(); base != tt.wantBase {
			t.Errorf("at %v: base = %d, want %d", tt.at, base, tt.wantBase)
		}
	}
}

func TestDelayHistClockGoingBackwardsRollsNothing(t *testing.T) {
	h := newDelayHist(t0)
	h.add(t0.Add(time.Minute), 1000)
	h.add(t0.Add(-time.Hour), 2000)
	if base, _ := h.baseDelay(); base != 1000 {
		t.Fatalf("base = %d, want 1000", base)
	}
}

func TestDelayHistQueuingDelayNeverNegative(t *testing.T) {
	tests := []struct {
		name    string
		samples []uint32
		shift   uint32
	}{
		{"shift above every sample", []uint32{1000, 1000, 1000}, 500},
		{"shift across the wrap", []uint32{0xFFFFFFF0, 0xFFFFFFF0, 0xFFFFFFF0}, 0x100},
		{"single sample", []uint32{42}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newDelayHist(t0)
			for i, s := range tt.samples {
				h.add(t0.Add(time.Duration(i)*time.Millisecond), s)
			}
			h.shift(tt.shift)
			base, _ := h.baseDelay()
			if want := tt.samples[0] + tt.shift; base != want {
				t.Errorf("base = %#x, want %#x", base, want)
			}
			if q, ok := h.queuingDelay(); !ok || q != 0 {
				t.Errorf("queuing delay = %d, %v; want 0, true", q, ok)
			}
		})
	}
}

func TestDelayHistShiftMovesOldBuckets(t *testing.T) {
	// A shift must move the minima of older buckets too, or a rollover
	// would bring back an unshifted base.
	h := newDelayHist(t0)
	h.add(t0, 1000)
	h.add(t0.Add(time.Minute), 5000)
	h.shift(300)
	h.add(t0.Add(2*time.Minute), 9000) // rollover recomputes the base
	if base, _ := h.baseDelay(); base != 1300 {
		t.Fatalf("base after rollover = %d, want 1300", base)
	}
}

func TestDelayHistEmpty(t *testing.T) {
	h := newDelayHist(t0)
	if _, ok := h.baseDelay(); ok {
		t.Error("empty history has a base")
	}
	if _, ok := h.queuingDelay(); ok {
		t.Error("empty history has a queuing delay")
	}
}

// keeps is true only where add changes neither a bucket nor the base:
// random samples around a drifting level, at random steps of time
// (sometimes backwards, sometimes past a bucket or the whole history).
func TestDelayHistKeepsOnlyWhatAddWouldNotChange(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 1))
		now := time.Unix(1000, 0)
		h := newDelayHist(now)
		level := rng.Uint32()
		kept := 0
		for step := range 5000 {
			switch rng.IntN(50) {
			case 0:
				now = now.Add(time.Duration(rng.IntN(12)) * bucketLength)
			case 1:
				now = now.Add(-time.Second)
			default:
				now = now.Add(time.Duration(rng.IntN(2000)) * time.Millisecond)
			}
			level += uint32(rng.IntN(2001)) - 1000
			sample := level + uint32(rng.IntN(5000))
			before := h
			keeps := h.keeps(now, sample)
			h.add(now, sample)
			same := h.buckets == before.buckets && h.valid == before.valid && h.base == before.base &&
				h.hasBase == before.hasBase && h.idx == before.idx && h.bucketStart.Equal(before.bucketStart)
			if keeps && !same {
				t.Fatalf("seed %d step %d: keeps(%d) but add changed the buckets or the base", seed, step, sample)
			}
			if keeps {
				kept++
			}
		}
		if kept == 0 {
			t.Fatalf("seed %d: keeps was never true", seed)
		}
	}
}
