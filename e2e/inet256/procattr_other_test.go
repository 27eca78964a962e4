//go:build !linux

package inet256e2e

import (
	"os/exec"
	"syscall"
)

// daemonProcAttr: only Linux can tie a child's life to its parent's; the
// tests' cleanups end the daemons elsewhere.
func daemonProcAttr() *syscall.SysProcAttr { return nil }

// daemonCommand runs bin with args at the default priority: only the
// Linux build raises the daemons' (see procattr_linux_test.go).
func daemonCommand(bin string, args ...string) *exec.Cmd { return exec.Command(bin, args...) }
