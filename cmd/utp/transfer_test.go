package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/cmd/utp/internal/fileproto"
	"github.com/inet256/go-utp/v2/utp"
)

// Several files and standard input go in one send; each arrives under
// its name, verified, with a JSON line each.
func TestSeveralFilesAndStdin(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	files := map[string][]byte{"a.bin": randomBytes(1 << 20), "b.bin": nil, "piped": randomBytes(300 << 10)}
	os.WriteFile(filepath.Join(dir, "a.bin"), files["a.bin"], 0o644)
	os.WriteFile(filepath.Join(dir, "b.bin"), nil, 0o644)
	addr := "udp://" + freePort(t)
	recv := start(t, utpCmd(t, nil, "recv", "--json", "--out", out, addr))
	recv.waitFor(t, "waiting for a file")
	sent := runUTP(t, files["piped"], "send", "--json", "--name", "piped",
		filepath.Join(dir, "a.bin"), filepath.Join(dir, "b.bin"), "-", addr)
	got := wait(t, recv)
	if sent.code != 0 || got.code != 0 {
		t.Fatalf("send %d (%s), recv %d (%s)", sent.code, sent.stderr, got.code, got.stderr)
	}
	for name, want := range files {
		if b, err := os.ReadFile(filepath.Join(out, name)); err != nil || !bytes.Equal(b, want) {
			t.Fatalf("%s: %d bytes of %d, %v", name, len(b), len(want), err)
		}
	}
	if lines := strings.Count(got.stdout, "\n"); lines != 3 {
		t.Fatalf("recv printed %d JSON lines, want 3: %q", lines, got.stdout)
	}
}

// recv --stdout writes what 'send -' reads, as a pipe between two tars
// would use it.
func TestStdinToStdout(t *testing.T) {
	data := randomBytes(2 << 20)
	addr := "udp://" + freePort(t)
	recv := start(t, utpCmd(t, nil, "recv", "--stdout", addr))
	recv.waitFor(t, "waiting for a file")
	sent := runUTP(t, data, "send", "-", addr)
	got := wait(t, recv)
	if sent.code != 0 || got.code != 0 || got.stdout != string(data) {
		t.Fatalf("send %d (%s), recv %d (%s), %d of %d bytes", sent.code, sent.stderr, got.code, got.stderr, len(got.stdout), len(data))
	}
}

// A one-shot recv turns a second sender away at once, with a reason,
// while it serves the first; recv --from takes files only from the
// given address.
func TestRecvTurnsAway(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	small := filepath.Join(dir, "small.bin")
	os.WriteFile(small, []byte("small"), 0o644)

	// The first sender reads its file from a pipe the test holds open
	// until the second sender has been turned away: the first transfer
	// cannot end before (a 64 MiB file crossed loopback in under a
	// second, sometimes before the second process had started).
	t.Run("busy", func(t *testing.T) {
		addr := "udp://" + freePort(t)
		recv := start(t, utpCmd(t, nil, "recv", "--out", out, addr))
		recv.waitFor(t, "waiting for a file")
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer pw.Close()
		cmd := utpCmd(t, nil, "send", "--name", "big.bin", "-", addr)
		cmd.Stdin = pr
		first := start(t, cmd)
		pr.Close() // the child holds its own copy
		head, tail := randomBytes(1<<20), randomBytes(1<<20)
		wrote := make(chan error, 1)
		go func() { _, err := pw.Write(head); wrote <- err }()
		if !waitPartial(t, filepath.Join(out, ".big.bin.utp-partial"), recv) {
			t.Fatalf("the first transfer ended before the second sender could try: recv %s", recv.stderr.String())
		}
		second := runUTP(t, nil, "send", small, addr)
		checkBad(t, second, exitFailure, "", "the receiver refused small.bin", "receiving from another sender")
		if err := <-wrote; err != nil {
			t.Fatalf("writing to the first sender: %v", err)
		}
		if _, err := pw.Write(tail); err != nil {
			t.Fatalf("writing to the first sender: %v", err)
		}
		pw.Close()
		if r, f := wait(t, recv), wait(t, first); r.code != 0 || f.code != 0 {
			t.Fatalf("the first transfer failed: recv %d (%s), send %d (%s)", r.code, r.stderr, f.code, f.stderr)
		}
		if b, err := os.ReadFile(filepath.Join(out, "big.bin")); err != nil || !bytes.Equal(b, append(head, tail...)) {
			t.Fatalf("the first file: %d bytes of %d, %v", len(b), len(head)+len(tail), err)
		}
	})
	t.Run("from", func(t *testing.T) {
		addr, allowed, other := "udp://"+freePort(t), freePort(t), freePort(t)
		recv := start(t, utpCmd(t, nil, "recv", "--from", "udp://"+allowed, "--out", out, addr))
		recv.waitFor(t, "waiting for a file")
		denied := runUTP(t, nil, "send", "--bind", other, small, addr)
		checkBad(t, denied, exitFailure, "", "the receiver refused small.bin", "only from its --from addresses")
		ok := runUTP(t, nil, "send", "--bind", allowed, small, addr)
		if r := wait(t, recv); ok.code != 0 || r.code != 0 || !strings.Contains(r.stderr, "turned away udp://127.0.0.1:") && !strings.Contains(r.stderr, "turned away 127.0.0.1:") {
			t.Fatalf("send from --from: %d (%s); recv %d (%s)", ok.code, ok.stderr, r.code, r.stderr)
		}
	})
}

// A file name a sender chooses never reaches the terminal raw nor picks
// the directory: recv refuses it and prints it escaped, and the sender
// learns why.
func TestHostileName(t *testing.T) {
	out := t.TempDir()
	addr := freePort(t)
	for _, name := range []string{"\x1b[2J\x1b]0;pwned\x07", "../escape", "a\u202egnp.exe"} {
		recv := start(t, utpCmd(t, nil, "recv", "--out", out, "udp://"+addr))
		recv.waitFor(t, "waiting for a file")
		s, err := utp.Listen("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		raddr, _ := net.ResolveUDPAddr("udp", addr)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := s.DialUTP(ctx, raddr)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		_, err = fileproto.Send(c, []fileproto.Source{{Header: fileproto.Header{Name: name, Size: 1}, R: strings.NewReader("x")}},
			fileproto.Config{Idle: 10 * time.Second})
		c.Close()
		s.Close()
		var ref *fileproto.Refusal
		if !errors.As(err, &ref) || ref.Reason != fileproto.ReasonBadName {
			t.Fatalf("name %q: the sender got %v, want a bad-name refusal", name, err)
		}
		r := wait(t, recv)
		if r.code == 0 || strings.ContainsAny(r.stderr, "\x1b\x07\u202e") {
			t.Fatalf("name %q: recv exit %d, stderr %q", name, r.code, r.stderr)
		}
		if entries, _ := os.ReadDir(out); len(entries) != 0 {
			t.Fatalf("name %q: recv wrote %v", name, entries)
		}
	}
}

// Every flag is checked before anything starts; wrong argument counts
// print the usage line; --json reports a failure as a JSON object.
func TestFlagChecks(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, []byte("x"), 0o644)
	nobody := "udp://" + freePort(t)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"dial", "--timeout", "0", nobody}, exitUsage, "--timeout must be positive"},
		{[]string{"send", "--timeout", "-1s", file, nobody}, exitUsage, "--timeout must be positive"},
		{[]string{"recv", "--idle-timeout", "0s", nobody}, exitUsage, "--idle-timeout must be positive"},
		{[]string{"listen", "--bind", "127.0.0.1:1", "udp://127.0.0.1:2"}, exitUsage, "two addresses to listen on"},
		{[]string{"send", file}, exitUsage, "requires at least 2 arg(s)"},
		{[]string{"dial"}, exitUsage, "accepts 1 arg(s)"},
		{[]string{"send", file, file, nobody}, exitUsage, "two files named f"},
		{[]string{"send", "--name", "g", file, nobody}, exitUsage, "--name names standard input"},
		{[]string{"dial", "udp://no-such-host.invalid:9"}, exitUnreachable, "cannot resolve the host"},
	}
	for _, c := range cases {
		r := runUTP(t, nil, c.args...)
		checkBad(t, r, c.code, "", c.want)
		if c.code == exitUsage && !strings.Contains(r.stderr, "usage: utp") && strings.Contains(c.want, "arg") {
			t.Fatalf("%q: no usage line: %q", c.args, r.stderr)
		}
	}
	r := runUTP(t, nil, "send", "--json", "--timeout", "1s", file, nobody)
	var e jsonError
	if err := json.Unmarshal([]byte(r.stdout), &e); err != nil || e.Code != exitUnreachable || e.Status != "unreachable" || e.Error == "" {
		t.Fatalf("--json error object: %q (%v)", r.stdout, err)
	}
	if v := runUTP(t, nil, "--version"); v.code != 0 || !strings.HasPrefix(v.stdout, "utp version ") {
		t.Fatalf("--version: exit %d, %q", v.code, v.stdout)
	}
}

// keygen --out writes a 0600 file and never replaces one; a key
// redirected to a file is made 0600.
func TestKeygenModes(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "k.pem")
	if r := runUTP(t, nil, "keygen", "--out", key); r.code != 0 {
		t.Fatalf("keygen --out: %d %s", r.code, r.stderr)
	}
	if info, err := os.Stat(key); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", info.Mode(), err)
	}
	if r := runUTP(t, nil, "keygen", "--out", key); r.code == 0 {
		t.Fatal("keygen --out replaced an existing file")
	}
	redirected := filepath.Join(dir, "redirected.pem")
	f, _ := os.OpenFile(redirected, os.O_WRONLY|os.O_CREATE, 0o644)
	cmd := utpCmd(t, nil, "keygen")
	cmd.Stdout = f
	err := cmd.Run()
	f.Close()
	if info, serr := os.Stat(redirected); err != nil || serr != nil || info.Mode().Perm() != 0o600 || info.Size() == 0 {
		t.Fatalf("keygen > file: %v, mode %v", err, info.Mode())
	}
}

// listen --keep serves one connection after another.
func TestListenKeep(t *testing.T) {
	addr := "udp://" + freePort(t)
	l := start(t, utpCmd(t, nil, "listen", "--keep", addr))
	l.waitFor(t, "listening on")
	for _, msg := range []string{"first\n", "second\n"} {
		if d := runUTP(t, []byte(msg), "dial", addr); d.code != 0 {
			t.Fatalf("dial: %d %s", d.code, d.stderr)
		}
	}
	waitText(t, l.cmd, &l.stdout, "first\nsecond\n")
}

// A one-shot listen turns a second dialer away with a reset, as a closed
// port refuses a TCP connect: the second dial fails and says so, while
// the first connection goes on.
func TestListenOneShotTurnsAway(t *testing.T) {
	addr := "udp://" + freePort(t)
	l := start(t, utpCmd(t, nil, "listen", addr))
	l.waitFor(t, "listening on")
	first, in := startPiped(t, "dial", addr)
	if _, err := in.Write([]byte("first\n")); err != nil {
		t.Fatal(err)
	}
	waitText(t, l.cmd, &l.stdout, "first\n")
	second := runUTP(t, []byte("second\n"), "dial", addr)
	if second.code == 0 || !strings.Contains(second.stderr, "reset") {
		t.Fatalf("second dialer: exit %d, stderr %q; want a failure that says it was reset", second.code, second.stderr)
	}
	if strings.Contains(l.stdout.String(), "second") {
		t.Fatalf("the turned-away dialer's data reached the listener: %q", l.stdout.String())
	}
	in.Close()
	if r := wait(t, first); r.code != 0 {
		t.Fatalf("first dialer: exit %d, %s", r.code, r.stderr)
	}
}
