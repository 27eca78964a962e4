package proto

import (
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// Duplicate echoes: uTP's DSACK. judgeLoss decides, when a packet
// declared lost is acknowledged, whether its original or its
// retransmission reached the peer. When the retransmission arrived
// first, the original may still arrive later, held back rather than
// lost (a delayed burst overtaken by later packets), and the peer then
// has it twice. TCP learns that from a DSACK block (RFC 2883) and undoes
// the reduction (RFC 3708, RFC 4015). uTP has no DSACK, but every packet
// carries timestamp_difference, which the receiver may set as it likes:
//
//   - The receiver of a duplicate DATA or FIN answers it with an ACK whose
//     timestamp_difference is that ACK's own timestamp less the duplicate's
//     timestamp, so that the peer's timestamp less its
//     timestamp_difference is, to the microsecond, when the duplicate was
//     sent (a newer packet arriving before that ACK goes out takes the
//     echo back). It never feeds that to its own controllers: a duplicate's
//     delay includes however long it was held back.
//   - The sender keeps, for the latest recovery episode, the first-send
//     times of the packets it declared lost whose retransmission was
//     acknowledged first. An ACK whose ack_nr does not advance and that
//     echoes exactly one of them proves that original delivered; the sender
//     counts it, ignores that ACK's delay sample, widens the reordering
//     window (RFC 8985 6.2 step 4 does so on DSACK), and undoes the
//     episode once every packet it declared lost proved delivered.
//
// A forger must hit one of those send times to the microsecond, with an
// admissible ack_nr and connection id, and can at most undo one
// reduction (docs/security.md). libtorrent sets its echo from every
// packet, duplicates too, but measured at arrival, so its echo is late
// by however long it held the ACK and rarely matches; libutp echoes
// only packets it accepts, never a duplicate (docs/interop.md).

// maxUnproven bounds the first-send times kept for one episode (4 bytes
// each); an episode with more losses judged real is not undone late.
// It is libutp's OUTGOING_BUFFER_MAX_SIZE, its largest flight.
const maxUnproven = 1024

// noteDuplicate records the timestamp of a duplicate DATA or FIN, to be
// echoed by the ACK it prompts (header).
func (r *recvState) noteDuplicate(h *wire.Header) {
	r.dupStamp, r.dupEcho = h.Timestamp, h.Timestamp != 0
}

// echoDiff is the timestamp_difference of a packet stamped ts: the
// duplicate's exact echo if one is owed, else our latest measurement.
func (c *Conn) echoDiff(ts uint32) uint32 {
	if !c.rcv.dupEcho {
		return c.replyMicro
	}
	c.rcv.dupEcho = false
	return ts - c.rcv.dupStamp
}

// unprove records that a packet the current episode declared lost was
// delivered by its retransmission, as far as the ACK shows; a duplicate
// echo may still prove the original delivered. It reports whether the
// episode may still be undone.
func (c *Conn) unprove(p *outPacket) bool {
	r := &c.rec
	if len(r.unproven) >= maxUnproven {
		return false
	}
	r.unproven = append(r.unproven, c.stamp(p.firstSentAt))
	return true
}

// onDuplicateEcho takes an ACK whose ack_nr does not advance and that echoes
// the first send of a packet whose retransmission was acknowledged: that
// original was delivered too. It reports whether the echo matched, so
// that the caller ignores the ACK's delay sample.
func (c *Conn) onDuplicateEcho(now time.Time, h *wire.Header) bool {
	r := &c.rec
	if len(r.unproven) == 0 || h.Timestamp == 0 || h.TimestampDiff == 0 || wire.SeqLess(c.snd.una-1, h.AckNr) {
		return false
	}
	if h.SeqNr != c.rcv.ackNr+1 {
		// Only the peer's next packet in order: a STATE from a peer with
		// none of its own data missing here, or the DATA we expect. The
		// echo is a guessable clock reading (our timestamps are the wall
		// clock's microseconds), so this, not the echo, is what keeps a
		// forger's odds per packet at 1 seq_nr in 65,536 rather than the
		// whole receive window (docs/security.md). A genuine echo on a
		// STATE sent while the peer's data is in flight is missed: one
		// undo not made.
		return false
	}
	echo := h.Timestamp - h.TimestampDiff
	i := 0
	for i < len(r.unproven) && r.unproven[i] != echo {
		i++
	}
	if i == len(r.unproven) {
		return false
	}
	last := len(r.unproven) - 1
	r.unproven[i] = r.unproven[last]
	r.unproven = r.unproven[:last]
	c.stats.DuplicateEchoes++
	c.widenReordering()
	if r.undoable && r.undoLeft == 0 && len(r.unproven) == 0 {
		c.undoRecovery(now)
	}
	return true
}

// widenReordering grows the reordering window's multiplier, at most once
// per round trip (RFC 8985 6.2 step 4: once per DSACK round, which ends
// when the cumulative ACK passes what was sent when it began).
func (c *Conn) widenReordering() {
	r := &c.rec
	r.reordering = true
	r.calm = 0
	if r.widenPending && wire.SeqLess(r.widenRound, c.snd.una) {
		r.widenPending = false
	}
	if r.widenPending {
		return
	}
	r.widenPending, r.widenRound = true, c.snd.seqNr-1
	r.reoMult = min(r.reoMult+1, maxReoMult)
}
