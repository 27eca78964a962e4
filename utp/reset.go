package utp

// resetNow resets c and sends its RESET from this goroutine, even while
// another goroutine is sending c's datagrams (see queue): the Socket that
// calls it closes its PacketConn right after, and a RESET left waiting in
// c's queue would then never leave, so the peer would learn of the close
// only by timing out. A RESET needs no ordering after the data before it:
// the peer drops what arrives for a connection it has closed.
func (c *Conn) resetNow() {
	c.mu.Lock()
	now := c.clock()
	c.m.Reset(now)
	out := c.s.getBatch()
	c.collect(now, out)
	gone := c.events()
	c.rearm(now)
	c.mu.Unlock()
	c.s.send(out, c.dst)
	c.s.putBatch(out)
	if gone {
		c.s.forget(c)
	}
}

// inTimeWait reports whether the connection is in TIME-WAIT.
func (c *Conn) inTimeWait() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.m.TimeWaitEnd().IsZero()
}
