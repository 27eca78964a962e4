package proto

import (
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/netsim"
)

// Short transfers across a lossy path, with and without tail loss probes
// (tlp.go), on the same seeds: 16 KiB each (12 packets and the FIN), 60
// ms round trips, 10% loss toward the receiver. A transfer whose last
// packets are lost waits for the retransmission timeout without a probe;
// with one, the tail is repaired by fast recovery. The probes must save
// at least a quarter of the timeouts (they cannot save those of the
// handshake, nor those of retransmissions lost in recovery, where RFC
// 8985 sends no probe) and shorten the total time to deliver everything
// (the receiver's EOF); every transfer completes either way.
func TestSimTailLossProbeShortTransfers(t *testing.T) {
	const seeds = 100
	run := func(noProbe bool) (timeouts, probes uint64, total time.Duration) {
		for seed := uint64(17001); seed <= 17000+seeds; seed++ {
			spec := pairSpec{
				seed: seed, aToB: 16 << 10,
				link: netsim.LinkConfig{Delay: 30 * time.Millisecond, Loss: 0.10},
				back: &netsim.LinkConfig{Delay: 30 * time.Millisecond},
				cfg:  Config{NoTailProbe: noProbe},
			}
			p := newPair(t, spec)
			p.run(time.Minute)
			if err := p.verify(spec); err != nil {
				t.Fatalf("seed %d, probes off %v: %v", spec.seed, noProbe, err)
			}
			st := p.a.conn.Stats()
			timeouts += st.Timeouts
			probes += st.TailProbes
			total += p.b.eofAt
		}
		return timeouts, probes, total
	}
	offTimeouts, _, offTotal := run(true)
	onTimeouts, onProbes, onTotal := run(false)
	t.Logf("seeds 17001–%d: without probes %d timeouts, %v to deliver everything; with them %d timeouts, %d probes, %v",
		17000+seeds, offTimeouts, offTotal.Round(time.Millisecond), onTimeouts, onProbes, onTotal.Round(time.Millisecond))
	if onProbes == 0 || 4*onTimeouts > 3*offTimeouts {
		t.Errorf("with probes %d timeouts (%d probes), without %d: want at most three quarters", onTimeouts, onProbes, offTimeouts)
	}
	if onTotal >= offTotal {
		t.Errorf("with probes the transfers took %v in all, without %v: want less", onTotal, offTotal)
	}
}
