package proto

import (
	"strings"
	"testing"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// Issue 17 (spurious probes): a flow held to two packets by the peer's
// window, whose packets wait in the peer's socket longer than the probe
// timeout, re-sends the last one as a tail probe; the peer then
// acknowledges both, we send two more, and the ACK of the probe's
// duplicate repeats ack_nr. It says nothing of loss: with early
// retransmit's threshold of one it resent a packet that had not been
// lost, a second duplicate beyond the window.
func TestScriptTailProbeDuplicateNotEvidence(t *testing.T) {
	tc := newTestConn(t, roleDialer, withWindow(1<<20), withTailProbe, withConfig(smallPackets))
	tc.peerWnd = 2 * (10 + wire.HeaderSize)
	tc.peerAck(tc.s(0) - 1)
	tc.write(strings.Repeat("x", 60))
	tc.wantPacket("first", pkt{typ: wire.Data, seq: u16(tc.s(0))})
	tc.wantPacket("second", pkt{typ: wire.Data, seq: u16(tc.s(1))})
	tc.wantIdle("the peer's window is full")
	tc.advanceToTimer()
	tc.wantPacket("the probe: the last packet again", pkt{typ: wire.Data, seq: u16(tc.s(1))})
	tc.peerAck(tc.s(1)) // both originals had arrived
	tc.wantPacket("third", pkt{typ: wire.Data, seq: u16(tc.s(2))})
	tc.wantPacket("fourth", pkt{typ: wire.Data, seq: u16(tc.s(3))})
	tc.peerAck(tc.s(1)) // the probe's duplicate, acknowledged again
	tc.wantIdle("the ACK of the probe's duplicate is not a duplicate ACK")
	if st := tc.conn.Stats(); st.FastRetransmits != 0 || st.Retransmits != 1 || st.Recoveries != 0 {
		t.Fatalf("FastRetransmits %d, Retransmits %d, Recoveries %d; want 0, 1 (the probe), 0", st.FastRetransmits, st.Retransmits, st.Recoveries)
	}
}

// The same with a larger flight, where three duplicate ACKs without SACK
// news still count (a peer whose bitmask does not reach the packet that
// arrived, as libutp's 32 packets): the duplicate the probe provoked is
// not one of them.
func TestScriptTailProbeDuplicateNotCounted(t *testing.T) {
	const n = 5
	tc := newTestConn(t, roleDialer, withWindow(1<<20), withTailProbe, withConfig(smallPackets))
	tc.peerWnd = n * (10 + wire.HeaderSize)
	tc.peerAck(tc.s(0) - 1)
	tc.write(strings.Repeat("x", 2*n*10))
	for i := range n {
		tc.wantPacket("first flight", pkt{typ: wire.Data, seq: u16(tc.s(i))})
	}
	tc.advanceToTimer()
	tc.wantPacket("the probe", pkt{typ: wire.Data, seq: u16(tc.s(n - 1))})
	tc.peerAck(tc.s(n - 1))
	for i := range n {
		tc.wantPacket("second flight", pkt{typ: wire.Data, seq: u16(tc.s(n + i))})
	}
	for range 3 {
		tc.peerAck(tc.s(n - 1))
	}
	tc.wantIdle("the probe's duplicate and two more: two duplicate ACKs")
	tc.peerAck(tc.s(n - 1))
	tc.wantPacket("the third duplicate ACK", pkt{typ: wire.Data, seq: u16(tc.s(n))})
}

// RFC 5681 2: an ACK that raises the window is a window update, not a
// duplicate ACK (uTP receivers shrink their window by what they hold out
// of order, so only a larger one tells an update apart).
func TestScriptWindowUpdateNotDuplicateAck(t *testing.T) {
	tc := newTestConn(t, roleDialer, withWindow(1<<20), withConfig(smallPackets))
	chunks := tc.sendPackets(5, 10)
	for range 3 {
		tc.peerWnd += 1000 // the peer's reader caught up
		tc.peerAck(tc.s(0) - 1)
	}
	tc.wantIdle("three window updates")
	for range 2 {
		tc.peerAck(tc.s(0) - 1)
	}
	tc.wantIdle("two duplicate ACKs")
	tc.peerWnd -= 30 // it holds one more packet out of order
	tc.peerAck(tc.s(0) - 1)
	tc.wantPacket("the third duplicate ACK, its window smaller", pkt{typ: wire.Data, seq: u16(tc.s(0)), payload: chunks[0]})
}
