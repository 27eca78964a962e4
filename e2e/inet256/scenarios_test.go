package inet256e2e

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inet256/inet256/pkg/inet256"

	"github.com/inet256/go-utp/v2/inet256adapter"
	"github.com/inet256/go-utp/v2/internal/stallwatch"
	"github.com/inet256/go-utp/v2/utp"
)

func testContext(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// bothWaysSize is moved each way at once between two node IDs; -short
// (the race-detector run in CI) moves less.
func bothWaysSize() int64 {
	if testing.Short() {
		return 8 << 20
	}
	return 64 << 20
}

// 64 MiB each way at once over one connection between two node IDs,
// checked byte for byte with SHA-256. An attempt that fails because a
// daemon dropped a node is run again on fresh daemons (onDaemons).
func TestBothWays(t *testing.T) {
	for _, tp := range topologies {
		t.Run(tp.name, func(t *testing.T) {
			checkLeaks(t)
			onDaemons(t, tp.make, func(t testing.TB, top *topology) { bothWays(t, top) })
		})
	}
}

// bothWays is one attempt of TestBothWays on top.
func bothWays(t testing.TB, top *topology) {
	a, b := top.sockets(t)
	client, server := dialPair(t, a, b, 5*time.Minute)
	boundByProgress(t, bothWaysStall, client, server)
	size := bothWaysSize()
	start := time.Now()
	var wg sync.WaitGroup
	var tc, ts transfer
	wg.Add(2)
	go func() { defer wg.Done(); tc = exchange(client, 1, size, nil) }()
	go func() { defer wg.Done(); ts = exchange(server, 2, size, nil) }()
	wg.Wait()
	elapsed := time.Since(start)
	if tc.err != nil || ts.err != nil {
		t.Fatalf("client: %v; server: %v", tc.err, ts.err)
	}
	if tc.nRead != size || ts.nRead != size {
		t.Fatalf("read %d and %d bytes, want %d each", tc.nRead, ts.nRead, size)
	}
	if tc.received != ts.sent || ts.received != tc.sent || tc.sent != sumOf(1, size) {
		t.Fatal("the data arrived altered")
	}
	st := client.Stats()
	t.Logf("%s: %s each way in %v (%.1f MB/s each way); client: %d packets, %d retransmitted, %d timeouts, RTT %v",
		top.name, mib(size), elapsed.Round(time.Millisecond), float64(size)/elapsed.Seconds()/1e6,
		st.PacketsSent, st.Retransmits, st.Timeouts, st.RTT)
}

// bothWaysStall is how long TestBothWays waits for a byte to move
// before it fails; its total has no bound but the test's timeout.
const bothWaysStall = 2 * time.Minute

// boundByProgress replaces the deadlines of the ends with a bound on
// progress: once no byte has been written or received by either end for
// stall, their deadlines pass, failing their reads and writes. A total
// bound judged the machine: under -race at load 30, one direction of
// TestBothWays/one-daemon moved 3 MB of 8 MiB in its 5 minutes, no node
// dropped, and failed with "i/o timeout" while data still moved.
func boundByProgress(t testing.TB, stall time.Duration, ends ...*utp.Conn) {
	moved := func() uint64 {
		var n uint64
		for _, c := range ends {
			st := c.Stats()
			n += st.BytesWritten + st.BytesReceived
		}
		return n
	}
	ctx, cancel := stallwatch.Context(context.Background(), stall, moved)
	t.Cleanup(cancel)
	for _, c := range ends {
		c.SetDeadline(time.Time{})
	}
	context.AfterFunc(ctx, func() {
		if errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
			for _, c := range ends {
				c.SetDeadline(time.Now())
			}
		}
	})
}

// Sixteen connections at once between the same two nodes, each echoed
// and checked; again on fresh daemons if a daemon dropped a node
// (onDaemons).
func TestConcurrentStreams(t *testing.T) {
	const streams = 16
	size := int64(2 << 20)
	if testing.Short() {
		size = 512 << 10
	}
	for _, tp := range topologies {
		t.Run(tp.name, func(t *testing.T) {
			checkLeaks(t)
			onDaemons(t, tp.make, func(t testing.TB, top *topology) { concurrentStreams(t, top, streams, size) })
		})
	}
}

// concurrentStreams is one attempt of TestConcurrentStreams on top.
func concurrentStreams(t testing.TB, top *topology, streams int, size int64) {
	a, b := top.sockets(t)
	go func() {
		for {
			c, err := b.AcceptUTP()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(3 * time.Minute))
				io.Copy(c, c) // echo until the dialer half-closes
				c.CloseWrite()
			}()
		}
	}()
	ctx := testContext(t, 3*time.Minute)
	errs := make(chan error, streams)
	var wg sync.WaitGroup
	for i := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := a.DialUTP(ctx, b.Addr())
			if err != nil {
				errs <- fmt.Errorf("stream %d: %w", i, err)
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(3 * time.Minute))
			tr := exchange(c, uint64(100+i), size, nil)
			switch {
			case tr.err != nil:
				errs <- fmt.Errorf("stream %d: %w", i, tr.err)
			case tr.nRead != size || tr.received != tr.sent:
				errs <- fmt.Errorf("stream %d: echo of %d bytes came back as %d, altered", i, size, tr.nRead)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// Dialing an address that is not on the network fails with a clear error
// once the context ends, and leaves the node working: nothing was sent to
// the unknown address, which could have disabled the node.
func TestDialNotOnNetwork(t *testing.T) {
	checkLeaks(t)
	top := twoDaemons(t)
	a, b := top.sockets(t)
	var nowhere inet256.Addr
	crand.Read(nowhere[:])
	const wait = 2 * time.Second

	start := time.Now()
	_, err := a.DialContext(testContext(t, wait), nowhere)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Socket.DialContext to an absent address: %v", err)
	}
	if d := time.Since(start); d < wait || d > wait+5*time.Second {
		t.Fatalf("Socket.DialContext returned after %v, want when its %v context ended", d, wait)
	}
	t.Logf("Socket.DialContext after %v: %v", time.Since(start).Round(time.Millisecond), err)

	// Dial resolves first and says why it failed.
	spare := openNode(testContext(t, 30*time.Second), t, top.owners[0])
	start = time.Now()
	_, err = inet256adapter.Dial(testContext(t, wait), spare, nowhere.String())
	if !errors.Is(err, inet256adapter.ErrUnreachable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dial to an absent address: %v", err)
	}
	if d := time.Since(start); d < wait || d > wait+5*time.Second {
		t.Fatalf("Dial returned after %v, want when its %v context ended", d, wait)
	}
	t.Logf("Dial after %v: %v", time.Since(start).Round(time.Millisecond), err)

	// The node that tried is still usable.
	start = time.Now()
	c, s := dialPair(t, a, b, time.Minute)
	t.Logf("then dialed the peer in %v", time.Since(start))
	go func() { c.Write([]byte("still here")); c.CloseWrite() }()
	msg, err := io.ReadAll(s)
	if err != nil || string(msg) != "still here" {
		t.Fatalf("after the failed dial: %q, %v", msg, err)
	}
}

// A daemon killed in the middle of a transfer both ways: each end gets an
// error within a bound, nothing hangs, and no goroutine is left.
func TestDaemonKilledMidStream(t *testing.T) {
	for _, tp := range topologies {
		t.Run(tp.name, func(t *testing.T) {
			checkLeaks(t)
			top := tp.make(t)
			a, b := top.sockets(t)
			client, server := dialPair(t, a, b, 5*time.Minute)
			var progress [2]atomic.Int64
			type end struct {
				tr transfer
				at time.Time
			}
			ends := make(chan end, 2)
			for i, c := range []*utp.Conn{client, server} {
				go func() {
					tr := exchange(c, uint64(i), 1<<40, &progress[i]) // more than can move
					ends <- end{tr, time.Now()}
				}()
			}
			waitProgress(t, &progress[0], &progress[1], 4<<20)
			victim := top.owners[1]
			killed := time.Now()
			victim.kill()
			t.Logf("%s: killed daemon %s after %s and %s", top.name, victim.name, mib(progress[0].Load()), mib(progress[1].Load()))
			// Both ends on the victim notice within seconds (their node's
			// requests fail). An end on the surviving daemon fails when
			// that daemon drops its node for writing to the vanished peer
			// (20 to 45 s, TestPeerGoneMidStream), or when uTP gives up:
			// 16 retransmission timeouts, about 55 s.
			bound := 15 * time.Second
			if len(top.daemons) > 1 {
				bound = 90 * time.Second
			}
			timeout := time.After(bound)
			for range 2 {
				select {
				case e := <-ends:
					if e.tr.err == nil {
						t.Errorf("a transfer ended without error after its daemon was killed")
					}
					t.Logf("error after %v: %v", e.at.Sub(killed).Round(time.Millisecond), e.tr.err)
				case <-timeout:
					t.Fatalf("an end still blocked %v after the daemon was killed", bound)
				}
			}
		})
	}
}

// waitProgress waits until both counters reach n, at most a minute.
func waitProgress(t *testing.T, a, b *atomic.Int64, n int64) {
	t.Helper()
	limit := time.Now().Add(time.Minute)
	for a.Load() < n || b.Load() < n {
		if time.Now().After(limit) {
			t.Fatalf("no progress: %d and %d bytes", a.Load(), b.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A node closed underneath its Socket, or the Socket closed: Accept, Read
// and Write return net.ErrClosed.
func TestNodeClosed(t *testing.T) {
	for _, how := range []string{"node", "socket"} {
		t.Run(how, func(t *testing.T) {
			checkLeaks(t)
			top := oneDaemon(t)
			a, b := top.sockets(t)
			client, server := dialPair(t, a, b, time.Minute)
			acceptErr := make(chan error, 1)
			readErr := make(chan error, 1)
			go func() { _, err := b.Accept(); acceptErr <- err }()
			go func() { _, err := server.Read(make([]byte, 10)); readErr <- err }()
			time.Sleep(50 * time.Millisecond)
			start := time.Now()
			if how == "node" {
				top.nodes[1].Close() // the Socket learns of it from the node's failed requests
			} else {
				b.Close()
			}
			for what, ch := range map[string]chan error{"Accept": acceptErr, "Read": readErr} {
				select {
				case err := <-ch:
					if !errors.Is(err, net.ErrClosed) {
						t.Errorf("%s: %v, want net.ErrClosed", what, err)
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("%s still blocked 10 s after the %s closed", what, how)
				}
			}
			t.Logf("Accept and Read returned %v after the %s closed", time.Since(start).Round(time.Millisecond), how)
			if _, err := server.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
				t.Errorf("Write: %v, want net.ErrClosed", err)
			}
			client.Close()
		})
	}
}

// TestBoundByProgress checks the bound TestBothWays runs under, over
// loopback UDP: reads wait past the stall bound while bytes keep
// arriving, and fail with a timeout once they stop.
func TestBoundByProgress(t *testing.T) {
	checkLeaks(t)
	a, err := utp.Listen("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := utp.Listen("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	accepted := make(chan *utp.Conn, 1)
	go func() {
		c, _ := b.AcceptUTP()
		accepted <- c
	}()
	client, err := a.DialUTP(testContext(t, time.Minute), b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server := <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	defer server.Close()
	// A byte every 10 ms for 1.5 stall bounds: no read may time out (a
	// goroutine would have to wait a whole second for a processor).
	const stall, every, bytes = time.Second, 10 * time.Millisecond, 150
	boundByProgress(t, stall, client, server)
	go func() {
		for range bytes {
			client.Write([]byte{1})
			time.Sleep(every)
		}
	}()
	start := time.Now()
	buf := make([]byte, 1)
	for n := 0; n < bytes; n++ {
		if _, err := io.ReadFull(server, buf); err != nil {
			t.Fatalf("read %d, %v after the first, while bytes arrived: %v", n, time.Since(start), err)
		}
	}
	// Then nothing: the read fails with a timeout, bounded only loosely
	// (the watch polls; a slow machine runs it late).
	// A bound that never fires would hang the read: closing the end
	// after 30 s makes that a failure instead.
	guard := time.AfterFunc(30*time.Second, func() { server.Close() })
	defer guard.Stop()
	start = time.Now()
	if _, err := server.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a read after the bytes stopped: %v, want a deadline error", err)
	}
	if d := time.Since(start); d < stall/2 {
		t.Fatalf("the read failed after %v, before the %v stall bound", d, stall)
	}
}
