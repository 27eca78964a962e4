package proto

import (
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// starvedConn returns a connection with an RTT sample of 10 ms (so its
// RTO is the 200 ms floor), no tail probe (so that only the RTO guards
// the flight), and one packet in flight, sent at the returned time.
func starvedConn(t *testing.T) (*testConn, time.Time) {
	tc := newTestConn(t, roleAcceptor, withConfig(func(c *Config) { c.NoTailProbe = true }))
	tc.write("a")
	tc.wantPacket("DATA", pkt{typ: wire.Data, payload: "a"})
	tc.advance(10 * time.Millisecond)
	tc.peerAck(tc.s(0))
	tc.write("b")
	sent := tc.wantPacket("DATA", pkt{typ: wire.Data, seq: u16(tc.s(1)), payload: "b"}).at
	if rto := tc.conn.Stats().RTO; rto != 200*time.Millisecond {
		t.Fatalf("RTO %v, want 200ms", rto)
	}
	if dl := tc.conn.NextDeadline(); !dl.Equal(sent.Add(200 * time.Millisecond)) {
		t.Fatalf("next deadline %v after the send, want the 200 ms RTO", dl.Sub(sent))
	}
	return tc, sent
}

// fireAt calls HandleTimeout at t, as an IO layer whose timer ran late.
func (tc *testConn) fireAt(t time.Time) {
	tc.t.Helper()
	tc.now = t
	tc.conn.HandleTimeout(t)
	tc.finish("a late timer")
}

// A retransmission timer that fires an eighth of the RTO or more after
// its deadline (the process did not run) is put off by a quarter of the
// RTO, and the ACK that waited in the socket meanwhile stops it: nothing
// is resent, no timeout is counted.
func TestScriptStarvedTimeoutDeferred(t *testing.T) {
	tc, sent := starvedConn(t)
	due := sent.Add(200 * time.Millisecond)
	tc.fireAt(due.Add(25 * time.Millisecond)) // RTO/8 late
	tc.wantIdle("a timer 25 ms late")
	st := tc.conn.Stats()
	if st.Timeouts != 0 || st.DeferredTimeouts != 1 {
		t.Fatalf("Timeouts %d, DeferredTimeouts %d; want 0 and 1", st.Timeouts, st.DeferredTimeouts)
	}
	if dl := tc.conn.NextDeadline(); !dl.Equal(tc.now.Add(50 * time.Millisecond)) {
		t.Fatalf("the timer is armed %v after the late fire, want 50ms (RTO/4)", dl.Sub(tc.now))
	}
	tc.advance(time.Millisecond)
	tc.peerAck(tc.s(1)) // the ACK that waited, read once the process runs
	tc.advance(2 * time.Second)
	tc.wantIdle("the ACK came within the grace")
	if st := tc.conn.Stats(); st.Timeouts != 0 || st.Retransmits != 0 {
		t.Fatalf("Timeouts %d, Retransmits %d; want 0 and 0", st.Timeouts, st.Retransmits)
	}
}

// The deadline a late fire set fires, however late it is called too: a
// process late at every turn, or a peer that has gone, costs the timeout
// a quarter of an RTO, once.
func TestScriptStarvedTimeoutDeferredOnce(t *testing.T) {
	tc, sent := starvedConn(t)
	tc.fireAt(sent.Add(500 * time.Millisecond)) // 300 ms late
	tc.wantIdle("the first late fire")
	tc.fireAt(tc.now.Add(time.Second)) // the grace's deadline, late again
	tc.wantPacket("resent at the second late fire", pkt{typ: wire.Data, seq: u16(tc.s(1)), payload: "b"})
	if st := tc.conn.Stats(); st.Timeouts != 1 || st.DeferredTimeouts != 1 {
		t.Fatalf("Timeouts %d, DeferredTimeouts %d; want 1 and 1", st.Timeouts, st.DeferredTimeouts)
	}
	// The backed-off timer is a new deadline: a late fire of it is put
	// off once again, an on-time one fires.
	dl := tc.conn.NextDeadline()
	tc.advanceTo(dl)
	tc.wantPacket("resent at the backed-off RTO, on time", pkt{typ: wire.Data, seq: u16(tc.s(1)), payload: "b"})
	if st := tc.conn.Stats(); st.Timeouts != 2 || st.DeferredTimeouts != 1 {
		t.Fatalf("Timeouts %d, DeferredTimeouts %d; want 2 and 1", st.Timeouts, st.DeferredTimeouts)
	}
}

// A fire less than an eighth of the RTO late is a timer's ordinary
// lateness: the timeout is declared at once.
func TestScriptSlightlyLateTimeoutFires(t *testing.T) {
	tc, sent := starvedConn(t)
	tc.fireAt(sent.Add(200*time.Millisecond + 25*time.Millisecond - time.Nanosecond))
	tc.wantPacket("resent", pkt{typ: wire.Data, seq: u16(tc.s(1)), payload: "b"})
	if st := tc.conn.Stats(); st.Timeouts != 1 || st.DeferredTimeouts != 0 {
		t.Fatalf("Timeouts %d, DeferredTimeouts %d; want 1 and 0", st.Timeouts, st.DeferredTimeouts)
	}
}
