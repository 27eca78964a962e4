package utp

import (
	"net/netip"
)

// send writes a batch of datagrams and returns their buffers.
func (s *Socket) send(out *outBatch, to source) {
	switch {
	case to.addr != nil:
		for i := range out.n {
			b := out.get(i).flatten()
			_, err := s.pc.WriteTo(b, to.addr)
			s.counted(1, len(b), err)
		}
	case out.n > 1 && s.off.gsoOn():
		s.sendSegmented(out, to.ap)
	default:
		for i := range out.n {
			s.sendOne(out, i, to.ap)
		}
	}
	for i := range out.n {
		s.putBuf(out.get(i).b)
	}
	out.reset()
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
// in one system call.
func (s *Socket) sendSegmented(out *outBatch, to netip.AddrPort) {
	for i := 0; i < out.n; {
		j := segmentRun(out, i)
		if j-i > 1 && s.sendRun(out, i, j, to) {
			i = j
			continue
		}
		for ; i < j; i++ {
			s.sendOne(out, i, to)
		}
	}
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
	if !sent {
		return false
	}
	if err == nil {
		s.stats.segmentedSends.Add(1)
	}
	s.counted(j-i, n, err)
	return true
}

// sendOne sends datagram i alone.
func (s *Socket) sendOne(out *outBatch, i int, to netip.AddrPort) {
	d := out.get(i)
	if d.tail[0] != nil && s.vec != nil {
		if sent, err := s.vec.send(out, i, i+1, 0, to); sent {
			s.counted(1, d.len(), err)
			return
		}
	}
	s.writeUDP(d.flatten(), to)
}

// writeTo sends one datagram.
func (s *Socket) writeTo(b []byte, to source) {
	if to.addr == nil {
		s.writeUDP(b, to.ap)
		return
	}
	_, err := s.pc.WriteTo(b, to.addr)
	s.counted(1, len(b), err)
}

func (s *Socket) writeUDP(b []byte, to netip.AddrPort) {
	_, err := s.udp.WriteToUDPAddrPort(b, to)
	s.counted(1, len(b), err)
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
