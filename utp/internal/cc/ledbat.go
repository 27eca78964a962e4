package cc

import "time"

// Defaults for LEDBATConfig and the loss-response interval.
const (
	// DefaultTarget is RFC 6817's TARGET (2.5: MUST be 100 ms or less),
	// the value BEP 29 and libutp (CCONTROL_TARGET) use.
	DefaultTarget = 100 * time.Millisecond
	// DefaultGain is RFC 6817's GAIN (2.5: MUST be 1 or less).
	DefaultGain = 1.0
	// DefaultMinWindow is the window floor in packets. RFC 6817 2.5 says
	// MIN_CWND SHOULD be 2; we use 1, as RFC 6817 2.4.2 itself does after a
	// timeout ("cwnd = 1 * MSS") and as libutp does (MIN_WINDOW_SIZE is
	// below one packet), so that a heavily delayed path can still be slowed
	// to one packet per RTT.
	DefaultMinWindow = 1
	// DefaultInitialWindow is the window at start in packets. RFC 6817 2.5:
	// INIT_CWND SHOULD be 2, enough to seed FILTER() with more than one
	// sample per RTT, and no more than TCP's (RFC 5681).
	DefaultInitialWindow = 2
	// libutpIncreasePerRTT is libutp's MAX_CWND_INCREASE_BYTES_PER_RTT: the
	// window grows by up to this many bytes per RTT when the queue is empty.
	libutpIncreasePerRTT = 3000
	// DefaultAllowedIncrease is RFC 6817's ALLOWED_INCREASE in packets
	// (2.5: SHOULD be 1, MUST be greater than 0).
	DefaultAllowedIncrease = 1
	// DefaultMaxWindowBytes caps the window. It only guards against
	// overflow from nonsensical inputs; in practice the window is bounded
	// by the bytes actually in flight (ALLOWED_INCREASE).
	DefaultMaxWindowBytes = 1 << 30
	// drainFraction is the share of the queue above Target that the
	// window decrease removes per RTT (see drain).
	drainFraction = 0.5
	// defaultLossInterval is how long after a multiplicative decrease
	// further losses are ignored when the caller does not know the RTT.
	// libutp: MAX_WINDOW_DECAY = 100 ms.
	defaultLossInterval = 100 * time.Millisecond
	// Slow start ends once the queuing delay exceeds
	// slowStartExitNum/slowStartExitDen of Target, i.e. 90%. libutp: "even
	// if we're a little under the target delay, we conservatively
	// discontinue the slow start phase" at target*0.9.
	slowStartExitNum, slowStartExitDen = 9, 10
)

// LEDBATConfig configures a LEDBAT controller. Zero (or negative) fields
// take the defaults named in their comments; only MSS is required.
type LEDBATConfig struct {
	// MSS is the size of a full packet in bytes (payload plus header),
	// the unit of every window quantity. Required: must be > 0.
	MSS int
	// Target is the queuing delay LEDBAT aims for. Default DefaultTarget
	// (100 ms).
	Target time.Duration
	// Gain scales how fast the window responds to the distance from Target.
	// Default DefaultGain (1); RFC 6817 2.5 requires it to be at most 1.
	Gain float64
	// MinWindow is the window floor in packets. Default DefaultMinWindow (1).
	MinWindow int
	// InitialWindow is the starting window in packets. Default
	// DefaultInitialWindow (2).
	InitialWindow int
	// AllowedIncrease is how many packets the window may exceed the bytes
	// in flight by (RFC 6817 ALLOWED_INCREASE). Default
	// DefaultAllowedIncrease (1).
	AllowedIncrease int
	// MaxWindowBytes is the window ceiling in bytes. Default
	// DefaultMaxWindowBytes (1 GiB); raised to the floor if below it.
	MaxWindowBytes int
	// IncreasePerRTT is the most the window grows in one RTT, reached when
	// the queuing delay is zero; RFC 6817's GAIN * MSS. Default the larger of
	// Gain * MSS and 3000 bytes, libutp's MAX_CWND_INCREASE_BYTES_PER_RTT.
	// Deviation: with 1400-byte packets libutp's value is a GAIN of about
	// 2, above RFC 6817 2.5's limit of 1. We follow libutp, the deployed
	// LEDBAT, because with GAIN 1 random loss of 1% holds the window to
	// about 12 packets and leaves a 20 ms, 10 Mbit/s path a third idle.
	IncreasePerRTT int
}

// withDefaults returns c with zero and negative fields replaced by their
// defaults. It panics if MSS is not positive: a caller bug, not an input.
func (c LEDBATConfig) withDefaults() LEDBATConfig {
	if c.MSS <= 0 {
		panic("cc: LEDBATConfig.MSS must be > 0")
	}
	if c.Target <= 0 {
		c.Target = DefaultTarget
	}
	if c.Gain <= 0 {
		c.Gain = DefaultGain
	}
	if c.MinWindow <= 0 {
		c.MinWindow = DefaultMinWindow
	}
	if c.InitialWindow <= 0 {
		c.InitialWindow = DefaultInitialWindow
	}
	if c.AllowedIncrease <= 0 {
		c.AllowedIncrease = DefaultAllowedIncrease
	}
	if c.MaxWindowBytes <= 0 {
		c.MaxWindowBytes = DefaultMaxWindowBytes
	}
	if c.IncreasePerRTT <= 0 {
		c.IncreasePerRTT = max(int(c.Gain*float64(c.MSS)), libutpIncreasePerRTT)
	}
	return c
}

// LEDBAT is the RFC 6817 congestion controller, with libutp's choices where
// the RFC leaves them open. It implements Controller.
//
// The window is kept as a float64 number of bytes: per-ACK increments are
// often a fraction of a byte (GAIN * off_target * MSS * acked / cwnd), and
// truncating them, as libutp's size_t arithmetic does, would stall growth
// for large windows.
type LEDBAT struct {
	cfg      LEDBATConfig
	floor    float64 // MinWindow * MSS
	ceiling  float64 // MaxWindowBytes, at least floor
	target   float64 // Target in microseconds
	cwnd     float64 // bytes
	ssthresh float64 // bytes; slow start ends when cwnd reaches it
	slow     bool    // in slow start

	ours   delayHist // delays of our packets, as reported in ACKs
	theirs delayHist // delays we measure of the peer's packets (drift.go)

	qd      time.Duration // latest queuing-delay estimate
	lastRTT time.Duration // RTT of the latest ACK, for the qd clamp

	decreased    bool      // a loss or timeout decrease has happened
	lastDecrease time.Time // when it happened

	// undo holds the state before the latest loss decrease while
	// OnSpuriousLoss may still restore it.
	undo lossUndo
	// rtoUndo holds the state before the first timeout since the latest
	// ACK while OnSpuriousTimeout may still restore it.
	rtoUndo timeoutUndo
}

// timeoutUndo is what OnTimeout changes, kept so that a timeout found
// spurious can be undone (OnSpuriousTimeout).
type timeoutUndo struct {
	lossUndo
	decreased    bool
	lastDecrease time.Time
}

// lossUndo is a controller's state before a loss decrease, kept so that a
// decrease found spurious can be undone (OnSpuriousLoss).
type lossUndo struct {
	valid          bool
	cwnd, ssthresh float64
	slow           bool
}

var (
	_ Controller    = (*LEDBAT)(nil)
	_ TimeoutUndoer = (*LEDBAT)(nil)
)

// NewLEDBAT returns a LEDBAT controller in slow start with the initial
// window. now starts the one-minute base-delay bucket grid. It panics if
// cfg.MSS <= 0.
func NewLEDBAT(now time.Time, cfg LEDBATConfig) *LEDBAT {
	cfg = cfg.withDefaults()
	floor := float64(cfg.MinWindow) * float64(cfg.MSS)
	l := &LEDBAT{
		cfg:     cfg,
		floor:   floor,
		ceiling: max(float64(cfg.MaxWindowBytes), floor),
		target:  float64(cfg.Target.Microseconds()),
		slow:    true,
		ours:    newDelayHist(now),
		theirs:  newDelayHist(now),
	}
	l.ssthresh = l.ceiling
	l.cwnd = l.clamp(float64(cfg.InitialWindow) * float64(cfg.MSS))
	return l
}

// Window returns the congestion window in bytes, at least MinWindow * MSS.
func (l *LEDBAT) Window() int {
	return int(l.cwnd)
}

// QueuingDelay returns the latest filtered queuing-delay estimate, 0 before
// the first delay sample.
func (l *LEDBAT) QueuingDelay() time.Duration {
	return l.qd
}

// InSlowStart reports whether the controller is in slow start.
func (l *LEDBAT) InSlowStart() bool {
	return l.slow
}

// OnAck records the ACK's delay sample and updates the window.
//
// An ACK without a delay sample changes nothing: without a measurement there
// is no basis for a delay-based decision (libutp: "if we don't have a delay
// measurement, there's no point in invoking the congestion control"). A
// duplicate ACK (AckedBytes 0) still contributes its sample.
func (l *LEDBAT) OnAck(a Ack) {
	l.rtoUndo.valid = false // the ACK judged any timeout before it
	if !a.HasDelay {
		return
	}
	l.ours.add(a.Now, a.Delay)
	l.lastRTT = a.RTT
	l.refreshQueuingDelay()
	if a.AckedBytes <= 0 {
		return
	}
	if l.slow && l.qd*slowStartExitDen > l.cfg.Target*slowStartExitNum {
		l.exitSlowStart()
	}
	if l.slow {
		l.slowStartAck(a)
	} else {
		l.ledbatAck(a)
	}
}

// refreshQueuingDelay recomputes the queuing delay from the history. It is
// clamped to the RTT when one is known: a one-way queuing delay cannot
// exceed the round trip, so anything larger is a clock artefact or garbage
// from the peer (libutp apply_ccontrol: "the delay can never be greater
// than the rtt").
func (l *LEDBAT) refreshQueuingDelay() {
	us, ok := l.ours.queuingDelay()
	if !ok {
		return
	}
	l.qd = time.Duration(us) * time.Microsecond
	if l.lastRTT > 0 && l.qd > l.lastRTT {
		l.qd = l.lastRTT
	}
}

// slowStartAck grows the window by the bytes acknowledged, doubling it at
// most once per RTT (RFC 5681 3.1), up to ssthresh. The growth cap allows
// the acknowledged bytes beyond the flight rather than ALLOWED_INCREASE
// packets: with the latter, ACKs that each cover two packets would hold
// slow start to 1.5x per RTT.
func (l *LEDBAT) slowStartAck(a Ack) {
	// Count at most one window, as in ledbatAck, so a single ACK can at
	// most double the window.
	acked := min(float64(a.AckedBytes), l.cwnd)
	next := l.cwnd + acked
	if next >= l.ssthresh {
		next = max(l.ssthresh, l.cwnd)
		l.slow = false
	}
	l.cwnd = l.clamp(min(next, l.growthCap(a, max(acked, l.allowedIncrease()))))
}

// ledbatAck applies RFC 6817 2.4.2:
//
//	off_target = (TARGET - queuing_delay) / TARGET
//	cwnd += GAIN * off_target * bytes_newly_acked * MSS / cwnd
//	cwnd = min(cwnd, flightsize + ALLOWED_INCREASE * MSS)
//	cwnd = max(cwnd, MIN_CWND * MSS)
//
// with three guards, each explained where it is applied.
func (l *LEDBAT) ledbatAck(a Ack) {
	// libutp: bytes acked count for at most one window, so an ACK that
	// covers more than a (recently shrunk) window cannot move it by more
	// than GAIN * MSS.
	acked := min(float64(a.AckedBytes), l.cwnd)
	off := (l.target - float64(l.qd.Microseconds())) / l.target
	delta := off * acked * float64(l.cfg.IncreasePerRTT) / l.cwnd
	// off_target is not clamped below: RFC 6817 2.4.2 and libutp decrease
	// in proportion to how far over target the delay is.
	if off < 0 {
		delta = min(delta, l.drain(acked))
	}
	// But each ACK may take away at most half of the bytes it
	// acknowledges, so one RTT's worth of ACKs at most halves the window;
	// a wildly large delay sample cannot collapse it in one ACK.
	delta = max(delta, -acked/2)
	l.cwnd = l.clamp(min(l.cwnd+delta, l.growthCap(a, l.allowedIncrease())))
}

// drain returns the decrease, for an ACK of acked bytes, that removes
// drainFraction of the queue standing above Target per RTT; 0 while the
// RTT is unknown.
//
// Why: RFC 6817's decrease, GAIN * off_target * MSS per RTT, does not scale
// with the window. On a fast, long path, where the window is hundreds of
// packets, a queue built by slow start's overshoot or by a drop in
// capacity would take minutes to drain at one or two packets per RTT, and
// a background flow would hold the queue above its target meanwhile. RFC
// 6817 2.5 allows a higher GAIN for decrease than for increase; this is
// one that scales with the window. The excess queue is rate * (qd -
// TARGET) bytes and one RTT's ACKs cover about rate * RTT bytes, so taking
// drainFraction * (qd - TARGET) / RTT of each ACK's bytes removes
// drainFraction of the excess per RTT. A fraction below 1 leaves room for
// the feedback delay of about one RTT, so the window does not undershoot.
// Near the target this decrease vanishes and RFC 6817's dominates.
func (l *LEDBAT) drain(acked float64) float64 {
	if l.lastRTT <= 0 {
		return 0
	}
	excess := (l.qd - l.cfg.Target).Seconds() / l.lastRTT.Seconds()
	return -drainFraction * excess * acked
}

// growthCap is RFC 6817's max_allowed_cwnd = flightsize + ALLOWED_INCREASE
// * MSS, which stops the window growing while the sender does not use it.
// Deviation: the cap never takes the window below its value before this
// ACK. Applied literally it would shrink the window of an
// application-limited sender to what it happened to have in flight plus one
// packet, and the next burst would then be throttled to one extra packet
// per RTT although the path showed no sign of congestion. Decreases come
// from delay, loss and timeouts only. (libutp likewise stops growth, but
// does not shrink, when the sender has not filled its window recently.)
func (l *LEDBAT) growthCap(a Ack, allowance float64) float64 {
	return max(l.cwnd, float64(a.FlightBefore)+allowance)
}

// allowedIncrease returns ALLOWED_INCREASE * MSS in bytes.
func (l *LEDBAT) allowedIncrease() float64 {
	return float64(l.cfg.AllowedIncrease) * float64(l.cfg.MSS)
}

// exitSlowStart ends slow start where the window stands (libutp sets
// ssthresh = max_window when the delay nears the target).
func (l *LEDBAT) exitSlowStart() {
	l.slow = false
	l.ssthresh = l.cwnd
}

// OnLoss halves the window, at most once per rtt (RFC 6817 2.4.2: "cwnd =
// min(cwnd, max(cwnd/2, MIN_CWND * MSS))" once per RTT; libutp
// maybe_decay_win), and ends slow start. When rtt is 0 the interval is
// 100 ms, libutp's MAX_WINDOW_DECAY.
func (l *LEDBAT) OnLoss(now time.Time, rtt time.Duration) {
	if rtt <= 0 {
		rtt = defaultLossInterval
	}
	if l.decreased && now.Sub(l.lastDecrease) < rtt {
		// Not reduced: an undo must not restore what an earlier,
		// perhaps real, loss took away.
		l.undo.valid = false
		return
	}
	l.undo = lossUndo{valid: true, cwnd: l.cwnd, ssthresh: l.ssthresh, slow: l.slow}
	l.cwnd = l.clamp(l.cwnd / 2)
	l.ssthresh = l.cwnd
	l.slow = false
	l.markDecrease(now)
}

// OnTimeout drops the window to the floor (RFC 6817 2.4.2: "cwnd = 1 *
// MSS" after a timeout).
//
// It then re-enters slow start, bounded by ssthresh = max(cwnd/2, 2 * MSS)
// (RFC 5681 3.1, equation 4), and this is the only way back into slow
// start. Why: after a timeout the floor is one packet and LEDBAT's additive
// increase of at most one packet per RTT would take as many RTTs as the
// window had packets to recover. libutp also sets slow_start = true on a
// timeout. Slow start still ends early if the delay nears the target, and
// TCP does the same after a timeout, so LEDBAT stays no more aggressive
// than TCP. Losses reported within defaultLossInterval (or the RTT) of the
// timeout do not halve again.
func (l *LEDBAT) OnTimeout(now time.Time) {
	l.undo.valid = false
	if !l.rtoUndo.valid {
		l.rtoUndo = timeoutUndo{lossUndo{true, l.cwnd, l.ssthresh, l.slow}, l.decreased, l.lastDecrease}
	}
	l.ssthresh = max(l.cwnd/2, 2*float64(l.cfg.MSS))
	l.cwnd = l.floor
	l.slow = l.ssthresh > l.cwnd
	l.markDecrease(now)
}

// OnSpuriousLoss restores the window, ssthresh and slow-start state from
// before the latest OnLoss, unless a timeout came since (Controller). The
// window keeps any growth the recovery made, as Linux's undo does: it
// takes the larger of the current and the saved window.
func (l *LEDBAT) OnSpuriousLoss(now time.Time) {
	if !l.undo.valid {
		return
	}
	l.cwnd = l.clamp(max(l.cwnd, l.undo.cwnd))
	l.ssthresh = max(l.ssthresh, l.undo.ssthresh)
	l.slow = l.undo.slow
	l.undo.valid = false
	// The decrease never happened: a real loss right after may halve.
	l.decreased = false
}

// OnSpuriousTimeout restores the window, ssthresh, slow-start state and
// the time of the last decrease from before the first timeout since the
// latest ACK (TimeoutUndoer), keeping any growth made since.
func (l *LEDBAT) OnSpuriousTimeout(now time.Time) {
	u := l.rtoUndo
	if !u.valid {
		return
	}
	l.cwnd = l.clamp(max(l.cwnd, u.cwnd))
	l.ssthresh = max(l.ssthresh, u.ssthresh)
	l.slow = u.slow
	l.decreased, l.lastDecrease = u.decreased, u.lastDecrease
	l.rtoUndo.valid = false
}

// markDecrease remembers when a multiplicative decrease happened.
func (l *LEDBAT) markDecrease(now time.Time) {
	l.decreased = true
	l.lastDecrease = now
}

// clamp bounds a window to [floor, ceiling].
func (l *LEDBAT) clamp(w float64) float64 {
	return max(l.floor, min(w, l.ceiling))
}
