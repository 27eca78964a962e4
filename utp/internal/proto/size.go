package proto

import (
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/cc"
	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// CommonDatagram is the largest datagram (UDP payload) every uTP
// implementation we know reads whole: libtorrent-rasterbar reads each
// into a 1,500-byte buffer (udp_socket.hpp), Transmission's libutp into
// 4,095 bytes, anacrolix/utp and github.com/inet256/go-utp into 8 KiB. The
// kernel cuts a longer datagram without an error, and a uTP header carries
// no length, so the receiver would acknowledge the shortened packet as
// complete. Toward a peer that has not advertised what it reads, no
// datagram we send exceeds this.
const CommonDatagram = 1500

// minPeerDatagram is the least advertised size we honour: every host
// accepts a 576-byte datagram (RFC 1122 3.3.3, RFC 791). A smaller value
// would leave no room for data.
const minPeerDatagram = 576

// maxPeerDatagram bounds the advertised size we store; no datagram comes
// near it (UDP's length field stops at 65,535).
const maxPeerDatagram = 1 << 20

// sizeState is what decides the payload of our DATA packets.
type sizeState struct {
	// peerMax is the largest datagram the peer reads whole, from its
	// datagram-size extension (in its SYN, or the STATE answering ours);
	// 0 while it has not advertised one.
	peerMax int
	// mss is the segment size the congestion controller was built with.
	mss int
}

// maxPayload is the largest payload a DATA packet may carry now: the
// smaller of
//   - what the peer reads whole (its advertisement, else CommonDatagram)
//     less our header and the largest selective ACK we send, the only
//     extension a DATA packet carries; skipped when PacketSizeOverride
//     makes PacketSize the user's promise about the peer;
//   - PacketSize, the ceiling of what the IO layer carries;
//   - what path MTU discovery confirmed the path carries (pathMax).
//
// Every decision about the size of a packet reads it.
func (c *Conn) maxPayload() int {
	n := min(c.cfg.PacketSize, c.pathMax())
	if !c.cfg.PacketSizeOverride {
		n = min(n, c.peerDatagram()-dataOverhead(&c.cfg))
	}
	return n
}

// segmentPayload is the payload of a full new DATA packet: maxPayload,
// or less while the congestion controller counts a small window in
// smaller packets (cc.Segmenter; docs/protocol.md, "Congestion control").
// Packets already sent keep their size.
func (c *Conn) segmentPayload() int {
	n := c.maxPayload()
	if s, ok := c.ctrl.(cc.Segmenter); ok {
		n = min(n, max(1, s.Segment()-wire.HeaderSize))
	}
	return n
}

// peerDatagram is the largest datagram the peer reads whole, as far as we
// know.
func (c *Conn) peerDatagram() int {
	if c.size.peerMax > 0 {
		return c.size.peerMax
	}
	return CommonDatagram
}

// dataOverhead is the most a DATA packet adds to its payload: the header
// and the largest selective ACK a packet with data carries. It takes
// the Config by pointer: maxPayload calls it several times per packet,
// and a copy of the whole Config at each call was 2-3% of a bulk
// transfer's CPU time.
func dataOverhead(cfg *Config) int { return wire.HeaderSize + 2 + dataSACKLimit(cfg) }

// advertised is the size our SYN, or our reply to the SYN syn,
// advertises: MaxRecvDatagram, or 0 (no extension) when that is unset or
// the dialer's SYN did not carry the extension (it would not read ours).
func (c *Conn) advertised(syn *wire.Header) uint32 { return advertisedFor(&c.cfg, syn) }

// advertisedFor is advertised for a connection configured by cfg, which
// SynReply answers without building one.
func advertisedFor(cfg *Config, syn *wire.Header) uint32 {
	if cfg.MaxRecvDatagram <= 0 || (syn != nil && syn.MaxDatagram == 0) {
		return 0
	}
	return uint32(cfg.MaxRecvDatagram)
}

// learnPeerSize takes the peer's advertisement from its SYN or from the
// packet that answers ours, and sizes the connection's packets by it.
func (c *Conn) learnPeerSize(now time.Time, h *wire.Header) {
	if h.MaxDatagram != 0 {
		c.size.peerMax = int(min(max(h.MaxDatagram, minPeerDatagram), maxPeerDatagram))
	}
	if !c.cfg.PacketSizeOverride {
		// Path MTU probes past what the peer reads would be truncated.
		c.pmtu.limit(c.peerDatagram())
	}
	c.resize(now)
}

// resize applies a new maxPayload to what depends on it: the receiver's
// idea of a full packet, and the congestion controller's segment size.
// The controller is rebuilt rather than adjusted, which is only sound
// during the handshake, before any data has flowed: a dialer's SYN
// timeouts are replayed into the new one (RFC 5681 3.1: a lost SYN leaves
// a window of one segment).
func (c *Conn) resize(now time.Time) {
	payload := c.maxPayload()
	c.rcv.packetSize = payload
	mss := payload + wire.HeaderSize
	if mss == c.size.mss {
		return
	}
	c.size.mss = mss
	c.ctrl = c.cfg.NewController(now, mss)
	if c.stats.Timeouts > 0 {
		c.ctrl.OnTimeout(now)
	}
}
