package cc

import (
	"testing"
	"time"
)

// BenchmarkRLEDBATOnPacket feeds the receiver's controller what a bulk
// transfer on a short path brings: a packet every microsecond whose delay
// varies a little, and an echo of our delay that changes once per 150
// packets (once per ACK of ours).
func BenchmarkRLEDBATOnPacket(b *testing.B) {
	now := t0
	r := NewRLEDBAT(now, RLEDBATConfig{MSS: 1438})
	echo := uint32(5000)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		now = now.Add(time.Microsecond)
		if i%150 == 0 {
			echo = 5000 + uint32(i/150%7)*10
		}
		r.OnPacket(now, 90000+uint32(i%13)*3, echo, 1418)
	}
}
