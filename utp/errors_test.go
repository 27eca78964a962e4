package utp

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"testing/synctest"

	"github.com/inet256/go-utp/v2/utp/internal/proto"
)

// Each connection failure matches, through the *net.OpError that wraps
// it, its own sentinel and the errno a TCP program tests for, and no
// other; only ErrTimedOut is a timeout.
func TestErrorsMatchErrno(t *testing.T) {
	errnos := []syscall.Errno{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ETIMEDOUT, syscall.EPIPE}
	sentinels := []error{ErrConnRefused, ErrConnReset, ErrTimedOut, ErrWriteClosed}
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
		proto.ErrWriteClosed: syscall.EPIPE,
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
	case syscall.EPIPE:
		return "EPIPE"
	}
	return e.Error()
}

// A Write after CloseWrite fails with ErrWriteClosed, which matches
// syscall.EPIPE as a TCP write after shutdown does, inside a *net.OpError;
// the connection still reads what the peer sends. Before, the error was
// the state machine's own, which no exported name or errno matched.
func TestWriteAfterCloseWrite(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		_, _, ca, cb := simConns(t)
		if err := ca.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		_, err := ca.Write([]byte("late"))
		var op *net.OpError
		if !errors.Is(err, ErrWriteClosed) || !errors.Is(err, syscall.EPIPE) || !errors.As(err, &op) {
			t.Fatalf("Write after CloseWrite: %v, want a *net.OpError matching ErrWriteClosed and EPIPE", err)
		}
		if errors.Is(err, net.ErrClosed) {
			t.Errorf("Write after CloseWrite: %v matches net.ErrClosed, but the connection is open for reading", err)
		}
		go cb.Write([]byte("reply"))
		got := make([]byte, 5)
		if _, err := io.ReadFull(ca, got); err != nil || string(got) != "reply" {
			t.Fatalf("read after CloseWrite: %q, %v", got, err)
		}
	})
}
