package utp

import (
	"errors"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/proto"
	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// A closed Conn whose peer has vanished keeps trying to deliver its data
// and FIN for the linger, then sends a RESET and leaves the Socket's
// table: not before the linger, and not long after.
func TestSimCloseLinger(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		const linger, delay = 5 * time.Second, 10 * time.Millisecond
		n, a, b := simNet(t, WithLinger(linger))
		ca, _ := dialAccept(t, a, b)
		// The peer vanishes without a word (the partition drops its
		// RESET), and a bare PacketConn that never answers takes its
		// address, to watch what a sends.
		n.Partition("a", "b", true)
		b.Close()
		n.Partition("a", "b", false)
		peer := n.Listen("b")
		defer peer.Close()
		type arrival struct {
			at  time.Time
			typ wire.Type
		}
		arrivals := make(chan arrival, 1000)
		go func() {
			buf := make([]byte, maxDatagram)
			for {
				k, _, err := peer.ReadFrom(buf)
				if err != nil {
					return
				}
				if h, _, err := wire.Parse(buf[:k]); err == nil {
					arrivals <- arrival{time.Now(), h.Type}
				}
			}
		}()
		resets := func() (at []time.Time) {
			for {
				select {
				case a := <-arrivals:
					if a.typ == wire.Reset {
						at = append(at, a.at)
					}
				default:
					return at
				}
			}
		}

		if _, err := ca.Write([]byte("never acknowledged")); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := ca.Close(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(linger - time.Millisecond)
		synctest.Wait()
		if got := a.Stats().Conns; got != 1 {
			t.Fatalf("%d connections in the table before the linger passed, want 1", got)
		}
		if r := resets(); len(r) != 0 {
			t.Fatalf("reset before the linger passed, at %v", r[0].Sub(start))
		}
		time.Sleep(time.Millisecond + 2*delay)
		synctest.Wait()
		if got := a.Stats().Conns; got != 0 {
			t.Fatalf("%d connections in the table just after the linger, want 0", got)
		}
		r := resets()
		if len(r) != 1 || r[0].Sub(start) != linger+delay {
			t.Fatalf("RESETs arrived at %v after Close, want one at the linger (%v) plus the link delay (%v)", r, linger, delay)
		}
		<-ca.Done()
		if err := ca.Err(); !errors.Is(err, ErrLingerExpired) || !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Err after the linger ran out: %v, want ErrLingerExpired matching net.ErrClosed", err)
		}
	})
}

// Close on a connection that has already ended (the peer reset it) arms
// nothing: its linger would otherwise be a deadline that, once passed,
// fired the connection's timer again and again (which CI once caught as a
// goroutine leak of a timer firing about a million times a second). Such
// a regression keeps this bubble busy at the linger's instant, so the
// test then fails by timing out.
func TestSimCloseAfterEnd(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		const linger = time.Second
		_, a, b := simNet(t, WithLinger(linger))
		ca, cb := dialAccept(t, a, b)
		cb.step(func(now time.Time, m *proto.Conn) { m.Reset(now) })
		if _, err := ca.Read(make([]byte, 1)); !errors.Is(err, ErrConnReset) {
			t.Fatalf("read after the peer's reset: %v", err)
		}
		if err := ca.Close(); err != nil {
			t.Fatal(err)
		}
		ca.onTimer()           // as a timer firing that raced the end would
		time.Sleep(2 * linger) // with the bug, the bubble never idles past the linger
		synctest.Wait()
		conn := ca
		conn.mu.Lock()
		armed := conn.timerAt
		conn.mu.Unlock()
		if !armed.IsZero() {
			t.Fatalf("an ended connection's timer is armed for %v", armed)
		}
	})
}

// After Close, every call on the Conn fails with an error matching
// net.ErrClosed, as a net.TCPConn's does, including a Read and a Write
// that were blocked when Close came.
func TestSimUseAfterClose(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		_, a, b := simNet(t, WithSendBuffer(64<<10), WithRecvBuffer(64<<10))
		ca, cb := dialAccept(t, a, b)
		readErr, writeErr := make(chan error, 1), make(chan error, 1)
		go func() { _, err := ca.Read(make([]byte, 1)); readErr <- err }()
		// The peer does not read: the Write blocks on a full send buffer.
		go func() { _, err := ca.Write(make([]byte, 1<<20)); writeErr <- err }()
		synctest.Wait()
		if err := ca.Close(); err != nil {
			t.Fatal(err)
		}
		for what, err := range map[string]error{"blocked read": <-readErr, "blocked write": <-writeErr} {
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("%s: %v, want net.ErrClosed", what, err)
			}
		}
		_, rerr := ca.Read(make([]byte, 1))
		_, werr := ca.Write([]byte("x"))
		for what, err := range map[string]error{
			"read": rerr, "write": werr, "CloseWrite": ca.CloseWrite(), "second Close": ca.Close(),
		} {
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("%s after Close: %v, want net.ErrClosed", what, err)
			}
		}
		cb.Close()
	})
}

// Abort resets at once: the peer's Read fails with ErrConnReset without
// waiting for the data still unsent, and the aborted Conn's own calls
// return net.ErrClosed.
func TestSimAbortResetsPeer(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		_, a, b := simNet(t)
		ca, cb := dialAccept(t, a, b)
		if _, err := ca.Write(make([]byte, 1<<20)); err != nil {
			t.Fatal(err)
		}
		if err := cb.Abort(); err != nil {
			t.Fatal(err)
		}
		if err := cb.Abort(); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("second Abort: %v, want net.ErrClosed", err)
		}
		if _, err := cb.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Read after Abort: %v, want net.ErrClosed", err)
		}
		buf := make([]byte, 1<<16)
		var err error
		for err == nil {
			_, err = ca.Read(buf)
		}
		if !errors.Is(err, ErrConnReset) {
			t.Fatalf("peer's Read after Abort: %v, want ErrConnReset", err)
		}
		ca.Close()
	})
}
