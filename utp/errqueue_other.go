//go:build !linux

package utp

import (
	"net"
	"net/netip"
)

// errQueue is a no-op where the ICMP error queue is not read: a dial to a
// closed port waits for its timeout.
type errQueue struct{}

func (q *errQueue) enable(*net.UDPConn) {}

// readUDP reads UDP as offload.read does.
func (s *Socket) readUDP(buf []byte) (n, seg int, from netip.AddrPort, err error) {
	return s.off.read(s.udp, buf)
}

// pendingSendErr reports whether a send's error may be an earlier
// datagram's ICMP "too big" (see sendOne): only EMSGSIZE, where ICMP
// errors are not queued.
func (s *Socket) pendingSendErr(err error) bool { return isMsgSize(err) }
