package proto

import (
	"strings"
	"testing"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// ackhold.go: while the IO layer holds ACKs (more packets queued), the
// ACK owed for every second packet waits, and one ACK covers them all
// once the hold is released.
func TestScriptHeldAckCoversQueuedPackets(t *testing.T) {
	tc := newTestConn(t, roleDialer)
	tc.conn.HoldAcks(true)
	for i := range 6 {
		tc.peerData(tc.p(i), "x")
	}
	tc.wantIdle("six in-order packets while more are queued")
	tc.conn.HoldAcks(false)
	tc.finish("released")
	tc.wantPacket("one ACK for all six", pkt{typ: wire.State, ack: u16(tc.p(5)), noSACK: true})
	tc.wantIdle("one ACK only")
	tc.wantRead("all delivered", "xxxxxx")
}

// A held ACK never waits for news: a hole is acknowledged with its SACK
// at once, hold or not.
func TestScriptHeldAckNotForHoles(t *testing.T) {
	tc := newTestConn(t, roleDialer)
	tc.conn.HoldAcks(true)
	tc.peerData(tc.p(0), "a")
	tc.peerData(tc.p(1), "b")
	tc.wantIdle("routine ACK held")
	tc.peerData(tc.p(3), "d")
	tc.wantPacket("out of order: at once", pkt{typ: wire.State, ack: u16(tc.p(1)), sacked: []uint16{tc.p(3)}})
}

// A held ACK goes out once it would cover ackHoldBytes (or a quarter of
// the window), and the delayed-ACK timer bounds its wait when the hold
// is never released.
func TestScriptHeldAckBounded(t *testing.T) {
	tc := newTestConn(t, roleDialer)
	tc.conn.HoldAcks(true)
	payload := strings.Repeat("y", 1000)
	limit := min(ackHoldBytes, tc.conn.rcv.lastAdvertised/4)
	n := 0
	for ; n*len(payload) < limit-len(payload); n++ {
		tc.peerData(tc.p(n), payload)
	}
	tc.wantIdle("held below the bound")
	tc.peerData(tc.p(n), payload)
	tc.wantPacket("the bound reached", pkt{typ: wire.State, ack: u16(tc.p(n))})
	tc.readN(limit)

	tc.peerData(tc.p(n+1), "z")
	tc.peerData(tc.p(n+2), "z")
	tc.wantIdle("held again")
	start := tc.now
	tc.advanceToTimer()
	tc.wantPacket("the delayed-ACK timer ends the wait", pkt{typ: wire.State, ack: u16(tc.p(n + 2))})
	if got := tc.now.Sub(start); got > tc.conn.cfg.AckDelay {
		t.Fatalf("held ACK sent after %v, want within AckDelay %v", got, tc.conn.cfg.AckDelay)
	}
}
