package utp

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"testing/synctest"
	"time"
)

// callResult is what a blocked Read or Write returned, and when.
type callResult struct {
	n   int
	err error
	at  time.Time
}

// inBackground runs call in a goroutine and reports its result on the
// returned channel.
func inBackground(call func() (int, error)) chan callResult {
	ch := make(chan callResult, 1)
	go func() {
		n, err := call()
		ch <- callResult{n, err, time.Now()}
	}()
	return ch
}

// returned lets every goroutine in the bubble run, then reports the
// result of the call on ch if it has returned.
func returned(ch chan callResult) (callResult, bool) {
	synctest.Wait()
	select {
	case r := <-ch:
		return r, true
	default:
		return callResult{}, false
	}
}

// isDeadlineErr reports whether err is what a passed deadline gives: a
// net.Error whose Timeout is true, matching os.ErrDeadlineExceeded.
func isDeadlineErr(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) && errors.As(err, &ne) && ne.Timeout()
}

// A write deadline set, extended or cleared while a Write is blocked on a
// full send buffer takes effect at once.
func TestSimDeadlinesChangeDuringWrite(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		_, a, b := simNet(t, WithSendBuffer(64<<10), WithRecvBuffer(64<<10))
		ca, cb := dialAccept(t, a, b)
		defer cb.Close()
		defer ca.Close() // also ends a Write left blocked by a failure
		// cb reads nothing until the end, so ca's Writes block once its
		// send buffer and cb's receive buffer are full.
		p := make([]byte, 1<<20)
		written := 0
		blockedWrite := func() chan callResult {
			t.Helper()
			ch := inBackground(func() (int, error) { return ca.Write(p) })
			if r, ok := returned(ch); ok {
				t.Fatalf("Write returned without blocking: %d, %v", r.n, r.err)
			}
			return ch
		}

		// A deadline set while the Write is blocked ends it.
		done := blockedWrite()
		start := time.Now()
		ca.SetWriteDeadline(start.Add(time.Second))
		time.Sleep(time.Second)
		r, ok := returned(done)
		if !ok {
			t.Fatal("Write still blocked after the deadline set during it passed")
		}
		if !isDeadlineErr(r.err) || r.at.Sub(start) != time.Second || r.n >= len(p) {
			t.Fatalf("Write returned %d, %v after %v; want a deadline error after 1s", r.n, r.err, r.at.Sub(start))
		}
		written += r.n

		// Extending the deadline while the Write is blocked delays the error.
		ca.SetWriteDeadline(time.Time{})
		done = blockedWrite()
		start = time.Now()
		ca.SetWriteDeadline(start.Add(time.Second))
		time.Sleep(500 * time.Millisecond)
		ca.SetWriteDeadline(start.Add(3 * time.Second))
		time.Sleep(time.Second)
		if r, ok := returned(done); ok {
			t.Fatalf("Write returned %v at 1.5s, its deadline extended to 3s", r.err)
		}
		time.Sleep(1500 * time.Millisecond)
		r, ok = returned(done)
		if !ok || !isDeadlineErr(r.err) || r.at.Sub(start) != 3*time.Second {
			t.Fatalf("Write past its extended deadline: returned %v, %v after %v; want a deadline error after 3s", ok, r.err, r.at.Sub(start))
		}
		written += r.n

		// Clearing the deadline while the Write is blocked lets it wait,
		// and complete once the peer reads.
		ca.SetWriteDeadline(time.Time{})
		done = blockedWrite()
		start = time.Now()
		ca.SetWriteDeadline(start.Add(time.Second))
		time.Sleep(500 * time.Millisecond)
		ca.SetWriteDeadline(time.Time{})
		time.Sleep(10 * time.Second)
		if r, ok := returned(done); ok {
			t.Fatalf("Write returned %v with its deadline cleared and the buffer full", r.err)
		}
		read := make(chan int64, 1)
		go func() { n, _ := io.Copy(io.Discard, cb); read <- n }()
		r = <-done
		if r.err != nil || r.n != len(p) {
			t.Fatalf("Write after its deadline was cleared: %d of %d bytes, %v", r.n, len(p), r.err)
		}
		written += r.n
		ca.CloseWrite()
		if n := <-read; n != int64(written) {
			t.Fatalf("the peer read %d bytes, the Writes accepted %d", n, written)
		}
	})
}

// The first read deadline, set while a Read is blocked with none, ends
// that Read when it passes.
func TestSimFirstReadDeadlineDuringRead(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		_, a, b := simNet(t)
		ca, cb := dialAccept(t, a, b)
		defer cb.Close()
		defer ca.Close() // also ends a Read left blocked by a failure
		done := inBackground(func() (int, error) { return ca.Read(make([]byte, 1)) })
		if r, ok := returned(done); ok {
			t.Fatalf("Read returned without blocking: %d, %v", r.n, r.err)
		}
		start := time.Now()
		ca.SetReadDeadline(start.Add(time.Second))
		time.Sleep(time.Second)
		r, ok := returned(done)
		if !ok {
			t.Fatal("Read still blocked after the deadline set during it passed")
		}
		if !isDeadlineErr(r.err) || r.at.Sub(start) != time.Second {
			t.Fatalf("Read returned %v after %v; want a deadline error after 1s", r.err, r.at.Sub(start))
		}
	})
}
