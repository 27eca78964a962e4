package utp

import (
	"io"
	"testing"
	"time"
)

// TestUDPLeadingReadRoutesWithoutTable checks that a Read leading its
// Socket's reads routes its own connection's packets without the table:
// with the table's lock held elsewhere, its reply still arrives. The
// lookup (that lock, the map's hashing) was a share of every round
// trip's routing. (Over UDP, not netsim: a goroutine blocked on a mutex
// is not durably blocked, so the old code would hang a synctest bubble
// rather than fail.)
func TestUDPLeadingReadRoutesWithoutTable(t *testing.T) {
	checkLeaks(t)
	a, b := listenUDP(t), listenUDP(t)
	ca, cb := dialAccept(t, a, b)
	defer ca.Close()
	go func() {
		io.Copy(cb, cb)
		cb.Close()
	}()
	one := []byte{1}
	roundTrip := func() {
		t.Helper()
		if _, err := ca.Write(one); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(ca, one); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 { // from its third wait a Read asks for the lead (lead.awaitReadable)
		roundTrip()
	}
	// A round trip under the lock tells only if its Read led: one the
	// reader goroutine served (it won the race to the reply, as it may
	// under the race detector) waits for the lock in the lookup whatever
	// the code, and is tried again.
	for range 20 {
		leads := a.lead.leads.Load()
		a.mu.Lock()
		done := make(chan struct{})
		go func() {
			defer close(done)
			roundTrip()
		}()
		var inTime bool
		select {
		case <-done:
			inTime = true
		case <-time.After(300 * time.Millisecond): // a bound on progress: a round trip takes tens of µs
		}
		a.mu.Unlock()
		<-done
		if a.lead.leads.Load() == leads {
			continue // the Read did not lead
		}
		if !inTime {
			t.Fatal("a leading Read's reply waited for the Socket's table lock")
		}
		return
	}
	t.Fatal("no Read led in 20 round trips: the case was not reached")
}
