package netsim

import (
	"container/heap"
	"fmt"
	"hash/fnv"
	"net"
	"sync"
	"time"
)

// Network joins PacketConns with Links on the wall clock (time.Now,
// time.AfterFunc), so that the IO layer, which needs a real net.PacketConn
// and real goroutines, can be tested over the same Link model as the
// protocol is under Sim. Inside a testing/synctest bubble the wall clock is
// the bubble's fake clock, so such tests run in virtual time: a 30 ms delay
// takes 30 ms of bubble time and no real time. Create the Network and its
// PacketConns inside the bubble that uses them, since synctest forbids
// sharing channels and timers across bubbles.
//
// Determinism: a link's fates (loss, duplication, jitter, queue drops) come
// from a PCG stream derived from the seed, so the same sequence of
// transmissions on a link meets the same fates in every run. Unlike Sim,
// the order of events is not reproducible bit for bit: goroutines and
// timers at the same instant run in an order the runtime chooses, so two
// senders writing at once may reach the link in either order, and
// arrivals on different paths at one instant may be delivered in either
// order. Arrivals on one path are always delivered in the Link's arrival
// order (ties by send order), so a FIFO link stays FIFO even though
// synctest gives a whole burst of writes the same arrival instant.
//
// Network is safe for concurrent use. One mutex guards every Link, so that
// each Link sees non-decreasing send times, as Link.Transmit requires.
type Network struct {
	mu   sync.Mutex
	seed uint64

	conns    map[Addr]*PacketConn // lookup only
	explicit map[pair]*path       // made by Connect
	lazy     map[pair]*path       // made from the default link on first use
	cut      map[pair]bool        // partitioned pairs, keyed by unordered pair

	dflt    LinkConfig
	hasDflt bool
	links   uint64 // links made by Connect, for deriving their rng streams
}

// pair is an ordered (from, to) pair of addresses, or for cut an unordered
// one normalised by cutKey.
type pair struct{ from, to Addr }

// cutKey normalises {a, b} so that Partition(a, b) and Partition(b, a) name
// the same cut.
func cutKey(a, b Addr) pair {
	if b < a {
		a, b = b, a
	}
	return pair{a, b}
}

// NewNetwork returns an empty network whose links draw their randomness
// from streams derived from seed with DerivedRand. Links made by Connect
// use the same streams, in the same order, as Sim.Connect does (1+i for the
// i-th link), so a path configured identically in a Sim and a Network makes
// the same decisions for the same sequence of packets.
func NewNetwork(seed uint64) *Network {
	return &Network{
		seed:     seed,
		conns:    make(map[Addr]*PacketConn),
		explicit: make(map[pair]*path),
		lazy:     make(map[pair]*path),
		cut:      make(map[pair]bool),
	}
}

// Seed returns the seed the Network was created with, for failure messages.
func (n *Network) Seed() uint64 { return n.seed }

// Connect creates the two directions of a path between a and b, with
// independent configurations, like Sim.Connect. The addresses need not be
// listening yet: a datagram is matched to a PacketConn only when it comes
// off the link. An explicit path takes precedence over the default link
// from then on. Connect panics if a and b are the same address or already
// connected, since that is always a bug in the test's setup.
func (n *Network) Connect(a, b Addr, aToB, bToA LinkConfig) {
	if a == b {
		panic("netsim: cannot connect an address to itself")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, dup := n.explicit[pair{a, b}]; dup {
		panic(fmt.Sprintf("netsim: %q and %q are already connected", a, b))
	}
	n.links++
	n.explicit[pair{a, b}] = n.newPath(a, b, NewLink(aToB, DerivedRand(n.seed, n.links)))
	n.links++
	n.explicit[pair{b, a}] = n.newPath(b, a, NewLink(bToA, DerivedRand(n.seed, n.links)))
}

// SetDefaultLink makes every ordered pair of addresses with no explicit
// Connect reachable over a link with configuration cfg, so that any number
// of dialers can reach one listener without the test knowing their
// addresses in advance. Each such ordered pair gets its own Link (own
// queue, own rng stream) on first use. Its stream is derived from the
// pair's addresses rather than from creation order, because lazy creation
// happens in whatever order concurrent senders get there. Pairs that
// already carried traffic keep their Link and its configuration.
func (n *Network) SetDefaultLink(cfg LinkConfig) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.dflt, n.hasDflt = cfg, true
}

// Link returns the link from one address to another, or nil if there is no
// explicit one and the default link has not been used for that pair yet.
// It is meant for tests: setting OnTransmit before traffic starts, or
// reading Stats once the senders have stopped. A Link is not safe for
// concurrent use and WriteTo drives it under the Network's mutex, so while
// traffic may be flowing use LinkStats instead. OnTransmit, if set, runs
// under that mutex, so it must not call back into the Network.
func (n *Network) Link(from, to Addr) *Link {
	n.mu.Lock()
	defer n.mu.Unlock()
	if p := n.lookup(from, to); p != nil {
		return p.link
	}
	return nil
}

// LinkStats returns a snapshot of the counters of the link from one address
// to another, taken under the Network's mutex so that it may be called
// while traffic flows. ok is false if there is no such link (yet).
func (n *Network) LinkStats(from, to Addr) (st LinkStats, ok bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if p := n.lookup(from, to); p != nil {
		return p.link.Stats(), true
	}
	return LinkStats{}, false
}

// Partition cuts (cut true) or restores (cut false) both directions between
// a and b, modelling a peer that vanished or a path that failed. While the
// pair is cut, WriteTo drops datagrams between them before they reach the
// link (counted in PacketConnStats.NoRoute), and datagrams already in
// flight that come off the link are dropped too (counted in
// Undelivered): a packet survives only if the path was up both when it was
// sent and when it arrived.
func (n *Network) Partition(a, b Addr, cut bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if cut {
		n.cut[cutKey(a, b)] = true
	} else {
		delete(n.cut, cutKey(a, b))
	}
}

// Listen returns a PacketConn bound to addr. It panics if another open
// PacketConn has that address, since that is always a bug in the test's
// setup; an address whose PacketConn was closed may be reused, as a UDP
// port may.
func (n *Network) Listen(addr Addr, opts ...PacketConnOption) *PacketConn {
	o := packetConnOptions{queueLen: DefaultQueueLen}
	for _, opt := range opts {
		opt(&o)
	}
	c := newPacketConn(n, addr, o)
	n.mu.Lock()
	defer n.mu.Unlock()
	if old := n.conns[addr]; old != nil && !old.isClosed() {
		panic(fmt.Sprintf("netsim: address %q already in use", addr))
	}
	n.conns[addr] = c
	return c
}

// unlisten removes c from the address table if it is still there.
func (n *Network) unlisten(c *PacketConn) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conns[c.addr] == c {
		delete(n.conns, c.addr)
	}
}

// lookup returns the path from one address to another, creating it from the
// default link if there is one. n.mu must be held.
func (n *Network) lookup(from, to Addr) *path {
	k := pair{from, to}
	if p := n.explicit[k]; p != nil {
		return p
	}
	if p := n.lazy[k]; p != nil {
		return p
	}
	return nil
}

// route is lookup plus lazy creation from the default link. n.mu must be
// held.
func (n *Network) route(from, to Addr) *path {
	if p := n.lookup(from, to); p != nil || !n.hasDflt {
		return p
	}
	p := n.newPath(from, to, NewLink(n.dflt, DerivedRand(n.seed, pairStream(from, to))))
	n.lazy[pair{from, to}] = p
	return p
}

// pairStream derives a default link's rng stream number from its addresses.
// The top bit keeps it apart from the small creation indices Connect uses.
func pairStream(from, to Addr) uint64 {
	h := fnv.New64a()
	h.Write([]byte(from))
	h.Write([]byte{0})
	h.Write([]byte(to))
	return h.Sum64() | 1<<63
}

// send is WriteTo's part under the Network's mutex: it decides the fate of
// b on the link from src to to and queues the arriving copies on the path.
// It reports false if there was no route (no link, or the pair is cut).
func (n *Network) send(src *PacketConn, to Addr, b []byte) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cut[cutKey(src.addr, to)] {
		return false
	}
	p := n.route(src.addr, to)
	if p == nil {
		return false
	}
	// Read the clock under the mutex, so that the link sees
	// non-decreasing send times even with concurrent writers.
	now := time.Now()
	p.arr = p.link.Transmit(now, len(b), p.arr[:0])
	if len(p.arr) == 0 {
		return true
	}
	buf := append([]byte(nil), b...) // one copy, shared by a duplicate: nobody writes to it
	for _, at := range p.arr {
		p.push(inFlight{at: at, seq: p.seq, src: src, b: buf})
		p.seq++
	}
	p.arm(now)
	return true
}

// path is one direction between two addresses: its Link and the datagrams
// that are on it, ordered by arrival. A single timer per path, armed for
// the earliest arrival, delivers them in order; one timer per datagram
// would let the runtime deliver datagrams with equal arrival times (every
// burst sent at one virtual instant over an unlimited link) in any order,
// turning a FIFO link into a reordering one.
type path struct {
	n        *Network
	from, to Addr
	link     *Link
	arr      []time.Time // scratch for Transmit

	flight  flightHeap
	seq     uint64 // send order, the tie-breaker among equal arrivals
	timer   *time.Timer
	armed   bool
	armedAt time.Time
}

// inFlight is one copy of a datagram on a path.
type inFlight struct {
	at  time.Time
	seq uint64
	src *PacketConn
	b   []byte
}

func (n *Network) newPath(from, to Addr, l *Link) *path {
	return &path{n: n, from: from, to: to, link: l}
}

func (p *path) push(f inFlight) { heap.Push(&p.flight, f) }

// arm makes sure the timer will fire no later than the earliest arrival.
// n.mu must be held.
func (p *path) arm(now time.Time) {
	if len(p.flight) == 0 {
		return
	}
	at := p.flight[0].at
	if p.armed && !at.Before(p.armedAt) {
		return
	}
	d := at.Sub(now)
	if p.timer == nil {
		p.timer = time.AfterFunc(d, p.fire)
	} else {
		p.timer.Reset(d)
	}
	p.armed, p.armedAt = true, at
}

// fire delivers every datagram that is due, in arrival order, and re-arms
// the timer for the next. Delivery happens under the Network's mutex so that
// a later firing of the same path cannot overtake an earlier one's batch.
// A spurious firing (after a Reset raced with the timer) finds nothing due
// and just re-arms.
func (p *path) fire() {
	n := p.n
	n.mu.Lock()
	defer n.mu.Unlock()
	p.armed = false
	now := time.Now()
	cut := n.cut[cutKey(p.from, p.to)]
	for len(p.flight) > 0 && !p.flight[0].at.After(now) {
		f := heap.Pop(&p.flight).(inFlight)
		dst := n.conns[p.to]
		if cut || dst == nil || !dst.enqueue(f.src.laddr, f.b) {
			f.src.stats.undelivered.Add(1)
		}
	}
	p.arm(now)
}

// flightHeap implements heap.Interface ordered by (at, seq).
type flightHeap []inFlight

func (h flightHeap) Len() int { return len(h) }

func (h flightHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}

func (h flightHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }

func (h *flightHeap) Push(x any) { *h = append(*h, x.(inFlight)) }

func (h *flightHeap) Pop() any {
	old := *h
	k := len(old) - 1
	f := old[k]
	old[k] = inFlight{} // drop references to the buffer and sender
	*h = old[:k]
	return f
}

// Compile-time check that PacketConn is a net.PacketConn.
var _ net.PacketConn = (*PacketConn)(nil)
