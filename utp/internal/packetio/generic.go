package packetio

import (
	"net"
)

// generic is the endpoint for any net.PacketConn: one datagram per call,
// addresses as net.Addr, and sends that may block (an INET256 node's).
type generic struct {
	pc net.PacketConn
	waker
}

func newGeneric(pc net.PacketConn) *generic {
	g := &generic{pc: pc, waker: waker{pc: pc}}
	return g
}

func (g *generic) Read(buf []byte) (n, seg int, from Addr, err error) {
	n, addr, err := g.pc.ReadFrom(buf)
	if err != nil {
		return 0, 0, Addr{}, g.readErr(err)
	}
	return n, 0, Addr{Net: addr}, nil
}

// TryRead cannot tell whether a datagram is queued without waiting.
func (g *generic) TryRead([]byte) (n, seg int, from Addr, err error) {
	return 0, 0, Addr{}, ErrWouldBlock
}

func (g *generic) Send(to Addr, ds []Datagram) (r SendResult) {
	var scratch *[MaxDatagram]byte // taken only for a datagram with a tail
	for i := range ds {
		b := ds[i].Head
		if ds[i].hasTail() {
			if scratch == nil {
				scratch = scratchPool.Get().(*[MaxDatagram]byte)
			}
			b = ds[i].flatten(scratch[:])
		}
		_, err := g.pc.WriteTo(b, to.NetAddr())
		r.count(1, len(b), err)
	}
	if scratch != nil {
		scratchPool.Put(scratch)
	}
	return r
}

func (g *generic) WriteTo(p []byte, addr net.Addr) (int, error) { return g.pc.WriteTo(p, addr) }
func (g *generic) Wake()                                        { g.wake() }
func (g *generic) AddrOf(addr net.Addr) Addr                    { return Addr{Net: addr} }
func (g *generic) Caps() Caps                                   { return Caps{BlockingSend: true} }
func (g *generic) LocalAddr() net.Addr                          { return g.pc.LocalAddr() }
func (g *generic) Close() error                                 { return g.close() }
