package utp

import (
	"io"
	"testing"
	"testing/synctest"
	"time"
)

// SocketStats.Retransmits and Timeouts count the connections still in the
// table as well as those that have left it, each once: while a connection
// lives its resends show in its Socket's stats, and when it ends they move
// to the ended sum without being counted twice.
func TestSimSocketStatsSumLiveConns(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		n, a, b := simNet(t)
		ca, cb := dialAccept(t, a, b)
		done := make(chan error, 1)
		go func() {
			_, err := io.CopyN(io.Discard, cb, 256<<10)
			done <- err
		}()
		n.Partition("a", "b", true)
		go func() {
			ca.Write(make([]byte, 256<<10))
		}()
		time.Sleep(3 * time.Second) // timeouts and resends into the cut
		n.Partition("a", "b", false)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		live := ca.Stats()
		if live.Retransmits == 0 || live.Timeouts == 0 {
			t.Fatalf("no resends through a 3 s cut: %+v", live)
		}
		if st := a.Stats(); st.Retransmits != live.Retransmits || st.Timeouts != live.Timeouts {
			t.Fatalf("live connection: Socket counts %d retransmits and %d timeouts, its connection %d and %d",
				st.Retransmits, st.Timeouts, live.Retransmits, live.Timeouts)
		}
		ca.Close()
		cb.Close()
		<-ca.Done()
		final := ca.Stats()
		if st := a.Stats(); st.Conns != 0 || st.Retransmits != final.Retransmits || st.Timeouts != final.Timeouts {
			t.Fatalf("ended connection: Socket counts %d retransmits and %d timeouts (%d conns), its connection %d and %d",
				st.Retransmits, st.Timeouts, st.Conns, final.Retransmits, final.Timeouts)
		}
	})
}
