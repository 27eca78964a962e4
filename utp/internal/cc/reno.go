package cc

import "time"

// DefaultRenoInitialWindow is Reno's starting window in packets: RFC 6928's
// ten segments, what Linux uses.
const DefaultRenoInitialWindow = 10

// RenoConfig configures a Reno controller. Zero (or negative) fields take
// the defaults named in their comments; only MSS is required.
type RenoConfig struct {
	// MSS is the size of a full packet in bytes (payload plus header).
	// Required: must be > 0.
	MSS int
	// InitialWindow is the starting window in packets. Default
	// DefaultRenoInitialWindow (10).
	InitialWindow int
	// MaxWindowBytes caps the window. Default DefaultMaxWindowBytes
	// (1 GiB), an overflow guard only.
	MaxWindowBytes int
}

// Reno is a loss-based AIMD controller in the manner of TCP NewReno (RFC
// 5681, RFC 6582): slow start, one MSS of growth per RTT in congestion
// avoidance, halving once per loss episode, one packet after a timeout. It
// ignores delay entirely. It implements Controller.
//
// uTP's congestion control is LEDBAT; Reno stands in for the TCP flows a
// LEDBAT flow must yield to (RFC 6817 1), so the simulator can measure that
// it does. It is a faithful Reno rather than a stub so the competitor
// backs off and recovers as a real TCP flow would.
type Reno struct {
	cfg      RenoConfig
	mss      float64
	ceiling  float64
	cwnd     float64 // bytes
	ssthresh float64 // bytes; slow start while cwnd < ssthresh
	// timedOut: the last event was a timeout and no data has been
	// acknowledged since; a further timeout keeps ssthresh (RFC 5681 3.1:
	// a segment already retransmitted by the timer does not reduce it
	// again).
	timedOut     bool
	decreased    bool
	lastDecrease time.Time
	// lastFlight is the flight before the latest ACK. recoverLeft is what
	// remains to be acknowledged of the flight at the last decrease: until
	// it is, losses belong to the same episode and do not reduce the
	// window again (NewReno's recovery point, RFC 6582 3.2, counted in
	// bytes since a Controller does not see sequence numbers).
	lastFlight  int
	recoverLeft int
	// inRecovery: a loss (not a timeout) started the episode, and the
	// window holds at ssthresh until it ends (RFC 6675 5).
	inRecovery bool
	// undo is the state before the latest loss decrease, for
	// OnSpuriousLoss.
	undo lossUndo
}

var _ Controller = (*Reno)(nil)

// NewReno returns a Reno controller in slow start. It panics if
// cfg.MSS <= 0.
func NewReno(cfg RenoConfig) *Reno {
	if cfg.MSS <= 0 {
		panic("cc: RenoConfig.MSS must be > 0")
	}
	if cfg.InitialWindow <= 0 {
		cfg.InitialWindow = DefaultRenoInitialWindow
	}
	if cfg.MaxWindowBytes <= 0 {
		cfg.MaxWindowBytes = DefaultMaxWindowBytes
	}
	mss := float64(cfg.MSS)
	r := &Reno{cfg: cfg, mss: mss, ceiling: max(float64(cfg.MaxWindowBytes), mss)}
	r.ssthresh = r.ceiling
	r.cwnd = r.clamp(float64(cfg.InitialWindow) * mss)
	return r
}

// OnAck grows the window: by the bytes acknowledged, at most two MSS per
// ACK, in slow start (RFC 5681 3.1 with RFC 3465's L = 2); by MSS *
// acked / cwnd, about one MSS per RTT, in congestion avoidance (RFC 5681
// equation 3 counted in bytes). During recovery from a loss it holds.
// Delay samples are ignored.
func (r *Reno) OnAck(a Ack) {
	r.lastFlight = a.FlightBefore
	if a.AckedBytes <= 0 {
		return
	}
	r.timedOut = false
	if r.recoverLeft > 0 {
		r.recoverLeft = max(0, r.recoverLeft-a.AckedBytes)
	}
	if r.inRecovery {
		r.inRecovery = r.recoverLeft > 0
		return
	}
	acked := float64(a.AckedBytes)
	if r.cwnd < r.ssthresh {
		r.cwnd = r.clamp(min(r.cwnd+min(acked, 2*r.mss), max(r.ssthresh, r.cwnd)))
		return
	}
	r.cwnd = r.clamp(r.cwnd + r.mss*min(acked, r.cwnd)/r.cwnd)
}

// OnLoss halves the window (RFC 5681 3.2 equation 4, with the window
// standing in for the flight size) once per loss episode: not again until
// the flight at the decrease has been acknowledged (RFC 6582), nor within
// rtt of it. When rtt is 0 the interval is 100 ms.
func (r *Reno) OnLoss(now time.Time, rtt time.Duration) {
	if rtt <= 0 {
		rtt = defaultLossInterval
	}
	if r.recoverLeft > 0 || (r.decreased && now.Sub(r.lastDecrease) < rtt) {
		r.undo.valid = false
		return
	}
	r.undo = lossUndo{valid: true, cwnd: r.cwnd, ssthresh: r.ssthresh}
	r.ssthresh = max(r.cwnd/2, 2*r.mss)
	r.cwnd = r.clamp(r.ssthresh)
	r.markDecrease(now)
	r.inRecovery = true
}

// OnTimeout sets ssthresh to half the window (not again for a repeated
// timeout) and the window to one packet, the loss window of RFC 5681 3.1.
// Slow start follows at once; losses of packets sent before the timeout
// belong to the same episode.
func (r *Reno) OnTimeout(now time.Time) {
	r.undo.valid = false
	if !r.timedOut {
		r.ssthresh = max(r.cwnd/2, 2*r.mss)
	}
	r.timedOut = true
	r.cwnd = r.clamp(r.mss)
	r.markDecrease(now)
	r.inRecovery = false
}

// OnSpuriousLoss restores the window and ssthresh from before the latest
// OnLoss and ends its recovery episode, unless a timeout came since
// (Controller; RFC 4015 section 3.2's response).
func (r *Reno) OnSpuriousLoss(now time.Time) {
	if !r.undo.valid {
		return
	}
	r.cwnd = r.clamp(max(r.cwnd, r.undo.cwnd))
	r.ssthresh = max(r.ssthresh, r.undo.ssthresh)
	r.inRecovery, r.recoverLeft, r.decreased = false, 0, false
	r.undo.valid = false
}

func (r *Reno) markDecrease(now time.Time) {
	r.decreased, r.lastDecrease = true, now
	r.recoverLeft = max(r.recoverLeft, r.lastFlight, int(r.mss))
}

// OnPeerDelay does nothing: Reno does not look at delay.
func (r *Reno) OnPeerDelay(time.Time, uint32) {}

// Window returns the congestion window in bytes, at least one MSS.
func (r *Reno) Window() int { return int(r.cwnd) }

// QueuingDelay returns 0: Reno does not estimate it.
func (r *Reno) QueuingDelay() time.Duration { return 0 }

// InSlowStart reports whether the window is below ssthresh.
func (r *Reno) InSlowStart() bool { return r.cwnd < r.ssthresh }

func (r *Reno) clamp(w float64) float64 { return max(r.mss, min(w, r.ceiling)) }
