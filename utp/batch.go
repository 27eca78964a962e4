package utp

import "time"

// outBatch collects the datagrams one step produced. Batches are pooled
// by the Socket, so their overflow slices are reused too.
type outBatch struct {
	n     int
	small [16][]byte
	more  [][]byte
}

func (o *outBatch) add(b []byte) {
	if o.n < len(o.small) {
		o.small[o.n] = b
	} else {
		o.more = append(o.more, b)
	}
	o.n++
}

func (o *outBatch) get(i int) []byte {
	if i < len(o.small) {
		return o.small[i]
	}
	return o.more[i-len(o.small)]
}

func (o *outBatch) reset() {
	clear(o.small[:])
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
