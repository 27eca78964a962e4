package interop

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/internal/stallwatch"
	"github.com/inet256/go-utp/v2/utp"
)

// -interop.full moves 32 MiB each way in every transfer whatever the
// other flags say (-race and -short make them smaller), and adds
// anacrolix/utp to TestManyConnections.
var full = flag.Bool("interop.full", false, "32 MiB each way in every transfer even with -race or -short, and anacrolix/utp in TestManyConnections")

const fullSize = 32 << 20

// scaled is n bytes, smaller under the race detector, which slows the
// byte-moving code paths some tenfold.
func scaled(n int64) int64 {
	if raceEnabled {
		return max(n/8, 64<<10)
	}
	return n
}

func mib(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}

// testCtx bounds a test: every blocking call in it is tied to this
// deadline, so a stuck peer fails the step it is stuck in.
func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// stallBound is how long a bulk transfer may go without a byte arriving at
// either end before it fails (group.watchProgress). It bounds progress,
// not speed: on a machine busy with a second go test a transfer slows
// down several times but keeps moving, while a stuck one stops at once.
// Two minutes leave room for a retransmission lost five times in a row
// (timeouts of 1 s doubling to 16 s) on a round-trip time that the load
// inflated.
const stallBound = 2 * time.Minute

// timeoutMargin is what transferCtx leaves before the test binary's own
// -timeout, for the steps to end, the failure to be reported and the
// cleanups to run.
const timeoutMargin = 30 * time.Second

// transferCtx bounds a test that moves bulk data. Its steps' progress is
// bounded by stallBound (group.watchProgress); the total only by go
// test's -timeout, less timeoutMargin, so that a slow transfer ends in a
// failure naming its steps rather than in the test binary's panic. Without
// a -timeout (-timeout 0) there is no total bound.
func transferCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	if dl, ok := t.Deadline(); ok {
		ctx, cancel = context.WithDeadline(context.Background(), dl.Add(-timeoutMargin))
	}
	t.Cleanup(cancel)
	return ctx
}

// listenOurs opens one of our Sockets on a free loopback port.
func listenOurs(t *testing.T, opts ...utp.SocketOption) *utp.Socket {
	t.Helper()
	s, err := utp.Listen("udp", "127.0.0.1:0", opts...)
	if err != nil {
		t.Fatalf("step %q: %v", "open our socket", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func udpAddr(a net.Addr) *net.UDPAddr { return a.(*net.UDPAddr) }

// must fails the test, naming the step, if err is not nil.
func must(t *testing.T, step string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("step %q: %v", step, err)
	}
}

// group runs steps concurrently and reports each failure by step name.
// Wait gives up when ctx has ended and a grace period passed, naming the
// steps still running, so a step that ignores its deadline cannot hang the
// test.
type group struct {
	ctx     context.Context
	cancel  context.CancelCauseFunc
	start   time.Time
	wg      sync.WaitGroup
	mu      sync.Mutex
	errs    []error
	running map[string]bool
	// moved counts the bytes the steps have read (and their EOFs), for
	// watchProgress, which fails the steps once it stays still for stall.
	moved atomic.Uint64
	stall time.Duration
}

func newGroup(ctx context.Context) *group {
	ctx, cancel := context.WithCancelCause(ctx)
	return &group{ctx: ctx, cancel: cancel, start: time.Now(),
		running: make(map[string]bool), stall: stallBound}
}

// progressed records that a step read n bytes, or EOF.
func (g *group) progressed(n int) { g.moved.Add(uint64(n) + 1) }

// countReads is r, its reads counted by g.progressed.
func (g *group) countReads(r io.Reader) io.Reader { return countingReader{r, g} }

type countingReader struct {
	r io.Reader
	g *group
}

func (c countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	if n > 0 || errors.Is(err, io.EOF) {
		c.g.progressed(n)
	}
	return n, err
}

// stalled is the cause of a group's end when no byte moved for stallBound.
type stalled struct {
	moved       uint64
	idle, after time.Duration
}

func (s stalled) Error() string {
	return fmt.Sprintf("no byte arrived at either end for %v (%v into the transfer, progress count %d): stalled",
		s.idle, s.after.Round(time.Second), s.moved)
}

// watchProgress ends g's steps once they have read nothing for g.stall
// (stallBound): it cancels g's context with a stalled cause, which Wait
// reports, and sets every end's deadline to now, which wakes the reads
// and writes blocked on it. Until then the steps' total time is bounded
// only by g's context, so a transfer slowed by a busy machine passes.
func (g *group) watchProgress(ends ...net.Conn) {
	watchStall(g.ctx, g.stall, g.moved.Load, func(st stalled) {
		g.cancel(st)
		for _, c := range ends {
			_ = c.SetDeadline(time.Now())
		}
	})
}

// watchStall calls onStall, once, if moved returns the same count for
// stall (stallwatch.Context polls it) before ctx ends.
func watchStall(ctx context.Context, stall time.Duration, moved func() uint64, onStall func(stalled)) {
	start := time.Now()
	// The watch ends with ctx, which its callers cancel: a group's Wait, a
	// test's cleanup.
	watched, _ := stallwatch.Context(ctx, stall, moved)
	context.AfterFunc(watched, func() {
		if ctx.Err() == nil && errors.Is(context.Cause(watched), context.DeadlineExceeded) {
			onStall(stalled{moved: moved(), idle: stall, after: time.Since(start)})
		}
	})
}

// watchConn is ctx, ended with a stalled cause once c has neither received
// nor had written a byte for stallBound, when it also sets c's deadline to
// now: the bound on progress of a transfer that is not a group's.
func watchConn(ctx context.Context, c *utp.Conn) context.Context {
	ctx, cancel := context.WithCancelCause(ctx)
	moved := func() uint64 {
		st := c.Stats()
		return st.BytesReceived + st.BytesWritten
	}
	watchStall(ctx, stallBound, moved, func(st stalled) {
		cancel(st)
		_ = c.SetDeadline(time.Now())
	})
	return ctx
}

// endCause says why ctx ended, a stall named, or "" if it has not.
func endCause(ctx context.Context) string {
	if ctx.Err() == nil {
		return ""
	}
	return context.Cause(ctx).Error()
}

func (g *group) Go(step string, fn func() error) {
	g.mu.Lock()
	g.running[step] = true
	g.mu.Unlock()
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		err := fn()
		g.mu.Lock()
		delete(g.running, step)
		if err != nil {
			g.errs = append(g.errs, fmt.Errorf("step %q: %w", step, err))
		}
		g.mu.Unlock()
	}()
}

func (g *group) Wait(t *testing.T) {
	t.Helper()
	defer g.cancel(nil) // ends watchProgress
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-g.ctx.Done():
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			g.mu.Lock()
			var stuck []string
			for s := range g.running {
				stuck = append(stuck, s)
			}
			g.mu.Unlock()
			sort.Strings(stuck)
			t.Fatalf("%v; steps still running: %q", g.why(), stuck)
		}
	}
	var st stalled
	if errors.As(context.Cause(g.ctx), &st) {
		t.Errorf("step %q: %v", "every step progresses", st)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, err := range g.errs {
		t.Error(err)
	}
	if len(g.errs) > 0 {
		t.FailNow()
	}
}

// why says why g's context ended: a stall, or the test's deadline.
func (g *group) why() string {
	var st stalled
	if errors.As(context.Cause(g.ctx), &st) {
		return st.Error()
	}
	return "test deadline passed"
}

// route says where each side sends: straight to the other, or to a relay.
type route struct {
	toPeer, toUs *net.UDPAddr
}

func direct(us *utp.Socket, p peer) route {
	return route{toPeer: p.Addr(), toUs: udpAddr(us.Addr())}
}

// pair is one connection seen from both ends.
type pair struct {
	ours   *utp.Conn
	theirs net.Conn
}

// connect opens a connection between our Socket and the peer, dialed by us
// or by them, with both ends' deadlines set to ctx's.
func connect(t *testing.T, ctx context.Context, us *utp.Socket, p peer, weDial bool, r route) pair {
	t.Helper()
	var pr pair
	g := newGroup(ctx)
	if weDial {
		g.Go("we dial", func() (err error) {
			pr.ours, err = us.DialUTP(ctx, r.toPeer)
			return err
		})
		g.Go("peer accepts", func() (err error) {
			pr.theirs, err = p.Accept(ctx)
			return err
		})
	} else {
		g.Go("peer dials", func() (err error) {
			pr.theirs, err = p.Dial(ctx, r.toUs)
			return err
		})
		g.Go("we accept", func() error {
			c, err := acceptCtx(ctx, func() (net.Conn, error) { return us.Accept() })
			if err == nil {
				pr.ours = c.(*utp.Conn)
			}
			return err
		})
	}
	g.Wait(t)
	dl, _ := ctx.Deadline()
	must(t, "set our deadline", pr.ours.SetDeadline(dl))
	must(t, "set peer deadline", pr.theirs.SetDeadline(dl))
	t.Cleanup(func() {
		pr.ours.Close()
		pr.theirs.Close()
	})
	return pr
}

// streamSource yields the deterministic bytes of stream seed.
func streamSource(seed uint64) *rand.ChaCha8 {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	return rand.NewChaCha8(key)
}

// writeStream writes n bytes of stream seed to c.
func writeStream(c io.Writer, seed uint64, n int64) error {
	src := streamSource(seed)
	buf := make([]byte, 128<<10)
	for left := n; left > 0; {
		b := buf[:min(int64(len(buf)), left)]
		_, _ = src.Read(b)
		if _, err := c.Write(b); err != nil {
			return fmt.Errorf("after %d of %d bytes: %w", n-left, n, err)
		}
		left -= int64(len(b))
	}
	return nil
}

// readStream reads from c until EOF and checks that exactly n bytes of
// stream seed arrived: it compares SHA-256 digests of what was expected
// and what arrived, and names the first differing offset.
func readStream(c io.Reader, seed uint64, n int64) error {
	_, err := readStreamTimed(c, seed, n)
	return err
}

// readStreamTimed is readStream, also returning when the last byte
// arrived (before EOF, which waits for the close).
func readStreamTimed(c io.Reader, seed uint64, n int64) (time.Time, error) {
	var last time.Time
	src := streamSource(seed)
	want, got := sha256.New(), sha256.New()
	buf := make([]byte, 128<<10)
	exp := make([]byte, len(buf))
	var off int64
	firstDiff := int64(-1)
	for {
		k, err := c.Read(buf)
		if k > 0 {
			if off+int64(k) > n {
				return last, fmt.Errorf("%d bytes arrived, more than the %d sent", off+int64(k), n)
			}
			_, _ = src.Read(exp[:k])
			if firstDiff < 0 && !bytes.Equal(buf[:k], exp[:k]) {
				for i := range k {
					if buf[i] != exp[i] {
						firstDiff = off + int64(i)
						break
					}
				}
			}
			want.Write(exp[:k])
			got.Write(buf[:k])
			off += int64(k)
			if off == n {
				last = time.Now()
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if off == n && firstDiff < 0 && bytes.Equal(want.Sum(nil), got.Sum(nil)) {
				return last, &endedAfterAll{n: n, err: err}
			}
			return last, fmt.Errorf("after %d of %d bytes: %w", off, n, err)
		}
	}
	if off != n {
		return last, fmt.Errorf("EOF after %d of %d bytes", off, n)
	}
	if !bytes.Equal(want.Sum(nil), got.Sum(nil)) {
		return last, fmt.Errorf("SHA-256 mismatch over %d bytes; first differing byte at offset %d", n, firstDiff)
	}
	return last, nil
}

// endedAfterAll is readStream's error for a stream whose n bytes all
// arrived intact (SHA-256 checked) but which then ended with err instead
// of EOF.
type endedAfterAll struct {
	n   int64
	err error
}

func (e *endedAfterAll) Error() string {
	return fmt.Sprintf("all %d bytes arrived intact, then %v instead of EOF", e.n, e.err)
}

func (e *endedAfterAll) Unwrap() error { return e.err }

// Stream seeds: one per direction.
const (
	seedOurs   = 1 // we write
	seedTheirs = 2 // the peer writes
)

// exchanged reports how long a transfer took: until both ends had read
// everything and EOF, and for each direction until its last byte arrived.
type exchanged struct {
	size         int64
	total        time.Duration
	toPeer, toUs time.Duration
	// acceptEnd, if set, lets our read end with an error instead of EOF
	// once all the bytes arrived intact, when it returns true for that
	// error; endedBy then records it.
	acceptEnd func(err error) bool
	endedBy   error
}

func (e exchanged) String() string {
	mbs := func(d time.Duration) float64 { return float64(e.size) / d.Seconds() / 1e6 }
	return fmt.Sprintf("%s each way in %v (to peer %.2f MB/s, to us %.2f MB/s)",
		mib(e.size), e.total.Round(time.Millisecond), mbs(e.toPeer), mbs(e.toUs))
}

// exchange moves size bytes each way at once and checks both streams. We
// half-close after writing and read to EOF; the peer, which has no
// half-close, reads to our EOF and closes once it has written everything.
// Both ends thus see EOF right after the last byte.
func exchange(t *testing.T, ctx context.Context, pr pair, size int64) exchanged {
	t.Helper()
	return exchangeAccepting(t, ctx, pr, size, nil)
}

// exchangeAccepting is exchange, where our read may end with an error
// after the last byte if acceptEnd says so (exchanged.acceptEnd).
func exchangeAccepting(t *testing.T, ctx context.Context, pr pair, size int64, acceptEnd func(error) bool) exchanged {
	t.Helper()
	g := newGroup(ctx)
	res := &exchanged{size: size, acceptEnd: acceptEnd}
	exchangeSteps(g, pr, size, "", res)
	g.watchProgress(pr.ours, pr.theirs)
	g.Wait(t)
	res.total = time.Since(g.start)
	return *res
}

// exchangeSteps adds exchange's four steps to g, their names prefixed, and
// records the time each direction took in res if it is not nil. Their
// reads count as g's progress (group.watchProgress).
func exchangeSteps(g *group, pr pair, size int64, prefix string, res *exchanged) {
	label := mib(size)
	start := g.start
	g.Go(prefix+"we write "+label+" and half-close", func() error {
		if err := writeStream(pr.ours, seedOurs, size); err != nil {
			return err
		}
		return pr.ours.CloseWrite()
	})
	g.Go(prefix+"we read "+label+" and EOF", func() error {
		last, err := readStreamTimed(g.countReads(pr.ours), seedTheirs, size)
		if res != nil {
			res.toUs = last.Sub(start)
			var ea *endedAfterAll
			if errors.As(err, &ea) && res.acceptEnd != nil && res.acceptEnd(ea.err) {
				res.endedBy, err = ea.err, nil
			}
		}
		return err
	})
	peerWrote := make(chan error, 1)
	g.Go(prefix+"peer writes "+label, func() error {
		err := writeStream(pr.theirs, seedTheirs, size)
		peerWrote <- err
		return err
	})
	g.Go(prefix+"peer reads "+label+" and EOF, then closes", func() error {
		last, err := readStreamTimed(g.countReads(pr.theirs), seedOurs, size)
		if err != nil {
			return err
		}
		if res != nil {
			res.toPeer = last.Sub(start)
		}
		select {
		case err := <-peerWrote:
			if err != nil {
				return nil // reported by its own step
			}
		case <-g.ctx.Done():
			return g.ctx.Err()
		}
		return pr.theirs.Close()
	})
}

// forEachPeerAndRole runs fn as a subtest for each peer, dialed by us and
// by it.
func forEachPeerAndRole(t *testing.T, fn func(t *testing.T, k peerKind, weDial bool)) {
	forEachRole(t, peerKinds, fn)
}

func forEachRole(t *testing.T, kinds []peerKind, fn func(t *testing.T, k peerKind, weDial bool)) {
	for _, k := range kinds {
		for _, r := range roles {
			t.Run(k.name+"/"+r.name, func(t *testing.T) { fn(t, k, r.weDial) })
		}
	}
}

// forEachPeerAndRoleAtOnce is forEachPeerAndRole with every subtest
// running at the same time, for cases that spend their time waiting on
// timers or a slow path rather than the CPU.
func forEachPeerAndRoleAtOnce(t *testing.T, fn func(t *testing.T, k peerKind, weDial bool)) {
	var names []string
	var cases []func(t *testing.T)
	for _, k := range peerKinds {
		for _, r := range roles {
			names = append(names, k.name+"/"+r.name)
			cases = append(cases, func(t *testing.T) { fn(t, k, r.weDial) })
		}
	}
	runAtOnce(t, names, cases)
}

// runAtOnce runs cases[i] as subtest names[i], all at once, and returns
// when every one has ended. Unlike t.Parallel it does not wait for one of
// -test.parallel's slots (GOMAXPROCS: two on a 2-core machine).
func runAtOnce(t *testing.T, names []string, cases []func(t *testing.T)) {
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(name, cases[i])
		}()
	}
	wg.Wait()
}
