package utp

import (
	"context"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/packetio"
	"github.com/inet256/go-utp/v2/utp/internal/proto"
)

var errEOF = io.EOF

// isClosed reports whether a channel that is only ever closed has been.
func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// Conn is a uTP connection. It implements net.Conn, plus CloseWrite for
// half-close and Stats. It is safe for concurrent use.
//
// A Conn has no goroutine of its own: its timer and the Socket's reads
// drive it, and its methods block on channels, except a Read that leads
// the Socket's reads (lead.go), which blocks in the socket.
type Conn struct {
	s     *Socket
	raddr net.Addr
	dst   source // raddr, ready to send to
	key   connKey

	confirmed   atomic.Bool   // the dialer proved its address (proto.Conn.Confirmed); always, for a dialer
	acceptor    bool          // made by a SYN; set before the Conn is published
	timeWaiting atomic.Bool   // in TIME-WAIT, which it leaves only by ending (read by Socket under its lock)
	up          unprovenLinks // the Socket's unproven list, guarded by Socket.mu
	syn         synRecord     // our initial sequence number, and an acceptor's SYN; immutable
	sharePeriod int64         // last period this connection received data in (the read lead's holder's)
	shareBytes  int           // ... and how much, up to shareActive

	mu        sync.Mutex
	sendQ     []*outBatch // datagrams made, not yet sent; see queue
	sendSpare []*outBatch // the flusher's other queue, reused
	flushing  bool        // a goroutine is sending sendQ
	m         *proto.Conn
	timer     *time.Timer
	timerAt   time.Time
	userClose bool      // Close was called: Read and Write fail, unread data resets
	lent      bool      // a blocked Read has lent its buffer (PostRead)
	lingerAt  time.Time // after Close: when a connection not yet ended is reset
	err       error
	stats     proto.Stats // last snapshot taken under mu, for Stats after close

	readable  chan struct{} // signalled (cap 1) on EventReadable
	writable  chan struct{} // signalled on EventWritable
	connected chan struct{} // closed on EventConnected
	closed    chan struct{} // closed on EventClosed
	left      chan struct{} // closed when the connection has left the Socket's table (Done)
	accepted  bool          // returned by Accept; guarded by Socket.mu
	connOnce  sync.Once
	closeOnce sync.Once

	// Deadlines for Read and Write (zero: none), guarded by mu. They
	// need no timer of their own: rearm sets the connection's one timer
	// for the earliest future deadline too, and onTimer wakes the waiter.
	rdl, wdl time.Time

	// waitedRead is set once a Read of the connection has waited,
	// guarded by mu (see awaitReadable).
	waitedRead bool
	// readWaits counts Reads blocked now, guarded by mu: one signal on
	// readable wakes one of them, so a Read that returns passes it on.
	readWaits int

	// waitEnd is the end of TIME-WAIT handed to the Socket's timeWaits,
	// guarded by mu.
	waitEnd time.Time

	// pathMTU is the path MTU discovery last reported, guarded by mu:
	// a change goes to the Socket's cache for the next connection.
	pathMTU int

	// last is the latest time a step gave the state machine, guarded by
	// mu: a step whose time was read before it took the lock (stepAt)
	// must not go back before a step that overtook it.
	last time.Time
}

func newConn(s *Socket, raddr net.Addr, key connKey, m *proto.Conn, now time.Time) *Conn {
	c := &Conn{
		s: s, raddr: raddr, dst: s.sourceOf(raddr), key: key, m: m, last: now,
		readable:  make(chan struct{}, 1),
		writable:  make(chan struct{}, 1),
		connected: make(chan struct{}),
		closed:    make(chan struct{}),
		left:      make(chan struct{}),
	}
	return c
}

// step applies one input to the state machine under c.mu, collects every
// datagram it wants sent and every event, re-arms the timer, and sends
// the datagrams after releasing the lock.
func (c *Conn) step(input func(now time.Time, m *proto.Conn)) {
	c.mu.Lock()
	now := c.clock()
	if input != nil {
		input(now, c.m)
	}
	c.finishStep(now)
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
	c.finishStep(now)
}

// clock reads the time for a step, under c.mu.
func (c *Conn) clock() time.Time {
	c.last = time.Now()
	return c.last
}

// finishStep is the second half of step, for callers that applied their
// input under c.mu themselves (Read, Write: one lock and one clock read
// per call instead of two). c.mu is held on entry and released on return.
func (c *Conn) finishStep(now time.Time) {
	out := c.s.getBatch()
	c.m.SetWindowLimit(c.s.share.window())
	if c.userClose {
		c.discardAfterClose(now)
	}
	c.collect(now, out)
	proven := !c.confirmed.Load() && c.m.Confirmed()
	if proven {
		c.confirmed.Store(true)
	}
	gone := c.events()
	c.rearm(now)
	direct := c.queue(out)
	pathMTU := c.m.PathMTU()
	learned := pathMTU != c.pathMTU
	c.pathMTU = pathMTU
	c.mu.Unlock()
	if learned && pathMTU > 0 {
		c.s.paths.learned(c.dst.AP.Addr(), pathMTU, now)
	}
	if direct != nil {
		c.sendDirect(direct)
	}
	switch {
	case gone:
		c.s.forget(c)
	case proven && c.acceptor:
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
				last.join(out)
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
	if c.s.async != nil {
		// Sends may block, so the Socket's sender sends.
		c.sendQ = append(c.sendQ, out)
		c.s.async.schedule(c)
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
// and one that turns out small moves to a small buffer, leaving the big
// one for the next: a step that sends hundreds of packets from the send
// buffer holds one big buffer, not hundreds.
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
			n, d.Tail, ok = c.m.PollTransmitView(now, buf)
		} else {
			n, ok = c.m.PollTransmit(now, buf)
		}
		if !ok {
			out.spare = buf
			return
		}
		d.Fragmentable = c.m.Fragmentable()
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
		case proto.EventReadable:
			c.wakeReadable()
		case proto.EventWritable:
			signal(c.writable)
		case proto.EventClosed:
			c.err = mapProtoErr(ev.Err)
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
	next := c.m.NextDeadline()
	if end := c.m.TimeWaitEnd(); !end.IsZero() && next.Equal(end) {
		// Only TIME-WAIT's end is due: in TIME-WAIT no Read or Write can
		// block, so their deadlines do not matter, nor does the linger,
		// whose FIN is acknowledged. The Socket's one timer for
		// TIME-WAIT serves it (timewait.go), and the connection's own
		// timer, set for a deadline that went away, need not fire.
		if !c.waitEnd.Equal(end) {
			c.waitEnd = end
			c.timeWaiting.Store(true)
			c.s.waits.add(c, end)
		}
		if !c.timerAt.IsZero() {
			c.timer.Stop()
			c.timerAt = time.Time{}
		}
		return
	}
	at := earliest(next, c.lingerAt)
	if c.rdl.After(now) {
		at = earliest(at, c.rdl)
	}
	if c.wdl.After(now) {
		at = earliest(at, c.wdl)
	}
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
	c.step(func(now time.Time, m *proto.Conn) {
		c.timerAt = time.Time{} // fired: the next deadline arms it again
		if passed(c.rdl, now) {
			c.wakeReadable() // a blocked Read re-checks its deadline
		}
		if passed(c.wdl, now) {
			signal(c.writable)
		}
		if passed(c.lingerAt, now) {
			m.Reset(now) // closed, and not finished within the linger
			return
		}
		m.HandleTimeout(now)
	})
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

// Read reads data from the connection. It returns io.EOF after the peer's
// FIN once all data before it has been read.
//
// While it waits, p is lent to the state machine, which copies arriving
// data straight into it (one copy instead of two through the receive
// buffer); the loan ends before Read returns.
func (c *Conn) Read(p []byte) (int, error) {
	for {
		c.mu.Lock()
		if c.userClose {
			c.mu.Unlock()
			return 0, c.opError("read", net.ErrClosed)
		}
		now := c.clock()
		if passed(c.rdl, now) {
			c.mu.Unlock()
			c.wakeReadable() // every blocked Read shares the deadline: wake the next
			return 0, c.opError("read", os.ErrDeadlineExceeded)
		}
		n, err := c.m.Read(now, p)
		if n > 0 || err != nil || len(p) == 0 {
			others := c.readWaits > 0
			c.finishStep(now) // a read may reopen the window: send the update
			if others {
				// The wake this Read may have taken could have been
				// for another (a lender with data, more in the ring,
				// the end): let them look.
				c.wakeReadable()
			}
			return n, c.opError("read", mapProtoErr(err))
		}
		// One Read at a time lends its buffer; a concurrent one waits
		// for the ring.
		lender := !c.lent
		if lender {
			c.m.PostRead(p)
			c.lent = true
		}
		first := !c.waitedRead
		c.waitedRead = true
		c.readWaits++
		if c.m.Confirm() {
			// A dialer that reads before it writes confirms the
			// handshake now: a peer that speaks first may need it.
			c.finishStep(now)
		} else {
			c.mu.Unlock()
		}
		c.awaitReadable(first)
		c.mu.Lock()
		c.readWaits--
		n, passOn := 0, false
		if lender {
			n, c.lent = c.m.TakePosted(), false
			passOn = n > 0 && c.readWaits > 0 // as above
		} else {
			passOn = c.m.Posted() > 0 // the wake was the lender's
		}
		closedByUser := c.userClose
		c.mu.Unlock()
		if passOn {
			c.wakeReadable()
		}
		switch {
		case closedByUser:
			return 0, c.opError("read", net.ErrClosed)
		case n > 0:
			return n, nil
		}
		// Woken by the end of the connection or a deadline that was set
		// or passed: the loop sorts out which.
	}
}

// await blocks until ch (readable or writable) is signalled: by data or
// room, by the end of the connection, by Close, by a change of deadline,
// or by the connection's timer when a deadline passes. A waiter woken by
// the end passes the signal on to the next one.
func (c *Conn) await(ch chan struct{}) {
	<-ch
	if isClosed(c.closed) {
		signal(ch)
	}
}

// Write writes data to the connection. It blocks while the send buffer is
// full and returns once all of p is buffered (not yet acknowledged).
func (c *Conn) Write(p []byte) (int, error) {
	written := 0
	for {
		c.mu.Lock()
		if c.userClose {
			c.mu.Unlock()
			return written, c.opError("write", net.ErrClosed)
		}
		now := c.clock()
		if passed(c.wdl, now) {
			c.mu.Unlock()
			signal(c.writable) // every blocked Write shares the deadline: wake the next
			return written, c.opError("write", os.ErrDeadlineExceeded)
		}
		n, err := c.m.Write(now, p[written:])
		written += n
		if n > 0 {
			c.finishStep(now)
		} else {
			c.mu.Unlock()
		}
		if err != nil {
			return written, c.opError("write", mapProtoErr(err))
		}
		if written == len(p) {
			return written, nil
		}
		c.s.awaitNetwork()
		c.await(c.writable)
		c.s.doneWaiting()
	}
}

// CloseWrite shuts down the writing side: data already written is still
// delivered, then the peer reads EOF. Reading continues.
func (c *Conn) CloseWrite() error {
	c.mu.Lock()
	closed := c.userClose
	c.mu.Unlock()
	if closed {
		return c.opError("close", net.ErrClosed)
	}
	c.step(func(now time.Time, m *proto.Conn) { m.CloseWrite(now) })
	return nil
}

// Close closes the connection and returns at once. Read and Write then
// return net.ErrClosed. Data already written is still delivered in the
// background and the FIN follows, for at most the Socket's linger
// (WithLinger, default 30 s); a connection not finished by then is reset.
// As with TCP, unread data, or data arriving after Close, resets the
// connection at once. To know that the peer received everything, call
// CloseWrite and read until io.EOF before Close.
func (c *Conn) Close() error {
	ended := c.endByUser(func(now time.Time, m *proto.Conn) {
		m.CloseWrite(now)
		if !isClosed(c.closed) {
			c.lingerAt = now.Add(c.s.cfg.linger) // the connection's timer enforces it
		}
	})
	if !ended {
		return c.opError("close", net.ErrClosed)
	}
	return nil
}

// endByUser marks the Conn closed by its user, wakes its blocked Reads
// and Writes, and applies end to the state machine. It reports false,
// doing nothing, if the user had closed the Conn already.
func (c *Conn) endByUser(end func(now time.Time, m *proto.Conn)) bool {
	c.mu.Lock()
	if c.userClose {
		c.mu.Unlock()
		return false
	}
	c.userClose = true
	c.mu.Unlock()
	c.wakeReadable()
	signal(c.writable)
	c.step(end)
	return true
}

// Abort ends the connection at once and tells the peer with a RESET, as a
// TCP close with SO_LINGER 0 does: unsent and unread data are discarded,
// and the peer's Read and Write fail with ErrConnReset. A server uses it
// to turn a connection away so that the dialer learns it was refused,
// where Close would give it an orderly, empty stream. Read and Write then
// return net.ErrClosed, as after Close.
func (c *Conn) Abort() error {
	if !c.endByUser(func(now time.Time, m *proto.Conn) { m.Reset(now) }) {
		return c.opError("abort", net.ErrClosed)
	}
	return nil
}

// Drain waits until the peer has acknowledged everything written so far
// and, after CloseWrite, the FIN: the point at which closing loses
// nothing. It returns early with ctx's error, or with the connection's
// error if it fails.
func (c *Conn) Drain(ctx context.Context) error {
	for {
		c.mu.Lock()
		flushed, failed := c.m.Flushed(), isClosed(c.closed)
		err := c.err
		c.mu.Unlock()
		switch {
		case flushed:
			return nil
		case failed:
			if err == nil || err == net.ErrClosed {
				err = net.ErrClosed
			}
			return c.opError("drain", err)
		}
		c.s.awaitNetwork()
		select {
		case <-c.writable:
		case <-c.closed:
		case <-ctx.Done():
			c.s.doneWaiting()
			return c.opError("drain", ctx.Err())
		}
		c.s.doneWaiting()
	}
}

// LocalAddr returns the Socket's address.
func (c *Conn) LocalAddr() net.Addr { return c.s.LocalAddr() }

// RemoteAddr returns the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.raddr }

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	c.setDeadlines(&t, &t)
	return nil
}

// SetReadDeadline sets the deadline for Read calls, including one already
// blocked. The zero time means none.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.setDeadlines(&t, nil)
	return nil
}

// SetWriteDeadline sets the deadline for Write calls, including one
// already blocked. The zero time means none.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.setDeadlines(nil, &t)
	return nil
}

// setDeadlines sets the deadlines given, moves the timer if one comes
// earlier, and wakes blocked calls to re-check theirs. A deadline costs
// no timer or channel of its own: servers that set one per request (as
// net/http does) pay a lock and a comparison.
func (c *Conn) setDeadlines(read, write *time.Time) {
	c.mu.Lock()
	if read != nil {
		c.rdl = *read
	}
	if write != nil {
		c.wdl = *write
	}
	c.rearm(time.Now())
	c.mu.Unlock()
	if read != nil {
		c.wakeReadable()
	}
	if write != nil {
		signal(c.writable)
	}
}
