package main

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// killSeed is the seed of TestKilledAndResumed: $UTP_KILL_SEED replays a
// run's choices (which side, which signal, when).
func killSeed(t *testing.T) uint64 {
	if s := os.Getenv("UTP_KILL_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("UTP_KILL_SEED=%q: %v", s, err)
		}
		return n
	}
	return uint64(time.Now().UnixNano())
}

// waitPartial waits until the receiver's partial file has data (the
// transfer is under way) or the receiver has exited. It reports whether
// the transfer is under way.
func waitPartial(t *testing.T, partial string, recv *running) bool {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		if info, err := os.Stat(partial); err == nil && info.Size() > 0 {
			return true
		}
		select {
		case err := <-recv.done:
			recv.done <- err // wait will read it again
			return false
		case <-time.After(2 * time.Millisecond):
		}
	}
	t.Fatalf("no transfer began within 20 s; recv: %s", recv.stderr.String())
	return false
}

// Either side killed at a random point (SIGKILL, or SIGINT which tells
// the peer) never leaves a half-written file under the final name, never
// changes the file already there (recv --force replaces it only once the
// new one is verified), and the same commands run again resume from
// what arrived and end with the whole file, verified.
func TestKilledAndResumed(t *testing.T) {
	seed := killSeed(t)
	t.Logf("seed %d (UTP_KILL_SEED=%d go test -run TestKilledAndResumed replays the choices)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 15))
	dir, out := t.TempDir(), t.TempDir()
	src := filepath.Join(dir, "payload.bin")
	data := randomBytes(16 << 20)
	os.WriteFile(src, data, 0o644)
	final, partial := filepath.Join(out, "payload.bin"), filepath.Join(out, ".payload.bin.utp-partial")
	old := []byte("the file recv --force may replace only with a verified one\n")
	resumed, killed := 0, 0
	for run := range 20 {
		os.WriteFile(final, old, 0o644)
		addr := "udp://" + freePort(t)
		recvArgs := []string{"recv", "--force", "--json", "--idle-timeout", "1s", "--out", out, addr}
		sendArgs := []string{"send", "--json", "--idle-timeout", "1s", src, addr}
		recv := start(t, utpCmd(t, nil, recvArgs...))
		recv.waitFor(t, "waiting for a file")
		send := start(t, utpCmd(t, nil, sendArgs...))
		victim, other, vname := send, recv, "send"
		if rng.IntN(2) == 0 {
			victim, other, vname = recv, send, "recv"
		}
		sig := []syscall.Signal{syscall.SIGKILL, syscall.SIGINT, syscall.SIGTERM}[rng.IntN(3)]
		delay := time.Duration(rng.IntN(200)) * time.Millisecond
		if waitPartial(t, partial, recv) {
			time.Sleep(delay)
			victim.cmd.Process.Signal(sig)
		}
		v, o := wait(t, victim), wait(t, other)
		t.Logf("run %d: %v to %s after %v: %s exit %d, other exit %d", run, sig, vname, delay, vname, v.code, o.code)
		if got, _ := os.ReadFile(final); !bytes.Equal(got, old) && !bytes.Equal(got, data) {
			t.Fatalf("run %d: %s holds %d bytes that are neither the old file nor the new one", run, final, len(got))
		}
		if got, _ := os.ReadFile(final); bytes.Equal(got, data) {
			// Verified and stored before the signal (the rest of the
			// session, "done" and the close, may have failed).
			continue
		}
		killed++
		if sig != syscall.SIGKILL && v.code == 128+int(sig) && !strings.Contains(o.stderr, "peer aborted") {
			t.Fatalf("run %d: the %s interrupted (exit %d) but its peer did not say so: %s", run, vname, v.code, o.stderr)
		}
		// The rerun is not interrupted, so it needs no short idle
		// timeout: 1 s without progress happens on a busy machine (CI
		// failed a rerun so), and 10 s still ends a rerun that hangs.
		recv = start(t, utpCmd(t, nil, patient(recvArgs)...))
		recv.waitFor(t, "waiting for a file")
		s, r := runUTP(t, nil, patient(sendArgs)...), wait(t, recv)
		if s.code != 0 || r.code != 0 {
			t.Fatalf("run %d: the rerun failed: send %d (%s), recv %d (%s)", run, s.code, s.stderr, r.code, r.stderr)
		}
		if got, _ := os.ReadFile(final); !bytes.Equal(got, data) {
			t.Fatalf("run %d: after the rerun %s is not the file sent", run, final)
		}
		var sum summary
		if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil || sum.Bytes != int64(len(data)) {
			t.Fatalf("run %d: recv summary %q", run, r.stdout)
		}
		if sum.Resumed > 0 {
			resumed++
		}
		if _, err := os.Stat(partial); !os.IsNotExist(err) {
			t.Fatalf("run %d: the partial file is left after success: %v", run, err)
		}
	}
	t.Logf("%d of 20 runs interrupted, %d resumed", killed, resumed)
	if resumed == 0 {
		t.Fatalf("no run resumed (%d interrupted)", killed)
	}
}

// patient returns args with its --idle-timeout raised to 10 s.
func patient(args []string) []string {
	out := slices.Clone(args)
	for i := range out[:len(out)-1] {
		if out[i] == "--idle-timeout" {
			out[i+1] = "10s"
		}
	}
	return out
}
