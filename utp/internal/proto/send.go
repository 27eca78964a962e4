package proto

import (
	"math/bits"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// outPacket is one sequence number we have assigned: a SYN, DATA or FIN.
// Its payload lives in the send ring at [off, off+n).
type outPacket struct {
	typ    wire.Type
	off    uint64
	n      int
	sentAt time.Time // last transmission
	// firstSentAt is the first transmission, for judging a loss (judgeLoss).
	firstSentAt time.Time
	// lossEpisode is the recovery episode that declared the packet lost,
	// while its loss is not yet judged; 0 otherwise.
	lossEpisode uint32
	txID        uint64 // order of the last transmission, for SACK loss evidence
	sends       uint16 // transmissions so far
	sacked      bool   // acknowledged selectively
	lost        bool   // declared lost and waiting for retransmission
	// inFlight: counted in flight (sent, not acked, not declared lost).
	inFlight bool
	// unseen: taken out of flight past the end of the peer's SACK
	// bitmask, where the echo shows it has left the network
	// (noteUnseen); not acknowledged, and RACK may still declare it lost.
	unseen bool
	// fastResent: declared lost on duplicate-ACK or SACK evidence since
	// the last RTO; the third duplicate ACK does not resend it again.
	fastResent bool
	// probe: a path MTU probe (pmtu.go), empty and padded by pad bytes
	// past the header on its first transmission; resent unpadded.
	probe bool
	pad   uint16
	// frag: stranded by a shrunken path (fragment.go); every resend may
	// be fragmented.
	frag bool
}

func (p *outPacket) size() int { return p.n + wire.HeaderSize + int(p.pad) }

// sendState is the sending half: the byte stream, the packets that carry
// it, and what the peer and the congestion controller allow.
type sendState struct {
	ring  byteRing // [acked offset, written offset)
	next  uint64   // next stream offset to put in a packet
	seqNr uint16   // next sequence number to assign (seq_nr)
	una   uint16   // oldest unacknowledged sequence number

	out     []outPacket // ring indexed by seq & (len-1); [una, seqNr) in use
	flight  int         // bytes in flight
	burst   bool        // new data went out since PollTransmit last had nothing (batch.go)
	lostN   int         // packets declared lost, not yet resent
	peerWnd int         // the peer's last advertised wnd_size
	wndGrew bool        // the latest packet raised peerWnd: a window update (dupAck)
	dupAcks int
	// probeDup: a tail probe re-sent a packet in flight as transmission
	// probeDupTx; the duplicate ACK it may provoke is not evidence (dupAck).
	probeDup   bool
	probeDupTx uint64
	sackedN    int // packets selectively acknowledged, above una
	txCount    uint64
	// largestAckedTx is the newest transmission acknowledged so far.
	largestAckedTx uint64

	// post is a blocked Write's rest, lent until TakeWritten (writepost.go);
	// posted counts its bytes the buffer took.
	post   []byte
	posted int

	finQueued bool // CloseWrite called: a FIN follows the data
	finSeq    uint16
	finSent   bool // the FIN has a sequence number
	finAcked  bool
	// peerLeft: the peer reset the connection after its whole stream and
	// our every byte had arrived, before our FIN (conn.go, onReset).
	peerLeft bool
	probe    bool // one packet may ignore a zero peer window

	// unconfirmed: an acceptor whose dialer has not proven its address
	// (amplify.go). It sends nothing but its SYN reply and the proof
	// request, which both carry isn, so the dialer learns the same first
	// sequence number from whichever arrives first.
	unconfirmed bool
	isn         uint16

	// confirmDue: a dialer whose next DATA packet, with data or empty,
	// confirms the handshake to the acceptor (see onSynReply).
	confirmDue bool

	// pushTo: the stream offset up to which written bytes are exempt
	// from Nagle, because the application waited for the peer after
	// writing them (Push, nagle.go).
	pushTo uint64
	// lastWrite: when Write last took bytes; heldSince: when a short
	// tail was first held back, zero when none is. A held tail leaves
	// once neither has changed for pushDelay (nagle.go).
	lastWrite, heldSince time.Time
}

func (s *sendState) init(cfg Config) {
	s.ring.limit = cfg.SendBufferSize
	s.out = make([]outPacket, minOut) // grows by doubling
}

func (s *sendState) inUse() int { return int(uint16(s.seqNr - s.una)) }

func (s *sendState) pkt(seq uint16) *outPacket { return &s.out[int(seq)&(len(s.out)-1)] }

// assign gives the next sequence number to a new packet.
func (s *sendState) assign(typ wire.Type, off uint64, n int) *outPacket {
	if s.inUse()+1 > len(s.out) {
		s.growOut()
	}
	p := s.pkt(s.seqNr)
	*p = outPacket{typ: typ, off: off, n: n}
	s.seqNr++
	return p
}

func (s *sendState) growOut() {
	nb := make([]outPacket, 2*len(s.out))
	for seq := s.una; seq != s.seqNr; seq++ {
		nb[int(seq)&(len(nb)-1)] = *s.pkt(seq)
	}
	s.out = nb
}

// queueControl assigns a sequence number to a packet without payload.
func (s *sendState) queueControl(typ wire.Type) {
	p := s.assign(typ, s.next, 0)
	p.lost = true // "needs sending": picked up by the retransmit path
	s.lostN++
}

// Write buffers up to the free send space of p and returns how much it
// took; 0 means the buffer is full (wait for EventWritable).
func (c *Conn) Write(now time.Time, p []byte) (int, error) {
	if c.state == stateClosed {
		return 0, c.closedErr()
	}
	if c.snd.finQueued {
		return 0, ErrWriteClosed
	}
	c.snd.ring.limit = c.sendLimit()
	n := c.snd.ring.write(p)
	c.stats.BytesWritten += uint64(n)
	if n > 0 {
		c.snd.lastWrite = now
	}
	c.arm(now)
	return n, nil
}

// CloseWrite half-closes: buffered data is still sent, then a FIN with its
// own sequence number (BEP 29). Reading continues.
// An acceptor whose dialer has not proven its address sends the FIN
// after the proof; if none comes the connection ends silently
// (amplify.go).
func (c *Conn) CloseWrite(now time.Time) {
	if c.state == stateClosed || c.snd.finQueued {
		return
	}
	c.snd.finQueued = true
	c.arm(now)
}

// WriteDone reports whether our FIN has been acknowledged: everything
// written reached the peer.
func (c *Conn) WriteDone() bool { return c.snd.finAcked }

// Flushed reports whether the peer has acknowledged everything written so
// far and, after CloseWrite, the FIN.
func (c *Conn) Flushed() bool {
	return c.snd.ring.len() == 0 && (!c.snd.finQueued || c.snd.finAcked)
}

// Buffered returns the bytes written but not yet acknowledged.
func (c *Conn) Buffered() int { return c.snd.ring.len() }

func (c *Conn) closedErr() error {
	if c.events.closeErr != nil {
		return c.events.closeErr
	}
	if c.snd.peerLeft && !c.snd.finQueued {
		return ErrConnReset // closed cleanly, but nobody reads what we write
	}
	return ErrWriteClosed // closed cleanly: our FIN was sent and acknowledged
}

// minSendLimit is the least a Write may buffer however small the window.
const minSendLimit = 64 << 10

// sendLimit is how much Write may buffer: twice what the window lets
// into flight, plus a packet, within SendBufferSize. Buffering more than
// the window can send only queues bytes that wait, and on a fast path it
// costs: 64 connections at once each grew a 4 MiB ring that the window
// (a share of the receiver's kernel buffer) never used, and touching that
// fresh memory took most of their CPU time. Linux sizes TCP's send buffer
// the same way (tcp_sndbuf_expand: about twice the congestion window).
func (c *Conn) sendLimit() int {
	w, pkt := c.sendWindow(), c.maxPayload()+wire.HeaderSize
	want := 2*w + pkt
	// The ring's buffer is a power of two (byteRing.grow): a limit just
	// past one (twice a power-of-two window, plus a packet) would double
	// the memory the ring walks through, for a packet's worth of bytes.
	// On loopback, where the window reaches the Socket's share of the
	// kernel buffer (a power of two), that doubling cost bulk transfers
	// a third of their CPU (docs/performance.md).
	if p := 1 << (bits.Len(uint(want)) - 1); want-p <= p/8 && p >= w+pkt {
		want = p
	}
	limit := c.cfg.SendBufferSize
	if rtt := c.rtt.MinRTT(); rtt < shortPathRTT {
		limit = min(limit, shortPathSendLimit(rtt))
	}
	return min(limit, max(want, minSendLimit))
}

// On a short path (loopback, a LAN: the round trip without queue under
// shortPathRTT, or not measured yet) the send buffer stops at
// shortPathSendLimit whatever SendBufferSize allows: what the least round
// trip carries at shortPathRate, rounded up to a power of two, from
// shortPathSendMin to shortPathSendMax. A larger window there only queues in the kernel's
// buffers, where no delay signal stops it, and the bytes queued there
// and in the ring leave the caches between their copies: on loopback
// the window grew to the Socket's share of the receive buffer (8 MiB),
// and a bound of twice that cost bulk transfers twice the CPU per byte;
// on a veth pair and on loopback, whose round trips are tens of
// microseconds, a bound of 1 MiB took a sixth less CPU per byte than
// 4 MiB, and moved more (docs/performance.md). A long path needs the
// full bound: 1 Gbit/s at a 20 ms round trip with its queue and the
// hosts' scheduling delay needs more than 4 MiB in flight.
const (
	shortPathRTT     = 2 * time.Millisecond
	shortPathRate    = 2 << 30 // bytes per second: 16 Gbit/s
	shortPathSendMin = 1 << 20
	shortPathSendMax = 4 << 20
)

// shortPathSendLimit is the send buffer's bound on a short path whose
// least round trip is rtt (0: not measured yet). A power of two, since
// the ring's buffer is one (byteRing.grow): a bound between two would
// have the ring walk the larger.
func shortPathSendLimit(rtt time.Duration) int {
	want := int(int64(rtt) * shortPathRate / int64(time.Second))
	if want <= shortPathSendMin {
		return shortPathSendMin
	}
	return min(shortPathSendMax, 1<<bits.Len(uint(want-1)))
}

// sendWindow is how many bytes may be in flight: the congestion window,
// never more than the peer's advertised window (BEP 29, RFC 6817 2.4.2).
func (c *Conn) sendWindow() int { return min(c.ctrl.Window(), c.snd.peerWnd) }

// nextNewPacket decides whether a new DATA or FIN packet may be sent now
// and assigns it a sequence number.
func (c *Conn) nextNewPacket(now time.Time) (uint16, bool) {
	s := &c.snd
	if c.state != stateConnected || s.unconfirmed {
		// An unproven acceptor sends no data and no FIN (amplify.go).
		return 0, false
	}
	unsent := int(s.ring.end - s.next)
	if unsent == 0 {
		if s.finQueued && s.confirmDue {
			// No data confirmed the handshake, and a FIN does not
			// (libutp's acceptor leaves SYN_RECV only on DATA): an empty
			// DATA goes first.
			c.confirmed()
			seq := s.seqNr
			s.assign(wire.Data, s.next, 0)
			return seq, true
		}
		if s.finQueued && !s.finSent {
			s.finSent = true
			s.finSeq = s.seqNr
			s.assign(wire.Fin, s.next, 0)
			return s.finSeq, true
		}
		return 0, false
	}
	if s.inUse() >= maxOutPackets {
		return 0, false
	}
	if seq, sent, hold := c.nextProbe(now, unsent); sent || hold {
		return seq, sent
	}
	size := c.segmentPayload()
	room := c.sendWindow() - s.flight
	if s.probe && s.flight == 0 {
		// Zero-window probe: one packet regardless of the peer's window.
		room = max(room, size+wire.HeaderSize)
	}
	if c.tlp.force {
		// A tail loss probe: one full packet regardless of the
		// congestion window (tlp.go).
		return c.assignData(min(unsent, size)), true
	}
	n := min(unsent, size, room-wire.HeaderSize)
	if n <= 0 {
		return 0, false
	}
	if n < unsent && n < size && s.flight > 0 {
		// Sender-side silly-window avoidance: wait for room for a full
		// packet while anything is in flight.
		return 0, false
	}
	if c.deferForBatch(room, unsent) {
		return 0, false
	}
	if n == unsent && n < size && c.nagleHolds() {
		c.holdTail(now)
		return 0, false
	}
	s.probe = false
	return c.assignData(n), true
}

// assignData gives the next n unsent bytes a DATA packet and its
// sequence number.
func (c *Conn) assignData(n int) uint16 {
	s := &c.snd
	if s.confirmDue {
		c.confirmed() // this packet confirms the handshake
	}
	seq := s.seqNr
	s.assign(wire.Data, s.next, n)
	s.next += uint64(n)
	s.heldSince = time.Time{}
	s.burst = true
	return seq
}

// maxOutPackets bounds sequence numbers in use: inside the half of the
// 16-bit space where comparisons are valid, with an eighth of it to spare
// so that an ack_nr from well before the window still reads as old. It
// is what a 1 Gbit/s path with a 200 ms round trip and LEDBAT's 100 ms of
// queue needs at 1,400-byte packets (about 26,000 packets).
const maxOutPackets = 28672

// PollTransmit writes the next datagram to send into buf, which must be at
// least MaxDatagram bytes, and returns its length. ok is false when there
// is nothing to send now.
func (c *Conn) PollTransmit(now time.Time, buf []byte) (n int, ok bool) {
	n, ok = c.poll(now, buf, nil)
	if !ok {
		c.snd.burst = false
		c.noteLimit(now)
	}
	return n, ok
}

// PollTransmitView is PollTransmit for an IO layer that can send one
// datagram from several buffers (sendmsg's iovec): the datagram is
// buf[:n] followed by tail[0] and tail[1], which it sets (nil when buf
// holds it all). For the first transmission of data, buf gets only the
// header and the payload stays in the send buffer, which tail points
// into: those bytes stay put until the peer acknowledges them, which it
// cannot do before they are sent. A retransmission is copied whole into
// buf, since the peer may acknowledge the earlier copy while this one is
// on its way out. tail is the caller's (its datagram's), not a result:
// slices returned by value through the calls that build a packet, stored
// one word at a time and copied whole, stalled on the store forwarding at
// every packet.
func (c *Conn) PollTransmitView(now time.Time, buf []byte, tail *[2][]byte) (n int, ok bool) {
	*tail = [2][]byte{}
	n, ok = c.poll(now, buf, tail)
	if !ok {
		c.snd.burst = false
		c.noteLimit(now)
	}
	return n, ok
}

// poll writes the next datagram into buf; with tail (PollTransmitView),
// a first transmission's payload is left in the send buffer, in tail.
func (c *Conn) poll(now time.Time, buf []byte, tail *[2][]byte) (n int, ok bool) {
	c.fragOut = false
	if c.sendReset {
		c.sendReset = false
		return c.finishControl(now, buf, wire.Reset), true
	}
	if c.state == stateClosed {
		return 0, false
	}
	if c.resendSynAck {
		c.resendSynAck = false
		if c.mayReplySyn() {
			c.countSent(now)
			n = copy(buf, c.synReply)
			c.noteOut(n)
			return n, true
		}
	}
	if c.snd.unconfirmed {
		// Only the SYN reply and the proof request go out (amplify.go).
		if seq, ok := c.proofRequest(); ok {
			n = c.transmit(now, buf, seq, tail)
			c.noteOut(n)
			return n, true
		}
		return 0, false
	}
	if n, ok := c.pollProof(now, buf); ok {
		return n, true // before data, which may not cross (proofduty.go)
	}
	if c.rewind.pending {
		// Sending waits for the peer's answer (rewindState).
		if c.rewind.askDue {
			return c.askPeer(now, buf), true
		}
	} else if seq, ok := c.tlpPending(now); ok {
		return c.transmit(now, buf, seq, tail), true
	} else if c.wantsToSend() {
		// The oldest packet's repair is never held back (see
		// nextRetransmit); everything else is paced (pacing.go).
		ready := c.paceReady(now)
		if seq, ok := c.nextRetransmit(); ok && (ready || seq == c.snd.una) {
			return c.transmit(now, buf, seq, tail), true
		}
		if !ready {
			return c.pollAck(now, buf)
		}
		if seq, ok := c.nextNewPacket(now); ok {
			return c.transmit(now, buf, seq, tail), true
		}
	}
	return c.pollAck(now, buf)
}

// pollAck writes a bare ACK or keepalive if one is due.
func (c *Conn) pollAck(now time.Time, buf []byte) (int, bool) {
	if c.rcv.ackNow || c.keepalivePending || c.ackReleased() {
		typ := wire.State
		n := c.finishControl(now, buf, typ)
		if c.keepalivePending && !c.rcv.ackNow && !c.rcv.ackDue {
			// libutp's keepalive: a STATE acking one less than we have,
			// which the peer ignores as an old ACK.
			putAckNr(buf, c.rcv.ackNr-1)
		}
		c.keepalivePending = false
		c.challengeSent(now)
		return n, true
	}
	return 0, false
}

// nextRetransmit returns the oldest packet declared lost that the window
// allows to resend. After a timeout the window holds one packet, so this
// resends the oldest first (RFC 6298 5.4).
//
// The oldest unacknowledged packet is resent whatever the window: RFC 5681
// 3.2 step 3 and RFC 6675 section 5 step (4.3) retransmit it on entering
// recovery without consulting cwnd. Our flight counts every packet the
// peer has not acknowledged, including those that arrived past the end of
// its SACK bitmask (libutp's covers 32 packets), so after the loss has
// halved the window the flight can stay above it until the oldest packet
// is repaired: waiting for room would wait for the RTO.
func (c *Conn) nextRetransmit() (uint16, bool) {
	s := &c.snd
	if s.lostN == 0 {
		return 0, false
	}
	for seq := s.una; seq != s.seqNr; seq++ {
		p := s.pkt(seq)
		if !p.lost {
			continue
		}
		if seq != s.una && s.flight > 0 && s.flight+p.size() > c.sendWindow() && p.typ != wire.Syn {
			return 0, false
		}
		return seq, true
	}
	return 0, false
}

// minView is the least payload PollTransmitView leaves in the send
// buffer: copying a small one costs less than gathering it.
const minView = 1024

// transmit encodes p with a fresh header and marks it in flight. With
// tail, a first transmission's payload is left there as slices of the
// send buffer instead of copied (see PollTransmitView).
func (c *Conn) transmit(now time.Time, buf []byte, seq uint16, tail *[2][]byte) int {
	s := &c.snd
	p := s.pkt(seq)
	if p.pad > 0 && p.sends > 0 {
		p.pad = 0 // a probe is resent as the empty packet it is
	}
	var h wire.Header
	c.header(&h, now, p.typ, seq)
	var n int
	switch {
	case p.pad > 0:
		n = h.PutPadded(buf, p.size())
	case p.frag && p.n > c.maxPayload():
		// Still too large: a search may since have confirmed its size.
		n = c.putFragmentable(&h, buf, p)
	default:
		n = h.Put(buf)
	}
	switch {
	case p.n >= minView && tail != nil && p.sends == 0:
		tail[0], tail[1] = s.ring.view(p.off, p.n)
	case p.n > 0:
		s.ring.readAt(buf[n:n+p.n], p.off)
		n += p.n
	}
	if p.lost {
		p.lost = false
		s.lostN--
	}
	if p.sends > 0 {
		c.stats.Retransmits++
	} else if p.typ == wire.Fin {
		c.finAfterEOF = c.rcv.eof
	}
	if p.sends == 0 {
		p.firstSentAt = now
		c.tlpNews(now, false)
	}
	p.sends++
	p.sentAt = now
	c.lastDataTx = now
	s.txCount++
	p.txID = s.txCount
	p.inFlight = true
	s.flight += p.size()
	c.stats.BytesSent += uint64(p.n)
	c.paced(now, p.size())
	c.ackSent()
	c.countSent(now)
	if c.timers[timerRetransmit].IsZero() || (p.sends > 1 && seq == s.una) {
		// RFC 6298 5.1 starts the timer; 5.3 restarts it when new data is
		// acknowledged, so that it times the oldest outstanding packet.
		// Resending that packet restarts it too: its ACK cannot come back
		// within a round trip, and a timer left running from the last ACK
		// could expire just after a fast retransmission, collapsing the
		// window and resending everything for a packet that was not lost.
		// Linux rearms its timer the same way when it retransmits the head
		// of its queue (tcp_xmit_retransmit_queue).
		c.setTimer(timerRetransmit, now.Add(c.rto()))
	}
	return n
}

func (c *Conn) countSent(now time.Time) {
	c.lastSend = now
	c.stats.PacketsSent++
}

// header builds the header of an outgoing packet in h: our window, our
// ack_nr, a SACK while out-of-order data is held, and the timestamps (BEP
// 29). It fills the caller's h rather than returning one: a Header
// returned by value, stored field by field and then copied whole, stalled
// on the store forwarding, half of header's own CPU samples in a veth bulk
// transfer, where every packet takes one.
func (c *Conn) header(h *wire.Header, now time.Time, typ wire.Type, seq uint16) {
	ts := c.stamp(now)
	*h = wire.Header{
		Type:          typ,
		ConnID:        c.sendID,
		Timestamp:     ts,
		TimestampDiff: c.echoDiff(ts),
		WndSize:       uint32(c.rcv.window()),
		SeqNr:         seq,
		AckNr:         c.rcv.ackNr,
	}
	if typ == wire.Syn {
		h.ConnID = c.recvID
		h.AckNr = 0
		h.MaxDatagram = c.advertised(nil)
	} else {
		limit := c.cfg.MaxSACKBytes
		if typ == wire.Data || typ == wire.Fin {
			limit = dataSACKLimit(&c.cfg)
		}
		h.SACK = c.rcv.sack(limit)
	}
	c.rcv.lastAdvertised = int(h.WndSize)
}

// finishControl writes a STATE or RESET: these carry seq_nr but do not
// consume it (BEP 29).
func (c *Conn) finishControl(now time.Time, buf []byte, typ wire.Type) int {
	var h wire.Header
	c.header(&h, now, typ, c.snd.seqNr)
	if typ == wire.Reset {
		// Our RESET echoes the peer's next sequence number, as a RESET
		// answering its STATE would, so that the peer honours it at once
		// (accept.go).
		h.SACK = nil
		h.AckNr = c.rcv.peerNext
	}
	c.ackSent()
	c.countSent(now)
	return h.Put(buf)
}

func putAckNr(buf []byte, ack uint16) { buf[18], buf[19] = byte(ack>>8), byte(ack) }
