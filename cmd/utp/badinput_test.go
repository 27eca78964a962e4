package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkBad checks a failed run: exit status code, and on stderr exactly
// one line, "utp: " and a message containing each of want. A listening
// command says where it waits before it fails: ready is the start of that
// line, which must then come first ("" when nothing is expected before).
func checkBad(t *testing.T, r result, code int, ready string, want ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	// A usage error is followed by the usage line.
	if n := len(lines); code == exitUsage && n > 1 && strings.HasPrefix(lines[n-1], "usage: utp ") {
		lines = lines[:n-1]
	}
	if ready != "" {
		if !strings.HasPrefix(lines[0], ready) {
			t.Fatalf("stderr %q does not start with %q", r.stderr, ready)
		}
		lines = lines[1:]
	}
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "utp: ") || r.stderr == "" {
		t.Fatalf("the error is not one clear line: stderr %q", r.stderr)
	}
	if r.code != code {
		t.Fatalf("exit %d, want %d; stderr %q", r.code, code, r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(lines[0], w) {
			t.Fatalf("stderr %q does not say %q", r.stderr, w)
		}
	}
}

// Bad input gets one clear line and a distinct exit status, never a stack
// trace; each address a command takes is checked before anything else.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	notKey := filepath.Join(dir, "notakey.pem")
	os.WriteFile(notKey, []byte("hello"), 0o600)
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("data"), 0o644)
	nobody := freePort(t)
	// silent is a UDP socket that never answers: a dial to it times out.
	silentPC, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silentPC.Close() })
	silent := silentPC.LocalAddr().String()
	nobody6PC, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	nobody6 := nobody6PC.LocalAddr().String()
	nobody6PC.Close()
	wellFormed := strings.Repeat("A", 43) // an INET256 address nobody has
	cases := []struct {
		name string
		args []string
		env  string // $INET256_API, if not noDaemon
		code int
		want []string
	}{
		{"dial: malformed INET256 address", []string{"dial", "not-an-address"}, "", exitBadAddress, []string{`malformed address "not-an-address"`}},
		{"dial: malformed UDP address", []string{"dial", "udp://nowhere"}, "", exitBadAddress, []string{`malformed UDP address "udp://nowhere"`, "missing port"}},
		{"dial: UDP port 0", []string{"dial", "udp://127.0.0.1:0"}, "", exitBadAddress, []string{`malformed UDP address "udp://127.0.0.1:0"`}},
		{"dial: malformed --bind", []string{"dial", "--bind", "nowhere", "udp://" + nobody}, "", exitBadAddress, []string{`malformed UDP address "nowhere" for --bind`}},
		{"dial: --bind toward INET256", []string{"dial", "--bind", ":9000", wellFormed}, "", exitUsage, []string{"--bind is for UDP"}},
		{"send: malformed address", []string{"send", file, "nowhere"}, "", exitBadAddress, []string{`malformed address "nowhere"`}},
		{"send: malformed UDP address", []string{"send", file, "udp://nowhere"}, "", exitBadAddress, []string{`malformed UDP address "udp://nowhere"`}},
		{"send: missing file", []string{"send", filepath.Join(dir, "missing"), "udp://" + nobody}, "", exitFailure, []string{"cannot read", "missing"}},
		{"listen: not an address", []string{"listen", "foo"}, "", exitBadAddress, []string{`malformed address "foo" to listen on`, "udp://HOST:PORT"}},
		{"listen: malformed UDP address", []string{"listen", "udp://nowhere"}, "", exitBadAddress, []string{`malformed UDP address "udp://nowhere" to listen on`}},
		{"listen: malformed --udp address", []string{"listen", "--udp", "nowhere"}, "", exitBadAddress, []string{`malformed UDP address "nowhere" to listen on`}},
		{"listen: port out of range", []string{"listen", "udp://:99999"}, "", exitBadAddress, []string{`malformed UDP address "udp://:99999"`}},
		{"listen: malformed --bind", []string{"listen", "--bind", "nowhere"}, "", exitBadAddress, []string{`malformed UDP address "nowhere" for --bind`}},
		{"listen: an INET256 address", []string{"listen", wellFormed}, "", exitUsage, []string{"listens on its own address"}},
		{"recv: not an address", []string{"recv", "foo"}, "", exitBadAddress, []string{`malformed address "foo" to listen on`}},
		{"recv: malformed UDP address", []string{"recv", "udp://nowhere"}, "", exitBadAddress, []string{`malformed UDP address "udp://nowhere" to listen on`}},
		{"recv: no --out directory", []string{"recv", "--out", filepath.Join(dir, "none"), "udp://" + nobody}, "", exitUsage, []string{"--out", "no such file or directory"}},
		{"recv: --out is a file", []string{"recv", "--out", file, "udp://" + nobody}, "", exitUsage, []string{"is not a directory"}},
		{"malformed --api", []string{"listen", "--api", "foo://x"}, "", exitBadAddress, []string{`malformed INET256 API endpoint "foo://x" (--api)`}},
		{"--api without a port", []string{"dial", "--api", "tcp://127.0.0.1", wellFormed}, "", exitBadAddress, []string{`malformed INET256 API endpoint "tcp://127.0.0.1" (--api)`}},
		{"malformed $INET256_API", []string{"listen"}, "nonsense", exitBadAddress, []string{`malformed INET256 API endpoint "nonsense" ($INET256_API)`}},
		{"missing key file", []string{"addr", "--key", filepath.Join(dir, "missing.pem")}, "", exitBadKey, []string{"cannot read key file"}},
		{"not a key", []string{"addr", "--key", notKey}, "", exitBadKey, []string{"not an INET256 private key"}},
		{"listen: not a key", []string{"listen", "--key", notKey}, "", exitBadKey, []string{"not an INET256 private key"}},
		{"daemon not running", []string{"listen"}, "", exitNoDaemon, []string{
			"no INET256 daemon answers at " + noDaemon + " ($INET256_API",
			"start one with 'inet256 daemon --config FILE'", "or use --udp"}},
		// --api wins over $INET256_API, and the message names it.
		{"daemon not running at --api", []string{"dial", "--api", "tcp://127.0.0.1:2", wellFormed}, "", exitNoDaemon, []string{
			"no INET256 daemon answers at tcp://127.0.0.1:2 (--api", "start one with"}},
		{"peer silent", []string{"dial", "--timeout", "2s", "udp://" + silent}, "", exitUnreachable, []string{
			"udp://" + silent + " did not answer within 2s"}},
		// Nothing listens at nobody's port: the kernel says so at once
		// (ICMP port unreachable), long before the 30 s.
		{"connection refused", []string{"dial", "--timeout", "30s", "udp://" + nobody}, "", exitUnreachable, []string{
			"udp://" + nobody + " refused the connection", "nothing listens there"}},
		{"connection refused over IPv6", []string{"dial", "--timeout", "30s", "udp://" + nobody6}, "", exitUnreachable, []string{
			"udp://" + nobody6 + " refused the connection"}},
		{"unknown flag", []string{"dial", "--bogus"}, "", exitUsage, []string{"unknown flag"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := utpCmd(t, nil, c.args...)
			if c.env != "" {
				cmd.Env = append(cmd.Env, "INET256_API="+c.env)
			}
			r := wait(t, start(t, cmd))
			checkBad(t, r, c.code, "", c.want...)
			if strings.Contains(c.name, "--api") && strings.Contains(r.stderr, noDaemon) {
				t.Fatalf("--api was given, but the message names $INET256_API: %q", r.stderr)
			}
		})
	}
}

// A receiver that already has the file refuses it without touching it,
// and the sender says so, with the same status.
func TestFileExists(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	src := filepath.Join(dir, "payload.bin")
	os.WriteFile(src, randomBytes(1<<20), 0o644)
	existing := filepath.Join(out, "payload.bin")
	old := []byte("the receiver's own file, which must survive\n")
	os.WriteFile(existing, old, 0o644)
	addr := "udp://" + freePort(t)
	recv := start(t, utpCmd(t, nil, "recv", "--out", out, addr))
	recv.waitFor(t, "waiting for a file")
	sent := runUTP(t, nil, "send", src, addr)
	got := wait(t, recv)
	checkBad(t, got, exitFileExists, "waiting for a file on", existing+" exists; use --force")
	checkBad(t, sent, exitFileExists, "", "the receiver refused payload.bin", "already has a file by that name")
	if b, err := os.ReadFile(existing); err != nil || !bytes.Equal(b, old) {
		t.Fatalf("the existing file changed: %q, %v", b, err)
	}
}

// --force replaces an existing file with what was sent.
func TestForceOverwrites(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	src := filepath.Join(dir, "payload.bin")
	data := randomBytes(1 << 20)
	os.WriteFile(src, data, 0o644)
	existing := filepath.Join(out, "payload.bin")
	os.WriteFile(existing, bytes.Repeat([]byte("old "), 1<<19), 0o644) // longer than data
	addr := "udp://" + freePort(t)
	recv := start(t, utpCmd(t, nil, "recv", "--force", "--out", out, addr))
	recv.waitFor(t, "waiting for a file")
	sent := runUTP(t, nil, "send", src, addr)
	got := wait(t, recv)
	if sent.code != 0 || got.code != 0 {
		t.Fatalf("send %d (%s), recv %d (%s)", sent.code, sent.stderr, got.code, got.stderr)
	}
	if b, err := os.ReadFile(existing); err != nil || !bytes.Equal(b, data) {
		t.Fatalf("the file was not replaced by what was sent: %d bytes, %v", len(b), err)
	}
}

// recv --force never replaces a device (a special file under the name)
// with what it received.
func TestForceKeepsSpecialFiles(t *testing.T) {
	src := filepath.Join(t.TempDir(), "null")
	os.WriteFile(src, randomBytes(1000), 0o644)
	addr := "udp://" + freePort(t)
	recv := start(t, utpCmd(t, nil, "recv", "--force", "--out", "/dev", addr))
	recv.waitFor(t, "waiting for a file")
	sent := runUTP(t, nil, "send", src, addr)
	checkBad(t, wait(t, recv), exitFailure, "waiting for a file on", "/dev/null is not a regular file")
	checkBad(t, sent, exitFailure, "", "the receiver refused null", "not a regular file")
	if info, err := os.Stat("/dev/null"); err != nil || info.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("/dev/null was disturbed: %v %v", info, err)
	}
}
