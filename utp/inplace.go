package utp

// Reads in place: a leading Read that lent its buffer (Conn.Read,
// proto.PostRead) reads the next datagram with its payload placed
// straight into that buffer, where the next in-order bytes go
// (proto.PostTail), so the payload crosses from the kernel once, as a
// TCP reader's does, instead of into the read buffer and then out again:
// on loopback, whose packets are 64 KiB, that second copy was one of the
// largest items of a bulk transfer's profile (docs/performance.md).

import "github.com/inet256/go-utp/v2/utp/internal/wire"

// inPlaceMin is the least room, and the least datagram before, that makes
// a read in place worth trying. The datagram that follows is not known
// before it is read: if it is not the next in order for this Read (a
// coalesced run of small packets, another connection's, an ACK), its
// bytes are joined back in the read buffer, a copy more, so reads in
// place are tried only after a datagram large enough that the copy saved
// pays for the lock taken to find the room, and only where a lent buffer
// has room for such a one. Small reads (a ping-pong, a veth path's
// 1,472-byte datagrams, read coalesced) never try.
const inPlaceMin = 16 << 10

// bodyFor returns where the leading Read of c, which lent its buffer,
// should have the next datagram's payload placed, or nil to read as
// usual: only after a datagram of at least inPlaceMin (big), on an
// endpoint that places bytes (Scatterer), with that much room.
func (l *lead) bodyFor(c *Conn, lender bool) []byte {
	if !lender || !l.big || l.scatter == nil {
		return nil
	}
	c.mu.Lock()
	tail := c.m.PostTail()
	c.mu.Unlock()
	if len(tail) < inPlaceMin {
		return nil
	}
	return tail[:min(len(tail), len(l.buf)-wire.HeaderSize)]
}

// read reads into the read buffer, placing the bytes past a header's
// length in body if it is set; it waits unless told not to.
func (l *lead) read(body []byte, wait bool) (n, seg int, from source, err error) {
	switch {
	case body != nil:
		return l.scatter.ReadScatter(l.buf, wire.HeaderSize, body, wait)
	case wait:
		return l.s.read(l.buf)
	default:
		return l.s.pio.TryRead(l.buf)
	}
}

// noteRead records whether the read of n bytes (seg: coalesced) was one
// datagram large enough for the next read to try to place its payload.
func (l *lead) noteRead(n, seg int) {
	l.big = (seg == 0 || seg >= n) && n >= inPlaceMin
}

// routeInPlace routes what a read with body placed (lead.read): one plain
// DATA packet whose payload lies whole in body is routed with its payload
// there, for its connection to take in place if it is the next in order
// for the lent buffer (or copy it as any other packet); anything else is
// first joined back in buf, and routed as routeRead routes it.
func (s *Socket) routeInPlace(in *inbox, buf []byte, n, seg int, from source, body []byte) bool {
	const at = wire.HeaderSize
	k := n - at
	if (seg != 0 && seg < n) || k <= 0 || k > len(body) || !plainData(buf[:at]) {
		if k > 0 {
			copy(buf[at:], body[:min(k, len(body))])
		}
		return s.routeRead(in, buf, n, seg, from)
	}
	now := s.clock.now()
	h := in.slot()
	if _, err := wire.ParseInto(h, buf[:at]); err != nil {
		// plainData saw a version 1 DATA header with no extension, which
		// parses; join it anyway rather than drop a datagram.
		copy(buf[at:], body[:k])
		return s.routeRead(in, buf, n, seg, from)
	}
	if s.routeParsed(in, h, body[:k], from, now) {
		s.stats.packetsIn.Add(1)
		s.stats.bytesIn.Add(uint64(n))
	}
	return in.flush(now)
}

// plainData reports whether head is a DATA header of uTP version 1 with
// no extension: its payload starts right after it.
func plainData(head []byte) bool {
	return head[0] == byte(wire.Data)<<4|wire.Version && head[1] == 0
}
