package proto

import (
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// A packet the peer sent before one that already arrived is counted as
// late (Stats.ReceivedLate), with how far it lagged (LateWorst): the
// count that tells a path that reorders from one that loses. A
// retransmission, sent later with its own timestamp, is not late, and a
// packet in order after the late one is not either.
func TestScriptReceivedLateCountsReordering(t *testing.T) {
	forEachRole(t, func(t *testing.T, role tcRole) {
		tc := newTestConn(t, role)
		sentFirst := micros(tc.now)
		tc.advance(3 * time.Millisecond)
		tc.peerData(tc.p(1), "b") // sent 3 ms after p(0), arrives first
		late := tc.peerHeader(wire.Data, tc.p(0), tc.peerAckNr)
		late.Timestamp = sentFirst
		tc.notePeerSeq(tc.p(0))
		tc.writePacket(late, "a")
		tc.advance(time.Millisecond)
		tc.peerData(tc.p(2), "c")
		tc.peerData(tc.p(0), "a") // a retransmission: a duplicate, not late
		s := tc.conn.Stats()
		if s.ReceivedLate != 1 || s.LateWorst != 3*time.Millisecond {
			t.Errorf("ReceivedLate %d, LateWorst %v; want 1, 3ms", s.ReceivedLate, s.LateWorst)
		}
	})
}
