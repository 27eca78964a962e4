package packetio

import (
	"errors"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// countRecvmsgs counts the recvmsg calls made on u's descriptor until the
// test ends.
func countRecvmsgs(t *testing.T, u *net.UDPConn) *atomic.Int64 {
	rc, err := u.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fd uintptr
	_ = rc.Control(func(f uintptr) { fd = f })
	var n atomic.Int64
	f := func(f uintptr) {
		if f == fd {
			n.Add(1)
		}
	}
	testRecvmsg.Store(&f)
	t.Cleanup(func() { testRecvmsg.Store(nil) })
	return &n
}

// ReadYield on an empty socket asks the kernel once, yields, and then
// waits for the poller without asking again; a datagram that arrives
// while it yields is read at once, not missed (the poller's readiness
// was reset before the first recvmsg, so the datagram's arrival sets
// it); a yield that says not to wait ends the read with ErrWouldBlock.
// TryRead, the yield and Read made three recvmsg calls for the same.
func TestReadYieldOneEmptyRead(t *testing.T) {
	for _, during := range []bool{false, true} {
		u, peer := udpPair(t)
		c := New(u, Config{}).(*udp)
		calls := countRecvmsgs(t, u)
		send := func() { peer.WriteTo([]byte("xy"), u.LocalAddr()) }
		yielded := make(chan struct{})
		type result struct {
			b   string
			err error
		}
		got := make(chan result, 1)
		go func() {
			buf := make([]byte, MaxDatagram)
			n, _, _, err := c.ReadYield(buf, func() bool {
				if during {
					send() // loopback queues it within the send
				}
				close(yielded)
				return true
			})
			got <- result{string(buf[:n]), err}
		}()
		<-yielded
		if !during {
			time.Sleep(10 * time.Millisecond) // let it wait, if it waits
			send()
		}
		select {
		case r := <-got:
			if r.err != nil || r.b != "xy" {
				t.Fatalf("during=%v: ReadYield read %q, %v; want \"xy\"", during, r.b, r.err)
			}
		case <-time.After(5 * time.Second):
			c.Close()
			<-got
			t.Fatalf("during=%v: ReadYield missed the datagram that arrived while it yielded", during)
		}
		if n := calls.Load(); n != 2 {
			t.Errorf("during=%v: %d recvmsg calls for an empty read, a yield and a datagram; want 2", during, n)
		}
		c.Close()
		peer.Close()
	}

	u, peer := udpPair(t)
	defer peer.Close()
	c := New(u, Config{}).(*udp)
	defer c.Close()
	calls := countRecvmsgs(t, u)
	_, _, _, err := c.ReadYield(make([]byte, MaxDatagram), func() bool { return false })
	if !errors.Is(err, ErrWouldBlock) || calls.Load() != 1 {
		t.Errorf("a yield that says not to wait: %v after %d recvmsg calls; want ErrWouldBlock after 1", err, calls.Load())
	}
}

// udpPair opens two UDP sockets on loopback.
func udpPair(t *testing.T) (u, peer *net.UDPConn) {
	t.Helper()
	u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	peer, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		u.Close()
		t.Fatal(err)
	}
	return u, peer
}

// A new endpoint's first send takes its scratch (the iovecs and address
// of one sendmsg) from a pool of the package, which an earlier
// endpoint's send filled: a pool per endpoint allocated it, and its own
// per-P slots, for the first send of every socket, which a program that
// opens a Socket per dial pays for each connection. Tried up to ten
// times, since a garbage collection may empty the pool in between, and
// under the race detector sync.Pool drops a quarter of its Puts on
// purpose (ten misses in a row: about one run in a million).
func TestFirstSendAllocatesNoScratch(t *testing.T) {
	var allocs uint64
	for range 10 {
		warm, peer := udpPair(t)
		w := New(warm, Config{})
		to := Addr{AP: peer.LocalAddr().(*net.UDPAddr).AddrPort()}
		ds := []Datagram{{Head: []byte("xy")}}
		w.Send(to, ds)
		u, p2 := udpPair(t)
		c := New(u, Config{})
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		r := c.Send(to, ds)
		runtime.ReadMemStats(&after)
		for _, x := range []interface{ Close() error }{w, c, peer, p2} {
			x.Close()
		}
		if r.Datagrams != 1 {
			t.Fatalf("the first send sent %d datagrams, want 1", r.Datagrams)
		}
		if allocs = after.Mallocs - before.Mallocs; allocs == 0 {
			return
		}
	}
	t.Errorf("a new endpoint's first send made %d allocations, want 0", allocs)
}
