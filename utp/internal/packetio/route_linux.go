package packetio

import (
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The MTU of the route to a destination bounds path MTU discovery. The
// kernel tells it only to a socket connected to that destination, so a
// lookup costs four system calls (socket, connect, getsockopt, close):
// as much again as the rest of a dial's setup on loopback, for a program
// that opens a Socket per dial. Lookups are therefore shared by every
// socket of the process in one network namespace, for routeTTL.
//
// The namespace is the socket's (SO_NETNS_COOKIE, Linux 5.14: a number
// never reused, unlike a namespace's inode), but the lookup socket is
// opened in the calling thread's, which differs when a program opened
// its socket on a thread that had entered another namespace and calls
// from an ordinary one. The lookup socket's cookie is compared with the
// socket's: an answer from another namespace is no answer (0), rather
// than the MTU of a route that socket's datagrams never take.

// routeTTL is how long a route's MTU is reused. A route's MTU changes
// rarely (a link reconfigured, an ICMP "too big" the kernel learned),
// and discovery copes with a stale bound either way: a ceiling too high
// costs probes that fail, one too low caps packets until it expires.
// One second keeps a program that dials thousands of times a second to
// one lookup a second, and changes visible almost at once.
const routeTTL = time.Second

// routeCacheMax bounds the entries, so that dials to many destinations
// cannot grow the cache without end.
const routeCacheMax = 4096

type routeKey struct {
	netns uint64 // SO_NETNS_COOKIE
	addr  netip.Addr
}

type routeEntry struct {
	mtu     int
	expires time.Time
}

// routeCache holds the route MTUs looked up, per namespace and
// destination.
type routeCache struct {
	mu sync.Mutex // guards m; a leaf, never held across a system call
	m  map[routeKey]routeEntry
}

// routes is the process's cache: route lookups are shared by every
// socket in a namespace, which a per-socket cache would not do for a
// program that opens a socket per dial.
var routes routeCache

func (rc *routeCache) get(k routeKey, now time.Time) (int, bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	e, ok := rc.m[k]
	if !ok || now.After(e.expires) {
		return 0, false
	}
	return e.mtu, true
}

// put stores k's MTU, emptying the cache first when it is full (a
// lookup is cheap next to the cost of tracking ages).
func (rc *routeCache) put(k routeKey, mtu int, now time.Time) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.m == nil || len(rc.m) >= routeCacheMax {
		rc.m = make(map[routeKey]routeEntry)
	}
	rc.m[k] = routeEntry{mtu: mtu, expires: now.Add(routeTTL)}
}

// netnsCookie is the network namespace of a socket, read at its first
// route lookup: most sockets never need it.
type netnsCookie struct {
	once sync.Once
	v    uint64 // 0: unknown (before Linux 5.14)
}

func (n *netnsCookie) get(rc syscall.RawConn) uint64 {
	n.once.Do(func() {
		_ = rc.Control(func(fd uintptr) { n.v = socketNetns(int(fd)) })
	})
	return n.v
}

// socketNetns returns the namespace cookie of the socket fd, 0 if the
// kernel does not tell.
func socketNetns(fd int) uint64 {
	v, err := unix.GetsockoptUint64(fd, unix.SOL_SOCKET, unix.SO_NETNS_COOKIE)
	if err != nil {
		return 0
	}
	return v
}

// testRouteLookup, when a test sets it, is told of every lookup that
// reaches the kernel.
var testRouteLookup func()

// RouteMTU returns the MTU of the route from c's socket to addr (the
// outgoing link's, or a smaller one the kernel learned), as now sees
// it; 0 if unknown: c is not a UDP socket, there is no route, or the
// calling thread is in another network namespace than the socket.
func RouteMTU(c Conn, addr netip.Addr, now time.Time) int {
	u, ok := c.(*udp)
	if !ok || u.os.rc == nil {
		return 0
	}
	ns := u.os.netns.get(u.os.rc)
	if ns == 0 {
		mtu, _ := lookupRouteMTU(addr, 0)
		return mtu
	}
	k := routeKey{netns: ns, addr: addr}
	if mtu, ok := routes.get(k, now); ok {
		return mtu
	}
	mtu, ok := lookupRouteMTU(addr, ns)
	if ok {
		routes.put(k, mtu, now)
	}
	return mtu
}

// lookupRouteMTU reads the MTU of the route to addr from a UDP socket
// connected to it, which sends nothing. When ns is not 0 and the socket
// is not in namespace ns, it reports no answer (0, false); ok is also
// true for a route that does not exist (0).
func lookupRouteMTU(addr netip.Addr, ns uint64) (mtu int, ok bool) {
	if testRouteLookup != nil {
		testRouteLookup()
	}
	family, level, opt := unix.AF_INET6, unix.IPPROTO_IPV6, unix.IPV6_MTU
	var sa unix.Sockaddr
	if addr.Is4() {
		family, level, opt = unix.AF_INET, unix.IPPROTO_IP, unix.IP_MTU
		sa = &unix.SockaddrInet4{Port: 9, Addr: addr.As4()}
	} else {
		sa6 := &unix.SockaddrInet6{Port: 9, Addr: addr.As16()}
		if z := addr.Zone(); z != "" {
			if ifi, err := net.InterfaceByName(z); err == nil {
				sa6.ZoneId = uint32(ifi.Index)
			}
		}
		sa = sa6
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, false
	}
	defer unix.Close(fd)
	if ns != 0 && socketNetns(fd) != ns {
		return 0, false
	}
	if unix.Connect(fd, sa) != nil {
		return 0, true
	}
	mtu, err = unix.GetsockoptInt(fd, level, opt)
	if err != nil {
		return 0, true
	}
	return mtu, true
}
