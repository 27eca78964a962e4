package utp

// The step engine of a Conn: every input runs the state machine under c.mu,
// then its datagrams, events and timer are applied. conn.go holds the API.

import (
	"net"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/packetio"
	"github.com/inet256/go-utp/v2/utp/internal/proto"
)

// step applies one input to the state machine under c.mu, collects every
// datagram it wants sent and every event, re-arms the timer, and sends
// the datagrams after releasing the lock.
func (c *Conn) step(input func(now time.Time, m *proto.Conn)) {
	c.mu.Lock()
	now := c.clock()
	if input != nil {
		input(now, c.m)
	}
	a := c.settle(now)
	c.mu.Unlock()
	c.afterStep(a)
}

// stepAt is step at a time the caller read before (the reader's, for
// every packet of one read): one clock read instead of two per read.
func (c *Conn) stepAt(now time.Time, input func(now time.Time, m *proto.Conn)) {
	c.mu.Lock()
	if now.Before(c.last) {
		now = c.last
	}
	c.last = now
	input(now, c.m)
	a := c.settle(now)
	c.mu.Unlock()
	c.afterStep(a)
}

// clock reads the time for a step, under c.mu.
func (c *Conn) clock() time.Time {
	c.last = c.s.clock.now()
	return c.last
}

// settled is what a step leaves to do once c.mu is released: the sending,
// and the Socket's bookkeeping, which takes s.mu (never under c.mu).
type settled struct {
	now     time.Time
	direct  *outBatch // the batch this goroutine is to send (see queue)
	pathMTU int       // a path MTU the state machine learned, 0 if none
	gone    bool      // the connection ended: forget it
	promote bool      // an acceptor's handshake is proven: queue it for Accept
	retired bool      // it ended into TIME-WAIT: tw takes its place (timewait.go)
	room    int       // the receive buffer the kernel's is to be raised for (rcvbuf.go), 0 if none
	tw      proto.TimeWait
}

// settle is the second half of a step under c.mu, for callers that applied
// their input themselves (Read, Write: one lock and one clock read per call
// instead of two). c.mu is held; the caller releases it, then calls
// afterStep with the result.
func (c *Conn) settle(now time.Time) settled {
	out := c.s.getBatch()
	c.m.SetWindowLimit(c.s.share.window(c))
	room := c.m.GrownRecvSpace()
	if !c.s.share.wantsRoom(c, room) {
		room = 0
	}
	if c.userClose {
		c.discardAfterClose(now)
	}
	c.collect(now, out)
	proven := !c.confirmed.Load() && c.m.Confirmed()
	if proven {
		c.confirmed.Store(true)
	}
	a := settled{now: now, room: room}
	if !c.m.TimeWaitEnd().IsZero() {
		// In TIME-WAIT: once nothing else is due, the connection retires
		// into a record the Socket keeps in its place (timewait.go).
		c.timeWaiting.Store(true)
		a.tw, a.retired = c.m.Retire()
	}
	a.gone = c.events()
	a.promote = proven && c.acceptor
	c.rearm(now)
	a.direct = c.queue(out)
	pathMTU := c.m.PathMTU()
	if pathMTU != c.pathMTU && pathMTU > 0 {
		a.pathMTU = pathMTU
	}
	c.pathMTU = pathMTU
	return a
}

// afterStep does what settle left to do, without c.mu. The zero settled
// does nothing.
func (c *Conn) afterStep(a settled) {
	if a.pathMTU > 0 {
		c.s.paths.learned(c.dst.AP.Addr(), a.pathMTU, a.now)
	}
	if a.direct != nil {
		c.sendDirect(a.direct)
	}
	if a.room > 0 {
		c.s.share.makeRoom(a.room)
	}
	switch {
	case a.gone && a.retired:
		c.s.forgetRetired(c, a.tw)
	case a.gone:
		c.s.forget(c)
	case a.promote:
		c.s.promote(c)
	}
}

// queue takes a step's datagrams, to be sent in the order the state
// machine made them: one goroutine at a time sends a connection's
// datagrams, so that two goroutines stepping at once (the reader's
// handshake confirmation and the user's first Write, say) cannot reorder
// them on the way out, which would cost the peer a selective ACK and us a
// spurious retransmission. When no other goroutine is sending, the caller
// becomes the sender: queue returns the batch for sendDirect. Otherwise
// the batch waits in sendQ for the goroutine sending now. Nobody waits
// for the sender: a send that blocks holds up only its own goroutine, and
// never c.mu; where sends may block for long (packetio's
// Caps.BlockingSend: a daemon that died under an INET256 node), the
// Socket's sender goroutine is always the sender (sender.go). c.mu is
// held.
func (c *Conn) queue(out *outBatch) (direct *outBatch) {
	if len(out.ds) == 0 {
		c.s.putBatch(out)
		return nil
	}
	if c.flushing {
		if len(c.sendQ) >= maxQueuedBatches {
			if c.s.async == nil {
				// Sends do not block (UDP): the sender only waits for a
				// CPU while steps come fast (an ACK's few packets
				// each); the window bounds what they hold. Join them,
				// in order, rather than lose them.
				last := c.sendQ[len(c.sendQ)-1]
				last.join(out, c.s)
				c.s.putBatch(out)
				return nil
			}
			c.s.dropBatch(out) // sends are blocked: lose it, as a full UDP buffer would
			return nil
		}
		c.sendQ = append(c.sendQ, out)
		return nil
	}
	c.flushing = true
	c.s.flushers.begin()
	if c.s.async != nil && c.s.async.schedule(c) {
		// Sends may block, so the Socket's sender sends. Its flush
		// takes c.mu to read sendQ, so it finds out there.
		c.sendQ = append(c.sendQ, out)
		return nil
	}
	return out
}

// sendDirect sends the batch queue handed to this goroutine, then
// whatever other steps queued meanwhile. Datagrams the kernel refused as
// larger than the link are reported to path MTU discovery, which resends
// what they carried in smaller ones.
func (c *Conn) sendDirect(out *outBatch) {
	tooBig := c.s.send(out, c.dst)
	c.s.putBatch(out)
	tooBig = smallest(tooBig, c.flush())
	if tooBig > 0 {
		c.step(func(now time.Time, m *proto.Conn) { m.PathTooBig(now, tooBig) })
	}
}

// flush sends queued batches until the queue is empty, without c.mu, and
// then gives up the sender's role. The queue and its spare swap places,
// so that neither allocates again. It returns the smallest datagram size
// the kernel refused (EMSGSIZE), 0 if none.
func (c *Conn) flush() (tooBig int) {
	for {
		c.mu.Lock()
		batches := c.sendQ
		if len(batches) == 0 {
			c.flushing = false
			c.mu.Unlock()
			c.s.flushers.end()
			return tooBig
		}
		c.sendQ, c.sendSpare = c.sendSpare[:0], nil
		c.mu.Unlock()
		for i, out := range batches {
			tooBig = smallest(tooBig, c.s.send(out, c.dst))
			c.s.putBatch(out)
			batches[i] = nil
		}
		c.mu.Lock()
		c.sendSpare = batches[:0]
		c.mu.Unlock()
	}
}

// collect drains the datagrams the state machine wants sent. Where the
// Socket sends from several buffers at once, payloads stay in the send
// buffer rather than being copied next to their headers.
//
// Buffers are sized to what the state machine may write. An unproven
// acceptor sends only headers (its SYN reply, the proof request, a
// RESET), so it never takes a whole datagram's buffer: a SYN flood's
// thousands of handshakes and their timers then hold a few KiB each, not
// 64 KiB. Nor does a connection with nothing in its send buffer: only
// that buffer's bytes make a datagram long (a payload, a retransmission's
// copy, or a path MTU probe, which goes out only with data waiting), so
// its handshake, ACKs and FIN fit a small buffer, and a Socket opened
// for one short connection allocates no whole-datagram buffer to send
// them. Otherwise each datagram is written into a whole-datagram buffer,
// and one that turns out short (a header, its payload left in the send
// buffer) is copied into the batch's arena (outBatch.addHead), or else
// moves to a small buffer, leaving the big one for the next: a step that
// sends hundreds of packets from the send buffer holds one big buffer,
// not hundreds.
func (c *Conn) collect(now time.Time, out *outBatch) {
	size := smallBuf
	if c.m.Confirmed() && c.m.Buffered() > 0 {
		size = maxDatagram
	}
	buf := out.spare
	out.spare = nil
	if cap(buf) < size {
		c.s.putBuf(buf)
		buf = c.s.getSized(size)
	}
	gather := c.s.pio.Caps().Gather
	for {
		var d packetio.Datagram
		var n int
		var ok bool
		if gather {
			n, ok = c.m.PollTransmitView(now, buf, &d.Tail)
		} else {
			n, ok = c.m.PollTransmit(now, buf)
		}
		if !ok {
			out.spare = buf
			return
		}
		d.Fragmentable = c.m.Fragmentable()
		if d.Head = out.addHead(buf[:n]); d.Head != nil {
			out.add(d) // buf stays for the next datagram
			continue
		}
		switch {
		case cap(buf) == smallBuf:
			d.Head, buf = buf[:n], c.s.getSmall()
		case n <= smallBuf:
			d.Head = append(c.s.getSmall()[:0], buf[:n]...)
		default:
			d.Head, buf = buf[:n], c.s.getBuf()
		}
		out.add(d)
	}
}

// events turns state-machine events into channel signals. It reports
// whether the connection has ended and should leave the Socket's table.
func (c *Conn) events() (gone bool) {
	for {
		ev := c.m.NextEvent()
		switch ev.Kind {
		case proto.EventNone:
			return gone
		case proto.EventConnected:
			c.connOnce.Do(func() { close(c.connected) })
			c.s.lead.wakeFor(c) // a dial that leads (awaitDial)
		case proto.EventReadable:
			c.wakeReadable()
		case proto.EventWritable:
			signal(c.writable)
		case proto.EventClosed:
			c.err = mapProtoErr(ev.Err)
			if c.err == net.ErrClosed && c.lingerOut {
				c.err = ErrLingerExpired
			}
			c.stats = c.m.Stats()
			c.closeOnce.Do(func() { close(c.closed) })
			c.lingerAt, c.timerAt = time.Time{}, time.Time{} // nothing is due any more
			if c.timer != nil {
				c.timer.Stop()
			}
			c.wakeReadable()
			signal(c.writable)
			gone = true
		}
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// rearm moves the connection's one timer only when its deadline comes
// earlier than the timer is set for. A deadline that moved later, or went
// away, leaves the timer to fire early; HandleTimeout is then a no-op and
// the timer is set again. Deadlines change on almost every packet (the
// delayed ACK is armed by one and cancelled by the reply), and resetting
// a runtime timer to an earlier time wakes the network poller: this way a
// ping-pong moves the timer about once per delayed-ACK interval, not twice
// per round trip.
func (c *Conn) rearm(now time.Time) {
	if isClosed(c.closed) {
		return // ended: nothing is due, and a deadline left over must not fire again and again
	}
	at := c.nextFire(now)
	if at.IsZero() || (!c.timerAt.IsZero() && !at.Before(c.timerAt)) {
		return
	}
	c.timerAt = at
	if c.timer == nil {
		c.timer = time.AfterFunc(at.Sub(now), c.onTimer)
		return
	}
	c.timer.Reset(at.Sub(now))
}

// nextFire is when the connection's timer is next due: the state
// machine's next deadline, the linger's end, and the read and write
// deadlines still ahead of now; zero: none.
func (c *Conn) nextFire(now time.Time) time.Time {
	at := earliest(c.m.NextDeadline(), c.lingerAt)
	if c.rdl.After(now) {
		at = earliest(at, c.rdl)
	}
	if c.wdl.After(now) {
		at = earliest(at, c.wdl)
	}
	return at
}

// earliest returns the earlier of two times, where zero means none.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// passed reports whether deadline t is set and not after now.
func passed(t, now time.Time) bool { return !t.IsZero() && !now.Before(t) }

func (c *Conn) onTimer() {
	if c.firedEarly() {
		return
	}
	c.step(func(now time.Time, m *proto.Conn) {
		c.timerAt = time.Time{} // fired: the next deadline arms it again
		if passed(c.rdl, now) {
			c.wakeReadable() // a blocked Read re-checks its deadline
		}
		if passed(c.wdl, now) {
			signal(c.writable)
		}
		if passed(c.lingerAt, now) {
			c.lingerOut = true
			m.Reset(now) // closed, and not finished within the linger
			return
		}
		m.HandleTimeout(now)
	})
}

// firedEarly handles a fire of the connection's timer before anything is
// due, the common case: rearm leaves a timer whose deadline moved later
// to fire early, and a bulk sender's tail-probe deadline moves at every
// send. It sets the timer again for what is due next and reports true,
// without a step: the step had nothing to do, and its deep calls grew
// the stack of the fresh goroutine that time.AfterFunc runs each fire
// in, two or three stack copies per fire. False: something is due (a
// read or write deadline passed included), or the connection ended;
// the caller steps.
func (c *Conn) firedEarly() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock()
	if c.timer == nil || isClosed(c.closed) || passed(c.rdl, now) || passed(c.wdl, now) || passed(c.lingerAt, now) {
		return false
	}
	at := c.nextFire(now)
	if !at.IsZero() && !at.After(now) {
		return false
	}
	c.earlyFires++
	c.timerAt = at // zero: nothing due; the next step's rearm sets the timer
	if !at.IsZero() {
		c.timer.Reset(at.Sub(now))
	}
	return true
}

// discardAfterClose drops data that arrives after Close. As TCP does, data
// nobody will read resets the connection, so the peer learns at once.
func (c *Conn) discardAfterClose(now time.Time) {
	var scratch [512]byte
	// Data placed in the buffer of a Read that Close interrupted was
	// never read either.
	posted := c.m.TakePosted()
	if n, _ := c.m.Read(now, scratch[:]); n > 0 || posted > 0 {
		c.m.Reset(now)
	}
}
