package proto

import "time"

// Holding routine acknowledgements while more packets wait.
//
// A receiver acknowledges every second packet at once (RFC 1122
// 4.2.3.2); where the kernel coalesces a sender's run of datagrams into
// one read, the IO layer applies the run in one step, and that step owes
// one ACK. On a fast path the next runs are often queued already when
// the first is applied: an ACK per run then costs each side two system
// calls and a step for news the next ACK would supersede a few
// microseconds later. So, as Linux's TCP acknowledges a GRO batch with
// one ACK, the IO layer may say that more packets are queued (HoldAcks):
// the routine ACK then waits until it says they are all applied, and one
// ACK covers every run read meanwhile.
//
// Only the routine ACK waits. One that carries news goes out at once: a
// hole or its repair, a duplicate, data past the window, a window too
// small for another packet. A FIN's ACK may wait too: one after our own
// FIN that does not acknowledge it as a routine ACK does, one before it
// for ours (finack.go). A held ACK also goes out once it would cover
// ackHoldBytes, or a quarter of the window we last advertised: the
// sender must not run out of window while we read; and the delayed-ACK
// timer bounds how long one waits if the IO layer never releases it.

// ackHoldBytes is the most payload one held ACK may leave unacknowledged:
// eight coalesced reads of Linux's largest (64 KiB, UDP_GRO), as many as
// the IO layer reads while it holds (utp's maxHeldReads). At four, on a
// veth pair whose receiver fell behind, the bound sent most of the ACKs
// (about one per 200 KB); each costs a system call on the receiver and
// a wakeup, a read and a step on the sender, and at eight the ACKs fell
// by a quarter to a third and CPU per byte by about 5%
// (docs/performance.md). The quarter of the window still bounds it: a
// sender whose window is a few reads long is not held waiting.
const ackHoldBytes = 512 << 10

// HoldAcks says whether the IO layer has more packets queued for this
// connection, or may have, which it will apply before it waits for the
// network: while hold is set, the ACK owed for every second packet waits
// for them. The IO layer sets it before it applies a read's packets and
// clears it, then polls for output, once the queue is empty.
func (c *Conn) HoldAcks(hold bool) { c.rcv.hold = hold }

// AckHeld reports whether an ACK is owed and held: the IO layer then
// has to clear HoldAcks once its queue is empty.
func (c *Conn) AckHeld() bool { return c.rcv.ackDue && !c.ackReleased() }

// oweAck records that a routine ACK is owed. While it is held, the
// delayed-ACK timer bounds its wait.
func (c *Conn) oweAck(now time.Time) {
	r := &c.rcv
	r.ackDue = true
	if r.hold && c.timers[timerDelayedAck].IsZero() {
		c.setTimer(timerDelayedAck, now.Add(c.cfg.AckDelay))
	}
}

// ackReleased reports whether a routine ACK is owed and may go out now.
func (c *Conn) ackReleased() bool {
	r := &c.rcv
	if !r.ackDue {
		return false
	}
	return !r.hold || r.unackedBytes >= min(ackHoldBytes, r.lastAdvertised/4)
}
