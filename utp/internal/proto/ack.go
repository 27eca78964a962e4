package proto

import (
	"math"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/cc"
	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

const (
	// dupAckThreshold: libutp's DUPLICATE_ACKS_BEFORE_RESEND and TCP's
	// fast retransmit (RFC 5681 3.2).
	dupAckThreshold = 3
	// sackThreshold: with this many packets selectively acknowledged, and
	// no reordering seen, a packet is lost as soon as one sent after it is
	// acknowledged (RFC 6675's DupThresh, RFC 8985 6.2 step 4).
	sackThreshold = 3
)

// ackResult gathers what one ACK did.
type ackResult struct {
	bytes    int       // newly acknowledged, headers included (cwnd counts them)
	advanced bool      // the cumulative ack moved
	sacked   bool      // a SACK bit acknowledged something new
	sampleAt time.Time // send time of the newest never-retransmitted packet acked
	sampleTx uint64
	maxTx    uint64 // newest transmission acknowledged
	// echo is the send time, on our clock, of the latest packet the peer
	// had received when it sent this ACK: its timestamp less its
	// timestamp_difference (see judgeLoss).
	echo    uint32
	hasEcho bool
}

// onAck applies the acknowledgement information of an accepted packet:
// cumulative ack_nr, selective ACK, loss detection by duplicate ACKs and
// by time (recovery.go), the RTT sample and the congestion controller.
func (c *Conn) onAck(now time.Time, h *wire.Header, payloadLen int) {
	s := &c.snd
	ack := h.AckNr
	if s.inUse() == 0 || wire.SeqLess(ack, s.una-1) {
		// Nothing outstanding, or an old ack_nr: a reordered packet or a
		// keepalive (which acks ack_nr−1 on purpose). Neither may count as
		// a duplicate ACK.
		return
	}
	flightBefore := c.flightForController()
	res := ackResult{echo: h.Timestamp - h.TimestampDiff, hasEcho: h.TimestampDiff != 0 && h.Timestamp != 0}
	for s.inUse() > 0 && wire.SeqLessEq(s.una, ack) {
		p := s.pkt(s.una)
		if p.sacked {
			s.sackedN--
		}
		c.ackPacket(now, s.una, p, &res)
		s.una++
		res.advanced = true
	}
	// Only a cumulative ACK acknowledges the FIN: a SACKed FIN says nothing
	// about the data before it.
	if !s.finAcked && s.finSent && wire.SeqLess(s.finSeq, s.una) {
		s.finAcked = true
		c.events.set(EventWritable) // a closing writer waits for this
	}
	if h.SACK != nil {
		c.applySACK(now, ack, h.SACK, &res)
	}
	c.released()
	c.judgeTimeout(now, &res)
	if !res.sampleAt.IsZero() && res.sampleTx == res.maxTx && res.maxTx > s.largestAckedTx {
		// Only when the newest transmission this ACK covers is news and was
		// a first transmission (Karn's rule). A cumulative ACK that jumps
		// after a hole is repaired also covers packets sent long ago, and
		// would inflate SRTT and RTTVAR (QUIC takes samples the same way,
		// RFC 9002 5.1).
		c.rtt.OnSample(now.Sub(res.sampleAt))
	}
	s.largestAckedTx = max(s.largestAckedTx, res.maxTx)
	c.detectLoss(now, h, payloadLen, &res)
	if res.advanced {
		c.endRecovery()
	}
	if res.advanced || res.sacked {
		c.tlpNews(now, true)
	}
	if res.bytes > 0 {
		c.ctrl.OnAck(cc.Ack{
			Now: now, AckedBytes: res.bytes, FlightBefore: flightBefore,
			Delay: h.TimestampDiff, HasDelay: h.TimestampDiff != 0, RTT: c.rtt.SRTT(),
		})
		c.stats.DelaySamples++
	}
	if res.advanced {
		// RFC 6298 5.3 and 5.7: progress restarts the timer and clears the
		// backoff.
		c.consecutiveTimeouts = 0
		c.rtt.ResetBackoff()
		c.setTimer(timerRetransmit, time.Time{})
		if s.inUse() > 0 && (s.flight > 0 || s.inUse() > s.lostN+s.sackedN) {
			// Packets taken out of flight unseen (noteUnseen) are still
			// unacknowledged: the timer guards them too.
			c.setTimer(timerRetransmit, now.Add(c.rto()))
		}
	}
}

// ackPacket marks packet seq acknowledged.
func (c *Conn) ackPacket(now time.Time, seq uint16, p *outPacket, res *ackResult) {
	s := &c.snd
	if p.sacked {
		return
	}
	if p.sends > 0 {
		c.onAcked(now, seq, p, res)
	}
	p.sacked = true
	p.unseen = false
	if p.inFlight {
		p.inFlight = false
		s.flight -= p.size()
	}
	if p.lost {
		p.lost = false
		s.lostN--
	}
	res.bytes += p.size()
	if p.probe {
		c.probeAcked(now, p)
	}
	res.maxTx = max(res.maxTx, p.txID)
	if p.sends == 1 && p.txID > res.sampleTx {
		res.sampleAt, res.sampleTx = p.sentAt, p.txID
	}
}

// released frees the send buffer behind the cumulative ack.
func (c *Conn) released() {
	s := &c.snd
	upTo := s.next
	if s.inUse() > 0 {
		upTo = s.pkt(s.una).off
	}
	if upTo > s.ring.base {
		s.ring.discard(upTo)
		if c.takeLoan() {
			c.events.set(EventWritable)
		}
	}
}

// applySACK acknowledges the packets named by a selective ACK bitmask.
func (c *Conn) applySACK(now time.Time, ack uint16, mask []byte, res *ackResult) {
	s := &c.snd
	for i := range len(mask) * 8 {
		if !wire.SACKHas(mask, i) {
			continue
		}
		seq := ack + 2 + uint16(i)
		if !wire.SeqLess(seq, s.seqNr) {
			return
		}
		if p := s.pkt(seq); !p.sacked {
			c.ackPacket(now, seq, p, res)
			s.sackedN++
			res.sacked = true
		}
	}
}

// detectLoss declares packets lost on three duplicate ACKs (libutp,
// RFC 5681) while the path has not been seen to reorder, and by time
// (RACK, rackDetect) whenever an ACK acknowledged something.
func (c *Conn) detectLoss(now time.Time, h *wire.Header, payloadLen int, res *ackResult) {
	s := &c.snd
	if res.advanced {
		s.dupAcks = 0
	} else if c.dupAck(h, payloadLen, res) {
		s.dupAcks++
	}
	if s.dupAcks == c.dupThreshold() && s.inUse() > 0 && !c.rec.reordering {
		// Duplicate ACKs still count when the peer's SACK does not reach
		// far enough to name what it holds (libutp's covers 32 packets).
		if p := s.pkt(s.una); !p.sacked && !p.fastResent && p.inFlight {
			c.markLost(now, p)
		}
	}
	c.noteSACKHorizon(h)
	c.noteUnseen(res)
	if res.bytes > 0 {
		c.rackDetect(now)
	}
	c.echoDetect(now, res)
}

// dupAck reports whether an ACK that did not advance is a duplicate ACK:
// evidence that a packet sent after the oldest reached the peer. A STATE
// repeating ack_nr is one when its SACK names something new (RFC 6675
// 2). Without news it is one only if all of these hold:
//
//   - its window is not larger than the last one: a larger window is a
//     window update after the peer's reader caught up (RFC 5681 2 asks
//     for an equal window, but uTP receivers shrink theirs by what they
//     hold out of order, so the duplicates of a loss seldom repeat it);
//   - it is not the one our tail probe provoked: a probe that re-sent a
//     packet in flight (tlp.go) makes the peer, if the original arrived,
//     acknowledge a duplicate, and that ACK says nothing of loss (TCP
//     tells it apart by DSACK). The first one after the probe is not
//     counted, unless a packet sent after the probe has been acknowledged
//     first, which on a path that keeps order means it did not come;
//   - three duplicates can arrive (four or more packets in flight): with
//     fewer, every packet lies inside any peer's bitmask (libutp's covers
//     32 packets, and every uTP receiver we know sends one while it holds
//     packets out of order), so a later packet's arrival shows in the
//     SACK; a repeated ack_nr without news was prompted by something
//     else. Early retransmit (RFC 5827) is kept for SACK news only;
//     Linux dropped it, as RACK covers it (RFC 8985's timer then decides).
func (c *Conn) dupAck(h *wire.Header, payloadLen int, res *ackResult) bool {
	s := &c.snd
	if s.probeDup && res.maxTx > s.probeDupTx {
		s.probeDup = false
	}
	switch {
	case h.Type != wire.State || payloadLen != 0 || h.AckNr != s.una-1 || s.flight == 0:
		return false
	case res.sacked:
		return true
	case s.wndGrew:
		return false
	case s.probeDup:
		s.probeDup = false
		return false
	}
	return c.dupThreshold() >= dupAckThreshold
}

// dupThreshold is the number of duplicate ACKs that signal a loss. With
// fewer than four packets in flight three duplicates can never arrive, so
// the threshold drops to one less than the packets in flight: early
// retransmit (RFC 5827 3.2).
func (c *Conn) dupThreshold() int {
	n := 0
	for seq := c.snd.una; seq != c.snd.seqNr && n <= dupAckThreshold; seq++ {
		if p := c.snd.pkt(seq); p.inFlight || p.sacked {
			n++
		}
	}
	if n < 2 {
		// One packet in flight: a repeated ack_nr was not caused by any
		// later packet (a window update, say) and says nothing of loss.
		return math.MaxInt
	}
	return min(dupAckThreshold, n-1)
}

// markLost takes a packet out of flight and queues it for retransmission;
// the first congestion loss of an episode reduces the window
// (enterRecovery). It also marks the packet fastResent: the duplicate
// ACKs that follow SACK evidence are the same evidence, and must not
// resend it a second time (libutp likewise resends a packet once per
// loss, fast_resend_seq_nr). A path MTU probe's loss is not congestion:
// it starts no episode.
func (c *Conn) markLost(now time.Time, p *outPacket) {
	if !p.lost {
		c.stats.FastRetransmits++
		if lc, ok := c.ctrl.(cc.LossCounter); ok {
			lc.OnPacketsLost(1) // every packet, not once per episode
		}
	}
	c.withdraw(p)
	p.fastResent = true
	if p.probe {
		c.probeLost(now, p, false)
		return
	}
	c.pmtu.otherLoss = true
	c.enterRecovery(now)
	if p.lossEpisode != c.rec.episode {
		p.lossEpisode = c.rec.episode
		c.rec.undoLeft++
	}
}

func (c *Conn) rto() time.Duration { return c.rtt.RTO() }
