//go:build linux

package realpath

import (
	"slices"
	"time"
)

// bytesAt is what flow i had received at the last sample at or before t.
func (tr *Trace) bytesAt(i int, t time.Duration) int64 {
	var b int64
	for _, pt := range tr.Flows[i].Points {
		if pt.At > t {
			break
		}
		b = pt.Bytes
	}
	return b
}

// Rate is flow i's goodput in bits per second over [from, to).
func (tr *Trace) Rate(i int, from, to time.Duration) float64 {
	return float64(tr.bytesAt(i, to)-tr.bytesAt(i, from)) * 8 / (to - from).Seconds()
}

// Shares are each flow's part of the bytes all flows received over
// [from, to).
func (tr *Trace) Shares(from, to time.Duration) []float64 {
	s := make([]float64, len(tr.Flows))
	var sum float64
	for i := range tr.Flows {
		s[i] = tr.Rate(i, from, to)
		sum += s[i]
	}
	for i := range s {
		if sum > 0 {
			s[i] /= sum
		}
	}
	return s
}

// Jain is Jain's fairness index of the flows' rates over [from, to):
// 1 when all are equal, 1/n when one takes everything.
func (tr *Trace) Jain(from, to time.Duration) float64 {
	var sum, sq float64
	for i := range tr.Flows {
		r := tr.Rate(i, from, to)
		sum += r
		sq += r * r
	}
	if sq == 0 {
		return 0
	}
	return sum * sum / (float64(len(tr.Flows)) * sq)
}

// QueueDelays are the queueing delays the probes sent in [from, to)
// measured, sorted: each one's round trip less the base RTT.
func (tr *Trace) QueueDelays(from, to time.Duration) []time.Duration {
	var q []time.Duration
	for _, s := range tr.Probes {
		if s.At >= from && s.At < to {
			q = append(q, s.RTT-tr.BaseRTT)
		}
	}
	slices.Sort(q)
	return q
}

// Quantile is the q-quantile (0 to 1) of sorted values, 0 when empty.
func Quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}
