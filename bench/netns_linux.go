package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// A vethPath is two network namespaces joined by a veth pair, a real
// kernel path without a bottleneck: the client's end in one, the server's
// in the other. The run that creates it deletes it (Close); the names
// carry the process id, so parallel runs do not meet. It needs root and
// iproute2.
type vethPath struct {
	cliNS, srvNS     string
	cliAddr, srvAddr string // IPv4 addresses, no port
}

// newVethPath creates the namespaces and the pair, with both ends at mtu.
// It first deletes the namespaces of earlier runs whose process is gone
// (killed before its Close).
func newVethPath(mtu int) (*vethPath, error) {
	removeStaleNetns()
	id := os.Getpid()
	v := &vethPath{
		cliNS: fmt.Sprintf("utpbench-c%d", id), srvNS: fmt.Sprintf("utpbench-s%d", id),
		cliAddr: "10.251.0.1", srvAddr: "10.251.0.2",
	}
	steps := [][]string{
		{"netns", "add", v.cliNS},
		{"netns", "add", v.srvNS},
		{"link", "add", "vc", "netns", v.cliNS, "mtu", fmt.Sprint(mtu), "type", "veth", "peer", "name", "vs", "netns", v.srvNS, "mtu", fmt.Sprint(mtu)},
		{"-n", v.cliNS, "addr", "add", v.cliAddr + "/24", "dev", "vc"},
		{"-n", v.srvNS, "addr", "add", v.srvAddr + "/24", "dev", "vs"},
		{"-n", v.cliNS, "link", "set", "vc", "up"},
		{"-n", v.srvNS, "link", "set", "vs", "up"},
		{"-n", v.cliNS, "link", "set", "lo", "up"},
		{"-n", v.srvNS, "link", "set", "lo", "up"},
	}
	for _, args := range steps {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			v.Close()
			return nil, fmt.Errorf("ip %s: %v: %s (the veth scenario needs root and iproute2)",
				strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
	}
	return v, nil
}

// removeStaleNetns deletes the namespaces this suite named after a
// process that no longer runs.
func removeStaleNetns() {
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		var kind byte
		var pid int
		if n, _ := fmt.Sscanf(e.Name(), "utpbench-%c%d", &kind, &pid); n != 2 {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); os.IsNotExist(err) {
			exec.Command("ip", "netns", "del", e.Name()).Run()
		}
	}
}

// Close deletes both namespaces, and with them the pair.
func (v *vethPath) Close() {
	if debugStats {
		for _, args := range [][]string{{"-n", v.cliNS, "-s", "link", "show", "vc"}, {"-n", v.srvNS, "-s", "link", "show", "vs"}, {"netns", "exec", v.srvNS, "nstat", "-az", "UdpSndbuf*", "UdpRcvbuf*"}, {"netns", "exec", v.cliNS, "nstat", "-az", "UdpSndbuf*", "UdpRcvbuf*", "UdpOut*"}} {
			out, _ := exec.Command("ip", args...).CombinedOutput()
			os.Stderr.Write(out)
		}
	}
	for _, ns := range []string{v.cliNS, v.srvNS} {
		exec.Command("ip", "netns", "del", ns).Run()
	}
}

// inNetns runs f on a thread moved into the named namespace: sockets f
// creates belong to it for their lives, whatever thread later uses them.
// The thread moves back afterwards; if it cannot, it stays locked to the
// goroutine and the runtime ends it.
func inNetns(name string, f func() error) error {
	runtime.LockOSThread()
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer self.Close()
	target, err := os.Open("/run/netns/" + name)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer target.Close()
	if err := setns(target); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("entering namespace %s: %w", name, err)
	}
	ferr := f()
	if err := setns(self); err != nil {
		return fmt.Errorf("leaving namespace %s: %w", name, err)
	}
	runtime.UnlockOSThread()
	return ferr
}

func setns(f *os.File) error { return unix.Setns(int(f.Fd()), unix.CLONE_NEWNET) }
