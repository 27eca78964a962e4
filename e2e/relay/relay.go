// Package relay is a UDP relay for tests: it forwards datagrams between two
// loopback endpoints and impairs them on the way, each direction on its
// own: a fixed delay, random loss, reordering and duplication drawn from a
// seeded math/rand/v2 source, and drops chosen by a predicate on the raw
// datagram (to lose, say, the first FIN of a uTP stream), and changes to
// a datagram's bytes made by a hook (to corrupt a payload).
//
// Both endpoints send to the relay's address; the relay tells them apart by
// source and forwards each datagram to the other one from its own address,
// so each endpoint believes the relay is its peer.
//
// The fate of the n-th datagram in a direction (lost, duplicated, held
// back) depends only on the seed and n, never on timing: the random
// draws are made in arrival order by one goroutine, the same number for
// every datagram. Which datagram is n-th still depends on the endpoints'
// timing, so a run is reproducible in distribution, not packet for packet.
package relay

import (
	"container/heap"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Link describes the impairments of one direction. The zero Link forwards
// every datagram at once.
type Link struct {
	// Delay is added to every datagram.
	Delay time.Duration
	// Loss is the probability that a datagram is dropped.
	Loss float64
	// Duplicate is the probability that a datagram is delivered twice.
	Duplicate float64
	// Reorder is the probability that a datagram is held back by
	// ReorderDelay more than Delay, so that later ones overtake it.
	Reorder float64
	// ReorderDelay is the extra delay of a reordered datagram. Default 5 ms.
	ReorderDelay time.Duration
	// Drop, if set, sees every datagram before the random impairments and
	// drops it when it returns true. It is called from the relay's one
	// reading goroutine and must not retain b.
	Drop func(b []byte) bool
	// Mangle, if set, sees every datagram that is to be delivered (after
	// Drop and the random loss) and may change its bytes in place, to
	// corrupt a payload, say; a duplicate carries the same bytes. It
	// returns whether it changed anything (counted as Mangled). It is
	// called from the relay's one reading goroutine and must not retain b.
	Mangle func(b []byte) bool
}

// Config configures a Relay.
type Config struct {
	AToB, BToA Link
	// Seed seeds the random impairments; each direction draws from its own
	// stream derived from it.
	Seed uint64
	// QueueLimit bounds the datagrams held for delayed delivery across both
	// directions; beyond it new ones are dropped and counted as Overflow.
	// Default 65536.
	QueueLimit int
}

// Counters count what happened to the datagrams of one direction.
type Counters struct {
	Received   uint64 // datagrams read from the sending endpoint
	Delivered  uint64 // datagrams written to the receiving endpoint, duplicates included
	Bytes      uint64 // bytes delivered
	Lost       uint64 // dropped at random (Link.Loss)
	Filtered   uint64 // dropped by Link.Drop
	Duplicated uint64 // delivered a second time
	Reordered  uint64 // held back by ReorderDelay
	Overflow   uint64 // dropped because the queue was full
	SendErrors uint64 // writes that failed
	Mangled    uint64 // changed by Link.Mangle
}

type counters struct {
	received, delivered, bytes, lost, filtered  atomic.Uint64
	duplicated, reordered, overflow, sendErrors atomic.Uint64
	mangled                                     atomic.Uint64
}

func (c *counters) snapshot() Counters {
	return Counters{
		Received: c.received.Load(), Delivered: c.delivered.Load(),
		Bytes: c.bytes.Load(), Lost: c.lost.Load(), Filtered: c.filtered.Load(),
		Duplicated: c.duplicated.Load(), Reordered: c.reordered.Load(),
		Overflow: c.overflow.Load(), SendErrors: c.sendErrors.Load(),
		Mangled: c.mangled.Load(),
	}
}

// direction is one way through the relay.
type direction struct {
	link Link
	to   netip.AddrPort
	rng  *rand.Rand // used only by the reading goroutine
	n    counters
}

// Relay forwards datagrams between two endpoints. Close stops it.
type Relay struct {
	pc        *net.UDPConn
	a, b      netip.AddrPort
	dirs      [2]*direction // 0: a to b, 1: b to a
	limit     int
	unknown   atomic.Uint64
	mu        sync.Mutex
	queue     pending // guarded by mu
	seq       uint64  // guarded by mu
	wake      chan struct{}
	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// New starts a relay on 127.0.0.1 between endpoints a and b, which must
// both send to Addr.
func New(a, b netip.AddrPort, cfg Config) (*Relay, error) {
	if !a.IsValid() || !b.IsValid() || a == b {
		return nil, fmt.Errorf("relay: need two distinct endpoints, got %v and %v", a, b)
	}
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	// Loopback bursts overflow Linux's default 208 KiB socket buffer; losses
	// there would be impairments nobody asked for.
	_ = pc.SetReadBuffer(8 << 20)
	_ = pc.SetWriteBuffer(8 << 20)
	limit := cfg.QueueLimit
	if limit <= 0 {
		limit = 1 << 16
	}
	r := &Relay{
		pc: pc, a: unmap(a), b: unmap(b), limit: limit,
		wake: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	links := [2]Link{cfg.AToB, cfg.BToA}
	to := [2]netip.AddrPort{r.b, r.a}
	for i := range r.dirs {
		l := links[i]
		if l.ReorderDelay <= 0 {
			l.ReorderDelay = 5 * time.Millisecond
		}
		r.dirs[i] = &direction{link: l, to: to[i], rng: rand.New(rand.NewPCG(cfg.Seed, uint64(i)))}
	}
	r.wg.Add(2)
	go r.readLoop()
	go r.sendLoop()
	return r, nil
}

// Addr is where both endpoints send.
func (r *Relay) Addr() *net.UDPAddr { return r.pc.LocalAddr().(*net.UDPAddr) }

// AddrPort is Addr as a netip.AddrPort.
func (r *Relay) AddrPort() netip.AddrPort { return r.pc.LocalAddr().(*net.UDPAddr).AddrPort() }

// Stats returns the counters of each direction.
func (r *Relay) Stats() (aToB, bToA Counters) {
	return r.dirs[0].n.snapshot(), r.dirs[1].n.snapshot()
}

// Unknown counts datagrams from sources other than the two endpoints
// (dropped).
func (r *Relay) Unknown() uint64 { return r.unknown.Load() }

// Close stops the relay: its socket is closed and both of its goroutines
// have returned when Close returns. Datagrams still queued are dropped.
func (r *Relay) Close() error {
	var err error
	r.closeOnce.Do(func() {
		close(r.done)
		err = r.pc.Close()
		r.wg.Wait()
	})
	return err
}

func (r *Relay) readLoop() {
	defer r.wg.Done()
	buf := make([]byte, 1<<16)
	for {
		n, from, err := r.pc.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-r.done:
				return
			default:
				continue // a transient error (ICMP unreachable echo): keep going
			}
		}
		var d *direction
		switch unmap(from) {
		case r.a:
			d = r.dirs[0]
		case r.b:
			d = r.dirs[1]
		default:
			r.unknown.Add(1)
			continue
		}
		r.admit(d, buf[:n])
	}
}

// admit decides the fate of one datagram and queues its deliveries.
// It draws the same three random numbers for every datagram, in arrival
// order, so that fates depend only on the seed and the datagram's index.
func (r *Relay) admit(d *direction, b []byte) {
	d.n.received.Add(1)
	lost := d.rng.Float64() < d.link.Loss
	dup := d.rng.Float64() < d.link.Duplicate
	reorder := d.rng.Float64() < d.link.Reorder
	if d.link.Drop != nil && d.link.Drop(b) {
		d.n.filtered.Add(1)
		return
	}
	if lost {
		d.n.lost.Add(1)
		return
	}
	due := time.Now().Add(d.link.Delay)
	if reorder {
		d.n.reordered.Add(1)
		due = due.Add(d.link.ReorderDelay)
	}
	p := append([]byte(nil), b...)
	if d.link.Mangle != nil && d.link.Mangle(p) {
		d.n.mangled.Add(1)
	}
	r.enqueue(d, due, p)
	if dup {
		d.n.duplicated.Add(1)
		r.enqueue(d, due, p)
	}
}

func (r *Relay) enqueue(d *direction, due time.Time, p []byte) {
	r.mu.Lock()
	if r.queue.Len() >= r.limit {
		r.mu.Unlock()
		d.n.overflow.Add(1)
		return
	}
	r.seq++
	heap.Push(&r.queue, item{due: due, seq: r.seq, dir: d, b: p})
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// sendLoop delivers queued datagrams when they are due, in (due, arrival)
// order.
func (r *Relay) sendLoop() {
	defer r.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		r.mu.Lock()
		var next item
		wait := time.Duration(-1) // negative: nothing queued
		if r.queue.Len() > 0 {
			next = r.queue[0]
			if wait = time.Until(next.due); wait <= 0 {
				heap.Pop(&r.queue)
			}
		}
		r.mu.Unlock()
		if wait <= 0 && next.dir != nil {
			r.deliver(next)
			continue
		}
		var timeout <-chan time.Time
		if wait > 0 {
			timer.Reset(wait)
			timeout = timer.C
		}
		select {
		case <-r.done:
			return
		case <-r.wake:
		case <-timeout:
		}
		// Since Go 1.23 a stopped or reset timer delivers no stale value,
		// so no draining is needed.
		timer.Stop()
	}
}

func (r *Relay) deliver(it item) {
	if _, err := r.pc.WriteToUDPAddrPort(it.b, it.dir.to); err != nil {
		it.dir.n.sendErrors.Add(1)
		return
	}
	it.dir.n.delivered.Add(1)
	it.dir.n.bytes.Add(uint64(len(it.b)))
}

// unmap turns an IPv4-mapped IPv6 address into IPv4, so that one endpoint
// compares equal however the socket API reports it.
func unmap(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// DropFirst returns a Link.Drop predicate that drops the first n datagrams
// for which match returns true and lets every other datagram through. It
// is safe for concurrent use.
func DropFirst(n int, match func(b []byte) bool) func(b []byte) bool {
	var left atomic.Int64
	left.Store(int64(n))
	return func(b []byte) bool {
		if !match(b) {
			return false
		}
		return left.Add(-1) >= 0
	}
}

type item struct {
	due time.Time
	seq uint64
	dir *direction
	b   []byte
}

// pending is a min-heap of items by (due, seq).
type pending []item

func (p pending) Len() int { return len(p) }
func (p pending) Less(i, j int) bool {
	if !p[i].due.Equal(p[j].due) {
		return p[i].due.Before(p[j].due)
	}
	return p[i].seq < p[j].seq
}
func (p pending) Swap(i, j int) { p[i], p[j] = p[j], p[i] }
func (p *pending) Push(x any)   { *p = append(*p, x.(item)) }
func (p *pending) Pop() any {
	old := *p
	it := old[len(old)-1]
	old[len(old)-1] = item{}
	*p = old[:len(old)-1]
	return it
}
