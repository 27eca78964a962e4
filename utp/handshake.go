package utp

import (
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/proto"
	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// Handshakes. A SYN's source address is not proven: anyone can forge it.
// As TCP's accept returns a connection only after the three-way
// handshake, a Socket hands a connection to Accept only once its dialer
// has proven the address, which the state machine reports through
// proto.Conn.Confirmed: a packet from it that acknowledges what we sent
// to that address. Until then the connection waits in a bounded list,
// oldest first, and leaves it when proven (to the backlog), when it ends,
// when it is older than unprovenMaxAge at the next SYN, or when a new SYN
// finds the list full and evicts its oldest entry, once that entry is
// older than unprovenMinAge. Evicted and expired connections are dropped
// silently: the source may be a victim of reflection, and nothing more is
// sent to it.
//
// A SYN that finds the list full of younger entries (a flood) gets no
// connection: it is answered as a connection would answer it
// (proto.SynReply) and remembered only as the compact record an evicted
// handshake leaves, from which the dialer's proof builds the connection
// (revive). This is most of what SYN cookies give TCP: no connection is
// built for a SYN until its dialer proves its address. The record, unlike
// a cookie, keeps the proof's odds where the state machine puts them: a
// keyed 16-bit initial sequence number would admit any forged packet for
// an unknown connection once in 65,536, with no SYN needed first.

// synRecord is what a connection is built from: its SYN, and the initial
// sequence number we answered it with.
type synRecord struct {
	id, seq, isn uint16
	wnd          uint32
}

// shedRecords is how many shed handshakes are remembered per unproven
// connection kept whole. A record is a small fraction of a connection's
// size, so the records stretch, for a few MiB, the time a genuine dialer
// has to prove its address under a flood from a fraction of a second to
// seconds: long enough for a lost proof to be retransmitted
// (docs/security.md has the figures).
const shedRecords = 32

// shedSyns remembers, compactly, the handshakes shed from the unproven
// list while they could still be proven (revive): the newest shedRecords
// times the unproven limit, in a ring whose oldest entries are
// overwritten. Guarded by Socket.mu.
type shedSyns struct {
	ring  []shedSyn
	next  int
	n     int // live entries
	byKey map[connKey]int32
}

type shedSyn struct {
	key   connKey
	r     synRecord
	since time.Time
	live  bool
}

func (m *shedSyns) remember(key connKey, r synRecord, since time.Time, size int) {
	if m.ring == nil {
		m.ring = make([]shedSyn, size)
		m.byKey = make(map[connKey]int32, size)
	}
	if old := &m.ring[m.next]; old.live {
		delete(m.byKey, old.key)
		m.n--
	}
	if i, ok := m.byKey[key]; ok { // the same key shed again: one entry
		m.ring[i].live = false
		m.n--
	}
	m.ring[m.next] = shedSyn{key: key, r: r, since: since, live: true}
	m.byKey[key] = int32(m.next)
	m.next = (m.next + 1) % len(m.ring)
	m.n++
}

// take removes and returns the record under key if ack proves its
// dialer (proves) and the record is not older than unprovenMaxAge.
func (m *shedSyns) take(key connKey, ack uint16, now time.Time) (synRecord, time.Time, bool) {
	i, ok := m.byKey[key]
	if !ok {
		return synRecord{}, time.Time{}, false
	}
	e := &m.ring[i]
	if !proves(ack, e.r.isn) || now.Sub(e.since) > unprovenMaxAge {
		return synRecord{}, time.Time{}, false
	}
	r, since := e.r, e.since
	delete(m.byKey, key)
	*e = shedSyn{}
	m.n--
	return r, since, true
}

// takeSyn removes and returns the record under key if syn repeats the
// SYN it was made from (same id and sequence number).
func (m *shedSyns) takeSyn(key connKey, syn wire.Header) (synRecord, bool) {
	i, ok := m.byKey[key]
	if !ok {
		return synRecord{}, false
	}
	e := &m.ring[i]
	if e.r.id != syn.ConnID || e.r.seq != syn.SeqNr {
		return synRecord{}, false
	}
	r := e.r
	delete(m.byKey, key)
	*e = shedSyn{}
	m.n--
	return r, true
}

// unprovenMaxAge is how long a connection may wait for its dialer's
// proof. A genuine dialer proves its address within a round trip and the
// delayed-ACK interval after our reply (the dialer's empty DATA,
// proto.Conn.Confirm), or with its first write; a reply lost on the way
// is repeated when the dialer repeats its SYN, 1 s later.
const unprovenMaxAge = 10 * time.Second

// unprovenList is a doubly linked list of acceptor connections whose
// dialer has not proven its address, oldest first. Its links live in the
// Conns (no allocation per SYN); it is guarded by Socket.mu.
type unprovenList struct {
	head, tail *Conn
	n          int
}

// unprovenLinks are a Conn's links in the unproven list, guarded by
// Socket.mu.
type unprovenLinks struct {
	prev, next *Conn
	in         bool
	since      time.Time // when the SYN arrived
}

func (l *unprovenList) push(c *Conn, now time.Time) {
	c.up = unprovenLinks{prev: l.tail, in: true, since: now}
	if l.tail != nil {
		l.tail.up.next = c
	} else {
		l.head = c
	}
	l.tail = c
	l.n++
}

// remove takes c out of the list and reports whether it was in it.
func (l *unprovenList) remove(c *Conn) bool {
	if !c.up.in {
		return false
	}
	if c.up.prev != nil {
		c.up.prev.up.next = c.up.next
	} else {
		l.head = c.up.next
	}
	if c.up.next != nil {
		c.up.next.up.prev = c.up.prev
	} else {
		l.tail = c.up.prev
	}
	c.up = unprovenLinks{}
	l.n--
	return true
}

// unprovenMinAge is how long a connection stays in the unproven list
// before a new SYN may displace it: its proof request goes out 250 ms
// after the SYN (proto's amplify.go), and a dialer that waits for the
// server to speak first (anacrolix/utp's) proves its address only by
// acknowledging it, a round trip later. A SYN that finds the list full of
// younger connections is answered without one (Socket.accept), so under
// a flood the Socket builds at most limit connections a second, whatever
// the SYN rate: a full flood's profile put a built connection at about
// five times the CPU of a stateless answer (docs/security.md).
const unprovenMinAge = time.Second

// shedUnproven removes the connections a new SYN displaces: those older
// than unprovenMaxAge, and the oldest while the list is full, once it is
// older than unprovenMinAge (with WithEarlyAccept at any age, since every
// SYN then needs a connection for Accept). It returns them for the caller
// to drop once s.mu is released, and whether the list has room for the
// SYN's connection. s.mu is held.
func (s *Socket) shedUnproven(now time.Time, victims []*Conn) ([]*Conn, bool) {
	l := &s.unproven
	for l.head != nil {
		c := l.head
		since := c.up.since
		age := now.Sub(since)
		young := age < unprovenMinAge && !s.cfg.earlyAccept
		if age <= unprovenMaxAge && (l.n < s.cfg.unproven || young) {
			break
		}
		l.remove(c)
		if s.conns[c.key] == c {
			s.deleteConn(c.key)
		}
		if age <= unprovenMaxAge {
			s.shed.remember(c.key, c.syn, since, shedRecords*s.cfg.unproven)
		}
		victims = append(victims, c)
	}
	return victims, l.n < s.cfg.unproven
}

// accept creates a connection for a new SYN: it answers the SYN and waits
// in the unproven list for its dialer's proof (promote). A SYN is
// refused with RESET, within the rate limit, while the backlog is full
// (its dialer would only be refused later) or the Socket shuts down.
func (s *Socket) accept(from source, syn wire.Header) {
	now := s.clock.now()
	path := s.pathFor(from, now) // may make system calls: before s.mu
	var spare [4]*Conn
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	if len(s.backlog) >= s.cfg.backlog || s.drain.on {
		s.mu.Unlock()
		s.tel.event(&s.stats.synsRefused, metricSynsRefused)
		s.replyReset(from, syn)
		return
	}
	isn := uint16(s.rng.Uint32())
	r, repeated := s.shed.takeSyn(s.key(from, syn.ConnID+1), syn)
	if repeated {
		// The dialer repeats a SYN whose handshake was shed: answer it
		// as before, since the dialer may hold our first reply and prove
		// its address with it. A new initial sequence number would make
		// that proof unprovable here, and the record's later shedding
		// would erase the record it needs.
		isn = r.isn
	}
	victims, room := s.shedUnproven(now, spare[:0])
	if !room {
		// Every unproven connection is younger than unprovenMinAge: a
		// flood. Answer as SYN cookies would, keeping only the record a
		// shed handshake leaves, from which the dialer's proof (or a
		// repeated SYN) builds the connection.
		s.shed.remember(s.key(from, syn.ConnID+1), synRecord{id: syn.ConnID, seq: syn.SeqNr, wnd: syn.WndSize, isn: isn}, now, shedRecords*s.cfg.unproven)
		s.mu.Unlock()
		s.dropShed(victims) // none: shedding any would have made room
		s.tel.event(&s.stats.synsStateless, metricSynsStateless)
		s.replySyn(from, syn, isn, path, now)
		return
	}
	c := s.newAcceptor(from, syn, isn, path, now, now)
	if s.cfg.earlyAccept {
		s.backlog = append(s.backlog, c)
	}
	s.mu.Unlock()
	if repeated {
		s.tel.event(&s.stats.revived, metricRevived)
	}
	s.dropShed(victims)
	if s.cfg.earlyAccept {
		s.queued(c)
	}
	if repeated {
		// The reply, and the proof request the shed handshake may have
		// sent (proto.Conn.AskProof).
		c.step(func(now time.Time, m *proto.Conn) { m.AskProof(now) })
		return
	}
	c.step(nil) // the STATE reply
}

// dropShed ends, silently, the connections shedUnproven took out of the
// unproven list. s.mu is not held.
func (s *Socket) dropShed(victims []*Conn) {
	for _, v := range victims {
		s.tel.event(&s.stats.synsEvicted, metricSynsEvicted)
		v.step(func(now time.Time, m *proto.Conn) { m.Drop(now) })
	}
}

// replySyn answers syn statelessly (proto.SynReply) with initial sequence
// number isn, as the connection Accept would build sends its first reply;
// the reply is as long as the SYN, or shorter, so it amplifies nothing.
func (s *Socket) replySyn(to source, syn wire.Header, isn uint16, path pathInfo, now time.Time) {
	cfg := proto.Config{RecvBufferSize: s.cfg.recvBuffer, MaxRecvDatagram: s.recvDatagram(),
		TimestampOffset: s.stampOffset(s.key(to, syn.ConnID+1))}
	if s.cfg.recvBuffer < maxPacketSize {
		// The receive buffer is raised to one packet, whose size depends
		// on the path: only then is it worth finding (it allocates).
		cfg.PacketSize = s.packetSize(to.NetAddr(), path.on)
	}
	h := proto.SynReply(now, cfg, &syn, isn)
	var buf [64]byte
	s.writeTo(buf[:h.Put(buf[:])], to)
}

// newAcceptor creates and registers an acceptor for a SYN, new or
// remembered (revive), in the unproven list. s.mu is held.
func (s *Socket) newAcceptor(from source, syn wire.Header, isn uint16, path pathInfo, since, now time.Time) *Conn {
	raddr := from.NetAddr()
	key := s.key(from, syn.ConnID+1)
	cfg := s.protoConfig(raddr, path)
	cfg.TimestampOffset = s.stampOffset(key)
	m := proto.Accept(now, cfg, syn, isn)
	c := newConn(s, raddr, key, m, now)
	c.acceptor = true
	c.syn = synRecord{id: syn.ConnID, seq: syn.SeqNr, wnd: syn.WndSize, isn: isn}
	if r, ok := s.waiting[key]; ok {
		s.endWait(key, r) // a SYN reopens TIME-WAIT (route ended it already)
	}
	s.conns[key] = c
	s.unproven.push(c, since)
	return c
}

// proves reports whether ack, a dialer's ack_nr, proves that it received
// what an acceptor with initial sequence number isn sent: our reply
// carries isn unconsumed, so the dialer acknowledges isn−1 (proto.Accept);
// an acceptor may also have sent its first DATA, isn, before the proof,
// which the dialer acknowledges with isn. Any other value is a guess.
func proves(ack, isn uint16) bool { return ack == isn-1 || ack == isn }

// revive recreates a connection shed from the unproven list when its
// dialer's proof arrives after all: h, for no connection in the table,
// acknowledges exactly the reply we sent to a SYN remembered under its
// key. It returns the new connection, for the caller to hand h to, or
// nil. A dialer whose first DATA was lost, and whose connection a flood
// evicted before the retransmission, connects this way.
func (s *Socket) revive(from source, h *wire.Header, now time.Time) *Conn {
	if h.Type == wire.Syn || h.Type == wire.Reset {
		return nil
	}
	key := s.key(from, h.ConnID)
	s.mu.Lock()
	var r synRecord
	var since time.Time
	ok := false
	if s.shed.n > 0 && s.conns[key] == nil {
		r, since, ok = s.shed.take(key, h.AckNr, now)
	}
	s.mu.Unlock()
	if !ok {
		return nil
	}
	path := s.pathFor(from, now) // may make system calls: not under s.mu
	// The SYN's timestamp is not kept: the reply sent again echoes no
	// delay, which a dialer takes as no sample.
	syn := wire.Header{Type: wire.Syn, ConnID: r.id, SeqNr: r.seq, WndSize: r.wnd}
	var c *Conn
	s.mu.Lock()
	if !s.closed && !s.drain.on && s.conns[key] == nil {
		c = s.newAcceptor(from, syn, r.isn, path, since, now)
	}
	s.mu.Unlock()
	if c != nil {
		s.tel.event(&s.stats.revived, metricRevived)
		// Before h proves it: the shed handshake may have sent its proof
		// request, so this one sends it too (proto.Conn.AskProof), and
		// its first data follows it, as the dialer expects.
		c.step(func(now time.Time, m *proto.Conn) { m.AskProof(now) })
	}
	return c
}

// unprovable reports whether h, for an acceptor whose dialer has not
// proven its address, cannot be the proof: only a packet whose ack_nr
// echoes our initial sequence number can (proves; the state machine's own
// rule, checked here too because Accept's promise rests on it). Such packets
// are dropped before the state machine sees them. SYNs (a repeated SYN
// gets our reply again) and RESETs are the state machine's to judge.
func (c *Conn) unprovable(h *wire.Header) bool {
	return c.acceptor && !c.confirmed.Load() &&
		h.Type != wire.Syn && h.Type != wire.Reset && !proves(h.AckNr, c.syn.isn)
}

// promote moves an acceptor whose dialer proved its address from the
// unproven list to the backlog, for Accept. When the backlog filled
// meanwhile, the connection is refused with RESET: its address is
// proven, so the RESET goes to the real dialer.
func (s *Socket) promote(c *Conn) {
	s.mu.Lock()
	if !s.unproven.remove(c) || s.closed || s.drain.on {
		s.mu.Unlock()
		return // ended, or evicted, meanwhile; or Shutdown ends it
	}
	if s.cfg.earlyAccept {
		s.mu.Unlock()
		return // queued for Accept at its SYN
	}
	full := len(s.backlog) >= s.cfg.backlog
	if !full {
		s.backlog = append(s.backlog, c)
	}
	s.mu.Unlock()
	if full {
		s.tel.event(&s.stats.synsRefused, metricSynsRefused)
		c.step(func(now time.Time, m *proto.Conn) { m.Reset(now) })
		return
	}
	s.queued(c)
}

// queued signals Accept that c joined the backlog, and counts it.
func (s *Socket) queued(c *Conn) {
	signal(s.acceptSig)
	s.stats.accepted.Add(1)
	s.tel.connOpened(false, c.raddr)
}
