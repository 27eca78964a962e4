package netsim

import (
	"fmt"
	"time"
)

// Addr is a node's address. It implements net.Addr so it can later stand in
// for a UDP address behind a net.PacketConn.
type Addr string

// Network returns "netsim".
func (a Addr) Network() string { return "netsim" }

// String returns the address itself.
func (a Addr) String() string { return string(a) }

// route is a node's outgoing link to one peer.
type route struct {
	link *Link
	to   *Node
}

// Node is an endpoint with an address. Datagrams addressed to it are passed
// to its receive handler; it sends over the Links made by Sim.Connect.
type Node struct {
	s      *Sim
	addr   Addr
	recv   func(now time.Time, from Addr, b []byte)
	routes map[Addr]route // lookup only; never iterated

	offset time.Duration
	skew   float64
}

// NewNode adds a node with address addr. recv is called with each datagram
// that arrives, at its arrival time; b is only valid during the call (its
// buffer is reused afterwards), so a handler that keeps data must copy it.
// recv may call Send, Schedule and Timer methods re-entrantly. A nil recv
// discards arrivals. NewNode panics if addr is already in use, since that
// is always a bug in the test's setup.
func (s *Sim) NewNode(addr Addr, recv func(now time.Time, from Addr, b []byte)) *Node {
	if _, dup := s.nodes[addr]; dup {
		panic(fmt.Sprintf("netsim: duplicate node address %q", addr))
	}
	n := &Node{s: s, addr: addr, recv: recv, routes: make(map[Addr]route)}
	s.nodes[addr] = n
	return n
}

// Node returns the node with address addr, or nil.
func (s *Sim) Node(addr Addr) *Node { return s.nodes[addr] }

// Connect creates the two directions of a path between a and b, with
// independent configurations (asymmetric paths are common: think of an
// ADSL uplink). Each link gets its own random stream derived from the
// Sim's seed and the link's creation index, so a run is reproducible and
// adding traffic on one link does not change the fate of packets on
// another. Connect panics if a and b are already connected or are the same
// node.
func (s *Sim) Connect(a, b *Node, aToB, bToA LinkConfig) (ab, ba *Link) {
	if a == b {
		panic("netsim: cannot connect a node to itself")
	}
	if _, dup := a.routes[b.addr]; dup {
		panic(fmt.Sprintf("netsim: %q and %q are already connected", a.addr, b.addr))
	}
	ab, ba = s.newLink(aToB), s.newLink(bToA)
	a.routes[b.addr] = route{link: ab, to: b}
	b.routes[a.addr] = route{link: ba, to: a}
	return ab, ba
}

// newLink makes a link on the Sim's time base with the next derived rng.
func (s *Sim) newLink(cfg LinkConfig) *Link {
	s.links++
	l := NewLink(cfg, DerivedRand(s.seed, s.links))
	l.base, l.hasBase = epoch, true
	return l
}

// Addr returns the node's address.
func (n *Node) Addr() Addr { return n.addr }

// Sim returns the simulator the node belongs to.
func (n *Node) Sim() *Sim { return n.s }

// Link returns the outgoing link from n to the node at addr, or nil.
func (n *Node) Link(to Addr) *Link { return n.routes[to].link }

// Send transmits a copy of b to the node at to over their link, like a UDP
// sendto: it returns true whether or not the link then drops the packet.
// It returns false, and counts the datagram in Sim.Unroutable, if there is
// no link from n to to; such datagrams are silently dropped.
func (n *Node) Send(to Addr, b []byte) bool { return n.SendAs(n.addr, to, b) }

// SendAs is Send with a forged source address: the datagram travels over
// n's own link to to, and arrives as if src had sent it, as a spoofed UDP
// datagram does. Sim.Tap still sees which node sent it.
func (n *Node) SendAs(src, to Addr, b []byte) bool { return n.send(src, to, b, false) }

// SendFragmentable is Send for a datagram sent with fragmentation allowed
// (DF clear): it crosses links whose MTU it exceeds, as IPv4 routers
// fragment it and the receiver reassembles it, where Send's would be
// dropped.
func (n *Node) SendFragmentable(to Addr, b []byte) bool { return n.send(n.addr, to, b, true) }

func (n *Node) send(src, to Addr, b []byte, frag bool) bool {
	r, ok := n.routes[to]
	if !ok {
		n.s.unroutable++
		return false
	}
	s := n.s
	k := r.link.transmitFrag(s.now, len(b), frag)
	for _, at := range r.link.arr[:k] {
		buf := s.getBuf(len(b))
		copy(buf, b)
		e := s.alloc()
		e.kind = kindDeliver
		e.from, e.to, e.src, e.buf = n, r.to, src, buf
		s.push(e, at)
	}
	return true
}

// SetClockOffset sets a constant offset of the node's local clock from the
// Sim clock, as between two hosts whose clocks were never synchronised.
// uTP's one-way delay measurements must be immune to it.
func (n *Node) SetClockOffset(d time.Duration) { n.offset = d }

// SetClockSkew makes the node's local clock run at (1+skew) times the Sim
// clock's rate, measured from Sim.Start; e.g. 100e-6 is 100 ppm fast. This
// models the clock drift LEDBAT has to tolerate (RFC 6817 section 4.3).
func (n *Node) SetClockSkew(skew float64) { n.skew = skew }

// Now returns the node's local clock: Sim.Now() + offset + skew*Elapsed().
// Protocol code on this node should timestamp packets with it, while
// scheduling (which is in Sim time) uses the Sim clock.
func (n *Node) Now() time.Time {
	el := n.s.Elapsed()
	drift := time.Duration(float64(el) * n.skew) // one rounding, no fused ops
	return epoch.Add(el + n.offset + drift)
}
