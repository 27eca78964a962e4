package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// utpBin is the command, built once for all tests.
var utpBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "utp-cli-test")
	if err != nil {
		panic(err)
	}
	utpBin = filepath.Join(dir, "utp")
	if out, err := exec.Command("go", "build", "-o", utpBin, ".").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		panic("building utp: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what one run of the command did.
type result struct {
	code           int
	stdout, stderr string
}

// utpCmd prepares a run of the command with a bounded lifetime.
func utpCmd(t *testing.T, stdin []byte, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(utpBin, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	// No daemon listens on port 1: INET256 commands must say so.
	cmd.Env = append(os.Environ(), "INET256_API="+noDaemon)
	return cmd
}

// noDaemon is the $INET256_API of every run: nothing listens there.
const noDaemon = "tcp://127.0.0.1:1"

// runUTP runs the command to completion, at most 60 s.
func runUTP(t *testing.T, stdin []byte, args ...string) result {
	t.Helper()
	return wait(t, start(t, utpCmd(t, stdin, args...)))
}

type running struct {
	cmd            *exec.Cmd
	stdout, stderr syncBuffer
	done           chan error
}

// syncBuffer is a bytes.Buffer safe to read while the process writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// waitFor waits (at most 10 s) until the process has printed want on
// stderr: a listener is ready once it says where it listens.
func (r *running) waitFor(t *testing.T, want string) {
	t.Helper()
	waitText(t, r.cmd, &r.stderr, want)
}

// waitText waits (at most 10 s) until out, written by cmd, holds want.
func waitText(t *testing.T, cmd *exec.Cmd, out *syncBuffer, want string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if strings.Contains(out.String(), want) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%v never printed %q; it printed: %s", cmd.Args, want, out.String())
}

func start(t *testing.T, cmd *exec.Cmd) *running {
	t.Helper()
	r := &running{cmd: cmd, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = &r.stdout, &r.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() }) // ends only the process we started
	return r
}

func wait(t *testing.T, r *running) result {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(60 * time.Second):
		r.cmd.Process.Kill()
		t.Fatalf("%v did not finish in 60 s; stderr: %s", r.cmd.Args, r.stderr.String())
	}
	return result{code: r.cmd.ProcessState.ExitCode(), stdout: r.stdout.String(), stderr: r.stderr.String()}
}

// freePort returns a UDP port on loopback that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().String()
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// listen and dial over UDP loopback move data both ways, byte-exact, and
// both exit 0 once both directions are done.
func TestNetcatUDP(t *testing.T) {
	addr := "udp://" + freePort(t)
	toDialer, toListener := randomBytes(3<<20), randomBytes(2<<20)
	l := start(t, utpCmd(t, toDialer, "listen", addr))
	l.waitFor(t, "listening on")
	d := runUTP(t, toListener, "dial", addr)
	lr := wait(t, l)
	if d.code != 0 || lr.code != 0 {
		t.Fatalf("exit codes dial %d (%s), listen %d (%s)", d.code, d.stderr, lr.code, lr.stderr)
	}
	if d.stdout != string(toDialer) || lr.stdout != string(toListener) {
		t.Fatalf("bytes differ: dialer got %d of %d, listener got %d of %d",
			len(d.stdout), len(toDialer), len(lr.stdout), len(toListener))
	}
}

// send and recv move a file byte-exact and report a JSON summary.
func TestSendRecvJSON(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	src := filepath.Join(dir, "payload.bin")
	data := randomBytes(5 << 20)
	os.WriteFile(src, data, 0o644)
	addr := "udp://" + freePort(t)
	recv := start(t, utpCmd(t, nil, "recv", "--json", "--out", out, addr))
	recv.waitFor(t, "waiting for a file")
	sent := runUTP(t, nil, "send", "--json", src, addr)
	got := wait(t, recv)
	if sent.code != 0 || got.code != 0 {
		t.Fatalf("send %d (%s), recv %d (%s)", sent.code, sent.stderr, got.code, got.stderr)
	}
	written, err := os.ReadFile(filepath.Join(out, "payload.bin"))
	if err != nil || !bytes.Equal(written, data) {
		t.Fatalf("received file differs (%d bytes, %v)", len(written), err)
	}
	for _, r := range []result{sent, got} {
		var s summary
		if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
			t.Fatalf("summary is not JSON: %q", r.stdout)
		}
		if s.Bytes != int64(len(data)) || s.File != "payload.bin" || len(s.SHA256) != 64 {
			t.Fatalf("summary %+v", s)
		}
		// A real round-trip time on both ends: the receiver's comes
		// from the acknowledgement of its answer.
		if s.RTTMillis <= 0 {
			t.Fatalf("summary %s has no RTT", r.stdout)
		}
	}
}

// The demo moves data and verifies it, over INET256 in memory and over UDP.
func TestDemo(t *testing.T) {
	for _, args := range [][]string{{"demo", "--size", "16"}, {"demo", "--udp", "--size", "16"}} {
		r := runUTP(t, nil, args...)
		if r.code != 0 || !strings.Contains(r.stderr, "16.0 MiB") {
			t.Fatalf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
}

// keygen writes a PEM key that addr reads, giving a stable base64 node
// address that dial accepts as well-formed.
func TestKeygenAddr(t *testing.T) {
	k := runUTP(t, nil, "keygen")
	if k.code != 0 || !strings.HasPrefix(k.stdout, "-----BEGIN PRIVATE KEY-----") {
		t.Fatalf("keygen: exit %d, %q", k.code, k.stdout)
	}
	key := filepath.Join(t.TempDir(), "node.pem")
	os.WriteFile(key, []byte(k.stdout), 0o600)
	a1, a2 := runUTP(t, nil, "addr", "--key", key), runUTP(t, nil, "addr", "--key", key)
	addr := strings.TrimSpace(a1.stdout)
	if a1.code != 0 || addr == "" || a1.stdout != a2.stdout || len(addr) != 43 {
		t.Fatalf("addr: exit %d, %q then %q", a1.code, a1.stdout, a2.stdout)
	}
	// Well-formed, so the failure is the missing daemon, not the address.
	r := runUTP(t, nil, "dial", "--key", key, addr)
	checkBad(t, r, exitNoDaemon, "", "no INET256 daemon")
}

// startPiped starts a run whose standard input is a pipe the test
// writes; it is closed when the test ends.
func startPiped(t *testing.T, args ...string) (*running, *os.File) {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(utpBin, args...)
	cmd.Env = append(os.Environ(), "INET256_API="+noDaemon)
	cmd.Stdin = pr
	r := start(t, cmd)
	pr.Close() // the child holds its copy
	t.Cleanup(func() { pw.Close() })
	return r, pw
}

// waitExit waits for r at most within and returns what it did.
func waitExit(t *testing.T, r *running, within time.Duration) result {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(within):
		r.cmd.Process.Kill()
		<-r.done
		t.Fatalf("%v still running after %v; stderr: %s", r.cmd.Args[1:], within, r.stderr.String())
	}
	return result{code: r.cmd.ProcessState.ExitCode(), stdout: r.stdout.String(), stderr: r.stderr.String()}
}
