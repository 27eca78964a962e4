package proto

// A blocked Write's bytes lent to the Conn (PostWrite), the mirror of
// PostRead: the step whose acknowledgement frees room in the send buffer
// copies from the loan into it at once, and the data goes out in that
// step's batch. The writer is told (EventWritable) only once the loan is
// all taken, or can take no more, instead of at every acknowledgement: on
// a veth pair a bulk writer, whose Write is far larger than what one ACK
// frees, was woken by the IO layer's reader after each ACK, to copy and
// send what the reader's step could have, a goroutine handoff per ACK
// (docs/performance.md).

// PostWrite lends p, the part of a Write the send buffer could not take,
// to the Conn until TakeWritten. The IO layer must call TakeWritten
// before that Write returns; p is not touched after it.
func (c *Conn) PostWrite(p []byte) { c.snd.post, c.snd.posted = p, 0 }

// TakeWritten ends PostWrite's loan and returns how many bytes of p the
// send buffer took, from its start.
func (c *Conn) TakeWritten() int {
	n := c.snd.posted
	c.snd.post, c.snd.posted = nil, 0
	return n
}

// WriteLoanDone reports whether a loan is out and its writer is to look:
// all of it taken, or the connection takes no more (closed, or
// CloseWrite called).
func (c *Conn) WriteLoanDone() bool {
	return c.snd.post != nil && c.loanEnded()
}

// loanEnded reports whether the loan (if any) is all taken or can take
// no more.
func (c *Conn) loanEnded() bool {
	s := &c.snd
	return s.posted == len(s.post) || c.state == stateClosed || s.finQueued
}

// takeLoan copies into the send buffer what fits of the loan, if any,
// and reports whether the writer is to look now (EventWritable): no loan
// is out, or loanEnded.
func (c *Conn) takeLoan() bool {
	s := &c.snd
	if s.post == nil {
		return true
	}
	if !c.loanEnded() {
		s.ring.limit = c.sendLimit()
		n := s.ring.write(s.post[s.posted:])
		s.posted += n
		c.stats.BytesWritten += uint64(n)
	}
	return c.loanEnded()
}
