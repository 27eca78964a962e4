package cc

import (
	"testing"
	"time"
)

// ackRate reads the largest rate over intervals of a quarter RTT: a burst
// at 10 MB/s followed by silence reads 10 MB/s, not the average.
func TestAckRateTakesBusiestQuarterRTT(t *testing.T) {
	var r ackRate
	const rtt = 100 * time.Millisecond
	now := t0
	for range 2 {
		// Half a round trip of ACKs at 10 MB/s (1,000 bytes every 100 µs),
		// then half of silence.
		for range 500 {
			r.add(now, 1000, rtt)
			now = now.Add(100 * time.Microsecond)
		}
		now = now.Add(rtt / 2)
	}
	if r.max < 9.5e6 || r.max > 10.5e6 {
		t.Errorf("rate %.3g bytes/s, want the burst's 1e7", r.max)
	}
	var none ackRate
	none.add(t0, 1000, 0)
	none.add(t0.Add(rtt), 1000, 0)
	if none.max != 0 {
		t.Errorf("rate %.3g without an RTT, want 0", none.max)
	}
}

// pacedPath is a bottleneck of rate bytes/s with an unbounded queue and
// owd of delay each way, fed by a sender that paces as the connection
// does (proto's pacing.go): at twice the window per RTT in slow start
// until the delay reaches queueShows, so that each round's packets go out
// in part of the round trip, at 1.25 times after; in 1 ms steps.
type pacedPath struct {
	rate       float64
	owd        time.Duration
	queueShows time.Duration
	sent       []float64       // bytes sent in each step
	out        []float64       // bytes leaving the bottleneck in each step
	delay      []time.Duration // the queuing delay those bytes met
	queue      float64
	flight     float64
	pending    float64 // acknowledged bytes not yet reported (whole bytes only)
}

const pacedStep = time.Millisecond

// step advances one step: bytes sent owd ago join the queue, the link
// drains, the ACK for what left owd ago reaches l, and l's window and
// pacing rate decide what is sent now. It returns the queuing delay now.
func (p *pacedPath) step(l Controller, now time.Time) time.Duration {
	lag := int(p.owd / pacedStep)
	n := len(p.sent)
	if n >= lag {
		p.queue += p.sent[n-lag]
	}
	qd := time.Duration(p.queue / p.rate * float64(time.Second))
	drained := min(p.queue, p.rate*pacedStep.Seconds())
	p.queue -= drained
	p.out, p.delay = append(p.out, drained), append(p.delay, qd)
	if m := len(p.out); m > lag {
		p.pending += p.out[m-1-lag]
		acked := int(p.pending)
		p.pending -= float64(acked)
		back := p.delay[m-1-lag]
		l.OnAck(Ack{Now: now, AckedBytes: acked, FlightBefore: int(p.flight), HasDelay: true,
			Delay: clockOffset + uint32((p.owd + back).Microseconds()), RTT: 2*p.owd + back})
		p.flight -= float64(acked)
	}
	gain := 1.25
	if l.InSlowStart() && l.QueuingDelay() < p.queueShows {
		gain = 2
	}
	send := min(float64(l.Window())-p.flight, gain*float64(l.Window())/(2*p.owd+qd).Seconds()*pacedStep.Seconds())
	send = max(0, send)
	p.flight += send
	p.sent = append(p.sent, send)
	return qd
}

// ppSlowStartPeak runs LEDBATPP's initial slow start over a pacedPath and
// returns the largest queuing delay and the window slow start ended at.
func ppSlowStartPeak(t *testing.T, rate float64, owd, queueShows time.Duration) (time.Duration, int) {
	p := &pacedPath{rate: rate, owd: owd, queueShows: queueShows}
	l := NewLEDBATPP(t0, LEDBATPPConfig{MSS: 1400, NoSlowdowns: true})
	now := t0
	var peak time.Duration
	exitWindow, after := 0, time.Duration(0)
	for elapsed := time.Duration(0); elapsed < 30*time.Second && after < 4*owd; elapsed += pacedStep {
		peak = max(peak, p.step(l, now))
		now = now.Add(pacedStep)
		if !l.InSlowStart() {
			if exitWindow == 0 {
				exitWindow = l.Window()
			}
			after += pacedStep
		}
	}
	if exitWindow == 0 {
		t.Fatalf("%.3g bytes/s, %v each way: slow start did not end", rate, owd)
	}
	return peak, exitWindow
}

// Draft section 4.5 aims to end slow start before the queue passes the
// target; the delay that ends it comes back a round trip late. With the
// window checked against the path's delivery rate (pathFilled), slow
// start ends with a window that holds the path and at most the target's
// worth of queue (with the delay alone, 1.4 to 2.4 times the path on
// these paths), and not before the window holds the path.
func TestLEDBATPPSlowStartEndsWhenThePathIsFull(t *testing.T) {
	for _, p := range []struct {
		rate float64
		owd  time.Duration
	}{
		{12.5e6, 50 * time.Millisecond},  // 100 Mbit/s, 100 ms
		{125e6, 100 * time.Millisecond},  // 1 Gbit/s, 200 ms
		{1.25e6, 20 * time.Millisecond},  // RFC 6817's reference, 10 Mbit/s, 40 ms
		{12.5e6, 100 * time.Millisecond}, // 100 Mbit/s, 200 ms
	} {
		// Paced at twice the window per RTT throughout slow start.
		peak, exit := ppSlowStartPeak(t, p.rate, p.owd, time.Hour)
		bdp := p.rate * (2 * p.owd).Seconds()
		t.Logf("%.3g bytes/s, %v each way: peak queue %v, slow start ended at %d bytes (BDP %.0f)", p.rate, p.owd, peak, exit, bdp)
		if standing := time.Duration((float64(exit) - bdp) / p.rate * float64(time.Second)); standing > DefaultPPTarget {
			t.Errorf("%.3g bytes/s, %v each way: slow start ended at %d bytes, %v of queue once in flight, want at most the target %v",
				p.rate, p.owd, exit, standing, DefaultPPTarget)
		}
		if float64(exit) < bdp {
			t.Errorf("%.3g bytes/s, %v each way: slow start ended at %d bytes, under the BDP %.0f", p.rate, p.owd, exit, bdp)
		}
		// Paced as the connection paces (proto's pacingQueueShows): the
		// bursts of twice the window's rate end once the queue shows, and
		// the queue never passes the target.
		peak, _ = ppSlowStartPeak(t, p.rate, p.owd, 4*time.Millisecond)
		t.Logf("%.3g bytes/s, %v each way, pacing lowered at 4 ms of queue: peak queue %v", p.rate, p.owd, peak)
		if peak > DefaultPPTarget {
			t.Errorf("%.3g bytes/s, %v each way: queue peaked at %v, want at most the target %v", p.rate, p.owd, peak, DefaultPPTarget)
		}
	}
}

// slowStartTo returns a LEDBATPP in slow start on a path of the given
// RTT, grown with no queue to at least packets full packets.
func slowStartTo(t *testing.T, rtt time.Duration, packets int) *ppHarness {
	h := newPPHarness(t, LEDBATPPConfig{}, rtt)
	h.settle(0)
	for h.l.Window() < packets*mss {
		h.round(0)
	}
	return h
}

// pathFilled needs a queue: ACKs at a rate the window already exceeds
// do not hold slow start's growth while the delay shows no queue (the
// sender may not have filled the path, and then its ACKs say nothing of
// its rate), nor while the window is under SegmentPackets full packets.
// With a queue, the cap holds the window, and slow start ends once it
// has held it for capRounds windows of ACKs.
func TestLEDBATPPRateCapNeedsAQueue(t *testing.T) {
	const rtt = 100 * time.Millisecond
	small := slowStartTo(t, rtt, 4)
	w := small.l.Window()
	for range 10 {
		small.ack(mss/100, small.l.Window(), 10*time.Millisecond)
		small.now = small.now.Add(rtt / 40)
	}
	if !small.l.InSlowStart() || small.l.Window() <= w {
		t.Fatalf("window of 4 packets, 10 ms of queue: slow start %v, window %d -> %d; want it growing", small.l.InSlowStart(), w, small.l.Window())
	}

	h := slowStartTo(t, rtt, 100)
	// ACKs at a tenth of the window's rate, no queue: growth goes on.
	w = h.l.Window()
	for range 10 {
		h.ack(mss/10, h.l.Window(), 5*time.Millisecond)
		h.now = h.now.Add(rtt / 40)
	}
	if !h.l.InSlowStart() || h.l.Window() <= w {
		t.Fatalf("5 ms of queue: slow start %v, window %d -> %d; want it growing", h.l.InSlowStart(), w, h.l.Window())
	}
	// The same with 10 ms of queue: the cap holds the window, and after
	// capRounds windows of ACKs slow start ends.
	w = h.l.Window()
	for i := 0; h.l.InSlowStart(); i++ {
		if i > 20*w/mss {
			t.Fatalf("slow start goes on at %d bytes, 10 ms of queue, ACKs at %.3g bytes/s", h.l.Window(), h.l.acks.max)
		}
		h.ack(mss/2, h.l.Window(), 10*time.Millisecond)
		h.now = h.now.Add(rtt / 40)
		if h.l.Window() > w+mss {
			t.Fatalf("10 ms of queue, rate cap under the window: window %d -> %d, want it held", w, h.l.Window())
		}
	}
}

// The rate cap rises with the delivery rate, and slow start goes on while
// it rises by a quarter a round: a latecomer's ACKs come at its share,
// which grows as the flows before it give way.
func TestLEDBATPPRateCapFollowsTheRate(t *testing.T) {
	const rtt = 100 * time.Millisecond
	h := slowStartTo(t, rtt, 100)
	// Ten rounds with a queue whose ACKs come 30% faster each, from 30%
	// over the fastest so far.
	h.ack(mss, h.l.Window(), 10*time.Millisecond) // the queue shows
	rate := 1.3 * h.l.acks.max
	start := h.l.Window()
	for range 10 {
		per := rate * (rtt / 40).Seconds()
		for range 40 {
			h.ack(int(per), h.l.Window(), 10*time.Millisecond)
			h.now = h.now.Add(rtt / 40)
		}
		if !h.l.InSlowStart() {
			t.Fatalf("slow start ended at %d bytes while the rate rose 30%% a round", h.l.Window())
		}
		rate *= 1.3
	}
	if h.l.Window() <= start {
		t.Errorf("window %d -> %d over ten rounds of rising rate, want it grown", start, h.l.Window())
	}
}
