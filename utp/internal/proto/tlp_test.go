package proto

import (
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/cc"
	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

func withTailProbe(tc *testConn) { tc.cfg.NoTailProbe = false }

// RFC 8985 section 7: the last three packets of a flight are lost, so no
// later packet is ever acknowledged. Two round trips after the last ACK,
// before the retransmission timeout, the last packet is sent again as a
// probe; its SACK lets RACK declare the other two lost at once (sent a
// round trip before the probe), and fast recovery resends them: no
// timeout, one recovery, one probe.
func TestScriptTailLossProbe(t *testing.T) {
	tc := newTestConn(t, roleDialer, withWindow(1<<20), withTailProbe, withConfig(smallPackets))
	chunks := tc.sendPackets(10, 10)
	tc.advance(scriptHandshakeRTT)
	tc.peerAck(tc.s(6)) // 7, 8 and 9 are lost
	acked := tc.now
	srtt, rttvar := tc.conn.rtt.SRTT(), tc.conn.rtt.RTTVar()
	rto := tc.conn.NextDeadline()
	tc.advanceToTimer()
	if got, want := tc.now.Sub(acked), max(2*srtt, srtt+4*rttvar)+2*time.Millisecond; got != want {
		t.Fatalf("first timer %v after the ACK, want the PTO, max(2×SRTT, SRTT+4×RTTVAR)+2ms = %v (SRTT %v, RTTVAR %v)", got, want, srtt, rttvar)
	}
	if !tc.now.Before(tc.conn.timers[timerRetransmit]) {
		t.Fatalf("the probe at %v is not before the RTO at %v", tc.elapsed(), rto.Sub(scriptEpoch))
	}
	tc.wantPacket("the probe: the last packet again", pkt{typ: wire.Data, seq: u16(tc.s(9)), payload: chunks[9]})
	tc.wantIdle("one probe")
	tc.advance(scriptHandshakeRTT)
	tc.peerAck(tc.s(6), tc.s(9)) // 7 and 8 were sent a round trip before the probe
	tc.wantPacket("7, declared lost", pkt{typ: wire.Data, seq: u16(tc.s(7)), payload: chunks[7]})
	tc.wantPacket("8, declared lost", pkt{typ: wire.Data, seq: u16(tc.s(8)), payload: chunks[8]})
	tc.advance(scriptHandshakeRTT)
	tc.peerAck(tc.s(9))
	st := tc.conn.Stats()
	if st.Timeouts != 0 || st.TailProbes != 1 || st.Recoveries != 1 || st.InFlight != 0 {
		t.Fatalf("Timeouts %d, TailProbes %d, Recoveries %d, InFlight %d; want 0, 1, 1, 0", st.Timeouts, st.TailProbes, st.Recoveries, st.InFlight)
	}
}

// The probe is new data when a full packet waits and the peer's window
// has room, even if the congestion window is full (RFC 8985 7.3), and it
// changes no window. Only one probe goes out until an ACK brings news;
// the RTO guards the flight after it.
func TestScriptTailLossProbeSendsNewData(t *testing.T) {
	const size = 10 + wire.HeaderSize
	tc := newTestConn(t, roleDialer, withWindow(5*size), withTailProbe, withConfig(smallPackets))
	tc.write(string(make([]byte, 100)))
	if n := len(tc.takeAll()); n != 5 {
		t.Fatalf("%d packets in a 5-packet window", n)
	}
	tc.advanceToTimer()
	tc.wantPacket("the probe: new data beyond the window", pkt{typ: wire.Data, seq: u16(tc.s(5))})
	tc.wantIdle("one probe")
	if dl := tc.conn.NextDeadline(); !dl.Equal(tc.conn.timers[timerRetransmit]) {
		t.Fatalf("next deadline in %v, want the RTO's", dl.Sub(tc.now))
	}
	if st := tc.conn.Stats(); st.TailProbes != 1 || st.Window != 5*size || st.Recoveries != 0 {
		t.Fatalf("TailProbes %d, Window %d, Recoveries %d; want 1, %d, 0", st.TailProbes, st.Window, st.Recoveries, 5*size)
	}
}

// segmentedWindow is a fixed window that asks for packets of seg bytes
// (cc.Segmenter), as LEDBAT++ does while its window is small.
type segmentedWindow struct {
	fixedWindow
	seg int
}

func (s *segmentedWindow) Segment() int { return s.seg }

// While the controller asks for small packets, a probe sends new data
// when a small packet's worth waits, as the next new packet would be
// that small, not only when a full packet's worth does.
func TestScriptTailLossProbeSmallPackets(t *testing.T) {
	const seg = 373
	small := seg - wire.HeaderSize
	tc := newTestConn(t, roleDialer, withTailProbe, withConfig(func(c *Config) {
		c.PacketSize = 1400
		c.NewController = func(time.Time, int) cc.Controller {
			return &segmentedWindow{fixedWindow{wnd: 3 * seg}, seg}
		}
	}))
	tc.write(string(make([]byte, 3*small+small+100))) // more than one small packet waits, less than a full one
	if n := len(tc.takeAll()); n != 3 {
		t.Fatalf("%d packets in a window of 3 small ones", n)
	}
	tc.advanceToTimer()
	tc.wantPacket("the probe: a new small packet beyond the window", pkt{typ: wire.Data, seq: u16(tc.s(3))})
}
