package proto

import (
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
	"github.com/inet256/go-utp/v2/utp/netsim"
)

// massPath is the real-path Gigabit case scaled to nothing: a bulk flow
// with the default controller on Rate × 20 ms with a buffer of one BDP.
func massPath(seed uint64, rate int64) pairSpec {
	const rtt = 20 * time.Millisecond
	bdp := int(float64(rate) / 8 * rtt.Seconds())
	return pairSpec{
		seed: seed, aToB: 1 << 40,
		link: netsim.LinkConfig{Delay: rtt / 2, Rate: rate, QueueBytes: bdp},
		back: &netsim.LinkConfig{Delay: rtt / 2},
		cfg:  Config{SendBufferSize: 64 << 20, RecvBufferSize: 64 << 20},
	}
}

// delayBurst holds the data packets that reach h during hold and hands
// them over late after the hold began; packets after the hold are not
// held, so they overtake the burst, as when a reader goroutine is
// descheduled with a batch in hand while another reads on, or a delay
// line stalls one burst. Nothing is lost. It returns the held packets'
// sequence numbers, filled in when they are handed over.
func delayBurst(h *simHost, hold, late time.Duration) map[uint16]bool {
	sim := h.node.Sim()
	seqs := map[uint16]bool{}
	h.pausedUntil = sim.Now().Add(hold)
	sim.Schedule(sim.Now().Add(late), func() {
		held := h.held
		h.held = nil
		for _, p := range held {
			if hd, _, err := wire.Parse(p.b); err == nil && hd.Type == wire.Data {
				seqs[hd.SeqNr] = true
			}
			h.deliver(sim.Now(), p.from, p.b)
		}
	})
	return seqs
}

// Issue 17, the 1 Gbit/s mass resend (docs/performance.md, the real-path
// Gigabit runs): a burst delayed past the reordering window, with no
// loss, is declared lost by RACK and resent, but nothing else may be.
// Before the SACK horizon's grace (recovery.go), every packet in flight
// past the end of the receiver's bitmask (2,016 packets past the hole)
// that was sent before a retransmission was declared lost once that
// retransmission was acknowledged, although it had arrived: 1,043 and
// 1,285 resends for bursts of 440 and 881 packets. The episode is undone
// once the delayed originals arrive as duplicates and their ACKs echo
// their send times (dupecho.go); before, an episode whose retransmissions
// were acknowledged first stayed reduced.
func TestMassResendDelayedBurst(t *testing.T) {
	skipIfShort(t)
	cases := []struct{ hold, late time.Duration }{
		{5 * time.Millisecond, 40 * time.Millisecond},
		{10 * time.Millisecond, 40 * time.Millisecond},
	}
	for _, tc := range cases {
		spec := massPath(1313, 1e9)
		p := newPair(t, spec)
		start := p.sim.Start()
		p.sim.RunUntil(start.Add(3 * time.Second))
		a0, b0 := p.a.conn.Stats(), p.b.conn.Stats()
		drops0 := p.ab.Stats().Dropped()
		seen := map[uint16]int{} // data packets delivered in the next 200 ms (no wrap at 1 Gbit/s)
		end := start.Add(3200 * time.Millisecond)
		p.sim.Tap = func(now time.Time, _ *netsim.Node, _, to netsim.Addr, b []byte) {
			if hd, _, err := wire.Parse(b); err == nil && hd.Type == wire.Data && to == "acceptor" && now.Before(end) {
				seen[hd.SeqNr]++
			}
		}
		held := delayBurst(p.b.host, tc.hold, tc.late)
		p.sim.RunUntil(start.Add(4 * time.Second))
		a1, b1 := p.a.conn.Stats(), p.b.conn.Stats()
		if p.a.failure != "" || p.b.failure != "" {
			t.Fatalf("seed %d: %s %s", spec.seed, p.a.failure, p.b.failure)
		}
		first, any := uint16(0), false
		for q := range held {
			if !any || wire.SeqLess(q, first) {
				first, any = q, true
			}
		}
		twice, notHeld, past := 0, 0, 0
		for q, n := range seen {
			if n < 2 {
				continue
			}
			twice++
			if !held[q] {
				notHeld++
				if int(q-first) >= 2+8*wire.MaxSACKLen {
					past++
				}
			}
		}
		resent := a1.Retransmits - a0.Retransmits
		t.Logf("seed %d: %d packets delayed by %v: resent %d (declared lost %d), recoveries %d (%d undone, %d duplicate echoes), timeouts %d, tail probes %d; "+
			"receiver duplicates %d; delivered twice %d, %d never delayed, %d of those past the SACK horizon",
			spec.seed, len(held), tc.late, resent, a1.FastRetransmits-a0.FastRetransmits,
			a1.Recoveries-a0.Recoveries, a1.SpuriousRecoveries-a0.SpuriousRecoveries, a1.DuplicateEchoes-a0.DuplicateEchoes,
			a1.Timeouts-a0.Timeouts, a1.TailProbes-a0.TailProbes, b1.Duplicates-b0.Duplicates, twice, notHeld, past)
		if d := p.ab.Stats().Dropped() - drops0; d != 0 || len(held) == 0 {
			t.Fatalf("seed %d: the bottleneck dropped %d packets and %d were delayed; want a lossless delay of a burst", spec.seed, d, len(held))
		}
		if a1.Recoveries == a0.Recoveries || twice < len(held)*9/10 {
			t.Errorf("seed %d: %d of %d delayed packets delivered twice after %d recoveries; the reproduction no longer reproduces",
				spec.seed, twice, len(held), a1.Recoveries-a0.Recoveries)
		}
		if rec, undone := a1.Recoveries-a0.Recoveries, a1.SpuriousRecoveries-a0.SpuriousRecoveries; rec != undone {
			t.Errorf("seed %d: %d recoveries, %d undone (%d originals proven delivered by their echo); nothing was lost, want every one undone",
				spec.seed, rec, undone, a1.DuplicateEchoes-a0.DuplicateEchoes)
		}
		if notHeld > 2 || resent > uint64(len(held))+4 {
			t.Errorf("seed %d: %d packets resent for a burst of %d, %d of them never delayed (%d past the SACK horizon); want only the burst and at most 2 more",
				spec.seed, resent, len(held), notHeld, past)
		}
	}
}
