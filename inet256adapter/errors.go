package inet256adapter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/inet256/inet256/pkg/inet256"
)

// inetMTU is inet256.MTU as an int.
const inetMTU = inet256.MTU

// Sentinels for errors.Is. The errors returned are wrapped in *net.OpError
// and carry detail; match them with errors.Is or errors.As.
var (
	// ErrUnreachable matches every *UnreachableError.
	ErrUnreachable = errors.New("inet256adapter: address unreachable")
	// ErrNodeFailed matches the error every call returns once the node has
	// failed: its daemon went away, or it was closed underneath the
	// PacketConn. It deliberately does not match net.ErrClosed, which is
	// kept for a PacketConn closed by its own Close: a utp.Socket reading
	// net.ErrClosed stops reading but stays open, while any other error
	// makes it close itself.
	ErrNodeFailed = errors.New("inet256adapter: node failed")
	// ErrLookupPending is the cause in an *UnreachableError from a write
	// that found the peer's lookup still running: nothing was sent, and a
	// later write may succeed.
	ErrLookupPending = errors.New("public key lookup still in progress")
)

// UnreachableError is returned by WriteTo (and Dial) when the peer's public
// key cannot be found: sending to such an address can silently disable a
// daemon-backed node, so nothing is sent. It matches ErrUnreachable,
// syscall.EHOSTUNREACH and, with errors.As, inet256.ErrAddrUnreachable.
type UnreachableError struct {
	Addr inet256.Addr
	Err  error // why the lookup failed: not found, timed out, ...
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("inet256adapter: address unreachable: %v: %v", e.Addr, e.Err)
}

// Unwrap returns the cause, so that errors.Is(err, context.DeadlineExceeded)
// tells a caller that its own context ended the lookup.
func (e *UnreachableError) Unwrap() error { return e.Err }

// Is reports whether target is ErrUnreachable or EHOSTUNREACH.
func (e *UnreachableError) Is(target error) bool {
	return target == ErrUnreachable || target == syscall.EHOSTUNREACH
}

// As lets inet256.IsErrAddrUnreachable recognise the error.
func (e *UnreachableError) As(target any) bool {
	if t, ok := target.(*inet256.ErrAddrUnreachable); ok {
		*t = inet256.ErrAddrUnreachable{Addr: e.Addr}
		return true
	}
	return false
}

// MTUError is returned by WriteTo for a message longer than the largest
// the network delivers (WithMaxMessage). It matches syscall.EMSGSIZE, as a
// UDP send of an oversized datagram does, and, with errors.As,
// inet256.ErrMTUExceeded.
type MTUError struct {
	Len, Max int
}

func (e *MTUError) Error() string {
	return fmt.Sprintf("inet256adapter: message of %d bytes exceeds the %d deliverable", e.Len, e.Max)
}

// Is reports whether target is syscall.EMSGSIZE.
func (e *MTUError) Is(target error) bool { return target == syscall.EMSGSIZE }

// As lets inet256.IsErrMTUExceeded recognise the error.
func (e *MTUError) As(target any) bool {
	if t, ok := target.(*inet256.ErrMTUExceeded); ok {
		*t = inet256.ErrMTUExceeded{MessageLen: e.Len}
		return true
	}
	return false
}

// TruncatedError is returned by ReadFrom when a message was longer than
// the buffer: the buffer holds its first bytes, the rest is lost. It
// matches io.ErrShortBuffer.
type TruncatedError struct {
	Len int // the message's length
}

func (e *TruncatedError) Error() string {
	return fmt.Sprintf("inet256adapter: message of %d bytes truncated to fit the buffer", e.Len)
}

// Is reports whether target is io.ErrShortBuffer.
func (e *TruncatedError) Is(target error) bool { return target == io.ErrShortBuffer }

// nodeFailure is the error of a failed node. It matches ErrNodeFailed and
// prints its cause, but does not unwrap to it (see ErrNodeFailed).
type nodeFailure struct{ cause error }

func (e *nodeFailure) Error() string { return ErrNodeFailed.Error() + ": " + e.cause.Error() }

// Is matches ErrNodeFailed, and ErrPeerSilent when a peer that went away
// took the node down.
func (e *nodeFailure) Is(target error) bool {
	return target == ErrNodeFailed || (target == ErrPeerSilent && errors.Is(e.cause, ErrPeerSilent))
}

// As finds a *PeerSilentError cause.
func (e *nodeFailure) As(target any) bool {
	if t, ok := target.(**PeerSilentError); ok {
		return errors.As(e.cause, t)
	}
	return false
}

// isTransportFailure reports whether err from a node's Send or
// LookupPublicKey means the node can no longer talk to its daemon. A
// daemon-backed node (inet256http) writes requests to a unix stream: after
// the daemon dies or the node is closed, the write fails with EPIPE,
// ECONNRESET or net.ErrClosed, and the stream cannot recover.
func isTransportFailure(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.ErrClosedPipe)
}
