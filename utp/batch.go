package utp

import (
	"github.com/inet256/go-utp/v2/utp/internal/packetio"
)

// outBatch collects the datagrams one step produced: each a header
// (Head), then, where the Socket sends from several buffers (packetio's
// Caps.Gather), the tail, which points into the connection's send
// buffer when the payload was not copied (PollTransmitView). A short
// Head (a header alone, the usual case) is copied into the batch's own
// heads arena, so that a run of hundreds of DATA packets touches one
// warm buffer instead of taking hundreds of pooled 2 KiB buffers, whose
// first touch each missed the cache (most of collect's CPU samples in a
// bulk transfer over veth); a longer one is a pooled buffer. Batches are pooled by
// the Socket, so their slices are reused too, and so is spare: a packet
// buffer the batch keeps for its next step, which most often sends
// nothing or one datagram (an ACK, a reply), so that such a step takes
// no buffer from the pool.
type outBatch struct {
	ds    []packetio.Datagram
	spare []byte
	heads []byte // the arena: Heads of ds, back to back (see addHead)
}

// headArena is the first size of a batch's arena: 40 bare headers, and
// half the small buffer a lone ACK took before, so that the many
// concurrent steps of a SYN flood's timers (docs/security.md) hold no
// more than they did. A step may send far more (on a short path, a
// quarter of the window: hundreds of packets), so the arena doubles as
// needed, to at most maxArena (2,500 headers), and keeps its size with
// its pooled batch.
const (
	headArena = 1024
	maxArena  = 64 << 10
)

// maxArenaHead is the longest Head kept in the arena; longer ones take
// a pooled buffer. It is well under smallBuf, so that putBuf, which
// tells buffers by capacity, never takes an arena slice for a pooled
// buffer.
const maxArenaHead = 256

func (o *outBatch) add(d packetio.Datagram) { o.ds = append(o.ds, d) }

// addHead copies h into the arena and returns the copy, whose capacity
// is its length, or returns nil if h is too long or the arena is full
// at its largest. A full arena is replaced by a larger one, not copied:
// the Heads made before keep the old one alive until the batch is sent.
func (o *outBatch) addHead(h []byte) []byte {
	if len(h) > maxArenaHead {
		return nil
	}
	if cap(o.heads)-len(o.heads) < len(h) {
		if cap(o.heads) >= maxArena {
			return nil
		}
		o.heads = make([]byte, 0, min(max(headArena, 2*cap(o.heads)), maxArena))
	}
	start := len(o.heads)
	o.heads = append(o.heads, h...)
	return o.heads[start:len(o.heads):len(o.heads)]
}

// inArena reports whether a Head of a batch is an arena copy rather
// than a pooled buffer, by capacity (see maxArenaHead).
func inArena(head []byte) bool { return cap(head) <= maxArenaHead }

// join moves the datagrams of other to the end of o; other is left
// empty, its spare buffer kept. Heads in other's arena are copied into
// o's, or into pooled buffers: other goes back to the pool, and its
// arena with it.
func (o *outBatch) join(other *outBatch, s *Socket) {
	for _, d := range other.ds {
		if inArena(d.Head) {
			h := o.addHead(d.Head)
			if h == nil {
				h = append(s.getSmall()[:0], d.Head...)
			}
			d.Head = h
		}
		o.ds = append(o.ds, d)
	}
	other.reset()
}

func (o *outBatch) reset() {
	clear(o.ds)
	o.ds = o.ds[:0]
	o.heads = o.heads[:0]
}
