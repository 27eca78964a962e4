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
	// sackThreshold: a packet is lost once this many packets sent after
	// it were selectively acknowledged (issue: "SACK evidence"; RFC 6675's
	// DupThresh).
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
}

// onAck applies the acknowledgement information of an accepted packet:
// cumulative ack_nr, selective ACK, duplicate-ACK and SACK loss detection,
// the RTT sample and the congestion controller.
func (c *Conn) onAck(now time.Time, h *wire.Header, payloadLen int) {
	s := &c.snd
	ack := h.AckNr
	if s.inUse() == 0 || wire.SeqLess(ack, s.una-1) {
		// Nothing outstanding, or an old ack_nr: a reordered packet or a
		// keepalive (which acks ack_nr−1 on purpose). Neither may count as
		// a duplicate ACK.
		return
	}
	flightBefore := s.flight
	var res ackResult
	for s.inUse() > 0 && wire.SeqLessEq(s.una, ack) {
		c.ackPacket(now, s.pkt(s.una), &res)
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
	lost := c.detectLoss(h, payloadLen, &res)
	if !res.sampleAt.IsZero() && res.sampleTx == res.maxTx && res.maxTx > s.largestAckedTx {
		// Only when the newest transmission this ACK covers is news and was
		// a first transmission (Karn's rule). A cumulative ACK that jumps
		// after a hole is repaired also covers packets sent long ago, and
		// would inflate SRTT and RTTVAR (QUIC takes samples the same way,
		// RFC 9002 5.1).
		c.rtt.OnSample(now.Sub(res.sampleAt))
	}
	s.largestAckedTx = max(s.largestAckedTx, res.maxTx)
	if lost {
		c.ctrl.OnLoss(now, c.rtt.SRTT())
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
		c.timers[timerRetransmit] = time.Time{}
		if s.inUse() > 0 && s.flight > 0 {
			c.timers[timerRetransmit] = now.Add(c.rto())
		}
	}
}

// ackPacket marks one packet acknowledged.
func (c *Conn) ackPacket(now time.Time, p *outPacket, res *ackResult) {
	s := &c.snd
	if p.sacked {
		return
	}
	p.sacked = true
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
		c.events.set(EventWritable)
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
		if !s.pkt(seq).sacked {
			c.ackPacket(now, s.pkt(seq), res)
			res.sacked = true
		}
	}
}

// detectLoss declares packets lost on three duplicate ACKs (libutp,
// RFC 5681) or on SACK evidence, and reports whether any were.
func (c *Conn) detectLoss(h *wire.Header, payloadLen int, res *ackResult) bool {
	s := &c.snd
	if res.advanced {
		s.dupAcks = 0
	} else if h.Type == wire.State && payloadLen == 0 && h.AckNr == s.una-1 && s.flight > 0 {
		s.dupAcks++
	}
	lost := false
	if s.dupAcks == c.dupThreshold() && s.inUse() > 0 {
		if p := s.pkt(s.una); !p.sacked && !p.fastResent && p.inFlight {
			lost = c.markLost(p)
		}
	}
	if res.sacked && c.sackLoss() {
		lost = true
	}
	if lost {
		c.pmtu.otherLoss = true
	}
	return lost
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

// sackLoss declares lost every in-flight packet for which at least
// sackThreshold packets transmitted after it have been acknowledged. It
// compares transmission order, not sequence numbers, so a retransmission
// is judged by what was sent after it.
func (c *Conn) sackLoss() bool {
	s := &c.snd
	var top [sackThreshold]uint64 // largest txIDs of acked packets, descending
	for seq := s.una; seq != s.seqNr; seq++ {
		p := s.pkt(seq)
		if !p.sacked {
			continue
		}
		for i := range top {
			if p.txID > top[i] {
				copy(top[i+1:], top[i:len(top)-1])
				top[i] = p.txID
				break
			}
		}
	}
	threshold := top[sackThreshold-1]
	lost := false
	for seq := s.una; seq != s.seqNr; seq++ {
		p := s.pkt(seq)
		if p.inFlight && p.txID < threshold && c.markLost(p) {
			lost = true
		}
	}
	return lost
}

// markLost takes a packet out of flight and queues it for retransmission.
// It also marks the packet fastResent: the duplicate ACKs that follow SACK
// evidence are the same evidence, and must not resend it a second time
// (libutp likewise resends a packet once per loss, fast_resend_seq_nr).
// It reports whether the loss is congestion: a path MTU probe's is not.
func (c *Conn) markLost(p *outPacket) bool {
	s := &c.snd
	if p.inFlight {
		p.inFlight = false
		s.flight -= p.size()
	}
	if !p.lost {
		p.lost = true
		s.lostN++
		c.stats.FastRetransmits++
		if lc, ok := c.ctrl.(cc.LossCounter); ok {
			lc.OnPacketsLost(1) // every packet, not once per episode
		}
	}
	p.fastResent = true
	if p.probe {
		// lastRecv is the time of the ACK being processed (noteReceived).
		c.probeLost(c.lastRecv, p, false)
		return false
	}
	return true
}

func (c *Conn) rto() time.Duration { return c.rtt.RTO() }
