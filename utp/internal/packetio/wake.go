package packetio

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// waker makes Wake and Close interrupt a blocked read through the read
// deadline, the one means a net.PacketConn offers: a deadline in the past
// applies to the read in progress and to the next one, so a Wake that
// lands just before a read starts is not lost.
//
// mu keeps the deadline and woken in step: the deadline is in the past
// exactly while a Wake is unreported (or after Close). Without it, a Wake
// that set its deadline just after a read had cleared the previous one
// would leave an expired deadline and no Wake to explain it, and the
// reader would see timeouts forever. mu is a leaf, taken alone.
type waker struct {
	pc     net.PacketConn
	mu     sync.Mutex
	woken  bool // a Wake not yet reported by a read; guarded by mu
	closed atomic.Bool
}

func (w *waker) wake() {
	w.mu.Lock()
	if !w.woken {
		w.woken = true
		_ = w.pc.SetReadDeadline(time.Now())
	}
	w.mu.Unlock()
}

// readErr turns a read's error into what Read reports: ErrWoken for the
// timeout a Wake caused (whose deadline is then cleared, so that the next
// read blocks again), net.ErrClosed once Close has begun, else err.
func (w *waker) readErr(err error) error {
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		return err
	}
	if w.closed.Load() {
		return &net.OpError{Op: "read", Net: w.pc.LocalAddr().Network(), Err: net.ErrClosed}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.woken {
		return err // a deadline someone else set
	}
	w.woken = false
	_ = w.pc.SetReadDeadline(time.Time{})
	return ErrWoken
}

// close closes pc after a read deadline in the past, which frees a
// blocked read on a PacketConn whose Close alone does not (an INET256
// client's).
func (w *waker) close() error {
	w.closed.Store(true)
	_ = w.pc.SetReadDeadline(time.Now())
	return w.pc.Close()
}
