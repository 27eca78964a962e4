package cc

import "time"

// ackRateSlices is how many intervals a round trip is cut into when the
// rate of acknowledgement is sampled (ackRate.add).
const ackRateSlices = 4

// ackRate is the largest rate at which bytes were acknowledged over an
// interval of a quarter of the RTT, the path's delivery rate as slow start
// sees it (BBR's startup measures the bottleneck the same way, with a max
// filter over delivery-rate samples; draft-cardwell-iccrg-bbr-congestion-
// control section 4.5.2).
//
// Why the largest of short intervals: a slow start paced at twice the
// window's rate sends each round's packets in part of the RTT and is
// silent in the rest, so its ACKs come at the bottleneck's rate while the
// bottleneck is busy and not at all while it is idle. An interval of a
// quarter of the RTT inside the busy part reads the bottleneck's rate as
// soon as a burst exceeds it, which happens while the window is still
// about half the bandwidth-delay product; before that it reads the burst's
// rate, twice the window per RTT, which no exit rule mistakes for a full
// path. ACKs that come bunched (a receiver or a return path that batches
// them) read high, which only delays the exit.
type ackRate struct {
	start time.Time // zero: no interval open
	bytes float64   // acknowledged since start
	max   float64   // bytes per second, 0 until an interval closes
}

// add counts bytes acknowledged at now. The ACK that opens an interval
// only starts its clock: its bytes were sent for before it.
func (r *ackRate) add(now time.Time, bytes int, rtt time.Duration) {
	if rtt <= 0 {
		return
	}
	if r.start.IsZero() || now.Before(r.start) {
		r.start, r.bytes = now, 0
		return
	}
	r.bytes += float64(bytes)
	if d := now.Sub(r.start); d >= rtt/ackRateSlices {
		r.max = max(r.max, r.bytes/d.Seconds())
		r.start, r.bytes = now, 0
	}
}
