package utp

import (
	"math/bits"
	"sync"
)

// Ring buffers (a connection's send and receive buffers in the protocol
// core) are lent from pools shared by every Socket, one pool per size up to
// maxPooledRing. A Socket that opens and closes connections fast would
// otherwise allocate a few KiB of fresh memory per connection and
// direction: the copy into it faults its pages in and the kernel zeroes
// them, the GC scans and frees them, and the heap grows under the
// connections waiting in TIME-WAIT, so that the next ones land in fresh
// pages again. Larger rings (bulk transfers) are left to the GC: they are
// few, and a pool would keep megabytes alive after the transfer.

// minPooledRing and maxPooledRing bound the pooled sizes; rings are powers
// of two from the protocol core's first size (512 bytes).
const (
	minPooledRing = 512
	maxPooledRing = minPooledRing << (ringClasses - 1) // 64 KiB
	ringClasses   = 8
)

var (
	// ringPools[i] holds *[]byte of minPooledRing<<i bytes.
	ringPools [ringClasses]sync.Pool
	// ringHolders holds empty *[]byte, so that lending and taking back
	// a buffer allocate nothing.
	ringHolders = sync.Pool{New: func() any { return new([]byte) }}
)

// ringClass returns the pool for buffers of n bytes, or -1 if n is not a
// pooled size.
func ringClass(n int) int {
	if n < minPooledRing || n > maxPooledRing || n&(n-1) != 0 {
		return -1
	}
	return bits.Len(uint(n/minPooledRing)) - 1
}

// ringLender is a connection's proto.Buffers. It takes a buffer back into
// the pools only while no batch of the connection's datagrams waits to be
// sent (c.flushing): such a batch may hold a view of the send ring (a
// retransmission of bytes since acknowledged), and the buffer must not
// carry another connection's bytes to this one's peer. A buffer given
// back then is left to the GC. The protocol core calls it under c.mu.
type ringLender struct{ c *Conn }

// Get returns a buffer of n bytes, of any content.
func (l ringLender) Get(n int) []byte {
	k := ringClass(n)
	if k < 0 {
		return make([]byte, n)
	}
	p, _ := ringPools[k].Get().(*[]byte)
	if p == nil {
		return make([]byte, n)
	}
	b := *p
	*p = nil
	ringHolders.Put(p)
	return b
}

// Put takes b back, if it is a pooled size and nothing may refer to it.
func (l ringLender) Put(b []byte) {
	k := ringClass(len(b))
	if k < 0 || l.c.flushing {
		return
	}
	p := ringHolders.Get().(*[]byte)
	*p = b
	ringPools[k].Put(p)
}
