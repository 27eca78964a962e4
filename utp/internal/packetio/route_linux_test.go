package packetio

import (
	"net"
	"net/netip"
	"os"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// countRouteLookups counts the route lookups that reach the kernel until
// the test ends, from an empty cache.
func countRouteLookups(t *testing.T) *int {
	n := new(int)
	routes.mu.Lock()
	routes.m = nil
	routes.mu.Unlock()
	testRouteLookup = func() { *n++ }
	t.Cleanup(func() { testRouteLookup = nil })
	return n
}

func listenLoopback(t *testing.T) Conn {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := New(pc, Config{})
	t.Cleanup(func() { c.Close() })
	return c
}

// TestRouteMTUSharedBetweenSockets checks that sockets of one namespace
// share a route's lookup until it expires: a program that opens a socket
// per dial pays four system calls for it once, not on every dial.
func TestRouteMTUSharedBetweenSockets(t *testing.T) {
	lookups := countRouteLookups(t)
	lo := netip.MustParseAddr("127.0.0.1")
	now := time.Unix(1000, 0)
	a, b := listenLoopback(t), listenLoopback(t)
	first := RouteMTU(a, lo, now)
	if first <= 0 {
		t.Fatalf("route MTU of loopback: %d", first)
	}
	if got := RouteMTU(b, lo, now.Add(routeTTL/2)); got != first || *lookups != 1 {
		t.Fatalf("second socket: MTU %d (first %d), %d lookups; want the first's, 1 lookup", got, first, *lookups)
	}
	if got := RouteMTU(b, lo, now.Add(routeTTL+time.Millisecond)); got != first || *lookups != 2 {
		t.Fatalf("after the TTL: MTU %d, %d lookups; want %d from a second lookup", got, *lookups, first)
	}
}

// TestRouteMTUPerNamespace checks that a socket in another network
// namespace, whose loopback has another MTU, gets its own namespace's
// route, and that a thread outside that namespace gets no answer for it
// rather than its own namespace's. Needs root (CI runs as root).
func TestRouteMTUPerNamespace(t *testing.T) {
	requireRoot(t, "to create a network namespace")
	countRouteLookups(t)
	lo := netip.MustParseAddr("127.0.0.1")
	now := time.Unix(1000, 0)
	root := listenLoopback(t)
	rootMTU := RouteMTU(root, lo, now)
	const nsMTU = 9000
	inside := make(chan Conn, 1)
	innerMTU := make(chan int, 1)
	release := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread, in its own namespace, exits with
		// the goroutine, and the namespace with its last socket.
		runtime.LockOSThread()
		c, err := inNewNetns(nsMTU)
		if err != nil {
			errc <- err
			return
		}
		inside <- c
		innerMTU <- RouteMTU(c, lo, now)
		<-release
		errc <- nil
	}()
	var c Conn
	select {
	case c = <-inside:
	case err := <-errc:
		t.Fatal(err)
	}
	defer c.Close()
	got := <-innerMTU
	close(release)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if rootMTU == nsMTU || got != nsMTU {
		t.Fatalf("route MTU in the namespace %d, want %d (the root namespace's is %d)", got, nsMTU, rootMTU)
	}
	// This goroutine's thread is in the root namespace: it shares the
	// namespace's cached answer, and finds none of its own.
	if got := RouteMTU(c, lo, now); got != nsMTU {
		t.Errorf("cached route MTU for the namespace's socket, asked from outside: %d, want %d", got, nsMTU)
	}
	if got := RouteMTU(c, netip.MustParseAddr("127.0.0.2"), now); got != 0 {
		t.Errorf("a lookup from outside the socket's namespace answered %d, want 0 (unknown)", got)
	}
	if got := RouteMTU(root, lo, now); got != rootMTU {
		t.Errorf("root namespace's route MTU %d after the namespace's lookups, want %d", got, rootMTU)
	}
}

// requireRoot skips a test that needs root for why; CI runs as root.
func requireRoot(t *testing.T, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root " + why)
	}
}

// inNewNetns moves the calling thread, which must be locked, into a new
// network namespace whose loopback is up with the given MTU, and opens a
// UDP endpoint on it there.
func inNewNetns(mtu int) (Conn, error) {
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		return nil, err
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return nil, err
	}
	ifr.SetUint32(uint32(mtu))
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFMTU, ifr); err != nil {
		return nil, err
	}
	ifr.SetUint16(unix.IFF_UP | unix.IFF_LOOPBACK | unix.IFF_RUNNING)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return nil, err
	}
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return New(pc, Config{}), nil
}
