package netsim

import (
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultQueueLen is the receive queue bound, in datagrams, of a PacketConn
// made without WithQueueLen. 1024 full-size datagrams is about 1.5 MB, in
// the range of a Linux UDP socket's receive buffer, so a reader that keeps
// up never loses anything here while one that stalls does.
const DefaultQueueLen = 1024

// PacketConnOption configures a PacketConn made by Network.Listen.
type PacketConnOption func(*packetConnOptions)

type packetConnOptions struct {
	queueLen    int
	ignoreClose bool
	noCoalesce  bool
}

// WithQueueLen bounds the receive queue to n datagrams. Like a socket
// receive buffer, a full queue drops new arrivals (counted in
// PacketConnStats.Dropped) rather than blocking the network. It panics if
// n < 1.
func WithQueueLen(n int) PacketConnOption {
	if n < 1 {
		panic("netsim: WithQueueLen needs n >= 1")
	}
	return func(o *packetConnOptions) { o.queueLen = n }
}

// WithIgnoreCloseOnRead makes Close leave a ReadFrom that is already blocked
// blocked, until a datagram arrives or its read deadline passes; it then
// returns net.ErrClosed. This models the inet256 daemon client, whose Close
// does not interrupt a pending read, so that the IO layer's Socket.Close
// can be tested against it: a Socket must set a read deadline before
// closing to get its reader back. A ReadFrom that starts after Close, and
// SetReadDeadline after Close, fail with net.ErrClosed at once, as usual.
func WithIgnoreCloseOnRead() PacketConnOption {
	return func(o *packetConnOptions) { o.ignoreClose = true }
}

// WithoutCoalescing makes ReadCoalesced return one datagram per call, as
// Linux UDP does for a socket without UDP_GRO, and on loopback for
// datagrams sent by separate calls even with it: then a FIN and the RESET
// sent right after it are two reads, not one, as they are on a real
// socket.
func WithoutCoalescing() PacketConnOption {
	return func(o *packetConnOptions) { o.noCoalesce = true }
}

// PacketConnStats counts what a PacketConn has done. Counters are
// cumulative since Listen. What happened on the links (loss, duplicates,
// queue drops) is in LinkStats.
type PacketConnStats struct {
	Sent      int64 // datagrams accepted by WriteTo, whatever happened to them next
	SentBytes int64 // bytes accepted by WriteTo

	// NoRoute counts datagrams WriteTo dropped at once because there was
	// no link to the destination (no Connect and no default link) or the
	// pair was partitioned.
	NoRoute int64

	// Undelivered counts copies of datagrams sent by this PacketConn that
	// came off their link but found no open PacketConn at the destination
	// (never listened, or closed), or found the pair partitioned.
	Undelivered int64

	Received      int64 // datagrams that arrived and were queued for ReadFrom
	BytesReceived int64 // bytes in those datagrams

	// Dropped counts arrivals discarded because the receive queue was
	// full.
	Dropped int64
}

// connStats holds the counters; they are atomic because senders update
// them from WriteTo and from delivery timers without holding the conn's
// mutex.
type connStats struct {
	sent, sentBytes, noRoute, undelivered atomic.Int64
	received, bytesReceived, dropped      atomic.Int64
}

// PacketConn is one endpoint of a Network. It implements net.PacketConn
// with UDP's semantics: WriteTo never blocks and never reports loss;
// arrivals wait in a bounded queue; ReadFrom blocks until a datagram, the
// read deadline, or Close. It is safe for concurrent use.
type PacketConn struct {
	n           *Network
	addr        Addr
	laddr       net.Addr // addr boxed once, so ReadFrom's result does not allocate
	queueLen    int
	ignoreClose bool
	noCoalesce  bool // WithoutCoalescing
	stats       connStats

	mu     sync.Mutex
	closed bool
	q      ring

	// wake is closed, and set to nil, to make blocked readers re-check
	// their state; a reader makes it when it has to wait. Closing a
	// channel wakes every reader at once, and changing the deadline or
	// closing the conn while they wait takes effect immediately.
	wake chan struct{}

	lateArrival bool        // a datagram arrived after Close (WithIgnoreCloseOnRead)
	rdExpired   bool        // the read deadline has passed
	rdTimer     *time.Timer // fires at the read deadline
	rdSeq       uint64      // generation of the deadline, so a stale timer does nothing
	wdeadline   time.Time
}

func newPacketConn(n *Network, addr Addr, o packetConnOptions) *PacketConn {
	return &PacketConn{n: n, addr: addr, laddr: addr, queueLen: o.queueLen, ignoreClose: o.ignoreClose, noCoalesce: o.noCoalesce}
}

// LocalAddr returns the PacketConn's address, a netsim.Addr.
func (c *PacketConn) LocalAddr() net.Addr { return c.laddr }

// Stats returns a snapshot of the PacketConn's counters.
func (c *PacketConn) Stats() PacketConnStats {
	s := &c.stats
	return PacketConnStats{
		Sent:          s.sent.Load(),
		SentBytes:     s.sentBytes.Load(),
		NoRoute:       s.noRoute.Load(),
		Undelivered:   s.undelivered.Load(),
		Received:      s.received.Load(),
		BytesReceived: s.bytesReceived.Load(),
		Dropped:       s.dropped.Load(),
	}
}

// ReadFrom waits for the next datagram, copies it into p and returns its
// length and sender. If p is shorter than the datagram, the rest is
// discarded and n is len(p), as UDP on Linux truncates. If the read
// deadline has passed it fails with an error wrapping
// os.ErrDeadlineExceeded (whose Timeout() is true), even when datagrams are
// queued, as package net does; after Close it fails with net.ErrClosed and
// queued datagrams are gone.
func (c *PacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	c.mu.Lock()
	// With WithIgnoreCloseOnRead, a reader that was already waiting when
	// Close came must not notice Close by itself, even if something else
	// (a deadline change) woke it to re-check: only an arrival or the
	// deadline may return it.
	waitThroughClose := c.ignoreClose && !c.closed
	for {
		switch {
		case c.closed:
			if !waitThroughClose || c.rdExpired || c.lateArrival {
				c.mu.Unlock()
				return 0, nil, c.opErr("read", nil, net.ErrClosed)
			}
		case c.rdExpired:
			c.mu.Unlock()
			return 0, nil, c.opErr("read", nil, os.ErrDeadlineExceeded)
		case c.q.n > 0:
			d := c.q.pop()
			c.mu.Unlock()
			return copy(p, d.b), d.from, nil
		}
		if c.wake == nil {
			c.wake = make(chan struct{})
		}
		wake := c.wake
		c.mu.Unlock()
		<-wake
		c.mu.Lock()
	}
}

// WriteTo sends p to addr, which must be a netsim.Addr. It never blocks:
// the datagram's fate is decided by the link at once and its arrival is
// scheduled on a timer. Like UDP, it reports success for datagrams that
// are then lost, and for ones with no route (counted in NoRoute). The write
// deadline is honoured only in that WriteTo fails if it has already
// passed, since WriteTo never waits.
func (c *PacketConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	to, ok := addr.(Addr)
	if !ok {
		return 0, c.opErr("write", addr, errNotNetsim)
	}
	c.mu.Lock()
	closed, wd := c.closed, c.wdeadline
	c.mu.Unlock()
	if closed {
		return 0, c.opErr("write", addr, net.ErrClosed)
	}
	if !wd.IsZero() && !time.Now().Before(wd) {
		return 0, c.opErr("write", addr, os.ErrDeadlineExceeded)
	}
	c.stats.sent.Add(1)
	c.stats.sentBytes.Add(int64(len(p)))
	if !c.n.send(c, to, p) {
		c.stats.noRoute.Add(1)
	}
	return len(p), nil
}

// errNotNetsim is returned by WriteTo for an address of another network.
var errNotNetsim = errors.New("netsim: destination is not a netsim.Addr")

// Close closes the PacketConn: blocked readers wake with net.ErrClosed
// (unless WithIgnoreCloseOnRead), queued and in-flight datagrams to it are
// dropped, and its address may be listened on again. Closing twice is a
// no-op.
func (c *PacketConn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.q = ring{}
	if !c.ignoreClose {
		c.stopDeadline()
		c.broadcast()
	}
	c.mu.Unlock()
	if !c.ignoreClose {
		// An ignore-close conn stays in the address table, so that an
		// arrival can still wake its blocked reader; Listen may replace it.
		c.n.unlisten(c)
	}
	return nil
}

// SetDeadline sets both the read and the write deadline.
func (c *PacketConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// SetReadDeadline sets when ReadFrom gives up; the zero time means never.
// It applies at once to readers already blocked: extending or clearing the
// deadline keeps them waiting, and a time not in the future wakes them with
// a timeout. A timer, not polling, fires the deadline, so under synctest a
// blocked reader is durably blocked and virtual time can advance.
func (c *PacketConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return c.opErr("set", nil, net.ErrClosed)
	}
	c.stopDeadline()
	if !t.IsZero() {
		if d := time.Until(t); d <= 0 {
			c.rdExpired = true
		} else {
			seq := c.rdSeq
			c.rdTimer = time.AfterFunc(d, func() {
				c.mu.Lock()
				defer c.mu.Unlock()
				if c.rdSeq == seq {
					c.rdExpired = true
					c.broadcast()
				}
			})
		}
	}
	c.broadcast()
	return nil
}

// SetWriteDeadline sets the write deadline; WriteTo fails once it has
// passed. The zero time means never.
func (c *PacketConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return c.opErr("set", nil, net.ErrClosed)
	}
	c.wdeadline = t
	return nil
}

// stopDeadline disarms the read deadline; bumping rdSeq makes a timer that
// is already firing a no-op. c.mu must be held.
func (c *PacketConn) stopDeadline() {
	if c.rdTimer != nil {
		c.rdTimer.Stop()
		c.rdTimer = nil
	}
	c.rdSeq++
	c.rdExpired = false
}

// broadcast wakes every blocked reader. c.mu must be held.
func (c *PacketConn) broadcast() {
	if c.wake != nil {
		close(c.wake)
		c.wake = nil
	}
}

// isClosed reports whether Close has been called.
func (c *PacketConn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// enqueue hands an arriving datagram to the conn. It reports false if the
// conn is closed; a full queue drops the datagram but counts it here, in
// Dropped, so it reports true. A closed ignore-close conn still wakes its
// blocked readers, which then see that it is closed.
func (c *PacketConn) enqueue(from net.Addr, b []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		// An ignore-close conn stays listening after Close so that
		// this arrival can release its blocked readers.
		c.lateArrival = true
		c.broadcast()
		return false
	}
	if c.q.n >= c.queueLen {
		c.stats.dropped.Add(1)
		return true
	}
	c.q.push(datagram{from: from, b: b})
	c.stats.received.Add(1)
	c.stats.bytesReceived.Add(int64(len(b)))
	c.broadcast()
	return true
}

// opErr wraps err the way package net does for a UDP socket.
func (c *PacketConn) opErr(op string, addr net.Addr, err error) error {
	return &net.OpError{Op: op, Net: "netsim", Source: c.laddr, Addr: addr, Err: err}
}

// datagram is one queued arrival.
type datagram struct {
	from net.Addr
	b    []byte
}

// ring is a FIFO of datagrams that grows on demand, so an idle conn with a
// large queue bound costs nothing.
type ring struct {
	buf     []datagram
	head, n int
}

func (r *ring) push(d datagram) {
	if r.n == len(r.buf) {
		nb := make([]datagram, max(16, 2*len(r.buf)))
		for i := range r.n {
			nb[i] = r.buf[(r.head+i)%len(r.buf)]
		}
		r.buf, r.head = nb, 0
	}
	r.buf[(r.head+r.n)%len(r.buf)] = d
	r.n++
}

func (r *ring) pop() datagram {
	d := r.buf[r.head]
	r.buf[r.head] = datagram{}
	r.head = (r.head + 1) % len(r.buf)
	r.n--
	return d
}
