package utp

import (
	"slices"
	"sync"
	"time"
)

// timeWaits ends TIME-WAIT for all of a Socket's connections with one
// runtime timer, where a timer per connection would cost far more than
// the deadline is worth. A Socket that opens and closes connections
// quickly holds thousands in TIME-WAIT (16 s each by default), and Go
// keeps a P's timers in one heap that it scans whole whenever a timer
// moved earlier is due, which our active connections' timers do all the
// time: with a timer per connection in TIME-WAIT, the scans took 6% of
// the CPU of the setup benchmark and it ran 10–20% slower.
//
// Ends are served up to timeWaitSlack late, so that the timer fires at
// most once per slack however many connections there are.
type timeWaits struct {
	mu      sync.Mutex
	q       []timeWait // by end; q[head:] are pending
	head    int
	timer   *time.Timer
	armed   time.Time // when timer fires; zero: not armed
	stopped bool
}

// timeWaitSlack is how late the end of a TIME-WAIT may be served: a
// connection answers a retransmitted FIN for a little longer.
const timeWaitSlack = 100 * time.Millisecond

type timeWait struct {
	at time.Time
	c  *Conn
}

// add has c's timer called at its TIME-WAIT end, at (or a little after).
func (w *timeWaits) add(c *Conn, at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	// Ends come almost in order (TIME-WAIT lasts the same on most
	// paths): the place is found from the back, most often at once.
	i := len(w.q)
	for i > w.head && w.q[i-1].at.After(at) {
		i--
	}
	w.q = slices.Insert(w.q, i, timeWait{at: at, c: c})
	w.arm()
}

// arm sets the timer for the earliest end, unless it fires before that
// already. w.mu is held.
func (w *timeWaits) arm() {
	if w.head == len(w.q) {
		return
	}
	at := w.q[w.head].at.Add(timeWaitSlack)
	if !w.armed.IsZero() && !at.Before(w.armed) {
		return
	}
	w.armed = at
	d := time.Until(at)
	if w.timer == nil {
		w.timer = time.AfterFunc(d, w.fire)
		return
	}
	w.timer.Reset(d)
}

// fire runs the timers of every connection whose TIME-WAIT has ended.
// A connection that left TIME-WAIT otherwise meanwhile (reset, its id
// reused) finds nothing due: HandleTimeout early is harmless.
func (w *timeWaits) fire() {
	now := time.Now()
	w.mu.Lock()
	w.armed = time.Time{}
	due := w.popDue(now)
	if !w.stopped {
		w.arm()
	}
	w.mu.Unlock()
	for _, c := range due {
		c.onTimer()
	}
}

// popDue removes and returns the connections whose TIME-WAIT ended by
// now, and compacts the queue when most of it is spent. w.mu is held.
func (w *timeWaits) popDue(now time.Time) []*Conn {
	var due []*Conn
	for w.head < len(w.q) && !w.q[w.head].at.After(now) {
		due = append(due, w.q[w.head].c)
		w.q[w.head] = timeWait{}
		w.head++
	}
	if w.head > len(w.q)/2 { // reuse the front
		n := copy(w.q, w.q[w.head:])
		// The moved entries' old places keep pointers to connections
		// long ended: without clearing, every Conn that ever waited
		// stays reachable from the slice's tail, and the heap with it.
		clear(w.q[n:])
		w.q = w.q[:n]
		w.head = 0
	}
	return due
}

// oldest returns up to n connections in TIME-WAIT that match, earliest
// end first. An entry may be stale (the connection left TIME-WAIT since):
// the caller checks under the connection's lock.
func (w *timeWaits) oldest(n int, match func(*Conn) bool) []*Conn {
	w.mu.Lock()
	defer w.mu.Unlock()
	var found []*Conn
	for i := w.head; i < len(w.q) && len(found) < n; i++ {
		if c := w.q[i].c; match(c) {
			found = append(found, c)
		}
	}
	return found
}

// stop drops every pending end: the Socket is closed, and so are its
// connections.
func (w *timeWaits) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	w.q, w.head = nil, 0
	if w.timer != nil {
		w.timer.Stop()
	}
}
