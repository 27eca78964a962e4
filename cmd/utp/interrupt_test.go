//go:build unix

package main

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SIGINT or SIGTERM to either side of a transfer exits 130 or 143, and
// the peer says "peer aborted" at once: well within a few seconds, where
// without the reset it would wait out its --idle-timeout (30 s). The
// sender reads a pipe the test holds open, so that the transfer is under
// way when the signal comes, and, when the receiver is the one stopped,
// the sender is blocked reading it: it must notice the reset anyway.
func TestInterruptTellsPeer(t *testing.T) {
	for _, tc := range []struct {
		victim string
		sig    syscall.Signal
	}{{"send", syscall.SIGINT}, {"send", syscall.SIGTERM}, {"recv", syscall.SIGINT}, {"recv", syscall.SIGTERM}} {
		t.Run(tc.victim+" "+tc.sig.String(), func(t *testing.T) {
			out := t.TempDir()
			addr := "udp://" + freePort(t)
			recv := start(t, utpCmd(t, nil, "recv", "--out", out, addr))
			recv.waitFor(t, "waiting for a file")
			send, stdin := startPiped(t, "send", "-", addr)
			if _, err := stdin.Write(randomBytes(1 << 20)); err != nil {
				t.Fatal(err)
			}
			if !waitPartial(t, filepath.Join(out, ".stdin.utp-partial"), recv) {
				t.Fatalf("recv ended early: %s", recv.stderr.String())
			}
			victim, peer := send, recv
			if tc.victim == "recv" {
				victim, peer = recv, send
			}
			victim.cmd.Process.Signal(tc.sig)
			signalled := time.Now()
			v := waitExit(t, victim, 10*time.Second)
			if v.code != 128+int(tc.sig) || !strings.Contains(v.stderr, "interrupted") {
				t.Fatalf("%s after %v: exit %d, %s", tc.victim, tc.sig, v.code, v.stderr)
			}
			p := waitExit(t, peer, 10*time.Second)
			took := time.Since(signalled)
			if p.code != exitFailure || !strings.Contains(p.stderr, "peer aborted") {
				t.Fatalf("the peer of an interrupted %s: exit %d, %s", tc.victim, p.code, p.stderr)
			}
			if tc.victim == "send" && strings.Contains(p.stderr, "kept as") && !strings.Contains(p.stderr, "starts over") {
				t.Fatalf("the partial of a piped send cannot resume, but recv says: %s", p.stderr)
			}
			// A bound on progress, far below the 30 s idle timeout.
			if took > 5*time.Second {
				t.Fatalf("the peer of an interrupted %s took %v to say so", tc.victim, took)
			}
			t.Logf("%s: exit %d; peer after %v: %s", tc.victim, v.code, took.Round(time.Millisecond), strings.TrimSpace(p.stderr))
		})
	}
}

// A peer that stops answering (SIGSTOP, so it neither resets nor closes)
// fails the other side after --idle-timeout, which says so; until then
// the transfer only stalls.
func TestIdleTimeout(t *testing.T) {
	for _, stopped := range []string{"send", "recv"} {
		t.Run(stopped+" stopped", func(t *testing.T) {
			out := t.TempDir()
			addr := "udp://" + freePort(t)
			recv := start(t, utpCmd(t, nil, "recv", "--idle-timeout", "2s", "--out", out, addr))
			recv.waitFor(t, "waiting for a file")
			send, stdin := startPiped(t, "send", "--idle-timeout", "2s", "-", addr)
			stdin.Write(randomBytes(1 << 20))
			if !waitPartial(t, filepath.Join(out, ".stdin.utp-partial"), recv) {
				t.Fatalf("recv ended early: %s", recv.stderr.String())
			}
			victim, other, role := send, recv, "sender"
			if stopped == "recv" {
				victim, other, role = recv, send, "receiver"
			}
			victim.cmd.Process.Signal(syscall.SIGSTOP)
			defer victim.cmd.Process.Signal(syscall.SIGCONT) // then the cleanup kills it
			stoppedAt := time.Now()
			// The sender must write to find out: give it more to send,
			// from a goroutine, since a stopped sender reads none of it
			// (the write ends when the pipe is closed at the end).
			go stdin.Write(randomBytes(8 << 20))
			o := waitExit(t, other, 30*time.Second)
			took := time.Since(stoppedAt)
			if o.code != exitFailure || !strings.Contains(o.stderr, "the "+role+" made no progress for 2s (--idle-timeout)") {
				t.Fatalf("the peer of a stopped %s: exit %d, %s", stopped, o.code, o.stderr)
			}
			if took < 2*time.Second {
				t.Fatalf("failed after %v, before the 2 s --idle-timeout", took)
			}
			t.Logf("peer of a stopped %s failed after %v: %s", stopped, took.Round(time.Millisecond), strings.TrimSpace(o.stderr))
		})
	}
}
