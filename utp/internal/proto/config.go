package proto

import (
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/cc"
	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// Config holds the per-connection parameters. The zero value of every field
// means its documented default.
type Config struct {
	// PacketSize is the largest payload of one DATA packet, in bytes: the
	// ceiling of what the path and the IO layer carry. Packets are also
	// kept within what the peer reads whole (CommonDatagram, or what it
	// advertised; size.go) unless PacketSizeOverride. Default 1400: a
	// 1500-byte Ethernet MTU less IPv6 (40), UDP (8), the uTP header (20)
	// and a 32-byte SACK extension (34) with some slack.
	PacketSize int
	// PacketSizeOverride makes PacketSize the user's promise that the peer
	// reads such packets whole: what the peer advertised, or failing that
	// CommonDatagram, no longer limits them.
	PacketSizeOverride bool
	// MaxRecvDatagram is the largest datagram this endpoint reads whole.
	// Our SYN advertises it, and so does our reply to a SYN that
	// advertised a size; the peer may then send datagrams up to it.
	// Default 0: nothing is advertised and the peer keeps to
	// CommonDatagram.
	MaxRecvDatagram int
	// SendBufferSize bounds bytes written but not yet acknowledged.
	// Within it, Write buffers about twice what the window lets into
	// flight, so the buffer follows the path (sendLimit); on a path whose
	// round trip is under 2 ms, at most 1 to 4 MiB with the round trip
	// (shortPathSendLimit).
	// Default 32 MiB (defaultBufferSize). Memory is taken as data waits,
	// not up front, and given back when the connection is idle
	// (buffers.go).
	SendBufferSize int
	// RecvBufferSize caps the receive buffer: bytes received but not yet
	// read, including out-of-order data; the free part is advertised as
	// wnd_size. The buffer starts at 4 MiB (or this cap, if lower) and
	// doubles up to the cap while a whole buffer arrives within two round
	// trips and the reader keeps up (autotune.go), so it grows to about
	// the path's bandwidth-delay product plus the sender's delay target,
	// and goes back to the start when the connection idles. The packet that fills
	// a hole is always taken if the in-order buffer has room, so the total
	// may exceed the buffer by one packet. Default 32 MiB, as
	// SendBufferSize; memory is taken only as data waits to be read (a
	// reader that keeps up holds little).
	RecvBufferSize int
	// MaxSACKBytes bounds the selective-ACK bitmask we send (a multiple of
	// 4, at most 252). Default 252, the most the length byte allows in
	// multiples of 4: 2,016 packets past a hole. A bare ACK carries up to
	// this; a packet with payload at most 32 bytes of it (256 packets), so
	// that it stays within the MTU PacketSize was chosen for. libutp and
	// libtorrent read bitmasks of any length (docs/interop.md).
	MaxSACKBytes int
	// MaxReorder bounds how far past ack_nr a packet may be and still be
	// buffered: sequence numbers up to ack_nr+MaxReorder−1 are held while
	// the receive buffer has room for them. Default 28672, near half the
	// sequence space (the most that compares correctly), so that what is
	// held is bounded by the window we advertise rather than by a packet
	// count. libutp's REORDER_BUFFER_MAX_SIZE is 1024; a receiver that
	// drops what arrives past such a bound, although its window let the
	// sender send it, turns one loss into hundreds at a large window.
	MaxReorder int
	// AckDelay bounds how long an acknowledgement may be held to coalesce
	// it with the next one. Default 10 ms. Every second full packet, any
	// out-of-order or duplicate packet and a FIN are acknowledged at once.
	AckDelay time.Duration
	// Keepalive is the idle interval after which a keepalive STATE is sent.
	// Default 29 s, libutp's KEEPALIVE_INTERVAL, measured on home NATs.
	Keepalive time.Duration
	// IdleTimeout ends a connection from which nothing has been received
	// for this long. Default 90 s (three keepalive intervals); negative
	// disables it.
	IdleTimeout time.Duration
	// MaxTimeouts is how many consecutive retransmission timeouts an
	// established connection retries; the next one ends it with
	// ErrTimedOut (libutp counts the same way). Default 16. With the
	// backoff stopping at RTT.MaxBackoff (default 4 s) a peer that vanishes
	// is given up within 16 × max(4 s, RTO) (about 50 s on a short path),
	// while a live path losing 20% each way survives: 16 failed round
	// trips in a row happen with odds of 0.36^16 ≈ 1e-7. libutp gives up
	// after 4 timeouts, which such a path hits within minutes.
	MaxTimeouts int
	// SynRetries is how many times a SYN is retransmitted before the dial
	// fails with ErrTimedOut. Default 10: SYNs at 0, 1, 3, 7, 11, ... 35 s
	// (1 s initial RTO, RFC 6298 2.1, doubled up to 4 s), failure at 39 s.
	SynRetries int
	// TimeWait is how long a finished connection whose final ACK the peer
	// may have missed keeps answering its retransmissions. Default four
	// times the larger of RTT.MaxBackoff and the RTO (16 s on most paths):
	// the peer's retransmission timer backs off to at most that, so the
	// wait spans four of its attempts. TCP waits 2*MSL (RFC 9293 3.4.2),
	// usually a minute, because its backoff is unbounded.
	TimeWait time.Duration
	// ProofTimeout ends, silently, an accepted connection whose dialer
	// has not proven its address (by echoing our initial sequence number)
	// this long after its latest SYN: it may answer a spoofed SYN.
	// Default 10 s: a dialer resends its SYN, and its confirming DATA, at
	// most 4 s apart (the backoff cap), so a genuine dialer gets at least
	// two more attempts through before it is given up.
	ProofTimeout time.Duration
	// NoDelay disables coalescing of small writes (Nagle, nagle.go).
	NoDelay bool
	// NoPacing sends whatever the window allows at once instead of
	// spreading it over the round trip (pacing.go). For tests that script
	// bursts packet by packet.
	NoPacing bool
	// NoTailProbe turns off tail loss probes (tlp.go): a lost tail then
	// waits for the retransmission timeout. For tests that script the
	// timeout itself, and for comparisons.
	NoTailProbe bool
	// RTT configures the RFC 6298 estimator. Its MaxBackoff defaults to
	// 4 s here (see MaxTimeouts).
	RTT cc.RTTConfig
	// PathBase enables path MTU discovery (pmtu.go, RFC 8899): the
	// datagram size, in UDP payload bytes with the uTP header, that every
	// path is assumed to carry (BASE_PLPMTU). Packets start at this size,
	// within PacketSize, and grow as probes confirm larger ones. Zero
	// disables discovery: PacketSize alone bounds packets.
	PathBase int
	// PathFloor is the smallest datagram discovery falls back to when
	// the base itself stops passing (RFC 8899's MIN_PLPMTU, section
	// 5.1.2): a path narrower than PathBase then still carries data,
	// found by searching between the two. Default PathBase, which suits
	// IPv6, where every link carries 1,280 bytes (RFC 8200 section 5);
	// an IPv4 path may be as narrow as 576 (RFC 791).
	PathFloor int
	// PathCeiling is the largest datagram the IO layer can send at all
	// (the local link's MTU less IP and UDP headers); probes stay at or
	// below it. Default 65,507, the largest UDP payload.
	PathCeiling int
	// PathStart is a size already confirmed toward this peer (a cache of
	// an earlier connection's result); discovery starts there. Default
	// PathBase.
	PathStart int
	// PathOverhead is the IP and UDP header size (28 for IPv4, 48 for
	// IPv6), to turn the common link MTUs that are tried first into
	// datagram sizes.
	PathOverhead int
	// FragmentPad, when set, is the least datagram size at which the IO
	// layer's kernel fragments a datagram it may fragment: IPv6 sources
	// fragment only datagrams larger than the route's MTU (fragment.go).
	// A stranded packet resent fragmentable is padded to it when the peer
	// reads that much. Zero: routers fragment (IPv4), no padding.
	FragmentPad int
	// NewController builds the congestion controller. Default LEDBAT++
	// (cc.LEDBATPP) with its defaults and MSS = PacketSize + header.
	NewController func(now time.Time, mss int) cc.Controller
	// NoYield turns off receiver-side yielding (rledbat.go): the window
	// we advertise is then the free receive buffer alone.
	NoYield bool
	// TimestampOffset is added to every timestamp_microseconds we send,
	// and to our send times wherever an echo of them is compared, so that
	// our packets do not show our clock. BEP 29 leaves the timestamps'
	// origin free and peers use only differences of them (libutp's and
	// libtorrent's delay measurements keep a base delay, which absorbs a
	// constant); TCP draws a random offset per connection for its
	// timestamps for the same reason (RFC 7323 7.1). It must stay the same
	// for the whole connection: a step reads as a change of delay. The IO
	// layer draws it per connection; default 0.
	TimestampOffset uint32
}

// defaultBufferSize is the default cap of the send and receive buffers:
// Linux's TCP autotuning ceiling as tuned for long fat paths
// (net.ipv4.tcp_rmem and tcp_wmem maxima of 32 MiB; the kernel's own
// default is 6 MiB). A 1 Gbit/s path with a 200 ms round trip and
// LEDBAT++'s 60 ms of queue needs 32.5 MB in flight. Both buffers grow
// to it only as the path asks (sendLimit, autotune.go).
const defaultBufferSize = 32 << 20

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.PacketSize, 1400)
	def(&c.SendBufferSize, defaultBufferSize)
	def(&c.RecvBufferSize, defaultBufferSize)
	def(&c.MaxSACKBytes, wire.MaxSACKLen)
	def(&c.MaxReorder, maxOutPackets)
	def(&c.MaxTimeouts, 16)
	def(&c.SynRetries, 10)
	if c.RTT.MaxBackoff <= 0 {
		c.RTT.MaxBackoff = 4 * time.Second
	}
	c.MaxSACKBytes = min((c.MaxSACKBytes+3)&^3, wire.MaxSACKLen)
	// Sequence numbers compare correctly only within half their space.
	c.MaxReorder = min(c.MaxReorder, maxOutPackets)
	c.RecvBufferSize = max(c.RecvBufferSize, c.PacketSize)
	c.SendBufferSize = max(c.SendBufferSize, c.PacketSize)
	if c.AckDelay <= 0 {
		c.AckDelay = 10 * time.Millisecond
	}
	if c.ProofTimeout <= 0 {
		c.ProofTimeout = 10 * time.Second
	}
	if c.Keepalive <= 0 {
		c.Keepalive = 29 * time.Second
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 90 * time.Second
	}
	if c.NewController == nil {
		c.NewController = func(now time.Time, mss int) cc.Controller {
			return cc.NewLEDBATPP(now, cc.LEDBATPPConfig{MSS: mss})
		}
	}
	return c
}
