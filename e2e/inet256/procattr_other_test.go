//go:build !linux

package inet256e2e

import "syscall"

// daemonProcAttr: only Linux can tie a child's life to its parent's; the
// tests' cleanups end the daemons elsewhere.
func daemonProcAttr() *syscall.SysProcAttr { return nil }
