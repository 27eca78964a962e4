//go:build linux

package realpath

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"
)

// The delay line runs in a process of its own when the binary allows it
// (DelayLineMain). In the process that runs the flows, the line's
// goroutines share the Go scheduler's few threads with our stack's
// sender and receiver: while those are busy the line writes ACKs back
// late, and our flows see a longer round trip than TCP's, whose stack
// runs in the kernel and leaves the process idle. On a loaded machine
// the line wrote our ACKs back 7–11 ms late on average and TCP's 2 ms.
// In a child process the line is scheduled by the kernel beside the
// flows, the same for every transport.

// delayLineEnv, when set, makes the process a delay line (DelayLineMain):
// its value is the delay; the TUN device is file descriptor 3.
const delayLineEnv = "REALPATH_DELAY_LINE"

// childLines records that DelayLineMain was called: the binary can be
// re-executed as a delay line.
var childLines bool

// DelayLineMain lets the running binary serve as a path's delay line in
// a process of its own. Call it first in main or TestMain: in a process
// started as a delay line it serves the line and exits; otherwise it
// returns, and paths made later run their lines in such processes. A
// binary that does not call it runs the lines in its own process.
func DelayLineMain() {
	d := os.Getenv(delayLineEnv)
	if d == "" {
		childLines = true
		return
	}
	if err := serveDelayLine(d, os.NewFile(3, "tun"), os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "delay line:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// serveDelayLine runs the line on tun until in ends, answering each line
// read from in with the line's statistics (packets released, how many
// late, their total and the worst lateness in nanoseconds, drops, the
// process's CPU time), which it then restarts.
func serveDelayLine(delay string, tun *os.File, in io.Reader, out io.Writer) error {
	d, err := time.ParseDuration(delay)
	if err != nil {
		return err
	}
	l := startDelayLine(tun, d)
	defer l.close()
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		s := l.late.take()
		if _, err := fmt.Fprintf(out, "%d %d %d %d %d %d\n", s.Released, s.Late, s.TotalLate, s.Worst, l.drops.Load(), cpuTime()); err != nil {
			return err
		}
	}
	return sc.Err()
}

// A delayProc is a delay line in a child process.
type delayProc struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	mu  sync.Mutex // one question and answer at a time
	out *bufio.Reader
	cpu time.Duration // the child's CPU time at the last stats
}

// startDelayProc re-executes the running binary as a delay line on tun,
// which the child inherits; the caller may close its own copy.
func startDelayProc(tun *os.File, d time.Duration) (*delayProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), delayLineEnv+"="+d.String())
	cmd.ExtraFiles = []*os.File{tun}
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &delayProc{cmd: cmd, in: in, out: bufio.NewReader(out)}, nil
}

// stats asks the child for its statistics since the last call.
func (p *delayProc) stats() (DelayStats, int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := io.WriteString(p.in, "stats\n"); err != nil {
		return DelayStats{}, 0, err
	}
	line, err := p.out.ReadString('\n')
	if err != nil {
		return DelayStats{}, 0, fmt.Errorf("delay line: %w", err)
	}
	var s DelayStats
	var drops int64
	var cpu time.Duration
	l := &s.Line
	if _, err := fmt.Sscan(line, &l.Released, &l.Late, &l.TotalLate, &l.Worst, &drops, &cpu); err != nil {
		return DelayStats{}, 0, fmt.Errorf("delay line: %q: %w", line, err)
	}
	s.CPU, p.cpu = cpu-p.cpu, cpu
	return s, drops, nil
}

// close ends the child: its input ends, so it closes the device and
// exits.
func (p *delayProc) close() error {
	p.in.Close()
	return p.cmd.Wait()
}
