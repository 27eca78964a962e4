package utp

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/packetio"
)

// lead is the read lead: the right to read the Socket's endpoint, a
// token that one goroutine holds at a time, because Go's poller lets only
// one wait on a socket. The Socket's reader goroutine holds it by default
// (where Reads may lead, from the first call that waits for the network
// or a standby tick after NewSocket: the token starts free).
// Where the endpoint can wake a blocked reader (packetio's Caps.Wake: UDP,
// netsim), a Read that must wait may take it over and read the socket
// itself: the kernel then wakes the goroutine that wants the data, as it
// wakes a TCP reader, instead of waking the reader goroutine, which would
// wake the Read in turn. A request and its reply cost one goroutine
// wakeup per hop instead of two. While it leads, a Read routes every
// datagram, for any connection, as the reader goroutine would. A dial
// takes a free token the same way (awaitDial): a client that opens a
// Socket per dial then has its dial and its Reads read the socket, and
// the reader goroutine never reads; it is started only when a call needs
// it or a standby tick after NewSocket (launch), so a Socket closed
// sooner never starts it. A connection's Close takes a free token too,
// reads only what is queued, never waits, and passes the token on
// (readBeforeFin, closedrain.go): in the diagram, a READ(c) that ends at
// once.
//
// States of the token, and what moves it:
//
//	          readLed sees want             a Read's or a dial's tryTake
//	READER ──────────────────────▶ FREE ──────────────────────────▶ READ(c)
//	       ◀──────────────────────  ▲   ◀──────────────────────────
//	        standby's tryTake: a    │     pass: c readable or ended
//	        call waits (back), an   │     (a dial: connected), a
//	        idle tick, the lead     │     deadline or ctx, Close, a
//	        passed on (freed)     NewSocket   read that failed
//
// READER: the reader goroutine reads (readLed). FREE: nobody reads; the
// token waits in tok. READ(c): a Read of connection c, or the dial of c,
// reads (readUntil).
//
// Invariants:
//   - Exactly one of tok, the reader goroutine and one Read or dial
//     holds the token, so one goroutine at a time calls the endpoint's Read.
//   - The holder owns buf and in (the read buffer and the inbox of
//     packets read, not yet applied), the Socket's RESET limiter (resets)
//     and the receive-buffer share's own fields (windowShare.noteData, and
//     Conn.shareEpoch, sharePackets and shareRun): nothing else touches them, so
//     they need no lock. The inbox is empty whenever the token moves:
//     every read's packets are applied before the next read; and no ACK
//     is held (ackhold.go): they are released first.
//   - A holder that blocks in a read first marks itself in a read
//     (readerIn, or reading = c), then looks at its reason to stop (want,
//     or c readable, or a dial's end); whoever gives it a reason sets
//     the reason first and then looks at the mark, waking the endpoint's
//     read if it is set.
//     One of the two sees the other, and a wake applies to the read in
//     progress or the next one, so none is lost.
//   - A Read or a dial leads only while no other call waits for the
//     network (waiters, counted by awaitNetwork): a dial that found the
//     token taken, a Write waiting for room, ReadFrom, another Read rely
//     on the reader goroutine, and taking the lead from it on every
//     Read would cost more than the wakeup it saves. A call that starts
//     waiting while a Read leads is served by that Read's routing until
//     the Read passes the token on, which then calls the reader
//     goroutine at once (back).
//   - A leading call stops on its own reason and on the events that end
//     its wait from outside: c readable or ended (wakeReadable), a dial's
//     handshake done (events) or its context ended (a context.AfterFunc
//     for the dial's lead); each wakes it through wakeFor.
//   - An Accept waiting (awaitAccept) is the one exception: a server
//     keeps one pending all the time, and counted among the waiters it
//     would keep every served connection's Read from leading, so that
//     each request cost two wakeups (the reader goroutine's, then the
//     Read's) where a client's costs one. A leading Read routes SYNs and
//     handshakes as the reader goroutine does, and the Accept only calls
//     the reader goroutine when it starts waiting (back, which takes a
//     free token at once); a Read passing the token on does not. So a SYN
//     that arrives while the token is free and Reads keep taking it waits
//     for the next Read to take it or for the reader's standby tick, at
//     most two ticks.
//   - How readily a Read asks for the lead grows with the Reads of its
//     connection that waited before (earlier, up to 2): a first wait
//     takes only a free token, so that a short connection (a request, a
//     reply, the end) never moves it; the accepting side of such a
//     connection may wait twice (the request, then the end), so there
//     only a third wait asks the reader goroutine for it. Conn.acceptor
//     decides, not whether an Accept waits at that moment: a server's
//     loop is between two Accepts now and then.
//   - Routing steps connections, so the holder takes a Conn's lock, and
//     under it the TIME-WAIT queue's (c.mu, then timeWaits.mu); it holds
//     no lock while it reads, and no lock is held across a move of the
//     token.
//
// The reader goroutine takes the lead back at once when another call
// starts waiting for the network, and otherwise only when no Read has
// taken it for a whole standby tick, so that a connection exchanging
// requests and replies keeps it, and datagrams wait at most two ticks for
// a reader when the Reads stop. While one Read holds the lead for longer
// than a tick, the reader goroutine stops ticking (parked) until the lead
// is passed on: an idle Socket costs no wakeups.
type lead struct {
	s  *Socket
	on bool // Reads may lead: the endpoint has Caps.Wake

	tok   chan struct{} // holds the token while nobody leads (FREE)
	back  chan struct{} // someone needs the reader goroutine to take the lead now
	freed chan struct{} // a Read passed on a lead it held for a whole tick

	parked   atomic.Bool          // the reader goroutine waits on freed, not on ticks
	want     atomic.Bool          // a Read is waiting for the lead
	taken    atomic.Bool          // a Read took the lead since the last standby tick
	readerIn atomic.Bool          // the reader goroutine is (about to be) blocked in a read
	reading  atomic.Pointer[Conn] // the Conn whose leading Read is (about to be) in a read
	waiters  atomic.Int32         // calls blocked on the network other than a leading Read or an Accept

	ticks  atomic.Int64 // standby ticks, for tests
	leads  atomic.Int64 // Reads that took the lead, for tests
	dials  atomic.Int64 // dials that took the lead (awaitDial), for tests
	turns  atomic.Int64 // times the reader goroutine took the lead to read; a dial leads only before the first
	handed atomic.Int64 // times the reader goroutine handed the lead to a Read that asked, for tests
	runs   atomic.Int64 // times the reader goroutine started (0 or 1), for tests
	yields atomic.Int64 // times the reader goroutine yielded its P to goroutines a read woke, for tests

	buf []byte // the read buffer, owned by the holder
	in  *inbox // packets read, not yet applied, owned by the holder
	// big, owned by the holder: a leading Read's last read was one
	// datagram of at least inPlaceMin bytes, so its next may be read in
	// place (inplace.go). scatter is the endpoint as a Scatterer, or nil.
	big     bool
	scatter packetio.Scatterer

	// yieldFn is yieldWait as a func value, made once: a method value
	// passed to the endpoint's ReadYield escapes, and made at each call
	// it cost an allocation per read that woke a goroutine, about five
	// a setup (BenchmarkSetupShapes).
	yieldFn func() bool

	// started is set once the reader goroutine is started, or once Close
	// has forgone it (forgo). Where Reads may lead it starts at the first
	// call that needs it (callReader) or a standby tick after NewSocket
	// (first), whichever comes sooner: a Socket opened for one dial and
	// closed within a tick, its dial and its Reads reading for it, never
	// starts it, and so saves the goroutine's start, its standby timer
	// and Close's wait for its exit.
	started atomic.Bool
	first   *time.Timer // the first standby tick; nil where Reads may not lead
}

// inboxPool holds the inboxes of closed Sockets: at 64 packets one is
// about 5 KB, most of a new Socket's memory, which a program that opens a
// Socket per dial would otherwise allocate and clear for each. An inbox
// goes back empty (flush empties it) with its buffer (run).
var inboxPool = sync.Pool{New: func() any { return new(inbox) }}

// standbyTick is how often the reader goroutine looks whether Reads still
// lead. Datagrams that arrive once the Reads stop wait up to two ticks.
const standbyTick = time.Millisecond

// init sets up the lead of s, held by the reader goroutine; on says
// whether Reads may take it.
func (l *lead) init(s *Socket, on bool) {
	*l = lead{
		s:     s,
		on:    on,
		tok:   make(chan struct{}, 1),
		back:  make(chan struct{}, 1),
		freed: make(chan struct{}, 1),
		buf:   bufPool.Get().(*[maxDatagram]byte)[:],
		in:    inboxPool.Get().(*inbox),
	}
	l.in.holds = ackHolds{on: s.pio.Caps().TryRead}
	l.scatter, _ = s.pio.(packetio.Scatterer)
	l.yieldFn = l.yieldWait
	if on {
		// A new Socket's token starts free, its reader goroutine not yet
		// started: the first call to wait takes it without a wakeup (a
		// dial, awaitDial), or starts the reader to take it (callReader).
		l.tok <- struct{}{}
	}
}

// launch starts the reader goroutine of a new Socket: at once where no
// Read may lead, as it then holds the token; else a standby tick later,
// unless a call needs it sooner (callReader). The timer's own goroutine
// becomes the reader, as a standby tick that has just elapsed.
func (l *lead) launch() {
	if !l.on {
		l.started.Store(true)
		go l.s.readLoop(false)
		return
	}
	l.first = time.AfterFunc(standbyTick, func() {
		if l.started.CompareAndSwap(false, true) {
			l.s.readLoop(true)
		}
	})
}

// callReader has the reader goroutine take the lead at once if nobody
// holds it (back), starting the goroutine if it has not started yet.
func (l *lead) callReader() {
	signal(l.back)
	if !l.started.Load() && l.started.CompareAndSwap(false, true) {
		l.first.Stop()
		go l.s.readLoop(false)
	}
}

// forgo, at Close (the Socket's done already closed), marks the reader
// goroutine as never to start, if it has not: it reports whether it did,
// and then recycles the read buffer and the inbox as the reader would
// have at its end, unless a Read or a dial holds the token (they are
// then left to the collector).
func (l *lead) forgo() bool {
	if l.started.Load() || !l.started.CompareAndSwap(false, true) {
		return false
	}
	l.first.Stop()
	if l.tryTake() {
		l.recycle()
	}
	return true
}

// recycle gives the read buffer and the inbox back to their pools; the
// caller holds the token for good.
func (l *lead) recycle() {
	bufPool.Put((*[maxDatagram]byte)(l.buf))
	l.in.holds = ackHolds{} // released before the lead ended; drop the slice's Conns
	inboxPool.Put(l.in)
	l.buf, l.in = nil, nil
}

// run is the reader goroutine's work: read while it leads, stand by while
// a Read leads, until the Socket closes. Where Reads may lead it starts
// standing by, as the token starts free (init); ticked says that it was
// started by the first standby tick (launch), which it then acts on at
// once. It ends holding the token if a Read does not hold it, and keeps
// it, as after a failed read: the read buffer and the inbox then go back
// to their pools, for the next Socket. A Read that held it at the end
// leaves them to the collector.
func (l *lead) run(ticked bool) {
	l.runs.Add(1)
	held := !l.on || l.standby(ticked)
	for held && l.readLed() {
		held = l.standby(false)
	}
	if !held && !l.tryTake() {
		return
	}
	l.recycle()
}

// readLed reads and routes as the reader goroutine while it leads. It
// returns true when it has passed the lead to a Read that wants it, false
// when the Socket is closed.
func (l *lead) readLed() (handedOver bool) {
	s := l.s
	failures := 0
	yield := false // the last read woke a goroutine
	l.turns.Add(1)
	for {
		l.readerIn.Store(true) // before want: see the invariants
		if l.on && l.want.Load() {
			l.readerIn.Store(false)
			l.in.holds.release() // before the lead moves
			l.handed.Add(1)
			l.tok <- struct{}{}
			return true
		}
		var n, seg int
		var from source
		var err error
		if yield {
			yield = false
			n, seg, from, err = l.yieldRead()
		} else {
			n, seg, from, err = l.next(false, nil)
		}
		l.readerIn.Store(false)
		if err != nil {
			if woken(err) || err == errDrained {
				continue
			}
			if s.stopReading(err, &failures) {
				l.in.holds.release()
				return false
			}
			continue
		}
		failures = 0
		yield = s.routeRead(l.in, l.buf, n, seg, from)
	}
}

// yieldRead is the reader goroutine's read after one that woke a
// goroutine. With nothing queued, the next read would park the reader:
// it lets a goroutine the last read woke (a Read, a Write waiting for
// room) run now on this P first. Left in the run queue, another P's
// thread is woken to steal it, a cross-core handoff that made a loopback
// round trip about 10% slower. With datagrams queued it reads on
// instead: Gosched puts it on the global run queue, behind every
// runnable goroutine, and under a churn of many connections, all waiting
// for this reader, that wait was most of each connection's latency.
//
// Where the endpoint yields inside its read (packetio.Yielder: Linux
// UDP), the read that finds the socket empty yields and then waits,
// one system call; else a read that does not wait (poll), the yield,
// and the next read, two. errDrained: the reader yielded and a Read
// wants the lead, or (without a Yielder) the reader yielded and reads
// again; the caller goes round its loop.
func (l *lead) yieldRead() (n, seg int, from source, err error) {
	y, ok := l.s.pio.(packetio.Yielder)
	if !ok {
		n, seg, from, err = l.poll()
		if err == errDrained {
			l.yieldP()
		}
		return n, seg, from, err
	}
	l.in.holds.count()
	n, seg, from, err = y.ReadYield(l.buf, l.yieldFn)
	if err == packetio.ErrWouldBlock {
		return 0, 0, from, errDrained
	}
	return n, seg, from, err
}

// yieldWait is the yield of the reader's ReadYield: with nothing queued
// it releases the held ACKs, as poll does, yields, and reports whether
// the reader should wait in its read (false: a Read wants the lead).
func (l *lead) yieldWait() bool {
	l.in.holds.release()
	l.yieldP()
	l.readerIn.Store(true) // before want, as readLed's loop does
	return !(l.on && l.want.Load())
}

// yieldP lets the goroutines a read woke run on this P, outside a read.
func (l *lead) yieldP() {
	l.readerIn.Store(false)
	l.yields.Add(1)
	runtime.Gosched()
}

// woken reports whether a read's error is a wake's (packetio's Wake),
// the reader's cue to look at why.
func woken(err error) bool { return errors.Is(err, packetio.ErrWoken) }

// standby waits, as the reader goroutine, until the lead has gone a whole
// tick without a Read taking it, or until a call needs it to read now
// (back), and takes it. While a Read holds the lead for longer than a
// tick (a connection waiting for its peer), it stops ticking until that
// Read passes the lead on. It reports false when the Socket closes first.
// ticked: a tick has just elapsed (the first, which started the reader).
func (l *lead) standby(ticked bool) bool {
	t := time.NewTimer(standbyTick)
	defer t.Stop()
	if ticked {
		if ok, done := l.tick(t); done {
			return ok
		}
	}
	for {
		select {
		case <-l.s.done:
			return false
		case <-l.back:
			if l.tryTake() {
				return true
			}
			continue
		case <-t.C:
		}
		if ok, done := l.tick(t); done {
			return ok
		}
	}
}

// tick is what standby does at each standby tick: it takes the lead if
// no Read took it during the tick, parks while one holds it, and
// otherwise sets t for the next. done reports that standby is over, with
// ok its result.
func (l *lead) tick(t *time.Timer) (ok, done bool) {
	l.ticks.Add(1)
	if l.taken.Swap(false) {
		t.Reset(standbyTick) // Reads keep taking it
		return false, false
	}
	if l.tryTake() {
		return true, true
	}
	if ok, done := l.park(); done {
		return ok, true
	}
	t.Reset(standbyTick)
	return false, false
}

// park waits, as the reader goroutine, while a Read has held the lead for
// a whole tick, until that Read passes it on (freed) or a call needs the
// reader (back). done reports that standby is over, with ok its result.
func (l *lead) park() (ok, done bool) {
	l.parked.Store(true)
	defer l.parked.Store(false)
	if l.tryTake() { // passed on just before parked was set
		return true, true
	}
	select {
	case <-l.s.done:
		return false, true
	case <-l.back:
		if l.tryTake() {
			return true, true
		}
	case <-l.freed:
	}
	return false, false
}

func (l *lead) tryTake() bool {
	select {
	case <-l.tok:
		return true
	default:
		return false
	}
}

// pass puts the token back after a Read led, and calls the reader
// goroutine if a call waits for the network or it stopped ticking.
func (l *lead) pass() {
	l.tok <- struct{}{}
	switch {
	case l.waiters.Load() > 0:
		l.callReader()
	case l.parked.Load():
		signal(l.freed)
	}
}

// awaitNetwork counts a call that waits for the network other than as a
// leading Read (a dial, a Write waiting for room, another Read)
// until doneWaiting, and has the reader goroutine take the lead at once
// if nobody holds it: such a call must not wait for a standby tick.
// Where no Read ever leads, the reader goroutine never stands by and
// there is nothing to count.
func (l *lead) awaitNetwork() {
	if l.on {
		l.waiters.Add(1)
		l.callReader()
	}
}

func (l *lead) doneWaiting() {
	if l.on {
		l.waiters.Add(-1)
	}
}

// awaitAccept, for an Accept that starts waiting for the backlog, has
// the reader goroutine take the lead at once if nobody holds it, as
// awaitNetwork does, but does not count the Accept among the waiters,
// so Reads may still lead: see the invariants.
func (l *lead) awaitAccept() {
	if l.on {
		l.callReader()
	}
}

// awaitReadable waits, as a Read of c, until c is signalled readable: by
// leading the Socket's reads when no call other than an Accept waits for
// the network, else on the channel. The first case is the one that pays:
// a connection exchanging requests and replies, on a client or on a
// server that accepts in a loop. With a dial pending, say, leading would
// take the lead from the reader goroutine and give it back on every Read.
//
// earlier counts the Reads of c that waited before, up to 2. An early
// wait leads only if the lead is free: taking it from the reader
// goroutine costs two wakeups (the reader's, to hand it over, and ours),
// one more than the channel, so it pays only for a connection that waits
// again. A short connection (dial, request, one reply, close) never asks
// for it: its first wait is early, and on the accepting side so is its
// second, the wait for the end.
//
// lender says that this Read lent its buffer (proto.PostRead): while it
// leads, datagrams may be read straight into it (inplace.go).
func (l *lead) awaitReadable(c *Conn, earlier int, lender bool) {
	mayLead := l.on && l.waiters.Load() == 0
	led := mayLead && l.tryTake()
	early := earlier == 0 || (earlier == 1 && c.acceptor)
	if !led && (early || !mayLead) {
		l.awaitNetwork()
		c.await(c.readable)
		l.doneWaiting()
		return
	}
	if !led && !l.waitFor(c) {
		return // another reader brought the data
	}
	l.taken.Store(true)
	l.leads.Add(1)
	ok := l.readFor(c, lender)
	l.pass()
	if !ok {
		// The Socket closed, or its reads fail: wait for the reader
		// goroutine, which handles both.
		l.callReader()
		c.await(c.readable)
		return
	}
	select { // the signal readFor saw, unless a concurrent Read took it
	case <-c.readable:
	default:
	}
	if isClosed(c.closed) {
		c.wakeReadable()
	}
}

// awaitDial, for a dial of c whose SYN has left, reads and routes the
// Socket's datagrams itself until the handshake ends (c connected, or
// closed: refused, timed out) or ctx does, if the token is free, no
// other call waits for the network, and the reader goroutine has not
// read yet: on a Socket opened for this dial, as a client that opens a
// Socket per dial has it (its reader goroutine starts standing by). The
// reply then wakes the dialing goroutine itself, not the reader
// goroutine, which would wake it in turn. It reports whether the dial
// has its outcome; false: the caller waits on the channels while the
// reader goroutine reads.
//
// Later dials keep to the reader goroutine: on a Socket that many
// goroutines dial from at once, a dial that took a free token handed it
// back to the reader (a wakeup) as soon as the next dial waited, and the
// free token drew the connections' first Reads into leading too, which
// made churn through one Socket cost more CPU per connection
// (BenchmarkChurn; docs/performance.md has the figures).
func (l *lead) awaitDial(ctx context.Context, c *Conn) bool {
	if !l.on || l.turns.Load() != 0 || l.waiters.Load() != 0 || !l.tryTake() {
		return false
	}
	var stop func() bool
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { l.wakeFor(c) })
	}
	l.taken.Store(true)
	l.dials.Add(1)
	ok := l.readUntil(c, func() bool {
		return isClosed(c.connected) || isClosed(c.closed) || ctx.Err() != nil
	}, false)
	if stop != nil {
		stop()
	}
	l.pass()
	if !ok {
		l.callReader() // the Socket closed, or its reads fail: the reader handles both
	}
	return ok
}

// waitFor asks for the read lead as a Read of c and waits until it has
// the lead (true) or c is readable (false). Most often the lead is free,
// passed back by the previous Read, and the caller's tryTake gets it
// without asking.
func (l *lead) waitFor(c *Conn) bool {
	l.want.Store(true)
	l.wake(&l.readerIn)
	select {
	case <-l.tok:
		l.want.Store(false)
		return true
	case <-c.readable:
		// Another reader brought it. A token passed for us meanwhile
		// goes back to the reader goroutine at once.
		l.want.Store(false)
		if l.tryTake() {
			l.tok <- struct{}{}
			l.callReader()
		}
		if isClosed(c.closed) {
			c.wakeReadable()
		}
		return false
	}
}

// readFor reads and routes as a Read of c: it returns true when c is
// readable (data, its end, Close, a deadline), false when the Socket
// closes or a read fails otherwise (the reader goroutine, taking the lead
// back, handles that). The caller holds the lead and passes it on after.
// Once c is readable it still reads what is queued while ACKs are held
// (ackhold.go): into c's waiting buffer, which it returns fuller. lender:
// that buffer is this Read's, lent, and may be read into in place.
func (l *lead) readFor(c *Conn, lender bool) bool {
	return l.readUntil(c, func() bool { return pending(c.readable) }, lender)
}

// readUntil is readFor with its reason to stop given: it reads and
// routes as a call on c until done reports true. Whoever makes done true
// from another goroutine then calls wakeFor(c). lender: the call is a
// Read of c whose buffer is lent (readFor).
func (l *lead) readUntil(c *Conn, done func() bool, lender bool) bool {
	s := l.s
	l.in.hint = c // its packets are routed without the table (Socket.hinted)
	defer func() { l.in.hint = nil }()
	for {
		l.reading.Store(c) // before done: see the invariants
		ready := done()
		if ready && len(l.in.holds.conns) == 0 {
			l.reading.Store(nil)
			return true
		}
		body := l.bodyFor(c, lender)
		n, seg, from, err := l.next(ready, body)
		l.reading.Store(nil)
		if err == errDrained {
			return true
		}
		if err != nil {
			if woken(err) {
				continue
			}
			l.in.holds.release()
			return false
		}
		if body != nil {
			s.routeInPlace(l.in, l.buf, n, seg, from, body)
		} else {
			s.routeRead(l.in, l.buf, n, seg, from)
		}
		l.noteRead(n, seg)
	}
}

// wake wakes the holder's blocked read if in is set (it is in a read, or
// about to be).
func (l *lead) wake(in *atomic.Bool) {
	if in.Load() {
		l.s.pio.Wake()
	}
}

// readable signals c readable and, if a Read of c leads the Socket's
// reads and is in a read, wakes it to see.
func (l *lead) readable(c *Conn) {
	signal(c.readable)
	l.wakeFor(c)
}

// wakeFor wakes a call on c (a Read, a dial) that leads the Socket's
// reads and is in a read, to look again at its reason to stop.
func (l *lead) wakeFor(c *Conn) {
	if l.reading.Load() == c {
		l.s.pio.Wake()
	}
}

// pending reports whether ch (cap 1) holds a signal, and leaves it there.
func pending(ch chan struct{}) bool { return len(ch) > 0 }

// The rest of the package reaches the lead through these five.

// awaitNetwork: see lead.awaitNetwork.
func (s *Socket) awaitNetwork() { s.lead.awaitNetwork() }

// doneWaiting ends what awaitNetwork began.
func (s *Socket) doneWaiting() { s.lead.doneWaiting() }

// awaitAccept: see lead.awaitAccept.
func (s *Socket) awaitAccept() { s.lead.awaitAccept() }

// awaitReadable waits until c is signalled readable (lead.awaitReadable).
func (c *Conn) awaitReadable(earlier int, lender bool) {
	c.s.lead.awaitReadable(c, earlier, lender)
}

// wakeReadable signals c readable, waking its Read where that Read is
// reading the socket itself.
func (c *Conn) wakeReadable() { c.s.lead.readable(c) }
