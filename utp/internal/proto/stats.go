package proto

import "time"

// Stats counts what a connection did. It is a plain value; Conn.Stats
// returns a copy.
type Stats struct {
	BytesWritten  uint64 // accepted by Write
	BytesSent     uint64 // payload bytes transmitted, retransmissions included
	BytesReceived uint64 // payload bytes accepted in order
	BytesRead     uint64 // returned by Read
	// BytesInPlace counts the bytes of BytesRead that the IO layer read
	// from the network straight into a waiting Read's buffer (PostTail),
	// so that no copy in user space moved them.
	BytesInPlace uint64

	PacketsSent      uint64
	PacketsReceived  uint64
	PacketsMalformed uint64 // failed to parse
	PacketsIgnored   uint64 // well-formed but not acceptable (stray ack_nr, past FIN, ...)
	Duplicates       uint64 // data packets received twice
	DroppedNoRoom    uint64 // data dropped because the receive buffer was full
	ResetsChallenged uint64 // RESETs that did not match exactly, answered with a challenge (accept.go)
	// ReceivedLate counts packets that arrived after one the peer sent
	// later (their timestamps say so): the path, or the IO layer,
	// reordered them. LateWorst is the most one lagged: how much later
	// the newest packet received before it had been sent.
	ReceivedLate uint64
	LateWorst    time.Duration

	Retransmits     uint64 // packets sent again
	FastRetransmits uint64 // packets declared lost by duplicate ACKs, SACK or time (RACK)
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
	// DuplicateEchoes counts ACKs that echoed the first send of a packet
	// whose retransmission had been acknowledged: the original arrived
	// too, late (dupecho.go).
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
	Repacketized   uint64 // ... after which outstanding data was re-sent in smaller packets
	// FragmentedResends counts retransmissions of stranded packets, too
	// large for the shrunken path and held back by data the peer holds
	// beyond them, that went out fragmentable (fragment.go).
	FragmentedResends uint64

	RTT          time.Duration // smoothed round-trip time
	MinRTT       time.Duration // smallest round-trip sample: the path without this connection's queue
	RTTVar       time.Duration
	RTO          time.Duration
	Window       int           // congestion window, bytes
	PeerWindow   int           // the peer's advertised window, bytes
	InFlight     int           // bytes in flight
	QueuingDelay time.Duration // the controller's latest estimate
	SlowStart    bool

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

// Stats returns a snapshot of the connection's counters and estimates.
func (c *Conn) Stats() Stats {
	s := c.stats
	s.RTT = c.rtt.SRTT()
	s.RTTVar = c.rtt.RTTVar()
	s.MinRTT = c.rtt.MinRTT()
	s.RTO = c.rto()
	s.Window = c.ctrl.Window()
	s.PeerWindow = c.snd.peerWnd
	s.InFlight = c.snd.flight
	s.QueuingDelay = c.ctrl.QueuingDelay()
	s.SlowStart = c.ctrl.InSlowStart()
	s.PacketSize = c.maxPayload()
	s.PeerMaxDatagram = c.size.peerMax
	s.PathMTU = c.PathMTU()
	return s
}
