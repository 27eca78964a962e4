package utp

import (
	"context"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// withDialIDs makes dialers draw their ids from the first n, so that a
// short test runs out of ids as a long churn does out of all 65,536.
func withDialIDs(n int) SocketOption {
	return func(c *socketConfig) { c.dialIDs = n }
}

// churn has workers dial b from a, echo 4 KiB and close, until stop
// closes; b echoes. It returns the dials made and the first error.
func churn(a, b *Socket, workers int, stop <-chan struct{}) (dials int64, err error) {
	var wg sync.WaitGroup
	var count atomic.Int64
	var once sync.Once
	fail := func(e error) { once.Do(func() { err = e }) }
	wg.Add(1)
	go func() { // the server
		defer wg.Done()
		var handlers sync.WaitGroup
		defer handlers.Wait()
		for {
			c, err := b.Accept()
			if err != nil {
				return
			}
			handlers.Add(1)
			go func() {
				defer handlers.Done()
				defer c.Close()
				buf := make([]byte, 4<<10)
				if _, err := io.ReadFull(c, buf); err == nil {
					c.Write(buf)
				}
			}()
		}
	}()
	var clients sync.WaitGroup
	for range workers {
		clients.Add(1)
		go func() {
			defer clients.Done()
			msg := make([]byte, 4<<10)
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, err := a.DialContext(context.Background(), b.Addr())
				if err != nil {
					fail(err)
					return
				}
				count.Add(1)
				c.Write(msg)
				_, err = io.ReadFull(c, msg)
				c.Close()
				if err != nil {
					fail(err)
					return
				}
			}
		}()
	}
	clients.Wait()
	b.Close() // ends the server's Accept
	wg.Wait()
	return count.Load(), err
}

// 16 workers dialing one peer as fast as they can, each dial echoing 4 KiB
// and closing, never fail for want of a connection id: when every id is
// held by a connection in TIME-WAIT, a dial takes over the oldest. The
// dialers draw from 256 ids, so the ids run out within a second of
// virtual time as all 65,536 do within seconds on a fast path.
func TestSimChurnReusesTimeWaitIDs(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		_, a, b := simNet(t, withDialIDs(256))
		stop := make(chan struct{})
		time.AfterFunc(20*time.Second, func() { close(stop) })
		dials, err := churn(a, b, 16, stop)
		t.Logf("%d dials in 20 s of virtual time", dials)
		if err != nil {
			t.Fatalf("after %d dials: %v", dials, err)
		}
		if dials < 1000 {
			t.Fatalf("only %d dials in 20 s", dials)
		}
	})
}

// The same churn over UDP loopback, for 2 s: no dial fails, and ids are
// reused at real speed and with real concurrency. The dialers draw from
// 256 ids, which 2 s of this churn exhausts many times over.
func TestUDPChurnReusesTimeWaitIDs(t *testing.T) {
	checkLeaks(t)
	a, b := listenUDP(t, withDialIDs(256)), listenUDP(t)
	stop := make(chan struct{})
	time.AfterFunc(2*time.Second, func() { close(stop) })
	dials, err := churn(a, b, 16, stop)
	t.Logf("%d dials in 2 s", dials)
	if err != nil {
		t.Fatalf("after %d dials: %v", dials, err)
	}
}
