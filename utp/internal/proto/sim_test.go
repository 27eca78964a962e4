package proto

import (
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/netsim"
)

func TestSimSmoke(t *testing.T) {
	spec := pairSpec{
		seed: 1,
		link: netsim.LinkConfig{Delay: 10 * time.Millisecond, Rate: 10e6, QueueBytes: 100 << 10},
		aToB: 1 << 20, bToA: 300 << 10,
		checkInvar: true,
	}
	p := newPair(t, spec)
	p.run(5 * time.Minute)
	if err := p.verify(spec); err != nil {
		t.Fatalf("seed %d: %v\na: %+v\nb: %+v", spec.seed, err, p.a.conn.Stats(), p.b.conn.Stats())
	}
	t.Logf("elapsed %v\na: %+v\nb: %+v", p.sim.Elapsed(), p.a.conn.Stats(), p.b.conn.Stats())
}
