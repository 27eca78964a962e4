package proto

import (
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/cc"
)

// Buffers grow with what a connection holds: the send ring to what the
// window lets into flight (sendLimit), the receive ring to what waits to
// be read, the reorder buffer to the spread of what arrived out of order,
// the packet table to the packets in flight. After a bulk transfer they
// stay at their peak, which a connection that then idles (a peer-wire
// connection between pieces, a pool's spare) would keep for its life. So
// once it has been quiet for idleShrinkAfter, everything is given back
// and the connection costs about what a new one does.

// idleShrinkAfter is how long a connection with nothing outstanding or
// waiting keeps its buffers. Long enough that a request-response exchange
// does not allocate afresh each time, short against a connection's life.
const idleShrinkAfter = time.Second

// minOut is the packet table's size on a new or shrunk connection: a short
// exchange has a few packets in flight.
const minOut = 4

// quiet reports whether nothing is in flight, unsent, unread or held out
// of order.
func (c *Conn) quiet() bool {
	return c.snd.inUse() == 0 && c.snd.ring.len() == 0 && c.rcv.ring.len() == 0 && c.rcv.reorderN == 0
}

// holdsMemory reports whether shrinking would give anything back: memory,
// or a receive buffer grown past its start (autotune.go), which would let
// the peer's next burst take that much.
func (c *Conn) holdsMemory() bool {
	return len(c.snd.ring.buf) > minRing || len(c.rcv.ring.buf) > minRing ||
		c.rcv.ring.limit > min(c.cfg.RecvBufferSize, initialRecvSpace) ||
		len(c.snd.out) > minOut || c.rcv.reorder != nil || c.rcv.sackBuf != nil ||
		c.rec.unproven != nil
}

// armShrink sets the idle-shrink timer while the connection is quiet and
// holds memory, and clears it otherwise.
func (c *Conn) armShrink(now time.Time) {
	if c.state != stateConnected || !c.quiet() || !c.holdsMemory() {
		c.setTimer(timerShrink, time.Time{})
		return
	}
	if !c.timers[timerTimeWait].IsZero() {
		// Finished: nothing more will be sent or received, so there is no
		// reason to wait, and TIME-WAIT keeps its one deadline (an IO
		// layer may serve it with a shared timer, TimeWaitEnd).
		c.setTimer(timerShrink, time.Time{})
		c.shrink()
		return
	}
	if c.timers[timerShrink].IsZero() {
		c.setTimer(timerShrink, now.Add(idleShrinkAfter))
	}
}

// shrink gives back the buffers of a quiet connection; they grow again by
// doubling when it is busy again. Quiet, nothing is in flight, so the
// send ring's bytes are not needed again (Buffers says when another
// connection may have them).
func (c *Conn) shrink() {
	if !c.quiet() {
		return
	}
	c.snd.ring.release()
	c.rcv.ring.release()
	c.rcv.reorder = nil
	c.rcv.sackBuf = nil
	c.rec.unproven = nil // a duplicate a second late proves nothing worth undoing (dupecho.go)
	c.initRecvSpace()
	if len(c.snd.out) > minOut {
		c.snd.out = make([]outPacket, minOut)
	}
}

// SetBuffers makes the rings take their buffers from b, and give them back
// when the connection finishes, shrinks or closes. A connection that never
// calls it allocates them and leaves them to the GC.
func (c *Conn) SetBuffers(b Buffers) {
	c.snd.ring.pool = b
	c.rcv.ring.pool = b
}

// spentController stands in for the congestion controller of a connection
// in TIME-WAIT: everything it sent is acknowledged and it sends nothing
// more but ACKs, so the controller's state (about a KiB of delay history
// and filters) is dead weight that a Socket churning short connections
// holds for every connection in TIME-WAIT, each one growing the heap the
// next connections are built in. It keeps the figures Stats reports,
// frozen, and ignores every input.
type spentController struct {
	window    int
	delay     time.Duration
	slowStart bool
}

// spend replaces the controller by a spentController of its figures.
func (c *Conn) spend() {
	if _, ok := c.ctrl.(*spentController); ok || c.ctrl == nil {
		return
	}
	c.ctrl = &spentController{window: c.ctrl.Window(), delay: c.ctrl.QueuingDelay(), slowStart: c.ctrl.InSlowStart()}
}

func (*spentController) OnAck(cc.Ack)                    {}
func (*spentController) OnLoss(time.Time, time.Duration) {}
func (*spentController) OnSpuriousLoss(time.Time)        {}
func (*spentController) OnTimeout(time.Time)             {}
func (*spentController) OnPeerDelay(time.Time, uint32)   {}
func (s *spentController) Window() int                   { return s.window }
func (s *spentController) QueuingDelay() time.Duration   { return s.delay }
func (s *spentController) InSlowStart() bool             { return s.slowStart }
