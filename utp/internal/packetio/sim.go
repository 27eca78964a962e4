package packetio

import (
	"net"
	"sync"

	"github.com/inet256/go-utp/v2/utp/netsim"
)

// sim is the endpoint for a netsim PacketConn. It offers what Linux UDP
// does beyond one datagram per call, coalesced reads, gathered sends and
// a Wake for a reader, so that the paths package utp takes on UDP run in
// a deterministic simulation (under testing/synctest) too. Its sends
// never block: netsim decides a datagram's fate at once.
type sim struct {
	pc *netsim.PacketConn
	waker
	scratch sync.Pool // *[MaxDatagram]byte, to flatten gathered datagrams
}

func newSim(pc *netsim.PacketConn) *sim {
	s := &sim{pc: pc, waker: waker{pc: pc}}
	s.scratch.New = func() any { return new([MaxDatagram]byte) }
	return s
}

func (s *sim) Read(buf []byte) (n, seg int, from Addr, err error) {
	n, seg, addr, err := s.pc.ReadCoalesced(buf)
	if err != nil {
		return 0, 0, Addr{}, s.readErr(err)
	}
	return n, seg, Addr{Net: addr}, nil
}

// TryRead reads as Read does while netsim has a datagram queued; the one
// reader is the only one to take them, so the read does not wait.
func (s *sim) TryRead(buf []byte) (n, seg int, from Addr, err error) {
	if s.pc.Queued() == 0 {
		return 0, 0, Addr{}, ErrWouldBlock
	}
	return s.Read(buf)
}

// Send sends each datagram with one WriteTo, flattened into a scratch
// buffer as a gathered sendmsg would gather it; a run of several counts
// as one segmented send, as on Linux.
func (s *sim) Send(to Addr, ds []Datagram) (r SendResult) {
	scratch := s.scratch.Get().(*[MaxDatagram]byte)
	defer s.scratch.Put(scratch)
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
