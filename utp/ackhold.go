package utp

// Acknowledgements held while the socket has more queued (proto's
// HoldAcks): the read lead's holder applies each read's packets with
// their routine ACK held, reads on while the endpoint has datagrams
// queued (packetio's TryRead), and releases the held ACKs once it has
// none, before it waits, or before the lead moves. One ACK then covers
// every coalesced read the holder found waiting, not each read: on a
// veth pair the ACKs per byte, and the system calls they cost on both
// sides, fall by the reads per wakeup.

import (
	"errors"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/packetio"
	"github.com/inet256/go-utp/v2/utp/internal/proto"
)

// maxHeldReads bounds the reads one held ACK may wait for, so that a
// socket that never runs dry still acknowledges (the state machine also
// bounds the bytes one held ACK covers).
const maxHeldReads = 8

// ackHolds is the holder's list of connections whose ACKs are held.
// Owned by the read lead's holder, as the inbox is.
type ackHolds struct {
	on    bool    // the endpoint can read without waiting (Caps.TryRead)
	conns []*Conn // connections with ACKs held; each is marked ackHeld
	reads int     // reads applied since the first hold
}

// note records that c's packets were applied with its ACK held.
func (h *ackHolds) note(c *Conn) {
	if !c.ackHeld {
		c.ackHeld = true
		h.conns = append(h.conns, c)
	}
}

// release lets every held ACK go out.
func (h *ackHolds) release() {
	for i, c := range h.conns {
		c.ackHeld = false
		c.step(func(_ time.Time, m *proto.Conn) { m.HoldAcks(false) })
		h.conns[i] = nil
	}
	h.conns, h.reads = h.conns[:0], 0
}

// count counts a read taken while ACKs are held, releasing them first
// if maxHeldReads have been taken (poll, yieldRead).
func (h *ackHolds) count() {
	if len(h.conns) == 0 {
		return
	}
	if h.reads >= maxHeldReads {
		h.release()
		return
	}
	h.reads++
}

// errDrained is next's answer, when asked to stop, that the endpoint has
// nothing queued (and the held ACKs are released).
var errDrained = errors.New("utp: nothing queued")

// next reads the next datagram for the holder. While ACKs are held it
// takes only what is queued, and releases them once nothing is (or
// after maxHeldReads); then, with stop set, it returns errDrained rather
// than wait.
// With body set, the read places the bytes past a header in it
// (inplace.go).
func (l *lead) next(stop bool, body []byte) (n, seg int, from source, err error) {
	h := &l.in.holds
	if len(h.conns) > 0 {
		if h.reads < maxHeldReads {
			h.reads++
			n, seg, from, err = l.read(body, false)
			if !errors.Is(err, packetio.ErrWouldBlock) {
				return n, seg, from, err
			}
		}
		h.release()
	}
	if stop {
		return 0, 0, from, errDrained
	}
	return l.read(body, true)
}

// poll is next that never waits: it reads a datagram only if one is
// queued, and otherwise releases the held ACKs and returns errDrained.
// An endpoint that cannot read without waiting (Caps.TryRead false)
// always looks empty.
func (l *lead) poll() (n, seg int, from source, err error) {
	h := &l.in.holds
	h.count()
	n, seg, from, err = l.s.pio.TryRead(l.buf)
	if errors.Is(err, packetio.ErrWouldBlock) {
		h.release()
		return 0, 0, from, errDrained
	}
	return n, seg, from, err
}
