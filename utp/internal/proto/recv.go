package proto

import (
	"io"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// recvState is the receiving half: in-order bytes for the reader, a
// bounded reorder buffer, and when to acknowledge.
type recvState struct {
	ring  byteRing // in-order bytes not yet read
	ackNr uint16   // last sequence number received in order (ack_nr)
	// peerNext is the peer's next sequence number as far as admitted
	// packets show it; our RESET echoes it (accept.go).
	peerNext uint16

	reorder      []reorderSlot // indexed by seq & (len-1), allocated on first use
	reorderN     int           // packets held
	reorderBytes int
	highest      uint16 // highest sequence number held, when reorderN > 0

	gotFin bool   // a FIN arrived, maybe ahead of a hole
	eofSeq uint16 // its sequence number
	eof    bool   // the FIN was reached in order: nothing more will come

	received       uint64 // data packets accepted
	unacked        int    // in-order packets since our last ACK
	unackedBytes   int    // their payload bytes
	ackNow         bool   // an ACK must go out at the next PollTransmit
	ackDue         bool   // a routine ACK is owed (every second packet): held while hold is set
	hold           bool   // the IO layer has more packets queued: routine ACKs wait (ackhold.go)
	dupStamp       uint32 // timestamp of the latest duplicate, echoed once if dupEcho (dupecho.go)
	dupEcho        bool
	lastAdvertised int
	limit          int    // most we advertise, set by the IO layer; 0: the free buffer
	post           []byte // a waiting reader's buffer (PostRead), filled before the ring
	posted         int    // bytes placed in post
	packetSize     int
	sackMax        int
	sackBuf        []byte
	yield          yieldState
	tune           recvTune // autotune.go
}

type reorderSlot struct {
	held bool
	fin  bool
	data []byte // reused between packets to avoid allocation
}

func (r *recvState) init(cfg Config) {
	r.ring.limit = min(cfg.RecvBufferSize, initialRecvSpace) // grows: autotune.go
	r.packetSize = cfg.PacketSize
	r.sackMax = cfg.MaxSACKBytes
	r.lastAdvertised = r.ring.limit
}

// deliver hands in-order bytes to the reader: straight into a posted
// buffer while nothing is queued before them, the rest to the ring. The
// caller checked that they fit.
func (c *Conn) deliver(b []byte) {
	r := &c.rcv
	if room := r.postRoom(); room > 0 && len(b) > 0 {
		var n int
		if len(b) <= room && &b[0] == &r.post[r.posted] {
			// Read into place by the IO layer (PostTail): nothing to move.
			n = len(b)
			c.stats.BytesInPlace += uint64(n)
		} else {
			n = copy(r.post[r.posted:], b)
		}
		r.posted += n
		c.stats.BytesRead += uint64(n)
		b = b[n:]
	}
	r.ring.write(b)
}

// postRoom is what the posted buffer can still take in order: nothing
// while bytes wait in the ring, which come first.
func (r *recvState) postRoom() int {
	if r.ring.len() > 0 {
		return 0
	}
	return len(r.post) - r.posted
}

// PostRead lends p to the Conn until TakePosted: in-order data arriving
// meanwhile is copied straight into p (EventReadable says so), which
// spares it the copy through the receive buffer. The IO layer posts the
// buffer of a Read that found nothing to read and must call TakePosted
// before that Read returns; p is not touched after it.
func (c *Conn) PostRead(p []byte) { c.rcv.post, c.rcv.posted = p, 0 }

// TakePosted ends PostRead's loan and returns how many bytes of p hold
// data, in stream order.
func (c *Conn) TakePosted() int {
	n := c.rcv.posted
	c.rcv.post, c.rcv.posted = nil, 0
	return n
}

// PostTail is where in the posted buffer the next in-order bytes go:
// its unfilled part, or nil while bytes wait in the receive buffer before
// them or nothing is posted. The IO layer may read a datagram's payload
// straight into it; a packet whose payload is the start of PostTail's
// slice is then taken in place, without a copy (Stats.BytesInPlace),
// and any other is copied as usual.
func (c *Conn) PostTail() []byte {
	r := &c.rcv
	if r.postRoom() == 0 {
		return nil
	}
	return r.post[r.posted:]
}

// Posted is how many bytes have been placed in the posted buffer so far,
// without ending the loan.
func (c *Conn) Posted() int { return c.rcv.posted }

// Unread is how many bytes wait to be read (Read returns up to len(p) of
// them). Read uses its time only when there are some: an IO layer may
// call it with any earlier time when Unread is 0.
func (c *Conn) Unread() int { return c.rcv.ring.len() }

// room is the free receive buffer: what we can accept.
func (r *recvState) room() int { return max(0, r.ring.free()-r.reorderBytes) }

// window is what we advertise as wnd_size (BEP 29): the free receive
// buffer, within the limit the IO layer set and the receiver's yielding
// window (rledbat.go).
func (r *recvState) window() int {
	w := r.room()
	if r.limit > 0 {
		w = min(w, r.limit)
	}
	return r.yield.bound(w)
}

// SetWindowLimit bounds the window advertised to the peer to n bytes (0:
// no bound beyond the free receive buffer). The IO layer uses it to
// share one kernel receive buffer among the connections that feed from
// it. Data beyond the bound is still accepted while there is room.
func (c *Conn) SetWindowLimit(n int) { c.rcv.limit = max(0, n) }

func (r *recvState) slot(seq uint16) *reorderSlot {
	return &r.reorder[int(seq)&(len(r.reorder)-1)]
}

// forgeBudget bounds the (ack_nr, seq_nr) pairs a DATA packet is admitted
// with: issue 12's target is that a blind attacker, who must also guess
// the 16-bit connection id, needs at least 2^24 forged packets per success,
// so the admitted pairs may cover at most 2^48 / 2^24 of the 2^32.
const forgeBudget = 1 << 24

// reorderWindow is how far past ack_nr a packet may be and be held: as
// far as the window we advertise lets the peer send (Config.MaxReorder,
// 28,672 packets by default), unless our own flight widens the ack_nr
// values we admit so much that the pairs would exceed forgeBudget. The
// same window behind ack_nr lets a duplicate's ack_nr advance what we
// sent (takeDuplicateAck), so the budget counts those pairs too: the
// ack_nr values that advance, one per packet in flight. A bulk receiver
// has nothing in flight and holds its whole window; a connection sending
// 2,953 packets while receiving holds 1,892 (docs/security.md).
//
// An acceptor not yet proven (amplify.go) holds 2,048: its dialer can have
// sent no more than its first window since the SYN, and an admitted
// packet there is a forged proof of address, which then takes 2^21 tries.
func (c *Conn) reorderWindow() int {
	if c.snd.unconfirmed {
		return min(c.cfg.MaxReorder, unprovenReorder)
	}
	lo, hi := c.ackRange()
	acks := int(hi-lo) + 1 + c.snd.inUse()
	return max(1, min(c.cfg.MaxReorder, forgeBudget/acks))
}

// unprovenReorder is an unproven acceptor's reorder window.
const unprovenReorder = 2048

// onData handles the payload of a DATA or FIN packet with sequence number
// seq (BEP 29): in-order data goes to the reader, later data waits in the
// reorder buffer, duplicates are dropped and re-acknowledged at once.
func (c *Conn) onData(now time.Time, seq uint16, payload []byte, fin bool) {
	r := &c.rcv
	d := wire.SeqDiff(seq, r.ackNr+1)
	switch {
	case r.eof || (r.gotFin && wire.SeqLess(r.eofSeq, seq)):
		// Nothing after the FIN counts (BEP 29: eof_pkt).
		c.stats.PacketsIgnored++
		r.ackNow = true
	case d < 0:
		if debugDup != nil {
			debugDup(seq)
		}
		c.stats.Duplicates++
		r.ackNow = true // our ACK may have been lost
	case d == 0:
		c.onInOrder(now, seq, payload, fin)
	case d >= c.reorderWindow():
		c.stats.PacketsIgnored++
		r.ackNow = true
	default:
		c.onOutOfOrder(seq, payload, fin)
	}
}

func (c *Conn) onInOrder(now time.Time, seq uint16, payload []byte, fin bool) {
	r := &c.rcv
	if len(payload) > r.ring.free()+r.postRoom() {
		// The sender overran our window (or probed a closed one): drop it
		// and tell it our window.
		c.stats.DroppedNoRoom++
		r.ackNow = true
		return
	}
	c.deliver(payload)
	if r.reorderN > 0 && len(r.reorder) > 0 {
		// An earlier copy of this packet may be held out of order (it did
		// not fit behind the hole); this copy supersedes it.
		if s := r.slot(seq); s.held {
			s.held, s.fin = false, false
			r.reorderN--
			r.reorderBytes -= len(s.data)
		}
	}
	r.ackNr = seq
	r.received++
	if len(payload) > 0 {
		// Only data counts toward acknowledging every second packet: the
		// dialer's empty DATA that confirms a handshake is answered with
		// the first reply (or the delayed ACK), so a request-response
		// exchange does not cost the acceptor an ACK before its reply.
		r.unacked++
		r.unackedBytes += len(payload)
	}
	c.stats.BytesReceived += uint64(len(payload))
	if fin {
		c.reachEOF()
	}
	if r.reorderN > 0 {
		c.drainReorder()
		r.ackNow = true // a hole was filled: tell the sender now
	}
	if len(payload) > 0 || r.eof {
		c.events.set(EventReadable)
	}
	c.tuneRecv(now)
	switch {
	case r.eof && c.finAckWaits():
		// The FIN's ACK may ride on our own FIN (finack.go).
		c.holdFinAck(now)
	case r.eof && !r.ackNow && !c.snd.finAcked:
		// A FIN after our own that does not acknowledge it, no hole
		// filled: its ACK goes out once the IO layer has applied what
		// else is queued, where a RESET may be (finack.go).
		c.oweAck(now)
	case r.eof || (r.limit > 0 && r.window() < min(r.packetSize, len(payload))):
		// A packet that leaves too small a window for another like it
		// is acknowledged at once: the sender waits for this ACK, which
		// a delay would only slow. A small packet under a limit below a
		// full packet is not: its sender is not held (the share charges
		// a 1-byte request at the kernel's 832 bytes, so a ping-pong's
		// window sits below a loopback packet), and its ACK rides on
		// the reply.
		r.ackNow = true
	case r.unacked >= 2:
		// Every second packet is acknowledged at once (RFC 1122 4.2.3.2),
		// unless more packets already wait to be applied (ackhold.go).
		c.oweAck(now)
	case c.timers[timerDelayedAck].IsZero():
		c.setTimer(timerDelayedAck, now.Add(c.cfg.AckDelay))
	}
}

func (c *Conn) onOutOfOrder(seq uint16, payload []byte, fin bool) {
	r := &c.rcv
	r.ackNow = true // SACK tells the sender what we hold
	if len(payload) > r.room() {
		c.stats.DroppedNoRoom++
		return
	}
	r.ensureReorder(wire.SeqDiff(seq, r.ackNr))
	s := r.slot(seq)
	if s.held {
		if debugDup != nil {
			debugDup(seq)
		}
		c.stats.Duplicates++
		return
	}
	s.held, s.fin = true, fin
	s.data = append(s.data[:0], payload...)
	r.reorderN++
	r.reorderBytes += len(payload)
	r.received++
	if r.reorderN == 1 || wire.SeqLess(r.highest, seq) {
		r.highest = seq
	}
	if fin {
		r.gotFin, r.eofSeq = true, seq
	}
}

// ensureReorder grows the reorder ring to hold offsets up to d past ackNr.
func (r *recvState) ensureReorder(d int) {
	if d < len(r.reorder) {
		return
	}
	size := max(len(r.reorder), 32)
	for size <= d {
		size *= 2
	}
	old := r.reorder
	r.reorder = make([]reorderSlot, size)
	for i := 1; i < len(old); i++ {
		seq := r.ackNr + uint16(i)
		*r.slot(seq) = old[int(seq)&(len(old)-1)]
	}
}

// drainReorder moves packets that have become in-order to the reader.
func (c *Conn) drainReorder() {
	r := &c.rcv
	for r.reorderN > 0 && !r.eof {
		s := r.slot(r.ackNr + 1)
		if !s.held {
			return
		}
		if len(s.data) > r.ring.free()+r.postRoom() {
			return // the reader must make room first
		}
		c.deliver(s.data)
		if len(s.data) > 0 {
			// The packet that filled the hole may have been empty (a
			// dialer's handshake confirmation): the reader must still
			// learn that these bytes arrived.
			c.events.set(EventReadable)
		}
		c.stats.BytesReceived += uint64(len(s.data))
		r.reorderBytes -= len(s.data)
		r.reorderN--
		r.ackNr++
		s.held = false
		if s.fin {
			s.fin = false
			c.reachEOF()
		}
	}
}

// reachEOF records that the FIN was received in order.
func (c *Conn) reachEOF() {
	r := &c.rcv
	r.eof, r.gotFin, r.eofSeq = true, true, r.ackNr
	c.events.set(EventReadable)
}

// dataSACKBytes is the most bitmask a packet with payload carries: the
// 32 bytes PacketSize's default leaves room for within a 1500-byte MTU.
const dataSACKBytes = 32

// dataSACKLimit is the bitmask limit of a packet with payload.
func dataSACKLimit(cfg *Config) int { return min(cfg.MaxSACKBytes, dataSACKBytes) }

// sack builds the selective-ACK bitmask, of at most limit bytes, while
// out-of-order packets are held (BEP 29: bit i is ack_nr+2+i), or returns
// nil. The mask is as long as what we hold needs, in multiples of 4 bytes
// as libutp's sender does, so a short reordering costs a short mask.
func (r *recvState) sack(limit int) []byte {
	if r.reorderN == 0 {
		return nil
	}
	bits := wire.SeqDiff(r.highest, r.ackNr+2) + 1
	n := min((bits+31)/32*4, limit)
	if cap(r.sackBuf) < n {
		r.sackBuf = make([]byte, r.sackMax)
	}
	mask := r.sackBuf[:n]
	clear(mask)
	any := false
	for i := range min(n*8, bits) {
		seq := r.ackNr + 2 + uint16(i)
		if wire.SeqDiff(seq, r.ackNr) < len(r.reorder) && r.slot(seq).held {
			wire.SACKSet(mask, i)
			any = true
		}
	}
	if !any {
		return nil // all we hold is past the mask's reach
	}
	return mask
}

// ReadDone reports whether the peer's FIN has been reached in order:
// everything the peer will send has arrived.
func (c *Conn) ReadDone() bool { return c.rcv.eof }

// Read copies in-order data into p. It returns (0, nil) when nothing is
// available yet, io.EOF once the peer's FIN has been reached and all data
// read, and the connection's error if it failed.
//
// Data received before a RESET from the peer is still returned, then
// io.EOF if its FIN had arrived, as TCP stacks do: libutp and
// anacrolix/utp forget a connection once their FIN is acknowledged and
// answer anything later with RESET, which must not destroy a stream that
// was complete. After our own Reset nothing more is returned.
func (c *Conn) Read(now time.Time, p []byte) (int, error) {
	r := &c.rcv
	if err := c.events.closeErr; c.state == stateClosed && err != nil &&
		(err == ErrLocalReset || (r.ring.len() == 0 && !r.eof)) {
		return 0, err
	}
	n := min(len(p), r.ring.len())
	if n > 0 {
		wasClosed := r.lastAdvertised < r.packetSize
		r.ring.readAt(p[:n], r.ring.base)
		r.ring.discard(r.ring.base + uint64(n))
		c.stats.BytesRead += uint64(n)
		if r.reorderN > 0 {
			before := r.ackNr
			c.drainReorder()
			// Packets held for lack of room are now in order: say so.
			r.ackNow = r.ackNow || r.ackNr != before
		}
		if wasClosed && r.room() >= min(r.ring.limit/2, 2*r.packetSize) && r.window() > r.lastAdvertised && c.state != stateClosed {
			// The window we advertised was closed; tell the sender it
			// reopened rather than make it wait for a probe.
			r.ackNow = true
		}
		c.arm(now)
		return n, nil
	}
	if r.eof && len(p) > 0 {
		return 0, io.EOF
	}
	return 0, nil
}

// ackSent notes that a packet carrying our current ack_nr went out.
func (c *Conn) ackSent() {
	c.rcv.ackNow, c.rcv.ackDue = false, false
	c.rcv.unacked, c.rcv.unackedBytes = 0, 0
	c.setTimer(timerDelayedAck, time.Time{})
}

var debugDup func(seq uint16)
