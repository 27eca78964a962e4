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
	// DefaultPacketSize is the uTP payload per message used by NewSocket,
	// Listen and Dial unless utp.WithPacketSize is passed with
	// WithSocketOptions. Cost through a daemon is per message, so a large
	// packet carries more per unit of cost; see docs/inet256.md for the
	// measurement behind this value. It leaves room in MaxMessage for the
	// 20-byte uTP header and the largest selective ACK we send.
	DefaultPacketSize = 60 << 10
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
	maxMessage    int
	receiveQueue  int
	lookupTimeout time.Duration
	probeInterval time.Duration
	socketOpts    []utp.SocketOption
}

func newConfig(opts []Option) config {
	c := config{
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

// WithMaxMessage sets the largest message WriteTo sends; a longer one fails
// with an *MTUError. Default MaxMessage (65,449 bytes), what the reference
// daemon delivers; values above inet256.MTU are lowered to it.
func WithMaxMessage(n int) Option {
	return func(c *config) { c.maxMessage = min(max(1, n), inetMTU) }
}

// WithReceiveQueue bounds the messages received but not yet returned by
// ReadFrom. When it is full, new messages are dropped and counted in
// Stats.Dropped: the node must be drained at once, or the daemon's own
// queue of about 8 messages overflows instead. Default 64.
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

// WithProbeInterval sets how often the PacketConn checks that its node is
// still alive, by looking up its own public key. A daemon-backed node whose
// daemon has died, or that was closed underneath the PacketConn, neither
// delivers nor reports anything on Receive; the probe's failed request is
// how the PacketConn learns of it (see Stats and ErrNodeFailed). Default
// 1 s; 0 disables the probe.
func WithProbeInterval(d time.Duration) Option {
	return func(c *config) { c.probeInterval = max(0, d) }
}

// WithSocketOptions passes options to the utp.Socket made by NewSocket,
// Listen and Dial. They are applied after the adapter's own
// (utp.WithPacketSize(DefaultPacketSize)), so they override it. A packet
// size above MaxMessage less 64 bytes makes full packets fail to send.
func WithSocketOptions(opts ...utp.SocketOption) Option {
	return func(c *config) { c.socketOpts = append(c.socketOpts, opts...) }
}
