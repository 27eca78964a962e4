package proto

import (
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// Scripted tests of the acceptance rules (accept.go, docs/security.md).

// forgedWindow gives these tests a fixed window of full packets: LEDBAT++
// would send its small initial window in smaller ones (cc.Segmenter),
// which is not what they are about.
var forgedWindow = withWindow(64 << 10)

// A RESET answering one of our DATA packets (a peer that lost the
// connection answers each with ack_nr = its seq_nr) is plausible, not
// exact: we challenge with a keepalive, and the peer's answer to that,
// echoing the keepalive's seq_nr, resets the connection (RFC 5961 3.2).
// More plausible RESETs within an RTO draw no second challenge.
func TestScriptResetChallenge(t *testing.T) {
	tc := newTestConn(t, roleDialer, forgedWindow)
	tc.sendPackets(2, tc.conn.cfg.PacketSize)
	for range 5 {
		tc.writePacket(tc.peerHeader(wire.Reset, 12345, tc.s(0)), "")
	}
	ch := tc.wantPacket("one challenge", pkt{typ: wire.State, seq: u16(tc.s(2)), ack: u16(tc.p(0) - 2)}) // a keepalive
	tc.wantIdle("rate-limited: one challenge per RTO")
	tc.wantOpen("a plausible RESET is not honoured")
	if got := tc.conn.Stats().ResetsChallenged; got != 5 {
		t.Fatalf("ResetsChallenged %d, want 5", got)
	}
	tc.advance(10 * time.Millisecond)
	tc.writePacket(tc.peerHeader(wire.Reset, 777, ch.h.SeqNr), "")
	tc.wantClosed("the answer to the challenge", ErrConnReset)
}

// A RESET whose ack_nr is nowhere near what we sent is ignored: no
// challenge, no reset.
func TestScriptResetOutOfRangeIgnored(t *testing.T) {
	tc := newTestConn(t, roleDialer, forgedWindow)
	tc.sendPackets(2, tc.conn.cfg.PacketSize)
	for _, ack := range []uint16{tc.s(0) - 100, tc.s(2) + 1, tc.s(0) + 30000} {
		tc.writePacket(tc.peerHeader(wire.Reset, 1, ack), "")
		tc.wantIdle("no challenge")
		tc.wantOpen("not reset")
	}
	// Exact: it echoes the seq_nr our STATEs carry.
	tc.writePacket(tc.peerHeader(wire.Reset, 1, tc.s(2)), "")
	tc.wantClosed("exact RESET", ErrConnReset)
}

// A RESET whose seq_nr is exactly the next one we expect and whose ack_nr
// is acceptable is a peer aborting a connection it still has (our Reset,
// anacrolix/utp's Conn): honoured at once.
func TestScriptResetFromLivePeer(t *testing.T) {
	tc := newTestConn(t, roleAcceptor, forgedWindow)
	tc.sendPackets(2, tc.conn.cfg.PacketSize)
	tc.writePacket(tc.peerHeader(wire.Reset, tc.p(0), tc.s(0)), "")
	tc.wantClosed("peer abort", ErrConnReset)
}

// A STATE or DATA whose ack_nr acknowledges something we never sent, or
// lies further behind than a genuine one can, is ignored whole: a forged
// zero window does not stall us, and no ACK answers it.
func TestScriptForgedPacketsIgnoredWhole(t *testing.T) {
	tc := newTestConn(t, roleDialer, forgedWindow)
	tc.sendPackets(2, tc.conn.cfg.PacketSize)
	wnd := tc.conn.Stats().PeerWindow
	for _, ack := range []uint16{tc.s(2), tc.s(0) - 7, tc.s(0) + 20000} {
		h := tc.peerHeader(wire.State, tc.peerNext, ack)
		h.WndSize = 0
		tc.writePacket(h, "")
		tc.writePacket(tc.peerHeader(wire.Data, tc.p(0), ack), "forged")
		tc.wantIdle("nothing answers an unacceptable packet")
	}
	if got := tc.conn.Stats().PeerWindow; got != wnd {
		t.Fatalf("peer window %d after forged zero windows, want %d", got, wnd)
	}
	tc.wantRead("forged bytes are not delivered", "")
	// The lower bound: as many packets behind as are in flight, plus
	// libutp's 3. A reordered DATA carrying such an old ack_nr still
	// delivers its data.
	tc.writePacket(tc.peerHeader(wire.Data, tc.p(0), tc.s(0)-1-3-2), "old ack")
	tc.wantRead("an old ack_nr within the bound", "old ack")
}

// A STATE's seq_nr is the peer's next: one behind what we expect (a
// reordered old STATE) or beyond the reorder window is ignored, as libutp
// does.
func TestScriptStateSeqOutsideWindowIgnored(t *testing.T) {
	tc := newTestConn(t, roleDialer, forgedWindow)
	tc.sendPackets(2, tc.conn.cfg.PacketSize)
	for _, seq := range []uint16{tc.p(0) - 1, tc.p(0) + uint16(tc.conn.cfg.MaxReorder)} {
		tc.writePacket(tc.peerHeader(wire.State, seq, tc.s(1)), "")
		if tc.conn.snd.una != tc.s(0) {
			t.Fatalf("STATE seq=%d acknowledged data", seq)
		}
	}
	tc.writePacket(tc.peerHeader(wire.State, tc.p(0), tc.s(1)), "")
	if tc.conn.snd.una != tc.s(2) {
		t.Fatal("a STATE in the window did not acknowledge the data")
	}
}

// A DATA or FIN behind ack_nr is a retransmission whose ACK was lost: it
// is acknowledged again, and of its header only an ack_nr that advances
// what we sent is taken (takeDuplicateAck); its window is not.
func TestScriptDuplicateOnlyReacked(t *testing.T) {
	tc := newTestConn(t, roleDialer, forgedWindow)
	tc.peerData(tc.p(0), "a")
	tc.advance(tc.conn.cfg.AckDelay)
	tc.wantPacket("ACK", pkt{typ: wire.State, ack: u16(tc.p(0))})
	tc.sendPackets(2, tc.conn.cfg.PacketSize)
	wnd := tc.conn.snd.peerWnd
	h := tc.peerHeader(wire.Data, tc.p(0), tc.s(0)-1)
	h.WndSize = 0
	tc.writePacket(h, "a")
	tc.wantPacket("duplicate re-acked", pkt{typ: wire.State, ack: u16(tc.p(0))})
	if tc.conn.snd.una != tc.s(0) || tc.conn.snd.peerWnd != wnd {
		t.Fatalf("a duplicate whose ack_nr does not advance moved una to %d (want %d) or the window to %d", tc.conn.snd.una, tc.s(0), tc.conn.snd.peerWnd)
	}
	h.AckNr = tc.s(0)
	tc.writePacket(h, "a")
	tc.wantPacket("duplicate re-acked", pkt{typ: wire.State, ack: u16(tc.p(0))})
	if tc.conn.snd.una != tc.s(1) {
		t.Fatalf("a duplicate's advancing ack_nr was not taken: una %d, want %d", tc.conn.snd.una, tc.s(1))
	}
	if tc.conn.snd.peerWnd != wnd {
		t.Fatalf("a duplicate's window was taken: %d, was %d", tc.conn.snd.peerWnd, wnd)
	}
}
