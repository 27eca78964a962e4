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
	// least is the shortest round trip seen since the buffer was last at
	// its start: the path without its queues, as near as the samples
	// come (GrownRecvSpace). 0: none.
	least time.Duration
	// filled: in the last measurement the peer delivered about the
	// IO layer's window limit per round trip (GrownRecvSpace).
	filled bool
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
		d := time.Duration(us) * time.Microsecond
		t := &c.rcv.tune
		t.rtt = max(t.rtt, d)
		if t.least == 0 || d < t.least {
			t.least = d
		}
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
	elapsed := now.Sub(r.tune.at)
	if elapsed <= c.tuneBound() && 2*r.ring.len() < r.ring.limit {
		r.ring.limit = min(c.cfg.RecvBufferSize, 2*r.ring.limit)
	}
	last := r.tune.rtt
	if last == 0 {
		last = r.tune.last
	}
	filled := r.limit > 0 && last > 0 && elapsed > 0 &&
		float64(recvd-r.tune.recvd)*float64(last)/float64(elapsed) >= float64(r.limit)*7/8
	r.tune = recvTune{at: now, recvd: recvd, last: last, least: r.tune.least, filled: filled}
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

// GrownRecvSpace is the receive buffer autotuning has grown to on a
// long path, or 0 while it is at its start or the path is short. An IO
// layer that bounds the window (SetWindowLimit) by a resource it shares,
// such as a kernel buffer, may take it as the path's demand for more of
// it: a buffer grows only when the peer delivered a whole one within two
// round trips and the reader kept up.
//
// It also takes a peer that the limit holds back: in the last
// measurement the peer delivered at least seven eighths of that limit
// per round trip (the measurement's longest). And a long path: the
// shortest round trip the packets' timestamps showed is shortPathRTT or
// more, as for the send buffer's bound (send.go), below which a sender
// of ours keeps at most 4 MiB in flight. A buffer also grows where
// queues lengthen every round trip: 64 loopback connections at once on
// a loaded machine grew theirs to 8 MiB, their round trips lengthened
// by the queue in the shared kernel buffer from the start, and the last
// few, their senders held to 1 MiB by that bound, asked for more kernel
// buffer they could not use, costing fan-out CPU (docs/performance.md);
// they do not fill the limit. A peer that sends no timestamps never
// shows a long path.
func (c *Conn) GrownRecvSpace() int {
	t := &c.rcv.tune
	if c.rcv.ring.limit > min(c.cfg.RecvBufferSize, initialRecvSpace) && t.least >= shortPathRTT && t.filled {
		return c.rcv.ring.limit
	}
	return 0
}
