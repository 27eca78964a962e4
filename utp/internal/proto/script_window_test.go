package proto

import (
	"strings"
	"testing"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// SetWindowLimit bounds the advertised wnd_size (the IO layer shares one
// kernel buffer among connections) without refusing data that fits the
// receive buffer, and a packet that leaves less than a packet's worth of
// advertised window is acknowledged at once, since the sender waits for
// that ACK.
func TestScriptWindowLimit(t *testing.T) {
	tc := newTestConn(t, roleDialer, withConfig(func(c *Config) { c.RecvBufferSize = 1000; c.PacketSize = 200 }))
	tc.conn.SetWindowLimit(150)
	chunk := strings.Repeat("z", 200)
	tc.peerData(tc.p(0), chunk)
	tc.wantPacket("window below a packet: acknowledged at once", pkt{typ: wire.State, ack: u16(tc.p(0)), wnd: u32(150)})
	tc.peerData(tc.p(1), chunk)
	tc.peerData(tc.p(2), chunk)
	tc.peerData(tc.p(3), chunk)
	tc.takeAll()
	if got := tc.conn.Stats().DroppedNoRoom; got != 0 {
		t.Fatalf("%d packets dropped beyond the advertised limit, though they fit the buffer", got)
	}
	tc.peerData(tc.p(4), chunk)
	tc.wantPacket("buffer full: the free buffer is below the limit", pkt{typ: wire.State, ack: u16(tc.p(4)), wnd: u32(0)})
	if got := tc.readN(1000); len(got) != 1000 {
		t.Fatalf("read %d bytes, want 1000", len(got))
	}
	tc.wantPacket("reopened, up to the limit", pkt{typ: wire.State, ack: u16(tc.p(4)), wnd: u32(150)})
	tc.conn.SetWindowLimit(0)
	tc.write("x")
	tc.wantPacket("no limit: the whole free buffer", pkt{typ: wire.Data, wnd: u32(1000)})
}

// Under a window limit below a full packet, a packet that leaves room
// for another like it is not acknowledged at once: a 1-byte request waits
// for its reply, as without a limit. (The share limits a ping-pong's
// window below a loopback packet, since it charges each 1-byte datagram
// at the kernel's 832 bytes; acknowledging at once there doubled the
// datagrams of every round trip.)
func TestScriptWindowLimitSmallPacketWaitsForReply(t *testing.T) {
	tc := newTestConn(t, roleDialer, withConfig(func(c *Config) { c.RecvBufferSize = 1000; c.PacketSize = 200 }))
	tc.conn.SetWindowLimit(150)
	tc.peerData(tc.p(0), "request")
	tc.wantIdle("a small packet that leaves room for another like it waits")
	tc.write("reply")
	tc.wantPacket("the reply carries the ACK", pkt{typ: wire.Data, ack: u16(tc.p(0)), payload: "reply"})
	tc.peerData(tc.p(1), strings.Repeat("z", 180))
	tc.wantPacket("a packet larger than the window it leaves is acknowledged at once", pkt{typ: wire.State, ack: u16(tc.p(1)), wnd: u32(150)})
}

// RFC 1122 4.2.3.2 acknowledges every second packet of data: an empty
// DATA (the dialer's handshake confirmation, which go-libutp and we send)
// does not count, so a request right behind it is answered by the reply
// alone, not by an ACK first; the empty packet is still acknowledged
// within AckDelay.
func TestScriptAckEmptyDataDoesNotCount(t *testing.T) {
	tc := newTestConn(t, roleDialer)
	tc.peerData(tc.p(0), "")
	tc.peerData(tc.p(1), "request")
	tc.wantIdle("one packet of data waits for the reply")
	tc.write("reply")
	tc.wantPacket("the reply carries the ACK", pkt{typ: wire.Data, ack: u16(tc.p(1)), payload: "reply"})

	tc.peerData(tc.p(2), "")
	tc.wantIdle("an empty packet waits")
	tc.advance(tc.conn.cfg.AckDelay)
	tc.wantPacket("and is acknowledged after AckDelay", pkt{typ: wire.State, ack: u16(tc.p(2))})
}
