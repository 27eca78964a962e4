package utp

import (
	crand "crypto/rand"
	"hash/maphash"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/packetio"
	"github.com/inet256/go-utp/v2/utp/internal/proto"
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
	clock clock         // what every step and routed read takes as now
	share *windowShare  // the kernel receive buffer, shared among receivers
	paths pathCache     // what discovery learned per destination
	cfg   socketConfig
	tel   telemetry

	mu    sync.Mutex
	conns map[connKey]*Conn
	// connsPeak is the most conns has held since it was last built (conntable.go).
	connsPeak int
	endedSums endedCounters // counters of the connections that left conns
	// waiting holds the connections retired in TIME-WAIT, made at the
	// first (timewait.go); waitingPeak is conns' connsPeak for it.
	waiting     map[connKey]waitRecord
	waitingPeak int
	waits       timeWaits // the ends of those TIME-WAITs
	closed      bool
	rng         *rand.Rand
	stampSeed   maphash.Seed // keys each connection's timestamp offset (stampOffset)

	backlog    []*Conn       // proven, not yet returned by Accept; guarded by mu
	unproven   unprovenList  // answered SYNs awaiting their dialer's proof; guarded by mu
	shed       shedSyns      // handshakes shed from unproven, still revivable; guarded by mu
	acceptSig  chan struct{} // signalled when backlog grows
	done       chan struct{} // closed by Close
	readerDone chan struct{}
	closeOnce  sync.Once
	closeErr   error
	cause      error      // why the Socket closed itself (its PacketConn failed); guarded by mu, set before done is closed
	drain      drainState // Shutdown in progress; guarded by mu

	// nonUTP holds datagrams for ReadFrom; made at first use (nonUTPQueue).
	nonUTP atomic.Pointer[chan datagram]

	lead   lead        // who reads pio: the reader goroutine or a waiting Read
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
		clock:      newClock(),
		tel:        newTelemetry(cfg.background),
		conns:      make(map[connKey]*Conn),
		rng:        rand.New(rand.NewChaCha8(seed)),
		stampSeed:  maphash.MakeSeed(),
		acceptSig:  make(chan struct{}, 1),
		done:       make(chan struct{}),
		readerDone: make(chan struct{}),
		resets:     newTokenBucket(cfg.resetsPerSec),
	}
	s.pio = packetio.New(pc, packetio.Config{Buffer: cfg.udpBuffer, OnICMPError: s.onICMPError})
	if cfg.endpoint != nil {
		s.pio = cfg.endpoint(s.pio)
	}
	caps := s.pio.Caps()
	s.lead.init(s, caps.Wake) // held by the reader goroutine
	s.share = newWindowShare(caps.RecvBuffer)
	if r, ok := s.pio.(packetio.RecvBufferRaiser); ok {
		s.share.growWith(r, cfg.udpBufferMax, caps.RecvBuffer)
	}
	if caps.BlockingSend {
		s.async = newAsyncSender()
		go s.sendLoop()
	}
	s.lead.launch()
	return s
}

// Listen opens a UDP socket (network "udp", "udp4" or "udp6") and returns
// a Socket over it.
func Listen(network, address string, opts ...SocketOption) (*Socket, error) {
	laddr, err := listenAddr(network, address)
	if err != nil {
		return nil, err
	}
	pc, err := net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	return NewSocket(pc, opts...), nil
}

// listenAddr resolves Listen's address. A literal IP and port, the
// usual form (a client's "127.0.0.1:0", a server's "0.0.0.0:6881"), is
// parsed as it is, for a family the network accepts: the resolver's
// path allocates and copies several times for the same answer, and a
// program that opens a Socket per dial pays that at every dial. Names,
// an empty host and a family the network refuses go to the resolver,
// which gives its own answer or error.
func listenAddr(network, address string) (*net.UDPAddr, error) {
	ap, err := netip.ParseAddrPort(address)
	if err == nil {
		a := ap.Addr()
		switch {
		case network == "udp",
			network == "udp4" && a.Is4(),
			network == "udp6" && a.Is6() && !a.Is4In6():
			return net.UDPAddrFromAddrPort(ap), nil
		}
	}
	return net.ResolveUDPAddr(network, address)
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
// buffer a Socket takes. Atomic: a test sets it while other tests'
// Sockets, closed or not, may still run a connection's timer.
var testGetBuf atomic.Pointer[func(*Socket)]

func (s *Socket) getBuf() []byte {
	if f := testGetBuf.Load(); f != nil {
		(*f)(s)
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
		cfg.PathBase, cfg.PathFloor, cfg.PathCeiling = path.base, path.floor, path.ceiling
		cfg.PathStart, cfg.PathOverhead = path.start, path.overhead
		if path.overhead == ipv6Overhead && path.base < path.ceiling {
			// Linux fragments an IPv6 datagram only above the route's
			// MTU (packetio's fragment_linux.go).
			cfg.FragmentPad = path.ceiling + 1
		}
	}
	return cfg
}

// stampOffset is the timestamp offset (proto.Config.TimestampOffset) of
// the connection under key, so that our packets do not show our clock:
// a hash keyed with the Socket's random seed, the same for a SYN answered
// statelessly and for the connection its dialer's proof later builds
// (handshake.go), since a peer reads a change of offset as a change of
// delay.
func (s *Socket) stampOffset(key connKey) uint32 {
	return uint32(maphash.Comparable(s.stampSeed, key))
}

// forget removes an ended connection from the table. Its counters join
// the ended connections' in the same critical section (see connCounters).
func (s *Socket) forget(c *Conn) {
	st := c.Stats() // final: the connection has ended
	s.mu.Lock()
	if s.conns[c.key] == c {
		s.deleteConn(c.key)
	}
	s.unproven.remove(c)
	s.endedSums.add(st)
	s.noteEmpty()
	s.mu.Unlock()
	close(c.left)
	s.ended(c, st)
}

// forgetRetired replaces an ended connection that the state machine
// retired in TIME-WAIT by tw (timewait.go): its Done channel closes when
// TIME-WAIT ends.
func (s *Socket) forgetRetired(c *Conn, tw proto.TimeWait) {
	st := c.Stats() // final: the connection has ended
	if !s.retire(c, tw, st) {
		s.forget(c)
		return
	}
	s.ended(c, st)
}

// ended uncounts an ended connection from the receive-buffer share and
// reports it to telemetry.
func (s *Socket) ended(c *Conn, st Stats) {
	s.share.ended(c)
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

// Close closes the Socket: its connections are reset (those in
// TIME-WAIT, which have finished, are dropped without a RESET), Accept and Dial
// return net.ErrClosed, and the PacketConn is closed. It returns once the
// reader goroutine has exited, or after one second if the PacketConn's
// ReadFrom ignores both Close and read deadlines (that goroutine then
// exits when ReadFrom next returns).
func (s *Socket) Close() error {
	s.closeWith(nil)
	if isClosed(s.readerDone) && s.async == nil {
		return s.closeErr // the reader goroutine never started (lead.forgo)
	}
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
		s.dropWaits()
		s.mu.Unlock()
		close(s.done)
		for _, c := range conns {
			switch {
			case !c.confirmed.Load():
				// An unproven dialer's address may be forged: a RESET
				// would be reflected at whoever owns it.
				c.step(func(now time.Time, m *proto.Conn) { m.Drop(now) })
			case c.inTimeWait():
				// Finished, both FINs acknowledged: a RESET would cost a
				// datagram per connection of the last 16 s, and tell a
				// peer still waiting for our last ACK that a clean
				// stream was reset. (Most such connections are retired
				// already, and dropWaits dropped them.)
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
		if s.lead.forgo() {
			close(s.readerDone)
		}
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
	case d := <-s.nonUTPQueue():
		return copy(p, d.b), d.from, nil
	case <-s.done:
		return 0, nil, &net.OpError{Op: "read", Net: "utp", Addr: s.LocalAddr(), Err: s.closedErr()}
	}
}

// nonUTPQueue returns the queue of datagrams for ReadFrom, made at its
// first use: most Sockets never see a datagram that is not uTP, and at
// the default length (WithNonUTPQueue) the queue would be a new Socket's
// largest allocation.
func (s *Socket) nonUTPQueue() chan datagram {
	if q := s.nonUTP.Load(); q != nil {
		return *q
	}
	q := make(chan datagram, s.cfg.nonUTPQueue)
	if s.nonUTP.CompareAndSwap(nil, &q) {
		return q
	}
	return *s.nonUTP.Load()
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
