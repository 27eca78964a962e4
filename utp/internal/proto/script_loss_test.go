package proto

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/cc"
	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// libutp DUPLICATE_ACKS_BEFORE_RESEND, RFC 5681 3.2: the third duplicate
// ACK resends the oldest unacknowledged packet, once.
func TestScriptFastRetransmitAfterThreeDupAcks(t *testing.T) {
	tc := newTestConn(t, roleDialer, withWindow(1<<20), withConfig(func(c *Config) { c.PacketSize = 10 }))
	chunks := tc.sendPackets(5, 10)
	for i := 1; i <= 2; i++ {
		tc.peerAck(tc.s(0) - 1)
		tc.wantIdle(fmt.Sprintf("duplicate ACK %d", i))
	}
	tc.peerAck(tc.s(0) - 1)
	tc.wantPacket("third duplicate ACK", pkt{typ: wire.Data, seq: u16(tc.s(0)), payload: chunks[0]})
	tc.wantIdle("only the oldest packet")
	for range 3 {
		tc.peerAck(tc.s(0) - 1)
	}
	tc.wantIdle("more duplicates do not resend again")
	if st := tc.conn.Stats(); st.FastRetransmits != 1 || st.Retransmits != 1 || st.Timeouts != 0 {
		t.Fatalf("FastRetransmits %d, Retransmits %d, Timeouts %d; want 1, 1, 0", st.FastRetransmits, st.Retransmits, st.Timeouts)
	}
	tc.peerAck(tc.s(4))
	if st := tc.conn.Stats(); st.InFlight != 0 {
		t.Fatalf("in flight %d after everything was acked", st.InFlight)
	}
}

// RFC 5827 3.2 (early retransmit, documented in ack.go): with fewer than
// four packets in flight the threshold is one less than the packets in
// flight, since three duplicates can never arrive; but only duplicates
// whose SACK names a later packet count, since every packet of so small
// a flight lies inside any peer's bitmask: a repeated ack_nr without
// news (a window update, the ACK of a duplicate) says nothing of loss.
func TestScriptEarlyRetransmitSmallFlight(t *testing.T) {
	tc := newTestConn(t, roleDialer, withWindow(1<<20), withConfig(func(c *Config) { c.PacketSize = 10 }))
	chunks := tc.sendPackets(3, 10)
	tc.peerAck(tc.s(0) - 1)
	tc.peerAck(tc.s(0) - 1)
	tc.wantIdle("two duplicates without SACK news with three in flight")
	tc.peerAck(tc.s(0)-1, tc.s(1))
	tc.wantIdle("one duplicate with news with three in flight")
	tc.peerAck(tc.s(0)-1, tc.s(1), tc.s(2))
	tc.wantPacket("second duplicate with news with three in flight", pkt{typ: wire.Data, seq: u16(tc.s(0)), payload: chunks[0]})
}

// RFC 5681 2 and 3.2: a duplicate ACK signals loss because a later
// segment arrived. With a single packet in flight nothing later exists, so
// a STATE repeating our ack_nr (a window update after the peer's Read, or
// a re-ACK of a duplicate) cannot mean it was lost; RFC 5827's ER_thresh
// would be 0 here. No retransmission may follow.
func TestScriptSinglePacketDupAckNoRetransmit(t *testing.T) {
	tc := newTestConn(t, roleDialer)
	tc.write("a")
	tc.wantPacket("DATA", pkt{typ: wire.Data, seq: u16(tc.s(0)), payload: "a"})
	tc.advance(10 * time.Millisecond)
	tc.peerWnd *= 2 // the peer's reader caught up
	tc.peerAck(tc.s(0) - 1)
	tc.wantIdle("a window update is not evidence of loss")
	if got := tc.conn.Stats().Retransmits; got != 0 {
		t.Fatalf("Retransmits %d, want 0", got)
	}
}

// RFC 5681 2: an ACK that carries data is not a duplicate ACK.
func TestScriptDataPacketsAreNotDuplicateAcks(t *testing.T) {
	tc := newTestConn(t, roleDialer, withWindow(1<<20), withConfig(func(c *Config) { c.PacketSize = 10 }))
	tc.sendPackets(5, 10)
	for i := range 5 {
		tc.peerData(tc.p(i), "x")
	}
	for _, p := range tc.takeAll() {
		if p.h.Type != wire.State {
			t.Fatalf("sent %v in reply to data acking nothing new", p)
		}
	}
	if got := tc.conn.Stats().FastRetransmits; got != 0 {
		t.Fatalf("FastRetransmits %d, want 0", got)
	}
}

// SACK evidence (RFC 6675 DupThresh, sackThreshold in ack.go): a packet is
// lost once 3 packets sent after it are selectively acknowledged; 2 are
// not enough, and packets sent after the acknowledged ones are not lost.
func TestScriptRetransmitOnSACKEvidence(t *testing.T) {
	tc := newTestConn(t, roleDialer, withWindow(1<<20), withConfig(func(c *Config) { c.PacketSize = 10 }))
	chunks := tc.sendPackets(6, 10)
	tc.peerAck(tc.s(0)-1, tc.s(1), tc.s(2))
	tc.wantIdle("two packets past the hole")
	tc.peerAck(tc.s(0)-1, tc.s(1), tc.s(2), tc.s(3))
	tc.wantPacket("three packets past the hole", pkt{typ: wire.Data, seq: u16(tc.s(0)), payload: chunks[0]})
	tc.wantIdle("packets sent after the SACKed ones are not lost")
	if st := tc.conn.Stats(); st.FastRetransmits != 1 || st.InFlight != 3*(10+wire.HeaderSize) {
		t.Fatalf("FastRetransmits %d, InFlight %d; want 1 and %d", st.FastRetransmits, st.InFlight, 3*(10+wire.HeaderSize))
	}
}

// libutp fast_resend_seq_nr: a packet is resent once per loss. When SACK
// evidence has already resent the oldest packet, the third duplicate ACK
// that follows is the same evidence and must not resend it again.
func TestScriptSACKLossNotResentByThirdDupAck(t *testing.T) {
	tc := newTestConn(t, roleDialer, withWindow(1<<20), withConfig(func(c *Config) { c.PacketSize = 10 }))
	chunks := tc.sendPackets(6, 10)
	tc.peerAck(tc.s(0)-1, tc.s(1))
	tc.wantIdle("first duplicate ACK")
	tc.peerAck(tc.s(0)-1, tc.s(1), tc.s(2), tc.s(3))
	tc.wantPacket("SACK evidence at the second duplicate ACK", pkt{typ: wire.Data, seq: u16(tc.s(0)), payload: chunks[0]})
	tc.peerAck(tc.s(0)-1, tc.s(1), tc.s(2), tc.s(3), tc.s(4))
	tc.wantIdle("the third duplicate ACK does not resend it again")
	if st := tc.conn.Stats(); st.FastRetransmits != 1 || st.Retransmits != 1 {
		t.Fatalf("FastRetransmits %d, Retransmits %d; want 1 and 1", st.FastRetransmits, st.Retransmits)
	}
}

// RFC 5681 3.2 step 3 and RFC 6675 section 5 step (4.3): on entering loss
// recovery the oldest packet is resent without waiting for room in the
// window. Packets that reached the peer past the end of its SACK bitmask
// stay counted in flight, so after the loss response shrinks the window
// the flight can exceed it until the oldest packet is repaired.
func TestScriptOldestResentWhateverTheWindow(t *testing.T) {
	const size = 10 + wire.HeaderSize
	tc := newTestConn(t, roleDialer, withWindow(8*size), withConfig(func(c *Config) { c.PacketSize = 10 }))
	chunks := tc.sendPackets(8, 10)
	tc.conn.ctrl.(*fixedWindow).wnd = 4 * size // as a halving on loss would
	for i := 1; i <= 2; i++ {
		tc.peerAck(tc.s(0) - 1) // no SACK: what arrived is past the bitmask
		tc.wantIdle(fmt.Sprintf("duplicate ACK %d", i))
	}
	tc.peerAck(tc.s(0) - 1)
	tc.wantPacket("third duplicate ACK, 7 packets in flight, window 4", pkt{typ: wire.Data, seq: u16(tc.s(0)), payload: chunks[0]})
	tc.wantIdle("nothing else fits the window")
	if st := tc.conn.Stats(); st.Timeouts != 0 {
		t.Fatalf("Timeouts %d, want 0", st.Timeouts)
	}
}

// RFC 6298 5.3 restarts the retransmission timer so that it times the
// oldest outstanding packet; a fast retransmission of that packet restarts
// it too (as Linux's tcp_xmit_retransmit_queue does). Left running from
// the first transmission, the timer would expire before the
// retransmission could have been acknowledged.
func TestScriptFastRetransmitRestartsTimer(t *testing.T) {
	tc := newTestConn(t, roleDialer, withWindow(1<<20), withConfig(func(c *Config) { c.PacketSize = 10 }))
	chunks := tc.sendPackets(5, 10)
	rto := tc.conn.Stats().RTO
	tc.advance(rto * 3 / 4)
	for range 3 {
		tc.peerAck(tc.s(0) - 1)
	}
	tc.wantPacket("third duplicate ACK", pkt{typ: wire.Data, seq: u16(tc.s(0)), payload: chunks[0]})
	resent := tc.now
	tc.advanceTo(resent.Add(rto - time.Millisecond))
	tc.wantIdle("less than an RTO after the fast retransmission")
	if st := tc.conn.Stats(); st.Timeouts != 0 {
		t.Fatalf("timed out %v after the fast retransmission (RTO %v)", tc.now.Sub(resent), rto)
	}
	tc.advance(time.Millisecond)
	tc.wantPacket("an RTO after the fast retransmission", pkt{typ: wire.Data, seq: u16(tc.s(0)), payload: chunks[0]})
	if st := tc.conn.Stats(); st.Timeouts != 1 {
		t.Fatalf("Timeouts %d, want 1", st.Timeouts)
	}
}

// RFC 6298 2.1: before any RTT sample the RTO is 1 s.
func TestScriptRTOInitialOneSecond(t *testing.T) {
	tc := newTestConn(t, roleAcceptor) // no RTT sample from the handshake
	tc.write("hello")
	tc.wantPacket("DATA", pkt{typ: wire.Data, seq: u16(tc.s(0)), payload: "hello"})
	tc.advance(time.Second - time.Millisecond)
	tc.wantIdle("before 1 s")
	tc.advance(time.Millisecond)
	tc.wantPacket("resent after 1 s", pkt{typ: wire.Data, seq: u16(tc.s(0)), payload: "hello"})
	if st := tc.conn.Stats(); st.Timeouts != 1 || st.Retransmits != 1 {
		t.Fatalf("Timeouts %d, Retransmits %d; want 1 and 1", st.Timeouts, st.Retransmits)
	}
}

// RFC 6298 2.2-2.4: after a sample R, SRTT = R, RTTVAR = R/2 and
// RTO = SRTT + 4*RTTVAR, at least 200 ms (DefaultMinRTO, a documented
// deviation from the RFC's 1 s).
func TestScriptRTOFromSamples(t *testing.T) {
	for _, tt := range []struct{ rtt, rto time.Duration }{
		{100 * time.Millisecond, 300 * time.Millisecond},
		{10 * time.Millisecond, 200 * time.Millisecond}, // 30 ms, raised to the minimum
	} {
		t.Run(tt.rtt.String(), func(t *testing.T) {
			tc := newTestConn(t, roleAcceptor)
			tc.write("a")
			tc.wantPacket("DATA", pkt{typ: wire.Data, payload: "a"})
			tc.advance(tt.rtt)
			tc.peerAck(tc.s(0))
			if st := tc.conn.Stats(); st.RTT != tt.rtt || st.RTTVar != tt.rtt/2 || st.RTO != tt.rto {
				t.Fatalf("RTT %v RTTVar %v RTO %v; want %v %v %v", st.RTT, st.RTTVar, st.RTO, tt.rtt, tt.rtt/2, tt.rto)
			}
			tc.write("b")
			tc.wantPacket("DATA", pkt{typ: wire.Data, seq: u16(tc.s(1)), payload: "b"})
			tc.advance(tt.rto - time.Millisecond)
			tc.wantIdle("before the RTO")
			tc.advance(time.Millisecond)
			tc.wantPacket("resent after the RTO", pkt{typ: wire.Data, seq: u16(tc.s(1)), payload: "b"})
		})
	}
}

// RFC 6298 5.5: the RTO doubles on each expiry; the doubling stops at
// RTT.MaxBackoff (default 4 s, a documented deviation).
func TestScriptRTOBackoffDoubles(t *testing.T) {
	for _, tt := range []struct {
		maxBackoff time.Duration
		gaps       []time.Duration
	}{
		{0, []time.Duration{1, 2, 4, 4, 4}},
		{time.Minute, []time.Duration{1, 2, 4, 8, 16}},
	} {
		t.Run(fmt.Sprint("MaxBackoff=", tt.maxBackoff), func(t *testing.T) {
			tc := newTestConn(t, roleAcceptor, withConfig(func(c *Config) { c.RTT.MaxBackoff = tt.maxBackoff }))
			tc.write("a")
			tc.wantPacket("DATA", pkt{typ: wire.Data, payload: "a"})
			for i, gap := range tt.gaps {
				gap *= time.Second
				tc.advance(gap - time.Millisecond)
				tc.wantIdle(fmt.Sprintf("before expiry %d", i+1))
				tc.advance(time.Millisecond)
				tc.wantPacket(fmt.Sprintf("expiry %d after %v", i+1, gap), pkt{typ: wire.Data, seq: u16(tc.s(0)), payload: "a"})
			}
		})
	}
}

// Config.MaxTimeouts (libutp semantics: that many retransmissions by
// timeout, then the next expiry gives up): the connection closes with
// ErrTimedOut, reported by EventClosed, Read and Write.
func TestScriptRTOMaxTimeoutsCloses(t *testing.T) {
	tc := newTestConn(t, roleAcceptor, withConfig(func(c *Config) { c.MaxTimeouts = 3 }))
	tc.write("a")
	tc.wantPacket("DATA", pkt{typ: wire.Data, payload: "a"})
	for i, gap := range []time.Duration{1, 2, 4} {
		tc.advance(gap * time.Second)
		tc.wantPacket(fmt.Sprintf("retransmission %d", i+1), pkt{typ: wire.Data, seq: u16(tc.s(0))})
	}
	tc.advance(4*time.Second - time.Millisecond)
	tc.wantOpen("before the fourth expiry")
	tc.advance(time.Millisecond)
	tc.wantClosed("fourth expiry", ErrTimedOut)
	tc.wantIdle("no retransmission after giving up")
	tc.wantReadErr("Read", ErrTimedOut)
	tc.wantWriteErr("Write", ErrTimedOut)
	if st := tc.conn.Stats(); st.Timeouts != 4 {
		t.Fatalf("Timeouts %d, want 4", st.Timeouts)
	}
	tc.advance(time.Minute)
	tc.wantIdle("a closed connection is silent")
}

// RFC 6298 5.7 / libutp: an ACK of new data clears the backoff and the
// count of consecutive timeouts.
func TestScriptRTOProgressResetsTimeoutCount(t *testing.T) {
	tc := newTestConn(t, roleAcceptor, withConfig(func(c *Config) { c.MaxTimeouts = 2 }))
	tc.write("a")
	tc.advance(time.Second)
	tc.advance(2 * time.Second)
	tc.takeAll()
	tc.peerAck(tc.s(0))
	if got := tc.conn.Stats().RTO; got != time.Second {
		t.Fatalf("RTO %v after progress, want the unbacked-off 1s", got)
	}
	tc.write("b")
	tc.takeAll()
	tc.advance(time.Second)
	tc.advance(2 * time.Second)
	tc.wantOpen("two timeouts since the last progress")
	tc.wantPacket("first", pkt{typ: wire.Data, seq: u16(tc.s(1))})
	tc.wantPacket("second", pkt{typ: wire.Data, seq: u16(tc.s(1))})
	tc.advance(4 * time.Second)
	tc.wantClosed("third timeout since the last progress", ErrTimedOut)
}

// RFC 6298 3 (Karn): no RTT sample from a packet that was retransmitted,
// since its ACK cannot be matched to one transmission. First
// transmissions still give samples.
func TestScriptKarnNoSampleFromRetransmission(t *testing.T) {
	t.Run("data", func(t *testing.T) {
		tc := newTestConn(t, roleAcceptor)
		tc.write("a")
		tc.advance(time.Second)
		tc.takeAll()
		tc.advance(50 * time.Millisecond)
		tc.peerAck(tc.s(0))
		if st := tc.conn.Stats(); st.RTT != 0 || st.RTO != time.Second {
			t.Fatalf("RTT %v RTO %v after acking a retransmission; want no sample (0, 1s)", st.RTT, st.RTO)
		}
		tc.write("b")
		tc.advance(100 * time.Millisecond)
		tc.peerAck(tc.s(1))
		if got := tc.conn.Stats().RTT; got != 100*time.Millisecond {
			t.Fatalf("RTT %v from a first transmission, want 100ms", got)
		}
	})
	t.Run("SYN", func(t *testing.T) {
		tc := newRawTestConn(t, roleDialer)
		tc.advance(time.Second)
		tc.takeAll()
		tc.advance(100 * time.Millisecond)
		tc.writePacket(tc.peerHeader(wire.State, scriptPeerISN, scriptISN), "")
		tc.wantEvent("connected", EventConnected)
		if got := tc.conn.Stats().RTT; got != 0 {
			t.Fatalf("RTT %v from a retransmitted SYN, want no sample", got)
		}
	})
}

// RFC 6298 5.4 and RFC 6817 2.4.2 (cwnd = 1 MSS after a timeout): after a
// timeout only the oldest packet is resent; the next waits for an ACK.
func TestScriptTimeoutResendsOnePacket(t *testing.T) {
	tc := newTestConn(t, roleDialer, withConfig(func(c *Config) { c.PacketSize = 100 }))
	if w := tc.conn.Stats().Window; w < 2*(100+wire.HeaderSize) {
		t.Fatalf("initial window %d, want at least two packets", w)
	}
	chunks := tc.sendPackets(2, 100)
	tc.advanceToTimer()
	tc.wantPacket("oldest resent", pkt{typ: wire.Data, seq: u16(tc.s(0)), payload: chunks[0]})
	tc.wantIdle("one packet after a timeout")
	// The ACK of the retransmission, a round trip later: the send time it
	// echoes is after the timeout, so the timeout was real (an ACK at once
	// would have been for the original, and would undo it, rtoundo.go).
	tc.advance(30 * time.Millisecond)
	tc.peerAck(tc.s(0))
	tc.wantPacket("next resent after the ACK", pkt{typ: wire.Data, seq: u16(tc.s(1)), payload: chunks[1]})
}

// Issue 17, RFC 4015: a timeout whose next ACK was for the originals (it
// echoes a send time before the timeout: the sender was descheduled, or
// the ACKs were late) is undone: the window is as before it, and what the
// timeout queued for resending is not resent.
func TestScriptSpuriousTimeoutUndone(t *testing.T) {
	tc := newTestConn(t, roleDialer, withConfig(func(c *Config) { c.PacketSize = 100 }))
	before := tc.conn.Stats().Window
	chunks := tc.sendPackets(2, 100)
	tc.advanceToTimer()
	tc.wantPacket("oldest resent", pkt{typ: wire.Data, seq: u16(tc.s(0)), payload: chunks[0]})
	if w := tc.conn.Stats().Window; w >= before {
		t.Fatalf("window %d after the timeout, want below %d", w, before)
	}
	tc.peerAck(tc.s(0)) // at once, and echoing a send time before the timeout
	st := tc.conn.Stats()
	if st.SpuriousTimeouts != 1 || st.Window < before {
		t.Fatalf("after an ACK for the originals: %d timeouts undone, window %d; want 1 and at least %d", st.SpuriousTimeouts, st.Window, before)
	}
	tc.wantIdle("the second packet is back in flight, not resent")
	tc.advance(30 * time.Millisecond)
	tc.peerAck(tc.s(1))
	if st := tc.conn.Stats(); st.Retransmits != 1 || st.InFlight != 0 {
		t.Fatalf("%d retransmits, %d bytes in flight after everything was acknowledged; want 1 and 0", st.Retransmits, st.InFlight)
	}
}

// BEP 29 / RFC 6817 2.4.2: bytes in flight (headers included) never exceed
// the peer's advertised window, whatever the congestion window allows.
func TestScriptPeerWindowBoundsFlight(t *testing.T) {
	const wnd = 500
	tc := newTestConn(t, roleDialer, withWindow(1<<20), withConfig(func(c *Config) { c.PacketSize = 100 }))
	tc.peerWnd = wnd
	tc.peerAck(tc.s(0) - 1)
	tc.write(strings.Repeat("w", 2000))
	outstanding := map[uint16]int{}
	sent, peak := 0, 0
	for round := 0; sent < 2000; round++ {
		if round > 50 {
			t.Fatalf("stalled after %d bytes", sent)
		}
		for _, p := range tc.takeAll() {
			if p.h.Type != wire.Data {
				continue
			}
			outstanding[p.h.SeqNr] = len(p.payload) + wire.HeaderSize
			sent += len(p.payload)
		}
		total := 0
		for _, n := range outstanding {
			total += n
		}
		if total > wnd {
			t.Fatalf("round %d: %d bytes outstanding, peer window %d", round, total, wnd)
		}
		peak = max(peak, total)
		// The peer acknowledges the oldest two outstanding packets.
		ack := tc.s(0) - 1
		for i := range 2 {
			if _, ok := outstanding[tc.peerAckNr+1+uint16(i)]; ok {
				ack = tc.peerAckNr + 1 + uint16(i)
				delete(outstanding, ack)
			}
		}
		if ack != tc.s(0)-1 {
			tc.peerAck(ack)
		}
	}
	if peak != 4*(100+wire.HeaderSize) {
		t.Fatalf("peak flight %d, want 4 full packets (%d) within the window", peak, 4*(100+wire.HeaderSize))
	}
}

// RFC 5682 (F-RTO), SACK-enhanced, as Linux's tcp_process_loss applies it
// to the first ACK: a timeout is spurious when the ACK after it
// acknowledges a packet sent before it and not since, although its echo
// is of the retransmission (a peer that read the originals and the
// retransmission in one batch and answered once). The window is kept and
// nothing more is resent.
func TestScriptTimeoutUndoneByOriginalsAck(t *testing.T) {
	tc := newTestConn(t, roleDialer, withFourPacketStart())
	before := tc.conn.Stats().Window
	tc.sendPackets(3, 100)
	tc.advanceToTimer()
	tc.wantPacket("oldest resent", pkt{typ: wire.Data, seq: u16(tc.s(0))})
	tc.advance(30 * time.Millisecond)
	tc.peerAck(tc.s(2)) // echoes the retransmission's send time, as TestScriptTimeoutResendsOnePacket's
	st := tc.conn.Stats()
	if st.SpuriousTimeouts != 1 || st.Window < before {
		t.Fatalf("after an ACK of packets sent before the timeout: %d timeouts undone, window %d; want 1 and at least %d", st.SpuriousTimeouts, st.Window, before)
	}
	if st.Retransmits != 1 {
		t.Fatalf("%d retransmits, want the timeout's one", st.Retransmits)
	}
}

// The same evidence by SACK: the packet named arrived, so the timeout
// was spurious, and the hole before it is a loss that RACK repairs once
// it is back in flight, with one reduction, not the timeout's collapse.
func TestScriptTimeoutUndoneBySACKRepairsHole(t *testing.T) {
	tc := newTestConn(t, roleDialer, withFourPacketStart())
	chunks := tc.sendPackets(4, 100)
	tc.advanceToTimer()
	tc.wantPacket("oldest resent", pkt{typ: wire.Data, seq: u16(tc.s(0)), payload: chunks[0]})
	tc.advance(30 * time.Millisecond)
	tc.peerAck(tc.s(0), tc.s(2), tc.s(3)) // the retransmission, and two originals past a hole
	st := tc.conn.Stats()
	if st.SpuriousTimeouts != 1 {
		t.Fatalf("%d timeouts undone after a SACK of packets sent before the timeout, want 1", st.SpuriousTimeouts)
	}
	tc.advanceToTimer()
	tc.wantPacket("the hole resent", pkt{typ: wire.Data, seq: u16(tc.s(1)), payload: chunks[1]})
	if st := tc.conn.Stats(); st.Recoveries != 1 || st.Retransmits != 2 {
		t.Fatalf("%d recovery episodes, %d retransmits; want the hole's one episode and 2", st.Recoveries, st.Retransmits)
	}
}

// withFourPacketStart has 100-byte packets and LEDBAT++ starting at four
// of them, so that a flight of four can time out.
func withFourPacketStart() tcOption {
	return withConfig(func(c *Config) {
		c.PacketSize = 100
		c.NewController = func(now time.Time, mss int) cc.Controller {
			return cc.NewLEDBATPP(now, cc.LEDBATPPConfig{MSS: mss, InitialWindow: 4})
		}
	})
}

// Not for a timeout during recovery, as Linux's tcp_enter_loss: there the
// timeout may be for a lost retransmission while packets sent after it
// still arrive, and their ACKs show the path working, not the timeout
// spurious.
func TestScriptTimeoutInRecoveryNotUndoneBySACK(t *testing.T) {
	tc := newTestConn(t, roleDialer, withFourPacketStart())
	tc.sendPackets(4, 100)
	tc.peerAck(tc.s(0)-1, tc.s(1), tc.s(2), tc.s(3)) // the oldest is lost: recovery
	tc.write(strings.Repeat("n", 100))
	sent := tc.takeAll() // the oldest's repair, and new data the ACK made room for
	if st := tc.conn.Stats(); st.Recoveries != 1 || len(sent) < 2 {
		t.Fatalf("%d recovery episodes, %d packets sent after the SACK; want 1 and the repair with new data", st.Recoveries, len(sent))
	}
	tc.advanceToTimer() // the repair was lost
	tc.takeAll()
	if st := tc.conn.Stats(); st.Timeouts != 1 {
		t.Fatalf("%d timeouts, want 1", st.Timeouts)
	}
	tc.advance(30 * time.Millisecond)
	tc.peerAck(tc.s(0)-1, tc.s(1), tc.s(2), tc.s(3), tc.s(4)) // the new packet, sent before the timeout
	if st := tc.conn.Stats(); st.SpuriousTimeouts != 0 {
		t.Fatalf("a timeout during recovery undone by the SACK of a later packet (%d)", st.SpuriousTimeouts)
	}
}
