package utp

import (
	"io"
	"testing"
	"testing/synctest"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
	"github.com/inet256/go-utp/v2/utp/netsim"
)

// A SYN with a TIME-WAIT record's id ends the record (a new connection
// may reuse the id, RFC 6191), so an off-path attacker who hits the id
// (one SYN in 65,536 blind) can end TIME-WAIT early, as in TCP's
// TIME-WAIT assassination (RFC 1337). docs/security.md says what that
// costs: only a peer whose FIN's ACK was lost notices, and a go-utp peer
// still ends cleanly (our RESET, its challenge, the RESET that answers it
// exactly, and onReset's clean end after both FINs). Here a's ACK of b's
// FIN is lost, a SYN forged from b's address with a's id reaches a, and b
// must end without error.
func TestSimForgedSynEndsTimeWaitCleanly(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		n, a, b, ca, cb := timeWaitAckLost(t)
		n.Partition("a", "b", false)
		// From b's address (its Socket's datagram path), as a forger
		// would spoof it: a SYN whose id plus one is a's receive id.
		syn := wire.Header{Type: wire.Syn, ConnID: ca.key.id - 1, SeqNr: 4242, WndSize: 1 << 20}
		if _, err := b.WriteTo(syn.Append(nil), a.Addr()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // the path's one-way delay is 10 ms
		synctest.Wait()
		a.mu.Lock()
		_, retired := a.waiting[ca.key]
		a.mu.Unlock()
		if retired {
			t.Fatal("the forged SYN did not end the TIME-WAIT record")
		}
		forged := time.Now()
		select {
		case <-cb.Done():
			st := a.Stats()
			t.Logf("b ended %v after the forged SYN; a sent %d RESETs and dropped %d packets as unprovable", time.Since(forged), st.ResetsSent, st.Unprovable)
		case <-time.After(2 * time.Minute):
			t.Fatal("b's connection did not end within 2 minutes")
		}
		if err := cb.Err(); err != nil {
			t.Fatalf("b, whose FIN's ACK was lost, ended with %v after the forged SYN; want a clean end", err)
		}
	})
}

// timeWaitAckLost has a dial and close first, b read everything and close,
// and a's ACK of b's FIN lost under a partition of a and b, which is still
// on when it returns; a's connection is retired in TIME-WAIT. It runs in
// a synctest bubble.
func timeWaitAckLost(t *testing.T) (n *netsim.Network, a, b *Socket, ca, cb *Conn) {
	t.Helper()
	n, a, b = simNet(t)
	ca, cb = dialAccept(t, a, b)
	ca.Close() // our FIN first: a's side ends in TIME-WAIT
	if _, err := io.ReadAll(cb); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	cb.Close()
	// b's FIN reaches a after 10 ms; a's ACK of it, on its way back,
	// meets the cut and is lost.
	time.Sleep(15 * time.Millisecond)
	n.Partition("a", "b", true)
	time.Sleep(100 * time.Millisecond)
	synctest.Wait()
	a.mu.Lock()
	_, retired := a.waiting[ca.key]
	a.mu.Unlock()
	if !retired {
		t.Fatal("the dialer's connection was not retired in TIME-WAIT")
	}
	return n, a, b, ca, cb
}
