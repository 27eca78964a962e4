package packetio

import (
	"net"
	"net/netip"
	"sync"
)

// udp is the endpoint for a UDP socket. Peers are netip.AddrPort values,
// so that reads allocate nothing. What the platform adds (udp_linux.go:
// segmentation and coalescing, recvmsg and a gathered sendmsg, the ICMP
// error queue, DF) is in its os field; elsewhere that is empty and every
// datagram is one system call.
type udp struct {
	u *net.UDPConn
	waker
	os   udpOS
	caps Caps
	// df is held shared by every send, and exclusively by a fragmentable
	// one while DF, a socket-wide option, is lifted (fragment_linux.go).
	df sync.RWMutex
}

func newUDP(u *net.UDPConn, cfg Config) *udp {
	c := &udp{u: u, waker: waker{pc: u}}
	c.caps = Caps{UDP: true}
	c.os.enable(u, cfg, &c.caps)
	return c
}

// Read reads one datagram, or a coalesced run; the source is in its
// unmapped form, as AddrOf gives addresses.
func (c *udp) Read(buf []byte) (n, seg int, from Addr, err error) {
	return c.result(c.os.read(c.u, buf, true, nil))
}

// TryRead is Read that does not wait (Conn.TryRead).
func (c *udp) TryRead(buf []byte) (n, seg int, from Addr, err error) {
	return c.result(c.os.read(c.u, buf, false, nil))
}

// ReadYield is Read that, finding nothing queued, calls yield before it
// waits (Yielder).
func (c *udp) ReadYield(buf []byte, yield func() bool) (n, seg int, from Addr, err error) {
	return c.result(c.os.read(c.u, buf, true, yield))
}

// ReadScatter is Read, or TryRead unless wait, with the bytes at offsets
// at to at+len(body) placed in body (Scatterer): by recvmsg's buffers
// where the platform reads by recvmsg, else by a copy after the read.
func (c *udp) ReadScatter(buf []byte, at int, body []byte, wait bool) (n, seg int, from Addr, err error) {
	if !c.os.scatter(at, body) {
		n, seg, from, err = c.result(c.os.read(c.u, buf, wait, nil))
		if err == nil {
			scatterCopy(buf, at, body, n)
		}
		return n, seg, from, err
	}
	defer c.os.scatter(0, nil)
	return c.result(c.os.read(c.u, buf, wait, nil))
}

// result is what the reads report of udpOS.read's outcome: the source in
// its unmapped form, ErrWouldBlock as it is, other errors as readErr
// gives them.
func (c *udp) result(n, seg int, ap netip.AddrPort, err error) (int, int, Addr, error) {
	if err == ErrWouldBlock {
		return 0, 0, Addr{}, err
	}
	if err != nil {
		return 0, 0, Addr{}, c.readErr(err)
	}
	return n, seg, Addr{AP: canonical(ap)}, nil
}

// Send sends runs of datagrams that the kernel can segment with one
// system call each, where it can, and the others one at a time; a
// fragmentable datagram goes alone, between the runs around it.
func (c *udp) Send(to Addr, ds []Datagram) (r SendResult) {
	for len(ds) > 0 {
		i := 0
		for i < len(ds) && (to.Net != nil || !ds[i].Fragmentable) {
			i++
		}
		c.sendDF(to, ds[:i], &r)
		if i < len(ds) {
			c.sendFragmentable(ds[i:i+1], to.AP, &r)
			i++
		}
		ds = ds[i:]
	}
	return r
}

// sendDF sends ds, none of them fragmentable, with DF as the socket has
// it, DF set first if one of them is the first to need it.
func (c *udp) sendDF(to Addr, ds []Datagram, r *SendResult) {
	if len(ds) == 0 {
		return
	}
	c.df.RLock()
	defer c.df.RUnlock()
	c.os.dfBefore(ds)
	c.sendRuns(to, ds, r)
}

// sendRuns is Send for datagrams that all keep DF.
func (c *udp) sendRuns(to Addr, ds []Datagram, r *SendResult) {
	if to.Net != nil {
		for i := range ds {
			c.sendFlat(&ds[i], to.Net, r)
		}
		return
	}
	if len(ds) > 1 && c.os.gsoOn() {
		c.sendSegmented(ds, to.AP, r)
		return
	}
	c.sendAlone(ds, to.AP, r)
}

// sendAlone sends ds, each a datagram of its own, in as few system calls
// as the platform allows (sendmmsg on Linux, each call that carried
// several counted in Batched), and one at a time from the first it did not
// take, so that sendOne reports which failed and why.
func (c *udp) sendAlone(ds []Datagram, to netip.AddrPort, r *SendResult) {
	if len(ds) > 1 {
		n, bytes, several := c.os.sendMany(ds, to)
		r.Batched += several
		r.count(n, bytes, nil)
		ds = ds[n:]
	}
	for i := range ds {
		r.TooBig = smallest(r.TooBig, c.sendOne(ds[i:i+1], to, r))
	}
}

// sendFlat sends d to a net.Addr that is not UDP's own form.
func (c *udp) sendFlat(d *Datagram, to net.Addr, r *SendResult) {
	_, err := c.writeFlat(d, func(b []byte) (int, error) { return c.u.WriteTo(b, to) })
	r.count(1, d.Len(), err)
}

// writeFlat passes d to write in one buffer: Head itself, or d copied
// into a pooled buffer when it has a tail.
func (c *udp) writeFlat(d *Datagram, write func([]byte) (int, error)) (int, error) {
	if !d.hasTail() {
		return write(d.Head)
	}
	scratch := scratchPool.Get().(*[MaxDatagram]byte)
	defer scratchPool.Put(scratch)
	return write(d.flatten(scratch[:]))
}

// smallest is the smaller of two sizes, where 0 means none.
func smallest(a, b int) int {
	if a == 0 || (b != 0 && b < a) {
		return b
	}
	return a
}

// sendSegmented sends each run of datagrams that the kernel can segment
// in one system call. A run the kernel refuses as too large (EMSGSIZE:
// its segments exceed the link) goes out one datagram at a time, once,
// so that the others still leave and the refused ones are reported.
func (c *udp) sendSegmented(ds []Datagram, to netip.AddrPort, r *SendResult) {
	for i := 0; i < len(ds); {
		j := segmentRun(ds, i)
		if j-i > 1 && c.sendRun(ds[i:j], to, r) {
			i = j
			continue
		}
		if j-i == 1 {
			// Datagrams that each go alone (too large to join a run,
			// as loopback's 64 KiB ones are) go together by sendAlone.
			for j < len(ds) && segmentRun(ds, j) == j+1 {
				j++
			}
		}
		c.sendAlone(ds[i:j], to, r)
		i = j
	}
}

// segmentRun returns the end of the run of datagrams from i that one
// segmented send carries: as long as the first, but for a shorter last.
func segmentRun(ds []Datagram, i int) int {
	seg := ds[i].Len()
	total := seg
	j := i + 1
	for ; j < len(ds) && j-i < maxSegments; j++ {
		l := ds[j].Len()
		if l > seg || total+l > maxSegmentedBytes {
			break
		}
		total += l
		if l < seg {
			return j + 1
		}
	}
	return j
}

// sendRun sends run as one segmented send: from their buffers where the
// platform gathers, else joined in one buffer. It reports false when
// segmentation is refused and nothing was sent.
func (c *udp) sendRun(run []Datagram, to netip.AddrPort, r *SendResult) bool {
	seg, n := run[0].Len(), 0
	for i := range run {
		n += run[i].Len()
	}
	var sent bool
	var err error
	if c.os.gathers() {
		sent, err = c.os.sendGathered(run, seg, to)
	} else {
		scratch := scratchPool.Get().(*[MaxDatagram]byte)
		b := scratch[:0]
		for i := range run {
			b = append(append(append(b, run[i].Head...), run[i].Tail[0]...), run[i].Tail[1]...)
		}
		sent, err = c.os.writeSegmented(c.u, b, seg, to)
		scratchPool.Put(scratch)
	}
	if !sent || c.os.pendingSendErr(err) {
		return false // sendOne sends them, or learns which is too big
	}
	if err == nil {
		r.Segmented++
	}
	r.count(len(run), n, err)
	return true
}

// sendOne sends one[0] alone. It returns its size if the kernel refused it
// as larger than the link, else 0. A failed send may report the socket's
// pending error instead of this datagram's: an ICMP error about an
// earlier datagram (IP_RECVERR sets it; the next call, send or receive,
// returns and clears it, and a send that returns it has sent nothing).
// An EMSGSIZE may be such an ICMP "too big", and an ECONNREFUSED the
// "port unreachable" of a peer whose socket has closed, which a server
// whose clients each dial from a socket of their own draws all the time:
// the send is tried once more (pendingSendErr), and only a second
// refusal is this datagram's.
func (c *udp) sendOne(one []Datagram, to netip.AddrPort, r *SendResult) (tooBig int) {
	var err error
	for range 2 {
		if err = c.sendOneTry(one, to, r); !c.os.pendingSendErr(err) {
			break
		}
	}
	if isMsgSize(err) {
		return one[0].Len()
	}
	return 0
}

// sendOneTry makes one attempt at sending one[0]: by the platform's
// gathered send where there is one, with or without a tail, since that
// is also the cheaper call (a raw sendto for a small datagram, or a raw
// sendmsg, against the net package's sendto and its layers; an ACK is
// usually sent this way).
func (c *udp) sendOneTry(one []Datagram, to netip.AddrPort, r *SendResult) error {
	d := &one[0]
	if c.os.gathers() {
		if sent, err := c.os.sendGathered(one, 0, to); sent {
			r.count(1, d.Len(), err)
			return err
		}
	}
	_, err := c.writeFlat(d, func(b []byte) (int, error) { return c.u.WriteToUDPAddrPort(b, to) })
	r.count(1, d.Len(), err)
	return err
}

// WriteTo sends p with DF as the socket has it.
func (c *udp) WriteTo(p []byte, addr net.Addr) (int, error) {
	c.df.RLock()
	defer c.df.RUnlock()
	c.os.dfBeforeLen(len(p))
	return c.u.WriteTo(p, addr)
}

func (c *udp) Wake()               { c.wake() }
func (c *udp) Caps() Caps          { return c.caps }
func (c *udp) LocalAddr() net.Addr { return c.u.LocalAddr() }

// Close closes the socket, and gives back what its sends keep. A
// UDPConn's Close frees a blocked read by itself (the poller wakes it
// with net.ErrClosed), so the read deadline that waker.close sets first
// for other PacketConns is left out: a program that opens a Socket per
// dial closes one per connection.
func (c *udp) Close() error {
	c.closed.Store(true)
	err := c.u.Close()
	c.os.release()
	return err
}

// AddrOf gives a UDP address as its AddrPort, in the form Read reports.
func (c *udp) AddrOf(addr net.Addr) Addr {
	if u, ok := addr.(*net.UDPAddr); ok {
		return Addr{AP: canonical(u.AddrPort())}
	}
	return Addr{Net: addr}
}

// canonical writes IPv4 addresses in their 4-byte form. net.UDPAddr
// often holds IPv4 as IPv4-mapped IPv6 (net.ParseIP does), a dual-stack
// socket reports IPv4 peers that way, and an IPv4 socket refuses to send
// to such an address: one form for keys and sends avoids both mismatches.
func canonical(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
