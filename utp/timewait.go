package utp

import (
	"net"
	"slices"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/proto"
	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// TIME-WAIT. A connection that finished with our ACK of the peer's FIN
// waits 16 s (by default) to acknowledge that FIN again should the ACK be
// lost. A Socket that opens and closes connections quickly holds
// thousands of them, so a connection entering TIME-WAIT is retired
// (proto.Conn.Retire): its Conn ends cleanly and leaves the table, and a
// waitRecord, a small value, takes its place in a table of its own
// (Socket.waiting) until TIME-WAIT ends. Kept whole, each held its Conn,
// state machine and channels, a few KiB a side, which grew the heap
// every new connection was then built in (docs/performance.md, "Churn"). A record answers a
// retransmitted FIN, ends on a RESET that matches or a SYN that reuses
// its id (route), and may be taken over by a dial that finds no free id
// (newDialer).
//
// One runtime timer ends every record of a Socket (timeWaits), where a
// timer each would cost far more than the deadline is worth: Go keeps a
// P's timers in one heap that it scans whole whenever a timer moved
// earlier is due, which active connections' timers do all the time.

// waitRecord is a connection retired in TIME-WAIT, in Socket.waiting
// under its connection's key.
type waitRecord struct {
	tw       proto.TimeWait
	peer     net.Addr      // the peer's address where it is not UDP (connKey.addr); nil for UDP
	left     chan struct{} // the Conn's Done channel: closed when the record goes
	serial   uint32        // tells this record's queue entries from an earlier one's under the key
	isn      uint16        // a dialer's initial sequence number (synRecord.isn)
	acceptor bool
}

// timeWaits ends TIME-WAIT for all of a Socket's records with one runtime
// timer. Guarded by Socket.mu, as the records are.
//
// Ends are served up to timeWaitSlack late, so that the timer fires at
// most once per slack however many connections there are.
type timeWaits struct {
	q       []timeWait // by end; q[head:] are pending
	head    int
	serial  uint32 // the last record's
	timer   *time.Timer
	armed   time.Time // when timer fires; zero: not armed
	stopped bool
}

// timeWaitSlack is how late the end of a TIME-WAIT may be served: a
// connection answers a retransmitted FIN for a little longer.
const timeWaitSlack = 100 * time.Millisecond

// timeWait is a queued end. A record whose end moved later (a restart)
// keeps its entry, which requeues it when due; an entry whose record is
// gone, or replaced by a newer one (serial), is dropped when due.
type timeWait struct {
	at     time.Time
	key    connKey
	serial uint32
}

// add queues the end of the record under key. s.mu is held; fire is
// what the timer calls.
func (w *timeWaits) add(key connKey, serial uint32, at time.Time, fire func()) {
	if w.stopped {
		return
	}
	// Ends come almost in order (TIME-WAIT lasts the same on most
	// paths): the place is found from the back, most often at once.
	i := len(w.q)
	for i > w.head && w.q[i-1].at.After(at) {
		i--
	}
	w.q = slices.Insert(w.q, i, timeWait{at: at, key: key, serial: serial})
	w.arm(fire)
}

// arm sets the timer for the earliest end, unless it fires before that
// already.
func (w *timeWaits) arm(fire func()) {
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
		w.timer = time.AfterFunc(d, fire)
		return
	}
	w.timer.Reset(d)
}

// popDue removes and returns the entries due by now, and compacts the
// queue when most of it is spent.
func (w *timeWaits) popDue(now time.Time, due []timeWait) []timeWait {
	for w.head < len(w.q) && !w.q[w.head].at.After(now) {
		due = append(due, w.q[w.head])
		w.head++
	}
	if w.head > len(w.q)/2 { // reuse the front
		n := copy(w.q, w.q[w.head:])
		// The moved entries' old places would keep their keys' strings
		// and address handles reachable from the slice's tail.
		clear(w.q[n:])
		w.q = w.q[:n]
		w.head = 0
		if cap(w.q) >= shrinkConnsMin && n <= cap(w.q)/8 {
			// A burst of churn is over: give back the array it grew.
			w.q = slices.Clone(w.q)
		}
	}
	return due
}

// stop drops every pending end: the Socket is closed.
func (w *timeWaits) stop() {
	w.stopped = true
	w.q, w.head = nil, 0
	if w.timer != nil {
		w.timer.Stop()
	}
}

// retire puts c, which the state machine retired into tw, in the TIME-WAIT
// table in its place, and reports whether it did: not when c has left the
// table meanwhile or the Socket is closed (c is then simply gone). c's
// final counters st join the ended connections' as it leaves the table.
func (s *Socket) retire(c *Conn, tw proto.TimeWait, st Stats) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.conns[c.key] != c {
		return false
	}
	s.deleteConn(c.key)
	s.endedSums.add(st)
	s.unproven.remove(c)
	s.waits.serial++
	r := waitRecord{tw: tw, left: c.left, serial: s.waits.serial, isn: c.syn.isn, acceptor: c.acceptor}
	if c.key.addr != "" {
		r.peer = c.raddr
	}
	if s.waiting == nil {
		s.waiting = make(map[connKey]waitRecord)
	}
	s.waiting[c.key] = r
	s.waits.add(c.key, r.serial, tw.End(), s.endTimeWaits)
	return true
}

// endTimeWaits is the timer's: it ends the records whose TIME-WAIT is
// over, and requeues those whose end moved later.
func (s *Socket) endTimeWaits() {
	now := s.clock.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	w := &s.waits
	w.armed = time.Time{}
	for _, e := range w.popDue(now, nil) {
		r, ok := s.waiting[e.key]
		switch {
		case !ok || r.serial != e.serial:
			// Ended otherwise meanwhile, or a newer record.
		case r.tw.End().After(now):
			w.add(e.key, e.serial, r.tw.End(), s.endTimeWaits) // restarted
		default:
			s.endWait(e.key, r)
		}
	}
	if !w.stopped {
		w.arm(s.endTimeWaits)
	}
}

// endWait removes the record r under key and signals its Conn's Done.
// s.mu is held.
func (s *Socket) endWait(key connKey, r waitRecord) {
	s.waiting, s.waitingPeak = deleteShrinking(s.waiting, s.waitingPeak, key)
	close(r.left)
	s.noteEmpty()
}

// findWait returns the key of the record a packet belongs to, as lookup
// does for connections: a SYN by the id it announces plus one, a RESET
// by either id. s.mu is held.
func (s *Socket) findWait(from source, h *wire.Header) (connKey, bool) {
	id := h.ConnID
	if h.Type == wire.Syn {
		id++
	}
	if k := s.key(from, id); s.hasWait(k) {
		return k, true
	}
	if h.Type != wire.Reset {
		return connKey{}, false
	}
	for _, n := range [2]uint16{id - 1, id + 1} {
		k := s.key(from, n)
		if r, ok := s.waiting[k]; ok && r.tw.SendID() == id {
			return k, true
		}
	}
	return connKey{}, false
}

func (s *Socket) hasWait(k connKey) bool {
	if len(s.waiting) == 0 {
		return false
	}
	_, ok := s.waiting[k]
	return ok
}

// answerWait applies a packet to the record it belongs to, if any, and
// reports whether it did. A SYN ends the record and is left to the caller,
// which accepts it as a new connection (RFC 6191: a SYN reopens TIME-WAIT).
func (s *Socket) answerWait(from source, h *wire.Header, now time.Time) bool {
	var buf [wire.HeaderSize]byte
	s.mu.Lock()
	key, ok := s.findWait(from, h)
	if !ok {
		s.mu.Unlock()
		return false
	}
	r := s.waiting[key]
	n, end := r.tw.HandlePacket(now, h, buf[:])
	if end {
		s.endWait(key, r)
	} else {
		s.waiting[key] = r
	}
	s.mu.Unlock()
	if n > 0 {
		s.writeTo(buf[:n], source{AP: key.ap, Net: r.peer})
	}
	return h.Type != wire.Syn
}

// oldestWaits returns the keys and serials of up to n of our dialers'
// records toward the peer of key, earliest end first. s.mu is held.
func (s *Socket) oldestWaits(n int, peer connKey) []timeWait {
	var found []timeWait
	for _, e := range s.waits.q[s.waits.head:] {
		if len(found) == n {
			break
		}
		if e.key.ap != peer.ap || e.key.addr != peer.addr {
			continue
		}
		if r, ok := s.waiting[e.key]; ok && r.serial == e.serial && !r.acceptor {
			found = append(found, e)
		}
	}
	return found
}

// dropWaits ends every record: the Socket is closing. Finished
// connections are dropped without a word (Close). s.mu is held.
func (s *Socket) dropWaits() {
	s.waits.stop()
	for _, r := range s.waiting {
		close(r.left)
	}
	s.waiting = nil
}
