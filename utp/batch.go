package utp

import (
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/packetio"
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
	headers  [inboxSize]wire.Header
	payloads [inboxSize][]byte
}

// inboxSize is as many packets as one coalesced read returns at most
// (64, Linux's UDP_MAX_SEGMENTS before 6.8): a longer run for one
// connection is applied in more than one step.
const inboxSize = 64

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

// outBatch collects the datagrams one step produced: each a pooled
// buffer (Head), then, where the Socket sends from several buffers
// (packetio's Caps.Gather), the tail, which points into the connection's
// send buffer when the payload was not copied (PollTransmitView).
// Batches are pooled by the Socket, so their slices are reused too, and
// so is spare: a packet buffer the batch keeps for its next step, which
// most often sends nothing or one datagram (an ACK, a reply), so that
// such a step takes no buffer from the pool.
type outBatch struct {
	ds    []packetio.Datagram
	spare []byte
}

func (o *outBatch) add(d packetio.Datagram) { o.ds = append(o.ds, d) }

// join moves the datagrams of other to the end of o; other is left
// empty, its spare buffer kept.
func (o *outBatch) join(other *outBatch) {
	o.ds = append(o.ds, other.ds...)
	other.reset()
}

func (o *outBatch) reset() {
	clear(o.ds)
	o.ds = o.ds[:0]
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
