package proto

import (
	"strings"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/cc"
	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// Datagram sizes (size.go, docs/protocol.md): no datagram exceeds what
// the peer reads whole. Toward a peer that has not advertised a size, that
// is CommonDatagram, libtorrent's 1,500-byte read buffer; toward one that
// did, its value. The harness checks every datagram against the peer's
// limit; these tests check the sizes chosen and the extension's exchange.

// A dialer that reads large datagrams says so in its SYN; one that does
// not configure it sends the plain BEP 29 SYN.
func TestSizeSynAdvertises(t *testing.T) {
	tc := newRawTestConn(t, roleDialer, withConfig(func(c *Config) { c.MaxRecvDatagram = 65535 }))
	syn := tc.wantPacket("SYN", pkt{typ: wire.Syn})
	if syn.h.MaxDatagram != 65535 {
		t.Fatalf("SYN advertises %d, want 65535", syn.h.MaxDatagram)
	}
	if syn.raw[1] >= 3 {
		t.Fatalf("SYN's first extension is %d: libutp drops a packet whose first extension id is 3 or more", syn.raw[1])
	}
	tc.advanceToTimer()
	again := tc.wantPacket("SYN resent", pkt{typ: wire.Syn})
	if again.h.MaxDatagram != 65535 {
		t.Fatalf("resent SYN advertises %d, want 65535", again.h.MaxDatagram)
	}

	plain := newRawTestConn(t, roleDialer)
	if p := plain.wantPacket("SYN", pkt{typ: wire.Syn}); p.h.MaxDatagram != 0 || len(p.raw) != wire.HeaderSize {
		t.Fatalf("SYN without MaxRecvDatagram: %d bytes advertising %d, want a bare header", len(p.raw), p.h.MaxDatagram)
	}
}

// The acceptor answers the extension in kind, and only to a SYN that
// carried it: a dialer that did not advertise may not know it (libutp
// drops packets whose first extension it does not know, and an unknown
// one is only skipped further down the chain). A duplicate SYN gets the
// same reply again (libutp behaviour).
func TestSizeReplyAdvertises(t *testing.T) {
	ours := withConfig(func(c *Config) { c.MaxRecvDatagram = 9000 })
	tc := newRawTestConn(t, roleAcceptor, ours, withPeerMaxDatagram(65535))
	reply := tc.wantPacket("STATE answering the SYN", pkt{typ: wire.State, ack: u16(tc.peerISN)})
	if reply.h.MaxDatagram != 9000 || reply.raw[1] >= 3 {
		t.Fatalf("reply advertises %d with first extension %d, want 9000 behind an id below 3", reply.h.MaxDatagram, reply.raw[1])
	}
	tc.writePacket(tc.synHeader(), "")
	again := tc.wantPacket("reply to the duplicate SYN", pkt{typ: wire.State})
	if string(again.raw) != string(reply.raw) {
		t.Fatalf("duplicate SYN answered with % x, want the first reply % x", again.raw, reply.raw)
	}

	plain := newRawTestConn(t, roleAcceptor, ours)
	if p := plain.wantPacket("STATE answering a plain SYN", pkt{typ: wire.State}); p.h.MaxDatagram != 0 || len(p.raw) != wire.HeaderSize {
		t.Fatalf("reply to a SYN without the extension: %d bytes advertising %d, want a bare header", len(p.raw), p.h.MaxDatagram)
	}
}

// sizeCase is a peer's advertisement and our configuration, with the
// payload of a full DATA packet they should give.
type sizeCase struct {
	name       string
	peer       uint32 // what the peer advertises, 0: nothing
	packetSize int    // our ceiling (Config.PacketSize)
	override   bool   // Config.PacketSizeOverride
	want       int    // full payload
}

// overhead is the most our DATA packets add to their payload by default:
// the header and a 32-byte selective ACK with its 2-byte prefix.
const overhead = wire.HeaderSize + 2 + 32

var sizeCases = []sizeCase{
	{"peer silent, loopback ceiling", 0, 65000, false, CommonDatagram - overhead},
	{"peer silent, small ceiling", 0, 1000, false, 1000},
	{"peer reads 9000", 9000, 65000, false, 9000 - overhead},
	{"peer reads 65535, ceiling below", 65535, 60000, false, 60000},
	{"peer reads 65535, ceiling above", 65535, 65507, false, 65535 - overhead},
	{"peer reads less than 1500", 1200, 65000, false, 1200 - overhead},
	{"peer claims 100, taken as 576", 100, 65000, false, minPeerDatagram - overhead},
	{"override, peer silent", 0, 20000, true, 20000},
	{"override, peer reads less", 1200, 20000, true, 20000},
}

// A full write goes out in packets of the expected payload, in both roles,
// and the congestion controller counts in segments of that size.
func TestSizeChosenPayload(t *testing.T) {
	for _, sc := range sizeCases {
		t.Run(sc.name, func(t *testing.T) {
			forEachRole(t, func(t *testing.T, role tcRole) {
				var mss []int
				tc := newTestConn(t, role, withPeerMaxDatagram(sc.peer), withConfig(func(c *Config) {
					c.PacketSize, c.PacketSizeOverride = sc.packetSize, sc.override
					c.MaxRecvDatagram = 65535
					c.RecvBufferSize = 1 << 20
					c.NewController = func(_ time.Time, m int) cc.Controller {
						mss = append(mss, m)
						return &fixedWindow{wnd: 1 << 20}
					}
				}))
				if got := tc.conn.maxPayload(); got != sc.want {
					t.Fatalf("maxPayload %d, want %d", got, sc.want)
				}
				if m := mss[len(mss)-1]; m != sc.want+wire.HeaderSize {
					t.Fatalf("controller built with MSS %d, want %d (payload and header)", m, sc.want+wire.HeaderSize)
				}
				if role == roleAcceptor {
					// The dialer's empty DATA confirms the handshake; until
					// then an acceptor sends one packet only.
					tc.peerData(tc.p(0), "")
					tc.takeAll()
				}
				tc.write(strings.Repeat("x", 2*sc.want))
				for i := range 2 {
					tc.wantPacket("full packets", pkt{typ: wire.Data, seq: u16(tc.s(i)), size: sc.want})
				}
				tc.wantIdle("all sent")
			})
		})
	}
}

// A dialer whose SYN's STATE reply was lost hears first from the
// acceptor's DATA, which carries no advertisement: it stays within
// CommonDatagram, which the acceptor reads whatever it is.
func TestSizeReplyLostKeepsCommon(t *testing.T) {
	tc := newRawTestConn(t, roleDialer, withConfig(func(c *Config) {
		c.PacketSize, c.MaxRecvDatagram = 65000, 65535
	}), withWindow(1<<20))
	tc.wantPacket("SYN", pkt{typ: wire.Syn})
	tc.advance(scriptHandshakeRTT)
	tc.peerData(tc.peerISN, "hello")
	tc.wantEvent("connected by DATA", EventConnected)
	tc.takeAll()
	tc.write(strings.Repeat("y", 4000))
	for _, p := range tc.takeAll() {
		if len(p.raw) > CommonDatagram {
			t.Fatalf("sent a %d-byte datagram to a peer that advertised nothing", len(p.raw))
		}
	}
	if got := tc.conn.maxPayload(); got != CommonDatagram-overhead {
		t.Fatalf("maxPayload %d, want %d", got, CommonDatagram-overhead)
	}
}

// A peer's advertisement comes only with the handshake: one on a later
// packet (a forger's, say) changes nothing.
func TestSizeLaterAdvertisementIgnored(t *testing.T) {
	tc := newTestConn(t, roleAcceptor, withConfig(func(c *Config) { c.PacketSize = 65000 }))
	h := tc.peerHeader(wire.State, tc.peerNext, tc.peerAckNr)
	h.MaxDatagram = 65535
	tc.writePacket(h, "")
	if got := tc.conn.maxPayload(); got != CommonDatagram-overhead {
		t.Fatalf("maxPayload %d after a late advertisement, want %d", got, CommonDatagram-overhead)
	}
}

// A SYN that timed out leaves the window collapsed after the controller
// is rebuilt for the negotiated size (RFC 5681 3.1).
func TestSizeRebuiltControllerKeepsSynTimeout(t *testing.T) {
	var built []*recordingController
	tc := newRawTestConn(t, roleDialer, withPeerMaxDatagram(9000), withConfig(func(c *Config) {
		c.PacketSize, c.MaxRecvDatagram = 65000, 65535
		c.NewController = func(_ time.Time, m int) cc.Controller {
			r := &recordingController{fixedWindow: fixedWindow{wnd: 1 << 20}, mss: m}
			built = append(built, r)
			return r
		}
	}))
	tc.wantPacket("SYN", pkt{typ: wire.Syn})
	tc.advanceToTimer()
	tc.wantPacket("SYN resent", pkt{typ: wire.Syn})
	reply := tc.peerHeader(wire.State, tc.peerISN, tc.isn)
	reply.MaxDatagram = 9000
	tc.writePacket(reply, "")
	last := built[len(built)-1]
	if len(built) < 2 || last.mss != 9000-overhead+wire.HeaderSize {
		t.Fatalf("controllers built with MSS %v, want a last one of %d", built, 9000-overhead+wire.HeaderSize)
	}
	if last.timeouts != 1 {
		t.Fatalf("rebuilt controller saw %d timeouts, want the SYN's 1", last.timeouts)
	}
}

// recordingController is a fixed window that counts timeouts.
type recordingController struct {
	fixedWindow
	mss      int
	timeouts int
}

func (r *recordingController) OnTimeout(time.Time) { r.timeouts++ }
