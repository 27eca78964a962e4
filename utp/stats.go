package utp

import (
	"sync/atomic"
	"time"
)

// SocketStats counts what a Socket did, across all its connections.
type SocketStats struct {
	Conns            int    // connections in the table now, those in TIME-WAIT included
	Accepted         uint64 // connections accepted (handshake answered)
	Dialed           uint64 // dials started
	PacketsIn        uint64 // uTP datagrams received
	PacketsOut       uint64 // uTP datagrams sent (Socket.WriteTo's are not counted)
	BytesIn          uint64 // bytes in the PacketsIn datagrams, uTP headers included
	BytesOut         uint64 // bytes in the PacketsOut datagrams, uTP headers included
	SendErrors       uint64 // WriteTo failures (the protocol retransmits)
	Malformed        uint64 // uTP-looking datagrams that failed to parse
	NonUTP           uint64 // datagrams queued for ReadFrom
	NonUTPDropped    uint64 // ... dropped because that queue was full
	SynsRefused      uint64 // SYNs refused, and proven handshakes reset: the backlog was full
	SynsEvicted      uint64 // unproven connections shed for a new SYN (WithUnprovenLimit) or expired
	SynsStateless    uint64 // SYNs answered with no connection, only a record, the unproven list being full of young ones
	Revived          uint64 // shed handshakes whose dialer's proof came after all
	Unprovable       uint64 // packets for an unproven connection that cannot prove it: dropped
	ResetsSent       uint64 // RESETs sent for unknown connections
	ResetsSuppressed uint64 // ... not sent, over the rate limit
	Retransmits      uint64 // packets sent again, by every connection the Socket has had, live or ended
	Timeouts         uint64 // retransmission timer expiries, likewise

	// UDP offload (Linux): system calls that carried several datagrams.
	SegmentedSends uint64 // sends of several datagrams in one call (UDP_SEGMENT, or netsim batched)
	CoalescedReads uint64 // reads that returned several datagrams (UDP_GRO, or netsim coalesced)
}

type socketCounters struct {
	accepted, dialed, packetsIn, packetsOut, bytesIn, bytesOut atomic.Uint64
	sendErrors, malformed, nonUTP, nonUTPDropped, synsRefused  atomic.Uint64
	synsEvicted, synsStateless, revived, unprovable            atomic.Uint64
	resetsSent, resetsSuppressed                               atomic.Uint64
	segmentedSends, coalescedReads                             atomic.Uint64
}

// Stats returns a snapshot of the Socket's counters. Its cost grows with
// the connections in the table: the per-connection counters (Retransmits,
// Timeouts) are summed over them.
func (s *Socket) Stats() SocketStats {
	live, waiting, ended := s.connCounters()
	c := &s.stats
	st := SocketStats{
		Conns: len(live) + waiting, Accepted: c.accepted.Load(), Dialed: c.dialed.Load(),
		PacketsIn: c.packetsIn.Load(), PacketsOut: c.packetsOut.Load(),
		BytesIn: c.bytesIn.Load(), BytesOut: c.bytesOut.Load(),
		SendErrors: c.sendErrors.Load(), Malformed: c.malformed.Load(),
		NonUTP: c.nonUTP.Load(), NonUTPDropped: c.nonUTPDropped.Load(),
		SynsRefused: c.synsRefused.Load(), SynsEvicted: c.synsEvicted.Load(),
		SynsStateless: c.synsStateless.Load(),
		Revived:       c.revived.Load(), Unprovable: c.unprovable.Load(),
		ResetsSent:       c.resetsSent.Load(),
		ResetsSuppressed: c.resetsSuppressed.Load(),
		Retransmits:      ended.retransmits, Timeouts: ended.timeouts,
		SegmentedSends: c.segmentedSends.Load(),
		CoalescedReads: c.coalescedReads.Load(),
	}
	for _, conn := range live {
		cs := conn.Stats()
		st.Retransmits += cs.Retransmits
		st.Timeouts += cs.Timeouts
	}
	return st
}

// endedCounters are the per-connection counters of the connections that
// have left the Socket, summed; guarded by Socket.mu.
type endedCounters struct {
	retransmits, timeouts uint64
}

// add adds an ended connection's counters.
func (e *endedCounters) add(st Stats) {
	e.retransmits += st.Retransmits
	e.timeouts += st.Timeouts
}

// connCounters returns the connections in the table, the TIME-WAIT
// records, and the counters of the connections that have left the
// table, taken together under s.mu: forget and retire move a
// connection's counters to endedSums under the same lock as it leaves
// the table, so each connection is summed once, live or ended.
func (s *Socket) connCounters() (live []*Conn, waiting int, ended endedCounters) {
	s.mu.Lock()
	defer s.mu.Unlock()
	live = make([]*Conn, 0, len(s.conns))
	for _, c := range s.conns {
		live = append(live, c)
	}
	return live, len(s.waiting), s.endedSums
}

// Stats counts what one connection did and holds its estimates of the
// path, as Conn.Stats returns them. After the connection ended they stay
// as they were at its end.
type Stats struct {
	BytesWritten  uint64 // accepted by Write
	BytesSent     uint64 // payload bytes transmitted, retransmissions included
	BytesReceived uint64 // payload bytes accepted in order
	BytesRead     uint64 // returned by Read
	// BytesInPlace counts the bytes of BytesRead that were read from the
	// network straight into the buffer of a waiting Read, with no copy
	// in user space (one datagram at a time, in order: loopback's large
	// packets).
	BytesInPlace uint64

	PacketsSent      uint64 // uTP datagrams sent
	PacketsReceived  uint64 // uTP datagrams received for this connection
	PacketsMalformed uint64 // failed to parse
	PacketsIgnored   uint64 // well-formed but not acceptable (a stray ack_nr, past the FIN, ...)
	Duplicates       uint64 // data packets received twice
	DroppedNoRoom    uint64 // data dropped because the receive buffer was full
	ResetsChallenged uint64 // RESETs that did not match exactly, answered with a challenge
	// ReceivedLate counts packets that arrived after one the peer sent
	// later (their timestamps say so): the path, or the IO layer,
	// reordered them. LateWorst is the most one lagged: how much later
	// the newest packet received before it had been sent.
	ReceivedLate uint64
	LateWorst    time.Duration

	Retransmits     uint64 // packets sent again
	FastRetransmits uint64 // packets declared lost by duplicate ACKs, selective ACKs or time
	// Recoveries counts loss-recovery episodes: each reduced the window
	// once. SpuriousRecoveries counts those undone because every packet
	// they declared lost was delivered after all.
	Recoveries         uint64
	SpuriousRecoveries uint64
	Timeouts           uint64 // retransmission timer expiries
	// SpuriousTimeouts counts series of timeouts undone because the ACK
	// that followed showed nothing had been lost (docs/protocol.md).
	SpuriousTimeouts uint64
	// DeferredTimeouts counts retransmission timers that fired so late
	// that the process had not run, put off once so that the ACKs
	// waiting in the socket could be read first (docs/protocol.md).
	DeferredTimeouts uint64
	// DuplicateEchoes counts ACKs that showed the original of a packet
	// reached the peer after its retransmission had (docs/protocol.md).
	DuplicateEchoes uint64
	// TailProbes counts tail loss probes: a packet sent when no ACK came
	// for two round trips, so that a lost tail is repaired by fast
	// recovery rather than by a timeout (RFC 8985 section 7).
	TailProbes   uint64
	Probes       uint64 // zero-window probes
	DelaySamples uint64 // ACKs that fed the congestion controller

	PathProbes     uint64 // path MTU probes sent (padded, empty DATA)
	PathProbesLost uint64 // ... declared lost (never counted as congestion)
	PathBlackHoles uint64 // falls back to the base size: timeouts or EMSGSIZE
	Repacketized   uint64 // ... after which outstanding data was sent again in smaller packets
	// FragmentedResends counts retransmissions of packets too large for a
	// path that shrank, which the peer could not do without (it holds
	// data beyond them), sent again with fragmentation allowed.
	FragmentedResends uint64

	RTT          time.Duration // smoothed round-trip time
	MinRTT       time.Duration // smallest round-trip sample: the path without this connection's queue
	RTTVar       time.Duration // round-trip time variation (RFC 6298)
	RTO          time.Duration // retransmission timeout now
	Window       int           // congestion window, bytes
	PeerWindow   int           // the peer's advertised window, bytes
	InFlight     int           // bytes sent and not yet acknowledged
	QueuingDelay time.Duration // the congestion controller's latest estimate of the queue we cause
	SlowStart    bool          // the congestion controller is in slow start

	// PacketSize is the payload of a full DATA packet: within what the
	// peer reads whole, what the path carries and the configured ceiling
	// (docs/protocol.md).
	PacketSize int
	// PeerMaxDatagram is the largest datagram the peer said, in the
	// handshake, that it reads whole; 0 when it said nothing.
	PeerMaxDatagram int
	// PathMTU is the largest datagram (UDP payload) path MTU discovery
	// confirmed the path carries; 0 when discovery is off.
	PathMTU int

	// What held the sender back, in total, between its steps (as Linux's
	// tcp_info chrono counters): when a flow moves less than its window
	// allows, these tell which limit it met. AppLimited: nothing waited
	// to be sent. PacingLimited: the pacer held data back. WindowLimited:
	// the congestion window was full. PeerLimited: the peer's advertised
	// window was full.
	AppLimited, PacingLimited, WindowLimited, PeerLimited time.Duration
}

// Stats returns the connection's counters and estimates: bytes and
// packets each way, retransmissions, timeouts, RTT, windows, queuing delay.
func (c *Conn) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	if isClosed(c.closed) {
		return Stats(c.stats)
	}
	// The state machine's counters have the same fields: a conversion,
	// which stops compiling if the two ever differ.
	return Stats(c.m.Stats())
}
