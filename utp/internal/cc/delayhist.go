package cc

import "time"

const (
	// baseHistory is the number of one-minute buckets whose minimum is the
	// base delay. RFC 6817 2.5: BASE_HISTORY SHOULD be 10 (libutp:
	// DELAY_BASE_HISTORY = 10).
	baseHistory = 10
	// bucketLength is the period each base-delay minimum covers. RFC 6817
	// 2.4.2, update_base_delay: "Each minimum is measured over a period of
	// a minute."
	bucketLength = time.Minute
	// filterSize is the number of most recent samples whose minimum is the
	// current delay. RFC 6817 2.4.2 leaves FILTER() open and 2.5 asks for
	// few, recent samples; libutp: CUR_DELAY_SIZE = 3, FILTER = MIN.
	filterSize = 3
)

// wrapLess reports whether a comes before b on the 32-bit circle of
// microsecond delay samples. Delay samples carry the offset between two
// unsynchronised clocks, so they can sit anywhere in the uint32 range and
// drift across 0; comparing the signed difference is right as long as the
// values compared are within 2^31 µs (about 35 minutes) of each other.
// libutp: wrapping_compare_less.
func wrapLess(a, b uint32) bool {
	return int32(a-b) < 0
}

// wrapMin returns the earlier of a and b under wrapLess.
func wrapMin(a, b uint32) uint32 {
	if wrapLess(b, a) {
		return b
	}
	return a
}

// delayHist tracks one direction's one-way delay samples: the base delay
// (minimum over the last baseHistory minutes) and the current delay
// (minimum over the last filterSize samples). Their difference is the
// queuing delay (RFC 6817 2.4.2).
//
// Samples are stored raw, not relative to the base as libutp does, so that
// shifting the base (clock-drift compensation) takes effect on the queuing
// delay at once.
type delayHist struct {
	// bucketStart is when the current bucket began. Buckets form a grid of
	// whole minutes starting at the time the history was created.
	bucketStart time.Time
	idx         int // current bucket
	buckets     [baseHistory]uint32
	valid       [baseHistory]bool
	base        uint32 // wrapping minimum of the valid buckets
	hasBase     bool

	recent  [filterSize]uint32 // ring of the latest samples
	nRecent int
	next    int // ring position of the next sample
}

// newDelayHist returns an empty history whose first bucket starts at now.
func newDelayHist(now time.Time) delayHist {
	return delayHist{bucketStart: now}
}

// add records one delay sample taken at now.
func (h *delayHist) add(now time.Time, sample uint32) {
	h.roll(now)
	h.addToBase(sample)
	h.recent[h.next] = sample
	h.next = (h.next + 1) % filterSize
	if h.nRecent < filterSize {
		h.nRecent++
	}
}

// roll starts a new bucket for every whole minute elapsed since the current
// one began, forgetting the oldest minima (RFC 6817 2.4.2,
// update_base_delay). Unlike the RFC's pseudocode and libutp, which roll
// once per sample, an idle gap of n minutes rolls n buckets, so a minimum
// expires BASE_HISTORY minutes after it was measured even if no samples
// arrived in between. A clock that goes backwards rolls nothing.
func (h *delayHist) roll(now time.Time) {
	elapsed := now.Sub(h.bucketStart)
	if elapsed < bucketLength {
		return
	}
	n := int64(elapsed / bucketLength)
	h.bucketStart = h.bucketStart.Add(time.Duration(n) * bucketLength)
	for range min(n, baseHistory) {
		h.idx = (h.idx + 1) % baseHistory
		h.valid[h.idx] = false
	}
	h.recomputeBase()
}

// keeps reports whether adding sample at now would leave every bucket and
// the base delay as they are: now is within the current bucket, which
// already holds sample or less, and so does the base. Only the recent
// samples (the current delay) would change.
func (h *delayHist) keeps(now time.Time, sample uint32) bool {
	return h.valid[h.idx] && !wrapLess(sample, h.buckets[h.idx]) && !wrapLess(sample, h.base) &&
		now.Sub(h.bucketStart) < bucketLength
}

// addToBase folds sample into the current bucket and the base. A sample
// below the base lowers it at once (RFC 6817 2.4.2; libutp add_sample).
func (h *delayHist) addToBase(sample uint32) {
	if h.valid[h.idx] {
		h.buckets[h.idx] = wrapMin(h.buckets[h.idx], sample)
	} else {
		h.buckets[h.idx] = sample
		h.valid[h.idx] = true
	}
	if h.hasBase {
		h.base = wrapMin(h.base, sample)
	} else {
		h.base = sample
		h.hasBase = true
	}
}

// recomputeBase sets the base to the minimum of the valid buckets.
func (h *delayHist) recomputeBase() {
	h.hasBase = false
	for i, ok := range h.valid {
		if !ok {
			continue
		}
		if h.hasBase {
			h.base = wrapMin(h.base, h.buckets[i])
		} else {
			h.base = h.buckets[i]
			h.hasBase = true
		}
	}
}

// baseDelay returns the base delay, or false before the first sample.
func (h *delayHist) baseDelay() (uint32, bool) {
	return h.base, h.hasBase
}

// currentDelay returns FILTER() of the recent samples, the minimum (RFC
// 6817 2.4.2; libutp DelayHist::get_value), or false without samples.
func (h *delayHist) currentDelay() (uint32, bool) {
	if h.nRecent == 0 {
		return 0, false
	}
	cur := h.recent[0]
	for _, s := range h.recent[1:h.nRecent] {
		cur = wrapMin(cur, s)
	}
	return cur, true
}

// queuingDelay returns current − base in microseconds, or false without
// samples. It is never negative: after a base shift, or when the recent
// samples predate a bucket that has since been forgotten, the current delay
// can fall below the base, which means "no queue" (libutp treats the
// wrapped negative difference the same way).
func (h *delayHist) queuingDelay() (uint32, bool) {
	cur, ok := h.currentDelay()
	if !ok || !h.hasBase {
		return 0, false
	}
	d := cur - h.base
	if int32(d) < 0 {
		return 0, true
	}
	return d, true
}

// shift raises the base and every bucket by d microseconds. It is used to
// follow clock drift (see drift.go); libutp: DelayHist::shift.
func (h *delayHist) shift(d uint32) {
	for i := range h.buckets {
		if h.valid[i] {
			h.buckets[i] += d
		}
	}
	h.base += d
}
