package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/inet256/go-utp/v2/cmd/utp/internal/fileproto"
	"github.com/inet256/go-utp/v2/inet256adapter"
	"github.com/inet256/go-utp/v2/utp"
)

// answerGrace bounds how long a side waits for its last words (an answer,
// a refusal, its FIN) to be acknowledged before it closes.
const answerGrace = 5 * time.Second

// sendSession runs the sender's side of the file protocol over c, then
// ends the connection politely: the receiver's FIN has arrived (Send read
// to it), so ours carries the ACK of it and no TIME-WAIT is needed.
func sendSession(c *utp.Conn, files []fileproto.Source, idle time.Duration, gone func(error)) ([]fileproto.Sent, error) {
	sent, err := fileproto.Send(c, files, fileproto.Config{Idle: idle, Gone: gone})
	if err != nil {
		c.Close()
		return sent, err
	}
	c.CloseWrite()
	finish(c, answerGrace)
	return sent, nil
}

// sendWatched is sendSession, except that it returns at once when the
// receiver resets the connection (it was interrupted) or the INET256
// node under ep fails: a sender blocked reading standard input would
// otherwise notice only at its next write. So does an interrupt, whose
// reset the session may not see while it waits for its source. The
// abandoned session ends with the process.
func sendWatched(c *utp.Conn, ep *endpoint, files []fileproto.Source, idle time.Duration, in *interrupts) ([]fileproto.Sent, error) {
	type result struct {
		sent []fileproto.Sent
		err  error
	}
	done := make(chan result, 1)
	reset := make(chan error, 1)
	gone := func(err error) {
		if errors.Is(err, utp.ErrConnReset) {
			reset <- err // called at most once
		}
	}
	go func() {
		sent, err := sendSession(c, files, idle, gone)
		done <- result{sent, err}
	}()
	select {
	case r := <-done:
		return r.sent, r.err
	case err := <-reset:
		// A reset means no orderly end, so the session has failed.
		return nil, err
	case <-ep.failed: // nil, never ready, over UDP
		return nil, ep.daemonGone(nil)
	case <-in.fired:
		return nil, errInterrupted
	}
}

// errInterrupted is what a session stopped by a signal returns; the
// command words it with the signal's status.
var errInterrupted = errors.New("interrupted")

// recvSession runs the receiver's side over c. After the sender's
// "done" it sends its FIN first and waits (bounded) for the sender's, so
// that nothing unread resets the connection; after a refusal it makes
// sure the refusal is acknowledged before closing.
func recvSession(c *utp.Conn, sink fileproto.Sink, idle time.Duration) ([]fileproto.Received, error) {
	got, err := fileproto.Receive(c, sink, fileproto.Config{Idle: idle})
	var ref *fileproto.Refusal
	switch {
	case err == nil:
		c.CloseWrite()
		c.SetReadDeadline(time.Now().Add(answerGrace))
		io.Copy(io.Discard, c)
		finish(c, answerGrace)
	case errors.As(err, &ref) || errors.Is(err, fileproto.ErrCorrupt) || errors.Is(err, fileproto.ErrProtocol):
		c.CloseWrite()
		ctx, cancel := context.WithTimeout(context.Background(), answerGrace)
		c.Drain(ctx)
		cancel()
		c.Close()
	default:
		c.Close()
	}
	return got, err
}

// newSummary describes one file moved over c.
func newSummary(h fileproto.Header, offset, n int64, sum [32]byte, took time.Duration, c *utp.Conn) summary {
	st := c.Stats()
	return summary{
		File: h.Name, Bytes: offset + n, Resumed: offset, Seconds: took.Seconds(),
		MBPerSecond: float64(n) / 1e6 / max(took.Seconds(), 1e-9),
		RTTMillis:   float64(st.MinRTT.Microseconds()) / 1000,
		SRTTMillis:  float64(st.RTT.Microseconds()) / 1000,
		Retransmits: st.Retransmits, SHA256: fmt.Sprintf("%x", sum),
		Peer: c.RemoteAddr().String(),
	}
}

// sendError says what stopped a send; files[i] is the file it was on.
func sendError(err error, files []fileproto.Source, i int, idle time.Duration) error {
	name := "the transfer"
	if i < len(files) {
		name = fileproto.Printable(files[i].Name)
	}
	var ce *cliError
	var ref *fileproto.Refusal
	switch {
	case errors.As(err, &ce):
		return ce
	case errors.As(err, &ref):
		return fail(reasonStatus(ref.Reason), "the receiver refused %s: %s", name, fileproto.Printable(ref.Text))
	case errors.Is(err, fileproto.ErrCorrupt):
		return fail(exitCorrupt, "the receiver reports that %s arrived corrupted (SHA-256 mismatch) and discarded it", name)
	}
	return fail(exitFailure, "sending %s: %s", name, connReason(err, "receiver", idle))
}

// reasonStatus is the exit status a sender takes for a receiver's reason.
func reasonStatus(r fileproto.Reason) int {
	switch r {
	case fileproto.ReasonExists:
		return exitFileExists
	case fileproto.ReasonDiskFull:
		return exitDiskFull
	}
	return exitFailure
}

// connReason words a failure of the connection or the protocol.
func connReason(err error, peer string, idle time.Duration) string {
	switch {
	case errors.Is(err, inet256adapter.ErrNodeFailed):
		return "the INET256 daemon stopped answering (" + firstLine(err) + ")"
	case errors.Is(err, utp.ErrConnReset):
		return "peer aborted the transfer (connection reset)"
	case errors.Is(err, fileproto.ErrSenderAborted):
		return "peer aborted the transfer (the sender could not read its file)"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Sprintf("the %s made no progress for %v (--idle-timeout)", peer, idle)
	case errors.Is(err, utp.ErrTimedOut):
		return fmt.Sprintf("the %s stopped answering (connection timed out)", peer)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Sprintf("the %s closed the connection early", peer)
	case errors.Is(err, fileproto.ErrProtocol):
		return fmt.Sprintf("the %s broke the file protocol: %s", peer, fileproto.Printable(err.Error()))
	}
	return fileproto.Printable(firstLine(err))
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
