package cc

import "time"

// Defaults for RTTConfig.
const (
	// DefaultInitialRTO is the RTO before any RTT sample (RFC 6298 2.1).
	DefaultInitialRTO = time.Second
	// DefaultMinRTO is the lower bound of the RTO. Deviation: RFC 6298 2.4
	// says 1 s; we use 200 ms, Linux's TCP_RTO_MIN, because with a 1 s
	// minimum a lost tail packet on a short path costs tens of RTTs and
	// dominates goodput.
	DefaultMinRTO = 200 * time.Millisecond
	// DefaultMaxRTO caps the backed-off RTO (RFC 6298 2.5: a maximum may be
	// placed on RTO provided it is at least 60 seconds).
	DefaultMaxRTO = 60 * time.Second
	// DefaultGranularity is the clock granularity G of RFC 6298 2.
	DefaultGranularity = time.Millisecond
	// maxRTTSample bounds samples so the fixed-point updates below cannot
	// overflow; no real round trip comes near it.
	maxRTTSample = time.Hour
)

// RTTConfig configures an RTTEstimator. Zero (or negative) fields take
// the defaults named in their comments.
type RTTConfig struct {
	// Initial is the RTO before any sample. Default DefaultInitialRTO (1 s).
	Initial time.Duration
	// Min is the RTO floor. Default DefaultMinRTO (200 ms), a documented
	// deviation from RFC 6298's 1 s.
	Min time.Duration
	// Max caps the RTO, including backoff. Default DefaultMaxRTO (60 s).
	// It wins over Min if the two conflict.
	Max time.Duration
	// Granularity is the clock granularity G. Default DefaultGranularity
	// (1 ms).
	Granularity time.Duration
	// MaxBackoff stops the doubling once the RTO reaches it; an RTO that is
	// larger before any backoff is left alone. Default: Max. A caller that
	// bounds consecutive timeouts uses it to make both the time to give up
	// and the number of attempts within that time predictable (a documented
	// deviation from RFC 6298 2.5, which allows a cap of 60 s or more).
	MaxBackoff time.Duration
}

// withDefaults returns c with zero and negative fields replaced by their
// defaults.
func (c RTTConfig) withDefaults() RTTConfig {
	if c.Initial <= 0 {
		c.Initial = DefaultInitialRTO
	}
	if c.Min <= 0 {
		c.Min = DefaultMinRTO
	}
	if c.Max <= 0 {
		c.Max = DefaultMaxRTO
	}
	if c.Granularity <= 0 {
		c.Granularity = DefaultGranularity
	}
	if c.MaxBackoff <= 0 || c.MaxBackoff > c.Max {
		c.MaxBackoff = c.Max
	}
	return c
}

// RTTEstimator computes the smoothed RTT, its variation and the
// retransmission timeout as RFC 6298 specifies. Karn's algorithm (RFC 6298
// 3: no samples from retransmitted packets) is the caller's job.
type RTTEstimator struct {
	cfg     RTTConfig
	srtt    time.Duration
	rttvar  time.Duration
	has     bool
	backoff uint // number of doublings applied to the RTO
	// minRTT is the smallest sample: the path's round trip without the
	// queue a transfer builds, which the two ends of a connection measure
	// alike (SRTT differs: the bulk sender's samples carry its own queue).
	minRTT time.Duration
}

// NewRTTEstimator returns an estimator with no samples.
func NewRTTEstimator(cfg RTTConfig) *RTTEstimator {
	return &RTTEstimator{cfg: cfg.withDefaults()}
}

// OnSample folds in one RTT measurement. Negative samples are ignored.
//
// First sample (RFC 6298 2.2): SRTT = R, RTTVAR = R/2. Later samples (2.3),
// with alpha = 1/8 and beta = 1/4, RTTVAR updated first from the old SRTT:
//
//	RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R|
//	SRTT   = 7/8 SRTT   + 1/8 R
//
// A fresh sample also clears the backoff: RFC 6298 5.5 keeps the doubled
// RTO only until a new RTT can be measured, after which 2.3 recomputes it.
func (r *RTTEstimator) OnSample(rtt time.Duration) {
	if rtt < 0 {
		return
	}
	rtt = min(rtt, maxRTTSample)
	r.backoff = 0
	if !r.has {
		r.srtt, r.rttvar, r.minRTT, r.has = rtt, rtt/2, rtt, true
		return
	}
	r.minRTT = min(r.minRTT, rtt)
	r.rttvar = (3*r.rttvar + abs(r.srtt-rtt)) / 4
	r.srtt = (7*r.srtt + rtt) / 8
}

// RTO returns the retransmission timeout: Initial before any sample,
// otherwise SRTT + max(G, 4*RTTVAR) (RFC 6298 2.3); at least Min (2.4),
// doubled per backoff (5.5) and capped at Max (2.5).
func (r *RTTEstimator) RTO() time.Duration {
	rto := r.cfg.Initial
	if r.has {
		rto = r.srtt + max(r.cfg.Granularity, 4*r.rttvar)
	}
	rto = min(max(rto, r.cfg.Min), r.cfg.Max)
	ceiling := max(rto, r.cfg.MaxBackoff)
	for range r.backoff {
		if rto >= ceiling/2 {
			return ceiling
		}
		rto *= 2
	}
	return rto
}

// backoffCeiling is the largest RTO that backoff can reach now.
func (r *RTTEstimator) backoffCeiling() time.Duration {
	saved := r.backoff
	r.backoff = 0
	base := r.RTO()
	r.backoff = saved
	return max(base, r.cfg.MaxBackoff)
}

// Backoff doubles the RTO after a retransmission timeout (RFC 6298 5.5),
// bounded by Max. Once the RTO has reached Max further calls do nothing,
// so the count cannot grow without bound.
func (r *RTTEstimator) Backoff() {
	if r.RTO() < r.backoffCeiling() {
		r.backoff++
	}
}

// ResetBackoff discards the backoff, for a caller that has seen new data
// acknowledged without an RTT sample it may use.
func (r *RTTEstimator) ResetBackoff() {
	r.backoff = 0
}

// SRTT returns the smoothed RTT, 0 before the first sample.
func (r *RTTEstimator) SRTT() time.Duration {
	return r.srtt
}

// MinRTT returns the smallest sample so far, 0 before the first.
func (r *RTTEstimator) MinRTT() time.Duration {
	return r.minRTT
}

// RTTVar returns the RTT variation, 0 before the first sample.
func (r *RTTEstimator) RTTVar() time.Duration {
	return r.rttvar
}

// HasSample reports whether any sample has been taken.
func (r *RTTEstimator) HasSample() bool {
	return r.has
}

// abs returns |d|.
func abs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
