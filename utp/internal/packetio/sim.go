package packetio

import (
	"net"
	"sync"
)

// Coalescer is a PacketConn that can read several datagrams of one sender
// at once, as Linux UDP's coalesced reads do, and whose WriteTo never
// blocks. netsim's PacketConn is one.
type Coalescer interface {
	net.PacketConn
	// ReadCoalesced reads one datagram into p, then as many more as fit
	// from the same sender, each no longer than the first; seg is the
	// first's length when more than one was read, else 0.
	ReadCoalesced(p []byte) (n, seg int, from net.Addr, err error)
	// Queued is how many datagrams wait to be read: with one reader, a
	// read that sees one does not wait (TryRead).
	Queued() int
}

// coalescer, if set, tells whether a PacketConn is a Coalescer. Package
// netsim sets it when a program imports it, so that a program that does
// not (any program but a test) does not link the simulator.
var coalescer struct {
	sync.RWMutex
	match func(net.PacketConn) (Coalescer, bool)
}

// RegisterCoalescer makes New give a PacketConn for which match reports
// true the batching endpoint. match should accept exact types only: a
// type that embeds a Coalescer inherits ReadCoalesced but may block in
// WriteTo (an INET256 node's stand-in in tests does), and needs the
// generic endpoint's sender goroutine. A later call replaces an earlier.
func RegisterCoalescer(match func(net.PacketConn) (Coalescer, bool)) {
	coalescer.Lock()
	coalescer.match = match
	coalescer.Unlock()
}

// asCoalescer reports whether the registered matcher takes pc.
func asCoalescer(pc net.PacketConn) (Coalescer, bool) {
	coalescer.RLock()
	match := coalescer.match
	coalescer.RUnlock()
	if match == nil {
		return nil, false
	}
	return match(pc)
}

// sim is the endpoint for a Coalescer such as netsim's PacketConn. It offers what Linux UDP
// does beyond one datagram per call, coalesced reads, gathered sends and
// a Wake for a reader, so that the paths package utp takes on UDP run in
// a deterministic simulation (under testing/synctest) too. Its sends
// never block: netsim decides a datagram's fate at once.
type sim struct {
	pc Coalescer
	waker
}

func newSim(pc Coalescer) *sim {
	s := &sim{pc: pc, waker: waker{pc: pc}}
	return s
}

func (s *sim) Read(buf []byte) (n, seg int, from Addr, err error) {
	n, seg, addr, err := s.pc.ReadCoalesced(buf)
	if err != nil {
		return 0, 0, Addr{}, s.readErr(err)
	}
	return n, seg, Addr{Net: addr}, nil
}

// TryRead reads as Read does while a datagram is queued; the one
// reader is the only one to take them, so the read does not wait.
func (s *sim) TryRead(buf []byte) (n, seg int, from Addr, err error) {
	if s.pc.Queued() == 0 {
		return 0, 0, Addr{}, ErrWouldBlock
	}
	return s.Read(buf)
}

// ReadScatter reads as Read (or TryRead) does and copies what body
// should hold (Scatterer): the simulator has no recvmsg to place it.
func (s *sim) ReadScatter(buf []byte, at int, body []byte, wait bool) (n, seg int, from Addr, err error) {
	if wait {
		n, seg, from, err = s.Read(buf)
	} else {
		n, seg, from, err = s.TryRead(buf)
	}
	if err == nil {
		scatterCopy(buf, at, body, n)
	}
	return n, seg, from, err
}

// Send sends each datagram with one WriteTo, flattened into a scratch
// buffer as a gathered sendmsg would gather it; a run of several counts
// as one segmented send, as on Linux.
func (s *sim) Send(to Addr, ds []Datagram) (r SendResult) {
	scratch := scratchPool.Get().(*[MaxDatagram]byte)
	defer scratchPool.Put(scratch)
	for i := range ds {
		b := ds[i].flatten(scratch[:])
		_, err := s.pc.WriteTo(b, to.NetAddr())
		r.count(1, len(b), err)
	}
	if len(ds) > 1 && r.Errors == 0 {
		r.Segmented++
	}
	return r
}

func (s *sim) WriteTo(p []byte, addr net.Addr) (int, error) { return s.pc.WriteTo(p, addr) }
func (s *sim) Wake()                                        { s.wake() }
func (s *sim) AddrOf(addr net.Addr) Addr                    { return Addr{Net: addr} }
func (s *sim) Caps() Caps                                   { return Caps{Gather: true, Wake: true, TryRead: true} }
func (s *sim) LocalAddr() net.Addr                          { return s.pc.LocalAddr() }
func (s *sim) Close() error                                 { return s.close() }
