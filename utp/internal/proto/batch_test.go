package proto

import (
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/netsim"
)

// sendsPerStep runs a bulk transfer over a link with the given one-way
// delay and no bottleneck, and returns the sender's datagrams per step
// that sent any. The receiver gets every packet alone and acknowledges
// every second one, so without batching a step sends about two.
func sendsPerStep(t *testing.T, seed uint64, delay time.Duration) float64 {
	t.Helper()
	spec := pairSpec{seed: seed, link: netsim.LinkConfig{Delay: delay}, aToB: 16 << 20, aCloseDelay: time.Hour, bCloseDelay: time.Hour}
	p := newPair(t, spec)
	done := func() bool { return p.b.readCount < spec.aToB }
	p.sim.RunWhile(done, p.sim.Start().Add(time.Minute))
	if done() || p.a.failure != "" || p.b.failure != "" {
		t.Fatalf("seed %d: %d of %d bytes read; %s %s", seed, p.b.readCount, spec.aToB, p.a.failure, p.b.failure)
	}
	return float64(p.a.sends) / float64(p.a.sendSteps)
}

// Issue 17: on a path of tens of microseconds a step sends new data in
// batches of about 64 KiB (batch.go), so that the IO layer's system calls
// each carry many packets; on a path of milliseconds pacing decides and
// nothing is deferred.
func TestShortPathSendsInBatches(t *testing.T) {
	const seed = 1741
	short := sendsPerStep(t, seed, 20*time.Microsecond)
	long := sendsPerStep(t, seed, 5*time.Millisecond)
	t.Logf("seed %d: datagrams per sending step: %.1f at 40 µs RTT, %.1f at 10 ms", seed, short, long)
	// A quarter of the window, when that is under 64 KiB; unbatched, 2.1.
	if short < 10 {
		t.Errorf("seed %d: %.1f datagrams per sending step at 40 µs RTT, want at least 10", seed, short)
	}
	if long > 3 {
		t.Errorf("seed %d: %.1f datagrams per sending step at 10 ms RTT: deferred where pacing decides", seed, long)
	}
}
