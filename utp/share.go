package utp

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// windowShare divides a UDP socket's kernel receive buffer among the
// connections that are receiving data on it, through the window each
// advertises.
//
// Every connection on a Socket is fed from one kernel buffer, but each
// advertises its own receive buffer (4 MiB by default) as its window, so
// that many senders at once may have far more in flight than the kernel
// holds. On a fast path (loopback, a LAN) the queue in that buffer stays
// well below LEDBAT's 100 ms target, so delay does not stop them, and the
// buffer overflows: 64 connections at once lost about 1 datagram in 20
// and stalled in retransmission timeouts. Advertising at most an equal
// share of the buffer keeps what the senders may have queued within it,
// as TCP's per-connection buffers do by construction.
//
// A connection counts as receiving by presence, not by rate: once it has
// received shareActive bytes in a run of data, it counts until it has
// been silent for a while, and stops counting at once when its peer's
// FIN arrives or it ends. A reader slowed by a loaded machine takes in less
// than a packet a period from each of many connections, and may not run
// for whole periods; a count that followed the rate, or the clock, would
// fall just then, and every window would widen as the buffer fills. So
// silence is measured in the Socket's own data: a connection is silent
// once shareKeep periods that brought the Socket data, and shareKeep
// packets per counted connection, have passed without its data.
//
// A share is charged as the kernel charges it (truesize, below): the
// window at the charge per payload byte of the data packets the Socket
// received lately, which mixes the connections' packet sizes (a
// connection still probing its path sends 1,452 or 8,952 bytes, charged
// 1.6 and 1.9 times their size, beside others' 65,000, charged 1.01); and
// shareReserve more full packets per connection: a tail loss probe
// re-sends a packet already in flight, and the duplicate ACK that copy
// provokes may resend another, so a sender can have two packets queued
// beyond its window.
type windowShare struct {
	on bool // the kernel buffer is known: windows are shared

	// avail is the truesize-charged bytes the windows may hold, 0 when
	// not on. It grows with the kernel buffer (rcvbuf.go), under mu.
	avail int

	// The window a counted connection may advertise now, and the one a
	// connection not counted yet may (its share if it were counted); and
	// how many are counted.
	limit, next, count atomic.Int64

	// Owned by the holder of the read lead (lead.go), the reader
	// goroutine or a leading Read: the period of the last data, the
	// periods with data and the data packets so far; the largest data
	// payload seen in this period (the size of the senders' full
	// packets), the payload bytes and what the kernel charged for them.
	period         int64
	epoch, packets int64
	seen           chargeSample

	// mu guards avail, counted, each Conn's shareIdx and shareEnded,
	// charge, and the setting of limit and next. It is a leaf, taken alone: by
	// the lead's holder when the count changes and once per period, and
	// by forget.
	mu      sync.Mutex
	counted []*Conn      // connections counted as receiving
	charge  chargeSample // the last period with data, as of the last sweep

	grow bufferGrowth // raising the kernel buffer for long paths (rcvbuf.go)
	room roomGrowth   // and for many receivers (rcvbuf.go)
}

// chargeSample describes data packets received: the largest payload, the
// payload bytes and the kernel's charge for them (truesize).
type chargeSample struct {
	largest, bytes, charged int
}

// sharePeriod is the unit in which the share measures a connection's
// silence.
const sharePeriod = 50 * time.Millisecond

// shareKeep is how many periods with data for the Socket, and how many
// data packets per counted connection, a counted connection may go
// without data and stay counted: on an idle machine 400 ms, long enough
// that a sender waiting out a timeout keeps its place; on a loaded one,
// where a reader may serve each of 64 connections less than once in 8
// periods (docs/performance.md), 8 × 64 packets of the others' data.
const shareKeep = 8

// shareActive is how much a connection must receive in one run of data
// (without falling silent, see silent) to count as receiving: short exchanges
// (a request, a reply) hold little of the buffer, and counting them would
// shrink everyone's window on a server that opens many connections a
// second. It is more than one 64 KiB datagram, so one packet never
// counts alone.
const shareActive = 64 << 10

// shareReserve is how many full packets beyond its window each counted
// connection is charged for: a tail loss probe's copy of a packet in
// flight (RFC 8985 section 7), and the early retransmission that copy's
// duplicate ACK may trigger (a window-limited flow of two packets
// retransmits after one duplicate ACK, RFC 5827). Where that would leave
// a window under two full packets, the second is not reserved (the
// spare eighth of the buffer has to cover it): with one packet of window
// every packet is a tail, and 64 loopback senders into a 16 MiB buffer,
// held so, sent many times the tail probes and timeouts of two packets'
// windows (docs/performance.md).
const shareReserve = 2

// shareFresh bounds the window of a connection not counted yet: enough
// to reach shareActive in a round trip, little enough that many starting
// at once (a server's 64 new connections, each told the share of one)
// fit the buffer before they are counted: 64 × 128 KiB is 8 MiB.
const shareFresh = 2 * shareActive

// minShare is the least window a connection is given however many share
// the buffer: one Ethernet-sized packet, so that none stalls.
const minShare = 1500

// newWindowShare shares a kernel receive buffer of rcvbuf bytes as
// getsockopt reports it (Linux doubles the size asked for, and charges
// each datagram its truesize against the doubled value). An eighth of it
// is left to what the windows do not bound: ACKs for the Socket's own
// sending connections (832 bytes each), handshakes, connections not yet
// counted, and datagrams for ReadFrom.
func newWindowShare(rcvbuf int) *windowShare {
	w := &windowShare{on: rcvbuf > 0, avail: rcvbuf - rcvbuf/8}
	w.room.size = shareGrowth * rcvbuf
	w.mu.Lock()
	w.setLimit()
	w.mu.Unlock()
	return w
}

// noteData records that c received n bytes of data at now. Only the
// holder of the read lead calls it. Once a connection counts, this costs
// a comparison and two stores; it never allocates but to grow counted.
func (w *windowShare) noteData(c *Conn, now time.Time, n int) {
	if !w.on {
		return
	}
	p := now.UnixNano() / int64(sharePeriod)
	if p > w.period {
		w.sweep(p) // the reader's clock and a leading Read's may differ a little: never back
	}
	w.seen.largest = max(w.seen.largest, n)
	w.seen.bytes += n
	w.seen.charged += truesize(n + wire.HeaderSize)
	if w.silent(c) {
		c.shareRun = 0 // a new run of data
	}
	w.packets++
	c.shareEpoch, c.sharePackets = w.epoch, w.packets
	if c.shareRun >= shareActive {
		return // counted already, or ended
	}
	if c.shareRun += n; c.shareRun >= shareActive {
		w.mu.Lock()
		// A counted connection that fell silent starts a new run
		// (above) before a sweep uncounts it: counted twice, a sweep
		// would find it in the list with shareIdx 0 and spin forever
		// under w.mu.
		if !c.shareEnded && c.shareIdx == 0 {
			c.shareIdx = len(w.counted) + 1
			w.counted = append(w.counted, c)
			c.shareCounted.Store(true)
			w.setLimit()
		}
		w.mu.Unlock()
		w.makeHeadroom()
	}
}

// finished uncounts c, whose peer has sent its FIN: it sends no more data.
// Only the holder of the read lead calls it.
func (w *windowShare) finished(c *Conn) {
	if !w.on {
		return
	}
	c.shareRun = 0
	w.mu.Lock()
	if w.remove(c) {
		w.setLimit()
	}
	w.mu.Unlock()
}

// ended uncounts c, which has left the Socket, for good.
func (w *windowShare) ended(c *Conn) {
	if !w.on {
		return
	}
	w.mu.Lock()
	c.shareEnded = true
	if w.remove(c) {
		w.setLimit()
	}
	w.mu.Unlock()
}

// sweep starts period p, one with data: silent connections leave the
// count, and the data packets of the period before, the last with data,
// set the charge. It costs O(counted) once a period. Only the
// holder of the read lead calls it.
func (w *windowShare) sweep(p int64) {
	w.period = p
	w.epoch++
	last := w.seen
	w.seen = chargeSample{}
	w.mu.Lock()
	if last.bytes > 0 {
		w.charge = last
	}
	for i := 0; i < len(w.counted); {
		c := w.counted[i]
		if !w.silent(c) {
			i++
			continue
		}
		c.shareRun = 0
		if !w.remove(c) { // moves the last one to i
			i++ // not where shareIdx says: never loop on it
		}
	}
	w.setLimit()
	w.mu.Unlock()
}

// silent reports whether c has had no data for shareKeep of the Socket's
// periods with data and shareKeep data packets per counted connection.
// Only the holder of the read lead calls it.
func (w *windowShare) silent(c *Conn) bool {
	if c.sharePackets == 0 {
		return true // never received
	}
	n := max(w.count.Load(), 1)
	return w.epoch-c.shareEpoch > shareKeep && w.packets-c.sharePackets > shareKeep*n
}

// remove takes c out of counted, if it is there, and reports whether
// it was. w.mu is held; the caller sets the limit.
func (w *windowShare) remove(c *Conn) bool {
	i := c.shareIdx - 1
	if i < 0 {
		return false
	}
	last := len(w.counted) - 1
	w.counted[i] = w.counted[last]
	w.counted[i].shareIdx = i + 1
	w.counted[last] = nil
	w.counted = w.counted[:last]
	c.shareIdx = 0
	c.shareCounted.Store(false)
	return true
}

// setLimit sets the windows for the count now. w.mu is held.
func (w *windowShare) setLimit() {
	ch := w.chargeNow()
	n := len(w.counted)
	w.count.Store(int64(n))
	if n >= shareGrowMin && n*shareGrowPer > w.avail {
		w.room.want.Store(true) // makeHeadroom
	}
	w.limit.Store(int64(shareWindow(w.avail/max(n, 1), ch)))
	w.next.Store(int64(min(shareWindow(w.avail/(n+1), ch), max(shareFresh, minShare))))
}

// chargeNow is the charge the windows are set for. w.mu is held.
func (w *windowShare) chargeNow() chargeSample {
	if w.charge.bytes == 0 {
		// Nothing seen: the largest reserve, charged as Ethernet-sized
		// packets are.
		return chargeSample{largest: maxDatagram - wire.HeaderSize, bytes: 1452, charged: truesize(1452 + wire.HeaderSize)}
	}
	return w.charge
}

// window is the most connection c should advertise now; 0: no limit.
func (w *windowShare) window(c *Conn) int {
	switch {
	case !w.on:
		return 0
	case c.shareCounted.Load():
		return int(w.limit.Load())
	default:
		return int(w.next.Load())
	}
}

// shareWindow is the largest window that, charged as ch says, with
// shareReserve full packets of ch.largest bytes more, fits share, or
// else two full packets with one more if they fit; never less than
// minShare.
func shareWindow(share int, ch chargeSample) int {
	full := truesize(ch.largest + wire.HeaderSize)
	scale := func(rest int) int { return int(int64(rest) * int64(ch.bytes) / int64(ch.charged)) }
	w := scale(share - shareReserve*full)
	if two := 2 * (ch.largest + wire.HeaderSize); w < two {
		w = min(scale(share-full), two) // two packets in flight before the second copy
	}
	return max(w, minShare)
}

// truesize estimates what Linux charges a UDP socket's receive buffer for
// one datagram of n bytes. Measured on loopback with Linux 6.18 (ten
// datagrams of each size into an unread socket, /proc/net/udp's rx_queue;
// docs/performance.md): 20 and 100 bytes cost 832; 500 cost 1,280; 1,000
// to 1,472 cost 2,304; 2,000 cost 4,352; 8,000 to 16,000 cost 16,640;
// 32,000 cost 32,832 and 65,000 cost 65,832. That is the data with 384
// bytes of shared info and headroom, rounded up to a power of two (at
// least 576) while it fits 16 KiB, else in pages at about its size, plus
// 256 for the buffer's header. A NIC's driver allocates its own buffers;
// for Ethernet-sized frames they are of the same 2-4 KiB order.
func truesize(n int) int {
	const shinfo, small, head, linear, paged = 384, 576, 256, 16 << 10, 832
	switch {
	case n+shinfo > linear:
		return n + paged
	case n+shinfo <= small:
		return small + head
	}
	alloc := 1024
	for alloc < n+shinfo {
		alloc *= 2
	}
	return alloc + head
}
