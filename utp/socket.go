package utp

import (
	"context"
	crand "crypto/rand"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/packetio"
	"github.com/inet256/go-utp/v2/utp/internal/proto"
	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// Socket multiplexes uTP connections over one net.PacketConn. It is a
// net.Listener (Accept), dials (DialContext), and passes datagrams that are
// not uTP to ReadFrom so that another protocol can share the port.
//
// The PacketConn is reached through packetio (one field, pio). One
// goroutine per Socket reads it, or, where packetio can wake a reader
// (UDP, netsim), lends that job to a waiting Read (lead.go); where sends
// may block (any other PacketConn) a second one sends (sender.go);
// connections have no goroutines of their own.
// Socket.mu guards the table of connections and the handshakes in
// progress (handshake.go), and is never held while a connection's lock is
// taken or while a datagram is sent.
type Socket struct {
	pio   packetio.Conn // the network: the PacketConn given, and what it can do
	share *windowShare  // the kernel receive buffer, shared among receivers
	paths pathCache     // what discovery learned per destination
	cfg   socketConfig
	tel   telemetry

	mu    sync.Mutex
	conns map[connKey]*Conn
	// connsPeak is the most conns has held since it was last built (conntable.go).
	connsPeak int
	closed    bool
	rng       *rand.Rand

	backlog    []*Conn       // proven, not yet returned by Accept; guarded by mu
	unproven   unprovenList  // answered SYNs awaiting their dialer's proof; guarded by mu
	shed       shedSyns      // handshakes shed from unproven, still revivable; guarded by mu
	acceptSig  chan struct{} // signalled when backlog grows
	nonUTP     chan datagram
	done       chan struct{} // closed by Close
	readerDone chan struct{}
	closeOnce  sync.Once
	closeErr   error
	cause      error      // why the Socket closed itself (its PacketConn failed); guarded by mu, set before done is closed
	drain      drainState // Shutdown in progress; guarded by mu

	lead   lead        // who reads pio: the reader goroutine or a waiting Read
	waits  timeWaits   // ends of TIME-WAIT, for all connections
	resets tokenBucket // owned by the read lead's holder
	stats  socketCounters

	async    *asyncSender // sends where they may block (Caps.BlockingSend); else nil
	flushers flushers     // goroutines sending a connection's datagrams now
}

// connKey identifies a connection by peer and receive id. UDP peers are
// keyed by netip.AddrPort (no allocation per packet), others by the
// address's string form.
type connKey struct {
	ap   netip.AddrPort
	addr string
	id   uint16
}

type datagram struct {
	b    []byte
	from net.Addr
}

// maxDatagram is the size of every packet buffer: the largest UDP payload
// plus room for a uTP header and the largest SACK we send.
const maxDatagram = packetio.MaxDatagram

// smallBuf is the size of a small packet buffer: room for any header with
// its extensions (a selective ACK is at most a few hundred bytes) and for
// a DATA packet whose payload was copied because it was too short to
// send from the send buffer (proto's minView, 1,024 bytes).
const smallBuf = 2048

// NewSocket returns a Socket that owns pc: closing the Socket closes pc.
// If pc is closed by other means, the Socket closes itself.
func NewSocket(pc net.PacketConn, opts ...SocketOption) *Socket {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	var seed [32]byte
	_, _ = crand.Read(seed[:])
	s := &Socket{
		cfg:        cfg,
		tel:        newTelemetry(cfg.background),
		conns:      make(map[connKey]*Conn),
		rng:        rand.New(rand.NewChaCha8(seed)),
		acceptSig:  make(chan struct{}, 1),
		nonUTP:     make(chan datagram, cfg.nonUTPQueue),
		done:       make(chan struct{}),
		readerDone: make(chan struct{}),
		resets:     newTokenBucket(cfg.resetsPerSec),
	}
	s.pio = packetio.New(pc, packetio.Config{Buffer: cfg.udpBuffer, OnICMPError: s.onICMPError})
	caps := s.pio.Caps()
	s.lead.init(s, caps.Wake) // held by the reader goroutine
	s.share = newWindowShare(caps.RecvBuffer)
	if caps.BlockingSend {
		s.async = newAsyncSender()
		go s.sendLoop()
	}
	go s.readLoop()
	return s
}

// Listen opens a UDP socket (network "udp", "udp4" or "udp6") and returns
// a Socket over it.
func Listen(network, address string, opts ...SocketOption) (*Socket, error) {
	laddr, err := net.ResolveUDPAddr(network, address)
	if err != nil {
		return nil, err
	}
	pc, err := net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	return NewSocket(pc, opts...), nil
}

// Packet buffers are pooled as array pointers, so that neither taking nor
// returning one allocates. They come in two sizes: a whole datagram, and
// small (smallBuf) for the datagrams that are headers alone or nearly:
// ACKs, handshakes, and the header of a DATA packet whose payload stays
// in the send buffer (PollTransmitView). putBuf tells them apart by
// capacity. The pools belong to the package, not to a Socket: a program
// that opens a Socket per dial would otherwise allocate and clear a
// 64 KiB buffer for every connection's first datagram.
var (
	bufPool   = sync.Pool{New: func() any { return new([maxDatagram]byte) }}
	smallPool = sync.Pool{New: func() any { return new([smallBuf]byte) }}
	batchPool = sync.Pool{New: func() any { return new(outBatch) }}
)

// testGetBuf, when a test sets it, is told of every whole-datagram
// buffer a Socket takes.
var testGetBuf func(*Socket)

func (s *Socket) getBuf() []byte {
	if testGetBuf != nil {
		testGetBuf(s)
	}
	return bufPool.Get().(*[maxDatagram]byte)[:]
}

func (s *Socket) getSmall() []byte { return smallPool.Get().(*[smallBuf]byte)[:] }

// getSized returns a buffer of the given size, maxDatagram or smallBuf.
func (s *Socket) getSized(size int) []byte {
	if size == smallBuf {
		return s.getSmall()
	}
	return s.getBuf()
}

// putBuf returns a pooled buffer of either size; nil is ignored.
func (s *Socket) putBuf(b []byte) {
	switch cap(b) {
	case maxDatagram:
		bufPool.Put((*[maxDatagram]byte)(b[:maxDatagram]))
	case smallBuf:
		smallPool.Put((*[smallBuf]byte)(b[:smallBuf]))
	}
}

func (s *Socket) getBatch() *outBatch  { return batchPool.Get().(*outBatch) }
func (s *Socket) putBatch(b *outBatch) { batchPool.Put(b) }

// canonical writes IPv4 addresses in their 4-byte form. net.UDPAddr
// often holds IPv4 as IPv4-mapped IPv6 (net.ParseIP does), a dual-stack
// socket reports IPv4 peers that way, and an IPv4 socket refuses to send
// to such an address: one form for keys and sends avoids both mismatches.
func canonical(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

func (s *Socket) keyOf(addr net.Addr, id uint16) connKey {
	if u, ok := addr.(*net.UDPAddr); ok {
		return connKey{ap: canonical(u.AddrPort()), id: id}
	}
	return connKey{addr: addr.String(), id: id}
}

// readLoop is the Socket's one goroutine: it reads datagrams and hands
// each to its connection, while it holds the read lead (lead.go).
func (s *Socket) readLoop() {
	defer close(s.readerDone)
	s.lead.run()
}

// stopReading handles a failed read of the reader goroutine and reports
// whether the Socket is done reading.
func (s *Socket) stopReading(err error, failures *int) bool {
	if s.isClosed() {
		return true
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return false
	}
	if readFailed(err) {
		// Closed from outside, or failed: without its reader the Socket
		// is dead, so close it with the error, or Accept would wait
		// forever.
		s.closeWith(err)
		return true
	}
	// Other errors may be transient (ENOBUFS, a bad ICMP): back off a
	// little, but a PacketConn that keeps failing ends the Socket rather
	// than spinning.
	*failures++
	s.tel.warn("utp: read failed", err)
	if *failures >= 100 {
		s.closeWith(err)
		return true
	}
	time.Sleep(10 * time.Millisecond)
	return false
}

// routeRead routes what one read returned: one datagram, or several
// coalesced ones of seg bytes each (the last may be shorter). Those for
// one connection are applied in one step, so that it answers them all
// with one acknowledgement. It reports whether any packet was applied.
func (s *Socket) routeRead(in *inbox, buf []byte, n, seg int, from source) bool {
	if seg == 0 || seg >= n {
		seg = n
	} else {
		s.stats.coalescedReads.Add(1)
	}
	now := time.Now()
	for off := 0; off < n; off += seg {
		s.route(in, buf[off:min(off+seg, n)], from, now)
	}
	return in.flush(now)
}

// source is where a datagram came from. For UDP it is a netip.AddrPort
// passed by value, so dispatch allocates nothing per datagram; a
// *net.UDPAddr is made only for a new connection.
type source = packetio.Addr

// read reads the next datagram, or several coalesced ones of seg bytes
// each (seg 0: one).
func (s *Socket) read(buf []byte) (n, seg int, from source, err error) {
	return s.pio.Read(buf)
}

func (s *Socket) key(from source, id uint16) connKey {
	if from.Net == nil {
		return connKey{ap: from.AP, id: id}
	}
	return s.keyOf(from.Net, id)
}

// sourceOf is addr as a source, in the form read gives it.
func (s *Socket) sourceOf(addr net.Addr) source { return s.pio.AddrOf(addr) }

// route routes one datagram: to its connection (queued in in, which the
// caller flushes), to a new connection (SYN), to ReadFrom (not uTP), or
// answers it with RESET (unknown).
func (s *Socket) route(in *inbox, b []byte, from source, now time.Time) {
	h, payload, err := wire.Parse(b)
	if err != nil {
		if errors.Is(err, wire.ErrNotUTP) {
			s.passOn(b, from)
		} else {
			s.tel.event(&s.stats.malformed, metricMalformed)
		}
		return
	}
	s.stats.packetsIn.Add(1)
	s.stats.bytesIn.Add(uint64(len(b)))
	c := s.lookup(from, &h)
	if c != nil && h.Type == wire.Syn && (!c.m.SameSyn(h) || c.timeWaiting.Load()) {
		// A new connection reusing the id of an old one (in TIME-WAIT, or
		// one whose peer restarted): with 16-bit ids and many short
		// connections this is routine. The new SYN wins, as TCP lets a SYN
		// reopen a TIME-WAIT connection (RFC 6191). In TIME-WAIT even a
		// SYN like the old one's is new: the old dialer is past its
		// handshake, and a new one that forgot the old connection draws
		// its id and sequence number again once in 65,536 reuses, which
		// taken for a repeat would get the old connection's reply.
		in.flush(now)
		c.step(func(now time.Time, m *proto.Conn) { m.Drop(now) }) // leaves the table
		c = nil
	}
	if c == nil {
		in.flush(now) // keep the order of packets and new connections
		c = s.revive(from, &h, now)
	}
	switch {
	case c != nil && c.unprovable(&h):
		s.tel.event(&s.stats.unprovable, metricUnprovable)
	case c != nil:
		if len(payload) > 0 {
			s.share.noteData(c, now, len(payload))
		}
		in.add(c, h, payload, now)
	case h.Type == wire.Syn:
		s.accept(from, h)
	case h.Type != wire.Reset:
		s.replyReset(from, h)
	}
}

// lookup finds the connection a packet belongs to. A SYN is keyed by the
// id it announces plus one (the acceptor's receive id). libutp addresses a
// RESET with the id of the packet it answers, which is our send id, so a
// RESET matches either id.
func (s *Socket) lookup(from source, h *wire.Header) *Conn {
	id := h.ConnID
	if h.Type == wire.Syn {
		id++
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.conns[s.key(from, id)]; c != nil {
		return c
	}
	if h.Type != wire.Reset {
		return nil
	}
	for _, k := range [2]uint16{id - 1, id + 1} {
		if c := s.conns[s.key(from, k)]; c != nil && c.m.SendID() == id {
			return c
		}
	}
	return nil
}

// replyReset answers a packet for an unknown connection, within the rate
// limit (WithResetRate).
func (s *Socket) replyReset(to source, h wire.Header) {
	if !s.resets.take(time.Now()) {
		s.tel.event(&s.stats.resetsSuppressed, metricResetsSuppressed)
		return
	}
	r := wire.Header{Type: wire.Reset, ConnID: h.ConnID, SeqNr: uint16(s.randUint32()), AckNr: h.SeqNr}
	var buf [wire.HeaderSize]byte
	r.Put(buf[:])
	s.tel.event(&s.stats.resetsSent, metricResetsSent)
	s.writeTo(buf[:], to)
}

func (s *Socket) randUint32() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.Uint32()
}

// passOn queues a datagram that is not uTP for ReadFrom.
func (s *Socket) passOn(b []byte, from source) {
	d := datagram{b: append([]byte(nil), b...), from: from.NetAddr()}
	select {
	case s.nonUTP <- d:
		s.stats.nonUTP.Add(1)
	default:
		s.tel.event(&s.stats.nonUTPDropped, metricNonUTPDropped)
	}
}

// protoConfig is the per-connection configuration for a peer, with path
// MTU discovery as path says.
func (s *Socket) protoConfig(raddr net.Addr, path pathInfo) proto.Config {
	cfg := proto.Config{
		PacketSize:         s.packetSize(raddr, path.on),
		PacketSizeOverride: s.cfg.packetSize > 0,
		MaxRecvDatagram:    s.recvDatagram(),
		SendBufferSize:     s.cfg.sendBuffer,
		RecvBufferSize:     s.cfg.recvBuffer,
		NoDelay:            s.cfg.noDelay,
		NewController:      s.cfg.congestion.newController(),
		NoYield:            s.cfg.noYield,
	}
	if path.on {
		cfg.PathBase, cfg.PathCeiling = path.base, path.ceiling
		cfg.PathStart, cfg.PathOverhead = path.start, path.overhead
		if path.overhead == ipv6Overhead && path.base < path.ceiling {
			// Linux fragments an IPv6 datagram only above the route's
			// MTU (packetio's fragment_linux.go).
			cfg.FragmentPad = path.ceiling + 1
		}
	}
	return cfg
}

// forget removes an ended connection from the table.
func (s *Socket) forget(c *Conn) {
	s.mu.Lock()
	if s.conns[c.key] == c {
		s.deleteConn(c.key)
	}
	s.unproven.remove(c)
	s.noteEmpty()
	s.mu.Unlock()
	close(c.left)
	st := c.Stats()
	s.stats.retransmits.Add(st.Retransmits)
	s.stats.timeouts.Add(st.Timeouts)
	s.tel.connClosed(c.raddr, c.err, st)
}

func (s *Socket) isClosed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Accept waits for and returns the next connection. It implements
// net.Listener.
func (s *Socket) Accept() (net.Conn, error) {
	c, err := s.AcceptUTP()
	if err != nil {
		return nil, err
	}
	return c, nil
}

// AcceptUTP is Accept returning the concrete type.
func (s *Socket) AcceptUTP() (*Conn, error) {
	for {
		s.mu.Lock()
		if s.drain.on && !s.closed {
			s.mu.Unlock()
			return nil, &net.OpError{Op: "accept", Net: "utp", Addr: s.LocalAddr(), Err: ErrShutdown}
		}
		if n := len(s.backlog); n > 0 && !s.closed {
			c := s.backlog[0]
			s.backlog[0] = nil
			s.backlog = s.backlog[1:]
			c.accepted = true
			s.mu.Unlock()
			if n > 1 {
				signal(s.acceptSig) // for the next Accept
			}
			return c, nil
		}
		s.mu.Unlock()
		s.awaitNetwork()
		select {
		case <-s.acceptSig:
			s.doneWaiting()
		case <-s.done:
			s.doneWaiting()
			return nil, &net.OpError{Op: "accept", Net: "utp", Addr: s.LocalAddr(), Err: s.closedErr()}
		}
	}
}

// DialContext opens a connection to addr. It ends when the handshake
// completes, the peer refuses (ErrConnRefused), ctx ends, or after 39 s
// (ErrTimedOut). Each connection id gets SYNs at 0 and 1 s; every 3 s the
// dial starts over with a fresh id, because libutp never re-sends a lost
// reply to a repeated SYN.
func (s *Socket) DialContext(ctx context.Context, addr net.Addr) (net.Conn, error) {
	c, err := s.DialUTP(ctx, addr)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// DialUTP is DialContext returning the concrete type.
func (s *Socket) DialUTP(ctx context.Context, addr net.Addr) (*Conn, error) {
	opErr := func(err error) error {
		return &net.OpError{Op: "dial", Net: "utp", Source: s.LocalAddr(), Addr: addr, Err: err}
	}
	if addr == nil {
		return nil, opErr(errors.New("nil address"))
	}
	deadline := time.Now().Add(dialBudget)
	for {
		c, err := s.newDialer(addr, s.pathFor(s.sourceOf(addr), time.Now()))
		if err != nil {
			return nil, opErr(err)
		}
		c, err = s.dialAttempt(ctx, c)
		switch {
		case c != nil:
			s.tel.connOpened(true, addr)
			return c, nil
		case err != nil:
			return nil, opErr(err)
		case !time.Now().Before(deadline):
			return nil, opErr(ErrTimedOut)
		}
	}
}

const (
	// dialSynRetries makes one connection id's attempt last 3 s: SYNs at
	// 0 and 1 s (the initial RTO), and the state machine gives up when the
	// doubled RTO expires at 3 s. The dial then starts over with a fresh
	// id: libutp silently drops a repeated SYN for a connection it
	// already has and never re-sends its reply, so once that reply is
	// lost only a new id helps. The state machine's own timer keeps the
	// time, so a dial arms no timer of its own.
	dialSynRetries = 1
	// dialBudget bounds a dial without a context deadline: 13 attempts.
	dialBudget = 39 * time.Second
)

// dialAttempt waits for one dialer's handshake. It returns the connected
// Conn, or an error that ends the dial, or neither when this id's SYNs
// went unanswered and the dial should go on with a new id.
func (s *Socket) dialAttempt(ctx context.Context, c *Conn) (*Conn, error) {
	c.step(nil) // the SYN
	s.awaitNetwork()
	defer s.doneWaiting()
	select {
	case <-c.connected:
		return c, nil
	case <-c.closed:
		select {
		case <-c.connected: // connected, then closed at once: let Read report it
			return c, nil
		default:
		}
		c.mu.Lock()
		err := c.err
		c.mu.Unlock()
		if err == ErrTimedOut {
			return nil, nil
		}
		return nil, err
	case <-ctx.Done():
		c.step(func(now time.Time, m *proto.Conn) { m.Reset(now) })
		return nil, ctx.Err()
	case <-s.done:
		return nil, s.closedErr()
	}
}

// newDialer registers a dialing connection under a free receive id. When
// random draws find none (thousands of connections to this peer in
// TIME-WAIT), it takes over the id of our oldest connection to the peer
// in TIME-WAIT, which it ends: the peer's side of that connection, if it
// still waits, is reopened by the new SYN, as a SYN reopens TIME-WAIT on
// our side (route), and as RFC 6191 lets TCP.
func (s *Socket) newDialer(addr net.Addr, path pathInfo) (*Conn, error) {
	c, err := s.registerDialer(addr, path, nil)
	if c != nil || err != nil {
		return c, err
	}
	key := s.keyOf(addr, 0)
	for _, old := range s.waits.oldest(64, func(c *Conn) bool {
		// Entries stay queued after their connection ended (a new SYN
		// reopened it, a RESET): those are skipped.
		return !c.acceptor && c.key.ap == key.ap && c.key.addr == key.addr && !isClosed(c.closed)
	}) {
		if c, err := s.registerDialer(addr, path, old); c != nil || err != nil {
			return c, err
		}
	}
	return nil, errors.New("no free connection id for this peer")
}

// registerDialer registers a dialer under a random free id, or, given
// old, a connection in TIME-WAIT, under old's id in old's place; old then
// ends silently. The dialer is built outside s.mu, which it would hold
// for the state machine's allocations (16 goroutines churning through
// one Socket waited on s.mu there more than anywhere else); the table
// then changes in one step, after the id is checked again, so that
// concurrent dials cannot take the same id. It returns nil and no error
// if the ids drawn are taken, or old is no longer in the table.
func (s *Socket) registerDialer(addr net.Addr, path pathInfo, old *Conn) (*Conn, error) {
	tries := 64
	if old != nil {
		tries = 1
	}
	cfg := s.protoConfig(addr, path)
	cfg.SynRetries = dialSynRetries
	for range tries {
		id, isn, ok, err := s.drawDial(addr, old)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		now := time.Now()
		c := newConn(s, addr, s.keyOf(addr, id), proto.Dial(now, cfg, id, isn), now)
		c.syn = synRecord{id: id, isn: isn}
		inserted, err := s.insertDialer(c, old)
		if err != nil {
			return nil, err
		}
		if !inserted {
			continue // taken meanwhile by a concurrent dial
		}
		if old != nil {
			// Out of the table already (forget leaves c in place).
			old.step(func(now time.Time, m *proto.Conn) { m.Drop(now) })
		}
		return c, nil
	}
	return nil, nil
}

// drawDial draws a receive id (old's, given old) and an initial sequence
// number for a dialer to addr, and reports whether the id is free.
func (s *Socket) drawDial(addr net.Addr, old *Conn) (id, isn uint16, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.drain.on {
		return 0, 0, false, s.closedErrLocked()
	}
	id = s.drawDialID()
	if old != nil {
		id = old.key.id
	}
	isn = uint16(s.rng.Uint32())
	if old != nil && isn == old.syn.isn {
		// The peer may still hold old's connection, and would take a SYN
		// with the same sequence number for old's, repeated
		// (proto.Conn.SameSyn): its reply would be old's.
		isn++
	}
	return id, isn, s.dialIDFree(addr, id, old), nil
}

// insertDialer puts c in the table if its id is still free, in old's
// place given old. It reports whether it did.
func (s *Socket) insertDialer(c *Conn, old *Conn) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.drain.on {
		return false, s.closedErrLocked()
	}
	if !s.dialIDFree(c.raddr, c.key.id, old) {
		return false, nil
	}
	s.conns[c.key] = c
	s.stats.dialed.Add(1)
	return true, nil
}

// dialIDFree reports whether a dialer to addr may take id: no connection
// has it (but old, which the dialer replaces, while old has not ended),
// and its neighbour id+1 is free or in TIME-WAIT. The peer addresses us
// with id; a RESET may carry id+1, which lookup gives first to a
// connection whose receive id it is: such a neighbour may only be in
// TIME-WAIT, where a RESET taken for it costs nothing. s.mu is held.
func (s *Socket) dialIDFree(addr net.Addr, id uint16, old *Conn) bool {
	if prev := s.conns[s.keyOf(addr, id)]; prev != nil && (prev != old || isClosed(old.closed)) {
		return false
	}
	n := s.conns[s.keyOf(addr, id+1)]
	return n == nil || n.timeWaiting.Load()
}

// drawDialID draws a receive id for a dialer: any of the 65,536, or, in
// tests, one of the first cfg.dialIDs. s.mu is held.
func (s *Socket) drawDialID() uint16 {
	if s.cfg.dialIDs > 0 {
		return uint16(s.rng.IntN(s.cfg.dialIDs))
	}
	return uint16(s.rng.Uint32())
}

// Close closes the Socket: its connections are reset, Accept and Dial
// return net.ErrClosed, and the PacketConn is closed. It returns once the
// reader goroutine has exited, or after one second if the PacketConn's
// ReadFrom ignores both Close and read deadlines (that goroutine then
// exits when ReadFrom next returns).
func (s *Socket) Close() error {
	s.closeWith(nil)
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-s.readerDone:
	case <-t.C:
	}
	if s.async != nil {
		select {
		case <-s.async.done:
		case <-t.C:
		}
	}
	return s.closeErr
}

func (s *Socket) closeWith(cause error) {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		conns := make([]*Conn, 0, len(s.conns))
		for _, c := range s.conns {
			conns = append(conns, c)
		}
		s.cause = cause
		s.mu.Unlock()
		close(s.done)
		s.waits.stop()
		for _, c := range conns {
			switch {
			case !c.confirmed.Load():
				// An unproven dialer's address may be forged: a RESET
				// would be reflected at whoever owns it.
				c.step(func(now time.Time, m *proto.Conn) { m.Drop(now) })
			case s.async != nil:
				// WriteTo may block: the sender goroutine sends the
				// RESET, and the wait below bounds how long Close
				// lets it try.
				c.step(func(now time.Time, m *proto.Conn) { m.Reset(now) })
			default:
				c.resetNow()
			}
		}
		// The RESETs may have been queued for another goroutine that is
		// sending the connection's datagrams: let them leave first.
		s.flushers.wait(time.Now().Add(time.Second))
		err := s.pio.Close() // frees the reader goroutine's read too
		if s.async != nil {
			s.async.stop()
		}
		if cause == nil {
			s.closeErr = err
		}
		s.tel.warn("utp: socket closed", cause)
	})
}

// Addr returns the Socket's local address. It implements net.Listener.
func (s *Socket) Addr() net.Addr { return s.pio.LocalAddr() }

// LocalAddr returns the Socket's local address.
func (s *Socket) LocalAddr() net.Addr { return s.pio.LocalAddr() }

// ReadFrom returns the next datagram that arrived on the Socket's port but
// is not uTP (a DHT message, say). Such datagrams wait in a bounded queue
// (WithNonUTPQueue); when it is full, new ones are dropped and counted.
// After Close it returns net.ErrClosed.
func (s *Socket) ReadFrom(p []byte) (int, net.Addr, error) {
	s.awaitNetwork()
	defer s.doneWaiting()
	select {
	case d := <-s.nonUTP:
		return copy(p, d.b), d.from, nil
	case <-s.done:
		return 0, nil, &net.OpError{Op: "read", Net: "utp", Addr: s.LocalAddr(), Err: s.closedErr()}
	}
}

// WriteTo sends one raw datagram on the Socket's port.
func (s *Socket) WriteTo(p []byte, addr net.Addr) (int, error) {
	if s.isClosed() {
		return 0, &net.OpError{Op: "write", Net: "utp", Addr: addr, Err: s.closedErr()}
	}
	return s.pio.WriteTo(p, addr)
}

var _ net.Listener = (*Socket)(nil)
var _ net.Conn = (*Conn)(nil)
