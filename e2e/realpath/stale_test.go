//go:build linux

package realpath

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// A namespace left by a process that no longer runs is deleted; one of
// a running process (this one) is kept.
func TestRemoveStale(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("realpath: network namespaces need root (CI runs as root)")
	}
	dead := deadPID(t)
	stale := fmt.Sprintf("rp%d-1s", dead)
	live := fmt.Sprintf("rp%d-%dv", os.Getpid(), 1<<20+pathSeq.Add(1))
	for _, ns := range []string{stale, live} {
		if err := run("ip", "netns", "add", ns); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	}
	removeStale()
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	names := string(out)
	if strings.Contains(names, stale+" ") || strings.Contains(names, stale+"\n") {
		t.Errorf("%s (process %d is gone) was not deleted", stale, dead)
	}
	if !strings.Contains(names, live) {
		t.Errorf("%s (this process) was deleted", live)
	}
}

// deadPID returns the id of a process that has exited.
func deadPID(t *testing.T) int {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
		t.Fatalf("process %d still exists after it exited", pid)
	}
	return pid
}
