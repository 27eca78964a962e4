package inet256e2e

import (
	"os/exec"
	"strconv"
	"syscall"
)

// daemonProcAttr makes the kernel kill a daemon whose test process dies
// without running its cleanups (killed by go test's timeout, say).
func daemonProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// daemonNice is the scheduling priority given to the daemons (lower is
// sooner). The reference daemon stops serving a node whose frames it has
// not read for 3 s (its ServeNode keep-alive timeout,
// pkg/inet256ipc/server.go), a bound on its own speed: on a machine busy
// with other work it was starved that long and dropped the test's nodes
// mid-transfer. Ahead of the rest, as the kernel that carries UDP is, it
// keeps up; our side of the path still runs at the machine's speed.
// nice and setpriority(2): negative values need root.
const daemonNice = -10

// daemonCommand runs bin with args at daemonNice, through coreutils'
// nice, so that every thread of the daemon has it (Linux keeps a nice
// value per thread). Without root (CI runs as root) nice warns and runs
// the daemon at the default priority.
func daemonCommand(bin string, args ...string) *exec.Cmd {
	return exec.Command("nice", append([]string{"-n", strconv.Itoa(daemonNice), bin}, args...)...)
}
