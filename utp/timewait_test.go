package utp

import (
	"testing"
	"time"
)

// Ends that come out of order (a path whose RTO exceeds the backoff cap
// waits longer) still leave the queue earliest first.
func TestTimeWaitsKeepOrder(t *testing.T) {
	var w timeWaits
	defer w.stop()
	base := time.Now().Add(time.Hour)
	conns := make([]*Conn, 5)
	for i, off := range []int{3, 1, 4, 2, 0} {
		conns[i] = new(Conn)
		w.add(conns[i], base.Add(time.Duration(off)*time.Second))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := w.head + 1; i < len(w.q); i++ {
		if w.q[i].at.Before(w.q[i-1].at) {
			t.Fatalf("queue out of order at %d: %v before %v", i, w.q[i].at, w.q[i-1].at)
		}
	}
	if w.q[w.head].c != conns[4] || !w.armed.Equal(base.Add(timeWaitSlack)) {
		t.Fatalf("first end is not the earliest, or the timer is not set for it (%v)", w.armed)
	}
}
