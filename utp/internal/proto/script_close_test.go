package proto

import (
	"fmt"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// BEP 29 ST_FIN: the FIN takes its own sequence number after the data, and
// Write after CloseWrite fails.
func TestScriptCloseFINHasOwnSeq(t *testing.T) {
	forEachRole(t, func(t *testing.T, role tcRole) {
		tc := newTestConn(t, role)
		tc.write("hi")
		tc.closeWrite()
		tc.wantPacket("data", pkt{typ: wire.Data, seq: u16(tc.s(0)), payload: "hi"})
		tc.wantPacket("FIN after the data", pkt{typ: wire.Fin, seq: u16(tc.s(1))})
		tc.wantWriteErr("Write after CloseWrite", ErrWriteClosed)
		tc.peerAck(tc.s(1))
		tc.wantOpen("half-closed: the peer has not finished")
		if st := tc.conn.Stats(); st.InFlight != 0 || tc.conn.Buffered() != 0 {
			t.Fatalf("in flight %d, buffered %d after the FIN was acked", st.InFlight, tc.conn.Buffered())
		}
	})
}

// BEP 29 eof_pkt: Read returns the data, then io.EOF; the FIN is
// acknowledged within the delayed-ACK bound (finack.go) when we do not
// close meanwhile.
func TestScriptCloseReadEOFAfterLastByte(t *testing.T) {
	tc := newTestConn(t, roleDialer)
	tc.peerData(tc.p(0), "bye")
	tc.peerFin(tc.p(1))
	tc.wantIdle("the FIN's ACK waits for our own FIN")
	tc.advance(tc.conn.cfg.AckDelay)
	tc.wantPacket("FIN acked at the delayed-ACK bound", pkt{typ: wire.State, ack: u16(tc.p(1))})
	tc.wantEvent("readable", EventReadable)
	tc.wantRead("data before EOF", "bye")
	tc.wantEOF("after the last byte")
	tc.wantEOF("EOF again")
}

// BEP 29: a FIN that arrives before missing data waits for it; the data
// is delivered, then EOF.
func TestScriptCloseFINBeforeMissingData(t *testing.T) {
	tc := newTestConn(t, roleDialer)
	tc.peerFin(tc.p(2))
	tc.wantPacket("FIN held", pkt{typ: wire.State, ack: u16(tc.p(0) - 1), sacked: []uint16{tc.p(2)}})
	tc.peerData(tc.p(1), "b")
	tc.wantPacket("data held", pkt{typ: wire.State, ack: u16(tc.p(0) - 1), sacked: []uint16{tc.p(1), tc.p(2)}})
	tc.wantReadErr("no EOF while data is missing", nil)
	tc.peerData(tc.p(0), "a")
	tc.wantPacket("everything acked", pkt{typ: wire.State, ack: u16(tc.p(2)), noSACK: true})
	tc.wantRead("data", "ab")
	tc.wantEOF("then EOF")
}

// BEP 29: nothing after the FIN's sequence number counts, whether it
// arrives before or after the stream is complete.
func TestScriptCloseDataAfterFINIgnored(t *testing.T) {
	tc := newTestConn(t, roleDialer)
	tc.peerFin(tc.p(1))
	ignored := tc.conn.Stats().PacketsIgnored
	tc.peerData(tc.p(2), "late")
	tc.peerData(tc.p(0), "a")
	tc.peerData(tc.p(3), "later")
	tc.takeAll()
	tc.wantRead("only data before the FIN", "a")
	tc.wantEOF("EOF")
	if got := tc.conn.Stats().PacketsIgnored; got != ignored+2 {
		t.Fatalf("PacketsIgnored %d, want %d", got, ignored+2)
	}
}

// RFC 6298 / BEP 29: our FIN is retransmitted with backoff until it is
// acknowledged, and not after.
func TestScriptCloseFINRetransmittedUntilAcked(t *testing.T) {
	tc := newTestConn(t, roleAcceptor)
	tc.closeWrite()
	fin := pkt{typ: wire.Fin, seq: u16(tc.s(0))}
	tc.wantPacket("FIN", fin)
	tc.advance(time.Second)
	tc.wantPacket("FIN resent after 1 s", fin)
	tc.advance(2 * time.Second)
	tc.wantPacket("FIN resent after 2 s more", fin)
	tc.peerAck(tc.s(0))
	tc.advance(time.Minute)
	for _, p := range tc.takeAll() {
		if p.h.Type != wire.State {
			t.Fatalf("sent %v after the FIN was acked", p)
		}
	}
	tc.wantOpen("the peer may still send")
}

// Half-close (BEP 29 FIN, TCP semantics): after CloseWrite we still read
// the peer's data until its FIN.
func TestScriptCloseHalfCloseStillReads(t *testing.T) {
	tc := newTestConn(t, roleDialer)
	tc.closeWrite()
	tc.wantPacket("FIN", pkt{typ: wire.Fin, seq: u16(tc.s(0))})
	tc.peerAck(tc.s(0))
	tc.peerData(tc.p(0), "still ")
	tc.peerData(tc.p(1), "reading")
	tc.takeAll()
	tc.wantRead("data after our FIN", "still reading")
	tc.wantWriteErr("our side is closed", ErrWriteClosed)
	tc.peerFin(tc.p(2))
	tc.wantPacket("their FIN acked", pkt{typ: wire.State, ack: u16(tc.p(2))})
	tc.wantEOF("their side is closed")
}

// Close order 1: we close first. The peer acknowledges our FIN, then sends
// its own; our ACK of it is the last packet, so we stay in TIME-WAIT
// (Config.TimeWait, default 4 × max(RTT.MaxBackoff, RTO) = 16 s here)
// answering a retransmitted FIN, then close cleanly.
func TestScriptCloseWeCloseFirstTimeWait(t *testing.T) {
	tc := timeWaitConn(t)
	tc.wantRead("response", "resp")
	tc.wantEOF("EOF")
	tc.wantOpen("TIME-WAIT")
	start := tc.now
	if end, next := tc.conn.TimeWaitEnd(), tc.conn.NextDeadline(); end.IsZero() || !end.Equal(next) {
		t.Fatalf("TimeWaitEnd %v, NextDeadline %v: want the end of TIME-WAIT as the only deadline", end, next)
	}

	tw := 4 * max(tc.conn.cfg.RTT.MaxBackoff, tc.conn.rto())
	if tw != 16*time.Second {
		t.Fatalf("TIME-WAIT %v, want 16 s with the default 4 s backoff cap", tw)
	}
	if end := tc.conn.TimeWaitEnd(); !end.Equal(start.Add(tw)) {
		t.Fatalf("TIME-WAIT ends at %v, want %v", end.Sub(start), tw)
	}
	tc.advance(5 * time.Second)
	tc.peerFin(tc.p(1)) // our ACK was lost
	tc.wantPacket("TIME-WAIT answers a retransmitted FIN", pkt{typ: wire.State, ack: u16(tc.p(1))})
	tc.wantOpen("still in TIME-WAIT")
	// The retransmission restarts TIME-WAIT (RFC 9293 3.10.7.4): the
	// peer's next attempt, after its backed-off timeout, still finds us.
	start = tc.now
	if end := tc.conn.TimeWaitEnd(); !end.Equal(start.Add(tw)) {
		t.Fatalf("after a retransmitted FIN TIME-WAIT ends %v later, want %v", end.Sub(start), tw)
	}
	tc.advanceTo(start.Add(tw - time.Millisecond))
	tc.wantOpen("before the end of TIME-WAIT")
	for _, p := range tc.takeAll() {
		if p.h.Type != wire.State {
			t.Fatalf("sent %v in TIME-WAIT", p)
		}
	}
	tc.advance(time.Millisecond)
	tc.wantClosed("TIME-WAIT over", nil)
	if end := tc.conn.TimeWaitEnd(); !end.IsZero() {
		t.Fatalf("TimeWaitEnd %v after TIME-WAIT", end)
	}
	tc.wantEOF("Read after a clean close")
	tc.advance(time.Minute)
	tc.wantIdle("a closed connection is silent")
}

// A forger who knows the connection id can restart TIME-WAIT with copies
// of the peer's FIN, but only maxTimeWaitRestarts times: the connection
// still ends.
func TestScriptCloseTimeWaitRestartsBounded(t *testing.T) {
	tc := newTestConn(t, roleDialer)
	tc.write("req")
	tc.closeWrite()
	tc.takeAll()
	tc.peerAck(tc.s(1))
	tc.peerFin(tc.p(0))
	tc.takeAll()
	tc.wantOpen("TIME-WAIT")
	tw := tc.conn.timeWaitLen()
	for i := range maxTimeWaitRestarts + 3 {
		tc.advance(tw / 2)
		tc.peerFin(tc.p(0))
		tc.takeAll()
		tc.wantOpen(fmt.Sprintf("retransmission %d within TIME-WAIT", i+1))
		if i == maxTimeWaitRestarts-1 {
			break
		}
	}
	last := tc.now
	tc.advance(tw / 2)
	tc.peerFin(tc.p(0)) // one more: answered, but no longer restarts
	tc.takeAll()
	if end := tc.conn.TimeWaitEnd(); !end.Equal(last.Add(tw)) {
		t.Fatalf("TIME-WAIT ends %v after the last counted restart, want %v", end.Sub(last), tw)
	}
	tc.advanceTo(last.Add(tw))
	tc.wantClosed("TIME-WAIT over after the bounded restarts", nil)
}

// Close order 2: the peer closes first and we close within the
// delayed-ACK bound. Our FIN carries our ACK of theirs, with no STATE
// before it (finack.go), so its acknowledgement ends the connection at
// once, cleanly.
func TestScriptClosePeerClosesFirst(t *testing.T) {
	tc := newTestConn(t, roleDialer)
	tc.peerFin(tc.p(0))
	tc.wantIdle("their FIN's ACK waits for our FIN")
	tc.wantEOF("EOF")
	tc.wantOpen("our side is still open")
	tc.closeWrite()
	tc.wantPacket("our FIN acks theirs", pkt{typ: wire.Fin, seq: u16(tc.s(0)), ack: u16(tc.p(0))})
	tc.peerAck(tc.s(0))
	tc.wantClosed("both FINs acknowledged", nil)
	tc.wantIdle("nothing after the close")
}

// Simultaneous close: the FINs cross. Each side acknowledges the other's;
// the connection ends cleanly (after TIME-WAIT, since our FIN left before
// we had the peer's).
func TestScriptCloseSimultaneous(t *testing.T) {
	tc := newTestConn(t, roleDialer)
	tc.closeWrite()
	tc.wantPacket("our FIN", pkt{typ: wire.Fin, seq: u16(tc.s(0)), ack: u16(tc.p(0) - 1)})
	tc.peerFin(tc.p(0)) // crossed: does not ack our FIN
	tc.wantPacket("their FIN acked", pkt{typ: wire.State, ack: u16(tc.p(0))})
	tc.wantOpen("our FIN is not acknowledged yet")
	tc.peerAck(tc.s(0))
	tc.advance(2 * time.Minute)
	tc.wantClosed("both FINs acknowledged", nil)
	tc.wantEOF("Read after a clean close")
}

// Documented in conn.go: a RESET once the peer's whole stream is in and
// all our data acknowledged (only our FIN's ACK missing) ends the
// connection cleanly: the peer left TIME-WAIT.
func TestScriptCloseResetAfterCompleteStreamIsClean(t *testing.T) {
	tc := newTestConn(t, roleDialer)
	tc.write("data")
	tc.closeWrite()
	tc.takeAll()
	tc.peerAck(tc.s(0)) // the data, not the FIN
	tc.peerFin(tc.p(0))
	tc.takeAll()
	tc.peerReset()
	tc.wantClosed("stream complete both ways", nil)
}

// conn.go, onReset: a RESET before our FIN, once the peer's whole stream
// is in and everything we wrote acknowledged, ends the connection
// cleanly too: anacrolix/utp forgets a connection once its FIN is
// acknowledged and answers our ACK of a packet it resent with RESET.
// Read reports EOF; Write fails with ErrConnReset, as nobody reads it.
// With our data unacknowledged the same RESET is ErrConnReset.
func TestScriptCloseResetAfterPeerFinBeforeOursIsClean(t *testing.T) {
	tc := newTestConn(t, roleDialer)
	tc.write("data")
	tc.wantPacket("our data", pkt{typ: wire.Data, seq: u16(tc.s(0)), payload: "data"})
	tc.peerAck(tc.s(0))
	tc.peerData(tc.p(0), "theirs")
	tc.peerFin(tc.p(1))
	tc.takeAll()
	tc.peerReset()
	tc.wantClosed("their stream in, ours acknowledged", nil)
	if got := tc.readN(-1); got != "theirs" {
		t.Fatalf("read %q, want their whole stream", got)
	}
	tc.wantEOF("Read after their stream")
	tc.wantWriteErr("Write after the peer left", ErrConnReset)

	tc = newTestConn(t, roleDialer)
	tc.write("data")
	tc.wantPacket("our data", pkt{typ: wire.Data, seq: u16(tc.s(0)), payload: "data"})
	tc.peerFin(tc.p(0))
	tc.takeAll()
	tc.peerReset()
	tc.wantClosed("our data not acknowledged", ErrConnReset)
}

// BEP 29 ST_RESET, sent: Reset sends one RESET, ends the connection with
// ErrLocalReset, and Read and Write fail from then on.
func TestScriptResetSent(t *testing.T) {
	tc := newTestConn(t, roleDialer)
	tc.write("pending")
	tc.wantPacket("DATA", pkt{typ: wire.Data, seq: u16(tc.s(0))})
	tc.peerData(tc.p(0), "unread")
	tc.reset()
	// ack_nr is the peer's next sequence number, as in a RESET answering
	// its STATE, so that the peer honours it at once (accept.go).
	tc.wantPacket("RESET", pkt{typ: wire.Reset, seq: u16(tc.s(1)), ack: u16(tc.p(0) + 1), noSACK: true})
	tc.wantIdle("one RESET")
	tc.wantClosed("local reset", ErrLocalReset)
	tc.wantReadErr("Read after Reset", ErrLocalReset)
	tc.wantWriteErr("Write after Reset", ErrLocalReset)
	tc.advance(time.Minute)
	tc.wantIdle("no retransmission after Reset")
	tc.peerData(tc.p(1), "more")
	tc.wantIdle("a reset connection ignores packets")
}

// BEP 29 ST_RESET, received: the connection ends with ErrConnReset, which
// Write reports at once and Read after the data received before the RESET
// (as TCP stacks do); no packet answers it.
func TestScriptResetReceived(t *testing.T) {
	tc := newTestConn(t, roleDialer)
	tc.write("a")
	tc.wantPacket("DATA", pkt{typ: wire.Data})
	tc.peerData(tc.p(0), "x")
	tc.peerReset()
	tc.wantClosed("peer reset", ErrConnReset)
	tc.wantIdle("no answer to a RESET")
	if got := tc.readN(1); got != "x" {
		t.Fatalf("data that arrived before the RESET: read %q", got)
	}
	tc.wantReadErr("Read", ErrConnReset)
	tc.wantWriteErr("Write", ErrConnReset)
	tc.advance(time.Minute)
	tc.wantIdle("no retransmission after a RESET")
}

// libutp ACK_NR_ALLOWED_WINDOW: a packet acknowledging a sequence number
// we never sent is ignored entirely: no data delivered, nothing acked, no
// window update, no liveness, no reply.
func TestScriptStrayAckNrIgnored(t *testing.T) {
	tc := newTestConn(t, roleDialer)
	tc.write("a")
	tc.wantPacket("DATA", pkt{typ: wire.Data, seq: u16(tc.s(0))})
	tc.advance(10 * time.Millisecond)
	before, deadline := tc.conn.Stats(), tc.conn.NextDeadline()
	for _, typ := range []wire.Type{wire.Data, wire.State, wire.Fin} {
		h := tc.peerHeader(typ, tc.p(0), tc.s(0)+1) // acks one past our last packet
		h.WndSize = 0
		payload := ""
		if typ == wire.Data {
			payload = "forged"
		}
		tc.writePacket(h, payload)
	}
	tc.wantIdle("no reply to a stray packet")
	tc.wantNoEvent("no data", EventReadable)
	want := before
	want.PacketsReceived += 3
	want.PacketsIgnored += 3
	if got := tc.conn.Stats(); got != want {
		t.Fatalf("stats changed beyond the counters:\n got %+v\nwant %+v", got, want)
	}
	if got := tc.conn.NextDeadline(); !got.Equal(deadline) {
		t.Fatalf("NextDeadline moved from %v to %v", deadline.Sub(scriptEpoch), got.Sub(scriptEpoch))
	}
	tc.wantReadErr("nothing delivered, no EOF", nil)
	tc.advanceToTimer()
	tc.wantPacket("our packet was not acknowledged", pkt{typ: wire.Data, seq: u16(tc.s(0)), payload: "a"})
	tc.peerData(tc.p(0), "real")
	tc.wantRead("the genuine packet is taken", "real")
}

// Malformed datagrams are counted and dropped; they never close the
// connection or provoke a reply (sans-IO contract, doc.go).
func TestScriptMalformedDatagramsCounted(t *testing.T) {
	tc := newTestConn(t, roleDialer)
	good := tc.peerHeader(wire.Data, tc.p(0), tc.s(0)-1)
	valid := good.Append(nil)
	badVersion := append([]byte(nil), valid...)
	badVersion[0] = badVersion[0]&0xf0 | 2
	badType := append([]byte(nil), valid...)
	badType[0] = 7<<4 | 1
	truncExt := append([]byte(nil), valid...)
	truncExt[1] = 1                      // a SACK extension follows...
	truncExt = append(truncExt, 0, 8, 1) // ...claiming 8 bytes, with 1
	for i, b := range [][]byte{nil, []byte("hello"), valid[:19], badVersion, badType, truncExt} {
		tc.writeRaw(b)
		if got := tc.conn.Stats().PacketsMalformed; got != uint64(i+1) {
			t.Fatalf("datagram %d (%x): PacketsMalformed %d, want %d", i, b, got, i+1)
		}
		tc.wantIdle("no reply to a malformed datagram")
		tc.wantOpen("malformed input never closes the connection")
	}
	tc.peerData(tc.p(0), "ok")
	tc.wantRead("the connection still works", "ok")
}

// Close order 2 with a slow close: the peer's FIN is acknowledged alone
// once the delayed-ACK bound passes, and our later FIN carries the same
// ack_nr; a reply written meanwhile would have carried it instead.
func TestScriptClosePeerClosesFirstSlowClose(t *testing.T) {
	tc := newTestConn(t, roleDialer)
	tc.peerFin(tc.p(0))
	tc.advance(tc.conn.cfg.AckDelay - time.Millisecond)
	tc.wantIdle("within the bound, the ACK waits")
	tc.advance(time.Millisecond)
	tc.wantPacket("their FIN acked at the bound", pkt{typ: wire.State, ack: u16(tc.p(0))})
	tc.closeWrite()
	tc.wantPacket("our FIN", pkt{typ: wire.Fin, seq: u16(tc.s(0)), ack: u16(tc.p(0))})
	tc.peerAck(tc.s(0))
	tc.wantClosed("both FINs acknowledged", nil)
}

// The peer's FIN after our own: the FINs crossed, and theirs is the last
// thing either side waits for, so its ACK goes out at once when nothing
// else is queued.
func TestScriptCloseFINAfterOursAckedAtOnce(t *testing.T) {
	tc := newTestConn(t, roleDialer)
	tc.closeWrite()
	tc.takeAll()
	tc.peerFin(tc.p(0))
	tc.wantPacket("their FIN acked at once", pkt{typ: wire.State, ack: u16(tc.p(0))})
}

// closedWhileHolding returns an acceptor whose FIN has left, with the IO
// layer holding ACKs (more packets queued).
func closedWhileHolding(t *testing.T) *testConn {
	t.Helper()
	tc := newTestConn(t, roleAcceptor)
	tc.closeWrite()
	tc.takeAll()
	tc.conn.HoldAcks(true)
	return tc
}

// finack.go: a FIN that acknowledges ours is acknowledged at once even
// while the IO layer has more queued: no RESET follows it, and holding
// the ACK would only cost a step to release it.
func TestScriptCloseFINAckingOursNotHeld(t *testing.T) {
	tc := closedWhileHolding(t)
	tc.peerAckNr = tc.s(0) // their FIN acknowledges ours
	tc.peerFin(tc.p(0))
	tc.wantPacket("their FIN acked at once", pkt{typ: wire.State, ack: u16(tc.p(0))})
}

// finack.go: the ACK of a FIN after our own that does not acknowledge it
// waits while the IO layer has more queued (HoldAcks), and goes out when
// the hold is released.
func TestScriptCloseFINAfterOursHeldWhileQueued(t *testing.T) {
	tc := closedWhileHolding(t)
	tc.peerFin(tc.p(0))
	tc.wantIdle("their FIN's ACK waits for what else is queued")
	tc.conn.HoldAcks(false)
	tc.finish("released")
	tc.wantPacket("their FIN acked once released", pkt{typ: wire.State, ack: u16(tc.p(0))})
}

// finack.go: a RESET applied in the same wakeup as the FIN that followed
// our own ends the connection, and the FIN's held ACK never leaves: the
// peer's Socket has closed (a client with a Socket per dial), and the ACK
// would only draw an ICMP error. The end is clean: both streams were
// complete but for the ACK of our FIN.
func TestScriptCloseFINAfterOursThenResetSendsNothing(t *testing.T) {
	tc := closedWhileHolding(t)
	tc.peerFin(tc.p(0))
	tc.peerReset()
	tc.conn.HoldAcks(false)
	tc.finish("released")
	tc.wantIdle("no ACK for a peer that reset")
	tc.wantClosed("reset after both FINs", nil)
}
