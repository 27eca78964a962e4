package utp

import (
	"context"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

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

	confirmed    atomic.Bool   // the dialer proved its address (proto.Conn.Confirmed); always, for a dialer
	acceptor     bool          // made by a SYN; set before the Conn is published
	timeWaiting  atomic.Bool   // in TIME-WAIT, not yet retired (timewait.go), which it leaves only by ending (read by Socket under its lock)
	up           unprovenLinks // the Socket's unproven list, guarded by Socket.mu
	syn          synRecord     // our initial sequence number, and an acceptor's SYN; immutable
	shareEpoch   int64         // the share's periods with data when this connection last received data (the read lead's holder's; share.go)
	sharePackets int64         // ... and its data packets
	shareRun     int           // bytes in this connection's run of data up to then, up to shareActive (the holder's)
	shareIdx     int           // 1 + its index in the share's counted list, 0: not counted (windowShare.mu)
	shareEnded   bool          // left the Socket: never counted again (windowShare.mu)
	shareCounted atomic.Bool   // counted (shareIdx > 0), read by settle without windowShare.mu
	ackHeld      bool          // in the holder's list of held ACKs (ackhold.go; the holder's)

	mu        sync.Mutex
	sendQ     []*outBatch // datagrams made, not yet sent; see queue
	sendSpare []*outBatch // the flusher's other queue, reused
	flushing  bool        // a goroutine is sending sendQ
	m         *proto.Conn
	timer     *time.Timer
	timerAt   time.Time
	userClose bool      // Close was called: Read and Write fail, unread data resets
	lent      bool      // a blocked Read has lent its buffer (PostRead)
	wlent     bool      // a blocked Write has lent the rest of its buffer (PostWrite)
	lingerAt  time.Time // after Close: when a connection not yet ended is reset
	lingerOut bool      // the linger ran out: the end is ErrLingerExpired
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

	// waitedReads counts the Reads of the connection that have waited,
	// up to 2, guarded by mu: how readily a waiting Read asks for the
	// read lead (see lead.awaitReadable).
	waitedReads int
	// readWaits counts Reads blocked now, guarded by mu: one signal on
	// readable wakes one of them, so a Read that returns passes it on.
	readWaits int
	// writeWaits counts Writes blocked now, guarded by mu, as readWaits.
	writeWaits int

	// pathMTU is the path MTU discovery last reported, guarded by mu:
	// a change goes to the Socket's cache for the next connection.
	pathMTU int

	// last is the latest time a step gave the state machine, guarded by
	// mu: a step whose time was read before it took the lock (stepAt)
	// must not go back before a step that overtook it.
	last time.Time

	// earlyFires counts timer fires that found nothing due and so set
	// the timer again without a step (firedEarly), guarded by mu; for
	// tests.
	earlyFires int
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
	m.SetBuffers(ringLender{c})
	return c
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
		now, fresh := c.readTime()
		if passed(c.rdl, now) {
			c.mu.Unlock()
			c.wakeReadable() // every blocked Read shares the deadline: wake the next
			return 0, c.opError("read", os.ErrDeadlineExceeded)
		}
		n, err := c.m.Read(now, p)
		if n > 0 || err != nil || len(p) == 0 {
			if !fresh {
				now = c.clock()
			}
			others := c.readWaits > 0
			a := c.settle(now) // a read may reopen the window: send the update
			c.mu.Unlock()
			c.afterStep(a)
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
		earlier := c.waitedReads
		c.waitedReads = min(earlier+1, 2)
		c.readWaits++
		var a settled
		// A dialer that reads before it writes confirms the handshake
		// now: a peer that speaks first may need it. A short tail held
		// to coalesce with more writes goes now: the peer may need it to
		// answer (proto's nagle.go).
		if confirm, push := c.m.Confirm(), c.m.Push(); confirm || push {
			if !fresh {
				now = c.clock()
			}
			a = c.settle(now)
		}
		c.mu.Unlock()
		c.afterStep(a)
		c.awaitReadable(earlier, lender)
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

// readTime is the time for a Read's first look, under c.mu: the clock
// (fresh) when a read deadline is set or there is data to read, else the
// last step's time, which the state machine's Read then does not use. A
// Read that finds nothing and waits, as each of a ping-pong's does, so
// reads the clock once per hop less; one that returns or steps reads it
// then.
func (c *Conn) readTime() (now time.Time, fresh bool) {
	if c.rdl.IsZero() && c.m.Unread() == 0 {
		return c.last, false
	}
	return c.clock(), true
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
//
// While it waits, the rest of p is lent to the state machine, which
// copies from it as acknowledgements free room (one wakeup for the
// whole loan instead of one per ACK); the loan ends before Write
// returns.
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
		if n > 0 && c.readWaits > 0 {
			// A Read waits for the peer's answer, which may need
			// these bytes (proto's nagle.go).
			c.m.PushBehindOne()
		}
		var a settled
		if n > 0 {
			a = c.settle(now)
		}
		wait := err == nil && written < len(p)
		// One Write at a time lends the rest of its buffer; a concurrent
		// one waits for room.
		lender := wait && !c.wlent
		if lender {
			c.m.PostWrite(p[written:])
			c.wlent = true
		}
		if wait {
			c.writeWaits++
		}
		c.mu.Unlock()
		c.afterStep(a)
		if err != nil {
			return written, c.opError("write", mapProtoErr(err))
		}
		if !wait {
			return written, nil
		}
		c.s.awaitNetwork()
		c.await(c.writable)
		c.s.doneWaiting()
		written += c.endWait(lender)
		if written == len(p) {
			return written, nil
		}
		// Woken by room, the end of the connection, Close or a deadline:
		// the loop sorts out which.
	}
}

// endWait ends a Write's wait for room: a lender takes back its loan and
// returns how many of its bytes the send buffer took. A wake may have
// been another Write's (the lender's, once its loan is taken; room that a
// lender returning leaves): it is passed on.
func (c *Conn) endWait(lender bool) int {
	c.mu.Lock()
	c.writeWaits--
	n, passOn := 0, false
	if lender {
		n, c.wlent = c.m.TakeWritten(), false
		passOn = c.writeWaits > 0
	} else {
		passOn = c.m.WriteLoanDone()
	}
	c.mu.Unlock()
	if passOn {
		signal(c.writable)
	}
	return n
}

// CloseWrite shuts down the writing side: data already written is still
// delivered, then the peer reads EOF. Reading continues; a Write from
// now on fails with ErrWriteClosed (syscall.EPIPE).
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
// connection at once, unless both directions have finished already (the
// peer's FIN was received and ours acknowledged): the peer has left too.
// To know that the peer received everything, call CloseWrite and read
// until io.EOF before Close.
func (c *Conn) Close() error {
	c.readBeforeFin() // so that our FIN acknowledges a FIN already queued (closedrain.go)
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
	c.rearm(c.s.clock.now())
	c.mu.Unlock()
	if read != nil {
		c.wakeReadable()
	}
	if write != nil {
		signal(c.writable)
	}
}
