package proto

// byteRing is a growable circular byte buffer addressed by absolute stream
// offsets: it holds the bytes [base, end). It grows by doubling up to limit,
// so an idle connection costs little memory.
type byteRing struct {
	buf   []byte // len is a power of two, or zero
	base  uint64
	end   uint64
	limit int
	pool  Buffers // where buffers come from and go back to; nil: make and the GC
}

// Buffers lends ring buffers to connections and takes them back, so that
// a Socket opening and closing connections fast reuses warm memory rather
// than faulting in and zeroing fresh pages and collecting the old ones.
// Get returns a buffer of exactly n bytes (a power of two), of any
// content; Put takes one back that the connection no longer uses. A
// datagram the connection made earlier (PollTransmitView) and the IO
// layer has not sent yet may still hold a view of a send ring's buffer
// given back (a retransmission of bytes acknowledged meanwhile), so an
// implementation lends it again only once it knows that no such datagram
// waits (package utp's checks the connection's send queue). The IO layer
// implements it (it may be shared by many connections at once); the
// protocol core only calls it.
type Buffers interface {
	Get(n int) []byte
	Put(b []byte)
}

func (r *byteRing) alloc(n int) []byte {
	if r.pool == nil {
		return make([]byte, n)
	}
	return r.pool.Get(n)
}

// release gives the buffer back to the pool and leaves the ring without
// one; the ring's offsets stay. The caller knows that the connection will
// not read the bytes again: nothing in flight, or nothing left to read.
func (r *byteRing) release() {
	if r.pool != nil && r.buf != nil {
		r.pool.Put(r.buf)
	}
	r.buf = nil
}

func (r *byteRing) len() int  { return int(r.end - r.base) }
func (r *byteRing) free() int { return max(0, r.limit-r.len()) }

// write appends up to free() bytes of p and returns how many it took.
func (r *byteRing) write(p []byte) int {
	n := min(len(p), r.free())
	if n == 0 {
		return 0
	}
	r.grow(r.len() + n)
	mask := uint64(len(r.buf) - 1)
	off := int(r.end & mask)
	c := copy(r.buf[off:], p[:n])
	copy(r.buf, p[c:n])
	r.end += uint64(n)
	return n
}

// readAt copies bytes starting at stream offset off into p; the range must
// lie within [base, end).
func (r *byteRing) readAt(p []byte, off uint64) {
	mask := uint64(len(r.buf) - 1)
	i := int(off & mask)
	c := copy(p, r.buf[i:])
	copy(p[c:], r.buf)
}

// view returns the n bytes from stream offset off as up to two slices of
// the buffer (the second when they wrap around its end); the range must
// lie within [base, end).
func (r *byteRing) view(off uint64, n int) (a, b []byte) {
	i := int(off & uint64(len(r.buf)-1))
	a = r.buf[i:min(i+n, len(r.buf))]
	return a, r.buf[:n-len(a)]
}

// discard drops bytes before stream offset to.
func (r *byteRing) discard(to uint64) {
	if to > r.end {
		to = r.end
	}
	if to > r.base {
		r.base = to
	}
}

// minRing is a ring's first size. Small: most connections that open and
// close at a high rate carry a request and a reply, and fresh memory is
// what costs there (a new connection's first touch of its buffers was 5%
// of a dial+echo+close); a bulk transfer doubles its way up in a few
// steps.
const minRing = 512

func (r *byteRing) grow(need int) {
	if need <= len(r.buf) {
		return
	}
	size := max(len(r.buf), minRing)
	for size < need {
		size *= 2
	}
	// The old buffer is left to the GC, not given back: a datagram waiting
	// to be sent may still hold a view of a send ring's bytes.
	old := r.buf
	r.buf = r.alloc(size)
	if len(old) == 0 {
		return
	}
	// Re-place every byte at its offset under the new mask, in at most two
	// runs of the old buffer.
	oldMask, newMask := uint64(len(old)-1), uint64(size-1)
	for off := r.base; off < r.end; {
		i := int(off & oldMask)
		run := min(len(old)-i, int(r.end-off))
		j := int(off & newMask)
		c := copy(r.buf[j:], old[i:i+run])
		copy(r.buf, old[i+c:i+run])
		off += uint64(run)
	}
}
