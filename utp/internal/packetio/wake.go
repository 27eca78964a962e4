package packetio

import (
	"errors"
	"net"
	"sync/atomic"
	"time"
)

// waker makes Wake and Close interrupt a blocked read through the read
// deadline, the one means a net.PacketConn offers: a deadline in the past
// applies to the read in progress and to the next one, so a Wake that
// lands just before a read starts is not lost.
type waker struct {
	pc     net.PacketConn
	woken  atomic.Bool // a Wake not yet reported by a read
	closed atomic.Bool
}

func (w *waker) wake() {
	w.woken.Store(true)
	_ = w.pc.SetReadDeadline(time.Now())
}

// readErr turns a read's error into what Read reports: ErrWoken for the
// timeout a Wake caused (whose deadline is then cleared, so that the next
// read blocks again), net.ErrClosed once Close has begun, else err. A
// spurious ErrWoken is harmless: the reader checks for work and reads
// again.
func (w *waker) readErr(err error) error {
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		return err
	}
	if w.closed.Load() {
		return &net.OpError{Op: "read", Net: w.pc.LocalAddr().Network(), Err: net.ErrClosed}
	}
	// Only the waker sets pc's read deadline, so every timeout is a
	// Wake's, even with woken already clear: a Wake that stored the flag
	// before an earlier timeout's Swap sets its deadline after that
	// read's clear, and its timeout must not look like an error.
	w.woken.Store(false)
	_ = w.pc.SetReadDeadline(time.Time{})
	if w.woken.Load() {
		// Woken again between the swap and the clear, whose deadline
		// the clear undid: restore it.
		_ = w.pc.SetReadDeadline(time.Now())
	}
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
