package utp

import (
	"sync"
	"sync/atomic"
	"time"
)

// Sending. On UDP (and netsim) a step's datagrams are sent by the
// goroutine that made them (Conn.queue): a UDP send returns as soon as
// the kernel has copied the datagram. Any other PacketConn's WriteTo may
// block for long (an INET256 node whose daemon stalls: packetio's
// Caps.BlockingSend), and a Write blocked in it would ignore its deadline
// and Socket.Close. There, a Socket's one sender goroutine sends every
// connection's datagrams, in each connection's order, and callers never
// wait for it.

// maxQueuedBatches bounds the batches a connection keeps queued while its
// sends are blocked: past it, new ones are dropped, as a full UDP buffer
// drops them, and the state machine retransmits. Each batch holds at
// least one packet buffer. On UDP, whose sends do not block, a full queue
// means only that the sending goroutine waits for a CPU while steps come
// fast: new batches join the last one instead (Conn.queue), since the
// window already bounds what they hold. Dropping them cost a veth bulk
// transfer with Ethernet-sized packets, on a loaded machine, 1-3% of its
// packets, each taken for a loss.
const maxQueuedBatches = 64

// asyncSender runs connections' queued sends on the Socket's sender
// goroutine.
type asyncSender struct {
	mu      sync.Mutex
	q       []*Conn // connections with batches to send, each once
	stopped bool    // the goroutine exits once q is empty
	wake    chan struct{}
	done    chan struct{} // closed when the goroutine has exited
}

func newAsyncSender() *asyncSender {
	return &asyncSender{wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// schedule has the sender goroutine flush c, which holds the sender's
// role (Conn.flushing), and reports whether it will. Once the sender is
// stopped it reports false and the caller sends itself, after releasing
// c.mu (which flush takes): the PacketConn is closed by then, and its
// sends fail at once.
func (a *asyncSender) schedule(c *Conn) bool {
	a.mu.Lock()
	if a.stopped {
		a.mu.Unlock()
		return false
	}
	a.q = append(a.q, c)
	a.mu.Unlock()
	signal(a.wake)
	return true
}

// next returns the next connection to flush, waiting for one; false once
// the sender is stopped and nothing is left.
func (a *asyncSender) next() (*Conn, bool) {
	for {
		a.mu.Lock()
		if len(a.q) > 0 {
			c := a.q[0]
			a.q[0] = nil
			a.q = a.q[1:]
			a.mu.Unlock()
			return c, true
		}
		stopped := a.stopped
		a.mu.Unlock()
		if stopped {
			return nil, false
		}
		<-a.wake
	}
}

// stop has the goroutine exit once it has sent what is queued.
func (a *asyncSender) stop() {
	a.mu.Lock()
	a.stopped = true
	a.mu.Unlock()
	signal(a.wake)
}

// sendLoop is the Socket's sender goroutine, on PacketConns that are not
// UDP.
func (s *Socket) sendLoop() {
	defer close(s.async.done)
	for {
		c, ok := s.async.next()
		if !ok {
			return
		}
		c.flush()
	}
}

// flushers counts the goroutines holding a connection's sender role, so
// that Socket.Close can let the RESETs it promises leave before it closes
// the PacketConn. The count is atomic; the lock is taken only while Close
// waits.
type flushers struct {
	n       atomic.Int64
	waiting atomic.Bool
	mu      sync.Mutex
	idle    chan struct{} // closed when n reaches zero while Close waits
}

func (f *flushers) begin() { f.n.Add(1) }

func (f *flushers) end() {
	if f.n.Add(-1) == 0 && f.waiting.Load() {
		f.mu.Lock()
		if f.idle != nil && f.n.Load() == 0 {
			close(f.idle)
			f.idle = nil
		}
		f.mu.Unlock()
	}
}

// wait returns when no goroutine holds a sender role, or at deadline.
func (f *flushers) wait(deadline time.Time) {
	f.mu.Lock()
	f.waiting.Store(true)
	if f.n.Load() == 0 {
		f.mu.Unlock()
		return
	}
	if f.idle == nil {
		f.idle = make(chan struct{})
	}
	idle := f.idle
	f.mu.Unlock()
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-idle:
	case <-t.C:
	}
}
