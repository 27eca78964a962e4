package utp

import (
	"net/netip"
)

// send writes a batch of datagrams and returns their buffers. tooBig is
// the size of the smallest datagram the kernel refused as larger than
// the link (EMSGSIZE), 0 if none: the connection's path MTU discovery
// takes it as a ceiling.
func (s *Socket) send(out *outBatch, to source) (tooBig int) {
	switch {
	case to.addr != nil:
		for i := range out.n {
			b := out.get(i).flatten(s)
			_, err := s.pc.WriteTo(b, to.addr)
			s.counted(1, len(b), err)
		}
	case out.n > 1 && s.off.gsoOn():
		tooBig = s.sendSegmented(out, to.ap)
	default:
		for i := range out.n {
			tooBig = smallest(tooBig, s.sendOne(out, i, to.ap))
		}
	}
	for i := range out.n {
		s.putBuf(out.get(i).b)
	}
	out.reset()
	return tooBig
}

// smallest is the smaller of two sizes, where 0 means none.
func smallest(a, b int) int {
	if a == 0 || (b != 0 && b < a) {
		return b
	}
	return a
}

// dropBatch discards a batch that cannot be queued, counting its
// datagrams as send errors.
func (s *Socket) dropBatch(out *outBatch) {
	for i := range out.n {
		s.tel.event(&s.stats.sendErrors, metricSendErrors)
		s.putBuf(out.get(i).b)
	}
	out.reset()
	s.putBatch(out)
}

// sendSegmented sends each run of datagrams that the kernel can segment
// in one system call. A run the kernel refuses as too large (EMSGSIZE:
// its segments exceed the link) goes out one datagram at a time, once,
// so that the others still leave and the refused ones are reported.
func (s *Socket) sendSegmented(out *outBatch, to netip.AddrPort) (tooBig int) {
	for i := 0; i < out.n; {
		j := segmentRun(out, i)
		if j-i > 1 && s.sendRun(out, i, j, to) {
			i = j
			continue
		}
		for ; i < j; i++ {
			tooBig = smallest(tooBig, s.sendOne(out, i, to))
		}
	}
	return tooBig
}

// segmentRun returns the end of the run of datagrams from i that one
// segmented send carries: as long as the first, but for a shorter last.
func segmentRun(out *outBatch, i int) int {
	seg := out.get(i).len()
	total := seg
	j := i + 1
	for ; j < out.n && j-i < maxSegments; j++ {
		l := out.get(j).len()
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

// sendRun sends datagrams i to j-1 as one segmented send: from their
// buffers where the Socket can, else copied into one. It reports false
// when segmentation is refused and nothing was sent.
func (s *Socket) sendRun(out *outBatch, i, j int, to netip.AddrPort) bool {
	seg, n := out.get(i).len(), 0
	for k := i; k < j; k++ {
		n += out.get(k).len()
	}
	var sent bool
	var err error
	if s.vec != nil {
		sent, err = s.vec.send(out, i, j, seg, to)
	} else {
		buf := s.getBuf()
		off := 0
		for k := i; k < j; k++ {
			d := out.get(k)
			off += copy(buf[off:], d.b)
			off += copy(buf[off:], d.tail[0])
			off += copy(buf[off:], d.tail[1])
		}
		sent, err = s.off.writeSegmented(s.udp, buf[:off], seg, to)
		s.putBuf(buf)
	}
	if !sent || s.pendingSendErr(err) {
		return false // sendOne sends them, or learns which is too big
	}
	if err == nil {
		s.stats.segmentedSends.Add(1)
	}
	s.counted(j-i, n, err)
	return true
}

// sendOne sends datagram i alone. It returns its size if the kernel
// refused it as larger than the link, else 0. A failed send may report
// the socket's pending error instead of this datagram's: an ICMP error
// about an earlier datagram (IP_RECVERR sets it; the next call, send or
// receive, returns and clears it, and a send that returns it has sent
// nothing). An EMSGSIZE may be such an ICMP "too big", and an
// ECONNREFUSED the "port unreachable" of a peer whose socket closed: the
// send is tried once more (pendingSendErr), and only a second refusal is
// this datagram's.
func (s *Socket) sendOne(out *outBatch, i int, to netip.AddrPort) (tooBig int) {
	var err error
	for range 2 {
		if err = s.sendOneTry(out, i, to); !s.pendingSendErr(err) {
			break
		}
	}
	if isMsgSize(err) {
		return out.get(i).len()
	}
	return 0
}

// sendOneTry makes one attempt at sending datagram i.
func (s *Socket) sendOneTry(out *outBatch, i int, to netip.AddrPort) error {
	d := out.get(i)
	if d.tail[0] != nil && s.vec != nil {
		if sent, err := s.vec.send(out, i, i+1, 0, to); sent {
			s.counted(1, d.len(), err)
			return err
		}
	}
	return s.writeUDP(d.flatten(s), to)
}

// writeTo sends one datagram.
func (s *Socket) writeTo(b []byte, to source) {
	if to.addr == nil {
		_ = s.writeUDP(b, to.ap)
		return
	}
	_, err := s.pc.WriteTo(b, to.addr)
	s.counted(1, len(b), err)
}

func (s *Socket) writeUDP(b []byte, to netip.AddrPort) error {
	_, err := s.udp.WriteToUDPAddrPort(b, to)
	s.counted(1, len(b), err)
	return err
}

// counted records datagrams sent, or a send error.
func (s *Socket) counted(datagrams, bytes int, err error) {
	if err != nil {
		// UDP is lossy by contract; the state machine retransmits.
		s.tel.event(&s.stats.sendErrors, metricSendErrors)
		return
	}
	s.stats.packetsOut.Add(uint64(datagrams))
	s.stats.bytesOut.Add(uint64(bytes))
}
