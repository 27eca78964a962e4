package proto

import (
	"testing"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// Data held out of order becomes readable when the hole fills, even when
// the packet that fills it carries no payload. A dialer's empty DATA that
// confirms the handshake (as go-libutp sends) is such a packet, and the
// IO layer can send the user's first DATA before it, since each step
// sends after releasing its lock: the reader blocked on EventReadable
// must still be woken.
func TestScriptReadableWhenEmptyPacketFillsHole(t *testing.T) {
	forEachRole(t, func(t *testing.T, role tcRole) {
		tc := newTestConn(t, role)
		tc.peerData(tc.p(1), "x")
		tc.wantPacket("out-of-order packet acked at once", pkt{typ: wire.State, ack: u16(tc.p(0) - 1), sacked: []uint16{tc.p(1)}})
		tc.wantNoEvent("nothing readable past a hole", EventReadable)
		tc.peerData(tc.p(0), "")
		tc.wantPacket("filled hole acked at once", pkt{typ: wire.State, ack: u16(tc.p(1)), noSACK: true})
		tc.wantEvent("held byte now readable", EventReadable)
		tc.wantRead("the held byte", "x")
	})
}
