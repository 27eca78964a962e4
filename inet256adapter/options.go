package inet256adapter

import (
	"time"

	"github.com/inet256/go-utp/v2/utp"
)

// Defaults for the options below.
const (
	// MaxMessage is the largest message the reference daemon delivers:
	// 65,449 bytes, measured through github.com/inet256/inet256 at
	// v0.0.8-0.20230603164405-67b6a7a91980, although inet256.MTU says
	// 65,535 (above that its client panics). It is the default of
	// WithMaxMessage.
	MaxMessage = 65449
	// DefaultPacketSize is the uTP payload per message between two
	// Sockets of this package (and of github.com/inet256/go-utp/v2/utp
	// peers that advertise as much), unless WithMaxMessage leaves less
	// room. Cost through a daemon is per message, so large packets carry
	// more per unit of cost: measured on loopback, goodput rises with
	// packet size up to about 48 KiB and is flat from there to 60 KiB,
	// lower at 65,000 bytes (docs/inet256.md). Toward a peer that does not
	// advertise what it reads (the v0 library, for one), packets keep to
	// 1,500-byte messages, which every uTP implementation reads whole.
	DefaultPacketSize = 60 << 10
	// DefaultWindow is the default of WithWindow: the daemon queues about 8
	// messages per node and drops the rest, so a connection with more
	// packets unacknowledged loses some in every burst (measured:
	// one-daemon goodput rose from about 60% to about 80% of the raw
	// message rate with this bound, see docs/inet256.md).
	DefaultWindow = 8
	// maxOverhead is the uTP header (20 bytes) plus the largest selective
	// ACK extension a Socket sends (34).
	maxOverhead = 20 + 34
	// DefaultReceiveQueue is the default of WithReceiveQueue.
	DefaultReceiveQueue = 64
	// DefaultLookupTimeout is the default of WithLookupTimeout.
	DefaultLookupTimeout = 5 * time.Second
	// DefaultProbeInterval is the default of WithProbeInterval.
	DefaultProbeInterval = time.Second
)

// lookupWait bounds how long WriteTo waits for a lookup under way (see
// awaitPeer). A daemon answers for a peer it can route within a few
// milliseconds (measured on loopback), and uTP's first retransmission
// comes 1 s after a SYN.
const lookupWait = 250 * time.Millisecond

// negativeTTL is how long a failed lookup is remembered: writes to the peer
// fail at once meanwhile, instead of each waiting for another lookup. It is
// short so that a peer that joins the network is found soon after.
const negativeTTL = 2 * time.Second

// An Option configures a PacketConn, and for NewSocket, Listen and Dial
// also the utp.Socket over it.
type Option func(*config)

type config struct {
	window        int
	maxMessage    int
	receiveQueue  int
	lookupTimeout time.Duration
	probeInterval time.Duration
	socketOpts    []utp.SocketOption
}

func newConfig(opts []Option) config {
	c := config{
		window:        DefaultWindow,
		maxMessage:    MaxMessage,
		receiveQueue:  DefaultReceiveQueue,
		lookupTimeout: DefaultLookupTimeout,
		probeInterval: DefaultProbeInterval,
	}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// packetSize is the uTP payload per message: DefaultPacketSize, or what
// fits in the largest message with uTP's header.
func (c config) packetSize() int {
	return max(1, min(DefaultPacketSize, c.maxMessage-maxOverhead))
}

// socketOptions are the options of a Socket over a PacketConn with this
// configuration: the adapter's, then the caller's. The Socket advertises,
// and sends at most, a message of the packet size with its headers: every
// message the daemon delivers is read whole, but a smaller advertisement
// keeps a peer of this package at the measured best size.
func (c config) socketOptions() []utp.SocketOption {
	return append([]utp.SocketOption{
		utp.WithMaxDatagram(c.packetSize() + maxOverhead),
		utp.WithSendBuffer(c.window * c.packetSize()),
	}, c.socketOpts...)
}

// WithWindow bounds how many packets a connection keeps unacknowledged,
// by giving its Socket a send buffer of n packets (utp.WithSendBuffer).
// Default DefaultWindow (8), the daemon's queue. A path with a long round
// trip may need more: a connection moves at most n packets per round trip.
func WithWindow(n int) Option {
	return func(c *config) { c.window = max(1, n) }
}

// WithMaxMessage sets the largest message WriteTo sends; a longer one fails
// with an *MTUError. Default MaxMessage (65,449 bytes), what the reference
// daemon delivers; values above inet256.MTU are lowered to it. It is the
// adapter's one size setting: the uTP packets of NewSocket, Listen and
// Dial carry DefaultPacketSize bytes of payload, or less so that a packet
// with its headers fits one message. Their Sockets need messages of at
// least 576 bytes (utp.WithMaxDatagram).
func WithMaxMessage(n int) Option {
	return func(c *config) { c.maxMessage = min(max(1, n), inetMTU) }
}

// WithReceiveQueue bounds the messages received but not yet returned by
// ReadFrom. When it is full, new messages are dropped and counted in
// Stats.Dropped rather than left in the node: the reference daemon hands
// messages to its nodes through blocking hubs, so a node that is not
// drained stalls the daemon for its other nodes too (docs/inet256.md).
// Default 64.
func WithReceiveQueue(n int) Option {
	return func(c *config) { c.receiveQueue = max(1, n) }
}

// WithLookupTimeout bounds the public-key lookup that precedes the first
// message to a peer. A peer not found within it is unreachable: WriteTo
// fails with an *UnreachableError. Default 5 s.
func WithLookupTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.lookupTimeout = d
		}
	}
}

// WithProbeInterval sets how often the PacketConn checks that the daemon
// still serves its node. A daemon-backed node whose daemon died, that was
// closed underneath the PacketConn, or that the daemon stopped serving
// under load, reports nothing on Receive; the PacketConn learns of it from
// a failed lookup of its own key, or from hearing nothing, not even a
// message it sends itself when idle, for five intervals. The node then
// fails (ErrNodeFailed). Default 1 s; 0 disables the probe.
func WithProbeInterval(d time.Duration) Option {
	return func(c *config) { c.probeInterval = max(0, d) }
}

// WithSocketOptions passes options to the utp.Socket made by NewSocket,
// Listen and Dial. They are applied after the adapter's own (the largest
// datagram and the send buffer, from WithMaxMessage and WithWindow), so
// they override them. A utp.WithPacketSize is a promise that every peer
// reads such packets: a peer that reads less gets a corrupted stream, and
// one above the largest message less 54 bytes makes full packets fail to
// send. Prefer WithMaxMessage, which also sizes the window.
func WithSocketOptions(opts ...utp.SocketOption) Option {
	return func(c *config) { c.socketOpts = append(c.socketOpts, opts...) }
}
