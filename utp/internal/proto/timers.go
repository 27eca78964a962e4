package proto

import (
	"math/bits"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

type timerKind uint8

// Timers, fired in this order when several are due at once.
const (
	timerRetransmit   timerKind = iota // RTO (RFC 6298), also SYN and FIN
	timerDelayedAck                    // bounded ACK coalescing
	timerProbe                         // zero-window probe
	timerTimeWait                      // end of TIME-WAIT
	timerKeepalive                     // derived: lastSend + Keepalive
	timerIdle                          // derived: lastRecv + IdleTimeout
	timerConfirm                       // the dialer's handshake confirmation, if nothing sent it before
	timerProof                         // an acceptor whose dialer never proved its address ends (amplify.go)
	timerProofRequest                  // an unproven acceptor asks for the proof (amplify.go)
	timerLoss                          // RACK: the next packet that becomes lost by time (recovery.go)
	timerTLP                           // derived: the tail loss probe (tlp.go)
	timerPace                          // the pacer lets the next packet go (pacing.go)
	timerShrink                        // a quiet connection gives its buffers back (buffers.go)
	timerPush                          // derived: a held tail leaves once writing stops (nagle.go)
	numTimers
)

var timerNames = [...]string{"retransmit", "delayed-ack", "probe", "time-wait", "keepalive", "idle", "confirm", "proof", "proof-request", "loss", "tlp", "pace", "shrink", "push"}

func (k timerKind) String() string { return timerNames[k] }

// timerTable holds one deadline per kind; zero means disarmed.
type timerTable [numTimers]time.Time

// deadline returns timer k, computing the derived ones.
func (c *Conn) deadline(k timerKind) time.Time {
	switch k {
	case timerKeepalive:
		return c.keepaliveDeadline()
	case timerIdle:
		return c.idleDeadline()
	case timerTLP:
		return c.tlpDeadline()
	case timerPush:
		return c.pushDeadline()
	}
	return c.timers[k]
}

// keepaliveDeadline is the derived keepalive timer: Keepalive after the
// last send, while connected with nothing in flight.
func (c *Conn) keepaliveDeadline() time.Time {
	if c.state != stateConnected || c.snd.inUse() > 0 || c.snd.unconfirmed {
		return time.Time{}
	}
	return c.lastSend.Add(c.cfg.Keepalive)
}

// idleDeadline is the derived idle timer: IdleTimeout after the last
// packet received.
func (c *Conn) idleDeadline() time.Time {
	if c.state == stateClosed || c.cfg.IdleTimeout < 0 {
		return time.Time{}
	}
	return c.lastRecv.Add(c.cfg.IdleTimeout)
}

// setTimer arms timer k (a stored kind) at t, or disarms it when t is
// zero, and keeps c.armed in step.
func (c *Conn) setTimer(k timerKind, t time.Time) {
	c.timers[k] = t
	if t.IsZero() {
		c.armed &^= 1 << k
	} else {
		c.armed |= 1 << k
	}
}

// NextDeadline returns when HandleTimeout should next be called; zero
// means no timer is armed.
//
// The IO layer asks after every step, so this runs for every packet. It
// reads only the armed slots of the table (c.armed), usually one or two
// of its fourteen, then the four derived deadlines: with the table's
// five cache lines read whole, it was among the functions of a
// ping-pong whose cost grew most when the machine ran slow.
func (c *Conn) NextDeadline() time.Time {
	var next time.Time
	if c.state == stateClosed {
		return next
	}
	for m := c.armed; m != 0; m &= m - 1 {
		next = earlier(next, c.timers[bits.TrailingZeros16(m)])
	}
	next = earlier(next, c.keepaliveDeadline())
	next = earlier(next, c.idleDeadline())
	next = earlier(next, c.pushDeadline())
	return earlier(next, c.tlpDeadline())
}

// earlier returns the earlier of two deadlines, where zero means none.
func earlier(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// TimeWaitEnd returns when TIME-WAIT ends, or zero outside it. An IO
// layer may serve this one long, rarely moved deadline more cheaply than
// the others (one timer for all its connections in TIME-WAIT).
func (c *Conn) TimeWaitEnd() time.Time {
	if c.state == stateClosed {
		return time.Time{}
	}
	return c.timers[timerTimeWait]
}

// HandleTimeout fires every timer that is due at now. Calling it early is
// harmless: nothing that is not due changes.
func (c *Conn) HandleTimeout(now time.Time) {
	for k := range numTimers {
		if c.state == stateClosed {
			return
		}
		t := c.deadline(k)
		if t.IsZero() || now.Before(t) {
			continue
		}
		if k == timerRetransmit && c.deferStarved(now, t) {
			continue // starved.go
		}
		c.setTimer(k, time.Time{})
		c.fire(now, k)
	}
	c.arm(now)
}

func (c *Conn) fire(now time.Time, k timerKind) {
	switch k {
	case timerRetransmit:
		c.onRetransmitTimeout(now)
	case timerDelayedAck:
		c.rcv.ackNow = true
	case timerProbe:
		c.snd.probe = true
		c.stats.Probes++
	case timerTimeWait:
		c.fail(nil)
	case timerKeepalive:
		c.keepalivePending = true
		c.lastSend = now // re-arms even if the caller does not poll
	case timerIdle:
		c.fail(ErrTimedOut)
	case timerConfirm:
		c.Confirm()
	case timerProof:
		c.dropUnproven(ErrTimedOut)
	case timerProofRequest:
		c.amp.wanted = true
	case timerLoss:
		c.rackDetect(now)
	case timerTLP:
		c.onTLPTimeout()
	case timerPace:
		// Nothing to do: PollTransmit sends what the pacer held back.
	case timerShrink:
		c.shrink()
	case timerPush:
		c.Push()
	}
}

// onRetransmitTimeout is RFC 6298 section 5.4 to 5.6: back off, collapse
// the window (RFC 6817 2.4.2), and resend from the oldest unacknowledged
// packet. A bounded number of consecutive timeouts ends the connection.
func (c *Conn) onRetransmitTimeout(now time.Time) {
	s := &c.snd
	if s.inUse() == 0 {
		return
	}
	c.stats.Timeouts++
	if c.rewind.pending {
		// The question or its answer was lost: ask again. Nothing is in
		// flight, so nothing backs off, but each unanswered question
		// counts as a timeout: the question is a bare header, which any
		// path carries, so a peer that answers none of MaxTimeouts has
		// gone away (left to the idle timeout, a vanished peer was
		// given up only after 90 s when discovery took its silence for
		// a shrunk path).
		if c.giveUp(now, true) {
			return
		}
		c.rewind.askDue = true
		return
	}
	if c.onlyProbesOutstanding() {
		c.probeTimeout(now)
		return
	}
	probing := c.state == stateConnected && c.snd.peerWnd < c.maxPayload()
	// A zero-window probe the peer answered does not count: RFC 1122
	// 4.2.2.17 says the connection stays open while the receiver
	// answers probes.
	if c.giveUp(now, !probing || !c.lastRecv.After(c.lastTimeout)) {
		return
	}
	c.rtt.Backoff()
	c.ctrl.OnTimeout(now)
	recovering := c.rec.inRecovery
	c.onTimeoutRecovery()
	c.noteTimeout(now, recovering)
	s.dupAcks = 0
	c.pathBlackHole(now)
	c.proveOnTimeout()
	c.pmtu.otherLoss = true
	for seq := s.una; seq != s.seqNr; seq++ {
		p := s.pkt(seq)
		p.fastResent = false
		if p.sacked || p.lost || p.sends == 0 {
			continue
		}
		p.inFlight, p.unseen = false, false
		p.lost = true
		p.lossEpisode = c.rec.episode // undoTimeout finds it by this
		s.lostN++
		if p.probe {
			c.probeLost(now, p, false)
		}
	}
	s.flight = 0
}

// giveUp records a retransmission timeout, counted toward the limit when
// counts is set, and ends the connection with ErrTimedOut once the
// consecutive ones pass it (SynRetries for a dial, else MaxTimeouts).
func (c *Conn) giveUp(now time.Time, counts bool) bool {
	if counts {
		c.consecutiveTimeouts++
	}
	c.lastTimeout = now
	limit := c.cfg.MaxTimeouts
	if c.state == stateSynSent {
		limit = c.cfg.SynRetries
	}
	if c.consecutiveTimeouts <= limit {
		return false
	}
	c.fail(ErrTimedOut)
	return true
}

// arm recomputes the timers that depend on state after an input.
func (c *Conn) arm(now time.Time) {
	if c.state == stateClosed {
		return
	}
	c.followMSS()
	s := &c.snd
	if s.inUse() == 0 {
		c.setTimer(timerRetransmit, time.Time{})
		if c.lastSend.Add(c.cfg.Keepalive).Before(now) {
			// Idle since long before the last ACK came in: the keepalive
			// is due now, not in the past.
			c.lastSend = now.Add(-c.cfg.Keepalive)
		}
	}
	c.armShrink(now)
	unsent := int(s.ring.end - s.next)
	blocked := c.state == stateConnected && s.flight == 0 && s.lostN == 0 && unsent > 0 &&
		c.sendWindow() < min(unsent, c.segmentPayload())+wire.HeaderSize
	switch {
	case !blocked:
		c.setTimer(timerProbe, time.Time{})
		s.probe = false
	case c.timers[timerProbe].IsZero() && !s.probe:
		// The peer's window is closed and nothing is in flight to bring
		// an update: probe after an RTO (RFC 1122 4.2.2.17 persist timer).
		c.setTimer(timerProbe, now.Add(c.rto()))
	}
}

// releaseBuffers frees what a finished connection no longer needs, so
// that connections in TIME-WAIT cost little memory: everything sent was
// acknowledged and nothing more will be received.
func (c *Conn) releaseBuffers() {
	c.snd.ring.release() // our FIN is acknowledged: nothing is in flight
	c.snd.out = make([]outPacket, 1)
	c.spend()
	c.rcv.reorder = nil
	c.rcv.sackBuf = nil
	if c.rcv.ring.len() == 0 {
		c.rcv.ring.release()
	}
}

// releaseClosed gives a closed connection's rings back: the send ring
// once nothing is in flight (a datagram still to be sent may hold a view
// of unacknowledged bytes: a retransmission, or the RESET's predecessors),
// the receive ring once nothing is left to read.
func (c *Conn) releaseClosed() {
	if c.snd.inUse() == 0 {
		c.snd.ring.release()
	}
	if c.rcv.ring.len() == 0 {
		c.rcv.ring.release()
	}
}

// checkDone closes the connection once both directions have finished: our
// FIN is acknowledged and the peer's FIN was reached in order. Unless the
// peer provably holds our ACK of its FIN, we linger in TIME-WAIT so that a
// retransmitted FIN (our ACK was lost) is answered rather than reset.
func (c *Conn) checkDone(now time.Time) {
	if !c.snd.finAcked || !c.rcv.eof || !c.timers[timerTimeWait].IsZero() {
		return
	}
	if c.finAfterEOF {
		c.fail(nil)
		return
	}
	c.setTimer(timerTimeWait, now.Add(c.timeWaitLen()))
	c.releaseBuffers()
}

// timeWaitLen is how long TIME-WAIT lasts (Config.TimeWait).
func (c *Conn) timeWaitLen() time.Duration {
	if c.cfg.TimeWait > 0 {
		return c.cfg.TimeWait
	}
	return 4 * max(c.cfg.RTT.MaxBackoff, c.rto())
}

// maxTimeWaitRestarts bounds how often a retransmission from the peer
// restarts TIME-WAIT, so that a forger who knows the connection id cannot
// hold the connection for ever; a genuine peer gives up after
// Config.MaxTimeouts retransmissions of one packet anyway.
const maxTimeWaitRestarts = 8

// restartTimeWait starts TIME-WAIT again when the peer retransmits what
// we already hold: our ACK of its last packets was lost, and it will try
// again after its backed-off timeout, which a TIME-WAIT counted from our
// first ACK may no longer cover on a lossy path (it would then be answered
// with RESET). RFC 9293 3.10.7.4 restarts TCP's 2 MSL timer the same way.
func (c *Conn) restartTimeWait(now time.Time) {
	if c.timers[timerTimeWait].IsZero() || c.timeWaitRestarts >= maxTimeWaitRestarts {
		return
	}
	c.timeWaitRestarts++
	c.setTimer(timerTimeWait, now.Add(c.timeWaitLen()))
}
