package proto

import (
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/cc"
)

// Undoing a spurious retransmission timeout. A sender descheduled for
// longer than its RTO (a loaded machine), or a path that stalls and then
// delivers everything, fires the timer although nothing was lost: the
// window collapses to one packet, everything in flight is queued for
// resending, and on a long path slow start takes many round trips to
// regain the window. RFC 5682 (F-RTO) and RFC 3522 (Eifel) tell such a
// timeout by the ACK that follows it; uTP has neither TCP's timestamp
// option nor DSACK, so the evidence is that of judgeLoss and of F-RTO,
// taken at the first ACK after the timeout that acknowledges anything:
//
//   - the timeout fired outside a recovery episode, and the ACK
//     acknowledges, cumulatively or selectively, a packet last sent
//     before it: something the timeout took for lost arrived, so the
//     flight was not all lost. This is the evidence of RFC 5682's
//     SACK-enhanced F-RTO (an ACK of data not retransmitted since the
//     timeout), taken, as Linux's tcp_process_loss takes it, from the
//     first ACK without first sending new data: with a peer window held
//     to two packets there is seldom new data F-RTO could send, and on a
//     path that keeps order the originals reach the peer before the
//     retransmission, so its first ACK already names them. The holes
//     that remain are found by RACK once the packets are back in flight,
//     with one reduction, as after any loss. Why: a receiver that reads
//     a batch of datagrams and then answers once echoes the last it read,
//     often the retransmission itself, so the echo below missed most of
//     these timeouts (netsim, a receiver stalled 300 ms reading in
//     batches: none of eight undone; TestStalledReceiverTimeoutUndone);
//   - it acknowledges the oldest outstanding packet, which had not been
//     resent since the timeout: the original arrived;
//   - it acknowledges it, resent once since the timeout, sooner than half
//     the least RTT after that resend: the ACK was for an earlier copy
//     (the typical descheduled sender, whose ACKs waited in the socket
//     while the timer fired);
//   - the peer's timestamp less its timestamp_difference, the send time
//     of the latest packet it had received, is before the timeout and
//     not before that packet's first transmission: the ACK was caused by
//     a packet sent before the timeout. (A copy sent before the timeout
//     that overtook the retransmission by more than an RTO would fool
//     this; TCP's Eifel detection has the same blind spot.)
//
// A spurious timeout is undone as RFC 4015 responds: the controller
// restores its window (cc.TimeoutUndoer), the episode the timeout began
// ends, and the packets the timeout queued for resending that have not
// been resent yet return to flight. Anything else is a real timeout,
// after which the controller slow-starts back to its threshold.

// timeoutUndo is the timeout series that may still be undone.
type timeoutUndo struct {
	pending bool
	at      time.Time // when the first timeout of the series fired
	seq     uint16    // the oldest packet outstanding then
	sends   uint16    // ... and how often it had been sent by then
	episode uint32    // the recovery episode of the series' first timeout
	// frto: the series began outside a recovery episode, so an ACK of a
	// packet sent before it is evidence (timeoutEvidence). Inside one,
	// the timeout may be for a lost retransmission while packets sent
	// after it still arrive: their ACKs show the path working, not the
	// timeout spurious. Linux's tcp_enter_loss likewise leaves F-RTO out
	// for a timeout during fast recovery.
	frto bool
	// spurious: the ACK being applied carries evidence that the timeout
	// was spurious (set while it acknowledges seq).
	spurious bool
}

// noteTimeout starts judging a timeout, unless an earlier one without an
// ACK since is still being judged: a backed-off series is undone as one.
// It is called after onTimeoutRecovery has started the timeout's episode;
// recovering says whether one was under way before.
func (c *Conn) noteTimeout(now time.Time, recovering bool) {
	u := &c.rec.rto
	if u.pending {
		return
	}
	p := c.snd.pkt(c.snd.una)
	*u = timeoutUndo{pending: true, at: now, seq: c.snd.una, sends: p.sends, episode: c.rec.episode, frto: !recovering}
}

// timeoutEvidence records, for each packet the ACK being applied
// acknowledges while a timeout series is judged, whether it shows the
// timeout spurious.
func (c *Conn) timeoutEvidence(now time.Time, seq uint16, p *outPacket, res *ackResult) {
	u, r := &c.rec.rto, &c.rec
	if !u.pending || u.spurious {
		return
	}
	if u.frto && p.sentAt.Before(u.at) {
		u.spurious = true // sent before the timeout, not since (F-RTO)
		return
	}
	if seq != u.seq {
		return
	}
	u.spurious = p.sends == u.sends ||
		(p.sends == u.sends+1 && r.minRTT > 0 && now.Sub(p.sentAt) < r.minRTT/2) ||
		(res.hasEcho && int32(c.stamp(u.at)-res.echo) > 0 && int32(res.echo-c.stamp(p.firstSentAt)) >= 0)
}

// judgeTimeout ends the judging of a pending timeout series at the first
// ACK after it that acknowledged something, undoing the series if that
// ACK showed it spurious. It runs before the ACK reaches the controller,
// which forgets the state to restore at its next OnAck.
func (c *Conn) judgeTimeout(now time.Time, res *ackResult) {
	u := &c.rec.rto
	if !u.pending || res.bytes == 0 {
		return
	}
	spurious, first := u.spurious, u.episode
	*u = timeoutUndo{}
	if spurious {
		c.undoTimeout(now, first)
	}
}

// undoTimeout restores what a spurious timeout series, whose first
// timeout began episode first, took.
func (c *Conn) undoTimeout(now time.Time, first uint32) {
	s, r := &c.snd, &c.rec
	c.stats.SpuriousTimeouts++
	if u, ok := c.ctrl.(cc.TimeoutUndoer); ok {
		u.OnSpuriousTimeout(now)
	}
	r.inRecovery = false
	c.consecutiveTimeouts = 0
	c.rtt.ResetBackoff()
	for seq := s.una; seq != s.seqNr; seq++ {
		p := s.pkt(seq)
		if !p.lost || p.sacked || p.probe || p.lossEpisode-first > r.episode-first {
			continue // not queued for resending by the series
		}
		p.lost = false
		s.lostN--
		p.lossEpisode = 0
		p.inFlight = true
		s.flight += p.size()
	}
}
