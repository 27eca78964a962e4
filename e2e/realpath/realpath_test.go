//go:build linux

package realpath

import (
	"flag"
	"fmt"
	"slices"
	"testing"
	"time"
)

// taps turns on the paths' taps (Config.Taps): each run then logs how
// out of order uTP packets passed every hop.
var taps = flag.Bool("realpath.taps", false, "log the order in which uTP packets pass every hop (Config.Taps)")

// ppTarget is LEDBAT++'s queueing-delay target, our default controller's
// (draft-irtf-iccrg-ledbat-plus-plus section 4.2; utp.LEDBATPlusPlus).
const ppTarget = 60 * time.Millisecond

// ours is our library at its defaults.
var ours = UTP("utp")

// newPath builds cfg's path for one test (NewForTest), with the taps on
// when -realpath.taps asks.
func newPath(t *testing.T, cfg Config) *Path {
	t.Helper()
	cfg.Taps = cfg.Taps || *taps
	return NewForTest(t, cfg)
}

// runOneFlow runs tr alone and logs what it measured.
func runOneFlow(t *testing.T, p *Path, tr Transport, w Window) OneFlow {
	t.Helper()
	r, err := p.RunOneFlow(tr, w)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s on %v, %v–%v: %s, queue median %v, p95 %v (base RTT %v, delay-line drops %d, lost at the bottleneck %d, at the receiving socket %d, at the sending socket %d, by devices %d, process CPU %.2f s per second)",
		tr.Name, p.Config, w.From, w.To, bitrate(r.Rate), r.QueueP50.Round(time.Millisecond),
		r.QueueP95.Round(time.Millisecond), r.Trace.BaseRTT.Round(time.Millisecond), r.Trace.DelayDrops,
		r.Trace.Losses.Bottleneck, r.Trace.Losses.ReceiverSocket, r.Trace.Losses.SenderSocket, r.Trace.Losses.Devices, r.Trace.CPU.Seconds()/w.To.Seconds())
	d := r.Trace.DelayLine
	t.Logf("%s: the delay line carried %d packets (%.0f a second): %v; it used %.2f CPU s per second in its own process",
		tr.Name, d.Released, float64(d.Released)/w.To.Seconds(), d, r.Trace.DelayCPU.Seconds()/w.To.Seconds())
	logStats(t, r.Trace)
	logTaps(t, tr.Name, r.Trace)
	return r
}

// logTaps logs what the path's taps saw, when it has them.
func logTaps(t *testing.T, name string, tr *Trace) {
	t.Helper()
	for _, s := range tr.Taps {
		t.Logf("%s: %v", name, s)
	}
}

// logStats logs the sending side's counters of each flow of ours: what
// to read first when a figure falls short.
func logStats(t *testing.T, tr *Trace) {
	t.Helper()
	for _, f := range tr.Flows {
		if len(f.Points) == 0 || !f.Points[0].Ours {
			continue
		}
		windows := make([]time.Duration, 0, len(f.Points)) // bytes, sorted with Quantile's type
		for _, pt := range f.Points {
			windows = append(windows, time.Duration(pt.Window))
		}
		slices.Sort(windows)
		s := f.Final
		t.Logf("%s (from %v): median window %d B, at the end window %d B, in flight %d B, packet %d B, RTT %v; sent %d packets, %d retransmitted (%d fast), %d recoveries (%d undone), %d timeouts (%d series undone); the sending socket failed to send %d; the receiver got %d packets, %d of them twice, %d late (at worst %v), dropped %d for want of room; the sender got %d late",
			f.Name, f.Start, int(Quantile(windows, 0.5)), s.Window, s.InFlight, s.PacketSize, s.RTT.Round(time.Millisecond),
			s.PacketsSent, s.Retransmits, s.FastRetransmits, s.Recoveries, s.SpuriousRecoveries, s.Timeouts, s.SpuriousTimeouts,
			f.SenderSocket.SendErrors, f.FinalReceiver.PacketsReceived, f.FinalReceiver.Duplicates, f.FinalReceiver.ReceivedLate,
			f.FinalReceiver.LateWorst, f.FinalReceiver.DroppedNoRoom, s.ReceivedLate)
		t.Logf("%s: the receiver sent %d packets (ACKs); the sender was held back by the pacer %v, its window %v, the peer's window %v, and had nothing to send %v; its socket sent %d datagrams in %d calls of several",
			f.Name, f.FinalReceiver.PacketsSent, s.PacingLimited.Round(time.Millisecond), s.WindowLimited.Round(time.Millisecond),
			s.PeerLimited.Round(time.Millisecond), s.AppLimited.Round(time.Millisecond), f.SenderSocket.PacketsOut, f.SenderSocket.SegmentedSends)
	}
}

// runPair runs two flows and logs what it measured.
func runPair(t *testing.T, p *Path, first, second Transport, join time.Duration, w Window) Pair {
	t.Helper()
	r, err := p.RunPair(first, second, join, w)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s, then %s at %v, on %v: shares %.0f%% / %.0f%% over %v–%v, Jain %.2f, queue median %v, p95 %v (delay-line drops %d, lost at the bottleneck %d, at the receiving socket %d, by devices %d)",
		first.Name, second.Name, join, p.Config, 100*r.Shares[0], 100*r.Shares[1], w.From, w.To, r.Jain,
		r.QueueP50.Round(time.Millisecond), r.QueueP95.Round(time.Millisecond), r.Trace.DelayDrops, r.Trace.Losses.Bottleneck, r.Trace.Losses.ReceiverSocket, r.Trace.Losses.Devices)
	logStats(t, r.Trace)
	logTaps(t, first.Name+", "+second.Name, r.Trace)
	return r
}

// TestBackgroundOneFlow is issue 14's first row: alone at the bottleneck,
// our flow holds the queue at LEDBAT++'s target (+10%) and still uses at
// least 90% of what TCP cubic moves through the same path in the same run
// (TCP fills the link; its goodput is the link's less the headers).
func TestBackgroundOneFlow(t *testing.T) {
	p := newPath(t, Background)
	measure(t, func() (misses []string) {
		us := runOneFlow(t, p, ours, Window{5 * time.Second, 15 * time.Second})
		tcp := runOneFlow(t, p, TCP, Window{3 * time.Second, 10 * time.Second})
		if max := ppTarget * 11 / 10; us.QueueP50 > max {
			misses = append(misses, fmt.Sprintf("queueing delay median %v, want ≤ %v (the target +10%%)", us.QueueP50, max))
		}
		// Under the race detector our stack runs several times slower and
		// the kernel's TCP does not: the rate ratio is then only logged.
		if us.Rate < 0.9*tcp.Rate && !raceEnabled {
			misses = append(misses, fmt.Sprintf("%s is %.2f× TCP's %s, want ≥ 0.9×", bitrate(us.Rate), us.Rate/tcp.Rate, bitrate(tcp.Rate)))
		}
		return misses
	})
}

// TestBackgroundTCPJoins: a TCP cubic flow joins ours at 5 s; over the
// last 10 s ours keeps at most 5% of the bottleneck (issue 14).
func TestBackgroundTCPJoins(t *testing.T) {
	p := newPath(t, Background)
	measure(t, func() (misses []string) {
		r := runPair(t, p, ours, TCP, 5*time.Second, Window{7 * time.Second, 17 * time.Second})
		if r.Shares[0] > 0.05 {
			misses = append(misses, fmt.Sprintf("our share beside TCP is %.1f%%, want ≤ 5%%", 100*r.Shares[0]))
		}
		return misses
	})
}

// TestBackgroundLatecomer: a second flow of ours joins at 10 s, when the
// first already holds its queue (the latecomer advantage of RFC 6817
// section 4.4). Over 12–35 s (issue 14's span) the two share fairly
// (Jain ≥ 0.95) and the queue stays at most 2× LEDBAT++'s target (issue
// 14's 120 ms). The span is as long as the package's time allows: over
// 15 s, the index moves by ±0.03 with the phase of the slowdowns.
func TestBackgroundLatecomer(t *testing.T) {
	p := newPath(t, Background)
	measure(t, func() (misses []string) {
		r := runPair(t, p, ours, ours, 10*time.Second, Window{12 * time.Second, 35 * time.Second})
		if r.Jain < 0.95 {
			misses = append(misses, fmt.Sprintf("Jain index %.3f (shares %.0f%% / %.0f%%), want ≥ 0.95", r.Jain, 100*r.Shares[0], 100*r.Shares[1]))
		}
		if r.QueueP50 > 2*ppTarget {
			misses = append(misses, fmt.Sprintf("queueing delay median with both flows %v, want ≤ %v", r.QueueP50, 2*ppTarget))
		}
		return misses
	})
}

// TestIdlePath checks the instrument before the scenarios use it: on an
// idle path the smallest probe round trip is the delay line's RTT (never
// less, and at most a few milliseconds more), probes come back, and the
// line lost nothing. The idle queue's median is only logged: on a loaded
// machine it measures the scheduler (10 ms was seen), not the path.
func TestIdlePath(t *testing.T) {
	p := newPath(t, Background)
	tr, err := p.Run(2 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	q := tr.QueueDelays(0, tr.Duration)
	t.Logf("base RTT %v, queue median %v over %d probes", tr.BaseRTT, Quantile(q, 0.5), len(q))
	if tr.BaseRTT < Background.RTT || tr.BaseRTT > Background.RTT+10*time.Millisecond {
		t.Errorf("base RTT %v, want %v to %v", tr.BaseRTT, Background.RTT, Background.RTT+10*time.Millisecond)
	}
	if len(q) < 20 {
		t.Errorf("%d probes came back in 2 s (one sent every %v), want ≥ 20", len(q), ProbeInterval)
	}
	if tr.DelayDrops != 0 {
		t.Errorf("the delay line dropped %d packets", tr.DelayDrops)
	}
}
