package proto

import (
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/cc"
	"github.com/inet256/go-utp/v2/utp/netsim"
)

// pathMatrix runs the full matrix of issue 17's netsim targets (1 Gbit/s,
// 20/100/200 ms, buffers of 0.5/1/2 BDP). It takes minutes; go test runs
// a scaled-down subset of it.
var pathMatrix = flag.Bool("sim.paths", false, "run the full 1 Gbit/s path matrix (slow)")

// pathDefaultCC runs the recovery targets with the configuration users
// get by default (LEDBAT++, the yielding receiver) instead of the pinned
// RFC 6817 LEDBAT of recoveryCfg, so that the default controller's
// figures in docs/performance.md can be reproduced.
var pathDefaultCC = flag.Bool("sim.defaultcc", false, "run the recovery targets with the default controller and receiver")

// pathCase is one bottleneck: a rate, a round trip, and a drop-tail
// buffer as a multiple of the bandwidth-delay product.
type pathCase struct {
	rate   int64 // bits per second
	rtt    time.Duration
	buffer float64 // × BDP
	seed   uint64
}

func (pc pathCase) String() string {
	return fmt.Sprintf("%dMbit-%v-%.1fBDP", pc.rate/1e6, pc.rtt, pc.buffer)
}

// bufferDelay is how long the full buffer takes to drain.
func (pc pathCase) bufferDelay() time.Duration {
	return time.Duration(pc.buffer * float64(pc.rtt))
}

// want is the least share of the link the flow must use from 10 s on:
// 90%, or 75% where the buffer is shorter than LEDBAT's delay target,
// which a delay-based sender cannot reach without overflowing it.
func (pc pathCase) want() float64 {
	if pc.bufferDelay() < 100*time.Millisecond {
		return 0.75
	}
	return 0.90
}

// recoveryCfg is the configuration of the recovery targets. They measure
// loss recovery, so the controller is RFC 6817's LEDBAT, whose loss
// response is a plain halving: LEDBAT++'s periodic slowdowns (the
// default controller) take their own share of a long path's capacity,
// which its tests measure. The receiver does not yield, as in
// ledbatConfig: LEDBAT aims at 100 ms of queue, above 5/4 of the
// yielding receiver's 60 ms target, so the receiver takes it for a
// sender that ignores delay and bounds its window (cc.RLEDBAT); the
// targets then measured that bound instead of the sender (at 1 Gbit/s x
// 200 ms, the receiver's window cycled between drained and 75 ms queues
// every 3.5 s, and the 1 and 2 BDP cells used 0.887 of the link).
func recoveryCfg() Config {
	if *pathDefaultCC {
		return Config{SendBufferSize: 64 << 20, RecvBufferSize: 64 << 20}
	}
	return Config{
		SendBufferSize: 64 << 20, RecvBufferSize: 64 << 20, NoYield: true,
		NewController: func(now time.Time, mss int) cc.Controller {
			return cc.NewLEDBAT(now, cc.LEDBATConfig{MSS: mss})
		},
	}
}

// runPath sends one bulk flow across the bottleneck and returns the share
// of the link it used between from and to after the start.
func runPath(t *testing.T, pc pathCase, from, to time.Duration) (float64, Stats) {
	t.Helper()
	bdp := float64(pc.rate) / 8 * pc.rtt.Seconds()
	link := netsim.LinkConfig{Delay: pc.rtt / 2, Rate: pc.rate, QueueBytes: int(pc.buffer * bdp)}
	spec := pairSpec{
		seed: pc.seed, link: link, back: &netsim.LinkConfig{Delay: pc.rtt / 2}, aToB: 1 << 40,
		cfg: recoveryCfg(),
	}
	p, m := runMetered(t, spec, from, to)
	if y := p.b.conn.rcv.yield.ctl; y != nil && y.Active() && !*pathDefaultCC {
		t.Errorf("seed %d: the receiver bounded the sender's window; the target measures the sender", pc.seed)
	}
	util := float64(m.delivered*8) / float64(pc.rate) / (to - from).Seconds()
	return util, p.a.conn.Stats()
}

// runMetered runs spec's pair until to after the start, metering what
// the link from the dialer delivers from from on; it fails the test if
// either end failed.
func runMetered(t *testing.T, spec pairSpec, from, to time.Duration) (*pair, *linkMeter) {
	t.Helper()
	p := newPair(t, spec)
	start := p.sim.Start()
	m := &linkMeter{from: start.Add(from), to: start.Add(to)}
	m.attach(p.ab)
	p.sim.RunUntil(m.to)
	if p.a.failure != "" || p.b.failure != "" {
		t.Fatalf("seed %d: %s %s", spec.seed, p.a.failure, p.b.failure)
	}
	return p, m
}

// Issue 17: a bulk flow fills bottlenecks of any bandwidth-delay product,
// whatever the buffer. Scaled down for go test (the rate is 50 Mbit/s,
// the windows 5-10% of the full matrix's); -sim.paths runs 1 Gbit/s.
func TestRecoveryFillsPaths(t *testing.T) {
	skipIfShort(t)
	rate, until := int64(50e6), 25*time.Second
	rtts := []time.Duration{20 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}
	buffers := []float64{0.5, 1, 2}
	if !*pathMatrix {
		rtts = rtts[1:]
		buffers = []float64{0.5, 2}
	} else {
		rate, until = 1e9, 30*time.Second
	}
	seed := uint64(170)
	for _, rtt := range rtts {
		for _, buf := range buffers {
			seed++
			pc := pathCase{rate: rate, rtt: rtt, buffer: buf, seed: seed}
			t.Run(pc.String(), func(t *testing.T) {
				util, st := runPath(t, pc, 10*time.Second, until)
				t.Logf("seed %d: utilisation %.3f from 10 s; recoveries %d (spurious %d), timeouts %d, retransmits %d, window %d",
					pc.seed, util, st.Recoveries, st.SpuriousRecoveries, st.Timeouts, st.Retransmits, st.Window)
				if util < pc.want() {
					t.Errorf("seed %d: utilisation %.3f from 10 s, want at least %.2f", pc.seed, util, pc.want())
				}
			})
		}
	}
}

// Issue 17: reordering is not loss. 1% of the data packets are held back
// 2 ms on a 20 ms path, so about a hundred packets overtake each at the
// full rate. Every window reduction that reordering causes must be undone
// (RFC 8985's reordering window, and the undo of spurious episodes), and
// the flow must keep the link full.
func TestRecoveryIgnoresReordering(t *testing.T) {
	skipIfShort(t)
	checkReorderingIgnored(t, 1717, 0.01, 2*time.Millisecond)
}

// Issue 17: a veth delivers into the backlog of the CPU that sent, so a
// sender whose packets leave from two cores has them overtake each other
// by a few packets, often: here 5% of packets are held back 1 ms (four
// or five packets at 50 Mbit/s, twenty at 1 Gbit/s with -sim.paths).
func TestRecoveryIgnoresFrequentShortReordering(t *testing.T) {
	skipIfShort(t)
	checkReorderingIgnored(t, 1718, 0.05, time.Millisecond)
}

// checkReorderingIgnored runs a bulk flow over a 20 ms path that loses
// nothing but holds back a share of the packets by delay, and asserts
// that every window reduction is undone and the link stays full.
func checkReorderingIgnored(t *testing.T, seed uint64, share float64, delay time.Duration) {
	t.Helper()
	rate := int64(50e6)
	if *pathMatrix {
		rate = 1e9
	}
	const rtt = 20 * time.Millisecond
	// An unbounded buffer: no packet is lost, so every loss declared is
	// reordering taken for loss.
	link := netsim.LinkConfig{Delay: rtt / 2, Rate: rate, QueueBytes: -1,
		Reorder: share, ReorderDelay: delay}
	spec := pairSpec{
		seed: seed, link: link, back: &netsim.LinkConfig{Delay: rtt / 2}, aToB: 1 << 40,
		cfg: recoveryCfg(),
	}
	p, m := runMetered(t, spec, 5*time.Second, 15*time.Second)
	st, lst := p.a.conn.Stats(), p.ab.Stats()
	util := float64(m.delivered*8) / float64(rate) / m.to.Sub(m.from).Seconds()
	t.Logf("seed %d: utilisation %.3f; recoveries %d, spurious %d, fast retransmits %d, retransmits %d",
		spec.seed, util, st.Recoveries, st.SpuriousRecoveries, st.FastRetransmits, st.Retransmits)
	if lst.DroppedQueue != 0 || lst.DroppedLoss != 0 {
		t.Fatalf("seed %d: the link dropped packets", spec.seed)
	}
	if st.Recoveries != st.SpuriousRecoveries {
		t.Errorf("seed %d: %d recovery episodes without a loss, only %d undone", spec.seed, st.Recoveries, st.SpuriousRecoveries)
	}
	if util < 0.9 {
		t.Errorf("seed %d: utilisation %.3f, want at least 0.9", spec.seed, util)
	}
}
