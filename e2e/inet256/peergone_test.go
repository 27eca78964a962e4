//go:build unix

package inet256e2e

import (
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/inet256adapter"
	"github.com/inet256/go-utp/v2/utp"
)

// peerGoneBound bounds how long an end may take to fail once its peer
// went away: uTP's own timeout (16 retransmission timeouts, about 55 s)
// with room for a loaded machine. Measured here, the reference daemon
// dropped the writing node 20 to 45 s after its peer went away.
const peerGoneBound = 90 * time.Second

// A peer that goes away in the middle of a transfer (its node closed, or
// its daemon killed) fails the surviving end within a bound, with an error
// that says so: uTP's ErrTimedOut, or, when the daemon dropped the
// surviving node for writing to an address it could no longer route
// (what the reference daemon does, 3 of 3 runs here), ErrNodeFailed
// naming that peer (ErrPeerSilent). Before, that failure read as the
// surviving node's own daemon no longer serving it. No goroutine is left.
func TestPeerGoneMidStream(t *testing.T) {
	for _, how := range []string{"node-closed", "daemon-killed"} {
		t.Run(how, func(t *testing.T) {
			checkLeaks(t)
			top := twoDaemons(t)
			a, b := top.sockets(t)
			client, server := dialPair(t, a, b, 5*time.Minute)
			var progress [2]atomic.Int64
			ended := make(chan error, 1)
			go func() { ended <- exchange(client, 0, 1<<40, &progress[0]).err }()
			go exchange(server, 1, 1<<40, &progress[1])
			waitProgress(t, &progress[0], &progress[1], 4<<20)
			gone := time.Now()
			if how == "node-closed" {
				top.nodes[1].Close()
			} else {
				top.owners[1].kill()
			}
			var err error
			select {
			case err = <-ended:
			case <-time.After(peerGoneBound):
				t.Fatalf("the surviving end still blocked %v after its peer went away", peerGoneBound)
			}
			took := time.Since(gone).Round(time.Millisecond)
			var silent *inet256adapter.PeerSilentError
			switch {
			case errors.As(err, &silent):
				if silent.Peer != top.nodes[1].LocalAddr() || !errors.Is(err, inet256adapter.ErrNodeFailed) {
					t.Fatalf("after %v: %v blames %v, want the peer %v", took, err, silent.Peer, top.nodes[1].LocalAddr())
				}
			case errors.Is(err, utp.ErrTimedOut):
			default:
				t.Fatalf("after %v: %v, want utp.ErrTimedOut or a node failure naming the peer that went away", took, err)
			}
			t.Logf("%s: the surviving end failed after %v: %v", how, took, err)
		})
	}
}

// The utp command whose peer is killed (SIGKILL: no reset, its node
// closes with it) says that the peer stopped answering, exit 6 (or, if
// uTP timed out first, that the connection timed out, exit 1), not that
// its own daemon stopped answering (exit 5), which is what it said when
// the daemon dropped its node for writing to the vanished peer.
func TestCLIPeerKilled(t *testing.T) {
	checkLeaks(t)
	utpBin, a, b, keyA, keyB, out := cliOnTwoDaemons(t)

	recv := runCLI(t, utpBin, a.endpoint(), nil, "recv", "-q", "--idle-timeout", "5m", "--key", keyA, "--out", out)
	addrA := recv.listening(t, "waiting for a file on")
	send, stdin := runCLIPiped(t, utpBin, b.endpoint(), "send", "-q", "--idle-timeout", "5m", "--key", keyB, "--timeout", "30s", "-", addrA)
	go stdin.Write(randomData(t, 64<<20)) // more than moves before the kill; ends when the pipe closes
	waitSize(t, filepath.Join(out, ".stdin.utp-partial"), 1<<20, recv)
	recv.cmd.Process.Kill() // this PID only
	killed := time.Now()
	code := send.exit(t, peerGoneBound)
	msg := strings.TrimSpace(send.stderr.String())
	t.Logf("send after %v: exit %d: %s", time.Since(killed).Round(time.Millisecond), code, msg)
	switch {
	case code == 6 && strings.Contains(msg, "the peer "+addrA+" had not answered"):
	case code == 1 && strings.Contains(msg, "timed out"):
	default:
		t.Fatalf("send whose peer was killed: exit %d, %s", code, msg)
	}
}
