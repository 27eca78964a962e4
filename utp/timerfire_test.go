package utp

import (
	"errors"
	"os"
	"testing"
	"testing/synctest"
	"time"
)

// A timer that fires before anything is due (its deadline moved later)
// sets itself again for what is due next without a step (firedEarly),
// and that deadline is still met on time: a read deadline extended while
// its Read waits ends the Read at the new deadline, to the tick.
func TestSimTimerFiredEarlyRearms(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		_, a, b := simNet(t)
		ca, _ := dialAccept(t, a, b)
		start := time.Now()
		ca.SetReadDeadline(start.Add(time.Second)) // the timer is set for 1 s
		done := make(chan error, 1)
		go func() {
			_, err := ca.Read(make([]byte, 1))
			done <- err
		}()
		synctest.Wait()
		ca.SetReadDeadline(start.Add(3 * time.Second)) // later: the timer stays at 1 s
		err := <-done
		if got := time.Since(start); !errors.Is(err, os.ErrDeadlineExceeded) || got != 3*time.Second {
			t.Fatalf("Read returned %v after %v; want the deadline exceeded at 3s", err, got)
		}
		ca.mu.Lock()
		early := ca.earlyFires
		ca.mu.Unlock()
		if early == 0 {
			t.Fatal("the timer set for the first deadline did not fire early (firedEarly never ran): the test no longer covers it")
		}
	})
}
