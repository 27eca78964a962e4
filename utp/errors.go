package utp

import (
	"errors"
	"net"
	"syscall"

	"github.com/inet256/go-utp/v2/utp/internal/proto"
)

// connError is a connection failure that matches, with errors.Is, both
// its own sentinel and the errno a TCP program would test for.
type connError struct {
	msg   string
	errno syscall.Errno
}

func (e *connError) Error() string        { return e.msg }
func (e *connError) Is(target error) bool { return target == e.errno }
func (e *connError) Timeout() bool        { return e.errno == syscall.ETIMEDOUT }
func (e *connError) Temporary() bool      { return false }

// Connection failures. Each also matches the corresponding errno with
// errors.Is (syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ETIMEDOUT,
// syscall.EPIPE), and ErrTimedOut is a net.Error whose Timeout method
// returns true.
var (
	// ErrConnRefused: the peer answered our SYN with RESET, as a Socket
	// does when its accept backlog is full (WithBacklog), or, on Linux
	// over UDP, the kernel reported ICMP "port unreachable" for it:
	// nothing listens at the address.
	ErrConnRefused error = &connError{"utp: connection refused", syscall.ECONNREFUSED}
	// ErrConnReset: the peer reset the connection.
	ErrConnReset error = &connError{"utp: connection reset by peer", syscall.ECONNRESET}
	// ErrTimedOut: the peer stopped answering and the connection gave up
	// (see Limitations in the package documentation for the bounds).
	ErrTimedOut error = &connError{"utp: connection timed out", syscall.ETIMEDOUT}
	// ErrWriteClosed: Write after CloseWrite. It matches syscall.EPIPE, as
	// a TCP write after shutdown(SHUT_WR) fails with "broken pipe".
	ErrWriteClosed error = &connError{"utp: write after CloseWrite", syscall.EPIPE}
)

// ErrLingerExpired is why a connection ended (Conn.Err, Drain) when
// Close's linger (WithLinger) ran out before the peer had acknowledged
// everything written and the FIN: the connection was reset, and the peer
// may not have received all of it. It matches net.ErrClosed with
// errors.Is, as every end decided on this side does.
var ErrLingerExpired error = lingerError{}

type lingerError struct{}

func (lingerError) Error() string        { return "utp: connection reset when its linger ran out" }
func (lingerError) Is(target error) bool { return target == net.ErrClosed }

// mapProtoErr turns a state-machine error into the package's errors.
func mapProtoErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, proto.ErrConnRefused):
		return ErrConnRefused
	case errors.Is(err, proto.ErrConnReset):
		return ErrConnReset
	case errors.Is(err, proto.ErrTimedOut):
		return ErrTimedOut
	case errors.Is(err, proto.ErrLocalReset):
		return net.ErrClosed
	case errors.Is(err, proto.ErrWriteClosed):
		return ErrWriteClosed
	}
	return err
}

// opError wraps err the way the net package does, unless it is nil or
// io.EOF (which callers compare with ==).
func (c *Conn) opError(op string, err error) error {
	if err == nil || err == errEOF {
		return err
	}
	err = c.s.explain(err)
	return &net.OpError{Op: op, Net: "utp", Source: c.s.LocalAddr(), Addr: c.raddr, Err: err}
}
