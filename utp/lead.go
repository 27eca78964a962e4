package utp

import (
	"errors"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/packetio"
)

// The read lead is the right to read the Socket's PacketConn; one
// goroutine holds it at a time, because Go's poller lets only one wait on
// a socket. Its holder also owns the Socket's read buffer and inbox, so a
// Read that leads takes neither from a pool. The Socket's reader
// goroutine holds it by default. On UDP, a Read that must wait takes it
// over and reads the socket itself: the kernel then wakes the goroutine
// that wants the data, as it wakes a TCP reader, instead of waking the
// reader goroutine, which would wake the Read in turn. A request and its reply cost one goroutine wakeup per
// hop instead of two. While it leads, a Read routes every datagram, for
// any connection, as the reader goroutine would.
//
// A Read leads only while no other call on the Socket waits for the
// network (Accept, a dial, a Write waiting for room, Drain, ReadFrom,
// another Read): those rely on the reader goroutine, and taking the lead
// from it on every Read would cost more than the wakeup it saves.
//
// Handing over: a Read that wants the lead sets want and, if the reader
// goroutine is blocked in the socket, kicks it out with a read deadline
// in the past; the reader clears the deadline and passes the token. A
// Read passes the token on when its data has come. The reader goroutine
// takes the lead back at once when another call starts waiting for the
// network, and otherwise only when no Read has taken it for a whole
// standby tick, so that a connection exchanging requests and replies
// keeps it, and datagrams wait at most two ticks for a reader when the
// Reads stop. While one Read holds the lead for longer than a tick, the
// reader goroutine stops ticking until the lead is passed on.
type lead struct {
	tok      chan struct{} // holds the token while nobody leads
	back     chan struct{} // someone needs the reader goroutine to take the lead now
	freed    chan struct{} // a Read passed on a lead it held for a whole tick
	parked   atomic.Bool   // the reader goroutine waits on freed, not on ticks
	direct   bool          // Reads may lead: the PacketConn is a *net.UDPConn
	want     atomic.Bool   // a Read is waiting for the lead
	taken    atomic.Bool   // a Read took the lead since the last standby tick
	waiters  atomic.Int32  // calls blocked on the network other than a leading Read
	ticks    atomic.Int64  // standby ticks, for tests
	readerIn atomic.Bool   // the reader goroutine is (about to be) blocked in a read
}

// standbyTick is how often the reader goroutine looks whether Reads still
// lead. Datagrams that arrive once the Reads stop wait up to two ticks.
const standbyTick = time.Millisecond

func newLead(direct bool) lead {
	return lead{
		tok:    make(chan struct{}, 1),
		back:   make(chan struct{}, 1),
		freed:  make(chan struct{}, 1),
		direct: direct,
	}
}

// kick makes the holder's blocked read return, if in is set (the holder
// is blocked in it, or about to be): packetio's Wake applies to the read
// in progress and to the next one, so a kick that lands between the flag
// and the read is not lost.
func (s *Socket) kick(in *atomic.Bool) {
	if in.Load() {
		s.pio.Wake()
	}
}

// kicked reports whether a read's error is a kick's.
func (s *Socket) kicked(err error) bool { return errors.Is(err, packetio.ErrWoken) }

// standby waits, as the reader goroutine, until the lead has gone a whole
// tick without a Read taking it, or until a call needs it to read now
// (back), and takes it. While a Read holds the lead for longer than a
// tick (a connection waiting for its peer), it stops ticking until that
// Read passes the lead on, so an idle Socket costs no wakeups. It
// reports false when the Socket closes first.
func (s *Socket) standby() bool {
	t := time.NewTimer(standbyTick)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return false
		case <-s.lead.back:
			if s.tryTake() {
				return true
			}
			continue
		case <-t.C:
			s.lead.ticks.Add(1)
		}
		if s.lead.taken.Swap(false) {
			t.Reset(standbyTick) // Reads keep taking it
			continue
		}
		if s.tryTake() {
			return true
		}
		// A Read has held the lead for the whole tick.
		s.lead.parked.Store(true)
		if s.tryTake() { // passed on just before parked was set
			s.lead.parked.Store(false)
			return true
		}
		select {
		case <-s.done:
			return false
		case <-s.lead.back:
			s.lead.parked.Store(false)
			if s.tryTake() {
				return true
			}
		case <-s.lead.freed:
			s.lead.parked.Store(false)
		}
		t.Reset(standbyTick)
	}
}

func (s *Socket) tryTake() bool {
	select {
	case <-s.lead.tok:
		return true
	default:
		return false
	}
}

// passLead puts the token back after a Read led, and calls the reader
// goroutine if a call waits for the network or it stopped ticking.
func (s *Socket) passLead() {
	s.lead.tok <- struct{}{}
	switch {
	case s.lead.waiters.Load() > 0:
		signal(s.lead.back)
	case s.lead.parked.Load():
		signal(s.lead.freed)
	}
}

// readLed reads and routes as the reader goroutine while it leads. It
// returns true when it has passed the lead to a Read that wants it, false
// when the Socket is closed.
func (s *Socket) readLed(buf []byte) (handedOver bool) {
	in := &s.rin
	failures := 0
	for {
		// readerIn is set before want is looked at, and a Read sets want
		// before it looks at readerIn: one of the two sees the other.
		s.lead.readerIn.Store(true)
		if s.lead.direct && s.lead.want.Load() {
			s.lead.readerIn.Store(false)
			s.lead.tok <- struct{}{}
			return true
		}
		n, seg, from, err := s.read(buf)
		s.lead.readerIn.Store(false)
		if err != nil {
			if s.kicked(err) {
				continue
			}
			if s.stopReading(err, &failures) {
				return false
			}
			continue
		}
		failures = 0
		if s.routeRead(in, buf, n, seg, from) {
			// Let a goroutine the packets woke (a Read, a Write waiting
			// for room) run now on this P, before the reader's next read
			// parks it: left in the run queue, another P's thread is woken
			// to steal it, a cross-core handoff that made a loopback
			// round trip about 10% slower.
			runtime.Gosched()
		}
	}
}

// leadFor reads and routes as a Read of c: it returns true when c is
// readable (data, its end, Close, a deadline), false when the Socket
// closes or a read fails otherwise (the reader goroutine, taking the lead
// back, handles that). The caller holds the lead and passes it on after.
func (s *Socket) leadFor(c *Conn) bool {
	buf, in := s.rbuf, &s.rin
	for {
		// As in readLed: leadIn is set before the signal is looked at,
		// and wakeReadable signals before it looks at leadIn.
		c.leadIn.Store(true)
		if pending(c.readable) {
			c.leadIn.Store(false)
			return true
		}
		n, seg, from, err := s.read(buf)
		c.leadIn.Store(false)
		if err != nil {
			if s.kicked(err) {
				continue
			}
			return false
		}
		s.routeRead(in, buf, n, seg, from)
	}
}

// pending reports whether ch (cap 1) holds a signal, and leaves it there.
func pending(ch chan struct{}) bool { return len(ch) > 0 }

// awaitNetwork counts a call that waits for the network other than as a
// leading Read (Accept, a dial, a Write waiting for room, another Read)
// until it calls doneWaiting, and has the reader goroutine take the lead
// at once if nobody holds it: such a call must not wait for a standby
// tick.
// Where no Read ever leads (not UDP), the reader goroutine never stands
// by and there is nothing to count.
func (s *Socket) awaitNetwork() {
	if !s.lead.direct {
		return
	}
	s.lead.waiters.Add(1)
	signal(s.lead.back)
}

func (s *Socket) doneWaiting() {
	if s.lead.direct {
		s.lead.waiters.Add(-1)
	}
}

// awaitReadable waits, as a Read of c, until c is signalled readable: on
// UDP by leading the Socket's reads when it is the only call waiting for
// the network, else on the channel. The first case is the one that
// pays: a connection exchanging requests and replies with nothing else
// waiting on the Socket. With an Accept pending, say, leading would
// take the lead from the reader goroutine and give it back on every
// Read.
//
// A connection's first wait leads only if the lead is free: taking it
// from the reader goroutine costs two wakeups (the reader's, to hand it
// over, and ours), one more than the channel, so it pays only for a
// connection that waits again. A short connection (dial, request, one
// reply, close) never asks for it.
func (c *Conn) awaitReadable(first bool) {
	s := c.s
	mayLead := s.lead.direct && s.lead.waiters.Load() == 0
	led := mayLead && s.tryTake()
	if !led && (first || !mayLead) {
		s.awaitNetwork()
		c.await(c.readable)
		s.doneWaiting()
		return
	}
	if !led && !s.waitLead(c) {
		return // another reader brought the data
	}
	s.lead.taken.Store(true)
	ok := s.leadFor(c)
	s.passLead()
	if !ok {
		// The Socket closed, or its reads fail: wait for the reader
		// goroutine, which handles both.
		signal(s.lead.back)
		c.await(c.readable)
		return
	}
	select { // the signal leadFor saw, unless a concurrent Read took it
	case <-c.readable:
	default:
	}
	if isClosed(c.closed) {
		c.wakeReadable()
	}
}

// waitLead asks for the read lead as a Read of c and waits until it has
// the lead (true) or c is readable (false). Most often the lead is free,
// passed back by the previous Read, and the caller's tryTake gets it
// without asking.
func (s *Socket) waitLead(c *Conn) bool {
	s.lead.want.Store(true)
	s.kick(&s.lead.readerIn)
	select {
	case <-s.lead.tok:
		s.lead.want.Store(false)
		return true
	case <-c.readable:
		// Another reader brought it. A token passed for us meanwhile
		// goes back to the reader goroutine at once.
		s.lead.want.Store(false)
		select {
		case <-s.lead.tok:
			s.lead.tok <- struct{}{}
			signal(s.lead.back)
		default:
		}
		if isClosed(c.closed) {
			c.wakeReadable()
		}
		return false
	}
}

// wakeReadable signals c readable and, if a Read of c is leading the
// Socket's reads and blocked in the socket, kicks it out to see.
func (c *Conn) wakeReadable() {
	signal(c.readable)
	c.s.kick(&c.leadIn)
}
