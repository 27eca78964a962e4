package cc

// Segmenter is implemented by controllers that choose the size of the
// packets they are sent with (LEDBATPP): a connection sends new data in
// packets of at most Segment bytes, header included, as well as within
// the path's and the peer's limits.
type Segmenter interface {
	// Segment returns the size of a full packet the window is counted
	// in now, header included; at most the MSS the controller was given.
	Segment() int
}

// DefaultSegmentPackets is the number of packets a small LEDBATPP window
// holds (LEDBATPPConfig.SegmentPackets). Of 6, 8 and 12, the one with
// which two flows share 1 Mbit/s paths best (docs/protocol.md).
const DefaultSegmentPackets = 8

// minSegment is the smallest packet size, header included, a small window
// is sent in: libutp's smallest size class, PACKET_SIZE_SMALL (utp.cpp;
// its optional dynamic packet size, DYNAMIC_PACKET_SIZE_ENABLED in
// utp_config.h, off by default, chose among 373, 723 and 1,400 bytes by
// the sending rate). Smaller packets would spend more of the link on
// headers (20 bytes of 373 is 5%) for little gain in granularity.
const minSegment = 373

// smallWindowPacket is the packet size, header included, that sets
// which windows are small: those that hold fewer than SegmentPackets
// packets of it (or of the MSS, if smaller). An Ethernet-sized datagram:
// what counts is how much of a slow bottleneck's queue one packet is, not
// the MSS, which on loopback or between INET256 nodes is 60 KiB or more
// and there costs per packet.
const smallWindowPacket = 1500

// segmentFor is the packet size for a window of w bytes: full (the MSS)
// unless the window is small (smallWindowPacket), else full halved
// until the window holds n packets of it, but not below minSegment (nor
// above full). n <= 0 keeps full.
func segmentFor(w float64, full, n int) int {
	if n <= 0 || w >= float64(n*min(full, smallWindowPacket)) {
		return full
	}
	seg := full
	for w < float64(n*seg) && seg > minSegment {
		seg = max(minSegment, seg/2)
	}
	return seg
}
