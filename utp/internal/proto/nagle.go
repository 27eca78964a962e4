package proto

import (
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// Coalescing small writes (Nagle, RFC 896), and when it stops.
//
// A short tail, the last bytes written when they fill less than a
// packet, waits while data is unacknowledged, so that a stream of small
// writes leaves in full packets: the ACK of what is in flight releases
// what accumulated meanwhile. It does not wait when Config.NoDelay is
// set, when a FIN follows it, or when only a bare header is in flight
// (the handshake's empty DATA).
//
// Nor does it wait once the application has pushed it (Push): the IO
// layer pushes when a Read is about to wait for the peer. A message
// written in two Writes and then answered (a header, a body, read the
// reply) would otherwise hold its second part until the first is
// acknowledged, and the peer, which has one short packet to acknowledge
// and no reply to carry the ACK yet, delays it by up to AckDelay, every
// exchange. An application that waits to read has written what the peer
// needs to answer: holding it back gains nothing. A writer that does not
// read still coalesces, and ping-pong (one Write, one Read) has nothing
// held when its Read waits, so it pays nothing for the rule. Linux's
// autocorking (net/ipv4/tcp.c, tcp_should_autocork) holds a small tail
// only while the host's own earlier packets wait in its device queue;
// here a UDP send returns once the kernel has the datagram, so nothing
// waits there, and the moment the application stops writing is marked by
// its Read instead.
//
// A Read is not the only way an application waits: a writer may wait on
// a channel, another connection, or a Read that another goroutine
// started before a message of three or more Writes. So a held tail also
// leaves once no Write has come for pushDelay: a quarter of the smoothed
// round trip, within [MinPushDelay, MaxPushDelay]. A stream of small
// writes keeps writing faster than that and still coalesces until the
// ACK; a writer that has stopped waits at most MaxPushDelay instead of a
// round trip, or the peer's AckDelay for a lone first part. This is
// Linux's autocorking turned to time: a tail is held while the writer is
// still busy, and goes when the socket would otherwise idle; QUIC stacks
// (quinn, quic-go) likewise send what is queued when the application
// stops, coalescing only what queued meanwhile. A pause longer than
// pushDelay inside a stream costs one short packet.

// nagleHolds reports whether a short tail of new data waits for the
// acknowledgement of what is in flight.
func (c *Conn) nagleHolds() bool {
	s := &c.snd
	return s.flight > wire.HeaderSize && !c.cfg.NoDelay && !s.finQueued && s.next >= s.pushTo
}

// MinPushDelay and MaxPushDelay bound how long a held tail waits after
// the last Write (pushDelay).
const (
	MinPushDelay = 50 * time.Microsecond
	MaxPushDelay = time.Millisecond
)

// pushDelay is how long a held tail waits after the last Write before it
// leaves without an ACK: long beside the gaps between a busy writer's
// Writes, short beside the round trip it would otherwise wait.
func (c *Conn) pushDelay() time.Duration {
	return min(MaxPushDelay, max(MinPushDelay, c.rtt.SRTT()/4))
}

// holdTail notes that a short tail is held back at now.
func (c *Conn) holdTail(now time.Time) {
	if c.snd.heldSince.IsZero() {
		c.snd.heldSince = now
	}
}

// pushDeadline is when a held short tail leaves though no ACK came:
// pushDelay after it was held or after the last Write, whichever is
// later. Zero when no tail is held. It does not ask whether data is in
// flight, as nagleHolds does: a retransmission timeout empties the
// flight for a moment and the resend fills it again, and a deadline
// that vanished meanwhile would come back in the past.
func (c *Conn) pushDeadline() time.Time {
	s := &c.snd
	if s.heldSince.IsZero() || s.next >= s.ring.end || s.next < s.pushTo || c.cfg.NoDelay || s.finQueued {
		return time.Time{}
	}
	if s.lastWrite.After(s.heldSince) {
		return s.lastWrite.Add(c.pushDelay())
	}
	return s.heldSince.Add(c.pushDelay())
}

// Push exempts everything written so far from coalescing: the IO layer
// calls it when the application waits for the peer (a Read about to
// block), since what it wrote may be what the peer needs to answer. It
// reports whether written data has not gone out yet, which a PollTransmit
// may now send.
func (c *Conn) Push() bool {
	s := &c.snd
	if s.next >= s.ring.end || s.pushTo == s.ring.end {
		return false
	}
	s.pushTo = s.ring.end
	s.heldSince = time.Time{}
	return true
}

// PushBehindOne is Push for bytes written while a Read already waits
// (another goroutine reads): it pushes only while at most one packet is
// in flight. A message written in two Writes then leaves whole, its
// first part the one packet in flight, as it does when the writer itself
// reads next; but a writer that keeps writing small pieces while a Read
// waits sends at most one pushed packet behind another, not a packet per
// Write. Its next tail waits for an ACK, which the peer sends at once
// for every second packet: a round trip, not AckDelay.
func (c *Conn) PushBehindOne() bool {
	if c.snd.inUse() > 1 {
		return false
	}
	return c.Push()
}
