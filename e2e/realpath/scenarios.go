//go:build linux

package realpath

import "time"

// The paths of issues 14 and 17.
var (
	// Background is issue 14's path: a 10 Mbit/s bottleneck with a deep
	// 400 ms buffer (a home uplink) and 40 ms of base RTT.
	Background = Config{Rate: 10e6, Buffer: 400 * time.Millisecond, RTT: 40 * time.Millisecond}
	// LongFat is a broadband path to a distant peer: 100 Mbit/s, 100 ms
	// of RTT, and a 200 ms buffer, shorter than twice LEDBAT's target.
	LongFat = Config{Rate: 100e6, Buffer: 200 * time.Millisecond, RTT: 100 * time.Millisecond}
	// Gigabit is 1 Gbit/s with 20 ms of RTT and a buffer of two
	// bandwidth-delay products.
	Gigabit = Config{Rate: 1e9, Buffer: 40 * time.Millisecond, RTT: 20 * time.Millisecond}
)

// A Window is a span of a run, [From, To).
type Window struct{ From, To time.Duration }

// OneFlow is one flow alone: its goodput and the queueing delay it
// causes, measured over w.
type OneFlow struct {
	Trace              *Trace
	Rate               float64 // bits per second
	QueueP50, QueueP95 time.Duration
}

// RunOneFlow runs tr alone on p for w.To and measures over w.
func (p *Path) RunOneFlow(tr Transport, w Window) (OneFlow, error) {
	t, err := p.Run(w.To, FlowSpec{Transport: tr})
	if err != nil {
		return OneFlow{}, err
	}
	q := t.QueueDelays(w.From, w.To)
	return OneFlow{Trace: t, Rate: t.Rate(0, w.From, w.To), QueueP50: Quantile(q, 0.5), QueueP95: Quantile(q, 0.95)}, nil
}

// Pair is two flows, the second joining later: their shares and Jain's
// index over a window, and the queueing delay while both run.
type Pair struct {
	Trace    *Trace
	Shares   [2]float64
	Jain     float64
	QueueP50 time.Duration
	QueueP95 time.Duration
}

// RunPair runs first from the start and second from join, until w.To;
// shares and Jain's index are over w, the queue from join+2 s (the
// second flow's start-up) to the end.
func (p *Path) RunPair(first, second Transport, join time.Duration, w Window) (Pair, error) {
	t, err := p.Run(w.To, FlowSpec{Transport: first}, FlowSpec{Transport: second, Start: join})
	if err != nil {
		return Pair{}, err
	}
	s := t.Shares(w.From, w.To)
	q := t.QueueDelays(join+2*time.Second, w.To)
	return Pair{Trace: t, Shares: [2]float64{s[0], s[1]}, Jain: t.Jain(w.From, w.To),
		QueueP50: Quantile(q, 0.5), QueueP95: Quantile(q, 0.95)}, nil
}
