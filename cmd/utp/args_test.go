package main

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inet256/inet256/pkg/inet256"
	"github.com/inet256/inet256/pkg/serde"
)

// keyWithPrefix writes to dir a key whose node address begins with
// prefix, found by generating keys from a fixed seed: the same key on
// every run, so no test depends on the luck of a key. It returns the key
// file and its address.
func keyWithPrefix(t *testing.T, dir, prefix string) (string, string) {
	t.Helper()
	rng := rand.NewChaCha8([32]byte{'d', 'a', 's', 'h'})
	for range 1_000_000 { // "-h" is 1 in 4096 addresses
		_, priv, err := inet256.GenerateKey(rng)
		if err != nil {
			t.Fatal(err)
		}
		addr := inet256.NewAddr(priv.Public()).Base64String()
		if !strings.HasPrefix(addr, prefix) {
			continue
		}
		pem, err := serde.MarshalPrivateKeyPEM(priv)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, strings.ReplaceAll(prefix, "-", "dash")+".pem")
		if err := os.WriteFile(path, pem, 0o600); err != nil {
			t.Fatal(err)
		}
		return path, addr
	}
	t.Fatalf("no address beginning with %q in a million keys", prefix)
	return "", ""
}

// A node address that begins with '-' (even "-h" or "--") is an
// address wherever it stands, with no "--" before it: the command fails
// for the missing daemon, as with any well-formed address, never for a
// flag. What addr prints is what dial takes.
func TestDashAddresses(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("data"), 0o644)
	for _, prefix := range []string{"-", "-h", "--"} {
		key, addr := keyWithPrefix(t, dir, prefix)
		printed := runUTP(t, nil, "addr", "--key", key)
		if strings.TrimSpace(printed.stdout) != addr {
			t.Fatalf("addr printed %q, want %q", printed.stdout, addr)
		}
		for _, args := range [][]string{
			{"dial", addr},
			{"dial", addr, "--key", key},
			{"dial", "--timeout", "2s", addr, "--key", key},
			{"dial", addr + " "}, // pasted with a trailing space
			{"send", file, addr},
			{"send", "--json", file, addr, "-q"},
			{"recv", "--from", addr},
			{"listen", "--from", addr, "-q"},
		} {
			r := runUTP(t, nil, args...)
			if r.code != exitNoDaemon {
				t.Fatalf("%q: exit %d, want %d (no daemon): %s", args, r.code, exitNoDaemon, r.stderr)
			}
		}
	}
	// -h alone is still help.
	if r := runUTP(t, nil, "dial", "-h"); r.code != 0 || !strings.Contains(r.stdout, "Usage:") {
		t.Fatalf("dial -h: exit %d, %q", r.code, r.stdout)
	}
}

// positionalAddresses moves dash addresses behind "--" and keeps flag
// values (even ones that are addresses) with their flags, and the order
// of the positional arguments.
func TestPositionalAddresses(t *testing.T) {
	a := "-h" + strings.Repeat("A", 41) // a well-formed node address
	b := "--" + strings.Repeat("B", 41)
	cases := []struct{ in, want []string }{
		{[]string{"dial", a}, []string{"dial", "--", a}},
		{[]string{"dial", a, "--key", "k"}, []string{"dial", "--key", "k", "--", a}},
		{[]string{"dial", "--timeout", "5s", a, "-q"}, []string{"dial", "--timeout", "5s", "-q", "--", a}},
		{[]string{"send", "f1", a, "--json"}, []string{"send", "--json", "--", "f1", a}},
		{[]string{"recv", "--from", a}, []string{"recv", "--from", a}}, // a flag value: unchanged
		{[]string{"recv", "--from", a, b}, []string{"recv", "--from", a, "--", b}},
		{[]string{"dial", "-h"}, []string{"dial", "-h"}},
		{[]string{"dial", "--", a}, []string{"dial", "--", a}},
		{[]string{"-q", "send", "-", a}, []string{"-q", "send", "--", "-", a}},
		{[]string{"dial", "Zm9v"}, []string{"dial", "Zm9v"}},
	}
	for _, c := range cases {
		if got := positionalAddresses(newRootCmd(), c.in); strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("%q: got %q, want %q", c.in, got, c.want)
		}
	}
}
