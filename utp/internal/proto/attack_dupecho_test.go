package proto

import (
	"math"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// A forged duplicate echo (dupecho.go) that undoes a real reduction puts
// the sender above its fair window until its next loss. The echo itself is
// no secret worth counting: our timestamps are the wall clock's
// microseconds, and an attacker who caused the loss (by flooding the path)
// knows roughly when. So the undo must cost what an admitted packet costs.
// In a real episode (two packets lost, their retransmissions acknowledged
// first), this tries an exact echo of both first sends with every ack_nr
// and every seq_nr, and counts the values that undo the reduction: only
// ack_nr values that do not advance (una-1-3-inflight to una-1) and the one
// seq_nr of the peer's next packet. The odds per forged packet, with the
// id known, are logged; docs/security.md carries them to a full window.
func TestForgedDuplicateEchoOdds(t *testing.T) {
	tc, _, first, chunks := lossEpisode(t, 6, 2, 3, 4, 5)
	resent := tc.wantPacket("first hole", pkt{typ: wire.Data, seq: u16(tc.s(0)), payload: chunks[0]}).at
	tc.wantPacket("second hole", pkt{typ: wire.Data, seq: u16(tc.s(1)), payload: chunks[1]})
	tc.advance(scriptHandshakeRTT * 3 / 4)
	tc.ackEchoing(tc.s(5), resent) // the retransmissions arrived first: the loss was real
	c := tc.conn
	if len(c.rec.unproven) != 2 || !c.rec.undoable {
		t.Fatalf("%d first sends kept, undoable %v; want 2 and true", len(c.rec.unproven), c.rec.undoable)
	}
	tc.advance(5 * time.Millisecond)
	now := tc.now
	// undoes delivers the two echoes a forger must both hit and reports
	// whether the reduction was undone.
	undoes := func(seq, ack uint16, off uint32) bool {
		d := cloneConn(c, nil)
		d.rec.unproven = append([]uint32(nil), c.rec.unproven...)
		for _, e := range []uint32{micros(first), micros(first)} { // both were sent at the start
			h := tc.peerHeader(wire.State, seq, ack)
			h.TimestampDiff = h.Timestamp - e - off
			d.HandleParsed(now, &h, nil)
		}
		return d.stats.SpuriousRecoveries > c.stats.SpuriousRecoveries
	}
	next, una := c.rcv.ackNr+1, c.snd.una
	if !undoes(next, una-1, 0) {
		t.Fatal("the genuine echoes did not undo the episode")
	}
	if undoes(next, una-1, 1) {
		t.Fatal("echoes one microsecond off undid the episode")
	}
	var acks, seqs int
	for a := range 1 << 16 {
		if undoes(next, uint16(a), 0) {
			acks++
			if wire.SeqLess(una-1, uint16(a)) {
				t.Errorf("an advancing ack_nr %d undid the episode", a)
			}
		}
	}
	for s := range 1 << 16 {
		if undoes(uint16(s), una-1, 0) {
			seqs++
		}
	}
	wantAcks := ackNrAllowedWindow + 1 + int(c.snd.inUse())
	if acks != wantAcks || seqs != 1 {
		t.Fatalf("%d ack_nr and %d seq_nr values undo the episode, want %d and 1", acks, seqs, wantAcks)
	}
	p := float64(acks) * float64(seqs) / (1 << 32)
	t.Logf("id known: an exact echo undoes with odds 2^%.2f per forged packet (%d ack_nr x %d seq_nr), each of the episode's %d first sends hit separately; blind 2^%.2f",
		math.Log2(p), acks, seqs, len(c.rec.unproven), math.Log2(p)-16)
}
