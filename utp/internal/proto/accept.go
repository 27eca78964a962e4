package proto

import (
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// Acceptance rules against forged packets (docs/security.md).
//
// uTP runs over unauthenticated UDP, so anyone who knows the two
// addresses and ports can send a packet that reaches this Conn; only the
// 16-bit connection id, seq_nr and ack_nr say whether it belongs here.
// Every packet type is admitted only where a genuine packet can fall, and
// a packet that is not admitted is ignored whole: its ack_nr, its SACK,
// its wnd_size and its timestamps change nothing, so a forged zero window
// cannot stall us either.

// ackNrAllowedWindow is how far below the oldest unacknowledged sequence
// number an ack_nr may lie: libutp's ACK_NR_ALLOWED_WINDOW (3, its
// DUPLICATE_ACKS_BEFORE_RESEND; utp_internal.cpp).
const ackNrAllowedWindow = 3

// dupWindow is how far behind ack_nr a DATA or FIN may lie and still be
// taken for a retransmission whose ACK was lost: as far as a peer can have
// packets in flight. A duplicate only makes us acknowledge again.
const dupWindow = maxOutPackets

// admission is what an arriving packet may do.
type admission uint8

const (
	admitNone admission = iota // ignored entirely
	admitDup                   // a DATA or FIN we already have: acknowledge again, change nothing else
	admitAll                   // processed
)

// ackRange is the closed range of ack_nr values a genuine packet can
// carry: never past the last sequence number we assigned (libutp drops
// those too, ACK_NR_ALLOWED_WINDOW), and at most as far behind the oldest
// unacknowledged one as we have packets outstanding, plus libutp's 3.
//
// libutp: its lower bound is the oldest unacknowledged less 3. We allow
// as much lag as there are packets in flight, so that a DATA packet
// overtaken by ACKs sent after it is not thrown away and resent.
//
// Before an acceptor is proven, the only genuine ack_nr values are the
// ones that echo our initial sequence number: one below it (the SYN
// reply's) and, once our proof request went out, the request's own
// (amplify.go).
func (c *Conn) ackRange() (lo, hi uint16) {
	s := &c.snd
	hi = s.seqNr - 1
	if s.unconfirmed {
		return s.isn - 1, hi
	}
	return s.una - 1 - ackNrAllowedWindow - uint16(s.inUse()), hi
}

// ackAcceptable reports whether ack lies in ackRange.
func (c *Conn) ackAcceptable(ack uint16) bool {
	lo, hi := c.ackRange()
	return ack-lo <= hi-lo
}

// admit decides what an arriving DATA, FIN or STATE may do on an
// established connection.
//
// Its ack_nr must lie in ackRange. A STATE's seq_nr is the peer's next
// sequence number, never below the next one we expect and never further
// ahead than the packets it may have in flight, which we bound by our
// reorder window (libutp drops STATEs outside its reorder window too,
// REORDER_BUFFER_MAX_SIZE). A DATA or FIN must fall in the receive
// window, [ack_nr+1, ack_nr+reorderWindow), or be a duplicate at most
// dupWindow behind: a retransmission whose ACK was lost, which is
// acknowledged again and otherwise ignored (its ack_nr may be stale, and
// taking it would let a forged "duplicate" move our state).
//
// A DATA or FIN past the peer's FIN is ignored whole: a genuine peer
// sends nothing after its FIN (BEP 29's eof_pkt), and taking its header
// would let a forged one, whose payload is dropped, still set the peer's
// window (to zero) or acknowledge our data.
func (c *Conn) admit(h *wire.Header) admission {
	if !c.ackAcceptable(h.AckNr) {
		return admitNone
	}
	if h.Type != wire.State && c.rcv.gotFin && wire.SeqLess(c.rcv.eofSeq, h.SeqNr) {
		return admitNone
	}
	d := wire.SeqDiff(h.SeqNr, c.rcv.ackNr+1)
	if d >= 0 && d < c.reorderWindow() {
		return admitAll
	}
	if h.Type != wire.State && d < 0 && d >= -dupWindow {
		return admitDup
	}
	return admitNone
}

// resetMatch is how a RESET's fields relate to what we sent.
type resetMatch uint8

const (
	resetNoMatch   resetMatch = iota // not an answer to anything we sent: ignored
	resetPlausible                   // might answer an earlier packet: challenge
	resetExact                       // answers our latest packet: honoured
)

// matchReset classifies a RESET. A peer that has no connection answers
// any packet with a RESET whose ack_nr is that packet's seq_nr (libutp
// send_rst from utp_process_udp; libtorrent send_reset; anacrolix/utp
// Socket.reset; our Socket). The RESET is honoured only when it answers
// our latest STATE exactly: ack_nr is the seq_nr our STATE packets carry
// (the next sequence number; while a challenge is outstanding, the one
// the challenge carried, since we may have sent data since; before an
// acceptor is proven, our initial one), or, in answer to our SYN, the
// SYN's. One value at a time: a forged RESET with the right id matches
// one time in 65,536.
//
// RESETs from a peer that aborts a connection it still has (our Reset,
// anacrolix/utp's Conn) carry its ack_nr and its own next seq_nr instead:
// those are honoured when that seq_nr is exactly the next one we expect
// and the ack_nr is in ackRange (a forger hits that with odds of
// len(ackRange) in 2^32).
//
// Any other RESET whose ack_nr lies in what we may still hear about is
// plausible, and is answered with a challenge (RFC 5961 3.2, TCP's
// challenge ACK): a keepalive STATE, which a genuine peer without the
// connection answers with a RESET that matches exactly, and a peer that
// has it ignores.
func (c *Conn) matchReset(now time.Time, h *wire.Header) resetMatch {
	s := &c.snd
	if c.state == stateSynSent {
		if h.AckNr == s.una {
			return resetExact
		}
		return resetNoMatch
	}
	want := s.seqNr
	switch {
	case s.unconfirmed:
		// Our SYN reply and our proof request both carry our initial
		// sequence number, and an unproven acceptor cannot challenge.
		want = s.isn
	case now.Before(c.challengeUntil):
		want = c.challengeAck
	}
	if h.AckNr == want || (h.SeqNr == c.rcv.ackNr+1 && c.ackAcceptable(h.AckNr)) {
		return resetExact
	}
	lo, _ := c.ackRange()
	if h.AckNr-lo <= s.seqNr-lo {
		return resetPlausible
	}
	return resetNoMatch
}

// handleReset applies a RESET according to matchReset.
func (c *Conn) handleReset(now time.Time, h *wire.Header) {
	switch c.matchReset(now, h) {
	case resetExact:
		c.onReset()
	case resetPlausible:
		c.stats.ResetsChallenged++
		c.challenge(now)
	default:
		c.stats.PacketsIgnored++
	}
}

// challenge queues one keepalive STATE in answer to a plausible RESET,
// at most one per RTO: forged RESETs cannot make us flood the peer, and
// a genuine peer that lost the connection answers one of them within a
// round trip.
func (c *Conn) challenge(now time.Time) {
	if c.snd.unconfirmed || c.state != stateConnected {
		return // an unproven acceptor sends nothing (amplify.go)
	}
	if !c.lastChallenge.IsZero() && now.Sub(c.lastChallenge) < c.rto() {
		return
	}
	c.lastChallenge = now
	c.keepalivePending = true
	c.challengePending = true
}

// challengeSent notes the seq_nr our challenge carried: for two RTOs the
// RESET that answers it must echo that one.
func (c *Conn) challengeSent(now time.Time) {
	if c.challengePending {
		c.challengePending = false
		c.challengeAck = c.snd.seqNr
		c.challengeUntil = now.Add(2 * c.rto())
	}
}

// notePeerSeq records the peer's next sequence number as far as an
// admitted packet shows it: a STATE carries it, a DATA or FIN used the
// one before. Our own RESET echoes it, so that the peer can match it
// exactly.
func (c *Conn) notePeerSeq(h *wire.Header) {
	next := h.SeqNr
	if h.Type != wire.State {
		next++
	}
	if wire.SeqLess(c.rcv.peerNext, next) {
		c.rcv.peerNext = next
	}
}

// takeDuplicateAck takes from a duplicate DATA or FIN its cumulative
// ack_nr alone, when it advances what we sent and the duplicate lies
// within reorderWindow behind ack_nr; its SACK, window and timestamps
// stay ignored (they may be stale).
//
// Why: a peer's retransmission timeout resends its oldest packet, which
// we may already have, so that packet is the one that carries its ack_nr
// to us. When both sides have thousands of packets in flight, each one's
// reorder window (bounded by forgeBudget) can fall short of the other's
// next seq_nr, and then every STATE each sends is ignored by the other:
// neither learns what the other received, each resends a packet the
// other has, and the connection times out (TestIntegrityBothWaysReorder,
// sweep seed 8673). The duplicate's ack_nr ends that: our una advances,
// we resend the packet the peer lacks, which it takes in order.
//
// The pairs admitted this way, reorderWindow seq_nr values behind ack_nr
// times the ack_nr values that advance, are counted in forgeBudget
// (reorderWindow).
//
// An unproven acceptor takes no ack from a duplicate that did not prove
// the dialer (proveByDuplicate): taking it would leave the acceptor
// unproven with its request acknowledged, and the next request would
// take a number past the initial one, which the dialer then echoes
// (FuzzConn found it).
func (c *Conn) takeDuplicateAck(now time.Time, h *wire.Header) {
	s := &c.snd
	if c.state != stateConnected || s.unconfirmed || s.inUse() == 0 || !wire.SeqLess(s.una-1, h.AckNr) {
		return
	}
	if d := wire.SeqDiff(h.SeqNr, c.rcv.ackNr+1); d < -c.reorderWindow() {
		return
	}
	ack := wire.Header{Type: wire.State, AckNr: h.AckNr}
	c.onAck(now, &ack, 0)
	if c.state != stateClosed {
		c.checkDone(now)
	}
}
