package proto

import (
	"testing"
	"time"
)

// One LEDBAT++ flow on 100 Mbit/s × 200 ms (issue 14): from one periodic
// slowdown to the next, the flow uses at least 95% of the link. The
// draft's slowdowns cost at most a tenth (the pause after one is nine
// times its length), and this is the path where they cost the most with
// the draft's ramp: from two packets back to a window of 1,800 takes ten
// round trips of 200 ms, the link mostly idle, and the flow used 90.1%
// over a cycle. On a path whose base RTT is the target or more the
// window comes back at once once the freeze has read the empty queue
// (cc's refillAfterFreeze), and the link idles only from the old
// flight's end until the refilled window arrives, while the schedule
// stays the draft's.
//
// TestLEDBATPPOneFlow measures a fixed 20–60 s, a span of about one and
// a half of this path's cycles, so its figure here depends on where the
// slowdowns fall: one in the span or two. The use over a whole cycle
// does not. The figures are in docs/performance.md.
func TestLEDBATPPSlowdownCycleUse(t *testing.T) {
	skipIfShort(t)
	path := fairPath{100, 200 * time.Millisecond, 400 * time.Millisecond}
	fwd, back := path.link()
	p := newPair(t, pairSpec{seed: 21, link: fwd, back: &back, aToB: 1 << 40})
	starts, reads := slowdownStarts(p, 3, 90*time.Second)
	if len(starts) < 3 {
		t.Fatalf("seed 21: %d slowdowns in 90 s (at %v), want 3", len(starts), starts)
	}
	// The second and third: the first is the initial slowdown, whose
	// cycle begins with the connection's slow start.
	span := starts[2] - starts[1]
	use := float64((reads[2]-reads[1])*8) / (float64(fwd.Rate) * span.Seconds())
	t.Logf("seed 21: slowdowns at %v; cycle %v, use %.3f", starts, span, use)
	if use < 0.95 {
		t.Errorf("seed 21: use %.3f over the cycle of %v, want at least 0.95", use, span)
	}
}

// slowdownStarts runs p until n slowdowns of the sender have begun, or
// until limit, and returns when each began (as offsets from the start)
// with the bytes the receiver had read then. The window is sampled every
// 10 ms of virtual time, a twentieth of a slowdown on 200 ms paths: a
// slowdown is a fall of the window to under an eighth of the sample
// before (a loss or the delay's decrease takes at most half).
func slowdownStarts(p *pair, n int, limit time.Duration) ([]time.Duration, []uint64) {
	const every = 10 * time.Millisecond
	start := p.sim.Start()
	var starts []time.Duration
	var reads []uint64
	last := 0
	var sample func()
	sample = func() {
		now := p.sim.Now()
		w := p.a.conn.ctrl.Window()
		if last > 0 && w < last/8 {
			var read uint64
			if b := p.b.host.conns[p.a.recvID+1]; b != nil {
				read = b.readCount
			}
			starts, reads = append(starts, now.Sub(start)), append(reads, read)
		}
		last = w
		if len(starts) < n {
			p.sim.Schedule(now.Add(every), sample)
		}
	}
	p.sim.Schedule(start.Add(every), sample)
	for at := every; len(starts) < n && at <= limit; at += time.Second {
		p.sim.RunUntil(start.Add(at))
	}
	return starts, reads
}
