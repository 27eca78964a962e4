package proto

import (
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/cc"
)

// Config holds the per-connection parameters. The zero value of every field
// means its documented default.
type Config struct {
	// PacketSize is the largest payload of one DATA packet, in bytes.
	// Default 1400: a 1500-byte Ethernet MTU less IPv6 (40), UDP (8), the
	// uTP header (20) and a 32-byte SACK extension (34) with some slack.
	PacketSize int
	// SendBufferSize bounds bytes written but not yet acknowledged.
	// Default 4 MiB.
	SendBufferSize int
	// RecvBufferSize bounds bytes received but not yet read, including
	// out-of-order data; the free part is advertised as wnd_size.
	// Default 4 MiB.
	RecvBufferSize int
	// MaxSACKBytes bounds the selective-ACK bitmask we send (a multiple of
	// 4, at most 252). Default 32, which covers 256 packets past a hole.
	MaxSACKBytes int
	// MaxReorder bounds how many packets past a hole are buffered.
	// Default 2048.
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
	// MaxTimeouts is how many consecutive retransmission timeouts end an
	// established connection with ErrTimedOut. Default 8 (libutp: 4, with a
	// 1 s minimum RTO; ours is 200 ms, so we allow more doublings).
	MaxTimeouts int
	// SynRetries is how many times a SYN is retransmitted before the dial
	// fails with ErrTimedOut. Default 4: SYNs at 0, 1, 3, 7 and 15 s, failure
	// at 31 s (RFC 6298 initial RTO of 1 s, doubled each time).
	SynRetries int
	// TimeWait is how long a connection that acknowledged the peer's FIN
	// last keeps answering its retransmissions. Default 4 RTOs, at most 10 s.
	TimeWait time.Duration
	// NoDelay disables coalescing of small writes (Nagle).
	NoDelay bool
	// RTT configures the RFC 6298 estimator.
	RTT cc.RTTConfig
	// NewController builds the congestion controller. Default LEDBAT with
	// its defaults and MSS = PacketSize + header.
	NewController func(now time.Time, mss int) cc.Controller
}

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.PacketSize, 1400)
	def(&c.SendBufferSize, 4<<20)
	def(&c.RecvBufferSize, 4<<20)
	def(&c.MaxSACKBytes, 32)
	def(&c.MaxReorder, 2048)
	def(&c.MaxTimeouts, 8)
	def(&c.SynRetries, 4)
	c.MaxSACKBytes = min((c.MaxSACKBytes+3)&^3, 252)
	// Sequence numbers compare correctly only within half their space.
	c.MaxReorder = min(c.MaxReorder, 16384)
	c.RecvBufferSize = max(c.RecvBufferSize, c.PacketSize)
	c.SendBufferSize = max(c.SendBufferSize, c.PacketSize)
	if c.AckDelay <= 0 {
		c.AckDelay = 10 * time.Millisecond
	}
	if c.Keepalive <= 0 {
		c.Keepalive = 29 * time.Second
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 90 * time.Second
	}
	if c.NewController == nil {
		c.NewController = func(now time.Time, mss int) cc.Controller {
			return cc.NewLEDBAT(now, cc.LEDBATConfig{MSS: mss})
		}
	}
	return c
}
