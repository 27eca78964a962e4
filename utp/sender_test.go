package utp

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/inet256/go-utp/v2/utp/netsim"
)

// blockingConn is a PacketConn whose WriteTo blocks while it is stalled,
// as an INET256 node's does when its daemon stops taking messages, until
// it is resumed or closed.
type blockingConn struct {
	*netsim.PacketConn
	mu      sync.Mutex
	stalled bool
	resume  chan struct{} // closed to release blocked writes
	closed  chan struct{}
	once    sync.Once
}

func newBlockingConn(pc *netsim.PacketConn) *blockingConn {
	return &blockingConn{PacketConn: pc, resume: make(chan struct{}), closed: make(chan struct{})}
}

func (b *blockingConn) stall() {
	b.mu.Lock()
	b.stalled, b.resume = true, make(chan struct{})
	b.mu.Unlock()
}

func (b *blockingConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	b.mu.Lock()
	stalled, resume := b.stalled, b.resume
	b.mu.Unlock()
	if stalled {
		select {
		case <-resume:
		case <-b.closed:
			return 0, net.ErrClosed
		}
	}
	return b.PacketConn.WriteTo(p, addr)
}

func (b *blockingConn) Close() error {
	b.once.Do(func() { close(b.closed) })
	return b.PacketConn.Close()
}

// A Write's deadline and Socket.Close end a Write even while the
// PacketConn's WriteTo blocks: the datagrams wait for the Socket's sender
// goroutine, never in the writer's.
func TestSimWriteWhileWriteToBlocks(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		n := netsim.NewNetwork(1)
		n.SetDefaultLink(netsim.LinkConfig{Delay: 10 * time.Millisecond})
		pa := newBlockingConn(n.Listen("a"))
		a := NewSocket(pa, WithSendBuffer(64<<10))
		b := NewSocket(n.Listen("b"))
		defer b.Close()
		ca, cb := dialAccept(t, a, b)
		defer cb.Close()

		pa.stall()
		start := time.Now()
		ca.SetWriteDeadline(start.Add(500 * time.Millisecond))
		_, err := ca.Write(make([]byte, 1<<20))
		if !errors.Is(err, os.ErrDeadlineExceeded) || time.Since(start) != 500*time.Millisecond {
			t.Fatalf("Write with a 500 ms deadline while WriteTo blocks: %v after %v", err, time.Since(start))
		}

		ca.SetWriteDeadline(time.Time{})
		done := make(chan error, 1)
		go func() { _, err := ca.Write(make([]byte, 1<<20)); done <- err }()
		time.Sleep(time.Second)
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("Write without a deadline returned while WriteTo blocks: %v", err)
		default:
		}
		closeStart := time.Now()
		if err := a.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Socket.Close: %v", err)
		}
		if took := time.Since(closeStart); took > time.Second {
			t.Fatalf("Socket.Close took %v with WriteTo blocked", took)
		}
		if err := <-done; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("the blocked Write after Socket.Close: %v", err)
		}
	})
}

// A step that sends after the Socket's sender goroutine has stopped (it
// stops while Close runs; a connection may still step meanwhile) sends
// its datagrams itself, after releasing c.mu, instead of flushing under
// the c.mu it holds, which deadlocked.
func TestStepAfterSenderStopped(t *testing.T) {
	checkLeaks(t)
	// A PacketConn that is not a *net.UDPConn may block in its sends,
	// so its Socket gets the sender goroutine. Real time, not synctest:
	// a goroutine blocked on a mutex stops a bubble's clock.
	listen := func() net.PacketConn {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return struct{ net.PacketConn }{pc}
	}
	a := NewSocket(listen())
	b := NewSocket(listen())
	defer b.Close()
	// a closes at the end, not deferred: its Close would block on a
	// deadlocked connection's c.mu and hide the failure.
	if a.async == nil {
		a.Close()
		t.Fatal("a wrapped PacketConn should get the sender goroutine")
	}
	ca, cb := dialAccept(t, a, b)
	defer cb.Close()
	a.async.stop()
	<-a.async.done

	done := make(chan error, 1)
	go func() { _, err := ca.Write([]byte("hi")); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Write after the sender stopped: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Write after the sender stopped made no progress in 10 s (deadlock on c.mu)")
	}
	buf := make([]byte, 2)
	cb.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(cb, buf); err != nil || string(buf) != "hi" {
		t.Fatalf("peer read %q, %v; want \"hi\"", buf, err)
	}
	a.Close()
}
