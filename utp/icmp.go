package utp

import (
	"net/netip"
	"syscall"
)

// onICMPError handles an ICMP error the kernel reported for a datagram
// we sent to dst. "Port unreachable" (ECONNREFUSED) fails the dials to
// dst still waiting for their handshake with ErrConnRefused, as a TCP
// connect fails on a RESET: nobody listens there, and waiting out the
// dial's budget (39 s) would tell the user nothing more. Connections
// already established are left alone: an ICMP error is easy to forge and
// a live connection has its own timeouts. Other errors (EMSGSIZE for
// path MTU discovery, host unreachable) are not acted on here.
func (s *Socket) onICMPError(dst netip.AddrPort, errno syscall.Errno) {
	if errno != syscall.ECONNREFUSED || !dst.IsValid() {
		return
	}
	dst = canonical(dst)
	var dialing []*Conn
	s.mu.Lock()
	for key, c := range s.conns {
		if key.ap == dst && !isClosed(c.connected) {
			dialing = append(dialing, c)
		}
	}
	s.mu.Unlock()
	for _, c := range dialing {
		c.refuse()
	}
}

// refuse ends a connection still in its handshake with ErrConnRefused,
// sending nothing: the peer's port is closed.
func (c *Conn) refuse() {
	c.mu.Lock()
	if isClosed(c.connected) || isClosed(c.closed) {
		c.mu.Unlock()
		return
	}
	now := c.clock()
	c.m.Drop(now)
	gone := c.events()
	c.err = ErrConnRefused // events set the Drop's error; waiters read c.err under c.mu
	c.rearm(now)
	c.mu.Unlock()
	if gone {
		c.s.forget(c)
	}
}
