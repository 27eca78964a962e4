package netsim

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"time"
)

// DefaultQueueBytes is the bottleneck queue capacity used when
// LinkConfig.Rate > 0 and LinkConfig.QueueBytes == 0. 64 KiB is roughly a
// small home router's buffer: at 1 Mbit/s it holds about half a second of
// data, enough to exercise LEDBAT's delay-based backoff.
const DefaultQueueBytes = 64 << 10

// DefaultDuplicateDelay is how much later the second copy of a duplicated
// packet arrives when LinkConfig.DuplicateDelay is zero. A fixed, small gap
// (rather than zero) keeps both copies distinct events, as duplicates from a
// real network (e.g. a link-layer retransmission) are.
const DefaultDuplicateDelay = time.Millisecond

// LinkConfig describes one direction of a path. The zero value is a perfect
// link: no delay, no loss, unlimited rate.
type LinkConfig struct {
	// Delay is the one-way propagation delay, added after the bottleneck.
	Delay time.Duration

	// Jitter adds an extra delay drawn uniformly from [0, Jitter) to each
	// packet. Jitter alone never reorders: an arrival is clamped to be no
	// earlier than the previous in-order arrival, as packets on one real
	// path stay FIFO and reordering is a separate, rarer event (Reorder).
	Jitter time.Duration

	// Loss is the probability that a packet is lost on the wire,
	// independently per packet. Loss is applied after the bottleneck: a
	// lost packet still occupied the queue and the link's capacity, as a
	// packet corrupted downstream of a router does.
	Loss float64

	// Duplicate is the probability that a delivered packet arrives twice.
	// The copy arrives DuplicateDelay after the original and does not take
	// part in FIFO ordering, so later packets may overtake it. Duplication
	// happens after the bottleneck, so the copy uses no queue space.
	Duplicate float64

	// DuplicateDelay is the gap between a packet and its duplicate; zero
	// means DefaultDuplicateDelay.
	DuplicateDelay time.Duration

	// Reorder is the probability that a delivered packet is held back by
	// an extra ReorderDelay, outside FIFO ordering, so that packets sent
	// after it can overtake it.
	Reorder float64

	// ReorderDelay is the extra delay of a reordered packet. Zero (with
	// Reorder > 0) means Delay + Jitter + 1ms: longer than the normal
	// spread of arrival times, so a held-back packet is really overtaken
	// by whatever is sent during the following millisecond or more.
	ReorderDelay time.Duration

	// Rate is the bottleneck rate in bits per second. Zero means
	// unlimited: no serialization time and no queue.
	Rate int64

	// QueueBytes is the capacity of the drop-tail queue in front of the
	// bottleneck, counting bytes not yet serialized (including the rest of
	// the packet being transmitted). Only used when Rate > 0. Zero means
	// DefaultQueueBytes; negative means unbounded. A packet arriving at an
	// idle bottleneck is always accepted, even if larger than QueueBytes.
	QueueBytes int

	// MTU is the largest packet, in bytes, the link carries; larger ones
	// are dropped before the queue. Zero means no limit.
	MTU int
}

// Fate is what a Link did with one transmitted packet, as reported to
// Link.OnTransmit.
type Fate uint8

const (
	// FateDelivered means at least one copy will arrive.
	FateDelivered Fate = iota
	// FateLost means the packet passed the bottleneck and was lost on the wire.
	FateLost
	// FateQueueFull means the bottleneck queue was full (drop-tail).
	FateQueueFull
	// FateTooBig means the packet was larger than the MTU.
	FateTooBig
)

// String returns a short name for the fate, for test failure messages.
func (f Fate) String() string {
	switch f {
	case FateDelivered:
		return "delivered"
	case FateLost:
		return "loss"
	case FateQueueFull:
		return "queue-full"
	case FateTooBig:
		return "mtu"
	}
	return "unknown"
}

// LinkStats counts what a Link has done. Counters are cumulative since the
// link was created.
type LinkStats struct {
	Sent      int64 // packets offered to Transmit
	SentBytes int64 // bytes offered to Transmit

	// Delivered counts copies scheduled for arrival, duplicates included,
	// so Delivered == Sent - Dropped() + Duplicated.
	Delivered      int64
	DeliveredBytes int64

	DroppedLoss  int64 // lost on the wire (after the bottleneck)
	DroppedQueue int64 // drop-tail: bottleneck queue full
	DroppedMTU   int64 // larger than the MTU

	Duplicated int64 // packets delivered twice
	Reordered  int64 // packets held back by ReorderDelay

	// Queued counts packets admitted to the bottleneck (Rate > 0 only);
	// SumQueueDelay is the total time they waited before their own
	// serialization began and MaxQueueDelay the longest such wait. Mean
	// queuing delay is SumQueueDelay / Queued.
	Queued        int64
	SumQueueDelay time.Duration
	MaxQueueDelay time.Duration

	// MaxQueueBytes is the highest queue occupancy seen, in bytes,
	// including the admitted packet itself.
	MaxQueueBytes int
}

// Dropped is the total number of packets dropped, for any cause.
func (s LinkStats) Dropped() int64 { return s.DroppedLoss + s.DroppedQueue + s.DroppedMTU }

// Link models one direction of a path. It is not safe for concurrent use,
// and it never reads a clock: every method takes the current time as an
// argument, so it can be driven by a Sim's virtual clock or by real timers.
type Link struct {
	cfg LinkConfig // with defaults resolved
	rng *rand.Rand

	// Times are kept as int64 nanoseconds since base, which is fixed at
	// the first call (or the Sim's epoch), to keep the hot path to integer
	// arithmetic.
	base    time.Time
	hasBase bool

	busy int64  // when the bottleneck finishes serializing what it holds
	rem  uint64 // sub-nanosecond remainder of busy, in units of 1/Rate ns, so the long-run rate is exact
	last int64  // latest in-order arrival, for the FIFO clamp

	arr   [2]int64 // arrivals of the packet just transmitted
	stats LinkStats

	// OnTransmit, if not nil, is called once per packet passed to
	// Transmit (or Node.Send), after its fate is decided. queueDelay is
	// how long it waited in the bottleneck queue before its own
	// serialization started (zero if it never reached the queue or Rate
	// is 0). It lets tests record per-packet queuing delay cheaply: when
	// nil it costs one comparison.
	OnTransmit func(now time.Time, n int, queueDelay time.Duration, fate Fate)
}

// NewLink returns a link with the given configuration drawing randomness
// from rng. A nil rng means a fixed-seed stream, so a Link is deterministic
// even then. Links created by Sim.Connect get their own derived streams.
func NewLink(cfg LinkConfig, rng *rand.Rand) *Link {
	if rng == nil {
		rng = DerivedRand(0, 0)
	}
	if cfg.Rate > 0 && cfg.QueueBytes == 0 {
		cfg.QueueBytes = DefaultQueueBytes
	}
	if cfg.Reorder > 0 && cfg.ReorderDelay <= 0 {
		cfg.ReorderDelay = cfg.Delay + cfg.Jitter + time.Millisecond
	}
	if cfg.Duplicate > 0 && cfg.DuplicateDelay <= 0 {
		cfg.DuplicateDelay = DefaultDuplicateDelay
	}
	return &Link{cfg: cfg, rng: rng}
}

// Config returns the link's configuration with defaults filled in.
func (l *Link) Config() LinkConfig { return l.cfg }

// SetMTU changes the link's MTU from now on (0: no limit), as a route
// change to a narrower path does.
func (l *Link) SetMTU(n int) { l.cfg.MTU = n }

// Stats returns a snapshot of the link's counters.
func (l *Link) Stats() LinkStats { return l.stats }

// ns converts an absolute time to the link's internal offset, fixing the
// base on first use.
func (l *Link) ns(t time.Time) int64 {
	if !l.hasBase {
		l.base, l.hasBase = t, true
	}
	return int64(t.Sub(l.base))
}

// Transmit decides the fate of one packet of n bytes sent at now and
// appends the arrival time of each delivered copy (0, 1 or 2 of them, in
// arrival order) to dst. Calls must have non-decreasing now for the queue
// and FIFO models to be meaningful.
func (l *Link) Transmit(now time.Time, n int, dst []time.Time) []time.Time {
	k := l.transmit(l.ns(now), n)
	for _, a := range l.arr[:k] {
		dst = append(dst, l.base.Add(time.Duration(a)))
	}
	return dst
}

// QueueDelay returns how long a packet entering the bottleneck at now would
// wait before its serialization starts. It is zero when Rate is 0.
func (l *Link) QueueDelay(now time.Time) time.Duration {
	if l.cfg.Rate <= 0 {
		return 0
	}
	return time.Duration(max(l.busy-l.ns(now), 0))
}

// QueueOccupancy returns the bytes in the bottleneck not yet serialized at
// now, for sampling queue fill in tests. It is zero when Rate is 0.
func (l *Link) QueueOccupancy(now time.Time) int {
	if l.cfg.Rate <= 0 {
		return 0
	}
	return l.occupancy(max(l.busy-l.ns(now), 0))
}

// occupancy converts a backlog in nanoseconds to bytes at the link rate.
func (l *Link) occupancy(wait int64) int {
	if wait <= 0 {
		return 0
	}
	return int(min(mulDiv(uint64(wait), uint64(l.cfg.Rate), 8e9), math.MaxInt))
}

// transmit is Transmit in the internal time base; the arrivals are left in
// l.arr[:k]. Sim calls it directly to avoid time.Time conversions.
func (l *Link) transmit(now int64, n int) (k int) { return l.transmitFrag(now, n, false) }

// transmitFrag is transmit for a datagram that may be fragmented (frag):
// one larger than the MTU then crosses, as an IPv4 router's fragments do,
// reassembled at the receiver; its loss, queueing and rate are drawn for
// it whole.
func (l *Link) transmitFrag(now int64, n int, frag bool) (k int) {
	c := &l.cfg
	st := &l.stats
	st.Sent++
	st.SentBytes += int64(n)
	if c.MTU > 0 && n > c.MTU && !frag {
		st.DroppedMTU++
		l.trace(now, n, 0, FateTooBig)
		return 0
	}
	dep := now
	var wait int64
	if c.Rate > 0 {
		if l.busy <= now {
			l.busy, l.rem = now, 0
		}
		wait = l.busy - now
		occ := l.occupancy(wait)
		if wait > 0 && c.QueueBytes >= 0 && occ+n > c.QueueBytes {
			st.DroppedQueue++
			l.trace(now, n, 0, FateQueueFull)
			return 0
		}
		l.busy += l.txTime(n)
		dep = l.busy
		st.Queued++
		st.SumQueueDelay += time.Duration(wait)
		st.MaxQueueDelay = max(st.MaxQueueDelay, time.Duration(wait))
		st.MaxQueueBytes = max(st.MaxQueueBytes, occ+n)
	}
	if c.Loss > 0 && l.rng.Float64() < c.Loss {
		st.DroppedLoss++
		l.trace(now, n, wait, FateLost)
		return 0
	}
	arr := dep + int64(c.Delay)
	if c.Jitter > 0 {
		arr += l.rng.Int64N(int64(c.Jitter))
	}
	if c.Reorder > 0 && l.rng.Float64() < c.Reorder {
		// Held back outside the FIFO order, and it does not hold back
		// the packets behind it either.
		arr += int64(c.ReorderDelay)
		st.Reordered++
	} else {
		arr = max(arr, l.last)
		l.last = arr
	}
	l.arr[0] = arr
	k = 1
	if c.Duplicate > 0 && l.rng.Float64() < c.Duplicate {
		l.arr[1] = arr + int64(c.DuplicateDelay)
		k = 2
		st.Duplicated++
	}
	st.Delivered += int64(k)
	st.DeliveredBytes += int64(k * n)
	l.trace(now, n, wait, FateDelivered)
	return k
}

// trace calls OnTransmit if set.
func (l *Link) trace(now int64, n int, wait int64, f Fate) {
	if l.OnTransmit != nil {
		l.OnTransmit(l.base.Add(time.Duration(now)), n, time.Duration(wait), f)
	}
}

// txTime returns the serialization time of n bytes in whole nanoseconds,
// carrying the fractional part in l.rem so that rounding never makes the
// long-run rate differ from Rate.
func (l *Link) txTime(n int) int64 {
	rate := uint64(l.cfg.Rate)
	hi, lo := bits.Mul64(uint64(n), 8e9)
	var carry uint64
	lo, carry = bits.Add64(lo, l.rem, 0)
	hi += carry
	if hi >= rate {
		l.rem = 0
		return math.MaxInt64 / 4 // absurd size for the rate: effectively forever
	}
	q, r := bits.Div64(hi, lo, rate)
	l.rem = r
	return int64(min(q, math.MaxInt64/4))
}

// mulDiv returns a*b/c computed without intermediate overflow, saturating
// at MaxUint64.
func mulDiv(a, b, c uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	if hi >= c {
		return math.MaxUint64
	}
	q, _ := bits.Div64(hi, lo, c)
	return q
}

// DerivedRand returns a PCG stream determined by (seed, stream). Distinct
// stream numbers give independent-looking streams for the same seed; both
// words are passed through SplitMix64 so nearby seeds and stream numbers do
// not start PCG in nearby states. Sim uses stream 0 for Sim.Rand and
// 1+i for its i-th link; other users (e.g. a future PacketConn harness)
// can derive their own.
func DerivedRand(seed, stream uint64) *rand.Rand {
	a := splitmix64(seed ^ splitmix64(stream))
	b := splitmix64(a ^ stream ^ 0x6a09e667f3bcc909)
	return rand.New(rand.NewPCG(a, b))
}

// splitmix64 is the SplitMix64 output function: a cheap bijective mixer.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
