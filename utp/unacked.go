package utp

// Unacknowledged returns how many of the bytes written to c the peer has
// not acknowledged yet: what Drain waits for. What a sender wrote minus
// this is what has arrived, which is what a progress bar should show
// (Write returns once the data is buffered, up to WithSendBuffer ahead).
func (c *Conn) Unacknowledged() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m.Buffered()
}
