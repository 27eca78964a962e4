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

// Compacting the queue clears the places the pending ends moved out of, so
// that no ended connection stays reachable from the slice's unused tail
// (a Socket churning connections held hundreds of MiB that way). The
// queue is filled directly: add would arm the timer, whose fire calls
// the connections.
func TestTimeWaitsCompactionClearsTail(t *testing.T) {
	var w timeWaits
	now := time.Now()
	const n = 64
	for i := range n {
		at := now.Add(time.Hour) // pending
		if i < n-4 {
			at = now.Add(-time.Second) // due
		}
		w.q = append(w.q, timeWait{at: at, c: new(Conn)})
	}
	if due := w.popDue(now); len(due) != n-4 {
		t.Fatalf("%d connections due, want %d", len(due), n-4)
	}
	if w.head != 0 || len(w.q) != 4 {
		t.Fatalf("after compaction: head %d, %d pending; want 0 and 4", w.head, len(w.q))
	}
	for i, tw := range w.q[len(w.q):cap(w.q)] {
		if tw.c != nil {
			t.Fatalf("slot %d of the unused tail still points to a connection", len(w.q)+i)
		}
	}
}
