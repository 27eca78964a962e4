package proto

import (
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// Stranded packets. When the path shrinks under a connection (a black
// hole, pmtu.go), the packets already sent at the old size cannot cross
// it, and uTP cannot split them: a sequence number is bound to its
// payload. If the peer holds nothing beyond them, they are re-packetized
// (repacketize). If it holds data beyond a hole, the hole's sequence
// numbers must carry exactly the bytes they carried before, so those
// packets are stranded: their resends go out with fragmentation allowed,
// the one way they still cross. The IO layer obeys Fragmentable: over
// IPv4 it clears DF for that send and the router on the narrow hop
// fragments; over IPv6 routers never fragment, so the source must, and
// Linux fragments a datagram only when it exceeds the route's MTU: such
// a resend is padded past it (Config.FragmentPad) and cut into base-size
// fragments (IPV6_MTU). Probes never go fragmentable: a fragmented probe
// would confirm a size the path does not carry.

// Fragmentable reports whether the datagram the last PollTransmit (or
// PollTransmitView) returned must leave with fragmentation allowed: a
// stranded packet's resend. Every other datagram keeps DF.
func (c *Conn) Fragmentable() bool { return c.fragOut }

// putFragmentable writes the header of a stranded packet's resend,
// padded to Config.FragmentPad when that is larger than the datagram and
// the peer reads that much, and marks the datagram fragmentable.
func (c *Conn) putFragmentable(h *wire.Header, buf []byte, p *outPacket) int {
	c.fragOut = true
	c.stats.FragmentedResends++
	pad := c.cfg.FragmentPad
	if pad > p.size()+len(h.SACK)+2 && pad <= c.fragmentLimit() {
		return h.PutPadded(buf, pad-p.n)
	}
	return h.Put(buf)
}

// fragmentLimit is the largest datagram a padded fragmentable resend may
// have: what the peer reads whole and what our buffers hold.
func (c *Conn) fragmentLimit() int {
	limit := c.peerDatagram()
	if c.cfg.PacketSizeOverride {
		limit = max(limit, c.cfg.PacketSize+dataOverhead(&c.cfg))
	}
	return min(limit, c.MaxDatagram())
}

// peerHoldsSome reports whether the peer acknowledged selectively any
// outstanding packet: it holds data beyond a hole, and the hole's
// sequence numbers cannot be re-packetized.
func (c *Conn) peerHoldsSome() bool { return c.snd.sackedN > 0 }

// strand marks every outstanding packet too large for the path, which
// the peer has not got, for fragmentable resends, and queues them for
// resending now, without the congestion response a loss gets: they were
// lost to the path's change, which the fall to the base answered. The
// peer answered the question that led here, so the timeouts behind it
// are forgiven.
func (c *Conn) strand() {
	s := &c.snd
	limit := c.maxPayload()
	for seq := s.una; seq != s.seqNr; seq++ {
		if p := s.pkt(seq); !p.sacked && p.sends > 0 && p.n > limit && !p.probe {
			p.frag = true
			c.withdraw(p)
		}
	}
	c.consecutiveTimeouts = 0
	c.rtt.ResetBackoff()
	c.setTimer(timerRetransmit, time.Time{})
}
