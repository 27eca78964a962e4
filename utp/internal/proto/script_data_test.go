package proto

import (
	"strings"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// BEP 29: DATA packets are delivered in seq_nr order.
func TestScriptDataInOrderDelivery(t *testing.T) {
	forEachRole(t, func(t *testing.T, role tcRole) {
		tc := newTestConn(t, role)
		tc.peerData(tc.p(0), "hello ")
		tc.wantEvent("data arrived", EventReadable)
		tc.peerData(tc.p(1), "world")
		tc.wantPacket("second packet acked at once", pkt{typ: wire.State, ack: u16(tc.p(1)), noSACK: true})
		tc.wantRead("in-order data", "hello world")
		tc.wantReadErr("nothing more yet, and not EOF", nil)
	})
}

// BEP 29: a packet past a hole is held, acknowledged at once with a SACK,
// and delivered when the hole fills.
func TestScriptDataOutOfOrderHeldUntilHoleFills(t *testing.T) {
	forEachRole(t, func(t *testing.T, role tcRole) {
		tc := newTestConn(t, role)
		tc.peerData(tc.p(2), "c")
		tc.wantPacket("out-of-order packet acked at once", pkt{typ: wire.State, ack: u16(tc.p(0) - 1), sacked: []uint16{tc.p(2)}})
		tc.peerData(tc.p(1), "b")
		tc.wantPacket("both held packets named", pkt{typ: wire.State, ack: u16(tc.p(0) - 1), sacked: []uint16{tc.p(1), tc.p(2)}})
		tc.wantNoEvent("nothing readable past a hole", EventReadable)
		tc.wantRead("nothing readable past a hole", "")
		tc.peerData(tc.p(0), "a")
		tc.wantPacket("filled hole acked at once", pkt{typ: wire.State, ack: u16(tc.p(2)), noSACK: true})
		tc.wantRead("everything in order", "abc")
	})
}

// libutp REORDER_BUFFER_MAX_SIZE: a packet whose distance from the next
// expected seq_nr is MaxReorder or more is dropped, not held; the sender
// has to resend it. It is outside the receive window, so it is not
// acknowledged either: a forged one must not make us send (accept.go).
func TestScriptDataReorderBound(t *testing.T) {
	tc := newTestConn(t, roleDialer, withConfig(func(c *Config) { c.MaxReorder = 4 }))
	tc.peerData(tc.p(3), "d")
	tc.wantPacket("held", pkt{typ: wire.State, sacked: []uint16{tc.p(3)}})
	ignored := tc.conn.Stats().PacketsIgnored
	tc.peerData(tc.p(4), "e")
	tc.wantIdle("too far ahead: neither held nor acked")
	if got := tc.conn.Stats().PacketsIgnored; got != ignored+1 {
		t.Fatalf("PacketsIgnored %d, want %d", got, ignored+1)
	}
	tc.peerData(tc.p(0), "a")
	tc.peerData(tc.p(1), "b")
	tc.peerData(tc.p(2), "c")
	tc.takeAll()
	tc.wantRead("held packets delivered, the dropped one not", "abcd")
	tc.peerData(tc.p(4), "e")
	tc.wantRead("the dropped packet once resent", "e")
}

// BEP 29 / libutp: a duplicate is not delivered twice and is acknowledged
// at once, since our ACK may have been lost.
func TestScriptDataDuplicateSuppressedAndReacked(t *testing.T) {
	tc := newTestConn(t, roleDialer)
	tc.peerData(tc.p(0), "a")
	tc.advance(tc.conn.cfg.AckDelay)
	tc.wantPacket("delayed ACK", pkt{typ: wire.State, ack: u16(tc.p(0))})
	tc.wantRead("first copy", "a")
	tc.peerData(tc.p(0), "a")
	tc.wantPacket("duplicate re-acked at once", pkt{typ: wire.State, ack: u16(tc.p(0))})
	tc.wantRead("no second delivery", "")

	tc.peerData(tc.p(2), "c")
	tc.wantPacket("held", pkt{typ: wire.State, sacked: []uint16{tc.p(2)}})
	tc.peerData(tc.p(2), "c")
	tc.wantPacket("held duplicate re-acked at once", pkt{typ: wire.State, ack: u16(tc.p(0)), sacked: []uint16{tc.p(2)}})
	tc.peerData(tc.p(1), "b")
	tc.wantRead("each byte once", "bc")
	if got := tc.conn.Stats().Duplicates; got != 2 {
		t.Fatalf("Duplicates %d, want 2", got)
	}
}

// Robustness: when a packet is taken in order while a copy of the same
// seq_nr sits in the reorder buffer (the copy could not be drained for
// lack of room and the peer resent the seq_nr with a smaller payload),
// the held copy must be dropped. A stale slot keeps the window shrunk and
// a SACK on every ACK, and is later delivered as the packet one reorder
// ring later: corrupt data.
func TestScriptDataInOrderArrivalClearsHeldCopy(t *testing.T) {
	tc := newTestConn(t, roleDialer, withConfig(func(c *Config) { c.RecvBufferSize = 1000; c.PacketSize = 700 }))
	big, small := strings.Repeat("B", 400), strings.Repeat("b", 200)
	tc.peerData(tc.p(1), big)                      // held: the window allows it
	tc.peerData(tc.p(0), strings.Repeat("A", 700)) // fills the hole; 400 bytes do not fit behind it
	tc.peerData(tc.p(1), small)                    // p(1) again, now in order
	tc.takeAll()
	got := tc.read()
	if !strings.HasPrefix(got, strings.Repeat("A", 700)) || (got[700:] != small && got[700:] != big) {
		t.Fatalf("read %s, want 700 A then one copy of packet 1", abbrev(got))
	}
	var want strings.Builder
	for i := 2; i < 40; i++ {
		tc.peerData(tc.p(i), "c")
		want.WriteString("c")
	}
	tc.takeAll()
	if got := tc.read(); got != want.String() {
		t.Fatalf("after the resent packet, read %d bytes %s, want %d bytes %s (first difference at byte %d)",
			len(got), abbrev(got), want.Len(), abbrev(want.String()), firstDiff(got, want.String()))
	}
	tc.write("x")
	tc.wantPacket("nothing is held", pkt{typ: wire.Data, ack: u16(tc.p(39)), noSACK: true, wnd: u32(1000)})
}

// BEP 29 wnd_size: the free receive buffer, out-of-order data included; it
// shrinks while data waits unread and grows after Read.
func TestScriptDataWindowAdvertisesFreeBuffer(t *testing.T) {
	tc := newTestConn(t, roleDialer, withConfig(func(c *Config) { c.RecvBufferSize = 1000; c.PacketSize = 200 }))
	chunk := strings.Repeat("z", 200)
	tc.peerData(tc.p(0), chunk)
	tc.advance(tc.conn.cfg.AckDelay)
	tc.wantPacket("one packet unread", pkt{typ: wire.State, ack: u16(tc.p(0)), wnd: u32(800)})
	tc.peerData(tc.p(2), chunk)
	tc.wantPacket("held data counts too", pkt{typ: wire.State, ack: u16(tc.p(0)), wnd: u32(600)})
	tc.peerData(tc.p(1), chunk)
	tc.wantPacket("three packets unread", pkt{typ: wire.State, ack: u16(tc.p(2)), wnd: u32(400)})
	if got := tc.readN(600); len(got) != 600 {
		t.Fatalf("read %d bytes, want 600", len(got))
	}
	tc.wantIdle("the window was never closed: no update needed")
	tc.write("x")
	tc.wantPacket("the next packet advertises the grown window", pkt{typ: wire.Data, wnd: u32(1000)})
}

// libutp / RFC 1122 4.2.3.3: once we advertised a closed window, an ACK
// goes out when Read reopens it, so the sender need not wait for a probe;
// a reopening smaller than the receiver's silly-window threshold does not
// trigger one.
func TestScriptDataAckWhenWindowReopens(t *testing.T) {
	tc := newTestConn(t, roleDialer, withConfig(func(c *Config) { c.RecvBufferSize = 1000; c.PacketSize = 500 }))
	tc.peerData(tc.p(0), strings.Repeat("y", 500))
	tc.peerData(tc.p(1), strings.Repeat("y", 500))
	tc.wantPacket("window closed", pkt{typ: wire.State, ack: u16(tc.p(1)), wnd: u32(0)})
	tc.readN(100)
	tc.wantIdle("100 bytes free is not worth an update")
	tc.readN(900)
	tc.wantPacket("window reopened", pkt{typ: wire.State, ack: u16(tc.p(1)), wnd: u32(1000)})
}

// Config.AckDelay (RFC 1122 4.2.3.2): one in-order packet is acked only
// after AckDelay, every second packet at once, and DATA we send carries
// the ACK so no separate STATE follows.
func TestScriptAckDelayed(t *testing.T) {
	for _, delay := range []time.Duration{0, 50 * time.Millisecond} {
		t.Run("AckDelay="+delay.String(), func(t *testing.T) {
			tc := newTestConn(t, roleDialer, withConfig(func(c *Config) { c.AckDelay = delay }))
			d := tc.conn.cfg.AckDelay
			if delay == 0 && d != 10*time.Millisecond {
				t.Fatalf("default AckDelay %v, want 10ms", d)
			}
			tc.peerData(tc.p(0), "a")
			tc.wantIdle("one packet waits")
			tc.advance(d - time.Millisecond)
			tc.wantIdle("one packet waits")
			tc.advance(time.Millisecond)
			tc.wantPacket("acked after AckDelay", pkt{typ: wire.State, ack: u16(tc.p(0))})

			tc.peerData(tc.p(1), "b")
			tc.wantIdle("first of two")
			tc.peerData(tc.p(2), "c")
			tc.wantPacket("the second packet is acked at once", pkt{typ: wire.State, ack: u16(tc.p(2))})
			tc.advance(d)
			tc.wantIdle("no second ACK for the same data")

			tc.peerData(tc.p(3), "d")
			tc.write("x")
			tc.wantPacket("DATA carries the ACK", pkt{typ: wire.Data, ack: u16(tc.p(3)), payload: "x"})
			tc.advance(d)
			tc.wantIdle("the delayed ACK was cancelled")
		})
	}
}

// BEP 29 selective ACK: while out-of-order data is held every packet we
// send carries a bitmask, a multiple of 4 bytes, where bit i acknowledges
// ack_nr+2+i (least significant bit first).
func TestScriptSACKBitmask(t *testing.T) {
	tc := newTestConn(t, roleDialer)
	ack := tc.p(0) - 1
	tc.peerData(tc.p(1), "b")
	p := tc.wantPacket("one held", pkt{typ: wire.State, ack: u16(ack), sacked: []uint16{tc.p(1)}})
	if string(p.h.SACK) != "\x01\x00\x00\x00" {
		t.Fatalf("SACK %x, want 01000000", p.h.SACK)
	}
	tc.peerData(tc.p(3), "d")
	tc.peerData(tc.p(35), "z")
	tc.takeAll()
	tc.write("x")
	p = tc.wantPacket("DATA carries the SACK too", pkt{typ: wire.Data, ack: u16(ack), sacked: []uint16{tc.p(1), tc.p(3), tc.p(35)}})
	if string(p.h.SACK) != "\x05\x00\x00\x00\x04\x00\x00\x00" {
		t.Fatalf("SACK %x, want 0500000004000000", p.h.SACK)
	}
	tc.peerData(tc.p(0), "a")
	tc.wantPacket("bits shift with ack_nr", pkt{typ: wire.State, ack: u16(tc.p(1)), sacked: []uint16{tc.p(3), tc.p(35)}})
}

// writeFirst writes s on a connection with nothing in flight, which
// sends it at once in the first DATA packet.
func writeFirst(tc *testConn, s string) {
	tc.t.Helper()
	tc.write(s)
	tc.wantPacket("nothing in flight: sent at once", pkt{typ: wire.Data, seq: u16(tc.s(0)), payload: s})
}

// RFC 896 (Nagle): while data is unacknowledged, small writes wait and
// leave together in one packet when the ACK comes.
func TestScriptNagleCoalescesSmallWrites(t *testing.T) {
	tc := newTestConn(t, roleDialer)
	writeFirst(tc, "a")
	tc.write("b")
	tc.write("c")
	tc.wantIdle("small writes wait while data is in flight")
	tc.peerAck(tc.s(0))
	tc.wantPacket("coalesced", pkt{typ: wire.Data, seq: u16(tc.s(1)), payload: "bc"})
}

// A held tail goes once the application waits to read (Push, nagle.go):
// a message written in two Writes and then answered leaves whole without
// waiting for the peer's delayed ACK of its first part. What is written
// after the push coalesces again.
func TestScriptNaglePushSendsHeldTail(t *testing.T) {
	tc := newTestConn(t, roleDialer)
	writeFirst(tc, "head")
	tc.write("body")
	tc.wantIdle("the body waits behind the header")
	tc.push(true)
	tc.wantPacket("pushed: the body goes", pkt{typ: wire.Data, seq: u16(tc.s(1)), payload: "body"})
	tc.push(false)
	tc.write("x")
	tc.write("y")
	tc.wantIdle("writes after the push coalesce again")
	tc.peerAck(tc.s(1))
	tc.wantPacket("coalesced", pkt{typ: wire.Data, seq: u16(tc.s(2)), payload: "xy"})
}

// A Write while a Read waits pushes its tail only behind at most one
// packet in flight (PushBehindOne): a header and its body leave at once,
// a stream of small writes does not become a packet per Write.
func TestScriptNaglePushBehindOne(t *testing.T) {
	tc := newTestConn(t, roleDialer)
	writeFirst(tc, "head")
	tc.write("body")
	tc.pushBehindOne(true)
	tc.wantPacket("one packet in flight: the body goes", pkt{typ: wire.Data, seq: u16(tc.s(1)), payload: "body"})
	tc.write("x")
	tc.pushBehindOne(false)
	tc.wantIdle("two packets in flight: the tail waits")
	tc.peerAck(tc.s(1))
	tc.wantPacket("the ACK releases it", pkt{typ: wire.Data, seq: u16(tc.s(2)), payload: "x"})
}

// Config.NoDelay disables Nagle: every write leaves at once.
func TestScriptNoDelaySendsAtOnce(t *testing.T) {
	tc := newTestConn(t, roleDialer, withConfig(func(c *Config) { c.NoDelay = true }))
	for i, s := range []string{"a", "b", "c"} {
		tc.write(s)
		tc.wantPacket("NoDelay", pkt{typ: wire.Data, seq: u16(tc.s(i)), payload: s})
	}
}

// Sequence numbers are 16 bits and wrap (BEP 29): with both initial
// sequence numbers at 65530 data crosses 65535→0 in both directions, with
// cumulative ACKs, SACK and reordering across the wrap.
func TestScriptSequenceWrap(t *testing.T) {
	forEachRole(t, func(t *testing.T, role tcRole) {
		tc := newTestConn(t, role, withISN(65530, 65530), withWindow(1<<20),
			withConfig(func(c *Config) { c.PacketSize = 10 }))
		if role == roleAcceptor {
			tc.peerAck(tc.s(0) - 1) // let the acceptor send more than one packet
		}
		const n = 12
		chunk := func(i int) string { return strings.Repeat(string(rune('a'+i)), 10) }
		var all strings.Builder
		for i := range n {
			all.WriteString(chunk(i))
		}
		tc.write(all.String())
		crossed := false
		for i := range n {
			p := tc.wantPacket("our data", pkt{typ: wire.Data, seq: u16(tc.s(i)), payload: chunk(i)})
			crossed = crossed || p.h.SeqNr == 0
		}
		if !crossed {
			t.Fatalf("our seq_nr never wrapped to 0 (first %d)", tc.s(0))
		}
		tc.peerAck(tc.s(5), tc.s(7), tc.s(8))
		if got, want := tc.conn.Stats().InFlight, 4*(10+wire.HeaderSize); got != want {
			t.Fatalf("in flight %d after a cumulative ACK and SACK across the wrap, want %d", got, want)
		}
		tc.peerAck(tc.s(n - 1))
		if st := tc.conn.Stats(); st.InFlight != 0 || tc.conn.Buffered() != 0 {
			t.Fatalf("after the final ACK: in flight %d, buffered %d", st.InFlight, tc.conn.Buffered())
		}

		for i := range n {
			if i != 4 {
				tc.peerData(tc.p(i), chunk(i))
			}
		}
		tc.takeAll()
		tc.wantRead("up to the hole", all.String()[:40])
		tc.peerData(tc.p(4), chunk(4))
		tc.wantPacket("everything acked across the wrap", pkt{typ: wire.State, ack: u16(tc.p(n - 1)), noSACK: true})
		tc.wantRead("the rest", all.String()[40:])
	})
}

// Stats counts what a short exchange did.
func TestScriptStatsShortExchange(t *testing.T) {
	tc := newTestConn(t, roleAcceptor) // received the SYN, sent the STATE
	if st := tc.conn.Stats(); st.PacketsSent != 1 || st.PacketsReceived != 2 {
		t.Errorf("after the handshake: PacketsSent %d, PacketsReceived %d; want 1 and 2 (the SYN and the dialer's proof)", st.PacketsSent, st.PacketsReceived)
	}
	tc.write("hello")
	tc.wantPacket("DATA", pkt{typ: wire.Data, payload: "hello"})
	tc.advance(40 * time.Millisecond)
	tc.peerAck(tc.s(0))
	tc.peerData(tc.p(0), "world!")
	tc.advance(tc.conn.cfg.AckDelay)
	tc.wantPacket("ACK", pkt{typ: wire.State, ack: u16(tc.p(0))})
	tc.wantRead("data", "world!")
	tc.writeRaw([]byte("junk"))
	st := tc.conn.Stats()
	want := Stats{
		BytesWritten: 5, BytesSent: 5, BytesReceived: 6, BytesRead: 6,
		PacketsSent: 3, PacketsReceived: 4, PacketsMalformed: 1,
		DelaySamples: 1, RTT: 40 * time.Millisecond, MinRTT: 40 * time.Millisecond, RTTVar: 20 * time.Millisecond,
		RTO: 200 * time.Millisecond, PeerWindow: int(scriptPeerWnd),
		PacketSize: 1400, // the default ceiling, below CommonDatagram's payload
	}
	// The controller's view is LEDBAT's business; compare the rest.
	st.Window, st.QueuingDelay, st.SlowStart = 0, 0, false
	if st != want {
		t.Fatalf("stats\n got %+v\nwant %+v", st, want)
	}
}

// firstDiff returns the index of the first byte where a and b differ.
func firstDiff(a, b string) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}
