package proto

import (
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/cc"
	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// Pacing spreads a window's packets over the round trip instead of
// sending them in one burst as ACKs free room: a slow-start burst of
// twice the bottleneck's rate otherwise fills a short buffer within the
// round trip and loses the excess, at high bandwidth-delay products
// hundreds of packets at once. There is no goroutine: the state machine
// holds packets back in PollTransmit and says when to send again through
// NextDeadline (timerPace), which the IO layer already serves.
//
// It is a token bucket kept as a time: next is when the packets sent so
// far would all have gone at the pacing rate, and a packet may go while
// next is at most one burst ahead of now. The rate is the window per
// smoothed RTT times a gain, 2 in slow start (the window doubles each
// RTT) and 1.25 after, the gains Linux uses for TCP
// (net.ipv4.tcp_pacing_ss_ratio 200%, tcp_pacing_ca_ratio 120%). Slow
// start paces at 1.25 too once the delay shows a queue (pacingQueueShows):
// at twice the window per RTT a round's packets go out in half of it,
// and with the window near the path's bandwidth-delay product that half
// round trip of excess waits in the bottleneck's queue, 100 ms on a
// 200 ms path, on top of the queue the window holds. Linux lowers the
// gain too as slow start nears its end (200% only while the window is
// under half of ssthresh, tcp_update_pacing_rate); our slow start ends on
// delay, so the delay says when. A window under pacingSmallPackets full
// packets keeps the gain of 2 (smallSlowStart): its half round trip of
// excess is a few packets. A latecomer on a path shared with other
// flows reads their queue from its first ACKs and was paced at 1.25 from
// there, under a LEDBAT++ slow start's growth of 1 + GAIN per RTT where
// GAIN is over a quarter (paths of more than 30 ms): eight flows on
// 1 Mbit/s x 40 ms and 10 Mbit/s x 10 ms then left one flow with a base
// delay too high and over twice the others' rate (docs/protocol.md).
// A burst
// is a millisecond of sending, at least two packets, so the IO layer's
// timer fires at most about once a millisecond and its batches stay large
// (Linux sizes its pacing quantum the same way, tcp_tso_autosize).
//
// A timer or a step that comes late does not cost the rate: while the
// pacer is what holds the sender back, the bucket keeps what it was owed
// during the delay, up to a quarter of the SRTT, and the late step sends
// it. A Go timer on a loaded machine fires milliseconds late; with the
// bucket emptied at each late step, a pacer meant to send a millisecond's
// worth every millisecond sent that much every few, and a 1 Gbit/s flow
// moved a fifth of its pacing rate with its window open. Linux makes the
// same allowance for scheduling jitter (tcp_update_skb_after_send
// shortens the gap after a late send). A sender that waited for anything
// else (data, the window) earns no credit, so an idle flow does not
// burst when it resumes.

const (
	pacingGainSlowStart = 2.0
	pacingGainAvoidance = 1.25
	// pacingBurst is how far ahead of the rate sending may run.
	pacingBurst = time.Millisecond
	// pacingMinPackets is the least burst, in packets.
	pacingMinPackets = 2
	// pacingQueueShows is the queuing delay from which slow start is
	// paced at pacingGainAvoidance (see above): RFC 9406's
	// MIN_RTT_THRESH, the least RTT increase HyStart++ takes for a
	// queue. In netsim a higher one (a sixteenth of the RTT) let a
	// queue of 77 ms build on a 200 ms path before slow start ended
	// (docs/protocol.md).
	pacingQueueShows = 4 * time.Millisecond
	// pacingSmallPackets: a window under this many full packets is
	// paced in slow start at pacingGainSlowStart whatever the delay
	// (smallSlowStart): twice the bound under which LEDBAT++ sends a
	// window in small packets (cc.DefaultSegmentPackets). Of 8, 16, 32
	// and 64, 16
	// evened eight flows on 1 and 10 Mbit/s best (docs/performance.md);
	// its half round trip of excess is 8 packets, 9 ms at 10 Mbit/s.
	pacingSmallPackets = 2 * cc.DefaultSegmentPackets
	// pacingCreditDiv: a late step may catch up on at most SRTT /
	// pacingCreditDiv of sending (see above).
	pacingCreditDiv = 4
	// minPacedRTT is the least SRTT at which pacing is on. Below it a
	// burst is most of the window anyway, so pacing would only move
	// sending from the ACK clock to the timer, which on a loaded machine
	// fires a millisecond or more late; on loopback that made many
	// connections sharing one kernel buffer overflow it (docs/protocol.md,
	// "Pacing").
	minPacedRTT = 2 * time.Millisecond
)

// pacer is the token bucket.
type pacer struct {
	next time.Time // zero: nothing charged since pacing last had no rate
	rate float64   // bytes per second, as of the last paceReady
}

// pacingRate is the rate in bytes per second, or 0 while the RTT is
// unknown or below minPacedRTT, or where the round trip without queue
// is below batchDeferRTT (nothing is paced then).
//
// On such a path (a veth pair, a LAN) an SRTT of milliseconds is queue,
// most often our own window waiting in the receiver's socket buffer
// while its process waits for a CPU, and the batches of batch.go shape
// the bursts: pacing at the window per SRTT only moved sending from the
// ACK clock to the connection's timer. On a veth pair at MTU 1500, whose
// SRTT under load reached 28 ms with a least RTT of 31 µs, steps run by
// the pacing timer were 15% of the CPU samples (docs/performance.md).
func (c *Conn) pacingRate() float64 {
	srtt := c.rtt.SRTT()
	if srtt < minPacedRTT || c.cfg.NoPacing {
		return 0
	}
	if base := c.rtt.MinRTT(); base > 0 && base < batchDeferRTT {
		return 0
	}
	gain := pacingGainAvoidance
	if c.ctrl.InSlowStart() && (c.ctrl.QueuingDelay() < pacingQueueShows || c.smallSlowStart()) {
		gain = pacingGainSlowStart
	}
	return gain * float64(c.sendWindow()) / srtt.Seconds()
}

// smallSlowStart reports whether the window is under pacingSmallPackets
// full packets, which slow start paces at pacingGainSlowStart whatever
// the delay (see above).
func (c *Conn) smallSlowStart() bool {
	return c.sendWindow() < pacingSmallPackets*(c.maxPayload()+wire.HeaderSize)
}

// paceReady reports whether a paced packet may go now. When it may not,
// and something waits to be sent, timerPace is set to when it may.
func (c *Conn) paceReady(now time.Time) bool {
	p := &c.pace
	rate := c.pacingRate()
	if p.rate > 0 && rate > p.rate && p.next.After(now) {
		// What is owed was counted at the old rate: owe the same bytes
		// at the new one. A zero-window probe charged at a few bytes a
		// second must not hold the reopened window back for a minute.
		// A falling rate leaves the debt's time as it is: owed at a
		// window a loss or a slowdown had just cut a thousandfold, a
		// few milliseconds of sending became seconds of silence.
		p.next = now.Add(time.Duration(float64(p.next.Sub(now)) * p.rate / rate))
	}
	p.rate = rate
	if p.rate == 0 || p.next.IsZero() {
		return true
	}
	p.next = c.paceFloor(now, c.limit.cause == limitPacing)
	mss := float64(c.maxPayload() + wire.HeaderSize)
	burst := max(pacingBurst, seconds(pacingMinPackets*mss/p.rate))
	if p.next.Sub(now) <= burst {
		c.setTimer(timerPace, time.Time{}) // not holding anything back
		return true
	}
	if c.wantsToSend() {
		c.setTimer(timerPace, p.next.Add(-burst))
	}
	return false
}

// paced charges one transmitted packet of n bytes to the bucket.
func (c *Conn) paced(now time.Time, n int) {
	p := &c.pace
	if p.rate == 0 {
		p.next = time.Time{}
		return
	}
	if p.next.IsZero() {
		p.next = now
	}
	p.next = c.paceFloor(now, true).Add(seconds(float64(n) / p.rate))
}

// paceFloor is the bucket's time, raised so that it owes no more than
// the credit allowed: up to SRTT / pacingCreditDiv of sending before now
// when the pacer held the sender back (credit), none otherwise. Within
// one step the floor does not move, so a step sends its whole credit.
func (c *Conn) paceFloor(now time.Time, credit bool) time.Time {
	floor := now
	if credit {
		floor = now.Add(-c.rtt.SRTT() / pacingCreditDiv)
	}
	if c.pace.next.Before(floor) {
		return floor
	}
	return c.pace.next
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// flightForController is the flight an ACK reports to the controller
// (cc.Ack.FlightBefore), which stops the window growing while the sender
// does not fill it (RFC 6817's max_allowed_cwnd, RFC 7661). A flight the
// pacer kept below the window is not such a sender: counted as it is, it
// held slow start to the few packets a burst lets out before each ACK
// on paths whose SRTT overstates the round trip. So while the pacer holds
// data back, the flight counts as the full window, as Linux counts a
// paced flow cwnd-limited (tcp_cwnd_validate).
func (c *Conn) flightForController() int {
	if !c.timers[timerPace].IsZero() && c.wantsToSend() {
		return max(c.snd.flight, c.sendWindow())
	}
	return c.snd.flight
}

// wantsToSend reports whether a data, FIN or retransmitted packet is
// waiting (whether or not the window lets it go).
func (c *Conn) wantsToSend() bool {
	s := &c.snd
	return s.lostN > 0 || s.ring.end > s.next || (s.finQueued && !s.finSent)
}
