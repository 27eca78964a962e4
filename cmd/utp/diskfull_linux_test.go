package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// A full disk stops the receiver, which tells the sender why; the
// final name is never created and what arrived is kept for a resume. The
// disk is a 1 MiB tmpfs mounted for the test (CI runs as root).
func TestDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root; CI runs as root")
	}
	out := t.TempDir()
	if err := syscall.Mount("tmpfs", out, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatalf("mounting a 1 MiB tmpfs: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(out, syscall.MNT_DETACH) })
	src := filepath.Join(t.TempDir(), "full")
	os.WriteFile(src, randomBytes(4<<20), 0o644)
	addr := "udp://" + freePort(t)
	recv := start(t, utpCmd(t, nil, "recv", "--out", out, addr))
	recv.waitFor(t, "waiting for a file")
	sent := runUTP(t, nil, "send", src, addr)
	checkBad(t, wait(t, recv), exitDiskFull, "waiting for a file on", "no space left on the device writing "+filepath.Join(out, "full"), "kept for a resume")
	checkBad(t, sent, exitDiskFull, "", "the receiver refused full: its disk is full")
	if _, err := os.Lstat(filepath.Join(out, "full")); !os.IsNotExist(err) {
		t.Fatalf("the final name exists after a full disk: %v", err)
	}
	if info, err := os.Stat(filepath.Join(out, ".full.utp-partial")); err != nil || info.Size() == 0 {
		t.Fatalf("nothing kept for a resume: %v", err)
	}
}
