package proto

import (
	"fmt"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// libutp KEEPALIVE_INTERVAL and send_keep_alive: after Config.Keepalive
// (29 s) without sending, a STATE acking ack_nr−1 goes out, so the peer
// takes it as an old ACK; it repeats every interval.
func TestScriptKeepalive(t *testing.T) {
	tc := newTestConn(t, roleDialer)
	tc.peerData(tc.p(0), "x")
	tc.advance(tc.conn.cfg.AckDelay)
	last := tc.wantPacket("ACK", pkt{typ: wire.State, ack: u16(tc.p(0))}).at
	if tc.conn.cfg.Keepalive != 29*time.Second {
		t.Fatalf("default Keepalive %v, want 29s", tc.conn.cfg.Keepalive)
	}
	for i := 1; i <= 2; i++ {
		tc.advanceTo(last.Add(29*time.Second - time.Millisecond))
		tc.wantIdle(fmt.Sprintf("before keepalive %d", i))
		tc.advance(time.Millisecond)
		last = tc.wantPacket(fmt.Sprintf("keepalive %d", i), pkt{typ: wire.State, seq: u16(tc.s(0)), ack: u16(tc.p(0) - 1), noSACK: true}).at
	}
	tc.wantOpen("keepalives do not end the connection")
}

// libutp: a keepalive (STATE acking ack_nr−1) is an old ACK, never a
// duplicate ACK: however many arrive while data is in flight, nothing is
// retransmitted.
func TestScriptKeepaliveIsNotDuplicateAck(t *testing.T) {
	for _, acked := range []int{0, 1} {
		t.Run(fmt.Sprintf("peer acked %d", acked), func(t *testing.T) {
			tc := newTestConn(t, roleDialer, withWindow(1<<20), withConfig(func(c *Config) { c.PacketSize = 10 }))
			tc.sendPackets(4, 10)
			if acked > 0 {
				tc.peerAck(tc.s(acked - 1))
			}
			for range 5 {
				tc.peerKeepalive()
			}
			tc.wantIdle("keepalives are not duplicate ACKs")
			if got := tc.conn.Stats().FastRetransmits; got != 0 {
				t.Fatalf("FastRetransmits %d, want 0", got)
			}
		})
	}
}

// Config.IdleTimeout: nothing received for that long ends the connection
// with ErrTimedOut, even though we keep sending keepalives; anything
// received restarts the clock; a negative value disables it.
func TestScriptIdleTimeout(t *testing.T) {
	t.Run("45s", func(t *testing.T) {
		tc := newTestConn(t, roleDialer, withConfig(func(c *Config) { c.IdleTimeout = 45 * time.Second }))
		tc.advance(10 * time.Second)
		tc.peerData(tc.p(0), "x")
		tc.wantRead("data", "x")
		heard := tc.now
		tc.advanceTo(heard.Add(45*time.Second - time.Millisecond))
		tc.wantOpen("before the idle timeout")
		tc.advance(time.Millisecond)
		tc.wantClosed("nothing heard for IdleTimeout", ErrTimedOut)
		tc.wantReadErr("Read", ErrTimedOut)
	})
	t.Run("default 90s", func(t *testing.T) {
		tc := newTestConn(t, roleAcceptor)
		tc.advance(90*time.Second - time.Millisecond)
		tc.wantOpen("before 90 s")
		tc.advance(time.Millisecond)
		tc.wantClosed("90 s without a packet", ErrTimedOut)
	})
	t.Run("disabled", func(t *testing.T) {
		tc := newTestConn(t, roleDialer, withConfig(func(c *Config) { c.IdleTimeout = -1 }))
		tc.advance(10 * time.Minute)
		tc.wantOpen("IdleTimeout < 0 disables it")
		if n := len(tc.takeAll()); n < 20 {
			t.Fatalf("%d keepalives in 10 minutes, want about 20", n)
		}
	})
}

// RFC 1122 4.2.2.17 (persist timer): when the peer's window is closed and
// nothing is in flight, one packet is sent anyway after an RTO, so a lost
// window update cannot deadlock the connection.
func TestScriptZeroWindowProbe(t *testing.T) {
	tc := newTestConn(t, roleAcceptor) // RTO 1 s
	tc.peerWnd = 0
	tc.peerAck(tc.s(0) - 1)
	tc.write("hello")
	tc.wantIdle("the peer's window is closed")
	tc.advance(time.Second - time.Millisecond)
	tc.wantIdle("before the RTO")
	tc.advance(time.Millisecond)
	tc.wantPacket("zero-window probe", pkt{typ: wire.Data, seq: u16(tc.s(0)), payload: "hello"})
	if got := tc.conn.Stats().Probes; got != 1 {
		t.Fatalf("Probes %d, want 1", got)
	}
	tc.peerWnd = scriptPeerWnd
	tc.peerAck(tc.s(0))
	tc.write("more")
	tc.wantPacket("window open again", pkt{typ: wire.Data, seq: u16(tc.s(1)), payload: "more"})
}

// RFC 1122 4.2.2.17: "As long as the receiving TCP continues to send
// acknowledgments in response to the probe segments, the sending TCP MUST
// allow the connection to stay open." A receiver whose reader is stalled
// drops the probe (recv.go: DroppedNoRoom) and answers with its closed
// window; that must not count toward MaxTimeouts.
func TestScriptZeroWindowPersistsWhilePeerAnswers(t *testing.T) {
	tc := newTestConn(t, roleAcceptor)
	tc.peerWnd = 0
	tc.peerAck(tc.s(0) - 1)
	tc.write("hello")
	probes := 0
	for end := tc.now.Add(10 * time.Minute); tc.now.Before(end); {
		tc.advanceToTimer()
		for i := 0; i < 10 && len(tc.sent) > 0; i++ {
			for _, p := range tc.takeAll() {
				if p.h.Type == wire.Data {
					probes++
					tc.advance(20 * time.Millisecond) // one way
					tc.peerAck(tc.s(0) - 1)           // still closed
				}
			}
		}
		if tc.conn.Closed() {
			t.Fatalf("closed with %v after %v of a closed window and %d answered probes", tc.closeErr, tc.elapsed(), probes)
		}
	}
	tc.peerWnd = scriptPeerWnd
	tc.peerAck(tc.s(0) - 1) // the reader caught up
	tc.advanceToTimer()
	tc.takeAll()
	tc.peerAck(tc.s(0))
	tc.wantOpen("the stream resumes")
}

// Sans-IO contract (doc.go): NextDeadline is never in the past.
// When the last packet is acknowledged more than Config.Keepalive after we
// last sent (here a 2 s keepalive and a 4 s backed-off RTO), the keepalive
// deadline must be due now, not in the past; the keepalive still goes out.
func TestScriptKeepaliveDeadlineNotInPast(t *testing.T) {
	tc := newTestConn(t, roleAcceptor, withConfig(func(c *Config) { c.Keepalive = 2 * time.Second }))
	tc.write("a")
	tc.advance(7 * time.Second) // sent at 0, 1, 3 and 7 s; next attempt at 11 s
	if n := len(tc.takeAll()); n != 4 {
		t.Fatalf("%d transmissions by 7 s, want 4", n)
	}
	tc.advance(3 * time.Second)
	tc.peerAck(tc.s(0)) // the harness checks NextDeadline >= now here
	tc.advance(tc.conn.cfg.Keepalive)
	tc.wantPacket("keepalive", pkt{typ: wire.State, ack: u16(tc.p(0) - 2)})
}

// Sans-IO contract: HandleTimeout before the deadline changes nothing
// (the harness checks this after every step; here at every millisecond
// before a delayed ACK, with the retransmission and idle timers armed).
func TestScriptHandleTimeoutBeforeDeadlineIsNoop(t *testing.T) {
	tc := newTestConn(t, roleDialer)
	tc.write("x")
	tc.wantPacket("DATA", pkt{typ: wire.Data})
	tc.peerData(tc.p(0), "y")
	start := tc.now
	for d := time.Duration(0); d < tc.conn.cfg.AckDelay; d += time.Millisecond / 2 {
		tc.now = start.Add(d)
		tc.checkEarlyTimeout(fmt.Sprintf("HandleTimeout at +%v", d))
	}
	tc.advanceTo(start.Add(tc.conn.cfg.AckDelay))
	tc.wantPacket("the delayed ACK fires on time", pkt{typ: wire.State, ack: u16(tc.p(0))})
}
