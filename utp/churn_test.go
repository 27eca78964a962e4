package utp

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/inet256/go-utp/v2/utp/netsim"
)

// withDialIDs makes dialers draw their ids from the first n, so that a
// short test runs out of ids as a long churn does out of all 65,536.
func withDialIDs(n int) SocketOption {
	return func(c *socketConfig) { c.dialIDs = n }
}

// churn has workers dial b from a, echo 4 KiB and close, until stop
// closes; b echoes. It closes b and returns the dials made and the first
// error.
func churn(a, b *Socket, workers int, stop <-chan struct{}) (dials int64, err error) {
	served := serveEcho(b)
	dials, err = churnDials(workers, stop, func() (net.Conn, error) {
		return a.DialContext(context.Background(), b.Addr())
	})
	b.Close() // ends the server's Accept
	served()
	return dials, err
}

// serveEcho accepts from l until its Accept fails, and on each connection
// echoes one 4 KiB message and closes. The returned function waits until
// the server and its handlers are done.
func serveEcho(l net.Listener) (wait func()) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var handlers sync.WaitGroup
		defer handlers.Wait()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			handlers.Add(1)
			go func() {
				defer handlers.Done()
				defer c.Close()
				buf := make([]byte, 4<<10)
				if _, err := io.ReadFull(c, buf); err == nil {
					c.Write(buf)
				}
			}()
		}
	}()
	return wg.Wait
}

// churnDials has workers dial, write 4 KiB, read the echo and close, until
// stop closes. It returns the dials made and the first error; a worker
// stops at its first error.
func churnDials(workers int, stop <-chan struct{}, dial func() (net.Conn, error)) (dials int64, err error) {
	return churnPhases(workers, stop, dial, nil)
}

// churnPhase names the parts of one churn cycle that churnTimes sums.
type churnPhase int

const (
	phaseDial  churnPhase = iota // DialContext, until it returns the Conn
	phaseWrite                   // the 4 KiB Write
	phaseRead                    // reading the whole echo
	phaseClose                   // Close
	numPhases
)

var phaseNames = [numPhases]string{"dial", "write", "read echo", "close"}

// churnTimes sums the wall-clock time the workers spent in each phase, to
// tell which wait a cycle's latency is made of.
type churnTimes [numPhases]atomic.Int64

// mean gives each phase's mean time per cycle over n cycles.
func (ct *churnTimes) mean(n int64) string {
	if n == 0 {
		return "no cycles"
	}
	s := ""
	for p := range numPhases {
		if p > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s %v", phaseNames[p], time.Duration(ct[p].Load()/n).Round(time.Microsecond))
	}
	return s
}

// churnPhases is churnDials that also sums each phase's time into ct,
// unless ct is nil.
func churnPhases(workers int, stop <-chan struct{}, dial func() (net.Conn, error), ct *churnTimes) (dials int64, err error) {
	var count atomic.Int64
	var once sync.Once
	fail := func(e error) { once.Do(func() { err = e }) }
	lap := func(p churnPhase, t0 time.Time) time.Time {
		if ct == nil {
			return t0
		}
		t := time.Now()
		ct[p].Add(int64(t.Sub(t0)))
		return t
	}
	var clients sync.WaitGroup
	for range workers {
		clients.Add(1)
		go func() {
			defer clients.Done()
			msg := make([]byte, 4<<10)
			for {
				select {
				case <-stop:
					return
				default:
				}
				var t time.Time
				if ct != nil {
					t = time.Now()
				}
				c, err := dial()
				if err != nil {
					fail(err)
					return
				}
				count.Add(1)
				t = lap(phaseDial, t)
				c.Write(msg)
				t = lap(phaseWrite, t)
				_, err = io.ReadFull(c, msg)
				t = lap(phaseRead, t)
				c.Close()
				lap(phaseClose, t)
				if err != nil {
					fail(err)
					return
				}
			}
		}()
	}
	clients.Wait()
	return count.Load(), err
}

// 16 workers dialing one peer as fast as they can, each dial echoing 4 KiB
// and closing, never fail for want of a connection id: when every id is
// held by a connection in TIME-WAIT, a dial takes over the oldest. The
// dialers draw from 256 ids, so the ids run out within a second of
// virtual time as all 65,536 do within seconds on a fast path.
func TestSimChurnReusesTimeWaitIDs(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		_, a, b := simNet(t, withDialIDs(256))
		stop := make(chan struct{})
		time.AfterFunc(20*time.Second, func() { close(stop) })
		dials, err := churn(a, b, 16, stop)
		t.Logf("%d dials in 20 s of virtual time", dials)
		if err != nil {
			t.Fatalf("after %d dials: %v", dials, err)
		}
		if dials < 1000 {
			t.Fatalf("only %d dials in 20 s", dials)
		}
	})
}

// A churn cycle waits for nothing but the network: over links of one-way
// delay d, with packets large enough for the 4 KiB in one (as on UDP
// loopback), 16 workers' dials each take one round trip, the echo one
// more, and Write and Close return at once, in virtual time: no timer (a
// delayed ACK, a linger, pacing, the read lead's standby tick) stands in
// the cycle's way, and so none stretches it on a real path, where the
// cycle's only other cost is CPU. A cycle takes 7 datagrams: the dialer's
// FIN carries its ACK of the server's, which reached it with the echo.
func TestSimChurnCycleHasNoWaits(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		const d = 10 * time.Millisecond
		n := netsim.NewNetwork(1)
		n.SetDefaultLink(netsim.LinkConfig{Delay: d})
		a := NewSocket(n.Listen("a"), WithPacketSize(loopbackPacketSize))
		b := NewSocket(n.Listen("b"), WithPacketSize(loopbackPacketSize))
		defer a.Close()
		served := serveEcho(b)
		stop := make(chan struct{})
		time.AfterFunc(time.Second, func() { close(stop) })
		var ct churnTimes
		dials, err := churnPhases(16, stop, func() (net.Conn, error) {
			return a.DialContext(context.Background(), b.Addr())
		}, &ct)
		time.Sleep(4 * d) // the last closes' datagrams arrive
		st, bst := a.Stats(), b.Stats()
		b.Close()
		served()
		if err != nil {
			t.Fatalf("after %d dials: %v", dials, err)
		}
		t.Logf("%d cycles: %s", dials, ct.mean(dials))
		want := [numPhases]time.Duration{phaseDial: 2 * d, phaseRead: 2 * d}
		for p := range numPhases {
			if got := time.Duration(ct[p].Load()); got != time.Duration(dials)*want[p] {
				t.Errorf("%s took %v in %d cycles, want %v each", phaseNames[p], got, dials, want[p])
			}
		}
		// The server's echo and FIN reach the dialer at the same instant,
		// and whether its Close or its reader's applying that FIN runs
		// first is the Go scheduler's choice: a Close first makes the FINs
		// cross, and the dialer acknowledges the server's FIN apart (a
		// 4th datagram). Without the race detector no cycle of 400 did so
		// in ten runs; under it, whose scheduler shuffles runnable
		// goroutines on purpose, 21 to 34 of 400 did in 30 runs (CI failed
		// once on 23 with a bound of 1 in 20), hence 1 in 8.
		if crossed := st.PacketsOut - 3*uint64(dials); st.PacketsOut < 3*uint64(dials) || crossed > uint64(dials)/8 {
			t.Errorf("the dialer sent %d datagrams in %d cycles, want 3 each (SYN, DATA, a FIN acknowledging the peer's), 4 in at most 1 cycle in 8", st.PacketsOut, dials)
		}
		if bst.PacketsOut != 4*uint64(dials) {
			t.Errorf("the server sent %d datagrams in %d cycles, want 4 each (the SYN's STATE, DATA, FIN, the ACK of the dialer's FIN)", bst.PacketsOut, dials)
		}
	})
}

// The same churn over UDP loopback, for 2 s: no dial fails, and ids are
// reused at real speed and with real concurrency. The dialers draw from
// 256 ids, which 2 s of this churn exhausts many times over.
func TestUDPChurnReusesTimeWaitIDs(t *testing.T) {
	checkLeaks(t)
	a, b := listenUDP(t, withDialIDs(256)), listenUDP(t)
	stop := make(chan struct{})
	time.AfterFunc(2*time.Second, func() { close(stop) })
	dials, err := churn(a, b, 16, stop)
	t.Logf("%d dials in 2 s", dials)
	if err != nil {
		t.Fatalf("after %d dials: %v", dials, err)
	}
}

var (
	churnFor = flag.Duration("utp.churn", 0,
		"run TestUDPChurnAgainstTCP: 16 workers churn uTP connections for this long in all, and TCP ones as long, alternated in slices (issue 12 asks for 60s)")
	churnSlices = flag.Int("utp.churnslices", 6,
		"TestUDPChurnAgainstTCP: the slices each transport's time is cut into")
)

// The churn criterion at full size, run only with -utp.churn=60s (two and
// a half minutes): 16 workers dial one peer over UDP loopback, echo 4 KiB
// and close, for the given time in all; no dial may fail, and 30 s after
// the churn ends (TIME-WAIT is 16 s) the live heap must be within twice
// what it was before. The same churn runs over TCP loopback for as long,
// and both rates are logged for comparison; they are not asserted, since
// the machine's speed is not the test's to judge.
//
// The two transports take turns in slices (-utp.churnslices, 6 by
// default), uTP first in even rounds and TCP first in odd ones, so that
// a load that drifts during the run weighs on both alike: run one after
// the other, the other work on a shared machine decided the ratio. uTP
// keeps its two Sockets and its server across its slices, as TCP keeps
// its listener, and the last slice is uTP's, which the heap check
// follows.
func TestUDPChurnAgainstTCP(t *testing.T) {
	if *churnFor == 0 {
		t.Skip("runs only with -utp.churn=DURATION (it takes that twice, plus 30 s)")
	}
	checkLeaks(t)
	slices := max(*churnSlices, 1)
	if slices%2 == 1 {
		slices++ // an even count ends on uTP's slice, before the heap check
	}
	slice := *churnFor / time.Duration(slices)
	a, b := listenUDP(t), listenUDP(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	servedTCP := serveEcho(l)
	defer func() { l.Close(); servedTCP() }()
	before := liveHeap()
	servedUTP := serveEcho(b)
	impls := [2]struct {
		name string
		dial func() (net.Conn, error)
		sum  churnResult
	}{
		{"uTP", func() (net.Conn, error) { return a.DialContext(context.Background(), b.Addr()) }, churnResult{}},
		{"TCP", func() (net.Conn, error) { return net.Dial("tcp", l.Addr().String()) }, churnResult{}},
	}
	for round := range slices {
		for k := range 2 {
			im := &impls[(round+k)%2]
			r := churn1(t, slice, im.dial)
			if r.err != nil {
				// The criterion is uTP's; TCP's error (say, its
				// ephemeral ports in TIME_WAIT) is only logged.
				report := t.Errorf
				if im.name == "TCP" {
					report = t.Logf
				}
				report("%s: after %d dials: %v", im.name, im.sum.dials+r.dials, r.err)
			}
			t.Logf("round %d, %s: %s", round, im.name, r)
			im.sum.add(r)
		}
	}
	b.Close() // ends the uTP server's Accept
	servedUTP()
	end := liveHeap()
	time.Sleep(30 * time.Second)
	after := liveHeap()
	u, tc := &impls[0].sum, &impls[1].sum
	t.Logf("uTP: %s; live heap %.1f MiB before, %.1f MiB at the end, %.1f MiB 30 s later; %+v",
		u, float64(before)/(1<<20), float64(end)/(1<<20), float64(after)/(1<<20), a.Stats())
	t.Logf("TCP: %s; uTP/TCP %.2f×", tc, u.rate()/tc.rate())
	if after > 2*before {
		t.Errorf("30 s after the churn the live heap is %.1f MiB, more than twice the %.1f MiB before",
			float64(after)/(1<<20), float64(before)/(1<<20))
	}
}

// churnResult is what one churn1 run, or several added, measured.
type churnResult struct {
	dials int64
	err   error
	wall  time.Duration
	cpu   time.Duration // the process's CPU, user and system, both ends
	times churnTimes
	// ran and waited are the CPU time the process's threads ran and
	// the time they waited runnable for a CPU (threadSched); sched says
	// they were measured.
	ran, waited time.Duration
	sched       bool
}

// add adds what r measured to s, keeping the first error.
func (s *churnResult) add(r *churnResult) {
	s.dials += r.dials
	s.wall += r.wall
	s.cpu += r.cpu
	s.ran += r.ran
	s.waited += r.waited
	s.sched = r.sched
	if s.err == nil {
		s.err = r.err
	}
	for p := range numPhases {
		s.times[p].Add(r.times[p].Load())
	}
}

// rate is the connections made per second.
func (r *churnResult) rate() float64 { return float64(r.dials) / r.wall.Seconds() }

// String gives the rate, the CPU per connection and how busy the cores
// were (a cycle bound by waits leaves them idle), how many cores' worth
// of threads waited runnable (the machine denying the cores, not the
// code leaving them idle), and each phase's mean.
func (r *churnResult) String() string {
	n := max(r.dials, 1)
	denied := ""
	if r.sched {
		denied = fmt.Sprintf(" (threads ran %.2f, waited runnable %.2f)", r.ran.Seconds()/r.wall.Seconds(), r.waited.Seconds()/r.wall.Seconds())
	}
	return fmt.Sprintf("%d connections in %v (%.0f/s), %.0f cpu-µs/conn, %.2f cores busy%s; per cycle: %s",
		r.dials, r.wall.Round(time.Millisecond), r.rate(),
		float64(r.cpu.Microseconds())/float64(n), r.cpu.Seconds()/r.wall.Seconds(), denied,
		r.times.mean(n))
}

// churn1 runs churnPhases with 16 workers for d against a server that
// outlives it.
func churn1(t *testing.T, d time.Duration, dial func() (net.Conn, error)) *churnResult {
	t.Helper()
	r := new(churnResult)
	stop := make(chan struct{})
	timer := time.AfterFunc(d, func() { close(stop) })
	defer timer.Stop()
	ran0, waited0, _ := threadSched()
	t0, cpu0 := time.Now(), processCPU(t)
	r.dials, r.err = churnPhases(16, stop, dial, &r.times)
	r.wall, r.cpu = time.Since(t0), processCPU(t)-cpu0
	ran, waited, ok := threadSched()
	r.ran, r.waited, r.sched = ran-ran0, waited-waited0, ok
	return r
}

// liveHeap is the heap after two collections (the second empties what
// sync.Pools kept through the first).
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// A new dial that happens to draw both the id and the initial sequence
// number of an earlier connection, which the dialer has forgotten while
// the acceptor still holds it in TIME-WAIT, connects: the acceptor takes
// the SYN for a new connection, not for the old one's repeated, whose
// reply would hand the dialer the old connection's sequence numbers and
// leave its data unanswered until a RESET. Churn reaches this about once
// in 65,536 dials that reuse an id; here both dials draw from the same
// random state, so the second repeats the first's id and sequence number.
func TestSimDialRepeatsSynOfTimeWait(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		_, a, b := simNet(t, withDialIDs(1))
		served := serveEcho(b)
		defer served()
		defer b.Close()
		var isns []uint16
		for i := range 2 {
			a.mu.Lock()
			a.rng = rand.New(rand.NewChaCha8([32]byte{}))
			a.mu.Unlock()
			c, err := a.DialUTP(context.Background(), b.Addr())
			if err != nil {
				t.Fatalf("dial %d: %v", i, err)
			}
			isns = append(isns, c.syn.isn)
			c.SetDeadline(time.Now().Add(30 * time.Second))
			msg := make([]byte, 4<<10)
			if _, err := c.Write(msg); err != nil {
				t.Fatalf("dial %d: write: %v", i, err)
			}
			if _, err := io.ReadFull(c, msg); err != nil {
				t.Fatalf("dial %d: read: %v", i, err)
			}
			c.Close()
			time.Sleep(2 * time.Second) // the dialer forgets; the acceptor waits 16 s
			a.mu.Lock()
			left := len(a.conns)
			a.mu.Unlock()
			b.mu.Lock()
			waiting := len(b.waiting)
			for _, bc := range b.conns {
				if bc.timeWaiting.Load() {
					waiting++
				}
			}
			b.mu.Unlock()
			if left != 0 || waiting != 1 {
				t.Fatalf("after dial %d: dialer holds %d connections, acceptor %d in TIME-WAIT; want 0 and 1", i, left, waiting)
			}
		}
		if isns[0] != isns[1] {
			t.Fatalf("the dials drew initial sequence numbers %d and %d, not the same", isns[0], isns[1])
		}
	})
}

// A dial that finds every connection id toward its peer held by an open
// connection waits for one to leave, instead of failing at once with "no
// free connection id": with one id, a second dial stays pending while the
// first connection is open, connects once it has closed, and a third,
// whose context ends first, reports the context's error.
func TestSimDialWaitsForFreeID(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		_, a, b := simNet(t, withDialIDs(1))
		served := serveEcho(b)
		defer served()
		defer b.Close()
		first, err := a.DialUTP(context.Background(), b.Addr())
		if err != nil {
			t.Fatal(err)
		}
		short, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := a.DialUTP(short, b.Addr()); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("a dial whose context ends while the only id is held: %v, want context.DeadlineExceeded", err)
		}
		type dialed struct {
			c   *Conn
			err error
		}
		second := make(chan dialed, 1)
		go func() {
			c, err := a.DialUTP(context.Background(), b.Addr())
			second <- dialed{c, err}
		}()
		time.Sleep(5 * time.Second)
		synctest.Wait()
		select {
		case d := <-second:
			t.Fatalf("the second dial returned while the only id was held: %v, %v", d.c, d.err)
		default:
		}
		first.Close()
		d := <-second
		if d.err != nil {
			t.Fatalf("the second dial, after the first connection closed: %v", d.err)
		}
		d.c.SetDeadline(time.Now().Add(30 * time.Second))
		msg := make([]byte, 4<<10) // what serveEcho echoes
		if _, err := d.c.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(d.c, msg); err != nil {
			t.Fatal(err)
		}
		d.c.Close()
	})
}
