package utp

import (
	"context"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/packetio"
)

// A SocketOption configures a Socket. Each documents its default.
type SocketOption func(*socketConfig)

type socketConfig struct {
	background  context.Context
	backlog     int
	unproven    int
	earlyAccept bool
	dialIDs     int // tests: dialers draw ids below this (0: all 65,536)
	// tests: wraps the endpoint, to stand in for a kernel's buffer
	endpoint     func(packetio.Conn) packetio.Conn
	packetSize   int
	maxDatagram  int
	sendBuffer   int
	recvBuffer   int
	linger       time.Duration
	nonUTPQueue  int
	resetsPerSec int
	noDelay      bool
	udpBuffer    int
	udpBufferMax int // the most the receive buffer is raised to (rcvbuf.go)
	congestion   CongestionControl
	noYield      bool
}

func defaultConfig() socketConfig {
	return socketConfig{
		background:   context.Background(),
		backlog:      128,
		unproven:     1024,
		sendBuffer:   32 << 20,
		recvBuffer:   32 << 20,
		linger:       30 * time.Second,
		nonUTPQueue:  256,
		resetsPerSec: 100,
		udpBuffer:    8 << 20,
		udpBufferMax: 64 << 20,
	}
}

// WithBackground sets the context that carries the Socket's logger and
// telemetry collector, as github.com/brendoncarroll/stdctx's logctx and
// telctx packages define. Default context.Background(): nothing is logged
// or counted outside Stats. The context's cancellation is not used.
//
// Connections opening and closing are logged at Debug; failures of the
// Socket itself (its PacketConn closed under it, or failing) at Warn.
//
// Drops, refusals, RESETs to unknown connections and send failures reach
// the collector as they happen: utp/malformed, utp/nonutp_dropped,
// utp/syns_refused, utp/syns_evicted, utp/revived, utp/unprovable,
// utp/resets_sent,
// utp/resets_suppressed and utp/send_errors, each the SocketStats field
// of that name. A
// connection's traffic (utp/packets_sent, utp/packets_received,
// utp/bytes_sent, utp/bytes_received, utp/retransmits, utp/timeouts,
// utp/drops) is counted when it ends, beside utp/conns_dialed,
// utp/conns_accepted and utp/conns_closed, so that no packet pays for a
// collector call.
func WithBackground(ctx context.Context) SocketOption {
	return func(c *socketConfig) { c.background = ctx }
}

// WithBacklog bounds the connections whose dialer has proven its address
// but that Accept has not returned yet. While it is full, new SYNs are
// refused with RESET (within WithResetRate). Default 128.
func WithBacklog(n int) SocketOption {
	return func(c *socketConfig) { c.backlog = max(1, n) }
}

// WithUnprovenLimit bounds the connections whose SYN was answered but
// whose dialer has not yet proven its address (a packet from it that
// acknowledges our reply): a forged SYN's connection stays that way, and
// Accept returns only proven connections. When the limit is reached, a
// new SYN displaces the oldest such connection, silently, once it is
// older than a second, keeping only a small record of it (32 per
// connection of the limit) from which the connection is rebuilt if its
// dialer's proof comes after all; while all are younger, the new SYN is
// answered without a connection and kept only as such a record. Unproven
// connections also expire after 10 s. Default 1024, which bounds the
// memory of handshakes in progress to a few MiB however fast SYNs arrive
// (docs/security.md).
func WithUnprovenLimit(n int) SocketOption {
	return func(c *socketConfig) { c.unproven = max(1, n) }
}

// WithEarlyAccept makes Accept return a connection as soon as its SYN is
// answered, before its dialer has proven its address, as libutp does and
// as this package did before; what the server writes still waits for the
// proof. It gives up a defence: a SYN with a forged source then reaches
// the application, as a connection that ends (net.ErrClosed on Read)
// when it is shed from the bounded unproven list (WithUnprovenLimit) or
// its proof never comes. Default off.
func WithEarlyAccept() SocketOption {
	return func(c *socketConfig) { c.earlyAccept = true }
}

// WithPacketSize sets the payload of every full uTP packet, in bytes, to
// every peer: it is the caller's promise that the peer reads such packets
// whole. Without it, packets are sized per connection: never larger than
// the peer reads (1,500-byte datagrams, what every uTP implementation
// reads whole, unless the peer advertised more in the handshake, as this
// package does) nor than the path carries (over UDP on Linux, path MTU
// discovery finds it, docs/protocol.md; elsewhere 1400 bytes of payload,
// or 65,000 on loopback) nor than WithMaxDatagram. Path MTU discovery
// still shrinks a size given here to what the path carries. Most
// implementations silently truncate a longer datagram, which corrupts the
// stream: libtorrent reads 1,500 bytes, Transmission 4,095, anacrolix/utp
// and github.com/inet256/go-utp 8 KiB (docs/interop.md). At most 65,453,
// so that a packet with its headers fits one UDP datagram; a larger n is
// taken as that.
func WithPacketSize(n int) SocketOption {
	return func(c *socketConfig) { c.packetSize = min(n, maxPacketSize) }
}

// maxPacketSize is the largest payload that, with the uTP header (20
// bytes) and the largest SACK extension we send (2 + 32 bytes), fits the
// largest UDP payload over IPv4: 65,535 less the IP and UDP headers
// (20 + 8), 65,507 bytes. It also keeps every datagram within the
// Socket's packet buffers (maxDatagram).
const maxPacketSize = 65507 - maxOverhead

// maxOverhead is the most a DATA packet adds to its payload: the uTP
// header and the largest selective ACK we send.
const maxOverhead = 20 + (2 + 32)

// WithMaxDatagram tells the Socket that its PacketConn carries datagrams
// of up to n bytes both ways: ReadFrom returns them whole and WriteTo
// sends them to every address. The Socket then advertises n in every
// handshake, so that a peer that speaks this package's extension may send
// datagrams that long, and sends datagrams of up to n bytes to a peer that
// advertised as much (docs/protocol.md, "Datagram size"). Without it, a
// Socket over UDP advertises 65,535 bytes (it reads any UDP datagram) and
// keeps to 1400 bytes of payload, or 65,000 on loopback; over another
// PacketConn it advertises nothing, since the PacketConn may truncate, and
// keeps to 1400. The INET256 adapter sets it for its PacketConn. n is
// taken within [576, 65,535]: every host reads a 576-byte datagram (RFC
// 1122), and UDP's length field stops at 65,535. n ≤ 0 restores the
// default.
func WithMaxDatagram(n int) SocketOption {
	return func(c *socketConfig) {
		if n <= 0 {
			c.maxDatagram = 0
			return
		}
		c.maxDatagram = min(max(n, minMaxDatagram), maxRecvDatagram)
	}
}

// minMaxDatagram is the least WithMaxDatagram takes: what the protocol
// core reads a smaller advertisement as (proto's minPeerDatagram).
const minMaxDatagram = 576

// WithSendBuffer bounds the bytes written to a Conn but not yet
// acknowledged: within it a Conn buffers about twice what its window lets
// into flight, and the window never exceeds it. Default 32 MiB, what a
// 1 Gbit/s path with a 200 ms round trip needs. On a path whose round
// trip without queue is under 2 ms (loopback, a LAN) a Conn buffers at
// most what the round trip carries at 16 Gbit/s, a power of two from
// 1 MiB (under 0.5 ms) to 4 MiB, whatever this allows: a larger window there only
// queues in the kernel's buffers, and cost bulk transfers up to twice the
// CPU per byte (docs/performance.md). Memory is taken as data waits, not
// up front.
func WithSendBuffer(n int) SocketOption {
	return func(c *socketConfig) { c.sendBuffer = n }
}

// WithRecvBuffer bounds the bytes received on a Conn but not yet read;
// the free part is the window advertised to the peer. Default 32 MiB: a
// Conn's buffer starts at 4 MiB and doubles toward this while a whole
// buffer arrives within two round trips and its reader keeps up, so that
// it follows the path; memory is taken only as data waits to be read.
func WithRecvBuffer(n int) SocketOption {
	return func(c *socketConfig) { c.recvBuffer = n }
}

// WithLinger bounds how long a closed Conn keeps delivering what was
// written, and its FIN, in the background. Past it the connection is
// reset. Default 30 s; 0 resets at once.
func WithLinger(d time.Duration) SocketOption {
	return func(c *socketConfig) { c.linger = max(0, d) }
}

// WithNonUTPQueue bounds the queue of datagrams that are not uTP, read
// with Socket.ReadFrom. When it is full further ones are dropped and
// counted in Stats. Default 256 datagrams.
func WithNonUTPQueue(n int) SocketOption {
	return func(c *socketConfig) { c.nonUTPQueue = max(1, n) }
}

// WithResetRate bounds the RESETs sent in answer to packets for unknown
// connections, per second. Default 100.
func WithResetRate(perSecond int) SocketOption {
	return func(c *socketConfig) { c.resetsPerSec = max(1, perSecond) }
}

// WithNoDelay disables the coalescing of small writes while data is in
// flight (Nagle): every Write leaves at once, as with Go's net.TCPConn,
// which has it on by default. Default off: small writes coalesce, which
// keeps a stream of small writes in full packets, until the application
// waits for the peer. A Read about to wait sends what was written, and
// a Write made while another goroutine's Read waits leaves at once
// behind at most one packet in flight, so a message written in two
// Writes and then answered (header, body, read the reply) does not wait
// for the peer's delayed ACK. Otherwise a held tail leaves once no Write
// has come for a push delay (a quarter of the round trip, 50 µs to
// 1 ms), so a writer that waits by other means waits at most that long.
// Turn this on where even that delay matters.
func WithNoDelay(on bool) SocketOption {
	return func(c *socketConfig) { c.noDelay = on }
}

// WithUDPBuffer sets the kernel receive and send buffer sizes requested
// for a UDP socket. Linux's default of 208 KiB drops bursts on loopback.
// Default 8 MiB, and the receive buffer is raised, up to 64 MiB, while a
// connection on a long fat path needs a window larger than its share of
// it (a window of 32 MiB in Ethernet-sized packets is charged about 51
// MiB), or to 64 MiB once many connections receive on the Socket at once
// (see Limitations); with this option the size stays n. The kernel may
// grant less (see Limitations).
func WithUDPBuffer(n int) SocketOption {
	return func(c *socketConfig) { c.udpBuffer, c.udpBufferMax = n, n }
}
