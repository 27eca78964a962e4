package fileproto

import (
	"io"
	"os"
	"sync/atomic"
	"time"
)

// deadliner is what net.Conn offers to bound a blocked Read or Write.
type deadliner interface {
	SetReadDeadline(t time.Time) error
	SetWriteDeadline(t time.Time) error
}

// idleStream bounds each Read and Write of a net.Conn-like stream by the
// idle timeout (none if zero or the stream has no deadlines), and lets
// the sender stop its writes at once when the receiver refuses.
type idleStream struct {
	rw      io.ReadWriter
	dl      deadliner // nil: no deadlines
	idle    time.Duration
	reads   bool // bound Reads too (the receiver; the sender's reader waits freely)
	stopped atomic.Bool
}

func newIdleStream(rw io.ReadWriter, idle time.Duration, reads bool) *idleStream {
	s := &idleStream{rw: rw, idle: idle, reads: reads}
	if d, ok := rw.(deadliner); ok && idle > 0 {
		s.dl = d
	}
	return s
}

func (s *idleStream) Read(p []byte) (int, error) {
	if s.dl != nil && s.reads {
		s.dl.SetReadDeadline(time.Now().Add(s.idle))
	}
	return s.rw.Read(p)
}

func (s *idleStream) Write(p []byte) (int, error) {
	if s.stopped.Load() {
		return 0, errStopped
	}
	if s.dl != nil {
		s.dl.SetWriteDeadline(time.Now().Add(s.idle))
	}
	return s.rw.Write(p)
}

// stop fails the current and every later Write.
func (s *idleStream) stop() {
	s.stopped.Store(true)
	if d, ok := s.rw.(deadliner); ok {
		d.SetWriteDeadline(time.Now())
	}
}

var errStopped = os.ErrDeadlineExceeded
