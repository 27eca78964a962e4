//go:build unix

package inet256e2e

import (
	"bytes"
	crand "crypto/rand"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/inet256/inet256/pkg/inet256"
)

// runCLIPiped is runCLI with standard input a pipe the test writes and
// closes (closed at the latest when the test ends).
func runCLIPiped(t *testing.T, bin, api string, args ...string) (*cliRun, io.WriteCloser) {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r := &cliRun{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	r.cmd.Env = append(os.Environ(), "INET256_API="+api)
	r.cmd.Stdin = pr
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pr.Close() // the child has its copy
	go func() {
		r.err = r.cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() {
		pw.Close()
		r.cmd.Process.Kill() // this PID only
		<-r.done
	})
	return r, pw
}

// waitSize waits (bounded) until the file at path holds at least n bytes.
func waitSize(t *testing.T, path string, n int64, r *cliRun) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		if fi, err := os.Stat(path); err == nil && fi.Size() >= n {
			return
		}
		select {
		case <-r.done:
			t.Fatalf("%v exited before %s held %d bytes: %v; stderr: %s", r.cmd.Args[1:], path, n, r.err, r.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("%s never held %d bytes", path, n)
}

// cliOnTwoDaemons builds the utp command, starts two daemons, and makes a
// key for a node on each and a directory to receive into.
func cliOnTwoDaemons(t *testing.T) (utpBin string, a, b *daemon, keyA, keyB, out string) {
	t.Helper()
	utpBin = buildUTP(t)
	top := twoDaemons(t)
	a, b = top.daemons[0], top.daemons[1]
	dir, out := t.TempDir(), t.TempDir()
	keyA, keyB = filepath.Join(dir, "a.pem"), filepath.Join(dir, "b.pem")
	os.WriteFile(keyA, []byte(output(t, utpBin, "keygen")), 0o600)
	os.WriteFile(keyB, []byte(output(t, utpBin, "keygen")), 0o600)
	return utpBin, a, b, keyA, keyB, out
}

// A daemon that dies under a transfer is named by the side it served:
// "the INET256 daemon at X stopped answering", exit 5, not a connection
// error. The sender reads standard input, which the test holds open, so
// the transfer is under way, and stays so, while each daemon is killed
// (by its PID): first the receiver's, then the sender's.
func TestCLIDaemonDiesMidTransfer(t *testing.T) {
	checkLeaks(t)
	utpBin, a, b, keyA, keyB, out := cliOnTwoDaemons(t)

	recv := runCLI(t, utpBin, a.endpoint(), nil, "recv", "-q", "--key", keyA, "--out", out)
	addrA := recv.listening(t, "waiting for a file on")
	send, stdin := runCLIPiped(t, utpBin, b.endpoint(), "send", "-q", "--key", keyB, "--timeout", "30s", "-", addrA)
	// More than the sender's 256 KiB write buffer, so that data flows.
	first := randomData(t, 1<<20)
	if _, err := stdin.Write(first); err != nil {
		t.Fatal(err)
	}
	const arrived = 512 << 10
	waitSize(t, filepath.Join(out, ".stdin.utp-partial"), arrived, recv)

	a.kill()
	if code := recv.exit(t, 30*time.Second); code != 5 ||
		!strings.Contains(recv.stderr.String(), "the INET256 daemon at "+a.endpoint()+" stopped answering") {
		t.Fatalf("recv whose daemon died: exit %d, %s", code, recv.stderr.String())
	}
	// What arrived is kept for a resume.
	if got, err := os.ReadFile(filepath.Join(out, ".stdin.utp-partial")); err != nil || len(got) < arrived || !bytes.HasPrefix(first, got) {
		t.Fatalf("the partial file holds %d bytes (%v), want a prefix of at least %d of what was sent", len(got), err, arrived)
	}
	t.Logf("recv: %s", strings.TrimSpace(recv.stderr.String()))

	b.kill()
	if code := send.exit(t, 30*time.Second); code != 5 ||
		!strings.Contains(send.stderr.String(), "the INET256 daemon at "+b.endpoint()+" stopped answering") {
		t.Fatalf("send whose daemon died: exit %d, %s", code, send.stderr.String())
	}
	t.Logf("send: %s", strings.TrimSpace(send.stderr.String()))
}

// A daemon that hangs (stopped with SIGSTOP, by its PID) while a dial
// looks up an address is reported as the daemon not answering, exit 5,
// not the address as unreachable: a lookup gets no answer either way,
// and the daemon's health check tells the two apart.
func TestCLIDaemonHangsDuringLookup(t *testing.T) {
	checkLeaks(t)
	utpBin := buildUTP(t)
	top := oneDaemon(t)
	d := top.daemons[0]
	var nowhere inet256.Addr
	crand.Read(nowhere[:])
	served := d.nodesServed()
	dial := runCLI(t, utpBin, d.endpoint(), nil, "dial", "--timeout", "2m", nowhere.Base64String())
	// Stop the daemon once it serves the dialer's node, so that the
	// dial is looking up, not opening its node.
	for deadline := time.Now().Add(30 * time.Second); d.nodesServed() == served; {
		if time.Now().After(deadline) {
			t.Fatalf("the daemon never served the dialer's node; dial: %s", dial.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := d.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer d.cmd.Process.Signal(syscall.SIGCONT) // then the cleanup kills it
	code := dial.exit(t, 60*time.Second)
	if code != 5 || !strings.Contains(dial.stderr.String(), "the INET256 daemon at "+d.endpoint()+" stopped answering") {
		t.Fatalf("dial through a hung daemon: exit %d, %s", code, dial.stderr.String())
	}
	t.Logf("hung daemon: %s", strings.TrimSpace(dial.stderr.String()))
}

// nodesServed counts the nodes the daemon's log says it began serving.
func (d *daemon) nodesServed() int {
	b, _ := os.ReadFile(filepath.Join(d.dir, d.name+".log"))
	return strings.Count(string(b), `"msg":"serving node`)
}
