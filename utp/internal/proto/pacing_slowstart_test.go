package proto

import (
	"math"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/cc"
)

// slowStartWindow is a fixed window that reports slow start and a
// queuing delay the test sets.
type slowStartWindow struct {
	fixedWindow
	qd time.Duration
}

func (s *slowStartWindow) QueuingDelay() time.Duration { return s.qd }
func (s *slowStartWindow) InSlowStart() bool           { return true }

// Pacing (pacing.go): slow start is paced at twice the window per SRTT
// while the delay shows no queue, and at 1.25 times once it shows
// pacingQueueShows, as after slow start: at twice, a window near the
// path's bandwidth-delay product left half a round trip of packets in
// the bottleneck's queue (Linux lowers its slow-start gain near the end
// too, tcp_update_pacing_rate).
func TestScriptSlowStartPacingFallsWhenTheQueueShows(t *testing.T) {
	const window = 100 * pacedSize
	ctrl := &slowStartWindow{fixedWindow: fixedWindow{wnd: window}}
	tc := newTestConn(t, roleDialer, withConfig(func(c *Config) {
		c.PacketSize = 1000
		c.NoPacing = false
		c.NewController = func(time.Time, int) cc.Controller { return ctrl }
	}))
	perRTT := float64(window) / tc.conn.rtt.SRTT().Seconds()
	for _, tt := range []struct {
		qd   time.Duration
		gain float64
	}{
		{0, 2},
		{pacingQueueShows - time.Microsecond, 2},
		{pacingQueueShows, 1.25},
		{50 * time.Millisecond, 1.25},
	} {
		ctrl.qd = tt.qd
		if got := tc.conn.pacingRate() / perRTT; math.Abs(got-tt.gain) > 1e-9 {
			t.Errorf("slow start, %v of queue: pacing at %.3f × window/SRTT, want %.2f", tt.qd, got, tt.gain)
		}
	}
}
