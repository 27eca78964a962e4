package inet256e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/inet256adapter"
)

// The reference daemon stops serving a node when it reads nothing from
// the node's IPC connection for its keepalive timeout, 3 s
// (inet256ipc.ServeNode, pkg/inet256ipc/server.go): one goroutine reads
// the node's frames and sends each data message before reading the next,
// and a send may block for up to 3 s itself (routers.Network.Tell's
// retry bound, pkg/mesh256/routers/routers.go), waiting on the QUIC
// connection to the other daemon. On a loaded machine that connection
// loses packets (quic-go cannot enlarge the daemon's UDP receive buffer:
// its log says the connection "doesn't allow setting of receive buffer
// size") and its sends wait, so the node is dropped however promptly our
// side writes its frames and keepalives. The daemon offers no setting
// for either timeout. The daemon then keeps the connection open and logs
// "handling message: context canceled" for every frame the node sends
// after (server.go's read loop), and our adapter, hearing nothing, not
// even itself, fails the node (ErrNodeFailed).
//
// A scenario through the daemons that fails after that is about the
// daemon, not about uTP or the adapter: onDaemons runs it again on fresh
// daemons, a bounded number of times, and fails the test when an attempt
// fails without such a drop.

// daemonAttempts bounds how often a scenario runs when a daemon dropped
// a node during it.
const daemonAttempts = 3

// droppedMsg and droppedCaller identify the line the daemon's read loop
// logs for a frame of a node whose service it has cancelled (the pinned
// daemon version's pkg/inet256ipc/server.go).
const (
	droppedMsg    = "handling message: context canceled"
	droppedCaller = "inet256ipc/server.go:78"
)

// attempt is the testing.TB of one run of a scenario: failures and
// cleanups are its own, so that the run can be judged and torn down
// before another; logging and everything else go to the test. Its Fatal
// methods end the attempt's goroutine only.
type attempt struct {
	testing.TB
	mu       sync.Mutex
	failures []string
	failedAt time.Time // when the first failure was recorded
	cleanups []func()
}

func (a *attempt) fail(msg string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.failures) == 0 {
		a.failedAt = time.Now()
	}
	a.failures = append(a.failures, strings.TrimSuffix(msg, "\n"))
}

// firstFailure is when the attempt first failed; zero if it has not.
func (a *attempt) firstFailure() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.failedAt
}

func (a *attempt) Error(args ...any)                 { a.fail(fmt.Sprintln(args...)) }
func (a *attempt) Errorf(format string, args ...any) { a.fail(fmt.Sprintf(format, args...)) }
func (a *attempt) Fail()                             { a.fail("failed") }
func (a *attempt) FailNow()                          { a.Fail(); runtime.Goexit() }
func (a *attempt) Fatal(args ...any)                 { a.Error(args...); runtime.Goexit() }
func (a *attempt) Fatalf(format string, args ...any) { a.Errorf(format, args...); runtime.Goexit() }

func (a *attempt) Failed() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.failures) > 0
}

func (a *attempt) Cleanup(f func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cleanups = append(a.cleanups, f)
}

// end runs the cleanups, last registered first, as testing does.
func (a *attempt) end() {
	a.mu.Lock()
	fs := a.cleanups
	a.cleanups = nil
	a.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

// onDaemons runs scenario on a topology from mk, in an attempt of its
// own. An attempt that fails while a daemon had dropped one of its nodes
// (droppedNodes) is logged and run again on fresh daemons, up to
// daemonAttempts in all and while the test's deadline leaves room; any
// other failure fails the test. When every attempt lost a node to its
// daemon, the log says the scenario was not asserted.
func onDaemons(t *testing.T, mk func(testing.TB) *topology, scenario func(t testing.TB, top *topology)) {
	t.Helper()
	for n := 1; ; n++ {
		a := &attempt{TB: t}
		var top *topology
		start := time.Now()
		done := make(chan struct{})
		go func() {
			defer close(done)
			top = mk(a)
			scenario(a, top)
		}()
		<-done
		var dropped string
		if a.Failed() && top != nil {
			dropped = top.droppedNodes(a.firstFailure())
		}
		a.end() // the cleanups see the attempt's failure: they log counters and the daemons' logs
		switch {
		case !a.Failed():
			if n > 1 {
				t.Logf("attempt %d passed", n)
			}
			return
		case dropped == "":
			for _, f := range a.failures {
				t.Error(f)
			}
			return
		}
		t.Logf("attempt %d failed (%s), but not through us: %s", n, strings.Join(a.failures, "; "), dropped)
		if d, ok := t.Deadline(); n == daemonAttempts || ok && time.Until(d) < 3*time.Since(start) {
			t.Logf("NOT ASSERTED: a daemon dropped a node in each of %d attempts", n)
			return
		}
	}
}

// droppedNodes says which nodes of top their daemon stopped serving: the
// daemon's log shows it cancelled a node's service while the node was
// still sending, and either the adapter failed the node (ErrNodeFailed:
// nothing arrived, not even its own probes) or the daemon's first such
// line came before the attempt failed (failed). The adapter fails a node
// only when nothing at all arrives, so it does not see every drop:
// sixteen streams through two daemons timed out 90 s after a daemon
// began discarding their node's frames, and that node's adapter had not
// failed it (-race, load 30). It returns "" if no node was dropped.
func (top *topology) droppedNodes(failed time.Time) string {
	var found []string
	for i, pc := range top.pcs {
		if pc == nil {
			continue
		}
		d := top.owners[i]
		n, first, err := d.droppedLines()
		if err != nil || n == 0 {
			continue
		}
		nodeFailed := errors.Is(pc.Err(), inet256adapter.ErrNodeFailed)
		if !droppedBefore(nodeFailed, first, failed) {
			continue
		}
		adapter := fmt.Sprintf("the adapter says %q", pc.Err())
		if !nodeFailed {
			adapter = "the adapter saw nothing wrong; the attempt failed at " + failed.Format("15:04:05.000")
		}
		found = append(found, fmt.Sprintf("node %d: %s; daemon %s logged %q %d times from %s",
			i, adapter, d.name, droppedMsg, n, first.Format("15:04:05.000")))
	}
	if len(found) > 0 {
		for _, d := range top.daemons {
			found = append(found, fmt.Sprintf("daemon %s's UDP socket dropped %s datagrams for want of buffer room", d.name, d.udpDrops()))
		}
	}
	return strings.Join(found, "; ")
}

// droppedBefore decides whether a daemon whose log shows a dropped node
// from first explains an attempt that failed at failed (zero: has not):
// the adapter failed the node, or the drop came before the failure.
func droppedBefore(nodeFailed bool, first, failed time.Time) bool {
	return nodeFailed || !failed.IsZero() && first.Before(failed)
}

// udpDrops is the drop count of the daemon's UDP socket (its QUIC
// transport to the other daemon), from /proc/net/udp's last column, or
// "?" if it cannot be read.
func (d *daemon) udpDrops() string {
	b, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return "?"
	}
	port := fmt.Sprintf(":%04X", d.port)
	for _, l := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(l)
		if len(f) > 12 && strings.HasSuffix(f[1], port) {
			return f[len(f)-1]
		}
	}
	return "?"
}

// droppedLines counts the daemon's log lines that show it had cancelled
// a node's service while the node still sent, and returns the first's
// time.
func (d *daemon) droppedLines() (n int, first time.Time, err error) {
	f, err := os.Open(filepath.Join(d.dir, d.name+".log"))
	if err != nil {
		return 0, first, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var line struct {
			Msg    string  `json:"msg"`
			Caller string  `json:"caller"`
			TS     float64 `json:"ts"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil || line.Msg != droppedMsg || line.Caller != droppedCaller {
			continue
		}
		if n++; n == 1 {
			first = time.Unix(0, int64(line.TS*1e9))
		}
	}
	return n, first, sc.Err()
}

// TestAttempt checks an attempt's own bookkeeping: Errorf records,
// Fatalf records and ends only the attempt's goroutine, and end runs the
// cleanups last first, once.
func TestAttempt(t *testing.T) {
	a := &attempt{TB: t}
	var order []int
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Cleanup(func() { order = append(order, 1) })
		a.Cleanup(func() { order = append(order, 2) })
		a.Errorf("first %d", 1)
		a.Fatalf("second")
		a.Errorf("not reached")
	}()
	<-done
	if !a.Failed() || strings.Join(a.failures, "|") != "first 1|second" {
		t.Errorf("failures %q, want [first 1 second]", a.failures)
	}
	a.end()
	a.end()
	if fmt.Sprint(order) != "[2 1]" {
		t.Errorf("cleanups ran as %v, want [2 1]", order)
	}
	if t.Failed() {
		t.Fatal("the attempt's failures reached the test")
	}
}

// TestDroppedLines checks that the evidence of a dropped node is the
// read loop's line only: the same message from another caller (a request
// cut short by a close) and other lines do not count.
func TestDroppedLines(t *testing.T) {
	d := &daemon{dir: t.TempDir(), name: "x"}
	log := strings.Join([]string{
		`{"level":"info","ts":1796608050.46,"caller":"inet256d/daemon.go:72","msg":"LOCAL ID: abc"}`,
		`2026/12/07 01:47:30 connection doesn't allow setting of receive buffer size.`,
		`{"level":"error","ts":1796608060.25,"caller":"inet256ipc/server.go:64","msg":"handling message: context canceled"}`,
		`{"level":"error","ts":1796608083.5,"caller":"inet256ipc/server.go:78","msg":"handling message: context canceled","stacktrace":"..."}`,
		`{"level":"error","ts":1796608084.5,"caller":"inet256ipc/server.go:78","msg":"handling message: context canceled","stacktrace":"..."}`,
	}, "\n")
	if err := os.WriteFile(filepath.Join(d.dir, "x.log"), []byte(log), 0o600); err != nil {
		t.Fatal(err)
	}
	n, first, err := d.droppedLines()
	if err != nil || n != 2 || !first.Equal(time.Unix(1796608083, 5e8)) {
		t.Errorf("droppedLines = %d, %v, %v; want 2, %v, nil", n, first, err, time.Unix(1796608083, 5e8))
	}
}

// TestDroppedBefore checks which drops explain a failure: any the
// adapter saw, and those it did not see only when they came first.
func TestDroppedBefore(t *testing.T) {
	at := time.Unix(1796608083, 0)
	for _, c := range []struct {
		nodeFailed    bool
		first, failed time.Time
		want          bool
	}{
		{true, at, time.Time{}, true},
		{true, at, at.Add(-time.Second), true},
		{false, at, at.Add(90 * time.Second), true},
		{false, at, at, false},
		{false, at, at.Add(-time.Second), false},
		{false, at, time.Time{}, false},
	} {
		if got := droppedBefore(c.nodeFailed, c.first, c.failed); got != c.want {
			t.Errorf("droppedBefore(%v, %v, %v) = %v, want %v", c.nodeFailed, c.first, c.failed, got, c.want)
		}
	}
}

// TestUDPDrops checks that a daemon's UDP socket is found in
// /proc/net/udp by its port, and a port no socket has is "?".
func TestUDPDrops(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	d := &daemon{port: pc.LocalAddr().(*net.UDPAddr).Port}
	if got := d.udpDrops(); got != "0" {
		t.Errorf("drops of a fresh socket: %q, want \"0\"", got)
	}
	pc.Close()
	if got := d.udpDrops(); got != "?" {
		t.Errorf("drops of a closed socket's port: %q, want \"?\"", got)
	}
}
