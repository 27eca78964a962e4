package proto

import (
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// Tail loss probe, RFC 8985 section 7, in uTP's terms. When the last
// packets of a flight are lost, no later packet is acknowledged, so
// neither RACK nor duplicate ACKs can declare them lost, and without a
// probe only the retransmission timeout repairs them, after at least
// 200 ms (cc.DefaultMinRTO), collapsing the window to one packet. So a
// probe timeout (PTO) of about two smoothed round trips (sampledPTO)
// after the last new data sent or the last ACK that brought news sends
// one packet: new data if a full packet waits and the peer's window has
// room, else the most recently sent packet still in flight again. Its ACK (a SACK of the
// probe, or a cumulative ACK) is a packet sent later being acknowledged,
// so RACK then declares the tail lost and fast recovery repairs it, or
// it shows nothing was lost. The probe changes no window, and only one
// is outstanding until an ACK brings news. It is not armed in recovery,
// with a retransmission waiting, or when the RTO comes first.

// tlpNoSample is the PTO before any RTT sample (RFC 8985 7.2: 1 s).
const tlpNoSample = time.Second

// tlpDelayedAck is added to the PTO when at most one packet is in
// flight, whose ACK the peer may hold for its delayed-ACK timer (RFC 8985
// 7.2's WCDelAckT). RFC 8985 takes TCP's worst case, 200 ms; a uTP peer
// holds one for less (ours for at most Config.AckDelay, 10 ms by
// default, and libutp only until it has processed the datagrams of one
// read), and 200 ms would put every such probe, a lost FIN's say, after
// the 200 ms minimum RTO. 50 ms allows for a slower peer and keeps it
// before.
const tlpDelayedAck = 50 * time.Millisecond

// tlpGranularity is added to every sampled probe timeout: the least
// that Linux adds to its TCP probe timeout (TCP_TIMEOUT_MIN, two
// jiffies, 2 ms at HZ=1000), so that a round trip far below a
// millisecond does not make the probe as fast as the scheduler's noise.
const tlpGranularity = 2 * time.Millisecond

// tlpState is the probe's state.
type tlpState struct {
	base  time.Time // the PTO runs from here: new data sent, or an ACK that brought news
	out   bool      // a probe is outstanding: no other until an ACK brings news
	due   bool      // the PTO fired: the next poll sends the probe
	force bool      // the probe's new packet may ignore the congestion window
}

// tlpDeadline is when the probe is due, zero if none is armed. It is a
// derived timer (timers.go): it moves with the state it depends on.
func (c *Conn) tlpDeadline() time.Time {
	s, t := &c.snd, &c.tlp
	if c.cfg.NoTailProbe || c.state != stateConnected || t.out || t.due || t.base.IsZero() || c.rec.inRecovery ||
		s.flight == 0 || s.lostN > 0 || c.rewind.pending || s.unconfirmed {
		return time.Time{}
	}
	pto := tlpNoSample
	if c.rtt.HasSample() {
		pto = c.sampledPTO()
	}
	if s.flight <= c.segmentPayload()+wire.HeaderSize {
		pto += tlpDelayedAck
	}
	at := t.base.Add(pto)
	if rto := c.timers[timerRetransmit]; !rto.IsZero() && !at.Before(rto) {
		return time.Time{} // the RTO comes first (RFC 8985 7.2: PTO = min(PTO, RTO))
	}
	return at
}

// sampledPTO is the probe timeout once the RTT is sampled: RFC 8985's
// two smoothed round trips, at least the smoothed round trip plus four
// times its variation (RFC 9002 6.2.1's form), plus tlpGranularity.
// Why: on loopback two round trips are a fraction of a millisecond, less
// than a loaded machine keeps a receiving process descheduled, so with
// the bare 2·SRTT every sender probed at every such pause and 95-100% of
// the probes arrived as duplicates (64 senders into one Socket under
// load); the variation grows with those pauses.
func (c *Conn) sampledPTO() time.Duration {
	srtt := c.rtt.SRTT()
	return max(2*srtt, srtt+4*c.rtt.RTTVar()) + tlpGranularity
}

// onTLPTimeout schedules the probe for the next poll.
func (c *Conn) onTLPTimeout() {
	c.tlp.out, c.tlp.due = true, true
	c.stats.TailProbes++
}

// tlpNews restarts the PTO: new data went out, or an ACK brought news
// (the cumulative ACK moved, or a SACK acknowledged something), which
// also ends the wait for an outstanding probe's answer.
func (c *Conn) tlpNews(now time.Time, acked bool) {
	c.tlp.base = now
	if acked {
		c.tlp.out = false
	}
}

// tlpPending returns the probe's packet when the PTO has fired.
func (c *Conn) tlpPending(now time.Time) (uint16, bool) {
	if !c.tlp.due {
		return 0, false
	}
	return c.tailProbe(now)
}

// tailProbe picks the probe's packet: a new full packet if one waits and
// the peer's window has room for it, else the most recently sent packet
// in flight, taken out of flight to be sent again. After the probe the
// RTO, not another probe, guards the flight (RFC 8985 7.3).
func (c *Conn) tailProbe(now time.Time) (uint16, bool) {
	s := &c.snd
	c.tlp.due = false
	c.setTimer(timerRetransmit, now.Add(c.rto()))
	size := c.segmentPayload() // what nextNewPacket would send
	if int(s.ring.end-s.next) >= size && s.peerWnd-s.flight >= size+wire.HeaderSize {
		c.tlp.force = true
		seq, ok := c.nextNewPacket(now)
		c.tlp.force = false
		if ok {
			return seq, true
		}
	}
	for seq := s.seqNr - 1; seq != s.una-1; seq-- {
		if p := s.pkt(seq); p.inFlight && p.sends > 0 {
			p.inFlight = false
			s.flight -= p.size()
			// Sent next, as transmission txCount+1: its duplicate's
			// ACK is no evidence of loss (dupAck).
			s.probeDup, s.probeDupTx = true, s.txCount+1
			return seq, true
		}
	}
	return 0, false
}
