package utp

// Routing: the reader hands each datagram to its connection through an
// inbox, answers strays with a RESET (rate-limited by a token bucket), and
// passes what is not uTP to ReadFrom. accept.go and dial.go set up connections.

import (
	"errors"
	"net"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/packetio"
	"github.com/inet256/go-utp/v2/utp/internal/proto"
	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// readLoop is the Socket's one goroutine: it reads datagrams and hands
// each to its connection, while it holds the read lead (lead.go).
func (s *Socket) readLoop(ticked bool) {
	defer close(s.readerDone)
	s.lead.run(ticked)
}

// stopReading handles a failed read of the reader goroutine and reports
// whether the Socket is done reading.
func (s *Socket) stopReading(err error, failures *int) bool {
	if s.isClosed() {
		return true
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return false
	}
	if readFailed(err) {
		// Closed from outside, or failed: without its reader the Socket
		// is dead, so close it with the error, or Accept would wait
		// forever.
		s.closeWith(err)
		return true
	}
	// Other errors may be transient (ENOBUFS, a bad ICMP): back off a
	// little, but a PacketConn that keeps failing ends the Socket rather
	// than spinning.
	*failures++
	s.tel.warn("utp: read failed", err)
	if *failures >= 100 {
		s.closeWith(err)
		return true
	}
	time.Sleep(10 * time.Millisecond)
	return false
}

// routeRead routes what one read returned: one datagram, or several
// coalesced ones of seg bytes each (the last may be shorter). Those for
// one connection are applied in one step, so that it answers them all
// with one acknowledgement. It reports whether any packet was applied.
func (s *Socket) routeRead(in *inbox, buf []byte, n, seg int, from source) bool {
	if seg == 0 || seg >= n {
		seg = n
	} else {
		s.stats.coalescedReads.Add(1)
	}
	now := s.clock.now()
	var packets, bytes uint64
	for off := 0; off < n; off += seg {
		b := buf[off:min(off+seg, n)]
		if s.route(in, b, from, now) {
			packets++
			bytes += uint64(len(b))
		}
	}
	// Counted once per read: two atomic adds per packet were most of
	// route's own time on a veth pair, where a read holds dozens.
	if packets > 0 {
		s.stats.packetsIn.Add(packets)
		s.stats.bytesIn.Add(bytes)
	}
	return in.flush(now)
}

// source is where a datagram came from. For UDP it is a netip.AddrPort
// passed by value, so dispatch allocates nothing per datagram; a
// *net.UDPAddr is made only for a new connection.
type source = packetio.Addr

// read reads the next datagram, or several coalesced ones of seg bytes
// each (seg 0: one).
func (s *Socket) read(buf []byte) (n, seg int, from source, err error) {
	return s.pio.Read(buf)
}

func (s *Socket) key(from source, id uint16) connKey {
	if from.Net == nil {
		return connKey{ap: from.AP, id: id}
	}
	return s.keyOf(from.Net, id)
}

// sourceOf is addr as a source, in the form read gives it.
func (s *Socket) sourceOf(addr net.Addr) source { return s.pio.AddrOf(addr) }

// route routes one datagram: to its connection (queued in in, which the
// caller flushes), to a new connection (SYN), to ReadFrom (not uTP), or
// answers it with RESET (unknown). It reports whether b parsed as uTP,
// for the caller to count in PacketsIn and BytesIn.
func (s *Socket) route(in *inbox, b []byte, from source, now time.Time) (parsed bool) {
	h := in.slot()
	payload, err := wire.ParseInto(h, b)
	if err != nil {
		if errors.Is(err, wire.ErrNotUTP) {
			s.passOn(b, from)
		} else {
			s.tel.event(&s.stats.malformed, metricMalformed)
		}
		return false
	}
	return s.routeParsed(in, h, payload, from, now)
}

// routeParsed is route once the header is parsed into h, at its place in
// in (in.slot), with its payload.
func (s *Socket) routeParsed(in *inbox, h *wire.Header, payload []byte, from source, now time.Time) bool {
	c := in.recent(h)
	if c == nil {
		c = s.hinted(in, from, h)
	}
	if c == nil {
		c = s.lookup(from, h)
	}
	if c != nil && h.Type == wire.Syn && (!c.m.SameSyn(*h) || c.timeWaiting.Load()) {
		// A new connection reusing the id of an old one (in TIME-WAIT, or
		// one whose peer restarted): with 16-bit ids and many short
		// connections this is routine. The new SYN wins, as TCP lets a SYN
		// reopen a TIME-WAIT connection (RFC 6191). In TIME-WAIT even a
		// SYN like the old one's is new: the old dialer is past its
		// handshake, and a new one that forgot the old connection draws
		// its id and sequence number again once in 65,536 reuses, which
		// taken for a repeat would get the old connection's reply.
		in.flush(now)
		c.step(func(now time.Time, m *proto.Conn) { m.Drop(now) }) // leaves the table
		c = nil
	}
	if c == nil && s.answerWait(from, h, now) {
		return true // for a connection retired in TIME-WAIT (timewait.go)
	}
	if c == nil {
		in.flush(now) // keep the order of packets and new connections
		c = s.revive(from, h, now)
	}
	switch {
	case c != nil && c.unprovable(h):
		s.tel.event(&s.stats.unprovable, metricUnprovable)
	case c != nil:
		in.add(c, h, payload, now)
		in.remember(c, h)
	case h.Type == wire.Syn:
		s.accept(from, *h)
	case h.Type != wire.Reset:
		s.replyReset(from, *h)
	}
	return true
}

// hinted returns the connection a leading call reads for (inbox.hint) if
// h is one of its peer's packets for it, without the table's lock and
// lookup: a ping-pong's every packet is its Read's. A SYN or a RESET is
// looked up by more than its key, and a connection that has ended (its
// closed channel closed before it leaves the table, or retired in
// TIME-WAIT) may have left the table: those take the lookup. So does a
// source that is not an AddrPort (another endpoint than UDP), whose key
// costs a String each time: a packet for another connection would pay it
// twice.
func (s *Socket) hinted(in *inbox, from source, h *wire.Header) *Conn {
	c := in.hint
	if c == nil || from.Net != nil || h.Type == wire.Syn || h.Type == wire.Reset ||
		(connKey{ap: from.AP, id: h.ConnID}) != c.key || isClosed(c.closed) || c.timeWaiting.Load() {
		return nil
	}
	return c
}

// lookup finds the connection a packet belongs to. A SYN is keyed by the
// id it announces plus one (the acceptor's receive id). libutp addresses a
// RESET with the id of the packet it answers, which is our send id, so a
// RESET matches either id.
func (s *Socket) lookup(from source, h *wire.Header) *Conn {
	id := h.ConnID
	if h.Type == wire.Syn {
		id++
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.conns[s.key(from, id)]; c != nil {
		return c
	}
	if h.Type != wire.Reset {
		return nil
	}
	for _, k := range [2]uint16{id - 1, id + 1} {
		if c := s.conns[s.key(from, k)]; c != nil && c.m.SendID() == id {
			return c
		}
	}
	return nil
}

// replyReset answers a packet for an unknown connection, within the rate
// limit (WithResetRate).
func (s *Socket) replyReset(to source, h wire.Header) {
	if !s.resets.take(s.clock.now()) {
		s.tel.event(&s.stats.resetsSuppressed, metricResetsSuppressed)
		return
	}
	r := wire.Header{Type: wire.Reset, ConnID: h.ConnID, SeqNr: uint16(s.randUint32()), AckNr: h.SeqNr}
	var buf [wire.HeaderSize]byte
	r.Put(buf[:])
	s.tel.event(&s.stats.resetsSent, metricResetsSent)
	s.writeTo(buf[:], to)
}

func (s *Socket) randUint32() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.Uint32()
}

// passOn queues a datagram that is not uTP for ReadFrom.
func (s *Socket) passOn(b []byte, from source) {
	d := datagram{b: append([]byte(nil), b...), from: from.NetAddr()}
	select {
	case s.nonUTPQueue() <- d:
		s.stats.nonUTP.Add(1)
	default:
		s.tel.event(&s.stats.nonUTPDropped, metricNonUTPDropped)
	}
}

// inbox holds consecutive packets for one connection, so that one step
// applies them all: the connection then answers a coalesced read with
// one acknowledgement, not one for every second packet. The payloads
// point into the reader's buffer and are used before it is reused.
type inbox struct {
	c        *Conn
	n        int
	last     *Conn    // the connection of the last packet queued, until the next flush
	lastID   uint16   // its header's connection id
	hint     *Conn    // the connection a leading Read or dial reads for (readUntil), nil if none
	holds    ackHolds // ackhold.go
	headers  [inboxSize]wire.Header
	payloads [inboxSize][]byte
	spare    wire.Header // where a packet is parsed while the inbox is full
}

// inboxSize is as many packets as one coalesced read returns at most
// (64, Linux's UDP_MAX_SEGMENTS before 6.8): a longer run for one
// connection is applied in more than one step.
const inboxSize = 64

// remember notes c as the connection of the packet h just queued, for
// recent. SYN and RESET are looked up by more than their id, so they are
// not remembered.
func (in *inbox) remember(c *Conn, h *wire.Header) {
	if h.Type != wire.Syn && h.Type != wire.Reset {
		in.last, in.lastID = c, h.ConnID
	}
}

// recent returns the connection of the packet queued last if h carries
// the same connection id, or nil. The packets of one read share their
// source, so that id is the whole key: a coalesced read's dozens of
// packets for one connection take one table lookup, not one each (the
// map's hashing and s.mu were 2-3% of a bulk transfer's CPU samples on
// veth). It holds only until the inbox is flushed, which every read ends
// with, and which may end the connection.
func (in *inbox) recent(h *wire.Header) *Conn {
	if in.last == nil || h.ConnID != in.lastID || h.Type == wire.Syn || h.Type == wire.Reset {
		return nil
	}
	return in.last
}

// slot is where route parses the next packet's header (wire.ParseInto):
// its place in the inbox, so that add need not copy it, or spare while
// the inbox is full.
func (in *inbox) slot() *wire.Header {
	if in.n < len(in.headers) {
		return &in.headers[in.n]
	}
	return &in.spare
}

// add queues a packet for c, whose header h was parsed into slot, first
// flushing packets for another connection, or a full inbox; the header
// is copied only if a flush moved its place.
func (in *inbox) add(c *Conn, h *wire.Header, payload []byte, now time.Time) {
	if in.c != c || in.n == len(in.headers) {
		in.flush(now)
	}
	in.c = c
	if p := &in.headers[in.n]; p != h {
		*p = *h
	}
	in.payloads[in.n] = payload
	in.n++
}

// flush applies the queued packets, read at now, and reports whether
// there were any.
func (in *inbox) flush(now time.Time) bool {
	if in.n == 0 {
		return false
	}
	// Only data and FINs are acknowledged: a run of ACKs leaves nothing
	// to hold.
	hold := in.holds.on && in.owesAck()
	held := false
	var took [inboxSize]bool
	in.c.stepAt(now, func(now time.Time, m *proto.Conn) {
		m.HoldAcks(hold)
		for i := range in.n {
			m.HandleParsed(now, &in.headers[i], in.payloads[i])
			took[i] = m.Took()
		}
		held = hold && m.AckHeld()
	})
	if held {
		in.holds.note(in.c)
	}
	in.share(now, &took)
	clear(in.payloads[:in.n])
	in.c, in.n, in.last = nil, 0, nil
	return true
}

// share tells the receive-buffer share (share.go) what the packets just
// applied brought, counting only those the state machine took: a forged
// packet it rejected (any seq_nr and ack_nr, with the connection id)
// would otherwise make an idle connection count as receiving, shrinking
// every other window, or uncount a receiving one with a FIN, letting the
// senders overfill the kernel buffer (docs/security.md).
func (in *inbox) share(now time.Time, took *[inboxSize]bool) {
	w := in.c.s.share
	for i := range in.n {
		if !took[i] {
			continue
		}
		if n := len(in.payloads[i]); n > 0 {
			w.noteData(in.c, now, n)
		}
		if in.headers[i].Type == wire.Fin {
			w.finished(in.c)
		}
	}
}

// owesAck reports whether a queued packet carries a payload or is a FIN:
// the packets whose ACK may be held. A FIN's matters most where a RESET
// follows it in the same wakeup, as from a client that closes its Socket
// right after its connection: the RESET ends the connection, and the ACK
// held for the FIN never leaves (proto's finack.go).
func (in *inbox) owesAck() bool {
	for i, p := range in.payloads[:in.n] {
		if len(p) > 0 || in.headers[i].Type == wire.Fin {
			return true
		}
	}
	return false
}

// tokenBucket limits a rate: take succeeds at most perSecond times a
// second on average, with bursts of up to perSecond.
type tokenBucket struct {
	rate   float64
	tokens float64
	last   time.Time
}

func newTokenBucket(perSecond int) tokenBucket {
	return tokenBucket{rate: float64(perSecond), tokens: float64(perSecond)}
}

func (b *tokenBucket) take(now time.Time) bool {
	if !b.last.IsZero() {
		b.tokens = min(b.rate, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
