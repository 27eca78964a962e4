package proto

import "time"

// A retransmission timer that fires late says the process that serves
// this connection did not run: its IO layer's timer was due and nothing
// called HandleTimeout. The ACKs that would have stopped the timer may
// then be waiting, unread, in the socket: on a loaded machine a bulk
// transfer whose sender and receiver waited for a CPU past the least RTO
// (200 ms) timed out with megabytes in flight, resent up to 2,700
// packets the receiver already had, and undid the reduction only at the
// next ACK (docs/performance.md, "Spurious timeouts under load"). So a
// timer that fires at least starvedLate × RTO after its deadline is not
// declared: it is armed again starvedGrace × RTO later, once, which gives
// the reader that was starved with it the time to apply what waited. A
// second late fire of the same deadline is declared, so a process that
// is late at every turn, or a peer that has gone, costs the timeout a
// quarter of an RTO more, not more. Linux's TCP has no such rule: its
// timers run in softirq context, ahead of the application's threads, and
// its ACKs are processed there too, so its timers are not starved apart
// from its receive path; ours share the process's threads with the reads.
const (
	starvedLate  = 8 // the fire is late by RTO/starvedLate or more
	starvedGrace = 4 // the deadline moves RTO/starvedGrace past the late fire
)

// deferStarved decides, for the retransmission timer due at due and
// fired at now, whether the fire is a starved one to put off; if so it
// arms the timer again and reports true.
func (c *Conn) deferStarved(now, due time.Time) bool {
	rto := c.rto()
	if due.Equal(c.rtoDeferred) || now.Sub(due) < rto/starvedLate {
		return false
	}
	c.rtoDeferred = now.Add(rto / starvedGrace)
	c.setTimer(timerRetransmit, c.rtoDeferred)
	c.stats.DeferredTimeouts++
	return true
}
