package proto

import (
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// Loss recovery: when a packet is declared lost, recovery episodes that
// reduce the window once, and the undo of a reduction that was spurious.
// docs/protocol.md "Loss recovery" describes the design.
//
// Loss is declared by time, as RFC 8985 (RACK) does: a packet is lost
// once a packet sent after it has been acknowledged and a reordering
// window has passed since it should have been acknowledged too. Until
// reordering has been seen on the path, and while three or more packets
// are selectively acknowledged, the window is zero, which is the classic
// three-duplicate-ACK rule in time terms (RFC 8985 6.2 step 4).

// maxReoMult bounds the reordering window's multiplier; the window is
// also never above SRTT (RFC 8985 6.2).
const maxReoMult = 16

// reoPersist is how many recovery episodes without a spurious loss reset
// the reordering window to its base (RFC 8985's reo_wnd_persist, 16).
const reoPersist = 16

// recoveryState holds loss detection by time and the current recovery
// episode.
type recoveryState struct {
	// episode numbers recovery episodes from 1; a packet declared lost
	// records it (outPacket.lossEpisode) until it is judged.
	episode    uint32
	inRecovery bool
	// recoverSeq is RFC 6675's RecoveryPoint: the highest sequence number
	// sent when the episode began. The episode ends when the cumulative
	// ACK passes it; losses before then do not reduce the window again.
	recoverSeq uint16
	// undoable: the episode's reduction may still be undone; every packet
	// it declared lost that has been judged so far was delivered after
	// all. undoLeft counts its packets not yet judged.
	undoable bool
	undoLeft int

	// RACK (RFC 8985 6.1): the most recently sent packet that has been
	// acknowledged, its send time and the RTT it measured.
	rackTx     uint64
	rackSentAt time.Time
	rackRTT    time.Duration
	minRTT     time.Duration // least unambiguous RTT sample
	// fack is the highest sequence number acknowledged, cumulatively or
	// selectively; a first transmission acknowledged below it arrived out
	// of order.
	fack       uint16
	hasFack    bool
	reordering bool // reordering seen on this path
	reoMult    int  // reordering window = minRTT/4 × reoMult
	calm       int  // episodes since a spurious one

	// horizon is the first sequence number past the last ACK's SACK
	// bitmask when that bitmask may have been cut at its sender's limit
	// (noteSACKHorizon).
	horizon    uint16
	hasHorizon bool
	// unseenNext is where noteUnseen's walk resumes.
	unseenNext uint16

	// unproven holds the first-send times of the packets the episode
	// declared lost whose retransmission was acknowledged first; a
	// duplicate's echo may prove them delivered (dupecho.go).
	unproven []uint32
	// widenRound: the reordering window grew in the round trip that ends
	// when the cumulative ACK passes widenRound (widenReordering).
	widenRound   uint16
	widenPending bool

	rto timeoutUndo // a retransmission timeout being judged (rtoundo.go)
}

// onAcked feeds RACK with one newly acknowledged packet and judges it if
// it was declared lost (RFC 8985 6.2 steps 1 to 3).
func (c *Conn) onAcked(now time.Time, seq uint16, p *outPacket, res *ackResult) {
	r := &c.rec
	rtt := now.Sub(p.sentAt)
	if p.sends == 1 && rtt > 0 && (r.minRTT == 0 || rtt < r.minRTT) {
		r.minRTT = rtt
	}
	if p.sends == 1 && r.hasFack && wire.SeqLess(seq, r.fack) {
		r.reordering = true
	}
	if !r.hasFack || wire.SeqLess(r.fack, seq) {
		r.fack, r.hasFack = seq, true
	}
	// An ACK that came sooner than any round trip cannot be for the
	// retransmission: it says nothing of when the packet was delivered.
	// Nor can one whose echo (the send time of the latest packet the
	// peer had received) is before the retransmission left: it was
	// caused by an earlier packet, so it is for an earlier copy. Taken
	// for the retransmission's, it declared lost every packet sent before
	// it, delivered or not: after a spurious timeout whose ACKs waited an
	// RTO unread, 290 of them (TestSpuriousTimeoutUndone).
	forEarlier := p.sends > 1 && (rtt < r.minRTT || (res.hasEcho && int32(c.stamp(p.sentAt)-res.echo) > 0))
	if !forEarlier && p.txID > r.rackTx {
		r.rackTx, r.rackSentAt, r.rackRTT = p.txID, p.sentAt, rtt
	}
	c.timeoutEvidence(now, seq, p, res)
	if p.lossEpisode != 0 {
		c.judgeLoss(now, p, res)
	}
}

// judgeLoss decides, when a packet declared lost is acknowledged, whether
// it had been lost, and undoes the episode's reduction once every packet
// the episode declared lost turns out to have been delivered.
//
// uTP has no DSACK and no echo of our timestamp in so many words, but the
// peer's ACK carries its own timestamp and timestamp_difference, its
// clock at the ACK minus ours at the send of the latest packet it
// received (BEP 29); their difference is that send time on our clock,
// late by however long the peer held the ACK. An out-of-order or
// hole-filling packet is acknowledged at once, so if the ACK that first
// covers a resent packet echoes a send time before the retransmission,
// the original filled the hole (Eifel detection, RFC 3522, done with the
// timestamps uTP has). An ACK that comes sooner after the retransmission
// than half the least RTT seen cannot be for it either.
func (c *Conn) judgeLoss(now time.Time, p *outPacket, res *ackResult) {
	r := &c.rec
	mine := p.lossEpisode == r.episode
	p.lossEpisode = 0
	if !mine || !r.undoable {
		return
	}
	r.undoLeft--
	spurious := p.lost || // declared lost, delivered before it was resent
		(r.minRTT > 0 && now.Sub(p.sentAt) < r.minRTT/2) ||
		(res.hasEcho && int32(c.stamp(p.sentAt)-res.echo) > 0 && int32(res.echo-c.stamp(p.firstSentAt)) >= 0)
	if !spurious && !c.unprove(p) {
		r.undoable = false
		return
	}
	if r.undoLeft == 0 && len(r.unproven) == 0 {
		c.undoRecovery(now)
	}
}

// undoRecovery ends an episode whose losses were all spurious: the
// controller restores its window, and the path is known to reorder, so
// the reordering window widens (RFC 8985 6.2 step 4 does this on DSACK).
func (c *Conn) undoRecovery(now time.Time) {
	r := &c.rec
	r.undoable, r.inRecovery = false, false
	r.unproven = nil
	c.widenReordering()
	c.stats.SpuriousRecoveries++
	c.ctrl.OnSpuriousLoss(now)
}

// enterRecovery starts an episode unless one is under way, and reports
// the loss to the controller once for it.
func (c *Conn) enterRecovery(now time.Time) {
	r := &c.rec
	if r.inRecovery {
		return
	}
	r.inRecovery = true
	r.recoverSeq = c.snd.seqNr - 1
	r.episode++
	r.undoable, r.undoLeft, r.unproven = true, 0, nil
	if r.calm++; r.calm >= reoPersist {
		r.reoMult, r.calm = 1, 0
	}
	c.stats.Recoveries++
	c.ctrl.OnLoss(now, c.rtt.SRTT())
}

// onTimeoutRecovery makes everything sent before a timeout one episode
// that cannot be undone: the losses found while resending it do not
// reduce the window again.
func (c *Conn) onTimeoutRecovery() {
	r := &c.rec
	r.inRecovery = true
	r.recoverSeq = c.snd.seqNr - 1
	r.episode++
	r.undoable, r.undoLeft, r.unproven = false, 0, nil
	r.unseenNext = c.snd.una // a spurious timeout's undo puts them back in flight
	c.setTimer(timerLoss, time.Time{})
}

// endRecovery closes the episode once the cumulative ACK has passed its
// recovery point.
func (c *Conn) endRecovery() {
	r := &c.rec
	if r.inRecovery && c.snd.inUse() > 0 && !wire.SeqLess(r.recoverSeq, c.snd.una) {
		return
	}
	r.inRecovery = false
}

// horizonSACKBytes is the least bitmask length whose end is taken for a
// horizon (noteSACKHorizon): the most a packet with data of ours carries
// (dataSACKBytes), and so also our bare ACK's up to 252 and libtorrent's
// masks sized to what it holds. libutp's masks are always 4 bytes, 34
// packets from ack_nr: nearly everything in a large flight lies past
// them, so a grace there would delay nearly every loss found by time by
// an SRTT; in netsim it saved nothing (docs/protocol.md).
const horizonSACKBytes = dataSACKBytes

// noteSACKHorizon records where the latest ACK's bitmask ends, when it is
// long enough to have been cut at its sender's limit: the peer could name
// nothing beyond, so a packet there may have arrived unseen.
func (c *Conn) noteSACKHorizon(h *wire.Header) {
	r := &c.rec
	r.hasHorizon = len(h.SACK) >= horizonSACKBytes
	if r.hasHorizon {
		r.horizon = h.AckNr + 2 + uint16(8*len(h.SACK))
	}
}

// reoWindow is RFC 8985's reordering window (6.2 step 4).
func (c *Conn) reoWindow() time.Duration {
	r := &c.rec
	if !r.reordering && (r.inRecovery || c.snd.sackedN >= sackThreshold) {
		return 0
	}
	w := r.minRTT / 4 * time.Duration(max(1, r.reoMult))
	if srtt := c.rtt.SRTT(); srtt > 0 {
		w = min(w, srtt)
	}
	return w
}

// rackDetect declares lost every packet in flight that was sent before
// the most recently sent packet acknowledged and is overdue by the
// reordering window (RFC 8985 6.2 step 5), and arms the loss timer for
// the earliest one not yet overdue.
//
// It walks from the oldest unacknowledged packet and stops at the first
// first-transmission sent after the RACK packet: every later sequence
// number was sent later still, retransmitted or not.
func (c *Conn) rackDetect(now time.Time) bool {
	s, r := &c.snd, &c.rec
	c.setTimer(timerLoss, time.Time{})
	if r.rackTx == 0 {
		return false
	}
	reo := c.reoWindow()
	lost := false
	var next time.Time
	for seq := s.una; seq != s.seqNr; seq++ {
		p := s.pkt(seq)
		if p.sends == 0 || (p.txID >= r.rackTx && p.sends == 1) {
			break
		}
		if (!p.inFlight && !p.unseen) || p.txID >= r.rackTx {
			continue
		}
		past := r.hasHorizon && !wire.SeqLess(seq, r.horizon)
		if past && p.unseen {
			// Past what the peer's SACK can name, and the echo shows it
			// has left the network: it arrived, or it was lost, and only
			// the bitmask can tell which once the cumulative ACK moves up
			// and it reaches the packet (RFC 6675's IsLost and RFC 8985
			// 6.2 infer a loss from what the peer reports). Judged by
			// time, half of a slow start's overshoot that arrived was
			// declared lost and resent (1 Gbit/s, 20 ms: 1,482 of 3,869
			// resends), since its drops spread over more than the
			// bitmask reaches.
			continue
		}
		due := p.sentAt.Add(r.rackRTT + reo)
		if past {
			// Past the horizon but not yet passed by the echo: its
			// delivery is unknown, not late; the cumulative ACK moving
			// up, a round trip later, lets the mask reach it.
			due = due.Add(c.rtt.SRTT())
		}
		if !now.Before(due) {
			c.markLost(now, p)
			lost = true
		} else if next.IsZero() || due.Before(next) {
			next = due
		}
	}
	c.setTimer(timerLoss, next)
	return lost
}

// echoMinMargin is the least lead an echoed send time must have over a
// retransmission's for echoDetect: peers hold an ACK for up to a
// millisecond or so even when a hole is open (libutp and libtorrent
// until the end of the datagrams of one read), and the echo is late by
// that hold.
const echoMinMargin = time.Millisecond

// echoDetect declares the oldest packet's retransmission lost when the
// peer's echo shows that a packet sent well after it was delivered
// first. RACK (RFC 8985 6.2) finds a lost retransmission once a packet
// sent after it is acknowledged, but in a flight larger than the peer's
// SACK bitmask reaches (2,016 packets past the hole), every packet sent
// after the retransmission lies past the bitmask's end: nothing names
// it, and only the RTO repaired the hole, collapsing the window. The
// echo (the peer's timestamp less its timestamp_difference, see
// judgeLoss) is the send time of the latest packet the peer received,
// late by however long it held the ACK, so it tells what the bitmask
// cannot, as TCP's timestamp echo (RFC 7323) would. The margin, a
// reordering window of at least a quarter of the least RTT, allows for
// the hold and for reordering.
func (c *Conn) echoDetect(now time.Time, res *ackResult) {
	s := &c.snd
	if !res.hasEcho || res.advanced || s.inUse() == 0 {
		return
	}
	p := s.pkt(s.una)
	if p.sends < 2 || !p.inFlight || p.sacked {
		return
	}
	margin := max(c.reoWindow(), c.rec.minRTT/4, echoMinMargin)
	if int32(res.echo-c.stamp(p.sentAt)) > int32(margin/time.Microsecond) {
		c.markLost(now, p)
	}
}

// noteUnseen takes out of flight the packets past the SACK horizon that
// the peer's echo shows have left the network. Our flight counted them
// until the bitmask reached them, a round trip or more after they
// arrived, so with a flight larger than the bitmask's reach (2,016
// packets), once a loss had halved the window, the flight stayed above
// it: nothing new could be sent, and a lost retransmission of the oldest
// packet, which only a packet sent after it could reveal (echoDetect,
// RACK), waited for the RTO (1 Gbit/s, 20 ms, one BDP of buffer: one
// timeout per overflow, and the window collapsed to a packet). RFC
// 6675's pipe counts a packet neither acknowledged nor lost as in the
// network; a packet sent before the one the peer last received (by the
// echo, less a reordering window) is not in it on a path that keeps
// order: it arrived, or it was lost. It stays unacknowledged, and RACK
// still declares it lost if the bitmask, once it reaches it, does not
// name it. The walk resumes where it stopped, so each packet is visited
// about once.
func (c *Conn) noteUnseen(res *ackResult) {
	s, r := &c.snd, &c.rec
	if !r.hasHorizon || !res.hasEcho {
		return
	}
	seq := r.horizon
	if wire.SeqLess(seq, r.unseenNext) && wire.SeqLess(r.unseenNext, s.seqNr) {
		seq = r.unseenNext
	}
	margin := max(c.reoWindow(), r.minRTT/4, echoMinMargin)
	cutoff := res.echo - uint32(margin/time.Microsecond)
	for ; wire.SeqLess(seq, s.seqNr); seq++ {
		p := s.pkt(seq)
		if p.sends == 0 || int32(c.stamp(p.sentAt)-cutoff) > 0 {
			break
		}
		if p.inFlight && !p.sacked && !p.probe {
			p.inFlight, p.unseen = false, true
			s.flight -= p.size()
		}
	}
	r.unseenNext = seq
}
