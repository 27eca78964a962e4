package inet256e2e

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inet256/inet256/pkg/inet256"
	"github.com/inet256/inet256/pkg/serde"
)

// The utp command (cmd/utp) against real daemons: a netcat stream and a
// file between two node addresses on two peered daemons, and key files
// shared with the inet256 tools.

// buildUTP builds cmd/utp into a directory removed when t ends.
func buildUTP(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "utp")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, goCommand(), "build", "-o", bin, "../../cmd/utp").CombinedOutput()
	if err != nil {
		t.Fatalf("building cmd/utp: %v\n%s", err, out)
	}
	return bin
}

// cliRun is one run of a command, its output collected.
type cliRun struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr lockedBuffer
	done   chan struct{} // closed once the process has been reaped
	err    error         // cmd.Wait's, once done is closed
}

// lockedBuffer is a bytes.Buffer read while the process writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// runCLI starts bin with args, stdin and $INET256_API set to api. The
// process is killed, by its PID, when the test ends.
func runCLI(t *testing.T, bin, api string, stdin []byte, args ...string) *cliRun {
	t.Helper()
	r := &cliRun{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	r.cmd.Env = append(os.Environ(), "INET256_API="+api)
	r.cmd.Stdin = bytes.NewReader(stdin)
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		r.err = r.cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() {
		r.cmd.Process.Kill()
		<-r.done
	})
	return r
}

// wait waits (bounded) for the process and fails t unless it exited 0.
func (r *cliRun) wait(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(within):
		r.cmd.Process.Kill()
		<-r.done
		t.Fatalf("%v still running after %v; stderr: %s", r.cmd.Args[1:], within, r.stderr.String())
	}
	if r.err != nil {
		t.Fatalf("%v: %v; stderr: %s", r.cmd.Args[1:], r.err, r.stderr.String())
	}
}

// exit waits (bounded) for the process and returns its exit status.
func (r *cliRun) exit(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(within):
		r.cmd.Process.Kill()
		<-r.done
		t.Fatalf("%v still running after %v; stderr: %s", r.cmd.Args[1:], within, r.stderr.String())
	}
	return r.cmd.ProcessState.ExitCode()
}

// listening waits (bounded) until a listener prints its address after
// prefix, and returns that address.
func (r *cliRun) listening(t *testing.T, prefix string) string {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		for _, line := range strings.Split(r.stderr.String(), "\n") {
			if addr, ok := strings.CutPrefix(line, prefix+" "); ok {
				return strings.TrimSpace(addr)
			}
		}
		select {
		case <-r.done:
			t.Fatalf("%v exited: %v; stderr: %s", r.cmd.Args[1:], r.err, r.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("%v never printed %q; stderr: %s", r.cmd.Args[1:], prefix, r.stderr.String())
	return ""
}

// output runs a command to completion (bounded) and returns its stdout.
func output(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		t.Fatalf("%s %v: %v", filepath.Base(name), args, err)
	}
	return string(out)
}

func randomData(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := crand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// Key files are shared with the inet256 tools: each reads the other's,
// and both derive the same node address from it.
func TestCLIKeysMatchInet256(t *testing.T) {
	inet256Bin, utpBin := mustDaemonBinary(t), buildUTP(t)
	dir := t.TempDir()
	keys := map[string]string{
		"inet256 keygen": output(t, inet256Bin, "keygen"),
		"utp keygen":     output(t, utpBin, "keygen"),
	}
	for made, pem := range keys {
		path := filepath.Join(dir, strings.ReplaceAll(made, " ", "-")+".pem")
		if err := os.WriteFile(path, []byte(pem), 0o600); err != nil {
			t.Fatal(err)
		}
		theirs := strings.TrimSpace(output(t, inet256Bin, "addr", "--private-key", path))
		ours := strings.TrimSpace(output(t, utpBin, "addr", "--key", path))
		if ours == "" || ours != theirs {
			t.Fatalf("key made by %s: utp addr says %q, inet256 addr says %q", made, ours, theirs)
		}
	}
}

// The utp command moves a netcat stream both ways and a file between two
// node addresses, each on its own daemon, byte-exact. The listening side
// names its daemon with --api (its $INET256_API points nowhere); the
// dialing side uses $INET256_API. The keys come from both tools.
func TestCLIThroughDaemons(t *testing.T) {
	checkLeaks(t)
	utpBin := buildUTP(t)
	top := twoDaemons(t)
	a, b := top.daemons[0], top.daemons[1]
	dir := t.TempDir()
	keyA, keyB := filepath.Join(dir, "a.pem"), filepath.Join(dir, "b.pem")
	os.WriteFile(keyA, []byte(output(t, utpBin, "keygen")), 0o600)
	os.WriteFile(keyB, []byte(output(t, mustDaemonBinary(t), "keygen")), 0o600)
	addrA := strings.TrimSpace(output(t, mustDaemonBinary(t), "addr", "--private-key", keyA))
	const nowhere = "unix:///nonexistent/inet256.sock" // --api must win over it

	t.Run("netcat", func(t *testing.T) {
		toDialer, toListener := randomData(t, 2<<20), randomData(t, 1<<20)
		l := runCLI(t, utpBin, nowhere, toDialer, "listen", "--api", a.endpoint(), "--key", keyA)
		if got := l.listening(t, "listening on"); got != addrA {
			t.Fatalf("listen printed %q, want the key's address %q", got, addrA)
		}
		start := time.Now()
		d := runCLI(t, utpBin, b.endpoint(), toListener, "dial", "--key", keyB, "--timeout", "30s", addrA)
		d.wait(t, 60*time.Second)
		l.wait(t, 30*time.Second)
		if !bytes.Equal(d.stdout.Bytes(), toDialer) || !bytes.Equal(l.stdout.Bytes(), toListener) {
			t.Fatalf("bytes differ: dialer got %d of %d, listener got %d of %d",
				d.stdout.Len(), len(toDialer), l.stdout.Len(), len(toListener))
		}
		t.Logf("netcat: 2 MiB and 1 MiB across in %v", time.Since(start).Round(time.Millisecond))
	})

	t.Run("file", func(t *testing.T) {
		src, out := filepath.Join(dir, "payload.bin"), t.TempDir()
		data := randomData(t, 4<<20)
		os.WriteFile(src, data, 0o644)
		recv := runCLI(t, utpBin, nowhere, nil, "recv", "--json", "--api", a.endpoint(), "--key", keyA, "--out", out)
		if got := recv.listening(t, "waiting for a file on"); got != addrA {
			t.Fatalf("recv printed %q, want %q", got, addrA)
		}
		send := runCLI(t, utpBin, b.endpoint(), nil, "send", "--json", "--key", keyB, "--timeout", "30s", src, addrA)
		send.wait(t, 60*time.Second)
		recv.wait(t, 30*time.Second)
		if got, err := os.ReadFile(filepath.Join(out, "payload.bin")); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("received file differs (%d of %d bytes, %v)", len(got), len(data), err)
		}
		var s struct {
			Bytes   int64   `json:"bytes"`
			Seconds float64 `json:"seconds"`
			MBps    float64 `json:"mb_per_s"`
			RTT     float64 `json:"rtt_ms"`
			Peer    string  `json:"peer"`
		}
		if err := json.Unmarshal(recv.stdout.Bytes(), &s); err != nil || s.Bytes != int64(len(data)) {
			t.Fatalf("recv summary %q: %v", recv.stdout.String(), err)
		}
		t.Logf("file: 4 MiB in %.2f s (%.1f MB/s), RTT %.1f ms, from %s", s.Seconds, s.MBps, s.RTT, s.Peer)
	})
}

// keyWithPrefix writes to dir a key whose node address begins with
// prefix, found by generating keys from a seed fixed per prefix: the same
// key on every run, so that no test depends on the luck of a key.
func keyWithPrefix(t *testing.T, dir, prefix string) (path, addr string) {
	t.Helper()
	var seed [32]byte
	copy(seed[:], "dash:"+prefix)
	rng := rand.NewChaCha8(seed)
	for range 1_000_000 { // "-h" is 1 in 4096 addresses
		_, priv, err := inet256.GenerateKey(rng)
		if err != nil {
			t.Fatal(err)
		}
		addr = inet256.NewAddr(priv.Public()).Base64String()
		if !strings.HasPrefix(addr, prefix) {
			continue
		}
		pem, err := serde.MarshalPrivateKeyPEM(priv)
		if err != nil {
			t.Fatal(err)
		}
		path = filepath.Join(dir, "key"+strings.ReplaceAll(prefix, "-", "_")+".pem")
		if err := os.WriteFile(path, pem, 0o600); err != nil {
			t.Fatal(err)
		}
		return path, addr
	}
	t.Fatalf("no address beginning with %q in a million keys", prefix)
	return "", ""
}

// Node addresses that begin with "-h" and "-" work as positional
// arguments through real daemons, with no "--": what listen and recv
// print is pasted to dial, send and --from as it is. An address no
// daemon knows is reported unreachable, and a key the daemon refuses
// (its own) as in use.
func TestCLIDashAddresses(t *testing.T) {
	checkLeaks(t)
	utpBin := buildUTP(t)
	top := twoDaemons(t)
	a, b := top.daemons[0], top.daemons[1]
	dir := t.TempDir()
	keyA, addrA := keyWithPrefix(t, dir, "-h")
	keyB, addrB := keyWithPrefix(t, dir, "-")

	t.Run("netcat", func(t *testing.T) {
		toDialer, toListener := randomData(t, 256<<10), randomData(t, 128<<10)
		l := runCLI(t, utpBin, a.endpoint(), toDialer, "listen", "--key", keyA, "--from", addrB)
		if got := l.listening(t, "listening on"); got != addrA {
			t.Fatalf("listen printed %q, want %q", got, addrA)
		}
		d := runCLI(t, utpBin, b.endpoint(), toListener, "dial", addrA, "--key", keyB, "--timeout", "30s")
		d.wait(t, 60*time.Second)
		l.wait(t, 30*time.Second)
		if !bytes.Equal(d.stdout.Bytes(), toDialer) || !bytes.Equal(l.stdout.Bytes(), toListener) {
			t.Fatalf("bytes differ: dialer got %d of %d, listener got %d of %d",
				d.stdout.Len(), len(toDialer), l.stdout.Len(), len(toListener))
		}
	})

	t.Run("file", func(t *testing.T) {
		src, out := filepath.Join(dir, "payload.bin"), t.TempDir()
		data := randomData(t, 1<<20)
		os.WriteFile(src, data, 0o644)
		recv := runCLI(t, utpBin, a.endpoint(), nil, "recv", "--from", addrB, "--key", keyA, "--out", out)
		if got := recv.listening(t, "waiting for a file on"); got != addrA {
			t.Fatalf("recv printed %q, want %q", got, addrA)
		}
		send := runCLI(t, utpBin, b.endpoint(), nil, "send", src, addrA, "-q", "--key", keyB, "--timeout", "30s")
		send.wait(t, 60*time.Second)
		recv.wait(t, 30*time.Second)
		if got, err := os.ReadFile(filepath.Join(out, "payload.bin")); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("received file differs (%d of %d bytes, %v)", len(got), len(data), err)
		}
	})

	// An address no daemon knows fails after the short lookup window
	// (5 s), not after --timeout: the daemon never says "unknown", but it
	// answers its health check, so the address is called unreachable,
	// not the daemon dead.
	t.Run("unreachable", func(t *testing.T) {
		var nowhere inet256.Addr
		crand.Read(nowhere[:])
		start := time.Now()
		d := runCLI(t, utpBin, b.endpoint(), nil, "dial", "--key", keyB, "--timeout", "2m", nowhere.Base64String())
		code := d.exit(t, 60*time.Second)
		took := time.Since(start)
		if code != 6 || !strings.Contains(d.stderr.String(), "is unreachable: the INET256 daemon at "+b.endpoint()) {
			t.Fatalf("dial to an unknown address: exit %d, %s", code, d.stderr.String())
		}
		// A bound on progress: the old lookup ran to --timeout (2 min).
		if took > 30*time.Second {
			t.Fatalf("dial to an unknown address took %v with --timeout 2m; want the lookup window", took)
		}
		t.Logf("unknown address: exit 6 after %v: %s", took.Round(time.Millisecond), strings.TrimSpace(d.stderr.String()))
	})

	// The daemon's own key is one it refuses to open a node for.
	t.Run("key in use", func(t *testing.T) {
		again := runCLI(t, utpBin, a.endpoint(), nil, "listen", "--key", filepath.Join(a.dir, a.name+".pem"))
		if code := again.exit(t, 30*time.Second); code != 4 || !strings.Contains(again.stderr.String(), "this key is already in use") {
			t.Fatalf("a second node with the same key: exit %d, %s", code, again.stderr.String())
		}
	})

	// Last: the daemon under a waiting listener dies, and the listener
	// says so, naming it.
	t.Run("daemon dies", func(t *testing.T) {
		l := runCLI(t, utpBin, a.endpoint(), nil, "listen", "--key", keyA)
		l.listening(t, "listening on")
		a.kill()
		if code := l.exit(t, 60*time.Second); code != 5 || !strings.Contains(l.stderr.String(), "the INET256 daemon at "+a.endpoint()+" stopped answering") {
			t.Fatalf("listen on a daemon that died: exit %d, %s", code, l.stderr.String())
		}
	})
}
