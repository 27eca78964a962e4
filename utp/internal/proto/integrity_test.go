package proto

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/cc"
	"github.com/inet256/go-utp/v2/utp/internal/wire"
	"github.com/inet256/go-utp/v2/utp/netsim"
)

var (
	simSeeds = flag.Int("sim.seeds", 500, "number of seeds TestIntegritySweep runs")
	simSeed  = flag.Uint64("sim.seed", 0, "run only this seed of TestIntegritySweep (replay a failure)")
	simBase  = flag.Uint64("sim.seedbase", 0, "TestIntegritySweep runs seeds seedbase+1 to seedbase+seeds (a second sweep beside the usual one)")
)

// randomSpec draws a path and a workload from seed: loss 0–20%, delay,
// jitter, duplication, reordering, sometimes a bottleneck, transfer sizes
// from 0 B to 64 MiB (see transferSize), both directions, and one of three
// close orders.
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
	spec := pairSpec{seed: seed, link: link, aToB: transferSize(r), bToA: transferSize(r), checkInvar: true}
	switch r.IntN(3) {
	case 0: // dialer closes first
		spec.bCloseDelay = time.Second
	case 1: // acceptor closes first
		spec.aCloseDelay = time.Second
	} // else both at once
	if r.IntN(4) == 0 {
		// Both ends advertise that they read large datagrams, so that the
		// drawn size is used rather than held to CommonDatagram.
		spec.cfg.PacketSize = 200 + r.IntN(8000)
		spec.cfg.MaxRecvDatagram = 65535
	}
	if r.IntN(4) == 0 {
		spec.cfg.RecvBufferSize = 16<<10 + r.IntN(256<<10)
	}
	if r.IntN(4) == 0 {
		// Path MTU discovery over a path that silently drops what is
		// larger than its MTU (drawn last, so the other draws of a seed
		// stay what they were).
		spec.cfg.PathBase, spec.cfg.PathOverhead = 1232, 48
		if spec.cfg.PacketSize == 0 {
			spec.cfg.PacketSize = 8952
		}
		spec.cfg.MaxRecvDatagram = 65535
		spec.link.MTU = 1232 + r.IntN(8000)
		if r.IntN(4) == 0 {
			// An IPv4 path narrower than the base: discovery falls to
			// the floor and searches between the two.
			spec.cfg.PathBase, spec.cfg.PathFloor, spec.cfg.PathOverhead = 1252, 548, 28
			spec.link.MTU = 548 + r.IntN(704)
		}
		if spec.back == nil {
			back := spec.link
			spec.back = &back
		}
	}
	spec.limit = timeBound(spec)
	return spec
}

// maxTransfer is the largest transfer the sweep draws, the 64 MiB.
const maxTransfer = 64 << 20

// transferSize draws the bytes one direction carries: mostly small, since
// short transfers exercise the handshake and close, and bugs at a size
// need not show at a larger one; the simulation's cost grows with the
// bytes. One in eight is empty; the rest are log-uniform over three
// ranges, so every order of magnitude is drawn: 1 B to 256 KiB (5 in 8),
// 256 KiB to 8 MiB (15 in 64) and 8 MiB to 64 MiB (1 in 64, a quarter of
// those exactly 64 MiB). A 500-seed sweep moves about 1 GB.
func transferSize(r *rand.Rand) uint64 {
	logUniform := func(lo, hi float64) uint64 {
		return uint64(math.Round(lo * math.Pow(hi/lo, r.Float64())))
	}
	switch k := r.IntN(64); {
	case k < 8:
		return 0
	case k < 48:
		return logUniform(1, 256<<10)
	case k < 63:
		return logUniform(256<<10, 8<<20)
	case r.IntN(4) == 0:
		return maxTransfer
	default:
		return logUniform(8<<20, maxTransfer)
	}
}

// timeBound is the virtual time a transfer may take before it counts as
// hung, derived from the link and the configuration.
//
// The transfer is priced at half the throughput that the TCP Reno model
// of Padhye et al. (SIGCOMM 1998) predicts for the link's loss rate
// (reordering and duplication included) and round trip, or the
// bottleneck's serialisation time, or the receive window per round trip,
// whichever is slowest; it grows with the bytes, so the bound stays
// proportionate for 64 MiB (the largest runs use 10% to 50% of it). The
// fixed part is the protocol's own budgets, from its constants: the
// handshake's (39 s by default), the longest stall a live connection
// survives, which bounds the closing FIN exchange (68 s), TIME-WAIT (16 s),
// and the scripted close delays; on a path whose full queue lengthens the
// RTO beyond RTT.MaxBackoff the last two grow with it.
func timeBound(spec pairSpec) time.Duration {
	cfg := spec.cfg.withDefaults()
	l := spec.link
	rtt := baseRTT(cfg, l).Seconds()
	bytes := float64(max(spec.aToB, spec.bToA))
	size := cfg.PacketSize
	if cfg.PathBase > 0 {
		// Discovery may keep packets at the base, or at the floor below
		// it; price them so.
		size = min(size, max(cfg.PathFloor, min(cfg.PathBase, l.MTU))-wire.HeaderSize-2-cfg.MaxSACKBytes)
	}
	packets := bytes/float64(size) + 1
	// A reordered packet draws the duplicate ACKs of a lost one, and a
	// duplicated one an extra duplicate ACK; either can end in a fast
	// retransmission that halves the window, so both count as loss here.
	p := min(1, l.Loss+l.Reorder+l.Duplicate)
	rto := max(0.2, 2*rtt)
	perPacket := rtt*math.Sqrt(2*p/3) + rto*min(1, 3*math.Sqrt(3*p/8))*p*(1+32*p*p)
	perPacket = max(perPacket, rtt/64) // lossless: at least 64 packets per RTT after slow start
	if k := l.QueueBytes / (cfg.PacketSize + wire.HeaderSize); l.Rate > 0 && k < 4 {
		// A queue that holds few full packets overflows on the bursts that
		// ACKs release (two packets, three while the window grows) at any
		// window: price the path as k packets per round trip, a loss
		// costing an RTO.
		perPacket = max(perPacket, (rtt+p*rto)/float64(max(1, k)))
	}
	transfer := packets * perPacket
	if l.Rate > 0 {
		transfer = max(transfer, bytes*8/float64(l.Rate))
	}
	transfer = max(transfer, bytes/float64(cfg.RecvBufferSize)*rtt)
	maxRTO := rtoCeiling(cfg, l)
	fixed := handshakeBudget(cfg) + stallBudget(cfg, maxRTO) + timeWait(cfg, maxRTO) +
		spec.aCloseDelay + spec.bCloseDelay
	return fixed + time.Duration(2*transfer*float64(time.Second))
}

// baseRTT is the link's round trip without queuing: the delay and jitter
// each way, a reordered packet's extra delay, and a delayed ACK.
func baseRTT(cfg Config, l netsim.LinkConfig) time.Duration {
	reorder := l.ReorderDelay
	if l.Reorder > 0 && reorder == 0 {
		reorder = l.Delay + l.Jitter + time.Millisecond
	}
	return 2*(l.Delay+l.Jitter) + reorder + cfg.AckDelay
}

// handshakeBudget is how long a dial may take before it fails: the SYN
// and its Config.SynRetries retransmissions, an initial RTO apart and
// doubling up to RTT.MaxBackoff, and the last RTO (39 s by default).
func handshakeBudget(cfg Config) time.Duration {
	rto := cfg.RTT.Initial
	if rto <= 0 {
		rto = cc.DefaultInitialRTO
	}
	var total time.Duration
	for range cfg.SynRetries + 1 {
		total += rto
		rto = max(rto, min(2*rto, cfg.RTT.MaxBackoff))
	}
	return total
}

// rtoCeiling bounds the RTO before backoff: SRTT + 4 RTTVAR, every sample
// being at most the base round trip plus a full bottleneck queue, is at
// most five such round trips.
func rtoCeiling(cfg Config, l netsim.LinkConfig) time.Duration {
	rtt := baseRTT(cfg, l)
	if l.Rate > 0 {
		rtt += time.Duration(float64(l.QueueBytes) * 8 / float64(l.Rate) * float64(time.Second))
	}
	return max(cc.DefaultMinRTO, 5*rtt)
}

// stallBudget is the longest a live connection goes without progress:
// Config.MaxTimeouts consecutive timeouts and the expiry after them that
// would end it with ErrTimedOut, each RTO backed off to at most
// max(RTT.MaxBackoff, RTO).
func stallBudget(cfg Config, maxRTO time.Duration) time.Duration {
	return time.Duration(cfg.MaxTimeouts+1) * max(cfg.RTT.MaxBackoff, maxRTO)
}

// timeWait is TIME-WAIT as checkDone sets it: four times the larger of
// RTT.MaxBackoff and the RTO (16 s on most paths).
func timeWait(cfg Config, maxRTO time.Duration) time.Duration {
	return 4 * max(cfg.RTT.MaxBackoff, maxRTO)
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
			seeds = append(seeds, *simBase+uint64(i+1))
		}
	}
	var (
		virtual        time.Duration
		moved          uint64
		empty, large   int     // directions of 0 B and of 8 MiB or more
		largest        uint64  // bytes in one direction
		tightest       float64 // largest share of its bound a run used
		tightestSeed   uint64
		largestVirtual time.Duration
	)
	for _, seed := range seeds {
		spec := randomSpec(seed)
		p, err := runSpec(t, spec)
		virtual += p.sim.Elapsed()
		if err != nil {
			t.Errorf("seed %d (replay: go test ./utp/internal/proto -run TestIntegritySweep -sim.seed=%d): %v\nspec %s\ndialer %+v\nacceptor %+v",
				seed, seed, err, describe(spec), p.a.conn.Stats(), p.b.conn.Stats())
		}
		for _, n := range []uint64{spec.aToB, spec.bToA} {
			moved += n
			switch {
			case n == 0:
				empty++
			case n >= 8<<20:
				large++
			}
			if n > largest {
				largest, largestVirtual = n, p.sim.Elapsed()
			}
		}
		if f := float64(p.sim.Elapsed()) / float64(spec.limit); f > tightest {
			tightest, tightestSeed = f, seed
		}
	}
	t.Logf("%d seeds, %.0f MB, %d empty and %d of 8 MiB or more of %d transfers, the largest %d bytes (%v); %v of virtual time; the closest run used %.2f of its bound (seed %d)",
		len(seeds), float64(moved)/1e6, empty, large, 2*len(seeds), largest, largestVirtual.Round(time.Second),
		virtual.Round(time.Second), tightest, tightestSeed)
	if len(seeds) >= 500 && (empty == 0 || largest != maxTransfer) {
		t.Errorf("the sweep's sizes do not span 0 B to %d bytes: %d empty, largest %d", maxTransfer, empty, largest)
	}
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
		cfg: Config{PacketSize: 8000, MaxRecvDatagram: 65535},
	}
	spec.limit = timeBound(spec)
	p, err := runSpec(t, spec)
	if err != nil {
		t.Fatalf("%v\nspec %s\ndialer %+v\nacceptor %+v", err, describe(spec), p.a.conn.Stats(), p.b.conn.Stats())
	}
	t.Logf("virtual %v (last byte at %v / %v)\ndialer %+v", p.sim.Elapsed(), p.a.eofAt, p.b.eofAt, p.a.conn.Stats())
}

// TestIntegrityBothWaysReorder replays sweep seed 8673: 8 MiB and 17 MiB
// at once in 317-byte packets over a path that reorders 2.2%. Each side
// came to have thousands of packets in flight, more than the other's
// reorder window (bounded by forgeBudget) reached past its ack_nr, so each
// ignored every STATE of the other; each resent a packet the other had,
// and the connection timed out at 56 s (takeDuplicateAck).
func TestIntegrityBothWaysReorder(t *testing.T) {
	spec := randomSpec(8673)
	if spec.link.Reorder == 0 || spec.cfg.PacketSize != 317 {
		t.Fatalf("seed 8673 no longer draws the case: %s", describe(spec))
	}
	p, err := runSpec(t, spec)
	if err != nil {
		t.Fatalf("%v\nspec %s\ndialer %+v\nacceptor %+v", err, describe(spec), p.a.conn.Stats(), p.b.conn.Stats())
	}
}

// TestIntegrityNarrowPathProof replays sweep seed 4105: an IPv4 path
// narrower than the dialer's packets, 19% loss, and an acceptor that
// writes first. The dialer's answer to the proof request rode on data the
// path black-holed, its three small packets in the next 10 s were lost,
// and the unproven acceptor ended at ProofTimeout (proofduty.go).
func TestIntegrityNarrowPathProof(t *testing.T) {
	spec := randomSpec(4105)
	if spec.link.MTU == 0 || spec.link.MTU >= 1252 || spec.link.Loss < 0.15 || spec.bToA == 0 {
		t.Fatalf("seed 4105 no longer draws the case: %s", describe(spec))
	}
	p, err := runSpec(t, spec)
	if err != nil {
		t.Fatalf("%v\nspec %s\ndialer %+v\nacceptor %+v", err, describe(spec), p.a.conn.Stats(), p.b.conn.Stats())
	}
}

// TestIntegrityHeavyLossSmallWindow replays sweep seed 7914: 64 MiB over
// 5 Mbit/s × 85 ms with 15% random loss. LEDBAT++'s empty-queue growth
// bound, applied to small windows too, kept the window small, so small
// packets, each lost at 15%: the transfer took 36 virtual minutes, past
// its 21-minute bound (cc.LEDBATPP.emptyQueueGain).
func TestIntegrityHeavyLossSmallWindow(t *testing.T) {
	skipIfShort(t)
	spec := randomSpec(7914)
	if spec.link.Loss < 0.1 || spec.aToB != maxTransfer {
		t.Fatalf("seed 7914 no longer draws the case: %s", describe(spec))
	}
	p, err := runSpec(t, spec)
	if err != nil {
		t.Fatalf("%v\nspec %s\ndialer %+v\nacceptor %+v", err, describe(spec), p.a.conn.Stats(), p.b.conn.Stats())
	}
	t.Logf("virtual %v of a %v bound", p.sim.Elapsed(), spec.limit)
}
