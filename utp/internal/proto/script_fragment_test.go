package proto

import (
	"strings"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// strandConfig is a connection whose search has ended at 1,452-byte
// datagrams (an IPv6 path of 1,500), on an IO layer that fragments
// datagrams of 1,453 bytes and more (FragmentPad, IPv6).
func strandConfig(c *Config) {
	c.PacketSize = 65000
	c.PathBase, c.PathOverhead = 1280-48, 48
	c.PathCeiling, c.PathStart = 1452, 1452
	c.FragmentPad = 1453
}

// strandSetup sends four full packets, has the peer hold the last two
// (a hole below them, as a congested queue leaves), then lets two
// timeouts pass with nothing acknowledged: the black hole of a path that
// shrank. It returns the packets' payloads, with the connection waiting
// for the peer's answer to its question.
func strandSetup(t *testing.T) (*testConn, []string) {
	tc := newTestConn(t, roleDialer, withConfig(strandConfig), withWindow(64<<10), withPeerMaxDatagram(65535))
	full := tc.conn.maxPayload()
	if full != 1452-dataOverhead(&tc.conn.cfg) {
		t.Fatalf("full payload %d at a 1,452-byte path", full)
	}
	chunks := tc.sendPackets(4, full)
	tc.peerAck(tc.s(0)-1, tc.s(2), tc.s(3))
	tc.takeAll()
	// Loss detection's timer fires first; the retransmission timeouts
	// follow.
	for i := 0; i < 10 && tc.conn.Stats().PathBlackHoles == 0; i++ {
		tc.advanceToTimer()
	}
	if st := tc.conn.Stats(); st.PathBlackHoles != 1 || st.PathMTU != tc.cfg.PathBase {
		t.Fatalf("no fall to the base after %d timeouts: %+v", pmtuBlackHoleRTOs, st)
	}
	tc.takeAll()
	return tc, chunks
}

// TestStrandedResendsFragmentable is the decision of fragment.go: after
// the path shrank, packets too large for it that the peer cannot take
// re-packetized (it holds data beyond them) are resent with their
// original payload, marked Fragmentable and padded to FragmentPad, once
// the peer's answer shows nothing new arrived; nothing else is
// fragmentable, and new data goes out in packets that fit.
func TestStrandedResendsFragmentable(t *testing.T) {
	tc, chunks := strandSetup(t)
	// The answer repeats what the peer held before: not evidence that
	// large packets still pass.
	tc.advance(2 * time.Second)
	tc.peerAck(tc.s(0)-1, tc.s(2), tc.s(3))
	var resent []sentPacket
	for _, p := range tc.takeAll() {
		if p.frag {
			resent = append(resent, p)
		}
	}
	if len(resent) != 2 {
		t.Fatalf("%d fragmentable resends, want the 2 stranded packets: %v", len(resent), resent)
	}
	for i, p := range resent {
		if p.h.SeqNr != tc.s(i) || string(p.payload) != chunks[i] {
			t.Errorf("fragmentable resend %d is %v, want seq %d with its original payload", i, p, tc.s(i))
		}
		if len(p.raw) != tc.cfg.FragmentPad {
			t.Errorf("fragmentable resend %d is %d bytes, want it padded to %d", i, len(p.raw), tc.cfg.FragmentPad)
		}
	}
	if st := tc.conn.Stats(); st.FragmentedResends != 2 || st.Repacketized != 0 {
		t.Errorf("FragmentedResends %d, Repacketized %d; want 2 and 0", st.FragmentedResends, st.Repacketized)
	}
	tc.peerAck(tc.s(3))
	tc.write(string(make([]byte, 3000)))
	for _, p := range tc.takeAll() {
		if p.frag || (len(p.payload) > 0 && len(p.raw) > tc.cfg.PathBase) {
			t.Errorf("new data sent as %v (%d bytes, fragmentable %v) on a path of %d", p, len(p.raw), p.frag, tc.cfg.PathBase)
		}
	}
}

// TestStrandedFalseAlarm: an answer showing a packet the peer got since
// sending stopped proves large packets still pass: the search is
// restored, and nothing goes fragmentable.
func TestStrandedFalseAlarm(t *testing.T) {
	tc, _ := strandSetup(t)
	tc.peerAck(tc.s(0)-1, tc.s(1), tc.s(2), tc.s(3))
	for _, p := range tc.takeAll() {
		if p.frag {
			t.Errorf("sent %v fragmentable after a false alarm", p)
		}
	}
	if st := tc.conn.Stats(); st.PathMTU != 1452 || st.FragmentedResends != 0 {
		t.Errorf("PathMTU %d, FragmentedResends %d after a false alarm; want 1452 and 0", st.PathMTU, st.FragmentedResends)
	}
}

// TestStrandedNoneHeld: a peer that holds nothing beyond the large
// packets gets them re-packetized, not fragmented.
func TestStrandedNoneHeld(t *testing.T) {
	tc := newTestConn(t, roleDialer, withConfig(strandConfig), withWindow(64<<10), withPeerMaxDatagram(65535))
	tc.sendPackets(4, tc.conn.maxPayload())
	for range pmtuBlackHoleRTOs {
		tc.advanceToTimer()
	}
	tc.takeAll()
	tc.advance(2 * time.Second)
	tc.peerAck(tc.s(0) - 1)
	for _, p := range tc.takeAll() {
		// Probes (empty) search upward again; data fits the base.
		if p.frag || (len(p.payload) > 0 && len(p.raw) > tc.cfg.PathBase) {
			t.Errorf("sent %v (%d bytes, fragmentable %v) after re-packetizing", p, len(p.raw), p.frag)
		}
	}
	if st := tc.conn.Stats(); st.Repacketized != 1 || st.FragmentedResends != 0 {
		t.Errorf("Repacketized %d, FragmentedResends %d; want 1 and 0", st.Repacketized, st.FragmentedResends)
	}
}

// TestShortPacketBelowBaseIsBlackHole: on an IPv4 path that narrowed
// below the base, the oldest unacknowledged packet may be a short one
// (the tail of a write), smaller than the base but larger than the new
// path. Its timeouts must still be taken for a black hole, as any packet
// larger than the floor may have met one; checked against the base, the
// path was never suspected and the connection timed out (a 1,500-byte
// kernel path narrowed to 576 mid-transfer, e2e/pathmtu, one run in five).
func TestShortPacketBelowBaseIsBlackHole(t *testing.T) {
	tc := newTestConn(t, roleDialer, withConfig(func(c *Config) {
		c.PacketSize = 65000
		c.PathBase, c.PathFloor, c.PathOverhead = 1280-28, 576-28, 28
		c.PathCeiling, c.PathStart = 1472, 1472
	}), withWindow(64<<10), withPeerMaxDatagram(65535))
	short := strings.Repeat("s", 700) // between the floor's payload and the base's
	tc.write(short)
	tc.wantPacket("the short packet", pkt{typ: wire.Data, seq: u16(tc.s(0)), payload: short})
	for i := 0; i < 10 && tc.conn.Stats().PathBlackHoles == 0; i++ {
		tc.advanceToTimer()
	}
	if st := tc.conn.Stats(); st.PathBlackHoles == 0 {
		t.Fatalf("no black hole suspected after %d timeouts with a 700-byte packet outstanding: %+v", st.Timeouts, st)
	}
}
