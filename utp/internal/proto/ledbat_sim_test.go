package proto

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/cc"
	"github.com/inet256/go-utp/v2/utp/netsim"
)

// bottleneck is RFC 6817's reference scenario for the tests below: a
// 10 Mbit/s bottleneck with a 400 ms drop-tail buffer and a 40 ms base
// RTT.
func bottleneck() netsim.LinkConfig {
	const rate = 10e6
	return netsim.LinkConfig{Delay: 20 * time.Millisecond, Rate: rate, QueueBytes: rate / 8 * 4 / 10}
}

// ledbatTrace names a CSV file into which TestLEDBATHoldsTargetDelay writes
// its sender's window and queuing delay over time; the benchmark suite
// (bench/) plots it.
var ledbatTrace = flag.String("ledbat.trace", "", "write TestLEDBATHoldsTargetDelay's window and delay to this CSV file")

// linkMeter records, per packet that enters a link, its queuing delay and
// size, so a test can take medians and utilisation over a time window.
type linkMeter struct {
	from, to  time.Time
	delays    []time.Duration
	delivered int64
	last      time.Duration // the latest delivered packet's queuing delay, at any time
}

func (m *linkMeter) attach(l *netsim.Link) {
	l.OnTransmit = func(now time.Time, n int, qd time.Duration, fate netsim.Fate) {
		if fate == netsim.FateDelivered {
			m.last = qd
		}
		if now.Before(m.from) || !now.Before(m.to) {
			return
		}
		if fate == netsim.FateDelivered {
			m.delays = append(m.delays, qd)
			m.delivered += int64(n)
		}
	}
}

func (m *linkMeter) median() time.Duration {
	d := slices.Clone(m.delays)
	slices.Sort(d)
	if len(d) == 0 {
		return 0
	}
	return d[len(d)/2]
}

// RFC 6817 2.4: one LEDBAT flow alone on a bottleneck keeps the queuing
// delay it causes at TARGET (100 ms) and keeps the link busy.
func TestLEDBATHoldsTargetDelay(t *testing.T) {
	skipIfShort(t)
	link := bottleneck()
	spec := pairSpec{seed: 7, link: link, back: &netsim.LinkConfig{Delay: link.Delay}, aToB: 1 << 40, cfg: ledbatConfig}
	p := newPair(t, spec)
	start := p.sim.Start()
	m := &linkMeter{from: start.Add(15 * time.Second), to: start.Add(75 * time.Second)}
	m.attach(p.ab)
	var trace []string
	if *ledbatTrace != "" {
		trace = append(trace, "t_s,window_bytes,estimate_ms,link_queue_ms")
		var sample func()
		sample = func() {
			st := p.a.conn.Stats()
			trace = append(trace, fmt.Sprintf("%.1f,%d,%.1f,%.1f", p.sim.Elapsed().Seconds(), st.Window,
				ms(st.QueuingDelay), ms(m.last)))
			p.sim.After(100*time.Millisecond, sample)
		}
		p.sim.Schedule(start, sample)
	}
	p.sim.RunUntil(m.to)
	if trace != nil {
		if err := os.WriteFile(*ledbatTrace, []byte(strings.Join(trace, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	med := m.median()
	util := float64(m.delivered*8) / float64(link.Rate) / m.to.Sub(m.from).Seconds()
	t.Logf("median queuing delay %v, utilisation %.3f, sender %+v", med, util, p.a.conn.Stats())
	if med < 90*time.Millisecond || med > 110*time.Millisecond {
		t.Errorf("median queuing delay %v, want 100 ms ± 10%%", med)
	}
	if util < 0.95 {
		t.Errorf("link utilisation %.3f after slow start, want at least 0.95", util)
	}
	if p.a.failure != "" || p.b.failure != "" {
		t.Fatal(p.a.failure, p.b.failure)
	}
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// constWindow is a controller that ignores delay and loss: a stand-in for
// a TCP flow that fills the bottleneck's buffer.
type constWindow int

func (w constWindow) OnAck(cc.Ack)                    {}
func (w constWindow) OnLoss(time.Time, time.Duration) {}
func (w constWindow) OnSpuriousLoss(time.Time)        {}
func (w constWindow) OnTimeout(time.Time)             {}
func (w constWindow) OnPeerDelay(time.Time, uint32)   {}
func (w constWindow) Window() int                     { return int(w) }
func (w constWindow) QueuingDelay() time.Duration     { return 0 }
func (w constWindow) InSlowStart() bool               { return false }
func (w constWindow) String() string                  { return "fixed" }
func fixedController(w int) func(time.Time, int) cc.Controller {
	return func(time.Time, int) cc.Controller { return constWindow(w) }
}

func renoController(_ time.Time, mss int) cc.Controller {
	return cc.NewReno(cc.RenoConfig{MSS: mss})
}

func ledbatController(now time.Time, mss int) cc.Controller {
	return cc.NewLEDBAT(now, cc.LEDBATConfig{MSS: mss})
}

// ledbatConfig runs RFC 6817 LEDBAT (the controller before LEDBAT++
// became the default) with a receiver that does not yield: the tests in
// this file measure the sender's controller alone.
var ledbatConfig = Config{NewController: ledbatController, NoYield: true}

// RFC 6817 1 and 2.4: LEDBAT yields to a flow that does not back off on
// delay. Once a fixed-window flow fills the buffer, the LEDBAT flow's share
// of the bottleneck falls below 10%.
//
// The path's BDP plus its buffer is 550 kB. A window below that fills the
// buffer without loss; one above it overflows the buffer every round trip
// and, since it never backs off, loses its excess continuously (with
// 2 MiB, three of every four packets it sends are retransmissions) and
// may spend time in timeouts, during which the link idles and LEDBAT rightly
// uses it. The windows here span both regimes, up to 4 MiB (about 2,950
// packets). At 4 MiB the share was 0.31 while the receiver held only
// 2,048 packets past a hole: after every loss the competitor's receiver
// dropped most of its window and it recovered by timeout. Now that the
// receiver holds what its window admits and loss is found by time, the
// competitor recovers without timeouts and LEDBAT's share is 0.
//
// A competitor that ignores loss as well as delay would beat a loss-based
// flow too; TestLEDBATYieldsToRenoFlow is the one a LEDBAT that ignored
// delay would fail.
func TestLEDBATYieldsToLossBasedFlow(t *testing.T) {
	skipIfShort(t)
	for _, tt := range []struct {
		seed   uint64
		window int
	}{
		{11, 450 << 10},
		{12, 600 << 10},
		{13, 1 << 20},
		{11, 2 << 20},
		{11, 4 << 20},
	} {
		t.Run(fmt.Sprintf("%dKiB", tt.window>>10), func(t *testing.T) {
			share, _, err := ledbatShare(t, tt.seed, ledbatConfig, fixedController(tt.window), 70*time.Second)
			if err != nil {
				t.Fatalf("seed %d: %v", tt.seed, err)
			}
			if share >= 0.10 {
				t.Errorf("seed %d: LEDBAT share %.3f with a fixed-window competitor, want below 0.10", tt.seed, share)
			}
		})
	}
}

// RFC 6817 1: LEDBAT yields to TCP. The competitor is Reno (cc.Reno):
// loss-based AIMD that ignores delay, as a TCP flow does. A tooth of its
// sawtooth on this path lasts about a minute (one MSS per round trip of
// 0.2 to 0.44 s, from half the 550 kB of BDP plus buffer back to all of
// it), so the share is measured over 100 s that include at least one of
// its losses, when the queue is at its shortest.
func TestLEDBATYieldsToRenoFlow(t *testing.T) {
	skipIfShort(t)
	for _, seed := range []uint64{11, 12} {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			share, st, err := ledbatShare(t, seed, ledbatConfig, renoController, 130*time.Second)
			if err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			if st.FastRetransmits == 0 {
				t.Errorf("seed %d: the Reno flow saw no loss while measured; the window is too short for its sawtooth", seed)
			}
			if share >= 0.10 {
				t.Errorf("seed %d: LEDBAT share %.3f with a Reno competitor, want below 0.10", seed, share)
			}
		})
	}
}

// ledbatShare runs a flow with config ours alone for 10 s, then beside a
// flow with the competitor's controller (whose receiver does not yield, as
// a TCP receiver does not), and returns our flow's share of the bytes
// delivered from 30 s to end, and what the competitor's sender counted
// meanwhile.
func ledbatShare(t *testing.T, seed uint64, ours Config, competitor func(time.Time, int) cc.Controller, end time.Duration) (float64, Stats, error) {
	link := bottleneck()
	link.Jitter = 2 * time.Millisecond
	back := netsim.LinkConfig{Delay: link.Delay}
	spec := pairSpec{seed: seed, link: link, back: &back, aToB: 1 << 40, cfg: ours}
	p := newPair(t, spec)
	tcpSpec := spec
	tcpSpec.cfg = Config{NewController: competitor, NoYield: true}
	tcpA, _ := newFlow(t, p.a.host, p.b.host, tcpSpec, "-competitor")
	start := p.sim.Start()
	p.sim.Schedule(start.Add(10*time.Second), tcpA.dial)
	p.sim.RunUntil(start.Add(30 * time.Second))
	tcpB := p.b.host.conns[tcpA.recvID+1]
	if tcpB == nil {
		return 0, Stats{}, fmt.Errorf("the competing flow did not connect")
	}
	l0, t0, s0 := p.b.readCount, tcpB.readCount, tcpA.conn.Stats()
	p.sim.RunUntil(start.Add(end))
	ledbat, tcp, s1 := float64(p.b.readCount-l0), float64(tcpB.readCount-t0), tcpA.conn.Stats()
	d := Stats{Retransmits: s1.Retransmits - s0.Retransmits, FastRetransmits: s1.FastRetransmits - s0.FastRetransmits,
		Timeouts: s1.Timeouts - s0.Timeouts}
	secs := (end - 30*time.Second).Seconds()
	t.Logf("seed %d: LEDBAT %.2f Mbit/s, competitor %.2f Mbit/s (retransmits %d, fast %d, timeouts %d), share %.4f",
		seed, ledbat*8/secs/1e6, tcp*8/secs/1e6, d.Retransmits, d.FastRetransmits, d.Timeouts, ledbat/(ledbat+tcp))
	if tcp == 0 {
		return 0, d, fmt.Errorf("the competing flow moved nothing")
	}
	return ledbat / (ledbat + tcp), d, nil
}

// The default controller's loss response (LEDBAT++: a loss with no queue
// and a low loss rate is random, not congestion) plus SACK and fast
// retransmit keep goodput at 1% random loss on a 20 ms RTT path at no
// less than 70% of the loss-free goodput of the same path.
func TestGoodputUnderOnePercentLoss(t *testing.T) {
	skipIfShort(t)
	const size = 16 << 20
	run := func(loss float64, seed uint64) time.Duration {
		link := netsim.LinkConfig{Delay: 10 * time.Millisecond, Rate: 10e6, QueueBytes: 10e6 / 8 / 5, Loss: loss}
		spec := pairSpec{seed: seed, link: link, aToB: size, checkInvar: true}
		spec.limit = timeBound(spec)
		p, err := runSpec(t, spec)
		if err != nil {
			t.Fatalf("loss %.2f seed %d: %v", loss, seed, err)
		}
		// The transfer ends when the acceptor has read the last byte.
		t.Logf("loss %.2f: %+v", loss, p.a.conn.Stats())
		return p.b.eofAt
	}
	for _, seed := range []uint64{1, 2, 3} {
		clean, lossy := run(0, seed), run(0.01, seed)
		ratio := clean.Seconds() / lossy.Seconds()
		t.Logf("seed %d: loss-free %v, 1%% loss %v, goodput ratio %.3f", seed, clean, lossy, ratio)
		if ratio < 0.70 {
			t.Errorf("seed %d: goodput at 1%% loss is %.3f of loss-free, want at least 0.70", seed, ratio)
		}
	}
}

// skipIfShort skips minutes of simulated bulk traffic under -short, which
// CI uses only for its race-detector pass; the plain run includes them.
func skipIfShort(t *testing.T) {
	if testing.Short() {
		t.Skip("long simulation; run without -short")
	}
}
