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
	for range 5 { // from its third wait a Read leads (lead.awaitReadable)
		roundTrip()
	}
	leads := a.lead.leads.Load()
	if leads == 0 {
		t.Fatal("no Read led: the case is not reached")
	}
	a.mu.Lock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		roundTrip()
	}()
	select {
	case <-done:
		a.mu.Unlock()
	case <-time.After(5 * time.Second): // a bound on progress: a round trip takes tens of µs
		a.mu.Unlock()
		<-done
		t.Fatal("the reply waited for the Socket's table lock")
	}
	if a.lead.leads.Load() == leads {
		t.Error("the last Read did not lead")
	}
}
