package utp

import (
	"github.com/inet256/go-utp/v2/utp/internal/packetio"
)

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
