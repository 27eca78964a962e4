package interop

import (
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp"
)

// wantReset reads from our connection and expects it to end with
// ErrConnReset.
func wantReset(c *utp.Conn) error {
	buf := make([]byte, 64<<10)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue // data from before the reset
		}
		if !errors.Is(err, utp.ErrConnReset) {
			return fmt.Errorf("read returned %v, want ErrConnReset", err)
		}
		return nil
	}
}

// wantWriteReset writes to our connection until a Write fails, and
// expects ErrConnReset. After the peer's FIN, Read keeps reporting io.EOF,
// so a reset that follows shows on the writing side, as with TCP's EPIPE.
func wantWriteReset(c *utp.Conn) error {
	chunk := make([]byte, 1<<10)
	for range 64 << 10 { // at most 64 MiB: the send buffer is 4 MiB
		if _, err := c.Write(chunk); err != nil {
			if !errors.Is(err, utp.ErrConnReset) {
				return fmt.Errorf("write returned %v, want ErrConnReset", err)
			}
			return nil
		}
	}
	return errors.New("64 MiB written, no reset")
}

// wantPeerReset reads from the peer's connection and expects its reset
// error.
func wantPeerReset(k peerKind, c net.Conn) error {
	buf := make([]byte, 64<<10)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue
		}
		if !k.isReset(err) {
			return fmt.Errorf("read returned %v, want the peer's reset error", err)
		}
		return nil
	}
}

// TestPeerRestarts: the peer's process dies and another takes its port, as
// after a restart. The new one answers our next packet with RESET, and our
// connection fails with ErrConnReset (and syscall.ECONNRESET).
func TestPeerRestarts(t *testing.T) {
	forEachPeerAndRole(t, func(t *testing.T, k peerKind, weDial bool) {
		c := closeCase(t, k, weDial, noImpairment)
		port := c.p.Addr().String()
		must(t, "peer crashes", c.p.Crash())
		p2, err := k.listen(port)
		must(t, "a new peer takes its port", err)
		t.Cleanup(func() { p2.Close() })
		// A packet of ours still on its way (an ACK of the handshake's
		// last packet, say) may meet the new peer first: then the RESET
		// is already here and the write fails with it, which is as good.
		// About 1 run in 100 went that way.
		if err := writeStream(c.pr.ours, seedOurs, 1<<10); err != nil && !errors.Is(err, utp.ErrConnReset) {
			t.Fatalf("step %q: %v", "we write 1 KiB", err)
		}
		must(t, "our connection is reset", wantReset(c.pr.ours))
		t.Logf("wire: %v", c.tp)
	})
}

// TestResetAfterPeerClosed: the peer writes, then closes. Both peers
// forget a connection once their FIN is acknowledged, so data we send
// afterwards is answered with RESET (addressed with the connection id of
// the packet it answers, our send id: docs/interop.md), and our writes
// fail with ErrConnReset. The peer's stream was complete before the RESET:
// what we received and its EOF must still be readable, as Linux TCP
// returns queued data and then EOF after a FIN and an RST (go-libutp's
// Conn.Read, too, returns its buffer and EOF before its error).
func TestResetAfterPeerClosed(t *testing.T) {
	forEachPeerAndRole(t, func(t *testing.T, k peerKind, weDial bool) {
		c := closeCase(t, k, weDial, noImpairment)
		must(t, "peer writes 100 KiB", writeStream(c.pr.theirs, seedTheirs, closeSize))
		must(t, "peer closes", c.pr.theirs.Close())
		must(t, "the 100 KiB and the FIN reach us, unread", waitFor(progressBound, func() bool {
			st := c.pr.ours.Stats()
			return st.BytesReceived >= closeSize && c.tp.toUs[stFin].Load() > 0 && c.tp.toPeer[stState].Load() > 0
		}))
		time.Sleep(50 * time.Millisecond) // our ACK of the FIN reaches the peer, which forgets us
		must(t, "our writes fail with ErrConnReset", wantWriteReset(c.pr.ours))
		if c.tp.toUs[stReset].Load() == 0 {
			t.Fatalf("step %q: no RESET came from the peer (%v)", "peer resets", c.tp)
		}
		must(t, "we still read the 100 KiB and EOF", readStream(c.pr.ours, seedTheirs, closeSize))
	})
}

// TestWeReset: an abortive close (Close with data unread, as TCP does) and
// closing our Socket each send a RESET and no FIN, and the peer's
// connection ends with its reset error.
func TestWeReset(t *testing.T) {
	abort := map[string]func(c closeSetup) error{
		"close_with_unread_data": func(c closeSetup) error { return c.pr.ours.Close() },
		"socket_close":           func(c closeSetup) error { return c.us.Close() },
	}
	for _, how := range []string{"close_with_unread_data", "socket_close"} {
		t.Run(how, func(t *testing.T) {
			forEachPeerAndRole(t, func(t *testing.T, k peerKind, weDial bool) {
				c := closeCase(t, k, weDial, noImpairment)
				must(t, "peer writes 10 KiB", writeStream(c.pr.theirs, seedTheirs, 10<<10))
				must(t, "the 10 KiB reach us, unread", waitFor(progressBound, func() bool {
					return c.pr.ours.Stats().BytesReceived >= 10<<10
				}))
				must(t, "we reset", abort[how](c))
				must(t, "peer's connection is reset", wantPeerReset(k, c.pr.theirs))
				// More than one RESET is right when the peer keeps sending:
				// we answer packets for a connection we no longer know with
				// RESET (rate-limited, utp.WithResetRate).
				if r, f := c.tp.toPeer[stReset].Load(), c.tp.toPeer[stFin].Load(); r == 0 || f != 0 {
					t.Fatalf("step %q: we sent %d RESETs and %d FINs, want some and none", "RESET, no FIN", r, f)
				}
			})
		})
	}
}

// progressBound bounds a wait for something that happens within
// milliseconds on an idle machine: a bound on progress, long enough that a
// machine busy with other work (another go test beside this one, say)
// does not reach it, while a wait that never ends still fails.
const progressBound = time.Minute

// waitFor polls cond until it holds, or fails once within has passed.
func waitFor(within time.Duration, cond func() bool) error {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v", within)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return nil
}
