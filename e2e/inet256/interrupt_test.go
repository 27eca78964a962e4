//go:build unix

package inet256e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SIGINT to either side of a transfer through two daemons makes the other
// side say "peer aborted", not wait out its --idle-timeout: the
// interrupted side's RESET must leave before its node closes. Before
// inet256adapter's Close let the daemon take the last message, the RESET
// of an interrupted sender was lost in 4 of 8 runs here. Each run uses
// fresh keys: a key reopened at once can find its old node still open.
func TestCLIInterruptOverDaemons(t *testing.T) {
	checkLeaks(t)
	utpBin, a, b, _, _, _ := cliOnTwoDaemons(t)
	for i := range 4 {
		dir, out := t.TempDir(), t.TempDir()
		keyA, keyB := filepath.Join(dir, "a.pem"), filepath.Join(dir, "b.pem")
		os.WriteFile(keyA, []byte(output(t, utpBin, "keygen")), 0o600)
		os.WriteFile(keyB, []byte(output(t, utpBin, "keygen")), 0o600)
		recv := runCLI(t, utpBin, a.endpoint(), nil, "recv", "-q", "--idle-timeout", "20s", "--key", keyA, "--out", out)
		addrA := recv.listening(t, "waiting for a file on")
		send, stdin := runCLIPiped(t, utpBin, b.endpoint(), "send", "-q", "--idle-timeout", "20s", "--key", keyB, "--timeout", "30s", "-", addrA)
		go stdin.Write(randomData(t, 64<<20)) // ends when the pipe closes
		waitSize(t, filepath.Join(out, ".stdin.utp-partial"), 1<<20, recv)
		victim, peer, role := send, recv, "send"
		if i%2 == 1 {
			victim, peer, role = recv, send, "recv"
		}
		victim.cmd.Process.Signal(syscall.SIGINT)
		if code := victim.exit(t, 30*time.Second); code != 130 {
			t.Fatalf("run %d: %s after SIGINT: exit %d, %s", i, role, code, victim.stderr.String())
		}
		code := peer.exit(t, 60*time.Second)
		if msg := peer.stderr.String(); code != 1 || !strings.Contains(msg, "peer aborted") {
			t.Fatalf("run %d: the peer of an interrupted %s: exit %d, %s", i, role, code, msg)
		}
		stdin.Close()
	}
}
