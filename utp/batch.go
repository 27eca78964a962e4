package utp

import (
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/proto"
	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// inbox holds consecutive packets for one connection, so that one step
// applies them all: the connection then answers a coalesced read with
// one acknowledgement, not one for every second packet. The payloads
// point into the reader's buffer and are used before it is reused.
type inbox struct {
	c        *Conn
	n        int
	headers  [maxSegments]wire.Header
	payloads [maxSegments][]byte
}

// add queues a packet for c, first flushing packets for another
// connection, or a full inbox.
func (in *inbox) add(c *Conn, h wire.Header, payload []byte, now time.Time) {
	if in.c != c || in.n == len(in.headers) {
		in.flush(now)
	}
	in.c = c
	in.headers[in.n], in.payloads[in.n] = h, payload
	in.n++
}

// flush applies the queued packets, read at now, and reports whether
// there were any.
func (in *inbox) flush(now time.Time) bool {
	if in.n == 0 {
		return false
	}
	in.c.stepAt(now, func(now time.Time, m *proto.Conn) {
		for i := range in.n {
			m.HandleParsed(now, in.headers[i], in.payloads[i])
		}
	})
	clear(in.payloads[:in.n])
	in.c, in.n = nil, 0
	return true
}

// outgoing is one datagram a step produced: b, then the tail, which
// points into the connection's send buffer when the payload was not
// copied (PollTransmitView).
type outgoing struct {
	b    []byte // a pooled buffer
	tail [2][]byte
}

func (d *outgoing) len() int { return len(d.b) + len(d.tail[0]) + len(d.tail[1]) }

// flatten appends the tail to b, for a send that takes one buffer. A
// small buffer that cannot hold the tail is first swapped for a whole
// datagram's, taken from s.
func (d *outgoing) flatten(s *Socket) []byte {
	if d.len() > cap(d.b) {
		big := append(s.getBuf()[:0], d.b...)
		s.putBuf(d.b)
		d.b = big
	}
	d.b = append(append(d.b, d.tail[0]...), d.tail[1]...)
	d.tail = [2][]byte{}
	return d.b
}

// outBatch collects the datagrams one step produced. Batches are pooled
// by the Socket, so their overflow slices are reused too, and so is
// spare: a packet buffer the batch keeps for its next step, which most
// often sends nothing or one datagram (an ACK, a reply), so that such a
// step takes no buffer from the pool.
type outBatch struct {
	n     int
	small [16]outgoing
	more  []outgoing
	spare []byte
}

func (o *outBatch) add(d outgoing) {
	if o.n < len(o.small) {
		o.small[o.n] = d
	} else {
		o.more = append(o.more, d)
	}
	o.n++
}

// join moves the datagrams of other to the end of o; other is left
// empty, its spare buffer kept.
func (o *outBatch) join(other *outBatch) {
	for i := range other.n {
		o.add(*other.get(i))
	}
	other.reset()
}

func (o *outBatch) get(i int) *outgoing {
	if i < len(o.small) {
		return &o.small[i]
	}
	return &o.more[i-len(o.small)]
}

func (o *outBatch) reset() {
	clear(o.small[:min(o.n, len(o.small))])
	clear(o.more)
	o.more = o.more[:0]
	o.n = 0
}

// tokenBucket limits a rate: take succeeds at most perSecond times a
// second on average, with bursts of up to perSecond.
type tokenBucket struct {
	rate   float64
	tokens float64
	last   time.Time
}

func newTokenBucket(perSecond int) tokenBucket {
	return tokenBucket{rate: float64(perSecond), tokens: float64(perSecond)}
}

func (b *tokenBucket) take(now time.Time) bool {
	if !b.last.IsZero() {
		b.tokens = min(b.rate, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
