package proto

import "time"

// The ACK of the peer's FIN, held for our own FIN.
//
// A connection whose peer closes first usually closes right after: the
// application reads the last bytes, sees the end of the stream and calls
// Close. Acknowledging the FIN at once and then sending our FIN costs
// two datagrams where one does: our FIN carries the same ack_nr. So,
// while our own FIN is not yet queued, the FIN's ACK waits as a routine
// ACK does, for at most the delayed-ACK timer (Config.AckDelay); the
// next packet we send, our FIN or a reply, carries it. Linux's TCP does
// the same: a FIN received in ESTABLISHED enters "pingpong" mode, which
// delays the ACK (tcp_fin in net/ipv4/tcp_input.c), so that it rides on
// the application's reply or FIN. A request-response exchange whose
// server closes first then takes 7 datagrams instead of 8: the closer
// that answers last needs no separate ACK of the other's FIN.
//
// Where our FIN is already queued (the two FINs cross) the ACK is the
// last thing the peer waits for, and goes out at once, with one
// exception: a FIN that does not acknowledge ours comes from a peer that
// closed without reading it, as a client does that closes its Socket
// right after its connection, and sends a RESET right after the FIN.
// That ACK goes out as soon as the IO layer has applied what else it has
// queued (HoldAcks, ackhold.go), at once if nothing: a microsecond's
// wait, after which a RESET read in the same wakeup has ended the
// connection, and the ACK, which would only have drawn an ICMP "port
// unreachable" from the closed client, never leaves: one datagram, its
// ICMP error and the read of it saved on the server for each such
// client. A FIN that acknowledges ours is acknowledged at once, as
// before: holding it would cost the IO layer a step to release it, for
// nothing, since no RESET follows it. Where the FIN fills a hole, its
// ACK goes out at once with the other news. The peer's timers do not
// notice the wait: a tail-loss probe for one packet in flight waits for
// a delayed ACK on top of the RTO estimate (tlp.go), and AckDelay is far
// below the RTO's floor.

// finAckWaits reports whether the ACK of a FIN received in order now may
// wait for our own FIN: the connection is open and we have not closed.
func (c *Conn) finAckWaits() bool {
	return c.state == stateConnected && !c.snd.finQueued && c.rcv.reorderN == 0
}

// holdFinAck arms the delayed-ACK timer for the FIN's ACK, if no
// routine ACK already armed it; when it fires the ACK goes out alone.
func (c *Conn) holdFinAck(now time.Time) {
	if c.timers[timerDelayedAck].IsZero() {
		c.setTimer(timerDelayedAck, now.Add(c.cfg.AckDelay))
	}
}
