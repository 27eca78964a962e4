package cc

import "time"

// maxDriftShift bounds one clock-drift correction, in microseconds. A
// larger drop in the peer's base delay is a route change or a drained
// reverse-path queue, not drift, and is ignored. libutp: "never adjust more
// than 10 milliseconds".
const maxDriftShift = 10_000

// OnPeerDelay records sample, the one-way delay in microseconds we measured
// of a packet from the peer (what we send back as timestamp_difference),
// and uses it to compensate for clock drift. A zero sample means "none"
// (BEP 29) and is ignored.
//
// Why: both delay directions carry the same clock offset with opposite
// signs. If the peer's clock gains on ours, the delays the peer reports
// for our packets grow steadily, the stale base delay lags behind, and the
// queuing-delay estimate creeps up by the drift until the minimum from up
// to ten minutes ago expires; LEDBAT would then throttle itself for no
// reason (RFC 6817 Appendix A.2, clock skew). The same drift makes the
// delays we measure of the peer's packets shrink, so their base drops. When
// it drops by d, we raise our base by d. This is libutp's
// their_hist/our_hist.shift handling, including its 10 ms bound.
//
// The opposite drift (our delays shrinking) needs no correction: a lower
// sample lowers the base at once.
func (l *LEDBAT) OnPeerDelay(now time.Time, sample uint32) {
	if followDrift(&l.ours, &l.theirs, now, sample) {
		l.refreshQueuingDelay()
	}
}

// followDrift records sample in theirs and, when it lowers their base
// delay by at most maxDriftShift, raises ours by as much. It reports
// whether ours moved. LEDBAT, LEDBATPP and RLEDBAT share it.
//
// Of theirs only the base delay is ever read, so a sample that would
// change no bucket (theirs.keeps) is not added: most do not, and adding
// each was most of this function's time, once per packet received.
func followDrift(ours, theirs *delayHist, now time.Time, sample uint32) bool {
	if sample == 0 || theirs.keeps(now, sample) {
		return false
	}
	prev, had := theirs.baseDelay()
	theirs.add(now, sample)
	cur, _ := theirs.baseDelay()
	if !had || !wrapLess(cur, prev) {
		return false
	}
	if drop := prev - cur; drop <= maxDriftShift {
		ours.shift(drop)
		return true
	}
	return false
}
