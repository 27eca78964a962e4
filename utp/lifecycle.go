package utp

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/proto"
)

// The ends of a connection and of a Socket are signalled, so that no
// caller has to poll Stats to learn them: Conn.Done closes when a
// connection has left its Socket, Socket.Done when the Socket has closed,
// and Socket.Shutdown waits for the first of these for every connection
// (as http.Server.Shutdown does for a server's), then brings the second.

// ErrShutdown is the error, inside a *net.OpError, of Accept and Dial on
// a Socket that Shutdown is closing. It matches net.ErrClosed with
// errors.Is, so accept loops that stop on net.ErrClosed stop on it too.
var ErrShutdown error = shutdownError{}

type shutdownError struct{}

func (shutdownError) Error() string        { return "utp: socket shutting down" }
func (shutdownError) Is(target error) bool { return target == net.ErrClosed }

// failedError is the error of a Socket that closed itself because its
// PacketConn failed. It matches net.ErrClosed, as every call on a closed
// Socket does, and unwraps to the PacketConn's error, so that errors.Is
// and errors.As find its cause.
type failedError struct{ cause error }

func (e *failedError) Error() string        { return "utp: socket closed: " + e.cause.Error() }
func (e *failedError) Is(target error) bool { return target == net.ErrClosed }
func (e *failedError) Unwrap() error        { return e.cause }

// Done returns a channel that is closed when the connection has left its
// Socket: after a clean end (both FINs acknowledged, and TIME-WAIT over
// when we sent our FIN first, about 16 s), a RESET either way, a
// timeout, Abort, the end of Close's linger (WithLinger), or the Socket's
// Close. Until then the connection holds its id and answers its peer,
// and the Socket's Close would reset it (in TIME-WAIT, when both FINs
// are acknowledged, drop it without a word). Err then says why it ended.
func (c *Conn) Done() <-chan struct{} { return c.left }

// Err returns nil until Done is closed; then why the connection ended:
// nil for a clean end, ErrConnReset, ErrConnRefused or ErrTimedOut for a
// failure, ErrLingerExpired when Close's linger ran out before the peer
// had everything, net.ErrClosed when it ended here otherwise (Abort, the
// Socket closed; an error that unwraps to the PacketConn's when the
// Socket closed because its PacketConn failed). Every end decided here
// matches net.ErrClosed with errors.Is. A connection that finished in
// TIME-WAIT reports nil even when its Socket's Close, or a new connection
// taking its id, cut TIME-WAIT short: its streams ended cleanly.
func (c *Conn) Err() error {
	if !isClosed(c.left) {
		return nil
	}
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	return c.s.explain(err)
}

// explain returns err, or for net.ErrClosed on a Socket that closed
// because its PacketConn failed, an error that says so: the connection
// ended with its Socket, and the PacketConn's error is the reason.
func (s *Socket) explain(err error) error {
	if err == net.ErrClosed && s.isClosed() && s.cause != nil {
		return &failedError{cause: s.cause}
	}
	return err
}

// Done returns a channel that is closed when the Socket has closed: by
// Close, by Shutdown once its connections have left, or by itself when
// its PacketConn failed. Err then says which.
func (s *Socket) Done() <-chan struct{} { return s.done }

// Err returns nil while the Socket is open (shutting down included);
// after it closed, net.ErrClosed, or, when its PacketConn failed, an
// error that matches net.ErrClosed and unwraps to the PacketConn's.
func (s *Socket) Err() error {
	if !s.isClosed() {
		return nil
	}
	return s.closedErr()
}

// closedErr is the error of calls on the Socket once it is closed or
// shutting down: net.ErrClosed, ErrShutdown, or a failedError.
func (s *Socket) closedErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closedErrLocked()
}

// closedErrLocked is closedErr with s.mu held.
func (s *Socket) closedErrLocked() error {
	switch {
	case s.drain.on && !s.closed:
		return ErrShutdown
	case s.closed && s.cause != nil:
		return &failedError{cause: s.cause}
	}
	return net.ErrClosed
}

// drainState is a Shutdown in progress, guarded by Socket.mu.
type drainState struct {
	on    bool          // Shutdown was called: no new connections
	empty chan struct{} // closed when the table is empty, made by Shutdown
}

// Shutdown closes the Socket gracefully, as http.Server.Shutdown closes a
// server. At once, it stops accepting: blocked and later Accepts, and
// later Dials, fail with ErrShutdown (a dial under way may still connect
// with the connection id it is trying, and is then waited for like any
// connection), new SYNs are answered with RESET
// (within WithResetRate), and connections not yet returned by Accept are
// reset. Then it waits until every other connection has left the Socket
// (see Conn.Done; a connection in TIME-WAIT leaves when it ends) and
// closes the Socket, returning Close's error. If ctx ends first, Shutdown
// returns ctx's error and leaves the Socket open, with its connections, for
// Close to end. The caller must close or finish its connections for
// Shutdown to return early: an idle open connection holds it until ctx
// ends. If the Socket closes otherwise meanwhile, Shutdown returns Err.
func (s *Socket) Shutdown(ctx context.Context) error {
	if s.isClosed() {
		return s.Err()
	}
	refused, empty := s.startDrain()
	for _, c := range refused {
		c.endUnaccepted()
	}
	select {
	case <-empty:
		return s.Close()
	case <-s.done:
		return s.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// startDrain marks the Socket as shutting down, empties the backlog and
// wakes blocked Accepts. It returns the connections nobody accepted, for
// the caller to end, and the channel closed when the table is empty.
func (s *Socket) startDrain() (refused []*Conn, empty chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.drain.on {
		s.drain.on = true
		s.drain.empty = make(chan struct{})
		// Connections still being proven were never seen by the user
		// either: they go too.
		for _, c := range s.conns {
			if c.acceptor && !c.accepted {
				refused = append(refused, c)
			}
		}
		clear(s.backlog)
		s.backlog = s.backlog[:0]
		s.noteEmpty()
		signal(s.acceptSig) // a blocked Accept sees drain.on
	}
	return refused, s.drain.empty
}

// noteEmpty closes drain.empty when a Shutdown waits and the table is
// empty. s.mu is held.
func (s *Socket) noteEmpty() {
	if s.drain.on && len(s.conns) == 0 && len(s.waiting) == 0 && !isClosed(s.drain.empty) {
		close(s.drain.empty)
	}
}

// endUnaccepted ends a connection that Accept never returned: with RESET
// once its dialer proved its address, silently before (the address may
// be forged, and a RESET would be reflected at whoever owns it).
func (c *Conn) endUnaccepted() {
	if c.confirmed.Load() {
		c.step(func(now time.Time, m *proto.Conn) { m.Reset(now) })
		return
	}
	c.step(func(now time.Time, m *proto.Conn) { m.Drop(now) })
}

// readFailed reports whether a read error of the PacketConn ends the
// Socket at once. A closed PacketConn (net.ErrClosed), one whose stream
// ended (io.EOF), and any error that is neither an errno from the kernel
// nor says it is temporary, are permanent: the Socket closes with that
// error, which Accept, Dial, Read and Write then wrap (as quic-go's
// transport does with a failed read). Errnos (ENOBUFS, an ICMP error such
// as ECONNREFUSED surfacing on a UDP read) and temporary errors are
// retried by the caller, and a datagram too long for the buffer is
// skipped.
func readFailed(err error) bool {
	if errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) {
		return true
	}
	var errno syscall.Errno
	var temp interface{ Temporary() bool }
	switch {
	case errors.As(err, &errno), errors.Is(err, io.ErrShortBuffer):
		return false
	case errors.As(err, &temp) && temp.Temporary():
		return false
	}
	return true
}
