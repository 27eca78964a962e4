package utp

import (
	"sync/atomic"
	"time"
)

// windowShare divides a UDP socket's kernel receive buffer among the
// connections that are receiving data on it (at least shareActive bytes
// in the current or the previous period with data, or any data after a
// period in which they counted), through the window each advertises.
//
// Every connection on a Socket is fed from one kernel buffer, but each
// advertises its own receive buffer (4 MiB by default) as its window, so
// that many senders at once may have far more in flight than the kernel
// holds. On a fast path (loopback, a LAN) the queue in that buffer stays
// well below LEDBAT's 100 ms target, so delay does not stop them, and the
// buffer overflows: 64 connections at once lost about 1 datagram in 20
// and stalled in retransmission timeouts. Advertising at most an equal
// share of the buffer keeps the sum of the windows within it, as TCP's
// per-connection buffers do by construction.
type windowShare struct {
	budget int          // payload bytes the kernel buffer holds; 0: no sharing
	limit  atomic.Int64 // the window each connection may advertise now

	// Owned by the holder of the read lead (lead.go), the reader
	// goroutine or a leading Read: connections counted in the current
	// period and in the last one before it with data (prev).
	period, prev int64
	active       [2]int
}

// sharePeriod is how long a connection counts as receiving after its
// last data packet.
const sharePeriod = 50 * time.Millisecond

// shareActive is how much a connection must receive in one period to
// count as receiving: short exchanges (a request, a reply) hold little of
// the buffer, and counting them would shrink everyone's window on a
// server that opens many connections a second.
const shareActive = 64 << 10

// minShare is the least window a connection is given however many share
// the buffer: one Ethernet-sized packet, so that none stalls.
const minShare = 1500

// newWindowShare shares a kernel receive buffer of rcvbuf bytes as
// getsockopt reports it. Linux doubles the size asked for and charges
// each datagram its whole buffer, with overhead; half of the reported
// size is what is left for payload with some headroom.
func newWindowShare(rcvbuf int) *windowShare {
	w := &windowShare{budget: rcvbuf / 2}
	w.limit.Store(int64(w.budget))
	return w
}

// noteData records that c received n bytes of data at now. Only the
// holder of the read lead calls it.
func (w *windowShare) noteData(c *Conn, now time.Time, n int) {
	if w.budget == 0 {
		return
	}
	p := now.UnixNano() / int64(sharePeriod)
	if p != w.period {
		// The last count stands across periods without data: the reader
		// may not have run (a loaded machine), while the kernel buffer
		// filled. Once connections really stop, the next period's count
		// replaces it.
		w.active[0], w.active[1] = w.active[1], 0
		w.prev, w.period = w.period, p
	}
	if c.sharePeriod != p {
		// A connection counted in the last period with data counts again
		// at its first byte: a reader slowed by a loaded machine takes in
		// less than shareActive a period from each of many connections,
		// and dropping them from the count would widen every window just
		// as the buffer fills (the 64-sender test lost datagrams so).
		again := c.shareBytes >= shareActive && c.sharePeriod == w.prev
		c.sharePeriod, c.shareBytes = p, 0
		if again {
			c.shareBytes = shareActive
			w.count()
			return
		}
	}
	if c.shareBytes >= shareActive {
		return // counted already
	}
	if c.shareBytes += n; c.shareBytes >= shareActive {
		w.count()
	}
}

// count counts one more receiving connection in the current period and
// sets the limit.
func (w *windowShare) count() {
	w.active[1]++
	active := max(w.active[0], w.active[1], 1)
	w.limit.Store(int64(max(w.budget/active, minShare)))
}

// window is the most a connection should advertise now; 0: no limit.
func (w *windowShare) window() int {
	if w.budget == 0 {
		return 0
	}
	return int(w.limit.Load())
}
