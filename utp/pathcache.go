package utp

import (
	"net/netip"
	"sync"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/packetio"
)

// pathCache remembers what path MTU discovery learned per destination
// address, so that the next connection to it starts at the size an
// earlier one confirmed instead of the base (libtorrent keeps a similar
// per-destination limit, utp_socket_manager.cpp). Entries expire: a
// route changes, and RFC 1981 section 5.3 ages path MTU estimates after
// ten minutes (RFC 8899's PMTU_RAISE_TIMER is the same 600 s).
type pathCache struct {
	mu sync.Mutex // guards m; a leaf: never held while taking another lock
	m  map[netip.Addr]pathEntry
}

type pathEntry struct {
	mtu     int // largest datagram (UDP payload) confirmed; 0: none yet
	ceiling int // the route's MTU as a datagram size
	expires time.Time
}

const (
	pathCacheTTL = 10 * time.Minute
	// pathCacheMax bounds the entries, so that SYNs from many sources
	// cannot grow the cache without end.
	pathCacheMax = 4096
)

// get returns addr's entry if it has not expired.
func (pc *pathCache) get(addr netip.Addr, now time.Time) (pathEntry, bool) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	e, ok := pc.m[addr]
	if !ok || now.After(e.expires) {
		return pathEntry{}, false
	}
	return e, true
}

// put stores addr's entry, making room if the cache is full: expired
// entries go first, then any.
func (pc *pathCache) put(addr netip.Addr, e pathEntry) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.m == nil {
		pc.m = make(map[netip.Addr]pathEntry)
	}
	if _, ok := pc.m[addr]; !ok && len(pc.m) >= pathCacheMax {
		now := e.expires.Add(-pathCacheTTL)
		for a, old := range pc.m {
			if now.After(old.expires) || len(pc.m) > pathCacheMax/2 {
				delete(pc.m, a)
			}
		}
	}
	pc.m[addr] = e
}

// learned records a size a connection to addr confirmed (or fell back
// to), keeping the route's ceiling, and restarts the entry's clock.
func (pc *pathCache) learned(addr netip.Addr, mtu int, now time.Time) {
	pc.mu.Lock()
	e, ok := pc.m[addr]
	pc.mu.Unlock()
	if !ok {
		return
	}
	e.mtu, e.expires = mtu, now.Add(pathCacheTTL)
	pc.put(addr, e)
}

// pathInfo is what a new connection's discovery starts from.
type pathInfo struct {
	on       bool
	base     int // BASE_PLPMTU: a 1,280-byte IP packet
	floor    int // MIN_PLPMTU: the base over IPv6, a 576-byte packet over IPv4
	ceiling  int
	start    int
	overhead int
}

// ipv6Overhead is the IPv6 and UDP header bytes of a datagram.
const ipv6Overhead = 48

// minIPv6MTU is the MTU every IPv6 link carries (RFC 8200 section 5);
// the base for IPv4 too, which is nearly always as generous.
const minIPv6MTU = 1280

// minIPv4Datagram is the IP packet every IPv4 host takes whole (RFC 791,
// RFC 1122 3.3.2): the floor an IPv4 path narrower than the base falls
// to, as libtorrent's uTP floor is (TORRENT_INET_MIN_MTU, utp_stream.cpp).
const minIPv4Datagram = 576

// pathFor returns where discovery toward to starts: off unless the
// Socket sends UDP itself with DF set; else from the cache, or from the
// route's MTU, which a route lookup (no packet) gives. Over loopback the
// route is the whole path: discovery starts, and ends, at its MTU.
func (s *Socket) pathFor(to source, now time.Time) pathInfo {
	if !s.pio.Caps().DontFragment || to.Net != nil || !to.AP.IsValid() {
		return pathInfo{}
	}
	a := to.AP.Addr()
	overhead, floor := ipv6Overhead, minIPv6MTU-ipv6Overhead
	if a.Is4() {
		overhead = 28 // IPv4 and UDP headers
		floor = minIPv4Datagram - overhead
	}
	e, ok := s.paths.get(a, now)
	if !ok {
		e = pathEntry{ceiling: maxUDPPayload, expires: now.Add(pathCacheTTL)}
		if mtu := packetio.RouteMTU(s.pio, a, now); mtu > 0 {
			e.ceiling = max(floor, min(mtu-overhead, maxUDPPayload))
		}
		if a.IsLoopback() {
			// Loopback keeps its 65,000-byte payloads: with 65,453 (the
			// largest a datagram holds), TestUDPManySendersNoKernelDrops
			// saw the kernel drop datagrams at the receiver (22 and 30 in
			// two runs; none in three at 65,000), for 0.7% more payload.
			e.ceiling = min(e.ceiling, loopbackPacketSize+maxOverhead)
			e.mtu = e.ceiling
		}
		s.paths.put(a, e)
	}
	base := minIPv6MTU - overhead
	if a.IsLoopback() {
		// The device is the path, and it does not shrink under a
		// connection: no search, and no black hole to watch for.
		base, floor = e.ceiling, e.ceiling
	}
	return pathInfo{on: true, base: base, floor: min(floor, base), ceiling: e.ceiling, start: e.mtu, overhead: overhead}
}

// maxUDPPayload is the largest UDP payload over IPv4: 65,535 less the IP
// and UDP headers.
const maxUDPPayload = 65507
