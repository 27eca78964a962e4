package utp

import (
	"context"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/inet256/go-utp/v2/utp/netsim"
)

// isDone reports whether a Done channel is closed, after every goroutine
// of the bubble has settled.
func isDone(ch <-chan struct{}) bool {
	synctest.Wait()
	return isClosed(ch)
}

// A graceful close closes Done on both sides with a nil Err, but only once
// each connection has left its Socket: the side that sent its FIN first
// stays in TIME-WAIT, holding its id, and its Done stays open until then.
func TestSimDoneGracefulClose(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		_, a, b := simNet(t)
		ca, cb := dialAccept(t, a, b)
		if isDone(ca.Done()) || isDone(cb.Done()) || ca.Err() != nil {
			t.Fatal("Done closed on an open connection")
		}
		ca.Close()
		if _, err := io.ReadAll(cb); err != nil {
			t.Fatal(err)
		}
		cb.Close()
		time.Sleep(time.Second)
		if !isDone(cb.Done()) || b.Stats().Conns != 0 {
			t.Fatalf("the side that closed second: Done %v, %d connections on its Socket", isClosed(cb.Done()), b.Stats().Conns)
		}
		if isDone(ca.Done()) || a.Stats().Conns != 1 || ca.Err() != nil {
			t.Fatalf("in TIME-WAIT: Done %v, %d connections, Err %v; want open, 1, nil", isClosed(ca.Done()), a.Stats().Conns, ca.Err())
		}
		start := time.Now()
		<-ca.Done()
		if a.Stats().Conns != 0 {
			t.Fatal("Done closed before the connection left the table")
		}
		if took := time.Since(start); took < 10*time.Second {
			t.Fatalf("TIME-WAIT ended after %v, want about 16 s", took)
		}
		if ca.Err() != nil || cb.Err() != nil {
			t.Fatalf("Err after a clean end: %v, %v", ca.Err(), cb.Err())
		}
	})
}

// Abort closes Done on both sides: the peer's Err says it was reset, ours
// that we ended it.
func TestSimDoneReset(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		_, a, b := simNet(t)
		ca, cb := dialAccept(t, a, b)
		ca.Abort()
		<-cb.Done()
		if !errors.Is(cb.Err(), ErrConnReset) {
			t.Fatalf("peer's Err after a reset: %v", cb.Err())
		}
		if !isDone(ca.Done()) || !errors.Is(ca.Err(), net.ErrClosed) {
			t.Fatalf("after Abort: Done %v, Err %v", isClosed(ca.Done()), ca.Err())
		}
	})
}

// A connection whose peer vanished closes Done when it times out.
func TestSimDoneTimeout(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		n, a, b := simNet(t)
		ca, _ := dialAccept(t, a, b)
		n.Partition("a", "b", true)
		ca.Write([]byte("lost"))
		<-ca.Done()
		if !errors.Is(ca.Err(), ErrTimedOut) {
			t.Fatalf("Err after the peer vanished: %v", ca.Err())
		}
	})
}

// Socket.Close closes Done of its connections, and the Socket's own.
func TestSimDoneSocketClose(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		_, a, b := simNet(t)
		ca, cb := dialAccept(t, a, b)
		if isDone(a.Done()) || a.Err() != nil {
			t.Fatal("an open Socket is done")
		}
		a.Close()
		if !isDone(ca.Done()) || !errors.Is(ca.Err(), net.ErrClosed) {
			t.Fatalf("after Socket.Close: Done %v, Err %v", isClosed(ca.Done()), ca.Err())
		}
		if !isDone(a.Done()) || a.Err() != net.ErrClosed {
			t.Fatalf("Socket after Close: Done %v, Err %v", isClosed(a.Done()), a.Err())
		}
		<-cb.Done() // reset by a's Close
	})
}

// Shutdown stops accepting at once (a blocked Accept and new dials fail,
// a new SYN is refused), waits while a connection is open, and closes the
// Socket once that connection has left it.
func TestSimShutdownWaits(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		n, a, b := simNet(t)
		ca, cb := dialAccept(t, a, b)
		acceptErr := make(chan error, 1)
		go func() { _, err := b.Accept(); acceptErr <- err }()
		synctest.Wait()
		shut := make(chan error, 1)
		go func() { shut <- b.Shutdown(context.Background()) }()
		if err := <-acceptErr; !errors.Is(err, ErrShutdown) || !errors.Is(err, net.ErrClosed) {
			t.Fatalf("pending Accept after Shutdown: %v, want ErrShutdown matching net.ErrClosed", err)
		}
		if _, err := b.Accept(); !errors.Is(err, ErrShutdown) {
			t.Fatalf("Accept after Shutdown: %v", err)
		}
		if _, err := b.DialUTP(context.Background(), a.Addr()); !errors.Is(err, ErrShutdown) {
			t.Fatalf("Dial after Shutdown: %v", err)
		}
		c := NewSocket(n.Listen("c"))
		defer c.Close()
		if _, err := c.DialUTP(context.Background(), b.Addr()); !errors.Is(err, ErrConnRefused) {
			t.Fatalf("dial to a Socket shutting down: %v, want ErrConnRefused", err)
		}

		time.Sleep(time.Minute)
		synctest.Wait()
		select {
		case err := <-shut:
			t.Fatalf("Shutdown returned %v with a connection open", err)
		default:
		}
		if b.Err() != nil {
			t.Fatalf("Socket shutting down has Err %v", b.Err())
		}
		// The connection still works.
		ca.Write([]byte("x"))
		if _, err := io.ReadFull(cb, make([]byte, 1)); err != nil {
			t.Fatal(err)
		}

		ca.Close()
		io.ReadAll(cb)
		cb.Close()
		if err := <-shut; err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		if !isClosed(cb.Done()) || !isClosed(b.Done()) || b.Err() != net.ErrClosed {
			t.Fatalf("after Shutdown: connection done %v, Socket done %v, Err %v", isClosed(cb.Done()), isClosed(b.Done()), b.Err())
		}
	})
}

// When ctx ends first, Shutdown returns its error and leaves the Socket
// and its connections open, for Close to end.
func TestSimShutdownContext(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		_, a, b := simNet(t)
		ca, cb := dialAccept(t, a, b)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		if err := b.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown with a connection open past ctx: %v", err)
		}
		if took := time.Since(start); took != 5*time.Second {
			t.Fatalf("Shutdown returned after %v, ctx ended at 5 s", took)
		}
		if isDone(b.Done()) || isDone(cb.Done()) {
			t.Fatal("Shutdown that ran out of time closed the Socket or its connection")
		}
		cb.Write([]byte("x"))
		if _, err := io.ReadFull(ca, make([]byte, 1)); err != nil {
			t.Fatal(err)
		}
		b.Close()
		if !isDone(cb.Done()) {
			t.Fatal("Close after Shutdown left the connection open")
		}
	})
}

// Shutdown resets connections that Accept never returned: their dialers
// learn at once (those that proved their address), and Shutdown need not
// wait for them.
func TestSimShutdownResetsBacklog(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		_, a, b := simNet(t)
		ca, err := a.DialUTP(context.Background(), b.Addr())
		if err != nil {
			t.Fatal(err)
		}
		ca.Write([]byte("x")) // proves the dialer's address, so that a RESET may go to it
		time.Sleep(time.Second)
		if b.Stats().Conns != 1 {
			t.Fatalf("%d connections waiting for Accept, want 1", b.Stats().Conns)
		}
		if err := b.Shutdown(context.Background()); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		if _, err := ca.Read(make([]byte, 1)); !errors.Is(err, ErrConnReset) {
			t.Fatalf("dialer's Read after the acceptor shut down: %v, want ErrConnReset", err)
		}
	})
}

// errBroken is a PacketConn failure that no retry mends.
var errBroken = errors.New("test: the network under the PacketConn is gone")

// failingConn is a netsim PacketConn whose ReadFrom can be made to fail
// with errBroken, or once with a transient errno.
type failingConn struct {
	*netsim.PacketConn
	broken    atomic.Bool
	transient atomic.Bool
}

func (f *failingConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, from, err := f.PacketConn.ReadFrom(p)
	switch {
	case f.broken.Load():
		return 0, nil, &net.OpError{Op: "read", Net: "sim", Err: errBroken}
	case f.transient.CompareAndSwap(true, false):
		f.PacketConn.SetReadDeadline(time.Time{}) // fail's, spent: the next read blocks
		return 0, nil, &net.OpError{Op: "read", Net: "sim", Err: syscall.ENOBUFS}
	}
	return n, from, err
}

// fail makes the blocked ReadFrom, and every later one, fail.
func (f *failingConn) fail(transient bool) {
	if transient {
		f.transient.Store(true)
	} else {
		f.broken.Store(true)
	}
	f.PacketConn.SetReadDeadline(time.Now()) // wakes the blocked read
}

// failingNet is simNet with a's PacketConn a failingConn, and a
// connection from a to b.
func failingNet(t *testing.T) (pc *failingConn, a, b *Socket, ca, cb *Conn) {
	t.Helper()
	n := netsim.NewNetwork(1)
	n.SetDefaultLink(netsim.LinkConfig{Delay: 10 * time.Millisecond})
	pc = &failingConn{PacketConn: n.Listen("a")}
	a, b = NewSocket(pc), NewSocket(n.Listen("b"))
	t.Cleanup(func() { a.Close(); b.Close() })
	ca, cb = dialAccept(t, a, b)
	return pc, a, b, ca, cb
}

// A PacketConn closed from outside, or whose reads fail for good, closes
// its Socket at once, rather than leave Accept and the connections'
// calls waiting forever; every call on the Socket and its connections
// then returns an error that matches both net.ErrClosed and the
// PacketConn's error.
func TestSimFailedPacketConnClosesSocket(t *testing.T) {
	checkLeaks(t)
	for _, tc := range []struct {
		name  string
		cause error
		fail  func(*failingConn)
	}{
		{"closed from outside", net.ErrClosed, func(pc *failingConn) { pc.Close() }},
		{"failed", errBroken, func(pc *failingConn) { pc.fail(false) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				pc, a, b, ca, _ := failingNet(t)
				acceptErr := make(chan error, 1)
				go func() { _, err := a.Accept(); acceptErr <- err }()
				readErr := make(chan error, 1)
				go func() { _, err := ca.Read(make([]byte, 1)); readErr <- err }()
				synctest.Wait()

				tc.fail(pc)
				if !isDone(a.Done()) {
					a.Close() // release the blocked calls, so the bubble can end
					t.Fatal("the Socket is open after its PacketConn failed")
				}
				both := func(what string, err error) {
					t.Helper()
					if !errors.Is(err, tc.cause) || !errors.Is(err, net.ErrClosed) {
						t.Errorf("%s: %v, want an error matching %v and net.ErrClosed", what, err, tc.cause)
					}
				}
				both("Socket.Err", a.Err())
				both("Accept", <-acceptErr)
				both("Read", <-readErr)
				_, err := ca.Write([]byte("x"))
				both("Write", err)
				_, err = a.DialUTP(context.Background(), b.Addr())
				both("Dial", err)
				both("Conn.Err", ca.Err())
				if !isClosed(ca.Done()) {
					t.Error("the connection's Done is open")
				}
			})
		})
	}
}

// A transient read error (an errno such as ENOBUFS) does not close the
// Socket: its connections go on.
func TestSimTransientReadErrorKeepsSocket(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		pc, a, _, ca, cb := failingNet(t)
		synctest.Wait()
		pc.fail(true)
		if isDone(a.Done()) {
			t.Fatalf("a transient read error closed the Socket: %v", a.Err())
		}
		cb.Write([]byte("x"))
		if _, err := io.ReadFull(ca, make([]byte, 1)); err != nil {
			t.Fatalf("read after a transient error: %v", err)
		}
	})
}

// readFailed sorts read errors: closed, ended and unknown errors are
// permanent; errnos, temporary errors and a short buffer are not.
func TestReadFailed(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{net.ErrClosed, true},
		{&net.OpError{Op: "read", Err: net.ErrClosed}, true},
		{io.EOF, true},
		{errBroken, true},
		{&net.OpError{Op: "read", Err: errBroken}, true},
		{&net.OpError{Op: "read", Err: syscall.ENOBUFS}, false},
		{&net.OpError{Op: "read", Err: syscall.ECONNREFUSED}, false},
		{io.ErrShortBuffer, false},
		{&net.DNSError{IsTemporary: true}, false},
	} {
		if got := readFailed(tc.err); got != tc.want {
			t.Errorf("readFailed(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
