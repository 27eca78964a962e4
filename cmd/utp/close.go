package main

import (
	"context"
	"time"

	"github.com/inet256/go-utp/v2/utp"
)

// lingerTime bounds how long a command keeps its Socket open after its
// connection is closed. It is several of our minimum RTOs (200 ms), so a
// peer that lost our last ACK and resends its FIN still gets an answer.
const lingerTime = time.Second

// finish waits (at most within) until the peer has acknowledged
// everything we wrote and our FIN, then closes c and lingers (see linger).
// The error is Drain's.
func finish(c *utp.Conn, within time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	err := c.Drain(ctx)
	c.Close()
	linger(c)
	return err
}

// linger keeps c's Socket open until c has left it (utp.Conn.Done), at
// most lingerTime. The Socket is about to close, which resets whatever it
// still holds; a connection in TIME-WAIT (we sent our FIN before the
// peer's) stays 16 s, and closing at once would let that RESET overtake,
// or the node's teardown lose, our ACK of the peer's FIN, which the peer
// may still be waiting for: it would then see its stream reset, or time
// out. (The kernel keeps TCP's TIME-WAIT after the process exits; a
// user-space transport can only linger.)
func linger(c *utp.Conn) {
	t := time.NewTimer(lingerTime)
	defer t.Stop()
	select {
	case <-c.Done():
	case <-t.C:
	}
}
