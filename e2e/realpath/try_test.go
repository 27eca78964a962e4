package realpath

import (
	"testing"
	"time"
)

func TestTry(t *testing.T) {
	p, err := New(Config{Rate: 10e6, Buffer: 400 * time.Millisecond, RTT: 40 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, tp := range []Transport{UTP("utp"), TCP} {
		tr, err := p.Run(8*time.Second, FlowSpec{Transport: tp})
		if err != nil {
			t.Fatal(err)
		}
		q := tr.QueueDelays(3*time.Second, 8*time.Second)
		t.Logf("%s: base %v rate %.2f Mbit/s queue p50 %v p95 %v drops %d n=%d", tp.Name, tr.BaseRTT, tr.Rate(0, 3*time.Second, 8*time.Second)/1e6, Quantile(q, .5), Quantile(q, .95), tr.DelayDrops, len(q))
	}
}
