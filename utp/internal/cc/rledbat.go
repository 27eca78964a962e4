package cc

import (
	"math"
	"time"
)

// defaultRecvRTT stands in for the RTT before a receiver can estimate it.
const defaultRecvRTT = 100 * time.Millisecond

// DefaultRecvInitialWindow is the window in packets a receiver advertises
// before any data arrives: RFC 6928's initial window of ten segments, with
// which Linux also opens its receive window.
const DefaultRecvInitialWindow = 10

// The evidence that a sender ignores delay (see RLEDBAT): blindStrikes
// intervals of about an RTT in a row in which the queue stayed above
// blindQueueNum/blindQueueDen of the target all along and the bytes
// received per RTT did not fall below blindKeepNum/blindKeepDen of the
// interval before. Why these: a LEDBAT++ sender above 5/4 of the target
// takes half its window off per RTT (its C of 2), so its flight falls by
// far more than a tenth within two RTTs of the queue passing that mark;
// the third interval leaves room for the RTT of growth already in flight
// when its slow start ends. A sender that ignores delay keeps its flight,
// or grows it, for as long as the queue stands.
const (
	blindStrikes                 = 3
	blindQueueNum, blindQueueDen = 5, 4
	blindKeepNum, blindKeepDen   = 9, 10
)

// RLEDBATConfig configures a receiver-side controller. Zero fields take the
// defaults named in their comments; only MSS is required.
type RLEDBATConfig struct {
	// MSS is the size of a full packet in bytes. Required: must be > 0.
	MSS int
	// Target is the queuing delay the receiver tolerates before it limits
	// the sender. Default DefaultPPTarget (60 ms), LEDBAT++'s (RFC 9840
	// section 4 runs LEDBAT++ at the receiver).
	Target time.Duration
	// MinWindow is the window floor in packets. Default 2.
	MinWindow int
	// MaxWindowBytes is the ceiling, the receive buffer. Default
	// DefaultMaxWindowBytes.
	MaxWindowBytes int
	// InitialWindow is the window in packets before any data arrives
	// (see RLEDBAT). Default DefaultRecvInitialWindow (10).
	InitialWindow int
}

// RLEDBAT is a receiver-driven LEDBAT++ (rLEDBAT, RFC 9840) adapted to
// uTP: from the one-way delay of the peer's packets, which a uTP receiver
// measures anyway to fill in timestamp_difference, it computes a window
// that the connection advertises (wnd_size) when it is below the free
// receive buffer. A sender that ignores delay (CUBIC, or no congestion
// control at all) is then held near the target by our advertised window.
//
// Until the bound starts, the window opens as data arrives, as Linux's
// receive window does (tcp_rcv_space_adjust): InitialWindow packets plus
// twice the bytes received, up to the ceiling. A sender whose window grows
// by at most one byte per byte acknowledged, from at most InitialWindow
// packets (LEDBAT++'s slow start and every growth rule of it, LEDBAT's,
// Reno's), never meets it; one that sends whatever it is allowed grows at
// most threefold per RTT. Why not the whole receive buffer from the
// start: RFC 9840 4.1.1 lets the window shrink only by what arrives, so
// a buffer's worth of window, once advertised, binds only after that many
// bytes (33 s of a 4 MiB buffer at 1 Mbit/s), and a sender that ignores
// delay keeps the bottleneck's buffer full all that time.
//
// The bound is inactive until the receiver has evidence that the sender
// ignores delay: for three RTTs in a row the queue stayed above 5/4 of
// the target while the sender's flight, the bytes received per RTT, did
// not fall (blindStrikes). A LEDBAT++ sender cuts its window within an
// RTT of the queue passing the target, so while it can still decrease it
// never gives that evidence (an RFC 6817 LEDBAT sender, which aims at
// 100 ms, does, and is held to our target). Why wait for it: a bound that
// starts at LEDBAT++'s slow-start exit (3/4 of the target) and runs its
// own LEDBAT++ beside the sender's cut our senders' flights twice at
// their slow-start exits and then held their ramps after the initial
// slowdown, which ended those ramps at the receiver's smaller window
// (docs/protocol.md has the trace). Once active the bound starts from
// the bytes received in the last RTT and follows LEDBAT++'s congestion
// avoidance (additive increase of GAIN per RTT below the target,
// multiplicative decrease above it). While the delay shows almost no queue
// (under a quarter of the target) it stays at least twice the bytes
// received per RTT, 1 + target/base RTT times on paths over 60 ms
// (lowQueueGrowth).
//
// The RTT, which a pure receiver cannot measure from ACKs, is the sum of
// the two directions' base one-way delays (the clock offset cancels) plus
// the queue.
type RLEDBAT struct {
	cfg     RLEDBATConfig
	mss     float64
	floor   float64
	ceiling float64
	target  float64 // microseconds
	wnd     float64
	active  bool

	fwd delayHist // delays we measure of the peer's packets: the queue we watch
	rev delayHist // the peer's timestamp_difference: our packets' delays
	qd  time.Duration

	recvd     int64     // payload bytes received
	markAt    time.Time // start of the current rate interval
	markRecvd int64
	perRTT    float64 // bytes received in the last interval, scaled to an RTT
	prevRTT   float64 // perRTT of the interval before
	rate      float64 // bytes received per second in the last interval

	minQD   time.Duration // the smallest queuing delay in the current interval
	strikes int           // intervals in a row that showed a delay-blind sender
}

// NewRLEDBAT returns a receiver controller; now starts its delay history.
// It panics if cfg.MSS <= 0.
func NewRLEDBAT(now time.Time, cfg RLEDBATConfig) *RLEDBAT {
	cfg = cfg.withDefaults()
	mss := float64(cfg.MSS)
	floor := float64(cfg.MinWindow) * mss
	ceiling := max(float64(cfg.MaxWindowBytes), floor)
	return &RLEDBAT{
		cfg: cfg, mss: mss, floor: floor, ceiling: ceiling,
		wnd:    float64(InitialRecvWindow(cfg)),
		target: float64(cfg.Target.Microseconds()),
		fwd:    newDelayHist(now), rev: newDelayHist(now), markAt: now,
	}
}

// InitialRecvWindow returns the window in bytes that NewRLEDBAT(now, cfg)
// starts from, without building one: a Socket answering a SYN statelessly
// advertises what the connection it may build later would. It panics if
// cfg.MSS <= 0.
func InitialRecvWindow(cfg RLEDBATConfig) int {
	cfg = cfg.withDefaults()
	mss := float64(cfg.MSS)
	floor := float64(cfg.MinWindow) * mss
	ceiling := max(float64(cfg.MaxWindowBytes), floor)
	return int(max(floor, min(float64(cfg.InitialWindow)*mss, ceiling)))
}

// withDefaults fills in the zero fields; it panics if MSS <= 0.
func (cfg RLEDBATConfig) withDefaults() RLEDBATConfig {
	if cfg.MSS <= 0 {
		panic("cc: RLEDBATConfig.MSS must be > 0")
	}
	if cfg.Target <= 0 {
		cfg.Target = DefaultPPTarget
	}
	if cfg.MinWindow <= 0 {
		cfg.MinWindow = DefaultPPMinWindow
	}
	if cfg.MaxWindowBytes <= 0 {
		cfg.MaxWindowBytes = DefaultMaxWindowBytes
	}
	if cfg.InitialWindow <= 0 {
		cfg.InitialWindow = DefaultRecvInitialWindow
	}
	return cfg
}

// Window returns the window the receiver would advertise, in bytes.
func (r *RLEDBAT) Window() int { return int(r.wnd) }

// QueuingDelay returns the queuing delay of the peer's packets.
func (r *RLEDBAT) QueuingDelay() time.Duration { return r.qd }

// OnPacket applies one packet from the peer: delay is the one-way delay we
// measured of it (our clock minus its timestamp, 0: none), echoed the
// timestamp_difference it carries (0: none), payload its data bytes.
func (r *RLEDBAT) OnPacket(now time.Time, delay, echoed uint32, payload int) {
	if followDrift(&r.fwd, &r.rev, now, echoed) || delay != 0 {
		if delay != 0 {
			r.fwd.add(now, delay)
		}
		if us, ok := r.fwd.queuingDelay(); ok {
			r.qd = time.Duration(us) * time.Microsecond
		}
	}
	if payload <= 0 {
		return
	}
	r.recvd += int64(payload)
	r.minQD = min(r.minQD, r.qd)
	if r.measureRate(now) {
		r.judgeSender()
	}
	if !r.active {
		r.wnd = r.clamp(float64(r.cfg.InitialWindow)*r.mss + 2*float64(r.recvd))
		return
	}
	r.update(float64(payload))
}

// judgeSender counts the intervals in a row that show a sender ignoring
// delay (see blindStrikes) and activates the bound at blindStrikes.
func (r *RLEDBAT) judgeSender() {
	high := r.minQD*blindQueueDen > r.cfg.Target*blindQueueNum
	kept := r.perRTT*blindKeepDen >= r.prevRTT*blindKeepNum
	r.minQD = r.qd
	if !high || !kept {
		r.strikes = 0
		return
	}
	r.strikes++
	if !r.active && r.strikes >= blindStrikes {
		r.active = true
		r.wnd = r.clamp(r.perRTT)
	}
}

// Active reports whether the bound has started: the sender was seen to
// ignore delay (see RLEDBAT).
func (r *RLEDBAT) Active() bool { return r.active }

// update moves the active window for payload bytes received.
func (r *RLEDBAT) update(payload float64) {
	qd := float64(r.qd.Microseconds())
	if qd*4 < r.target {
		// The rate times the RTT of now, not the interval's: after a
		// queue drains, the bytes of an interval that had it scaled to
		// that interval's RTT are the old flight with its queue, and
		// growing from them put the queue back at once.
		flight := r.rate * r.rtt().Seconds()
		r.wnd = r.clamp(max(r.wnd, (1+r.lowQueueGrowth())*flight))
	}
	perRTT := r.gain() * r.mss
	if qd > r.target {
		perRTT -= ppDecreaseConstant * r.wnd * (qd/r.target - 1)
	}
	r.wnd = r.clamp(r.wnd + max(perRTT*payload/r.wnd, -payload/2))
}

// lowQueueGrowth is the share by which the active bound may exceed the
// bytes received per RTT while the queue is under a quarter of the
// target: 1, a doubling, but at most target/base RTT. Why the bound: the
// window's effect on the queue shows a base RTT late, and a doubling from
// a full link puts a base RTT of queue on it before the delay says so; on
// a 200 ms path a sender that ignores delay kept the queue at 178 ms
// (10 Mbit/s) and 236 ms (100 Mbit/s). Up to 60 ms of base RTT the window
// still doubles. The bound binds only a sender already seen to ignore
// delay (see RLEDBAT): tried when the bound also started at 3/4 of the
// target, it held our own LEDBAT++ sender on a 50 Mbit/s, 200 ms path to
// 89% of the link (docs/protocol.md).
func (r *RLEDBAT) lowQueueGrowth() float64 {
	g := 1.0
	if base := r.baseRTT(); base > 0 {
		g = min(g, r.cfg.Target.Seconds()/base.Seconds())
	}
	return g
}

// measureRate keeps perRTT, the bytes received per RTT over the last
// interval of about one RTT, and reports whether an interval ended.
func (r *RLEDBAT) measureRate(now time.Time) bool {
	rtt := r.rtt()
	elapsed := now.Sub(r.markAt)
	if elapsed < rtt {
		return false
	}
	r.prevRTT = r.perRTT
	r.rate = float64(r.recvd-r.markRecvd) / elapsed.Seconds()
	r.perRTT = r.rate * rtt.Seconds()
	r.markAt, r.markRecvd = now, r.recvd
	return true
}

// baseRTT is the sum of both directions' base delays, or 0 before both
// are known: each sample carries the clock offset between the hosts, with
// opposite signs in the two directions.
func (r *RLEDBAT) baseRTT() time.Duration {
	f, ok1 := r.fwd.baseDelay()
	b, ok2 := r.rev.baseDelay()
	if !ok1 || !ok2 {
		return 0
	}
	sum := f + b
	if int32(sum) <= 0 {
		return 0
	}
	return time.Duration(sum) * time.Microsecond
}

// rtt estimates the current RTT: the base RTT plus the queue.
func (r *RLEDBAT) rtt() time.Duration {
	base := r.baseRTT()
	if base == 0 {
		return defaultRecvRTT
	}
	return max(base+r.qd, time.Millisecond)
}

// gain is LEDBAT++'s GAIN (see LEDBATPP.gain) from the base RTT.
func (r *RLEDBAT) gain() float64 {
	base := r.baseRTT()
	if base == 0 {
		return 1.0 / maxGainDivisor
	}
	f := math.Ceil(2 * r.cfg.Target.Seconds() / base.Seconds())
	return 1 / min(maxGainDivisor, max(1, f))
}

func (r *RLEDBAT) clamp(w float64) float64 { return max(r.floor, min(w, r.ceiling)) }
