package utp

import (
	"errors"
	"io"
	"os"
	"testing"
	"testing/synctest"
	"time"
)

// A Socket closed right after its connections were used tells every peer:
// the FIN of a closed connection or the RESET Close promises reaches it,
// so the peer's Read ends at once rather than after its idle timeout.
// The runs vary what the connection did last and whether it was closed
// before its Socket; a run that loses the word prints its number.
func TestSimSocketCloseTellsPeer(t *testing.T) {
	checkLeaks(t)
	runs := 1000
	if testing.Short() {
		runs = 100
	}
	for run := range runs {
		synctest.Test(t, func(t *testing.T) {
			_, a, b := simNet(t)
			ca, cb := dialAccept(t, a, b)
			msg := make([]byte, 4<<10)
			go func() {
				buf := make([]byte, len(msg))
				if _, err := io.ReadFull(cb, buf); err == nil {
					cb.Write(buf)
				}
			}()
			ca.Write(msg)
			if run%2 == 0 {
				io.ReadFull(ca, make([]byte, len(msg)))
			}
			if run%3 == 0 {
				ca.Close()
			}
			a.Close()
			start := time.Now()
			cb.SetReadDeadline(start.Add(5 * time.Second))
			_, err := io.Copy(io.Discard, cb)
			if errors.Is(err, os.ErrDeadlineExceeded) || time.Since(start) >= 5*time.Second {
				t.Fatalf("run %d: the peer learned nothing of the Socket's Close in 5 s (%v)", run, err)
			}
			cb.Close()
		})
		if t.Failed() {
			return
		}
	}
}

// A connection in TIME-WAIT has finished: both FINs were acknowledged.
// Closing its Socket sends it nothing, where a RESET would cost a
// datagram per connection that churned in the last 16 s and could make
// a peer that is still waiting for our last ACK report a reset of a
// stream that ended cleanly.
func TestSimSocketCloseSilentInTimeWait(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		_, a, b := simNet(t)
		ca, cb := dialAccept(t, a, b)
		ca.Write([]byte("x"))
		ca.Close() // our FIN goes first: a's connection ends in TIME-WAIT
		if _, err := io.ReadAll(cb); err != nil {
			t.Fatalf("reading to EOF: %v", err)
		}
		cb.Close()
		<-cb.Done()
		if err := cb.Err(); err != nil {
			t.Fatalf("the acceptor's end: %v, want a clean one", err)
		}
		synctest.Wait()
		select {
		case <-ca.Done():
			t.Fatal("the dialer left before TIME-WAIT ended")
		default:
		}
		before := b.Stats().PacketsIn
		a.Close()
		time.Sleep(time.Second)
		synctest.Wait()
		if got := b.Stats().PacketsIn - before; got != 0 {
			t.Fatalf("closing a Socket whose connection was in TIME-WAIT sent its peer %d packets, want 0", got)
		}
		// Its streams ended cleanly: the Close that cut TIME-WAIT short
		// ends it (Done) without an error (Err).
		if !isClosed(ca.Done()) || ca.Err() != nil {
			t.Fatalf("after the Socket's Close: Done closed %v, Err %v; want closed and nil", isClosed(ca.Done()), ca.Err())
		}
	})
}
