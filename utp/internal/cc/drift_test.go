package cc

import (
	"testing"
	"time"
)

// skewRun simulates 30 virtual minutes of a connection whose peer's clock
// gains skewPPM parts per million on ours while a constant 50 ms queue builds in our
// direction, draining for 200 ms at the start of every minute (LEDBAT can
// only learn the base delay from moments without a queue). It returns the
// largest error of QueuingDelay() against the true queue, measured after
// the first ten minutes, with and without feeding OnPeerDelay.
func skewRun(t *testing.T, skewPPM int64, compensate bool) time.Duration {
	t.Helper()
	const (
		tick    = 10 * time.Millisecond
		total   = 30 * time.Minute
		fwdBase = 20_000 // µs
		revBase = 30_000 // µs
		queue   = 50 * time.Millisecond
		drain   = 200 * time.Millisecond
		// The filter needs filterSize samples after a change in the
		// queue before the estimate follows it.
		settle = filterSize * tick
	)
	l := NewLEDBAT(t0, LEDBATConfig{MSS: mss})
	var worst time.Duration
	for i := 0; time.Duration(i)*tick < total; i++ {
		elapsed := time.Duration(i) * tick
		now := t0.Add(elapsed)
		// peer clock minus ours, in µs: an arbitrary offset that puts
		// both directions' samples across the uint32 wrap, plus the skew.
		offset := clockOffset + uint32(elapsed.Microseconds()*skewPPM/1_000_000)
		inMinute := elapsed % time.Minute
		q := queue
		if inMinute < drain {
			q = 0
		}
		jitter := uint32(i*7919) % 3000 // reverse-path noise, deterministic
		if compensate {
			l.OnPeerDelay(now, revBase+jitter-offset)
		}
		l.OnAck(Ack{Now: now, Delay: fwdBase + uint32(q.Microseconds()) + offset, HasDelay: true})

		steady := inMinute >= drain+settle || (inMinute >= settle && inMinute < drain)
		if elapsed < 10*time.Minute || !steady {
			continue
		}
		if e := abs(l.QueuingDelay() - q); e > worst {
			worst = e
		}
	}
	return worst
}

func TestClockDriftCompensation(t *testing.T) {
	corrected := skewRun(t, 100, true)
	naive := skewRun(t, 100, false)
	t.Logf("peer clock fast by 100 ppm: worst queuing-delay error %v with compensation, %v without", corrected, naive)
	if corrected > 3*time.Millisecond {
		t.Errorf("with compensation the estimate strays %v from the true queue, want <= 3ms", corrected)
	}
	// Without it the stale base is up to ten minutes old: 100 ppm * 600 s
	// = 60 ms of phantom queue. The check shows the test can detect drift.
	if naive < 40*time.Millisecond {
		t.Errorf("without compensation the error is only %v; the scenario does not exercise drift", naive)
	}
	// The opposite skew needs no compensation: our delays fall, and the
	// next drained moment lowers the base. Between drains (one minute
	// here) the estimate lags by at most 100 ppm * 60 s = 6 ms, with or
	// without compensation, which must not make it worse.
	slowComp, slowNaive := skewRun(t, -100, true), skewRun(t, -100, false)
	t.Logf("peer clock slow by 100 ppm: worst error %v with compensation, %v without", slowComp, slowNaive)
	if slowComp > 6*time.Millisecond || slowComp > slowNaive {
		t.Errorf("peer clock slow: error %v with compensation, %v without; want <= 6ms and no worse", slowComp, slowNaive)
	}
}

func TestPeerDelayShiftTable(t *testing.T) {
	// Each row feeds one peer-delay sample at a time and checks how far
	// our base delay has been shifted in total.
	tests := []struct {
		name      string
		at        []time.Duration
		samples   []uint32
		wantShift uint32
	}{
		{"first sample only", []time.Duration{0}, []uint32{50_000}, 0},
		{"rising peer delays: no shift", []time.Duration{0, time.Second, 2 * time.Second}, []uint32{50_000, 50_100, 50_500}, 0},
		{"falling peer delays shift by the drop", []time.Duration{0, time.Second, 2 * time.Second}, []uint32{50_000, 49_900, 49_000}, 1000},
		{"drop across the wrap", []time.Duration{0, time.Second}, []uint32{0x10, 0xFFFFFFF0}, 0x20},
		{"drop over 10 ms is not drift", []time.Duration{0, time.Second}, []uint32{50_000, 39_999}, 0},
		{"drop of exactly 10 ms is", []time.Duration{0, time.Second}, []uint32{50_000, 40_000}, 10_000},
		{"zero means no sample", []time.Duration{0, time.Second}, []uint32{50_000, 0}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLEDBAT(t0, LEDBATConfig{MSS: mss})
			l.OnAck(Ack{Now: t0, Delay: 1000, HasDelay: true})
			for i, s := range tt.samples {
				l.OnPeerDelay(t0.Add(tt.at[i]), s)
			}
			base, _ := l.ours.baseDelay()
			if got := base - 1000; got != tt.wantShift {
				t.Errorf("shift = %d, want %d", got, tt.wantShift)
			}
		})
	}
}
