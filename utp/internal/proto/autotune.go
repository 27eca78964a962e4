package proto

import (
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// The receive buffer follows the path, as Linux's receive-buffer
// autotuning (dynamic right-sizing, tcp_rcv_space_adjust) does: it
// starts at initialRecvSpace and doubles, up to Config.RecvBufferSize,
// whenever a whole buffer arrived in order within two round trips, as
// the packets' timestamps measure them with the queues of the moment,
// while the reader kept up. A sender limited by our window delivers one
// window per round trip, so the buffer doubles each round trip until the
// sender's own window (at most the path's bandwidth-delay product plus
// the queue its delay target allows, which the round trip then
// includes) is what limits it; the buffer then ends between one and two
// of those windows. On loopback or a LAN the start already covers the
// product, and the buffer stays there. Growth needs both the path's rate
// and a reader that takes it: a peer that floods a connection whose
// reader is slow meets the current buffer, and what does not fit is
// dropped. An idle connection goes back to the start (buffers.go).

// initialRecvSpace is the receive buffer of a new or idle connection:
// 4 MiB, the default cap before autotuning, which loopback and short
// paths fill without growing (Linux starts lower, at tcp_rmem's 128 KiB,
// but it also grows its window per ACK in slow start).
const initialRecvSpace = 4 << 20

// tuneSlackRTT is the round trip assumed when neither the packets'
// timestamps nor our own data gave a sample (a peer that sends no
// timestamps to a receiver that only acknowledges). Generous, so that a
// long path is not held back; the bytes that arrived, and that the reader
// took, justify the growth either way.
const tuneSlackRTT = 500 * time.Millisecond

// tuneDelayTarget is the queueing delay a delay-based sender adds to the
// round trip at its target, for the fallback where no sample shows the
// queue: RFC 6817's TARGET, the larger of LEDBAT's and LEDBAT++'s (60 ms).
const tuneDelayTarget = 100 * time.Millisecond

// recvTune is the state of one measurement: since when, and how many
// bytes had arrived in order then.
type recvTune struct {
	at    time.Time
	recvd uint64
	rtt   time.Duration // the longest round trip seen in it; 0: none
	last  time.Duration // the previous measurement's, kept when this one has none
}

// notePathRTT takes a round-trip sample from a packet's timestamps: the
// one-way delay we measured of it plus the one it echoes of ours (BEP
// 29's timestamp_difference). The hosts' clock offset cancels in the
// sum, and the sum includes the queues of both directions now, which is
// what a window must cover: a receiver that only acknowledges has no
// other sample.
func (c *Conn) notePathRTT(h *wire.Header) {
	if h.Timestamp == 0 || h.TimestampDiff == 0 || c.replyMicro == 0 {
		return
	}
	if us := int32(c.replyMicro + h.TimestampDiff); us > 0 {
		c.rcv.tune.rtt = max(c.rcv.tune.rtt, time.Duration(us)*time.Microsecond)
	}
}

// initRecvSpace sets the receive buffer of a new or idle connection.
func (c *Conn) initRecvSpace() {
	c.rcv.ring.limit = min(c.cfg.RecvBufferSize, initialRecvSpace)
	c.rcv.tune = recvTune{}
}

// tuneRecv doubles the receive buffer when a whole buffer arrived in
// order within tuneBound and the reader kept up, holding less than half
// of it. It runs for every packet that arrives in order.
func (c *Conn) tuneRecv(now time.Time) {
	r := &c.rcv
	if r.ring.limit >= c.cfg.RecvBufferSize {
		return
	}
	recvd := c.stats.BytesReceived
	if r.tune.at.IsZero() {
		r.tune = recvTune{at: now, recvd: recvd}
		return
	}
	// Two packets short of the whole: the sender keeps the last ones
	// back for Nagle, pacing and delayed ACKs.
	if recvd-r.tune.recvd+uint64(2*r.packetSize) < uint64(r.ring.limit) {
		return
	}
	if now.Sub(r.tune.at) <= c.tuneBound() && 2*r.ring.len() < r.ring.limit {
		r.ring.limit = min(c.cfg.RecvBufferSize, 2*r.ring.limit)
	}
	last := r.tune.rtt
	if last == 0 {
		last = r.tune.last
	}
	r.tune = recvTune{at: now, recvd: recvd, last: last}
}

// tuneBound is the longest a window-limited sender takes to deliver a
// window: twice the round trip the packets' timestamps show, queues
// included. Without such samples (a peer that sends no timestamps), a
// round trip our own data measured plus the queue a delay-based sender
// keeps, or failing that tuneSlackRTT.
func (c *Conn) tuneBound() time.Duration {
	if rtt := max(c.rcv.tune.rtt, c.rcv.tune.last); rtt > 0 {
		return 2 * rtt
	}
	rtt := tuneSlackRTT
	if c.rtt.HasSample() {
		rtt = 2 * c.rtt.MinRTT()
	}
	return rtt + tuneDelayTarget
}

// GrownRecvSpace is the receive buffer autotuning has grown to, or 0
// while it is at its start. An IO layer that bounds the window
// (SetWindowLimit) by a resource it shares, such as a kernel buffer, may
// take a grown buffer as the path's demand for more of it: a buffer
// grows only when the peer delivered a whole one within two round trips
// and the reader kept up.
func (c *Conn) GrownRecvSpace() int {
	if c.rcv.ring.limit > min(c.cfg.RecvBufferSize, initialRecvSpace) {
		return c.rcv.ring.limit
	}
	return 0
}
