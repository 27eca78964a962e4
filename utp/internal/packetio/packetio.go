// Package packetio is the packet boundary of package utp: everything the
// IO layer does with the network goes through its Conn, and everything
// platform-specific (UDP segmentation and coalescing, recvmsg and gathered
// sendmsg, the ICMP error queue, the don't-fragment options) lives here,
// with unsafe and golang.org/x/sys/unix, and nowhere else.
//
// Three implementations sit behind the one interface: any net.PacketConn
// (one datagram per call, sends that may block), UDP (on Linux with the
// kernel's batching), and netsim's PacketConn, which batches reads and
// sends as Linux UDP does, so that package utp's fast paths run in
// deterministic simulations too. The shape follows golang.org/x/net/quic's
// packetConn and wireguard-go's conn.Bind: a narrow interface, one file
// per platform.
package packetio

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"syscall"
)

// Conn is a packet-oriented endpoint. Read is called by one goroutine at
// a time; the other methods are safe for concurrent use.
type Conn interface {
	// Read reads the next datagram into buf, or, where the endpoint
	// coalesces (Caps.Coalesce), several of one sender back to back,
	// each seg bytes long but the last, which may be shorter; seg is 0
	// for one datagram. After Wake it returns ErrWoken once; after Close,
	// an error wrapping net.ErrClosed.
	Read(buf []byte) (n, seg int, from Addr, err error)
	// TryRead is Read that does not wait: with no datagram queued it
	// returns ErrWouldBlock. An endpoint that cannot tell without
	// waiting (Caps.TryRead false) always returns ErrWouldBlock.
	TryRead(buf []byte) (n, seg int, from Addr, err error)
	// Send sends ds, in order, to one destination, and reports what
	// became of them. It does not retain ds.
	Send(to Addr, ds []Datagram) SendResult
	// WriteTo sends one datagram to a net.Addr, as net.PacketConn does.
	WriteTo(p []byte, addr net.Addr) (int, error)
	// Wake makes a Read blocked now, or the next one, return ErrWoken.
	Wake()
	// AddrOf is addr as this endpoint's Read reports its peers.
	AddrOf(addr net.Addr) Addr
	// Caps reports what the endpoint can do; it never changes.
	Caps() Caps
	// LocalAddr returns the endpoint's address.
	LocalAddr() net.Addr
	// Close closes the endpoint and makes a blocked Read return, even
	// on a PacketConn whose Close alone would not (a read deadline in
	// the past goes first).
	Close() error
}

// RecvBufferRaiser is an endpoint whose kernel receive buffer can be
// raised after it opened (Linux UDP). Caps.RecvBuffer stays what was
// granted at first; RaiseRecvBuffer returns what is granted since.
type RecvBufferRaiser interface {
	// RaiseRecvBuffer asks for an n-byte kernel receive buffer, as
	// Config.Buffer does, and returns the size granted, in bytes as
	// getsockopt reports it (0 if unknown).
	RaiseRecvBuffer(n int) (granted int)
}

// Yielder is an endpoint whose Read can let other goroutines run
// between finding nothing queued and waiting, without a second system
// call to find the socket still empty (Linux UDP). Package utp's reader
// goroutine yields so after a read that woke a goroutine: with TryRead,
// then Gosched, then Read, an empty socket cost two empty reads.
type Yielder interface {
	// ReadYield is Read, but with nothing queued it first calls yield,
	// which may run other goroutines (runtime.Gosched), and then waits;
	// a datagram that arrived meanwhile is read at once. If yield
	// returns false, ReadYield returns ErrWouldBlock instead of waiting.
	// Where the endpoint cannot tell that nothing is queued, it may call
	// yield before it reads.
	ReadYield(buf []byte, yield func() bool) (n, seg int, from Addr, err error)
}

// Scatterer is an endpoint whose reads can place part of a datagram in
// a second buffer: Linux UDP, whose recvmsg fills several buffers in
// turn, so that bytes wanted elsewhere (a payload, in the buffer of the
// Read waiting for it) cross from the kernel with one copy and no second
// in user space. Elsewhere the endpoint reads into buf and copies.
type Scatterer interface {
	// ReadScatter is Read (TryRead unless wait) into buf, except that the
	// bytes read at offsets at to at+len(body) go to body: buf[:at] and
	// buf[at+len(body):] hold the rest at their offsets, and
	// buf[at:at+len(body)] is left unspecified. len(body) must be at most
	// len(buf)-at.
	ReadScatter(buf []byte, at int, body []byte, wait bool) (n, seg int, from Addr, err error)
}

// scatterCopy is ReadScatter for an endpoint that read n bytes into buf
// whole: it copies what body should hold.
func scatterCopy(buf []byte, at int, body []byte, n int) {
	if n > at {
		copy(body, buf[at:n])
	}
}

// Caps is what an endpoint can do.
type Caps struct {
	// UDP: peers are netip.AddrPort values (Addr.AP), so that reading
	// and routing allocate nothing, and every datagram is read whole.
	UDP bool
	// Gather: Send takes a datagram's payload as separate slices
	// (Datagram.Tail) without copying them next to the header first.
	Gather bool
	// TryRead: TryRead reads what is queued, rather than always
	// returning ErrWouldBlock.
	TryRead bool
	// Wake: Wake interrupts a blocked Read, so that the right to read
	// may move from one goroutine to another (package utp's read lead).
	Wake bool
	// BlockingSend: Send may block for long (an INET256 node whose
	// daemon stalls), so it must not be called by a goroutine that a
	// user's deadline or Close has to free.
	BlockingSend bool
	// DontFragment: datagrams leave with DF set, so that path MTU
	// discovery can work; Send reports those too large (TooBig).
	DontFragment bool
	// RecvBuffer is the kernel receive buffer granted, in bytes as
	// getsockopt reports it; 0 if unknown.
	RecvBuffer int
}

// Addr is a datagram's peer: AP for UDP (a value, so that a read
// allocates nothing), Net for other endpoints.
type Addr struct {
	AP  netip.AddrPort
	Net net.Addr // nil for UDP
}

// NetAddr returns a as a net.Addr.
func (a Addr) NetAddr() net.Addr {
	if a.Net == nil {
		return net.UDPAddrFromAddrPort(a.AP)
	}
	return a.Net
}

// Datagram is one datagram to send: Head, then the two tail slices, which
// an endpoint without Caps.Gather never gets non-empty (the two halves of
// a ring buffer's payload).
type Datagram struct {
	Head []byte
	Tail [2][]byte
	// Fragmentable lets this datagram, and no other, leave without DF: a
	// packet stranded by a path that shrank under its connection
	// (fragment_linux.go). Endpoints without DF ignore it.
	Fragmentable bool
}

// Len is the datagram's length.
func (d *Datagram) Len() int { return len(d.Head) + len(d.Tail[0]) + len(d.Tail[1]) }

func (d *Datagram) hasTail() bool { return len(d.Tail[0]) > 0 || len(d.Tail[1]) > 0 }

// scratchPool holds the buffers, one datagram long, into which an
// endpoint flattens or joins datagrams to send. It belongs to the
// package, not to an endpoint: a program that opens a Socket per dial
// would otherwise allocate one for each, and a sync.Pool's first use
// also allocates its per-P slots and registers it with the runtime.
var scratchPool = sync.Pool{New: func() any { return new([MaxDatagram]byte) }}

// flatten copies d into scratch and returns it, or returns Head alone if
// there is no tail.
func (d *Datagram) flatten(scratch []byte) []byte {
	if !d.hasTail() {
		return d.Head
	}
	b := append(scratch[:0], d.Head...)
	return append(append(b, d.Tail[0]...), d.Tail[1]...)
}

// SendResult is what became of a Send's datagrams.
type SendResult struct {
	Datagrams int // sent
	Bytes     int // in the datagrams sent
	Errors    int // datagrams the endpoint refused; UDP is lossy, so nothing more is said
	Segmented int // system calls that each sent several datagrams
	Batched   int // system calls that each sent several datagrams of their own (sendmmsg)
	// TooBig is the size of the smallest datagram refused as larger than
	// the link (EMSGSIZE with DF set), 0 if none: path MTU discovery
	// takes it as a ceiling.
	TooBig int
}

func (r *SendResult) count(datagrams, bytes int, err error) {
	if err != nil {
		r.Errors += datagrams
		return
	}
	r.Datagrams += datagrams
	r.Bytes += bytes
}

// ErrWoken is what Read returns once after Wake.
var ErrWoken = errors.New("packetio: read woken")

// ErrWouldBlock is what TryRead returns when no datagram is queued.
var ErrWouldBlock = errors.New("packetio: no datagram queued")

// Config is how New sets an endpoint up.
type Config struct {
	// Buffer is the size asked for the kernel's send and receive
	// buffers, where there are any.
	Buffer int
	// OnICMPError, if not nil, is told of each ICMP error the kernel
	// reports for a datagram sent to dst (ECONNREFUSED: port
	// unreachable). It is called by the goroutine in Read.
	OnICMPError func(dst netip.AddrPort, errno syscall.Errno)
}

// New returns the endpoint for pc: UDP's for a *net.UDPConn, the
// batching one for a registered Coalescer (netsim's PacketConn, matched by
// its exact type: see RegisterCoalescer), else the generic one. The
// endpoint owns pc.
func New(pc net.PacketConn, cfg Config) Conn {
	if u, ok := pc.(*net.UDPConn); ok {
		return newUDP(u, cfg)
	}
	if c, ok := asCoalescer(pc); ok {
		return newSim(c)
	}
	return newGeneric(pc)
}

// MaxDatagram is the size of the buffers an endpoint needs to read or
// flatten any datagram: the largest UDP payload plus room for a uTP
// header and the largest selective ACK.
const MaxDatagram = 65536 + 512
