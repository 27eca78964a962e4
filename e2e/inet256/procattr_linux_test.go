package inet256e2e

import "syscall"

// daemonProcAttr makes the kernel kill a daemon whose test process dies
// without running its cleanups (killed by go test's timeout, say).
func daemonProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
