package utp

import "net"

// Packet sizes. A connection's DATA payload is the smallest of what the
// peer reads whole (what it advertised in the handshake, else 1,500-byte
// datagrams, proto.CommonDatagram), of what this Socket's PacketConn
// carries to that address (packetCeiling), and of WithPacketSize's value,
// which, given, also replaces the first: it is the user's promise about
// the peer.

// loopbackPacketSize is the payload ceiling toward a UDP loopback address,
// where a datagram may be 64 KiB: below maxPacketSize so that the packet
// keeps room for a 252-byte SACK.
const loopbackPacketSize = 65000

// defaultPacketSize is the payload ceiling toward any other address: a
// 1500-byte Ethernet MTU less IPv6 (40), UDP (8), the uTP header (20) and a
// 32-byte selective ACK with its prefix (34), with some slack.
const defaultPacketSize = 1400

// maxRecvDatagram bounds what a Socket advertises that it reads: UDP's
// length field stops at 65,535, and every packet buffer is larger
// (maxDatagram).
const maxRecvDatagram = 65535

// packetSize is the ceiling of a connection's payload toward raddr:
// WithPacketSize if given; else what the PacketConn carries. discovery
// says path MTU discovery sizes the connection's packets.
func (s *Socket) packetSize(raddr net.Addr, discovery bool) int {
	if s.cfg.packetSize > 0 {
		return s.cfg.packetSize
	}
	return s.packetCeiling(raddr, discovery)
}

// packetCeiling is the largest payload the PacketConn carries to raddr:
// WithMaxDatagram less the largest header we write, if given; with path
// MTU discovery the largest a datagram holds (the path decides, within
// what the peer reads); else a whole 64 KiB datagram on UDP loopback,
// 1400 bytes elsewhere.
func (s *Socket) packetCeiling(raddr net.Addr, discovery bool) int {
	if s.cfg.maxDatagram > 0 {
		return s.cfg.maxDatagram - maxOverhead
	}
	if discovery {
		return maxPacketSize
	}
	if u, ok := raddr.(*net.UDPAddr); ok && s.pio.Caps().UDP && u.IP.IsLoopback() {
		return loopbackPacketSize
	}
	return defaultPacketSize
}

// recvDatagram is the largest datagram this Socket reads whole, which its
// handshakes advertise: WithMaxDatagram if given; over UDP every datagram
// (the packet buffers are longer than any); over another PacketConn 0,
// nothing advertised, since it may truncate what it delivers.
func (s *Socket) recvDatagram() int {
	switch {
	case s.cfg.maxDatagram > 0:
		return s.cfg.maxDatagram
	case s.pio.Caps().UDP:
		return maxRecvDatagram
	}
	return 0
}
