package proto

import "time"

// On a path whose round trip is a few tens of microseconds (a veth pair,
// a LAN), an ACK frees a few packets, and a sender that sends whatever
// the window allows at each ACK sends a few packets per step: the IO
// layer's batch, one system call (UDP_SEGMENT) on each side, carries
// those few, and the receiver, reading them as one coalesced datagram,
// answers with one ACK, which again frees a few. The system calls per
// byte, not the protocol, then bound the transfer. So, as Linux defers
// a TSO send until the window allows a larger frame (tcp_tso_should_defer),
// a step sends new data only when the window has room for batchBytes, or
// a quarter of the window if less, while most of the window is in flight
// and ACKs are therefore on their way; once it sends, it fills the
// window. Batches grow to batchBytes, and the ACKs per byte fall with
// them.
//
// Only where the round trip is below batchDeferRTT: on longer paths
// pacing (pacing.go) decides the bursts, and a deferral costs the
// throughput of a round trip that is not negligible.

// batchBytes is the room a step waits for: what one UDP_SEGMENT send
// carries at most (64 KiB of payload).
const batchBytes = 64 << 10

// batchDeferRTT is the least round trip at which no send is deferred.
const batchDeferRTT = time.Millisecond

// deferForBatch reports whether a new packet should wait for more room:
// room is the window's free part, unsent the bytes waiting to go.
func (c *Conn) deferForBatch(room, unsent int) bool {
	s := &c.snd
	if s.burst || s.flight == 0 || s.finQueued {
		return false
	}
	if rtt := c.rtt.MinRTT(); rtt <= 0 || rtt >= batchDeferRTT {
		return false
	}
	want := min(batchBytes, c.sendWindow()/4)
	return room < want && unsent >= want
}
