package utp

import "errors"

// What a closing connection reads first.
//
// A request-response connection whose server closes first (it writes
// the reply, then its FIN) is closed by the client right after its Read
// returns the reply. The leading Read returned with the reply alone: the
// server's FIN, sent a few microseconds after it, was usually still in
// flight, and is then queued, unread, when Close builds our FIN. Our FIN
// then does not acknowledge the server's, so the two FINs cross: the
// server acknowledges ours and we acknowledge theirs, 8 datagrams where
// 7 do (proto's finack.go: the FIN's ACK may ride on our own FIN, if the
// FIN has been read). So Close first applies what is queued, when it can
// do so without waiting or moving the read lead from anyone: the token
// is free, as a leading Read leaves it. Its FIN then carries the ACK of
// a FIN that was queued, and the peer's one ACK ends the exchange, as
// TCP's 7 segments do (the client's FIN, sent after the server's was
// received, acknowledges it).
//
// Only where the peer's FIN may well be queued, and reading it saves
// more than the read costs:
//   - the peer spoke last: everything we wrote is acknowledged. A server
//     closing right after its reply (still unacknowledged) skips it: its
//     client has not closed yet, and the read would find nothing;
//   - the peer's FIN has not been read already (a Read returned io.EOF);
//   - the Socket has made another connection, now or before: a Socket
//     opened for one dial is closed right after its connection, and its
//     RESET (Socket.Close) already ends the server's side without an ACK
//     (finack.go holds the ACK of a FIN that does not acknowledge the
//     server's own while a RESET may follow it), where a FIN that
//     acknowledged the server's would be answered at once, to a port
//     that has closed; and reading the FIN would only cost reads.

// readBeforeFin applies the datagrams queued on c's Socket before c's
// FIN is built, when the rules above hold, the read lead is free and
// nobody waits for the network. It never waits: it reads until the
// endpoint has nothing queued (one empty read), then puts the token back.
func (c *Conn) readBeforeFin() {
	l := &c.s.lead
	if !l.on || l.waiters.Load() != 0 || c.s.stats.dialed.Load()+c.s.stats.accepted.Load() < 2 {
		return
	}
	c.mu.Lock()
	peerLast := !c.userClose && !isClosed(c.closed) && isClosed(c.connected) && c.m.Flushed() && !c.m.ReadDone()
	c.mu.Unlock()
	if !peerLast || !l.tryTake() {
		return
	}
	for {
		n, seg, from, err := l.poll()
		if err != nil {
			if !errors.Is(err, errDrained) {
				l.in.holds.release()
			}
			break
		}
		l.s.routeRead(l.in, l.buf, n, seg, from)
	}
	l.pass()
}
