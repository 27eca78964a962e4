package utp

import "sync/atomic"

// SocketStats counts what a Socket did, across all its connections.
type SocketStats struct {
	Conns            int    // connections in the table now
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
	Revived          uint64 // shed handshakes whose dialer's proof came after all
	Unprovable       uint64 // packets for an unproven connection that cannot prove it: dropped
	ResetsSent       uint64 // RESETs sent for unknown connections
	ResetsSuppressed uint64 // ... not sent, over the rate limit
	Retransmits      uint64 // of connections that have ended
	Timeouts         uint64 // of connections that have ended

	// UDP offload (Linux): system calls that carried several datagrams.
	SegmentedSends uint64 // sends of several datagrams in one call (UDP_SEGMENT, or netsim batched)
	CoalescedReads uint64 // reads that returned several datagrams (UDP_GRO, or netsim coalesced)
}

type socketCounters struct {
	accepted, dialed, packetsIn, packetsOut, bytesIn, bytesOut atomic.Uint64
	sendErrors, malformed, nonUTP, nonUTPDropped, synsRefused  atomic.Uint64
	synsEvicted, revived, unprovable                           atomic.Uint64
	resetsSent, resetsSuppressed, retransmits, timeouts        atomic.Uint64
	segmentedSends, coalescedReads                             atomic.Uint64
}

// Stats returns a snapshot of the Socket's counters.
func (s *Socket) Stats() SocketStats {
	s.mu.Lock()
	n := len(s.conns)
	s.mu.Unlock()
	c := &s.stats
	return SocketStats{
		Conns: n, Accepted: c.accepted.Load(), Dialed: c.dialed.Load(),
		PacketsIn: c.packetsIn.Load(), PacketsOut: c.packetsOut.Load(),
		BytesIn: c.bytesIn.Load(), BytesOut: c.bytesOut.Load(),
		SendErrors: c.sendErrors.Load(), Malformed: c.malformed.Load(),
		NonUTP: c.nonUTP.Load(), NonUTPDropped: c.nonUTPDropped.Load(),
		SynsRefused: c.synsRefused.Load(), SynsEvicted: c.synsEvicted.Load(),
		Revived: c.revived.Load(), Unprovable: c.unprovable.Load(),
		ResetsSent:       c.resetsSent.Load(),
		ResetsSuppressed: c.resetsSuppressed.Load(),
		Retransmits:      c.retransmits.Load(), Timeouts: c.timeouts.Load(),
		SegmentedSends: c.segmentedSends.Load(),
		CoalescedReads: c.coalescedReads.Load(),
	}
}
