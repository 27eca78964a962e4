package utp

import (
	"errors"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/inet256/go-utp/v2/utp/internal/proto"
)

// Each connection failure matches, through the *net.OpError that wraps
// it, its own sentinel and the errno a TCP program tests for, and no
// other; only ErrTimedOut is a timeout.
func TestErrorsMatchErrno(t *testing.T) {
	errnos := []syscall.Errno{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ETIMEDOUT}
	sentinels := []error{ErrConnRefused, ErrConnReset, ErrTimedOut}
	for i, sentinel := range sentinels {
		err := error(&net.OpError{Op: "read", Net: "utp", Err: sentinel})
		for j := range sentinels {
			if got := errors.Is(err, sentinels[j]); got != (i == j) {
				t.Errorf("errors.Is(%v, %v) = %v", err, sentinels[j], got)
			}
			if got := errors.Is(err, errnos[j]); got != (i == j) {
				t.Errorf("errors.Is(%v, syscall.%s) = %v", err, errnoName(errnos[j]), got)
			}
		}
		var ne net.Error
		if !errors.As(err, &ne) || ne.Timeout() != (sentinel == ErrTimedOut) {
			t.Errorf("%v: a net.Error whose Timeout is %v, want %v", err, ne != nil && ne.Timeout(), sentinel == ErrTimedOut)
		}
		// A deadline is not a connection timing out.
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("%v matches os.ErrDeadlineExceeded", err)
		}
	}
}

// The state machine's errors reach callers as the package's.
func TestMapProtoErr(t *testing.T) {
	for in, want := range map[error]error{
		proto.ErrConnRefused: syscall.ECONNREFUSED,
		proto.ErrConnReset:   syscall.ECONNRESET,
		proto.ErrTimedOut:    syscall.ETIMEDOUT,
		proto.ErrLocalReset:  net.ErrClosed,
	} {
		if got := mapProtoErr(in); !errors.Is(got, want) {
			t.Errorf("mapProtoErr(%v) = %v, want a match for %v", in, got, want)
		}
	}
	if mapProtoErr(nil) != nil {
		t.Error("mapProtoErr(nil) is not nil")
	}
}

func errnoName(e syscall.Errno) string {
	switch e {
	case syscall.ECONNREFUSED:
		return "ECONNREFUSED"
	case syscall.ECONNRESET:
		return "ECONNRESET"
	case syscall.ETIMEDOUT:
		return "ETIMEDOUT"
	}
	return e.Error()
}
