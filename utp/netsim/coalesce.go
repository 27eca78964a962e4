package netsim

import "net"

// MaxCoalesced bounds the datagrams one ReadCoalesced returns, as the
// kernel's UDP_MAX_SEGMENTS (64 before Linux 6.8) bounds one GRO read.
const MaxCoalesced = 64

// ReadCoalesced reads as ReadFrom does and then, as Linux coalesces a
// UDP flow for a socket with UDP_GRO, appends to p the datagrams queued
// right behind the first that come from the same sender with its length,
// and at most one shorter one, which ends the run, while p has room. seg
// is the length of each but the last, or 0 when one datagram was read
// (always, WithoutCoalescing). It lets a caller's batched read path run in a simulation.
func (c *PacketConn) ReadCoalesced(p []byte) (n, seg int, from net.Addr, err error) {
	n, from, err = c.ReadFrom(p)
	if err != nil || n == 0 || c.noCoalesce {
		return n, 0, from, err
	}
	first := n
	c.mu.Lock()
	defer c.mu.Unlock()
	for count := 1; count < MaxCoalesced && c.q.n > 0; count++ {
		d := c.q.peek()
		if d.from != from || len(d.b) > first || len(d.b) == 0 || n+len(d.b) > len(p) {
			break
		}
		c.q.pop()
		n += copy(p[n:], d.b)
		seg = first
		if len(d.b) < first {
			break
		}
	}
	return n, seg, from, nil
}

// Queued is the number of datagrams waiting to be read: a reader that
// sees one can read it without waiting (a non-blocking read's test).
func (c *PacketConn) Queued() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.q.n
}

// peek returns the oldest datagram without removing it; r.n > 0.
func (r *ring) peek() datagram { return r.buf[r.head] }
