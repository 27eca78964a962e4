package utp

import (
	"net/netip"
	"testing"
	"testing/synctest"
	"time"
)

func waitKey(i int) connKey {
	return connKey{ap: netip.MustParseAddrPort("127.0.0.1:9"), addr: "peer", id: uint16(i)}
}

// Ends that come out of order (a path whose RTO exceeds the backoff cap
// waits longer) still leave the queue earliest first.
func TestTimeWaitsKeepOrder(t *testing.T) {
	var w timeWaits
	defer w.stop()
	base := time.Now().Add(time.Hour)
	for i, off := range []int{3, 1, 4, 2, 0} {
		w.add(waitKey(i), uint32(i), base.Add(time.Duration(off)*time.Second), func() {})
	}
	for i := w.head + 1; i < len(w.q); i++ {
		if w.q[i].at.Before(w.q[i-1].at) {
			t.Fatalf("queue out of order at %d: %v before %v", i, w.q[i].at, w.q[i-1].at)
		}
	}
	if w.q[w.head].key != waitKey(4) || !w.armed.Equal(base.Add(timeWaitSlack)) {
		t.Fatalf("first end is not the earliest, or the timer is not set for it (%v)", w.armed)
	}
}

// Compacting the queue clears the places the pending ends moved out of,
// so that no ended connection's key (its address's string and handle)
// stays reachable from the slice's unused tail. The queue is filled
// directly: add would arm the timer.
func TestTimeWaitsCompactionClearsTail(t *testing.T) {
	var w timeWaits
	now := time.Now()
	const n = 64
	for i := range n {
		at := now.Add(time.Hour) // pending
		if i < n-4 {
			at = now.Add(-time.Second) // due
		}
		w.q = append(w.q, timeWait{at: at, key: waitKey(i)})
	}
	if due := w.popDue(now, nil); len(due) != n-4 {
		t.Fatalf("%d entries due, want %d", len(due), n-4)
	}
	if w.head != 0 || len(w.q) != 4 {
		t.Fatalf("after compaction: head %d, %d pending; want 0 and 4", w.head, len(w.q))
	}
	for i, tw := range w.q[len(w.q):cap(w.q)] {
		if tw != (timeWait{}) {
			t.Fatalf("slot %d of the unused tail still holds an entry", len(w.q)+i)
		}
	}
}

// Once a burst of churn has drained, the queue gives back the array it
// grew to; a queue still in use keeps its array.
func TestTimeWaitsShrinksAfterBurst(t *testing.T) {
	var w timeWaits
	now := time.Now()
	const n = 8 * shrinkConnsMin
	for i := range n {
		at := now.Add(-time.Second) // due
		if i >= n-10 {
			at = now.Add(time.Hour) // pending
		}
		w.q = append(w.q, timeWait{at: at, key: waitKey(i)})
	}
	grown := cap(w.q)
	if due := w.popDue(now, nil); len(due) != n-10 {
		t.Fatalf("%d entries due, want %d", len(due), n-10)
	}
	if len(w.q) != 10 || cap(w.q) >= grown/8 {
		t.Fatalf("after the burst: %d pending in an array of %d (was %d); want 10 in a small one", len(w.q), cap(w.q), grown)
	}
}

// A connection retired in TIME-WAIT still does TIME-WAIT's job: when our
// ACK of the peer's FIN is lost, the record acknowledges the peer's
// retransmitted FIN (no RESET: the peer's stream ended cleanly, and it
// learns so), and its end moves later (a restart).
func TestSimTimeWaitRecordAnswersFin(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		n, a, _, ca, cb := timeWaitAckLost(t)
		a.mu.Lock()
		r := a.waiting[ca.key]
		a.mu.Unlock()
		first := r.tw.End()
		out := a.Stats().PacketsOut
		n.Partition("a", "b", false)
		<-cb.Done()
		if err := cb.Err(); err != nil {
			t.Fatalf("the peer's end after its FIN was retransmitted: %v, want a clean one", err)
		}
		st := a.Stats()
		if st.PacketsOut == out || st.ResetsSent != 0 {
			t.Fatalf("while b retransmitted its FIN, a sent %d packets, %d of them RESETs; want an ACK", st.PacketsOut-out, st.ResetsSent)
		}
		a.mu.Lock()
		r, retired := a.waiting[ca.key]
		a.mu.Unlock()
		if !retired || !r.tw.End().After(first) {
			t.Fatalf("after the retransmitted FIN: retired %v, end moved by %v; want a later end", retired, r.tw.End().Sub(first))
		}
	})
}
