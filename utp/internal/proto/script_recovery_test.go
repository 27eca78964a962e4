package proto

import (
	"strings"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/cc"
	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// episodeWindow is a fixed window that counts the loss reports and
// undos it receives.
type episodeWindow struct {
	fixedWindow
	losses, undos int
}

func (w *episodeWindow) OnLoss(time.Time, time.Duration) { w.losses++ }
func (w *episodeWindow) OnSpuriousLoss(time.Time)        { w.undos++ }

func withEpisodeWindow(n int) (tcOption, *episodeWindow) {
	w := &episodeWindow{fixedWindow: fixedWindow{wnd: n}}
	return withConfig(func(c *Config) {
		c.NewController = func(time.Time, int) cc.Controller { return w }
	}), w
}

func smallPackets(c *Config) { c.PacketSize = 10 }

// RFC 8985 6.2: with fewer than three packets selectively acknowledged
// and no reordering seen, a packet is lost once a packet sent after it is
// acknowledged and a quarter of the least RTT has passed beyond when its
// own ACK was due; the loss timer fires then, with no further ACK.
func TestScriptRACKLossByTime(t *testing.T) {
	tc := newTestConn(t, roleDialer, withWindow(1<<20), withConfig(smallPackets))
	sentAt := tc.now
	chunks := tc.sendPackets(3, 10)
	tc.advance(scriptHandshakeRTT)
	tc.peerAck(tc.s(0)-1, tc.s(1))
	tc.wantIdle("one packet past the hole: not yet lost")
	tc.advanceToTimer()
	got := tc.wantPacket("lost by time", pkt{typ: wire.Data, seq: u16(tc.s(0)), payload: chunks[0]})
	if want := sentAt.Add(scriptHandshakeRTT + scriptHandshakeRTT/4); !got.at.Equal(want) {
		t.Fatalf("resent at %v, want %v (sent + RTT + minRTT/4)", got.at.Sub(scriptEpoch), want.Sub(scriptEpoch))
	}
	tc.wantIdle("the packet sent after the SACKed one is not lost")
}

// RFC 6675 and RFC 6582: the window is reduced once per recovery episode.
// Holes found later in the same episode are repaired at once, paced only
// by the window, and do not reduce it again; a loss after the recovery
// point (the highest sequence number sent when the episode began) starts
// a new episode.
func TestScriptOneReductionPerEpisode(t *testing.T) {
	opt, w := withEpisodeWindow(1 << 20)
	tc := newTestConn(t, roleDialer, opt, withConfig(smallPackets))
	chunks := tc.sendPackets(10, 10)
	tc.advance(scriptHandshakeRTT)
	tc.peerAck(tc.s(0)-1, tc.s(1), tc.s(2), tc.s(3))
	tc.wantPacket("first hole", pkt{typ: wire.Data, seq: u16(tc.s(0)), payload: chunks[0]})
	tc.peerAck(tc.s(0)-1, tc.s(1), tc.s(2), tc.s(3), tc.s(4), tc.s(6), tc.s(7), tc.s(8))
	tc.wantPacket("second hole, same episode", pkt{typ: wire.Data, seq: u16(tc.s(5)), payload: chunks[5]})
	if w.losses != 1 {
		t.Fatalf("%d loss reports in one episode, want 1", w.losses)
	}
	tc.advance(scriptHandshakeRTT)
	tc.peerAck(tc.s(9))
	tc.wantIdle("all acknowledged")
	tc.first += 10
	chunks = tc.sendPackets(5, 10)
	tc.advance(scriptHandshakeRTT)
	tc.peerAck(tc.s(0)-1, tc.s(1), tc.s(2), tc.s(3))
	tc.wantPacket("a loss after the recovery point", pkt{typ: wire.Data, seq: u16(tc.s(0)), payload: chunks[0]})
	if w.losses != 2 {
		t.Fatalf("%d loss reports after a second episode, want 2", w.losses)
	}
	if st := tc.conn.Stats(); st.Recoveries != 2 || st.SpuriousRecoveries != 0 {
		t.Fatalf("Recoveries %d, SpuriousRecoveries %d; want 2 and 0", st.Recoveries, st.SpuriousRecoveries)
	}
}

// lossEpisode starts a script whose controller counts loss reports: n
// packets of 10 bytes are sent at first, and a round trip later the peer
// selectively acknowledges the packets at the indexes sacked, the first
// one missing.
func lossEpisode(t *testing.T, n int, sacked ...int) (tc *testConn, w *episodeWindow, first time.Time, chunks []string) {
	t.Helper()
	opt, w := withEpisodeWindow(1 << 20)
	tc = newTestConn(t, roleDialer, opt, withConfig(smallPackets))
	first = tc.now
	chunks = tc.sendPackets(n, 10)
	tc.advance(scriptHandshakeRTT)
	seqs := make([]uint16, len(sacked))
	for i, k := range sacked {
		seqs[i] = tc.s(k)
	}
	tc.peerAck(tc.s(0)-1, seqs...)
	return tc, w, first, chunks
}

// ackEchoing is a STATE from the peer whose timestamps say that the latest
// packet it had received was sent by us at sent (BEP 29: the peer's
// timestamp less its timestamp_difference is that send time).
func (tc *testConn) ackEchoing(ack uint16, sent time.Time) {
	tc.t.Helper()
	h := tc.peerHeader(wire.State, tc.peerNext, ack)
	h.TimestampDiff = micros(tc.now) - micros(sent)
	tc.peerAckNr = ack
	tc.writePacket(h, "")
}

// Eifel detection (RFC 3522) with uTP's timestamps: when the ACK that
// covers a resent packet echoes the send time of its first transmission,
// the original arrived (it was reordered, not lost), and the reduction
// is undone; when it echoes the retransmission, the loss was real.
func TestScriptSpuriousLossUndone(t *testing.T) {
	for _, tt := range []struct {
		name      string
		echoFirst bool
		undos     int
	}{{"original acknowledged", true, 1}, {"retransmission acknowledged", false, 0}} {
		t.Run(tt.name, func(t *testing.T) {
			tc, w, first, chunks := lossEpisode(t, 4, 1, 2, 3)
			resent := tc.wantPacket("declared lost", pkt{typ: wire.Data, seq: u16(tc.s(0)), payload: chunks[0]}).at
			// Later than half the least RTT after the retransmission, so
			// only the timestamps can tell.
			tc.advance(scriptHandshakeRTT * 3 / 4)
			echo := resent
			if tt.echoFirst {
				echo = first
			}
			tc.ackEchoing(tc.s(3), echo)
			if w.losses != 1 || w.undos != tt.undos {
				t.Fatalf("losses %d, undos %d; want 1 and %d", w.losses, w.undos, tt.undos)
			}
			if st := tc.conn.Stats(); st.SpuriousRecoveries != uint64(tt.undos) {
				t.Fatalf("SpuriousRecoveries %d, want %d", st.SpuriousRecoveries, tt.undos)
			}
		})
	}
}

// After an undo the path is known to reorder: a packet overtaken by three
// others is no longer lost at once, but only after the reordering window.
func TestScriptReorderingWidensWindow(t *testing.T) {
	opt, w := withEpisodeWindow(1 << 20)
	tc := newTestConn(t, roleDialer, opt, withConfig(smallPackets))
	first := tc.now
	tc.sendPackets(4, 10)
	tc.advance(scriptHandshakeRTT)
	tc.peerAck(tc.s(0)-1, tc.s(1), tc.s(2), tc.s(3))
	tc.takeAll()
	tc.advance(time.Millisecond)
	tc.ackEchoing(tc.s(3), first)
	if w.undos != 1 {
		t.Fatalf("undos %d, want 1", w.undos)
	}
	tc.advance(scriptHandshakeRTT)
	tc.first += 4
	tc.sendPackets(4, 10)
	tc.advance(scriptHandshakeRTT)
	tc.peerAck(tc.s(0)-1, tc.s(1), tc.s(2), tc.s(3))
	tc.wantIdle("reordering seen: three SACKed packets are not enough at once")
	if w.losses != 1 {
		t.Fatalf("loss reports %d, want still 1", w.losses)
	}
	tc.advance(time.Millisecond)
	tc.peerAck(tc.s(3))
	tc.wantIdle("the overtaken packet arrived")
	if w.losses != 1 || tc.conn.Stats().FastRetransmits != 1 {
		t.Fatalf("losses %d, fast retransmits %d; want 1 and 1", w.losses, tc.conn.Stats().FastRetransmits)
	}
}

// Issue 17: the receiver holds out-of-order data as far as its window
// reaches, not only 2,048 packets (libutp holds 1,024), and a bare ACK
// describes up to 2,016 packets past the hole in a 252-byte bitmask.
func TestScriptReorderBufferFollowsWindow(t *testing.T) {
	tc := newTestConn(t, roleDialer)
	tc.peerData(tc.p(1500), "x")
	got := tc.wantPacket("held, and SACKed", pkt{typ: wire.State, ack: u16(tc.p(0) - 1), sacked: []uint16{tc.p(1500)}})
	if n := len(got.h.SACK); n != (1500+31)/32*4 {
		t.Fatalf("SACK of %d bytes, want %d", n, (1500+31)/32*4)
	}
	tc.peerData(tc.p(3000), "y")
	tc.takeAll()
	if st := tc.conn.Stats(); st.PacketsIgnored != 0 || st.DroppedNoRoom != 0 {
		t.Fatalf("PacketsIgnored %d, DroppedNoRoom %d: a packet within the window was dropped", st.PacketsIgnored, st.DroppedNoRoom)
	}
	if tc.conn.rcv.reorderN != 2 {
		t.Fatalf("%d packets held, want 2", tc.conn.rcv.reorderN)
	}
}

// A packet carrying data keeps its SACK within 32 bytes, so that it fits
// the MTU PacketSize was chosen for.
func TestScriptDataPacketSACKBounded(t *testing.T) {
	tc := newTestConn(t, roleDialer, withWindow(1<<20))
	tc.peerData(tc.p(100), "x")
	tc.peerData(tc.p(1000), "y")
	tc.takeAll()
	tc.write("hello")
	got := tc.wantPacket("data with a SACK", pkt{typ: wire.Data, payload: "hello"})
	if n := len(got.h.SACK); n != dataSACKBytes {
		t.Fatalf("SACK of %d bytes on a data packet, want %d", n, dataSACKBytes)
	}
}

// pacedSize is a paced test connection's packet, header included.
const pacedSize = 1000 + wire.HeaderSize

// newPacedConn is a connection with pacing on, 1000-byte payloads and a
// fixed window of the given packets, and the pacer's rate in congestion
// avoidance (1.25 × window / SRTT) and burst in packets (a millisecond
// at the rate, at least two).
func newPacedConn(t *testing.T, packets int) (tc *testConn, rate float64, burst int) {
	tc = newTestConn(t, roleDialer, withWindow(packets*pacedSize), withConfig(func(c *Config) {
		c.PacketSize = 1000
		c.NoPacing = false
	}))
	rate = 1.25 * float64(packets*pacedSize) / tc.conn.rtt.SRTT().Seconds()
	return tc, rate, max(int(rate/1000/pacedSize), 2)
}

// Pacing (pacing.go): a window's worth of data goes out over the round
// trip at 1.25 × window / SRTT, in bursts of about a millisecond of
// sending, with NextDeadline saying when the next may go.
func TestScriptPacingSpreadsWindow(t *testing.T) {
	const size = pacedSize
	tc, rate, burst := newPacedConn(t, 100)
	tc.write(string(make([]byte, 100*1000)))
	if n := len(tc.takeAll()); n > burst+1 {
		t.Fatalf("%d packets at once, want at most %d (a millisecond at %.0f B/s)", n, burst+1, rate)
	}
	if dl := tc.conn.NextDeadline(); dl.IsZero() || dl.Sub(tc.now) > time.Millisecond {
		t.Fatalf("NextDeadline in %v, want the pacer's, within a millisecond", dl.Sub(tc.now))
	}
	tc.advance(10 * time.Millisecond)
	sent := len(tc.takeAll())
	if want := rate * 0.010 / size; float64(sent) < want-float64(burst)-1 || float64(sent) > want+float64(burst)+1 {
		t.Fatalf("%d packets in 10 ms, want about %.0f", sent, want)
	}
}

// Where the round trip without queue is below batchDeferRTT, nothing is
// paced, however long the SRTT (pacing.go): there milliseconds of SRTT
// are queue, and the batches decide the bursts. The connection of
// TestScriptPacingSpreadsWindow, with one sample of 50 µs, sends the
// window at once.
func TestScriptNoPacingOnShortPath(t *testing.T) {
	tc, _, _ := newPacedConn(t, 100)
	tc.conn.rtt.OnSample(50 * time.Microsecond)
	if srtt := tc.conn.rtt.SRTT(); srtt < minPacedRTT {
		t.Fatalf("SRTT %v: the test wants one above minPacedRTT", srtt)
	}
	tc.write(string(make([]byte, 100*1000)))
	if n := len(tc.takeAll()); n != 100 {
		t.Fatalf("%d packets at once with a least RTT of 50 µs, want the window's 100", n)
	}
	if st := tc.conn.Stats(); st.PacingLimited != 0 {
		t.Fatalf("PacingLimited %v, want 0", st.PacingLimited)
	}
}

// RFC 6675 (NextSeg): every hole one SACK reveals is resent at once, as
// the window allows, not one per round trip; packets SACKed or declared
// lost leave the flight, which then holds only the retransmissions.
func TestScriptEveryHoleRepairedAtOnce(t *testing.T) {
	const size = 10 + wire.HeaderSize
	tc := newTestConn(t, roleDialer, withWindow(1<<20), withConfig(smallPackets))
	chunks := tc.sendPackets(20, 10)
	tc.advance(scriptHandshakeRTT)
	var sacked []uint16
	for i := 1; i < 20; i++ {
		if i%5 != 0 {
			sacked = append(sacked, tc.s(i))
		}
	}
	tc.peerAck(tc.s(0)-1, sacked...)
	for _, i := range []int{0, 5, 10, 15} {
		tc.wantPacket("a hole, resent", pkt{typ: wire.Data, seq: u16(tc.s(i)), payload: chunks[i]})
	}
	tc.wantIdle("every hole resent")
	if st := tc.conn.Stats(); st.InFlight != 4*size || st.Recoveries != 1 {
		t.Fatalf("InFlight %d, Recoveries %d; want %d (the four retransmissions) and 1", st.InFlight, st.Recoveries, 4*size)
	}
}

// What the pacer is owed is counted in bytes: a packet sent while the
// peer's window allowed a hundred bytes a round trip must not hold the
// window back at that rate once the peer reopens it (it held a stalled
// sender for tens of seconds after a zero-window probe on loopback).
func TestScriptPacingFollowsReopenedWindow(t *testing.T) {
	tc := newTestConn(t, roleDialer, withWindow(1<<20), withConfig(func(c *Config) {
		c.PacketSize = 1000
		c.NoPacing = false
	}))
	tc.peerWnd = 100
	tc.peerAck(tc.s(0) - 1)
	tc.write(strings.Repeat("z", 20000))
	tc.wantPacket("what a 100-byte window allows", pkt{typ: wire.Data, seq: u16(tc.s(0))})
	tc.wantIdle("the window is full")
	tc.peerWnd = 1 << 20
	tc.advance(time.Millisecond)
	tc.peerAck(tc.s(0))
	tc.advance(2 * time.Millisecond)
	if n := len(tc.takeAll()); n < 4 {
		t.Fatalf("%d packets within 2 ms of the window reopening, want the window's first bursts", n)
	}
}

// A pacer's timer that fires late does not cost the rate (pacing.go):
// with every timer served 3 ms late, a window's worth still goes out at
// the pacing rate, the late steps catching up on what the pacer owed.
// Emptying the bucket at each late step sent a millisecond's worth every
// 4 ms instead, a quarter of the rate.
func TestScriptPacingLateTimerKeepsRate(t *testing.T) {
	const size = pacedSize
	tc, rate, _ := newPacedConn(t, 1000)
	tc.write(string(make([]byte, 1000*1000)))
	start := tc.now
	sent := len(tc.takeAll())
	for tc.now.Sub(start) < 20*time.Millisecond {
		dl := tc.conn.NextDeadline()
		if dl.IsZero() {
			t.Fatalf("at %v: nothing armed with %d of 1000 packets sent", tc.elapsed(), sent)
		}
		tc.now = dl.Add(3 * time.Millisecond) // the IO layer is late
		tc.conn.HandleTimeout(tc.now)
		tc.finish("a late timer")
		sent += len(tc.takeAll())
	}
	want := rate * tc.now.Sub(start).Seconds() / size
	if float64(sent) < 0.9*want {
		t.Fatalf("%d packets in %v with timers 3 ms late, want about %.0f (the pacing rate)", sent, tc.now.Sub(start), want)
	}
	if float64(sent) > want+rate*0.002/size {
		t.Fatalf("%d packets in %v, want at most the rate's %.0f and a burst", sent, tc.now.Sub(start), want)
	}
}

// A sender that had nothing to send earns no pacing credit (pacing.go):
// data written after an idle spell goes out one burst at a time, not as
// a catch-up on the idle time.
func TestScriptPacingNoCreditWhenIdle(t *testing.T) {
	tc, _, burst := newPacedConn(t, 1000)
	tc.write(string(make([]byte, 10*1000)))
	tc.takeAll()
	tc.advance(5 * time.Millisecond) // everything went; nothing waits
	tc.takeAll()
	tc.write(string(make([]byte, 500*1000)))
	if n := len(tc.takeAll()); n > burst+1 {
		t.Fatalf("%d packets at once after an idle spell, want at most a burst (%d)", n, burst+1)
	}
}
