package cc

import (
	"math"
	"time"
)

// Defaults and constants of LEDBAT++ (draft-irtf-iccrg-ledbat-plus-plus,
// "the draft" below). Section numbers are those of revision 06.
const (
	// DefaultPPTarget is the draft's target queuing delay (section 4.2:
	// 60 ms, lower than RFC 6817's 100 ms so that a LEDBAT++ flow's queue
	// stays out of the way of interactive traffic and leaves a latecomer
	// room to see a changed delay).
	DefaultPPTarget = 60 * time.Millisecond
	// DefaultPPMinWindow is the window floor in packets: RFC 6817 2.5's
	// MIN_CWND, which the draft keeps; it is also the window of a
	// slowdown (section 4.6). A window sent in small packets has a lower
	// floor (smallFloorDiv), which is also its slowdown's on a slow path
	// (slowPathSlowdown).
	DefaultPPMinWindow = 2
	// DefaultPPInitialWindow is the starting window in packets (RFC 6817
	// 2.5 INIT_CWND).
	DefaultPPInitialWindow = 2
	// DefaultLossTolerance is the loss rate, counted in loss detections per
	// packet acknowledged, below which a loss while the delay shows no
	// queue is taken for random loss and does not reduce the window (see
	// LEDBATPP.OnLoss). Above it losses are congestion again, which holds
	// a flow behind a policer (drops, no queue) to the policer's rate.
	DefaultLossTolerance = 0.03
	// maxGainDivisor bounds the draft's F (section 4.3): the additive
	// increase is at least 1/6 packet per RTT.
	//
	// Deviation: the draft bounds F at 16. Between slowdowns only the
	// additive increase evens out the shares of flows that read the same
	// queue, and at 1/12 packet per RTT (F on a 10 ms path) it does not
	// within 20 s of two flows on a 10 ms path (the measurement is in
	// docs/protocol.md, "Congestion control"). The queue one RTT of
	// increase adds stays a sixth of a packet.
	maxGainDivisor = 6
	// ppDecreaseConstant is the draft's C (section 4.4, multiplicative
	// decrease): each RTT the window loses C * W * (delay/target - 1).
	// Deviation: the draft's C is 1. With 2, a flow above its share gives
	// it up faster each time the delay passes the target, and two flows
	// 10 s apart share more evenly with the queue still held at the
	// target (docs/protocol.md).
	ppDecreaseConstant = 2.0
	// ppSlowStartExit is the share of the target at which the modified
	// slow start ends (section 4.5: 3/4 of the target).
	ppSlowStartExitNum, ppSlowStartExitDen = 3, 4
	// slowdownRTTs is how long a slowdown holds the window at two packets,
	// and how long after slow start the initial slowdown begins (section
	// 4.6: two RTTs each).
	slowdownRTTs = 2
	// slowdownPeriod is the pause between slowdowns as a multiple of the
	// last slowdown's duration (section 4.6.2: nine times, so that
	// slowdowns cost at most about 10% of the link).
	slowdownPeriod = 9
	// slowdownKeepNum/Den is the least share of its window a flow ramps
	// back to after a slowdown (startSlowdown). Deviation: the draft
	// ramps back to the whole window.
	slowdownKeepNum, slowdownKeepDen = 1, 2
	// joinKeepNum/Den is the share of its window a flow that joined
	// another's slowdown ramps back to on a path whose base RTT is over
	// the target (rampBackTo): the multiplicative decrease of the AIMD
	// that a joined slowdown and the equal refill after it make there.
	joinKeepNum, joinKeepDen = 1, 4
	// joinAfterDen: at a slow rate or on a path whose base RTT is the
	// target or more, a flow may join another's slowdown once
	// 1/joinAfterDen of the time from the end of its own last slowdown to
	// its next has passed (joinAllowed).
	joinAfterDen = 3
	// joinSteadyNum/Den: a flow joins a slowdown only while its window
	// is at least this share of its largest in the latest two RTTs
	// (othersSlowingDown).
	joinSteadyNum, joinSteadyDen = 19, 20
	// capRounds is how many windows of ACKs the rate cap holds slow
	// start's growth, without rising by a quarter, before slow start ends
	// (rateCapHeld). Two, not BBR's three: the cap already keeps the
	// queue at 3/4 of the target, and the draft's initial slowdown waits
	// for the end of slow start.
	capRounds = 2
	// lossHorizon is the number of packets over which the loss rate is
	// averaged (an exponential average with this time constant).
	lossHorizon = 1000
	// emptyQueueShare: a queuing delay at or below target/emptyQueueShare
	// counts as "no queue" for the loss response.
	emptyQueueShare = 10
	// smallFloorDiv divides the floor of a window sent in small packets
	// (resegment): MinWindow/smallFloorDiv of them, with the defaults
	// half of libutp's smallest packet, 186 bytes, sent as one packet
	// per round trip.
	//
	// Deviation: the draft's floor (RFC 6817's MIN_CWND) is two full
	// packets. Why: a latecomer measures its base delay while the others
	// hold the queue their floors make, and aims its target above it. On
	// a slow path that queue never empties: eight flows' floors of two
	// 373-byte packets hold 6 kB, 48 ms at 1 Mbit/s, more than a 10 ms
	// path's 1.25 kB of BDP, and the last flows kept base delays 8 to
	// 48 ms too high, and the most of the link (docs/protocol.md).
	smallFloorDiv = 4
	// slowPathShareDen: a slowdown holds the floor where two full packets
	// take more than 1/slowPathShareDen of the target to send at the
	// flow's rate (slowPathSlowdown).
	slowPathShareDen = 2
)

// LEDBATPPConfig configures a LEDBATPP controller. Zero (or negative)
// fields take the defaults named in their comments; only MSS is required.
type LEDBATPPConfig struct {
	// MSS is the size of a full packet in bytes (payload plus header).
	// Required: must be > 0.
	MSS int
	// Target is the queuing delay aimed for. Default DefaultPPTarget
	// (60 ms).
	Target time.Duration
	// MinWindow is the window floor in packets. Default
	// DefaultPPMinWindow (2).
	MinWindow int
	// InitialWindow is the starting window in packets. Default
	// DefaultPPInitialWindow (2).
	InitialWindow int
	// MaxWindowBytes is the window ceiling in bytes. Default
	// DefaultMaxWindowBytes (1 GiB), an overflow guard only.
	MaxWindowBytes int
	// LossTolerance is the loss rate up to which losses with no queue are
	// ignored. Default DefaultLossTolerance (0.03); negative: every loss
	// is congestion, as in the draft.
	LossTolerance float64
	// NoSlowdowns turns off the initial and periodic slowdowns (section
	// 4.6), for comparisons only.
	NoSlowdowns bool
	// SegmentPackets is how many packets a small window holds: a window
	// smaller than SegmentPackets Ethernet-sized packets is sent in
	// smaller ones (Segmenter; segment.go), and the floor and the growth
	// cap count in them. The additive increase still counts full packets,
	// so that flows whose packets differ grow alike. Default
	// DefaultSegmentPackets (8); negative: packets are always full.
	SegmentPackets int
}

func (c LEDBATPPConfig) withDefaults() LEDBATPPConfig {
	if c.MSS <= 0 {
		panic("cc: LEDBATPPConfig.MSS must be > 0")
	}
	if c.Target <= 0 {
		c.Target = DefaultPPTarget
	}
	if c.MinWindow <= 0 {
		c.MinWindow = DefaultPPMinWindow
	}
	if c.InitialWindow <= 0 {
		c.InitialWindow = DefaultPPInitialWindow
	}
	if c.MaxWindowBytes <= 0 {
		c.MaxWindowBytes = DefaultMaxWindowBytes
	}
	if c.LossTolerance == 0 {
		c.LossTolerance = DefaultLossTolerance
	}
	if c.SegmentPackets == 0 {
		c.SegmentPackets = DefaultSegmentPackets
	}
	return c
}

// ppPhase is where a LEDBATPP controller is in its cycle.
type ppPhase uint8

const (
	ppSlowStart ppPhase = iota // modified slow start (section 4.5)
	ppAvoid                    // congestion avoidance (sections 4.3, 4.4)
	ppFreeze                   // a slowdown holding two packets (4.6)
	ppRamp                     // slow start back to the window before the slowdown
)

// String names the phase, for test failures and traces.
func (p ppPhase) String() string {
	switch p {
	case ppSlowStart:
		return "slow-start"
	case ppAvoid:
		return "avoid"
	case ppFreeze:
		return "freeze"
	case ppRamp:
		return "ramp"
	}
	return "phase?"
}

// LEDBATPP is LEDBAT++ (draft-irtf-iccrg-ledbat-plus-plus): LEDBAT with a
// 60 ms target, an additive increase scaled down on short paths, a
// multiplicative decrease when the delay is above target, a slow start
// that grows by the same reduced gain and ends at 3/4 of the target, and
// slowdowns that let every flow sharing a bottleneck re-measure the base
// delay. It implements Controller.
//
// It measures the queuing delay one way, as LEDBAT does (the draft uses
// round-trip delay because TCP has no one-way samples; uTP does, and the
// return path's queue then does not count against us). The base RTT the
// gain needs comes from the RTT estimate.
type LEDBATPP struct {
	cfg LEDBATPPConfig
	// mss is the packet size the window counts in now: cfg.MSS, or a
	// smaller one while the window is small (Segment).
	mss     float64
	floor   float64
	ceiling float64
	target  float64 // microseconds
	cwnd    float64 // bytes
	// ssthresh is where slow start ends; in a slowdown, the window the
	// ramp returns to.
	ssthresh float64
	phase    ppPhase
	// heldRamp counts bytes acknowledged in a row while a ramp's growth
	// was held by the flight, not the window (rampHeld).
	heldRamp float64
	// acks is the delivery rate the initial slow start reads
	// (pathFilled).
	acks ackRate
	// capFrom and capHeld: the rate cap (pathFilled) when it last
	// rose by a quarter, and the bytes acknowledged since while it held
	// the growth; capOn: the cap applies (once on, it stays on).
	capFrom, capHeld float64
	capOn            bool

	ours, theirs delayHist
	qd           time.Duration
	hasQD        bool
	rtt          time.Duration // latest smoothed RTT
	minRTT       time.Duration // smallest smoothed RTT less the queuing delay

	nextSlowdown  time.Time // zero: none scheduled
	slowdownStart time.Time
	freezeEnd     time.Time
	slowdownEnd   time.Time     // when the latest ramp after a slowdown ended
	pause         time.Duration // from slowdownEnd to nextSlowdown
	joined        bool          // the latest slowdown joined another flow's
	slowdownLen   time.Duration // from the latest slowdown's start to its ramp's end
	queueHeld     time.Time     // when the delay last showed half the target or more
	// freezeFloor: the latest slowdown holds the floor, not two full
	// packets (slowPathSlowdown).
	freezeFloor bool
	// peaks are the largest queuing delay and window of the latest two
	// RTTs (othersSlowingDown).
	peaks [2]ppPeak

	// emptyFrom is when the delay began to show no queue (queueEmpty),
	// zero while it shows one (emptyQueueGrowth).
	emptyFrom time.Time

	lossRate     float64 // packets lost per packet acknowledged, averaged over lossHorizon
	decreased    bool
	lastDecrease time.Time

	// undo is the state before the latest loss halving, while
	// OnSpuriousLoss may still restore it.
	undo ppUndo
	// rtoUndo holds the state before the first timeout since the latest
	// ACK while OnSpuriousTimeout may still restore it.
	rtoUndo ppTimeoutUndo
}

// ppPeak is the largest queuing delay and window seen in one RTT from
// start, and the least share of the window that was in flight at an ACK.
type ppPeak struct {
	start  time.Time
	qd     time.Duration
	cwnd   float64
	flight float64
}

// ppTimeoutUndo is what OnTimeout changes, kept so that a timeout found
// spurious can be undone (OnSpuriousTimeout).
type ppTimeoutUndo struct {
	ppUndo
	decreased    bool
	lastDecrease time.Time
}

// ppUndo is what OnLoss changes, kept so that a halving found spurious
// can be undone.
type ppUndo struct {
	valid          bool
	cwnd, ssthresh float64
	phase          ppPhase
	nextSlowdown   time.Time
}

var (
	_ Controller    = (*LEDBATPP)(nil)
	_ TimeoutUndoer = (*LEDBATPP)(nil)
	_ Segmenter     = (*LEDBATPP)(nil)
)

// NewLEDBATPP returns a LEDBAT++ controller in slow start. now starts the
// base-delay history. It panics if cfg.MSS <= 0.
func NewLEDBATPP(now time.Time, cfg LEDBATPPConfig) *LEDBATPP {
	cfg = cfg.withDefaults()
	mss := float64(cfg.MSS)
	floor := float64(cfg.MinWindow) * mss
	l := &LEDBATPP{
		cfg: cfg, mss: mss, floor: floor,
		ceiling: max(float64(cfg.MaxWindowBytes), floor),
		target:  float64(cfg.Target.Microseconds()),
		ours:    newDelayHist(now), theirs: newDelayHist(now),
	}
	l.ssthresh = l.ceiling
	l.cwnd = l.clamp(float64(cfg.InitialWindow) * mss)
	l.resegment()
	return l
}

// Segment returns the packet size the window counts in (Segmenter).
func (l *LEDBATPP) Segment() int { return int(l.mss) }

// resegment sizes the packets by the window (segmentFor) and moves the
// floor with them. Why smaller packets: on a slow bottleneck one full
// packet is a large part of the target (11 ms at 1 Mbit/s), and windows
// of a few packets make the queue, and the shares of flows that read it,
// move in steps that large; eight flows' two-packet floors alone would
// hold 180 ms of queue there. The floor of a window sent in small
// packets is a quarter of MinWindow of them (smallFloorDiv): a window
// under one packet sends one packet of the window's size per round
// trip. The initial slow start keeps full packets:
// it passes through small windows within a few RTTs, and sent in small
// packets it cost a fast path with a long RTT part of its use
// (docs/protocol.md).
func (l *LEDBATPP) resegment() {
	l.mss = float64(l.cfg.MSS)
	if l.phase != ppSlowStart {
		l.mss = float64(segmentFor(l.cwnd, l.cfg.MSS, l.cfg.SegmentPackets))
	}
	l.floor = float64(l.cfg.MinWindow) * l.mss
	if l.mss < float64(l.cfg.MSS) {
		l.floor /= smallFloorDiv
	}
	l.ceiling = max(float64(l.cfg.MaxWindowBytes), l.floor)
	l.cwnd = l.clamp(l.cwnd)
}

// Window returns the congestion window in bytes.
func (l *LEDBATPP) Window() int { return int(l.cwnd) }

// QueuingDelay returns the latest queuing-delay estimate.
func (l *LEDBATPP) QueuingDelay() time.Duration { return l.qd }

// InSlowStart reports whether the controller is in its initial slow start
// or ramping back after a slowdown or timeout.
func (l *LEDBATPP) InSlowStart() bool { return l.phase == ppSlowStart || l.phase == ppRamp }

// OnPeerDelay follows clock drift as LEDBAT does (drift.go).
func (l *LEDBATPP) OnPeerDelay(now time.Time, sample uint32) {
	if followDrift(&l.ours, &l.theirs, now, sample) {
		l.refreshQueuingDelay()
	}
}

// gain is the draft's GAIN = 1/F with F = min(16, ceil(2*TARGET/base))
// (section 4.3; the bound here is maxGainDivisor), the base being the
// base RTT: on a path whose RTT is short
// next to the target, the window grows more slowly per RTT, so that the
// growth per unit of time, and the queue it builds between two delay
// readings, does not depend on the RTT. Before any RTT is known, F is
// maxGainDivisor.
//
// Deviation: F is not rounded up to a whole number. Flows sharing a
// bottleneck estimate the same base RTT only to within a millisecond or
// so, and on a path such as RFC 6817's reference (40 ms, so 2*TARGET/base
// is exactly 3) rounding would hand some of them a GAIN of 1/3 and others
// 1/4, and the larger increase keeps the larger share.
func (l *LEDBATPP) gain() float64 {
	base := l.baseRTT()
	if base <= 0 {
		return 1.0 / maxGainDivisor
	}
	f := 2 * l.cfg.Target.Seconds() / base.Seconds()
	return 1 / min(maxGainDivisor, max(1, f))
}

// baseRTT is the sum of the two directions' base one-way delays, ours
// (from the ACKs' timestamp_difference) and the peer's (OnPeerDelay): the
// clock offset, present in both with opposite signs, cancels. Until both
// are known it is the smallest RTT less the queuing delay measured with it.
//
// Why not the smallest RTT alone: a flow that starts while others hold a
// queue never sees an RTT without it, would take a larger GAIN than
// theirs, and would keep a larger share for as long as it runs (eight
// flows 2 s apart on the reference path did; docs/protocol.md).
// The smoothed RTT less the queuing delay is no better a base, since the
// smoothed RTT lags the queue: it gave GAINs from 1/6 to 1/4 to the same
// eight flows.
func (l *LEDBATPP) baseRTT() time.Duration {
	f, ok1 := l.ours.baseDelay()
	b, ok2 := l.theirs.baseDelay()
	if ok1 && ok2 {
		if sum := int32(f + b); sum > 0 {
			return time.Duration(sum) * time.Microsecond
		}
	}
	return l.minRTT
}

// updateBaseRTT keeps the smallest RTT less the queuing delay, the
// fallback base RTT.
func (l *LEDBATPP) updateBaseRTT(rtt time.Duration) {
	if rtt <= 0 {
		return
	}
	if base := rtt - l.qd; base > 0 && (l.minRTT == 0 || base < l.minRTT) {
		l.minRTT = base
	}
}

// OnAck records the ACK's delay sample and moves the window as the phase
// requires. An ACK without a delay sample changes nothing (as LEDBAT).
func (l *LEDBATPP) OnAck(a Ack) {
	l.rtoUndo.valid = false // the ACK judged any timeout before it
	if !a.HasDelay {
		return
	}
	l.ours.add(a.Now, a.Delay)
	if a.RTT > 0 {
		l.rtt = a.RTT
	}
	l.refreshQueuingDelay()
	l.updateBaseRTT(a.RTT)
	l.noteEmptyQueue(a.Now)
	if 2*l.qd >= l.cfg.Target {
		l.queueHeld = a.Now
	}
	if a.AckedBytes <= 0 {
		return
	}
	l.lossRate -= l.lossRate * min(1, float64(a.AckedBytes)/l.mss/lossHorizon)
	acked := min(float64(a.AckedBytes), l.cwnd)
	l.notePeak(a.Now, a.FlightBefore)
	if l.phase == ppAvoid {
		if l.slowdownDue(a.Now) {
			l.startSlowdown(a.Now, l.qd, false)
			l.joined = false
		} else if peak, ok := l.othersSlowingDown(a.Now); ok {
			l.startSlowdown(a.Now, peak, true)
			l.joined = true
		}
	}
	if l.phase == ppFreeze && l.refillAfterFreeze(a.Now) {
		l.refill(a.Now)
	}
	if l.phase == ppFreeze && !a.Now.Before(l.freezeEnd) {
		l.phase = ppRamp
	}
	if l.phase == ppSlowStart {
		l.acks.add(a.Now, a.AckedBytes, l.rtt)
	}
	switch l.phase {
	case ppSlowStart, ppRamp:
		l.slowStartAck(a, acked)
	case ppAvoid:
		l.avoidAck(a, acked)
	case ppFreeze:
		l.cwnd = l.freezeWindow()
	}
	l.resegment()
}

// refreshQueuingDelay recomputes the queuing delay, clamped to the RTT
// (a one-way queue cannot exceed the round trip; libutp does the same).
func (l *LEDBATPP) refreshQueuingDelay() {
	us, ok := l.ours.queuingDelay()
	if !ok {
		return
	}
	l.qd, l.hasQD = time.Duration(us)*time.Microsecond, true
	if l.rtt > 0 && l.qd > l.rtt {
		l.qd = l.rtt
	}
}

// slowStartAck is the draft's modified slow start (section 4.5): the window
// grows by GAIN times the bytes acknowledged, not by all of them, and slow
// start ends once the queuing delay exceeds 3/4 of the target. That delay
// comes back a round trip late, so the initial slow start's growth is
// also capped at what the path delivers (pathFilled), and slow start ends
// too once that cap stops rising (rateCapHeld). The same growth brings
// the window back after a slowdown (section 4.6) or a timeout, up to
// ssthresh.
func (l *LEDBATPP) slowStartAck(a Ack, acked float64) {
	if l.slowStartOver() {
		l.endSlowStart(a.Now)
		return
	}
	next := l.cwnd + l.gain()*acked
	if next >= l.ssthresh {
		next = max(l.ssthresh, l.cwnd)
		l.cwnd = l.clamp(next)
		l.endSlowStart(a.Now)
		return
	}
	if rateCap, ok := l.pathFilled(); ok && next > rateCap {
		if l.rateCapHeld(rateCap, acked) {
			l.endSlowStart(a.Now)
			return
		}
		next = max(l.cwnd, rateCap)
	} else {
		l.capHeld = 0
	}
	limit := max(l.cwnd, float64(a.FlightBefore)+acked)
	if l.rampHeld(next > limit, acked) {
		l.endSlowStart(a.Now)
		return
	}
	l.cwnd = l.clamp(min(next, limit))
}

// rampHeld counts the bytes acknowledged in a row while a ramp's growth
// was held by the flight (held), not by the window, and reports when they
// reach a window: the window no longer limits the flow (the peer's
// advertised window or the application does), and the ramp ends there.
// Why: a slowdown is scheduled only when its ramp ends (draft section
// 4.6.2), so a ramp that could never reach its old window, or a queue
// over the target, would keep the flow out of every later slowdown and
// at its largest share (in a trace of eight flows on 100 Mbit/s × 10 ms,
// the largest flow's ramp, held by its peer's yielding receiver, lasted
// to the end of the run; docs/performance.md).
func (l *LEDBATPP) rampHeld(held bool, acked float64) bool {
	if !held || l.phase != ppRamp {
		l.heldRamp = 0
		return false
	}
	l.heldRamp += acked
	if l.heldRamp < l.cwnd {
		return false
	}
	l.heldRamp = 0
	return true
}

// slowStartOver reports whether the delay ends slow start: beyond 3/4 of
// the target in the initial slow start (section 4.5), beyond the target
// in a ramp after a slowdown or timeout. Why the difference: a flow
// ramping back after its slowdown shares the bottleneck with flows that
// hold the queue near the target; ending its ramp at 3/4 of the target
// would leave it at the two packets of the slowdown, and the others with
// its share (docs/protocol.md has the measurement). The draft ramps back
// to the old window whatever the delay.
func (l *LEDBATPP) slowStartOver() bool {
	if l.phase == ppRamp || l.ssthresh < l.ceiling {
		return l.qd > l.cfg.Target
	}
	return l.qd*ppSlowStartExitDen > l.cfg.Target*ppSlowStartExitNum
}

// pathFilled returns, in the initial slow start, the window that holds
// what the path carries in a base RTT, at the delivery rate the ACKs have
// shown (ackRate), plus 3/4 of the target's worth of queue: once the
// packets in flight reach the bottleneck, the queue is where section 4.5
// ends slow start. slowStartAck grows the window no further than that,
// and ends slow start once the cap has held the growth for a window of
// ACKs without rising by a quarter (rateCapHeld).
//
// Deviation: the draft ends slow start on the delay alone. That delay
// comes back a round trip after the packets that made it, and the
// round trip of growth sent meanwhile lands in the queue after the exit:
// on 100 Mbit/s × 100 ms slow start ended with a window of 3.1 MB,
// against 1.25 MB of path and 1.1 MB of a 90 ms buffer, and lost 505
// packets (docs/protocol.md). The window, unlike the delay, counts those
// packets when they are sent. The cap waits for a queue of a tenth of
// the target: before the path is full the ACKs say nothing of its rate;
// once on it stays on, since the delay estimate dips within a round as
// the paced bursts pass (in the trace of the 90 ms buffer, from 24 to
// 8 ms while the bottleneck's queue grew from 46 to 90 ms). A window under SegmentPackets full packets is left to the delay: a
// round trip of its growth is a few packets, and on 1 Mbit/s × 10 ms,
// where a latecomer's share is such a window, a cap there moved one
// seed's pair from a Jain index of 0.985 to 0.874 (docs/protocol.md).
//
// Why a cap and not an exit: a latecomer's ACKs come at its share of
// the bottleneck, which grows as the flows before it give way; ended at
// the first cap, its slow start left it a small share that the rest of
// the run did not correct (100 Mbit/s × 200 ms, docs/protocol.md). The
// cap rises with the rate, and slow start goes on while it does.
func (l *LEDBATPP) pathFilled() (float64, bool) {
	if l.phase != ppSlowStart || l.ssthresh < l.ceiling {
		return 0, false
	}
	base := l.baseRTT()
	if base <= 0 || l.acks.max <= 0 {
		return 0, false
	}
	if !l.capOn && (l.qd*emptyQueueShare <= l.cfg.Target || l.cwnd < float64(l.cfg.SegmentPackets*l.cfg.MSS)) {
		return 0, false
	}
	l.capOn = true
	exitQueue := l.cfg.Target * ppSlowStartExitNum / ppSlowStartExitDen
	return l.acks.max * (base + exitQueue).Seconds(), true
}

// rateCapHeld counts the bytes acknowledged while the rate cap held the
// growth, from when the cap last rose by a quarter, and reports when they
// reach capRounds windows. BBR's startup ends the same way, once the
// delivery rate has not grown by a quarter in three rounds
// (draft-cardwell-iccrg-bbr-congestion-control, BBRCheckFullBWReached).
func (l *LEDBATPP) rateCapHeld(rateCap, acked float64) bool {
	if l.capHeld == 0 || 4*rateCap >= 5*l.capFrom {
		l.capFrom, l.capHeld = rateCap, 0
	}
	l.capHeld += acked
	return l.capHeld >= capRounds*l.cwnd
}

// endSlowStart leaves slow start or a slowdown's ramp for congestion
// avoidance and schedules the next slowdown: the initial one two RTTs after
// the initial slow start (section 4.6.1), a periodic one nine times the
// last slowdown's duration after it ends (section 4.6.2).
func (l *LEDBATPP) endSlowStart(now time.Time) {
	switch {
	case l.phase == ppRamp:
		l.slowdownLen = now.Sub(l.slowdownStart)
		l.nextSlowdown = now.Add(l.slowdownPause(now))
		l.slowdownEnd = now
	case l.nextSlowdown.IsZero():
		l.scheduleInitialSlowdown(now)
	}
	l.phase = ppAvoid
	l.ssthresh = l.cwnd
}

// slowdownPause is the time from the end of a slowdown's ramp at now to
// the next slowdown: nine times the slowdown's duration (section 4.6.2),
// but after a joined slowdown (othersSlowingDown) at least the pause
// before it. Why: a flow that joins late, or ramps back into a queue
// others still leave empty, has a short slowdown, and nine times that
// brought its next one within a third of the others' pauses, too soon
// for them to join it: a slowdown alone again, whose share went to the
// others (an incumbent that joined a latecomer's initial slowdown, at
// the real bottleneck of e2e/realpath; docs/protocol.md).
//
// Not on a path whose base RTT is over the target (additiveRefill),
// where a flow that joins gives up three quarters of its window
// (rampBackTo) and the flow whose slowdown it joined keeps most of its
// own: there the joiner's next slowdown is nine times its own, shorter,
// slowdown, so that it comes before the other flow's and the two take
// turns at the larger decrease. Keeping the pause before, the incumbent
// of a pair, whose schedule is the later, joined every one of the
// latecomer's slowdowns, and on 10 Mbit/s × 200 ms one seed of ten kept
// 2.8 of the 9.1 Mbit/s the pair had (docs/protocol.md).
func (l *LEDBATPP) slowdownPause(now time.Time) time.Duration {
	p := slowdownPeriod * now.Sub(l.slowdownStart)
	if l.joined && !l.additiveRefill() {
		p = max(p, l.pause)
	}
	l.pause = p
	return p
}

// scheduleInitialSlowdown plans the first slowdown two RTTs from now, or
// at the first ACK that carries an RTT if none is known yet.
func (l *LEDBATPP) scheduleInitialSlowdown(now time.Time) {
	l.nextSlowdown = now.Add(slowdownRTTs * l.rtt)
}

// slowdownDue reports whether a slowdown should begin at now.
func (l *LEDBATPP) slowdownDue(now time.Time) bool {
	return !l.cfg.NoSlowdowns && !l.nextSlowdown.IsZero() && l.rtt > 0 && !now.Before(l.nextSlowdown)
}

// startSlowdown drops the window to two packets for two RTTs (section
// 4.6): with every LEDBAT++ flow on the bottleneck doing this now and
// then, the queue empties, and a flow that arrived while another held
// the queue at the target measures the true base delay instead of
// aiming for a target above the other's queue (the latecomer advantage,
// RFC 6817 4.4). ssthresh remembers the window to ramp back to
// (rampBackTo), taken from the queuing delay qd the window held.
//
// The count of held ACKs (rampHeld) starts again at zero: a ramp that
// ended at ssthresh right after held ACKs left it standing, and at the
// next slowdown it was already a whole two-packet window, so the first
// ACK of the ramp whose flight was a fraction of a packet short of the
// window ended the ramp at two packets (1 Gbit/s × 100 ms, seed 175 of
// the recovery matrix: the window regrew from there at the empty queue's
// bound, and the flow used 0.78 of the link; docs/performance.md).
func (l *LEDBATPP) startSlowdown(now time.Time, qd time.Duration, joined bool) {
	l.heldRamp = 0
	l.ssthresh = l.rampBackTo(qd, joined)
	l.freezeFloor = l.slowPathSlowdown()
	l.slowdownStart = now
	l.freezeEnd = now.Add(slowdownRTTs * l.rtt)
	l.phase = ppFreeze
	l.cwnd = l.freezeWindow()
	l.resegment()
	l.peaks = [2]ppPeak{}
}

// refillAfterFreeze reports whether a slowdown's freeze may end at now
// with its window restored at once (refill) instead of a ramp from two
// packets: the path's base RTT is the target or more, the freeze has
// held for a smoothed RTT (the round that drains the old flight), and
// the delay shows the queue empty (queueEmpty), so the base delay has
// been read on an empty queue, which is what the slowdown is for (draft
// section 4.6). The rule asks nothing of the window's size, so every
// flow on a path refills alike: with a floor of eight packets, flows
// whose windows straddled it (joiners cut to a quarter, eight flows on
// 10 Mbit/s × 200 ms) ramped while the others refilled, and their Jain
// index fell below 0.95 in 4 of 10 seeds (docs/performance.md). For a flow alone that is the ACK of the freeze's own
// packets, the end of the draft's second RTT; where other flows keep
// their queue, the delay does not show it empty, and the freeze and the
// ramp stay the draft's.
//
// Deviation: the draft ramps back from two packets in slow start. On a
// long path that ramp is the slowdown's cost: the window that fills
// 100 Mbit/s × 200 ms takes ten doublings of 200 ms, over which the
// link is mostly idle, and with the pause nine times the slowdown's
// length (section 4.6.2) one flow kept 90.1% of the link over a cycle
// (docs/protocol.md has the measurement). Once the base delay has been
// read there is nothing left for the ramp to measure: the window
// returned to (rampBackTo) fills the path without a queue, and sending
// it at once only refills the path.
func (l *LEDBATPP) refillAfterFreeze(now time.Time) bool {
	base := l.baseRTT()
	return base >= l.cfg.Target && now.Sub(l.slowdownStart) >= l.rtt && l.queueEmpty()
}

// refill ends a freeze at now with the window back at ssthresh
// (refillAfterFreeze). The schedule stays the draft's: the slowdown's
// length runs to where the draft's ramp would have regained ssthresh
// (draftRamp), and the next slowdown is nine times that after it
// (section 4.6.2). The refill itself is over a round trip from now,
// when the refilled window's first ACKs return, and the equal refill of
// an empty queue counts from then (slowdownEnd, emptyQueueGrowth).
//
// Why the draft's schedule: slowdowns nine times the refill's length
// apart came every 6.3 s instead of 26 s on 100 Mbit/s × 200 ms, and
// eight flows 2 s apart there (seed 23), each of whose joined slowdowns
// cuts the joiners to a quarter of their windows (rampBackTo), fell to
// a Jain index of 0.910 and 81% of the link (0.988 and 87% before);
// with the draft's schedule 0.976 and 91% (docs/protocol.md).
func (l *LEDBATPP) refill(now time.Time) {
	ramp := l.draftRamp()
	l.cwnd = l.clamp(max(l.cwnd, l.ssthresh))
	end := now.Add(ramp)
	l.slowdownLen = end.Sub(l.slowdownStart)
	l.nextSlowdown = end.Add(l.slowdownPause(end))
	l.slowdownEnd = now.Add(l.rtt)
	l.phase = ppAvoid
	l.ssthresh = l.cwnd
}

// draftRamp is how long the draft's ramp from the freeze's window to
// ssthresh would take: slow start grows the window by GAIN per byte
// acknowledged, 1 + GAIN per RTT (section 4.5).
func (l *LEDBATPP) draftRamp() time.Duration {
	from := max(l.cwnd, l.mss)
	if l.ssthresh <= from {
		return l.rtt
	}
	rtts := math.Log(l.ssthresh/from) / math.Log1p(l.gain())
	return time.Duration(math.Ceil(rtts)) * l.rtt
}

// notePeak keeps the largest queuing delay and window of the current RTT
// and of the one before it (peaks), and the least share of the window in
// flight at an ACK, for othersSlowingDown.
func (l *LEDBATPP) notePeak(now time.Time, flight int) {
	if l.rtt <= 0 {
		return
	}
	if l.peaks[0].start.IsZero() || now.Sub(l.peaks[0].start) >= l.rtt {
		l.peaks[1], l.peaks[0] = l.peaks[0], ppPeak{start: now, flight: 1}
	}
	l.peaks[0].qd = max(l.peaks[0].qd, l.qd)
	l.peaks[0].cwnd = max(l.peaks[0].cwnd, l.cwnd)
	l.peaks[0].flight = min(l.peaks[0].flight, float64(flight)/l.cwnd)
}

// recentPeak is the largest queuing delay of the latest two RTTs, the
// share of the largest window in them that the window is now, and the
// least share of the window that was in flight at an ACK in them.
func (l *LEDBATPP) recentPeak(now time.Time) (qd time.Duration, kept, flight float64) {
	qd, cwnd, flight := l.peaks[0].qd, l.peaks[0].cwnd, l.peaks[0].flight
	if p := l.peaks[1]; !p.start.IsZero() && now.Sub(p.start) < 3*l.rtt {
		qd, cwnd, flight = max(qd, p.qd), max(cwnd, p.cwnd), min(flight, p.flight)
	}
	if cwnd <= 0 {
		return qd, 0, flight
	}
	return qd, l.cwnd / cwnd, flight
}

// othersSlowingDown reports whether another flow on the bottleneck has
// just begun a slowdown, so that this one should join it, and if so the
// queuing delay the window held before (for rampBackTo): within the
// latest two RTTs the queue held at least half the target, this flow's
// window is within 5% of its largest in them, and the queue has since
// fallen by a third of the target more than that decrease of its own
// explains. A flow that cuts a share s of its window empties at most s
// of a round trip's worth of queue; when every flow cuts at once (the
// queue went over the target) each sees its own window fall, and none
// joins.
//
// Deviation: the draft schedules each flow's slowdowns on its own clock
// (section 4.6). A slowdown alone hands the slowed flow's share to the
// flows that keep sending: they grow into the queue it leaves (growth
// with an empty queue), and it ramps back to a share of its window
// (rampBackTo) into a full path. Shares then follow the phase of the
// flows' schedules, not their demands: a latecomer kept well over half
// of 10 Mbit/s × 40 ms in netsim and at the real kernel bottleneck of
// e2e/realpath (docs/protocol.md). Joined, the slowdowns are common:
// the queue empties, every flow measures its base delay on it, and each
// ramps back to a share of its own window. A join is allowed once this
// flow's own first slowdown is over, and at a slow rate or on a long
// path only once a third of the time from the end of its last slowdown
// to its next has passed (joinAllowed). A queue falling for other
// reasons (a competitor leaving) costs a slowdown, and the next join
// waits for the queue to hold half the target again. A window
// under DefaultSegmentPackets full packets joins only on a slow path
// (slowPathSlowdown), where its slowdown holds the floor: elsewhere a
// slowdown holds two full packets, most of such a window, so another
// flow's slowdown there hardly moves the queue, and the falls such a
// flow sees are its peers' packet sizes and jitter (joining there, with
// slowdowns of two full packets, cost two flows on 1 Mbit/s × 10 ms
// their even shares). On a slow path the joins are what empties the
// queue: eight windows of a few hundred bytes, each slowing down on its
// own clock, left the latest flows' base delays 9 to 18 ms too high on
// 1 Mbit/s × 40 ms (docs/protocol.md).
func (l *LEDBATPP) othersSlowingDown(now time.Time) (time.Duration, bool) {
	if l.cfg.NoSlowdowns || l.rtt <= 0 || !l.hasQD || !l.joinAllowed(now) {
		return 0, false
	}
	if l.cwnd < DefaultSegmentPackets*float64(l.cfg.MSS) && !l.slowPathSlowdown() {
		return 0, false
	}
	peak, kept, flight := l.recentPeak(now)
	if 2*peak < l.cfg.Target || kept*joinSteadyDen < joinSteadyNum {
		return 0, false
	}
	// Alone on the path a window holds base RTT + queue of the link's
	// rate, and cutting a share s of it, or sending s less than it
	// allows (a sender the scheduler held, or one with nothing to send),
	// empties s of that.
	own := time.Duration((1 - max(0, min(kept, flight, 1))) * float64(l.baseRTT()+peak))
	return peak, peak-l.qd >= l.cfg.Target/3+own
}

// joinAllowed reports whether this flow may join another's slowdown
// (othersSlowingDown): once its own first slowdown is over (before it,
// its initial one is at most two RTTs away, section 4.6.1); where its
// rate is slow (slowRate: two full packets take more than half the
// target) or the base RTT is the target or more, only once a third of
// the time from the end of its last slowdown to its next has passed.
//
// Why a flow joins right after its own slowdown elsewhere: the queue
// empties for every flow only if every flow slows down, and a flow
// whose own slowdown was recent kept its window through the others':
// on 100 Mbit/s × 10 ms that window, and the latecomers' base delays
// measured over it, decided the shares (eight flows 2 s apart, seeds
// 20-27, with emptyQueueRoom: Jain indexes 0.901-0.990 with the third,
// 0.949-0.993 without; docs/protocol.md). Why the third at a slow rate:
// a slowdown's queue is a few packets there, the ramp back is long next
// to them, and joining every slowdown cost eight flows on 1 Mbit/s ×
// 200 ms (seed 23) a fifth of the link and a Jain index of 0.83, and two
// flows there (seed 22) 0.897. Why the third on long paths: the last
// RTTs of a ramp send faster than the bottleneck, and a flow alone took
// the fall of the queue they leave for another flow's slowdown and
// joined it after each of its own (one flow on 1 and 10 Mbit/s × 200 ms
// used 78% and 85% of the link), and waiting a few RTTs after the ramp
// instead cost two flows on 10 Mbit/s × 200 ms their even shares (seeds
// 20-29: least Jain index 0.893, 0.971 with the third).
func (l *LEDBATPP) joinAllowed(now time.Time) bool {
	if l.slowdownEnd.IsZero() || l.nextSlowdown.IsZero() {
		return false
	}
	if base := l.baseRTT(); !l.slowRate() && base > 0 && base < l.cfg.Target {
		return true
	}
	return joinAfterDen*now.Sub(l.slowdownEnd) >= l.nextSlowdown.Sub(l.slowdownEnd)
}

// rampBackTo is the window a slowdown's ramp returns to: the part of the
// window that fills the path without a queue (the window times base RTT
// over base RTT plus queuing delay), but at least half of it.
//
// Deviation: the draft ramps back to the whole window, so that slowdowns
// keep the shares as they are, and between slowdowns only the additive
// increase, the same GAIN for every flow, moves them, too slowly where
// windows are large: its pull towards equal shares takes about W/GAIN
// RTTs, some 300 for eight flows on 100 Mbit/s × 40 ms. Ramping
// back to a share of the window is a multiplicative decrease at every
// slowdown, which takes most from the largest flow, and with the additive
// increase after it makes the AIMD that converges to equal shares
// (Chiu and Jain, 1989). A single flow loses only its queue: it returns
// to the window that still fills the path. The measurements, eight flows
// on 100 Mbit/s paths among them, are in docs/protocol.md.
//
// A flow that joined another's slowdown (joined) on a path where an
// empty queue is refilled by the same bytes for every flow
// (additiveRefill) returns to a quarter of its window, whatever the
// queue: the decrease of the AIMD step a joined slowdown makes there
// (slowdownRefill has the increase). Why: there the share that fills the
// path is 0.8 to 0.9 of the window, too little a decrease to even out
// shares between slowdowns 25 s apart. In a trace of two flows 10 s
// apart on 100 Mbit/s × 200 ms (seed 20) the incumbent joined the
// latecomer's initial slowdown and ramped back to 2.0 MB, the latecomer
// to 0.5 MB, and with the queue under the target from then on nothing
// moved the shares (63 and 36 Mbit/s). Half, as here before, evened out
// two flows but not eight: in a trace of eight flows 2 s apart on that
// path (seed 23) every common slowdown halved the differences between
// the windows, two fell in the 30 s measured, and the two largest
// flows kept 22 and 15 Mbit/s against the others' 7 to 10 (Jain index
// 0.842). A flow that joins is not alone on its path, so a flow alone
// keeps its use (returning to half at every slowdown held one flow on
// 200 ms paths to 87–88% of the link). The limit: it takes from
// whichever flow joins, not from the larger; slowdownPause makes flows
// take turns.
func (l *LEDBATPP) rampBackTo(qd time.Duration, joined bool) float64 {
	keep := float64(slowdownKeepNum) / slowdownKeepDen
	if joined && l.additiveRefill() {
		return max(l.floor, l.cwnd*joinKeepNum/joinKeepDen)
	}
	if base := l.baseRTT(); base > 0 {
		keep = max(keep, base.Seconds()/(base+qd).Seconds())
	}
	return max(l.floor, l.cwnd*keep)
}

// freezeWindow is the window during a slowdown: two full packets (draft
// section 4.6), or the floor if that is higher; on a slow path
// (freezeFloor, slowPathSlowdown) the floor of the smallest packets, to
// which clamp raises 0.
func (l *LEDBATPP) freezeWindow() float64 {
	if l.freezeFloor {
		return 0
	}
	return max(2*float64(l.cfg.MSS), l.floor)
}

// slowPathSlowdown reports whether a slowdown beginning now holds the
// floor instead of two full packets: the window is sent in small packets
// (Segment) and two full packets would take more than half the target
// to send at the flow's own rate, its window per smoothed RTT.
//
// Deviation: the draft's slowdown holds two packets, which on a fast
// path is no queue at all, but at 1 Mbit/s is 23 ms of it, more than a
// 10 ms path's whole BDP, and more than the windows of flows sharing it
// (1 to 4 kB for eight flows): the slowdown raised their windows, and a
// latecomer's queue never emptied while it measured its base delay.
// Eight flows 2 s apart on 1 Mbit/s × 10 ms, seed 23: Jain index 0.853
// and the queue at 94 ms before, 0.936 and 64 ms with this and the lower
// floor, 0.991 and 63 ms with the joins (docs/protocol.md). Why the rate: a window under eight Ethernet-sized
// packets alone (which a pair on 10 Mbit/s × 10 ms reaches after some
// ramps) sent those pairs into an unfair phase of the joins, 0.92 of
// Jain's index in nine seeds of ten; at half the target, the 10 Mbit/s
// cells did not change. Why small packets too: with a large MSS
// (loopback, INET256) a window of a few packets can be slow, and its
// ramp back from the floor would take tens of round trips.
func (l *LEDBATPP) slowPathSlowdown() bool {
	if l.mss >= float64(l.cfg.MSS) || l.lossRate >= DefaultLossTolerance {
		return false
	}
	return l.slowRate()
}

// slowRate reports whether two full packets take more than half the
// target to send at the flow's own rate, its window per smoothed RTT.
func (l *LEDBATPP) slowRate() bool {
	if l.rtt <= 0 || l.cwnd <= 0 {
		return false
	}
	return 2*float64(l.cfg.MSS)*l.rtt.Seconds()*slowPathShareDen > l.cwnd*l.cfg.Target.Seconds()
}

// avoidAck applies the draft's congestion avoidance per ACK, with the
// per-RTT quantities spread over one window of acknowledged bytes:
//
//	delay <= target: W += GAIN                                 (section 4.3)
//	delay >  target: W += max(GAIN - C*W*(delay/target - 1), -W/2) (4.4)
//
// so the decrease is multiplicative, in proportion to how far the delay is
// over the target, and at most halves the window per RTT. The window never
// grows past what the sender had in flight plus the increase (RFC 6817
// 2.4.2's max_allowed_cwnd, without shrinking; see LEDBAT.growthCap).
func (l *LEDBATPP) avoidAck(a Ack, acked float64) {
	// GAIN full packets, whatever size a small window is sent in
	// (Segment): counted in the smaller packets, flows whose windows sit
	// on either side of a size change would grow at different rates, and
	// keep different shares.
	perRTT := l.gain() * float64(l.cfg.MSS)
	if l.queueEmpty() && l.emptyQueueRoom(a.Now) {
		// Deviation: with no queue at all the link has room, and the
		// window grows as in slow start, GAIN per acknowledged packet
		// (GAIN*W per RTT) rather than GAIN packets per RTT. Why: after a
		// halving (a policer, a burst of random loss) or when a flow
		// leaves, the draft's increase takes 1/GAIN RTTs per packet: on a
		// 100 Mbit/s, 20 ms path, 20 s to refill the link. A queue of a
		// tenth of the target brings the additive increase back, long
		// before the delay nears the target.
		perRTT = max(perRTT, l.emptyQueueGrowth(a.Now))
	}
	if qd := float64(l.qd.Microseconds()); qd > l.target {
		perRTT -= ppDecreaseConstant * l.cwnd * (qd/l.target - 1)
	}
	delta := max(perRTT*acked/l.cwnd, -acked/2)
	limit := max(l.cwnd, float64(a.FlightBefore)+l.mss)
	l.cwnd = l.clamp(min(l.cwnd+delta, limit))
}

// emptyQueueRoom reports whether an empty queue at now is room on the
// path, which congestion avoidance grows into by a share of the window
// per RTT (avoidAck), and not the queue a slowdown emptied, which the
// flows that slowed down ramp back to: it is room once the queue has
// shown less than half the target for as long as this flow's own latest
// slowdown took from its start to its ramp's end (about as long as the
// others' take). Until then the window grows by GAIN packets per RTT,
// as the draft's does. A window under SegmentPackets full packets is
// always room, as in emptyQueueGain: it is sent in packets sized by it,
// and a slower growth there shrinks the packets too (without the
// exemption, eight flows on 10 Mbit/s × 10 ms, whose windows are such,
// left a latecomer whose base delay was too high more than three times
// the others' rate). Where the refill is additive (additiveRefill, paths
// whose base RTT is over the target) it is always room too: that refill
// already adds the same bytes to every flow, not a share of each window.
//
// Why: growing by a share of its own window into the queue another
// flow's slowdown emptied, a flow takes that share in proportion to its
// window, and keeps it. In a trace of eight flows on 100 Mbit/s × 40 ms
// (seed 23) one flow that had slowed down shortly before, and so did
// not join the others' slowdown, grew from 104 to 629 kB while the
// seven ramped back to 26 to 235 kB, and kept a quarter of the link to
// the end of the run; flows whose own slowdown began first grew into
// the queue while the ones that joined it were still slowed down
// (docs/protocol.md).
func (l *LEDBATPP) emptyQueueRoom(now time.Time) bool {
	if l.cwnd < float64(l.cfg.SegmentPackets*l.cfg.MSS) || l.additiveRefill() {
		return true
	}
	return now.Sub(l.queueHeld) >= l.slowdownLen
}

// emptyQueueGain is the share of the window congestion avoidance adds per
// RTT while the delay shows no queue: GAIN, but at most target/(2·base
// RTT). Why the bound: the delay that shows the queue filling comes back
// a base RTT late, and in that RTT the window grows by this share of
// itself, about that share of a base RTT of queue once the path is full.
// With GAIN alone (1 from a 120 ms base RTT on), a flow on a 200 ms path
// doubled each RTT into a queue over the target, the multiplicative
// decrease halved it back below an empty queue, and the two alternated:
// one flow on 10 Mbit/s × 200 ms used under 90% of the link
// (docs/protocol.md). The bound keeps that overshoot to half the target;
// on paths under 60 ms of base RTT GAIN is the smaller.
//
// A window under SegmentPackets full packets keeps GAIN: it is sent in
// packets sized by the window (resegment), so a slower growth there also
// shrinks the packets, and random loss, which takes packets whatever
// their size, then costs more bytes per loss; with 15% loss the two fed
// on each other and a transfer took 7.8 times as long (docs/protocol.md).
func (l *LEDBATPP) emptyQueueGain() float64 {
	g := l.gain()
	if base := l.baseRTT(); base > 0 && l.cwnd >= float64(l.cfg.SegmentPackets*l.cfg.MSS) {
		g = min(g, l.cfg.Target.Seconds()/(2*base.Seconds()))
	}
	return g
}

// OnLoss responds to a detected loss.
//
// Deviation (the draft and RFC 6817 halve on every loss, once per RTT):
// while the delay shows no queue (at most a tenth of the target) and the
// averaged loss rate stays under LossTolerance, a loss is taken for
// random loss, not congestion, and the window holds. A queue that
// overflows shows its delay first, and a policer, which drops without
// queueing, pushes the loss rate over the tolerance; both are answered
// by halving. Why: halving on random loss holds the window to Mathis's
// bound, about 1.2/sqrt(p) packets, far below a fast path's capacity.
//
// A halving ends slow start or a slowdown; it happens at most once per
// rtt (100 ms when rtt is 0).
func (l *LEDBATPP) OnLoss(now time.Time, rtt time.Duration) {
	// Not halved: an undo must not restore what an earlier loss took.
	l.undo.valid = false
	if l.randomLoss() {
		return
	}
	if rtt <= 0 {
		rtt = defaultLossInterval
	}
	if l.decreased && now.Sub(l.lastDecrease) < rtt {
		return
	}
	l.undo = ppUndo{valid: true, cwnd: l.cwnd, ssthresh: l.ssthresh, phase: l.phase, nextSlowdown: l.nextSlowdown}
	if l.phase == ppFreeze || l.phase == ppRamp {
		// The slowdown ends here; the halving applies to the window it
		// would have returned to.
		l.cwnd = max(l.cwnd, l.ssthresh)
	}
	l.cwnd = l.clamp(l.cwnd / 2)
	l.decreased, l.lastDecrease = true, now
	if l.phase == ppSlowStart && l.nextSlowdown.IsZero() {
		l.scheduleInitialSlowdown(now)
	}
	if l.phase == ppRamp || l.phase == ppFreeze {
		l.nextSlowdown = now.Add(slowdownPeriod * now.Sub(l.slowdownStart))
	}
	l.phase = ppAvoid
	l.ssthresh = l.cwnd
	l.resegment()
}

// OnSpuriousLoss restores the window, ssthresh, phase and slowdown
// schedule from before the latest OnLoss halving, unless a timeout came
// since (Controller; RFC 4015's response). The window keeps any growth
// made since, as Linux's undo does. The loss rate keeps the packets
// counted (OnPacketsLost): the connection does not report how many of an
// episode's were spurious, and the rate decays over its horizon.
func (l *LEDBATPP) OnSpuriousLoss(now time.Time) {
	if !l.undo.valid {
		return
	}
	l.cwnd = l.clamp(max(l.cwnd, l.undo.cwnd))
	l.ssthresh = max(l.ssthresh, l.undo.ssthresh)
	l.phase, l.nextSlowdown = l.undo.phase, l.undo.nextSlowdown
	l.undo.valid = false
	l.decreased = false
	l.resegment()
}

// OnPacketsLost counts n packets declared lost into the loss rate
// (LossCounter). The rate is per packet, not per OnLoss: a connection that
// reports one loss per recovery episode would otherwise make a policer
// dropping a tenth of a large window look like one random loss per RTT.
func (l *LEDBATPP) OnPacketsLost(n int) {
	l.lossRate += float64(max(0, n)) / lossHorizon
}

// randomLoss reports whether a loss now is to be taken for random loss.
func (l *LEDBATPP) randomLoss() bool {
	return l.cfg.LossTolerance > 0 && l.lossRate < l.cfg.LossTolerance && l.queueEmpty()
}

// queueEmpty reports whether the delay shows no queue to speak of: at most
// a tenth of the target.
func (l *LEDBATPP) queueEmpty() bool {
	return l.hasQD && l.qd*emptyQueueShare <= l.cfg.Target
}

// OnTimeout drops the window to one packet, below the floor (RFC 6817
// 2.4.2 "cwnd = 1 * MSS", RFC 5681 3.1's loss window: only the oldest
// packet is resent until an ACK shows the path works), and slow-starts back
// to half the window it had (as LEDBAT.OnTimeout); the next ACK restores
// the floor. A slowdown in progress is abandoned and rescheduled from its
// own length.
//
// A timeout with no ACK since the last one (the backed-off timer firing
// again) keeps the window to return to: halving the one-packet window of
// the first timeout would leave slow start nothing to return to, and the
// path, once back, would be refilled only by congestion avoidance. Linux
// does the same (tcp_enter_loss lowers ssthresh once per series of
// retransmission timeouts).
func (l *LEDBATPP) OnTimeout(now time.Time) {
	l.undo.valid = false
	if l.rtoUndo.valid {
		l.cwnd = float64(l.cfg.MSS)
		l.lastDecrease = now
		return
	}
	l.rtoUndo = ppTimeoutUndo{ppUndo{true, l.cwnd, l.ssthresh, l.phase, l.nextSlowdown}, l.decreased, l.lastDecrease}
	base := l.cwnd
	if l.phase == ppFreeze || l.phase == ppRamp {
		base = max(base, l.ssthresh)
		l.nextSlowdown = now.Add(slowdownPeriod * now.Sub(l.slowdownStart))
	}
	l.ssthresh = max(base/2, 2*l.mss)
	l.cwnd = float64(l.cfg.MSS)
	l.phase = ppAvoid
	if l.ssthresh > l.cwnd {
		l.phase = ppSlowStart
	}
	if l.nextSlowdown.IsZero() {
		l.scheduleInitialSlowdown(now)
	}
	l.decreased, l.lastDecrease = true, now
}

// OnSpuriousTimeout restores the window, ssthresh, phase, slowdown
// schedule and the time of the last decrease from before the first
// timeout since the latest ACK (TimeoutUndoer), keeping any growth made
// since.
func (l *LEDBATPP) OnSpuriousTimeout(now time.Time) {
	u := l.rtoUndo
	if !u.valid {
		return
	}
	l.cwnd = l.clamp(max(l.cwnd, u.cwnd))
	l.ssthresh = max(l.ssthresh, u.ssthresh)
	l.phase, l.nextSlowdown = u.phase, u.nextSlowdown
	l.decreased, l.lastDecrease = u.decreased, u.lastDecrease
	l.rtoUndo.valid = false
	l.resegment()
}

// SetMSS changes the size of a full packet, for a connection whose
// packets grow or shrink with path MTU discovery (as LEDBAT.SetMSS): the
// floor, the slowdown's two packets, GAIN's per-packet increase and the
// growth cap of one packet beyond the flight follow at once; the window
// itself stays, within the new floor.
func (l *LEDBATPP) SetMSS(mss int) {
	if mss <= 0 || mss == l.cfg.MSS {
		return
	}
	l.cfg.MSS = mss
	l.resegment()
}

// clamp bounds a window to [floor, ceiling].
func (l *LEDBATPP) clamp(w float64) float64 { return max(l.floor, min(w, l.ceiling)) }

// noteEmptyQueue keeps when the delay began to show no queue (emptyFrom).
func (l *LEDBATPP) noteEmptyQueue(now time.Time) {
	switch {
	case !l.queueEmpty():
		l.emptyFrom = time.Time{}
	case l.emptyFrom.IsZero():
		l.emptyFrom = now
	}
}

// emptyQueueGrowth is what congestion avoidance adds to the window per
// RTT while the delay shows no queue: GAIN full packets, doubled for
// every base RTT the queue has stayed empty, and at most
// emptyQueueGain of the window. After a slowdown the doubling counts
// from the end of its ramp, and the share of the window does not bound
// it until the queue shows (slowdownRefill).
//
// Deviation (not in the draft, whose increase is GAIN packets per RTT
// whatever the queue): the growth that refills an empty path adds the
// same to every flow, not a share of each one's window. Flows sharing a
// bottleneck see the same queue empty at the same time and share a base
// RTT, so each adds the same bytes; the multiplicative decrease above
// the target takes from each in proportion to its window, and the two
// make an AIMD, which evens out the shares (Chiu and Jain, 1989). Grown
// as a share of each window, the refill after a decrease kept the
// shares the decrease had left: in a trace of two flows on
// 100 Mbit/s × 200 ms (seed 20), both cut when the latecomer's ramp
// overshot to 110 ms of queue, from 2.5 and 1.4 MB to 1.1 and 0.6 MB,
// grew back × 1.55 each into the empty queue, and kept 63 and 35 Mbit/s
// for the rest of the run, the queue never again over the target. The
// doubling reaches the bound of emptyQueueGain within as many base RTTs
// as the log2 of the window in packets (11 on 100 Mbit/s × 200 ms), and
// that bound still holds the overshoot a late delay reading allows. A
// window under SegmentPackets
// full packets keeps the proportional growth, for the reason
// emptyQueueGain gives.
func (l *LEDBATPP) emptyQueueGrowth(now time.Time) float64 {
	g := l.emptyQueueGain() * l.cwnd
	if !l.additiveRefill() || l.emptyFrom.IsZero() {
		return g
	}
	// The queue a slowdown emptied was the ramp's to refill, and the ramp
	// doubled into it: the refill's own doubling starts when the ramp
	// ends.
	from := l.emptyFrom
	if l.slowdownEnd.After(from) {
		from = l.slowdownEnd
	}
	doublings := min(40, now.Sub(from).Seconds()/l.baseRTT().Seconds())
	add := l.gain() * float64(l.cfg.MSS) * math.Exp2(doublings)
	if l.slowdownRefill() {
		return add
	}
	return min(g, add)
}

// slowdownRefill reports whether the empty queue is the one a slowdown
// left: the queue has shown nothing since the latest slowdown's ramp
// ended. That refill is not bounded by a share of the window
// (emptyQueueGrowth).
//
// Deviation (not in the draft, which has no joins nor refill): a joined
// slowdown on a path over the target is one step of an AIMD (Chiu and
// Jain, 1989). Every flow that joined ramps back to a quarter of its
// window (rampBackTo), the decrease, and the queue they all left empty is
// refilled by the same bytes for each, the increase. Bounded by a share
// of each window, as the refill after a decrease above the target is,
// the increase was a share too, and kept the shares: in a trace of eight
// flows 2 s apart on 100 Mbit/s × 200 ms (seed 23) the flows ramped back
// in step from two packets to half their windows, and grew from there by
// 18 to 34% in the half second before the queue showed, the largest
// keeping twice the others' rate to the end of the run. The flow whose
// slowdown the others joined cannot tell it from one of its own alone,
// so the rule holds after every slowdown: bounded for it alone, the
// refill gave the flow that joined, and only it, the equal bytes, and in
// a trace of two flows on that path (seed 20) the incumbent grew from
// 0.59 to 1.85 MB while the latecomer grew from 0.53 to 1.19 MB. A flow
// alone ramps back to the window that fills the path, so its refill
// after a slowdown is a few packets. The bound holds the overshoot a
// late delay reading allows to half the target; without it the
// overshoot is at most the bytes the flows gave up, and the decrease
// above the target that follows takes from each flow in proportion to
// its window, which is the AIMD's decrease again (docs/protocol.md has
// the measurements).
func (l *LEDBATPP) slowdownRefill() bool {
	return !l.slowdownEnd.IsZero() && !l.slowdownEnd.Before(l.emptyFrom)
}

// additiveRefill reports whether an empty queue is refilled by the same
// bytes for every flow (emptyQueueGrowth): where emptyQueueGain bounds
// the growth, paths whose base RTT is over the target, and for windows
// of SegmentPackets full packets or more. On shorter paths the growth
// stays GAIN of the window per RTT, as before: applied there, it held
// two flows 10 s apart on 100 Mbit/s × 10 ms to a median Jain index of
// 0.949 over seeds 20–29, 0.971 without (docs/protocol.md; not traced).
func (l *LEDBATPP) additiveRefill() bool {
	return l.baseRTT() > 0 && l.cwnd >= float64(l.cfg.SegmentPackets*l.cfg.MSS) && l.emptyQueueGain() < l.gain()
}
