package utp

import "github.com/inet256/go-utp/v2/utp/internal/packetio"

// send writes a batch of datagrams and returns their buffers. tooBig is
// the size of the smallest datagram the kernel refused as larger than
// the link (EMSGSIZE), 0 if none: the connection's path MTU discovery
// takes it as a ceiling.
func (s *Socket) send(out *outBatch, to source) (tooBig int) {
	r := s.pio.Send(to, out.ds)
	s.counted(r)
	for i := range out.ds {
		s.putBuf(out.ds[i].Head)
	}
	out.reset()
	return r.TooBig
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
	for i := range out.ds {
		s.tel.event(&s.stats.sendErrors, metricSendErrors)
		s.putBuf(out.ds[i].Head)
	}
	out.reset()
	s.putBatch(out)
}

// writeTo sends one datagram.
func (s *Socket) writeTo(b []byte, to source) {
	one := [1]packetio.Datagram{{Head: b}}
	s.counted(s.pio.Send(to, one[:]))
}

// counted records what a send did.
func (s *Socket) counted(r packetio.SendResult) {
	for range r.Errors {
		// UDP is lossy by contract; the state machine retransmits.
		s.tel.event(&s.stats.sendErrors, metricSendErrors)
	}
	if r.Segmented > 0 {
		s.stats.segmentedSends.Add(uint64(r.Segmented))
	}
	s.stats.packetsOut.Add(uint64(r.Datagrams))
	s.stats.bytesOut.Add(uint64(r.Bytes))
}
