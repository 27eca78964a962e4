package proto

import (
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// Pacing spreads a window's packets over the round trip instead of
// sending them in one burst as ACKs free room: a slow-start burst of
// twice the bottleneck's rate otherwise fills a short buffer within the
// round trip and loses the excess, at high bandwidth-delay products
// hundreds of packets at once. There is no goroutine: the state machine
// holds packets back in PollTransmit and says when to send again through
// NextDeadline (timerPace), which the IO layer already serves.
//
// It is a token bucket: credit accrues at the pacing rate and a packet
// goes when the credit is positive. The rate is the window per smoothed
// RTT times a gain, 2 in slow start (the window doubles each RTT) and 1.25
// after, the gains Linux uses for TCP (net.ipv4.tcp_pacing_ss_ratio and
// tcp_pacing_ca_ratio are 200% and 120%). The bucket holds a millisecond
// of sending, at least two packets, so the IO layer's timer fires at most
// about once a millisecond and its batches stay large (Linux sizes its
// pacing quantum the same way, tcp_tso_autosize).

const (
	pacingGainSlowStart = 2.0
	pacingGainAvoidance = 1.25
	// pacingBurst is how much sending time the bucket holds.
	pacingBurst = time.Millisecond
	// pacingMinPackets is the least the bucket holds, in packets.
	pacingMinPackets = 2
)

// pacer is the token bucket.
type pacer struct {
	credit float64 // bytes that may go now; may fall below zero by one packet
	last   time.Time
}

// pacingRate is the rate in bytes per second, or 0 while the RTT is
// unknown (nothing is paced then).
func (c *Conn) pacingRate() float64 {
	srtt := c.rtt.SRTT()
	if srtt <= 0 || c.cfg.NoPacing {
		return 0
	}
	gain := pacingGainAvoidance
	if c.ctrl.InSlowStart() {
		gain = pacingGainSlowStart
	}
	return gain * float64(c.sendWindow()) / srtt.Seconds()
}

// paceReady refills the bucket to now and reports whether a paced packet
// may go. When it may not, and something waits to be sent, timerPace is
// set to when it may.
func (c *Conn) paceReady(now time.Time) bool {
	p := &c.pace
	rate := c.pacingRate()
	if rate == 0 {
		p.last = time.Time{} // the bucket starts full once there is a rate
		return true
	}
	mss := float64(c.cfg.PacketSize + wire.HeaderSize)
	burst := max(rate*pacingBurst.Seconds(), pacingMinPackets*mss)
	if !p.last.IsZero() {
		p.credit = min(burst, p.credit+rate*now.Sub(p.last).Seconds())
	} else {
		p.credit = burst
	}
	p.last = now
	if p.credit > 0 {
		return true
	}
	if c.wantsToSend() {
		wait := time.Duration((1 - p.credit) / rate * float64(time.Second))
		c.timers[timerPace] = now.Add(max(wait, time.Microsecond))
	}
	return false
}

// paced charges one transmitted packet of n bytes to the bucket.
func (c *Conn) paced(n int) { c.pace.credit -= float64(n) }

// wantsToSend reports whether a data, FIN or retransmitted packet is
// waiting (whether or not the window lets it go).
func (c *Conn) wantsToSend() bool {
	s := &c.snd
	return s.lostN > 0 || s.ring.end > s.next || (s.finQueued && !s.finSent)
}
