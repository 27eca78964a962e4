package netsim

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"time"
)

// epoch is where every Sim's clock starts. A fixed, unremarkable instant
// (rather than the zero time.Time, which callers use as "unset") keeps runs
// reproducible and lets code under test treat times as real.
var epoch = time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC)

// maxSameInstant bounds how many events may run without the clock moving.
// Only a scheduling livelock (a callback re-scheduling itself at Now
// forever) can reach it; panicking then makes such a bug fail loudly
// instead of hanging the test, which is what guarantees that RunUntil and
// RunWhile terminate. A variable so tests can lower it.
var maxSameInstant = 1 << 24

// Event kinds.
const (
	kindFunc    uint8 = iota // run fn
	kindDeliver              // hand buf from one node to another
	kindTimer                // fire timer (the event is embedded in the Timer)
)

// event is one entry in the queue. Func and delivery events are recycled
// through Sim.free; timer events live inside their Timer.
type event struct {
	at    int64  // nanoseconds since epoch
	seq   uint64 // insertion order, the tie-breaker
	index int    // position in the heap, -1 when not queued
	kind  uint8

	fn       func()
	timer    *Timer
	from, to *Node
	src      Addr // the source the receiver sees: from's address unless forged
	buf      []byte
}

// eventHeap implements heap.Interface ordered by (at, seq).
type eventHeap []*event

func (h eventHeap) Len() int { return len(h) }

func (h eventHeap) Less(i, j int) bool {
	a, b := h[i], h[j]
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}

func (h eventHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *eventHeap) Push(x any) {
	e := x.(*event)
	e.index = len(*h)
	*h = append(*h, e)
}

func (h *eventHeap) Pop() any {
	old := *h
	n := len(old) - 1
	e := old[n]
	old[n] = nil
	e.index = -1
	*h = old[:n]
	return e
}

// Sim is a discrete-event simulator: a virtual clock and one event queue.
// Events at the same instant run in the order they were scheduled. A Sim is
// not safe for concurrent use.
type Sim struct {
	seed uint64
	rng  *rand.Rand
	now  int64 // nanoseconds since epoch
	seq  uint64
	q    eventHeap

	same int // events run since the clock last moved

	free []*event // recycled func/delivery events
	bufs [][]byte // recycled packet buffers

	nodes      map[Addr]*Node // lookup only; never iterated
	links      uint64         // links created, for deriving their rng streams
	unroutable int64

	// OnDeliver, if not nil, is called for every datagram just before it
	// is handed to the receiving node, with the arrival time and the
	// datagram's length. With Link.OnTransmit it lets tests measure
	// throughput, utilisation and one-way delay without touching the
	// nodes; when nil it costs one comparison per packet.
	OnDeliver func(now time.Time, from, to Addr, n int)

	// Tap, if not nil, sees every datagram just before it is handed to
	// the receiving node: the node that really sent it, the source
	// address the receiver will see (they differ for a forged datagram,
	// Node.SendAs), and its bytes, valid only during the call. It models
	// an on-path observer, and lets a test tell forged datagrams apart.
	Tap func(now time.Time, sender *Node, src, to Addr, b []byte)
}

// New returns a simulator whose clock starts at 2000-01-01T00:00:00Z and
// whose randomness all derives from seed.
func New(seed uint64) *Sim {
	return &Sim{
		seed:  seed,
		rng:   DerivedRand(seed, 0),
		nodes: make(map[Addr]*Node),
	}
}

// Seed returns the seed the Sim was created with, for failure messages.
func (s *Sim) Seed() uint64 { return s.seed }

// Now returns the current virtual time.
func (s *Sim) Now() time.Time { return epoch.Add(time.Duration(s.now)) }

// Start returns the instant the clock started at.
func (s *Sim) Start() time.Time { return epoch }

// Elapsed returns how much virtual time has passed since Start.
func (s *Sim) Elapsed() time.Duration { return time.Duration(s.now) }

// Rand returns the Sim's own random stream, for callers that need ids,
// payloads and the like. Links draw from separately derived streams, so
// drawing from Rand never changes what the links do.
func (s *Sim) Rand() *rand.Rand { return s.rng }

// Pending returns the number of events waiting in the queue, armed timers
// included.
func (s *Sim) Pending() int { return len(s.q) }

// Unroutable returns how many datagrams were sent to an address with no
// link from the sender; they were dropped.
func (s *Sim) Unroutable() int64 { return s.unroutable }

// toNs converts t to the internal clock, clamping the past to now so that
// nothing is ever scheduled before the present.
func (s *Sim) toNs(t time.Time) int64 {
	return max(int64(t.Sub(epoch)), s.now)
}

// push queues e at the internal time at with the next sequence number.
func (s *Sim) push(e *event, at int64) {
	e.at = at
	e.seq = s.seq
	s.seq++
	heap.Push(&s.q, e)
}

// alloc returns a recycled event, or a new one.
func (s *Sim) alloc() *event {
	if n := len(s.free); n > 0 {
		e := s.free[n-1]
		s.free = s.free[:n-1]
		return e
	}
	return &event{index: -1}
}

// release clears e's references and recycles it.
func (s *Sim) release(e *event) {
	e.fn, e.from, e.to, e.buf = nil, nil, nil, nil
	s.free = append(s.free, e)
}

// getBuf returns a buffer of length n, recycled when one is big enough.
func (s *Sim) getBuf(n int) []byte {
	if k := len(s.bufs); k > 0 {
		b := s.bufs[k-1]
		if cap(b) >= n {
			s.bufs = s.bufs[:k-1]
			return b[:n]
		}
	}
	return make([]byte, n, max(n, 1500))
}

// putBuf recycles b.
func (s *Sim) putBuf(b []byte) { s.bufs = append(s.bufs, b) }

// Schedule arranges for fn to run when the clock reaches at. A time in the
// past (or the zero time) means Now. Events at equal times run in the order
// they were scheduled.
func (s *Sim) Schedule(at time.Time, fn func()) {
	e := s.alloc()
	e.kind = kindFunc
	e.fn = fn
	s.push(e, s.toNs(at))
}

// After schedules fn to run d from Now.
func (s *Sim) After(d time.Duration, fn func()) {
	e := s.alloc()
	e.kind = kindFunc
	e.fn = fn
	s.push(e, s.now+max(int64(d), 0))
}

// Step advances the clock to the next event and runs it. It returns false,
// doing nothing, if the queue is empty.
func (s *Sim) Step() bool {
	if len(s.q) == 0 {
		return false
	}
	e := heap.Pop(&s.q).(*event)
	if e.at > s.now {
		s.now = e.at
		s.same = 0
	} else if s.same++; s.same > maxSameInstant {
		panic(fmt.Sprintf("netsim: more than %d events at %v without the clock moving (seed %d): scheduling livelock", maxSameInstant, s.Now(), s.seed))
	}
	switch e.kind {
	case kindFunc:
		fn := e.fn
		s.release(e) // before fn, so fn's own Schedule reuses it
		fn()
	case kindTimer:
		e.timer.fn()
	case kindDeliver:
		from, to, src, buf := e.from, e.to, e.src, e.buf
		s.release(e)
		if s.OnDeliver != nil {
			s.OnDeliver(s.Now(), src, to.addr, len(buf))
		}
		if s.Tap != nil {
			s.Tap(s.Now(), from, src, to.addr, buf)
		}
		if to.recv != nil {
			to.recv(s.Now(), src, buf)
		}
		s.putBuf(buf)
	}
	return true
}

// RunUntil runs every event with time <= t, including ones scheduled while
// running, then sets the clock to t. The clock never moves backwards: if t
// is before Now, nothing runs.
func (s *Sim) RunUntil(t time.Time) {
	end := int64(t.Sub(epoch))
	if end < s.now {
		return
	}
	for len(s.q) > 0 && s.q[0].at <= end {
		s.Step()
	}
	s.now = max(s.now, end)
}

// RunFor runs the simulation for d of virtual time; see RunUntil.
func (s *Sim) RunFor(d time.Duration) { s.RunUntil(s.Now().Add(d)) }

// RunWhile runs events one at a time while cond() is true, the queue is
// not empty, and the next event is not after deadline, and returns cond()
// at exit. cond is checked before each event. If it stops with cond() still
// true (queue empty or next event after the deadline), the clock is set to
// deadline, as if the caller had waited that long in vain. It always
// terminates: time advances with every event and stops at the deadline,
// and a scheduling livelock at one instant panics (see Step).
func (s *Sim) RunWhile(cond func() bool, deadline time.Time) bool {
	end := int64(deadline.Sub(epoch))
	for cond() {
		if len(s.q) == 0 || s.q[0].at > end {
			s.now = max(s.now, end)
			return cond()
		}
		s.Step()
	}
	return false
}

// Timer is a re-armable one-shot timer on the Sim's clock, the virtual
// counterpart of a protocol's retransmission or keep-alive timer. It owns
// a single queue entry: Reset moves that entry within the heap
// (O(log n)), so re-arming on every ACK neither scans nor leaves stale
// entries behind, and Pending stays exact.
type Timer struct {
	s  *Sim
	fn func()
	ev event
}

// NewTimer returns a disarmed timer that calls fn when it fires.
func (s *Sim) NewTimer(fn func()) *Timer {
	t := &Timer{s: s, fn: fn}
	t.ev = event{kind: kindTimer, timer: t, index: -1}
	return t
}

// Reset arms the timer to fire at at, replacing any earlier arming; a time
// in the past means Now. For ordering among events at the same instant it
// counts as scheduled at the time of this call. The zero time disarms it.
// Reset may be called from the timer's own callback.
func (t *Timer) Reset(at time.Time) {
	if at.IsZero() {
		t.Stop()
		return
	}
	s := t.s
	e := &t.ev
	if e.index < 0 {
		s.push(e, s.toNs(at))
		return
	}
	e.at = s.toNs(at)
	e.seq = s.seq
	s.seq++
	heap.Fix(&s.q, e.index)
}

// Stop disarms the timer; it is a no-op if the timer is not armed.
func (t *Timer) Stop() {
	if t.ev.index >= 0 {
		heap.Remove(&t.s.q, t.ev.index)
	}
}

// Armed reports whether the timer is waiting to fire.
func (t *Timer) Armed() bool { return t.ev.index >= 0 }

// When returns when the timer will fire, or the zero time if disarmed.
func (t *Timer) When() time.Time {
	if t.ev.index < 0 {
		return time.Time{}
	}
	return epoch.Add(time.Duration(t.ev.at))
}
