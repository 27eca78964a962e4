package proto

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/netsim"
)

var (
	simSeeds = flag.Int("sim.seeds", 500, "number of seeds TestIntegritySweep runs")
	simSeed  = flag.Uint64("sim.seed", 0, "run only this seed of TestIntegritySweep (replay a failure)")
)

// randomSpec draws a path and a workload from seed: loss 0–20%, delay,
// jitter, duplication, reordering, sometimes a bottleneck, transfer sizes
// from 0 B up, both directions, and one of three close orders.
func randomSpec(seed uint64) pairSpec {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	link := netsim.LinkConfig{
		Delay:  time.Duration(1+r.IntN(80)) * time.Millisecond,
		Jitter: time.Duration(r.IntN(10)) * time.Millisecond,
	}
	if r.IntN(5) > 0 {
		link.Loss = r.Float64() * 0.20
	}
	if r.IntN(3) == 0 {
		link.Duplicate = r.Float64() * 0.05
	}
	if r.IntN(3) == 0 {
		link.Reorder = r.Float64() * 0.10
	}
	if r.IntN(2) == 0 {
		link.Rate = int64(1+r.IntN(50)) * 1e6
		link.QueueBytes = (8 + r.IntN(500)) << 10
	}
	size := func() uint64 {
		switch r.IntN(8) {
		case 0:
			return 0
		case 1, 2:
			return uint64(r.IntN(4096))
		case 3, 4, 5:
			return uint64(r.IntN(256 << 10))
		default:
			return uint64(r.IntN(2 << 20))
		}
	}
	spec := pairSpec{seed: seed, link: link, aToB: size(), bToA: size(), checkInvar: true}
	switch r.IntN(3) {
	case 0: // dialer closes first
		spec.bCloseDelay = time.Second
	case 1: // acceptor closes first
		spec.aCloseDelay = time.Second
	} // else both at once
	if r.IntN(4) == 0 {
		spec.cfg.PacketSize = 200 + r.IntN(8000)
	}
	if r.IntN(4) == 0 {
		spec.cfg.RecvBufferSize = 16<<10 + r.IntN(256<<10)
	}
	spec.limit = timeBound(spec)
	return spec
}

// timeBound is the virtual time a transfer may take before it counts as
// hung, derived from the link. The transfer time is priced at half the
// throughput that the TCP Reno model of Padhye et al. (SIGCOMM 1998)
// predicts for the link's loss rate and round trip, or the bottleneck's
// serialisation time, or the receive window per round trip, whichever is
// slowest. On top come the handshake's retry budget (43 s), TIME-WAIT
// (1 minute), the scripted close delays and two minutes of slack.
func timeBound(spec pairSpec) time.Duration {
	cfg := spec.cfg.withDefaults()
	l := spec.link
	reorder := l.ReorderDelay
	if l.Reorder > 0 && reorder == 0 {
		reorder = l.Delay + l.Jitter + time.Millisecond
	}
	rtt := (2*(l.Delay+l.Jitter) + reorder + cfg.AckDelay).Seconds()
	bytes := float64(max(spec.aToB, spec.bToA))
	packets := bytes/float64(cfg.PacketSize) + 1
	p := l.Loss
	rto := max(0.2, 2*rtt)
	perPacket := rtt*math.Sqrt(2*p/3) + rto*min(1, 3*math.Sqrt(3*p/8))*p*(1+32*p*p)
	perPacket = max(perPacket, rtt/64) // lossless: at least 64 packets per RTT after slow start
	transfer := packets * perPacket
	if l.Rate > 0 {
		transfer = max(transfer, bytes*8/float64(l.Rate))
	}
	transfer = max(transfer, bytes/float64(cfg.RecvBufferSize)*rtt)
	fixed := 43*time.Second + time.Minute + 2*time.Minute + spec.aCloseDelay + spec.bCloseDelay
	return fixed + time.Duration(2*transfer*float64(time.Second))
}

func runSpec(t testing.TB, spec pairSpec) (*pair, error) {
	p := newPair(t, spec)
	p.run(spec.limit)
	return p, p.verify(spec)
}

// TestIntegritySweep: for every seed, every byte arrives exactly, both
// directions at once, in every close order, within the derived time bound.
// Replay a failure with -sim.seed=N.
func TestIntegritySweep(t *testing.T) {
	n := *simSeeds
	if testing.Short() && n == 500 {
		n = 50 // -short (the race-detector run in CI); the full run does 500
	}
	seeds := make([]uint64, 0, n)
	if *simSeed != 0 {
		seeds = append(seeds, *simSeed)
	} else {
		for i := range n {
			seeds = append(seeds, uint64(i+1))
		}
	}
	var virtual time.Duration
	for _, seed := range seeds {
		spec := randomSpec(seed)
		p, err := runSpec(t, spec)
		virtual += p.sim.Elapsed()
		if err != nil {
			t.Errorf("seed %d (replay: go test ./utp/internal/proto -run TestIntegritySweep -sim.seed=%d): %v\nspec %s\ndialer %+v\nacceptor %+v",
				seed, seed, err, describe(spec), p.a.conn.Stats(), p.b.conn.Stats())
		}
	}
	t.Logf("%d seeds, %v of virtual time", len(seeds), virtual)
}

func describe(s pairSpec) string {
	l := s.link
	return fmt.Sprintf("delay=%v jitter=%v loss=%.3f dup=%.3f reorder=%.3f rate=%d queue=%d a→b=%d b→a=%d closeDelays=%v/%v pkt=%d rbuf=%d limit=%v",
		l.Delay, l.Jitter, l.Loss, l.Duplicate, l.Reorder, l.Rate, l.QueueBytes, s.aToB, s.bToA,
		s.aCloseDelay, s.bCloseDelay, s.cfg.PacketSize, s.cfg.RecvBufferSize, s.limit)
}

// TestIntegrityLarge moves 64 MiB each way at once over a lossy,
// reordering, duplicating bottleneck, the largest size the issue names.
func TestIntegrityLarge(t *testing.T) {
	skipIfShort(t)
	spec := pairSpec{
		seed: 64,
		link: netsim.LinkConfig{Delay: 5 * time.Millisecond, Jitter: time.Millisecond, Loss: 0.005,
			Duplicate: 0.002, Reorder: 0.01, Rate: 400e6, QueueBytes: 2 << 20},
		aToB: 64 << 20, bToA: 64 << 20,
		cfg: Config{PacketSize: 8000},
	}
	spec.limit = timeBound(spec)
	p, err := runSpec(t, spec)
	if err != nil {
		t.Fatalf("%v\nspec %s\ndialer %+v\nacceptor %+v", err, describe(spec), p.a.conn.Stats(), p.b.conn.Stats())
	}
	t.Logf("virtual %v (last byte at %v / %v)\ndialer %+v", p.sim.Elapsed(), p.a.eofAt, p.b.eofAt, p.a.conn.Stats())
}
