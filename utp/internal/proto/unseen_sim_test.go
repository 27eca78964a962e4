package proto

import (
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/cc"
	"github.com/inet256/go-utp/v2/utp/internal/wire"
	"github.com/inet256/go-utp/v2/utp/netsim"
)

// reducedWindow is a fixed window that the first loss reduces to after
// for good.
type reducedWindow struct {
	fixedWindow
	after   int
	reduced bool
}

func (w *reducedWindow) OnLoss(time.Time, time.Duration) {
	if !w.reduced {
		w.wnd, w.reduced = w.after, true
	}
}

func (w *reducedWindow) OnTimeout(time.Time) { w.wnd = 1500 }

// Issue 17, the 1 Gbit/s path with a one-BDP buffer (recovery.go,
// noteUnseen and echoDetect): one packet is lost, and so is its first
// retransmission, as when the queue whose overflow dropped the original
// is still full. The flight (1.6 BDP, 2,800 packets on a 20 ms path)
// lies mostly past the 2,016 packets the peer's SACK names past the
// hole, and the loss halves the window; while those packets arrived
// unseen, the flight stayed above the window, nothing new was sent, no
// later packet could reveal the lost retransmission, and only the RTO
// repaired it (in the path matrix at one BDP, after LEDBAT had grown into
// the buffer: one timeout, the window collapsed, 0.876 of the link;
// 0.999 now). The flow must repair it without a timeout.
func TestRecoveryPastSACKHorizonNoTimeout(t *testing.T) {
	skipIfShort(t)
	const rate, rtt = 1e9, 20 * time.Millisecond
	bdp := int(rate / 8 * rtt.Seconds())
	w := &reducedWindow{fixedWindow: fixedWindow{wnd: bdp * 16 / 10}, after: bdp * 8 / 10}
	spec := pairSpec{
		seed: 1719, aToB: 1 << 40,
		link: netsim.LinkConfig{Delay: rtt / 2, Rate: rate, QueueBytes: bdp},
		back: &netsim.LinkConfig{Delay: rtt / 2},
		cfg: Config{SendBufferSize: 64 << 20, RecvBufferSize: 64 << 20,
			NewController: func(time.Time, int) cc.Controller { return w }},
	}
	var hole uint16
	drops := 0
	spec.onSetup = func(p *pair) {
		at := p.sim.Start().Add(500 * time.Millisecond)
		p.b.host.lose = func(b []byte) bool {
			h, _, err := wire.Parse(b)
			switch {
			case err != nil || h.Type != wire.Data || p.sim.Now().Before(at) || drops == 2:
				return false
			case drops == 0:
				hole = h.SeqNr
			case h.SeqNr != hole:
				return false
			}
			drops++
			return true
		}
	}
	p, m := runMetered(t, spec, 300*time.Millisecond, 1500*time.Millisecond)
	st := p.a.conn.Stats()
	util := float64(m.delivered*8) / rate / m.to.Sub(m.from).Seconds()
	t.Logf("seed %d: utilisation %.3f from 0.3 s to 1.5 s; dropped %d, declared lost %d, retransmits %d, timeouts %d, window reduced %v",
		spec.seed, util, p.ab.Stats().Dropped(), st.FastRetransmits, st.Retransmits, st.Timeouts, w.reduced)
	if !w.reduced || drops != 2 || p.ab.Stats().Dropped() != 0 {
		t.Fatalf("seed %d: window reduced %v, %d drops by the test, %d by the link; want a reduction, 2 and 0",
			spec.seed, w.reduced, drops, p.ab.Stats().Dropped())
	}
	if st.Timeouts != 0 || st.Retransmits != 2 {
		t.Errorf("seed %d: %d timeouts, %d retransmits; want none and 2", spec.seed, st.Timeouts, st.Retransmits)
	}
}

// Issue 17, slow start's spurious resends at 1 Gbit/s (recovery.go,
// rackDetect past the SACK horizon): slow start overshoots a 20 ms
// path's one-BDP buffer, and its drops spread over more packets than the
// peer's bitmask names past the first hole. Judged by time, the packets
// past the bitmask's end that had arrived were declared lost with those
// that had not: 1,498 resends for 588 drops, 910 of them received
// twice. Now a packet past the horizon that the echo shows has left the
// network waits for the bitmask, and only what was dropped is resent.
func TestSlowStartOvershootResendsOnlyDrops(t *testing.T) {
	skipIfShort(t)
	spec := massPath(1313, 1e9)
	p := newPair(t, spec)
	p.sim.RunUntil(p.sim.Start().Add(3 * time.Second))
	if p.a.failure != "" || p.b.failure != "" {
		t.Fatalf("seed %d: %s %s", spec.seed, p.a.failure, p.b.failure)
	}
	st, drops, dups := p.a.conn.Stats(), p.ab.Stats().Dropped(), p.b.conn.Stats().Duplicates
	t.Logf("seed %d: %d dropped at the bottleneck; resent %d (declared lost %d), received twice %d; recoveries %d, timeouts %d, window %d at 3 s",
		spec.seed, drops, st.Retransmits, st.FastRetransmits, dups, st.Recoveries, st.Timeouts, st.Window)
	if drops == 0 {
		t.Fatalf("seed %d: slow start dropped nothing; the test no longer reproduces", spec.seed)
	}
	if dups > uint64(drops)/20 || st.Timeouts != 0 {
		t.Errorf("seed %d: %d packets received twice and %d timeouts for %d drops; want at most 5%% and none",
			spec.seed, dups, st.Timeouts, drops)
	}
	if st.Window < 2<<20 {
		t.Errorf("seed %d: window %d at 3 s; the overshoot's repair must not cost the window", spec.seed, st.Window)
	}
}
