//go:build !linux

package packetio

import (
	"net"
	"net/netip"
	"time"
)

// udpOS is empty where UDP segmentation, coalescing, gathered sends, the
// ICMP error queue and DF are not known: every datagram is one system
// call, and path MTU discovery stays off (a probe that a router
// fragments would pass and mislead it).
type udpOS struct{}

const (
	maxSegments       = 1
	maxSegmentedBytes = 0
)

// enable asks for n-byte kernel buffers; the OS may grant less, and what
// it granted is not known here.
func (o *udpOS) enable(u *net.UDPConn, cfg Config, caps *Caps) {
	_ = u.SetReadBuffer(cfg.Buffer)
	_ = u.SetWriteBuffer(cfg.Buffer)
	caps.Wake = true
}

func (o *udpOS) gsoOn() bool   { return false }
func (o *udpOS) gathers() bool { return false }
func (o *udpOS) release()      {}

// DF is not set here (no path MTU discovery).
func (o *udpOS) dfBefore([]Datagram) {}
func (o *udpOS) dfBeforeLen(int)     {}

func (o *udpOS) sendGathered([]Datagram, int, netip.AddrPort) (bool, error) { return false, nil }

func (o *udpOS) writeSegmented(*net.UDPConn, []byte, int, netip.AddrPort) (bool, error) {
	return false, nil
}

// read reads one datagram; where nothing is known without waiting, a
// read that may not wait, or whose yield says not to, finds nothing.
func (o *udpOS) read(u *net.UDPConn, buf []byte, wait bool, yield func() bool) (n, seg int, from netip.AddrPort, err error) {
	if !wait || (yield != nil && !yield()) {
		return 0, 0, from, ErrWouldBlock // not known without waiting
	}
	n, from, err = u.ReadFromUDPAddrPort(buf)
	return n, 0, from, err
}

// sendMany sends nothing here: each datagram is a system call of its own.
func (o *udpOS) sendMany([]Datagram, netip.AddrPort) (n, bytes, several int) {
	return 0, 0, 0
}

// scatter reports that reads here cannot place bytes in a second buffer.
func (o *udpOS) scatter(int, []byte) bool { return false }

// RouteMTU is not known here.
func RouteMTU(Conn, netip.Addr, time.Time) int { return 0 }

// isMsgSize is never reported here.
func isMsgSize(error) bool { return false }

// pendingSendErr reports whether a send's error may be an earlier
// datagram's ICMP "too big" (see udp.sendOne): only EMSGSIZE, where ICMP
// errors are not queued.
func (o *udpOS) pendingSendErr(err error) bool { return isMsgSize(err) }
