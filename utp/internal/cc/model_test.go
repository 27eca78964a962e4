package cc

import (
	"testing"
	"time"
)

// bottleneck is a fluid model of one path with a single bottleneck link of
// rate bytes/s, a base one-way delay owd in each direction and an unbounded
// drop-tail queue, driven by a window-limited bulk sender: the sender keeps
// cwnd bytes in flight, and whatever exceeds the bandwidth-delay product
// waits in the queue. It is a sanity check of the controller's loop, not a
// packet-level simulation.
type bottleneck struct {
	rate    float64       // bytes per second
	owd     time.Duration // base one-way delay, each direction
	step    time.Duration // model time step, one ACK per step
	history []float64     // window at each past step, for feedback lag
}

// bdp is the bandwidth-delay product at the base RTT, in bytes.
func (b *bottleneck) bdp() float64 {
	return b.rate * (2 * b.owd).Seconds()
}

// windowAt returns the window the sender had lag ago.
func (b *bottleneck) windowAt(lag time.Duration) float64 {
	i := len(b.history) - 1 - int(lag/b.step)
	return b.history[max(i, 0)]
}

// observe returns what the ACK arriving now reports. The packets it
// acknowledges left the bottleneck one owd ago, behind a queue built by the
// window the sender had one owd before that.
func (b *bottleneck) observe() (queue time.Duration, deliveredBytes float64) {
	w := b.windowAt(2 * b.owd)
	qBytes := max(0, w-b.bdp())
	rate := b.rate
	if qBytes == 0 {
		rate = w / (2 * b.owd).Seconds() // the link is not saturated
	}
	return time.Duration(qBytes / b.rate * float64(time.Second)), rate * b.step.Seconds()
}

func TestClosedLoopSettlesAtTarget(t *testing.T) {
	const (
		total  = 60 * time.Second
		steady = 20 * time.Second // the last part, judged for steady state
	)
	for _, p := range []struct {
		name  string
		rate  float64
		owd   time.Duration
		noRTT bool // withhold the RTT: RFC 6817's decrease only
	}{
		{"10Mbit/s 50ms", 1.25e6, 25 * time.Millisecond, false},
		{"2Mbit/s 20ms", 0.25e6, 10 * time.Millisecond, false},
		{"50Mbit/s 100ms", 6.25e6, 50 * time.Millisecond, false},
		{"10Mbit/s 50ms RTT unknown", 1.25e6, 25 * time.Millisecond, true},
	} {
		t.Run(p.name, func(t *testing.T) {
			b := &bottleneck{rate: p.rate, owd: p.owd, step: time.Millisecond}
			l := NewLEDBAT(t0, LEDBATConfig{MSS: 1400})
			now, credit := t0, 0.0
			var delivered float64
			minQ, maxQ := time.Hour, time.Duration(0)
			var peakQ, settledAt time.Duration
			for elapsed := time.Duration(0); elapsed < total; elapsed += b.step {
				b.history = append(b.history, float64(l.Window()))
				q, bytes := b.observe()
				credit += bytes
				acked := int(credit)
				credit -= float64(acked)
				rtt := 2*b.owd + q
				if p.noRTT {
					rtt = 0
				}
				l.OnAck(Ack{
					Now:          now,
					AckedBytes:   acked,
					FlightBefore: l.Window(),
					Delay:        clockOffset + uint32(b.owd.Microseconds()) + uint32(q.Microseconds()),
					HasDelay:     true,
					RTT:          rtt,
				})
				now = now.Add(b.step)
				peakQ = max(peakQ, q)
				if q < 90*time.Millisecond || q > 110*time.Millisecond {
					settledAt = elapsed
				}
				if elapsed >= total-steady {
					delivered += bytes
					minQ, maxQ = min(minQ, q), max(maxQ, q)
				}
			}
			util := delivered / (b.rate * steady.Seconds())
			t.Logf("peak queuing delay %v, within 100ms±10%% from %v; last %v: %v..%v, utilisation %.3f, window %d bytes",
				peakQ, settledAt, steady, minQ, maxQ, util, l.Window())
			if minQ < 90*time.Millisecond || maxQ > 110*time.Millisecond {
				t.Errorf("queuing delay ranged %v..%v, want within 100ms ± 10%%", minQ, maxQ)
			}
			if util < 0.98 {
				t.Errorf("link utilisation %.3f, want >= 0.98", util)
			}
		})
	}
}
