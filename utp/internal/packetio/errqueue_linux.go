package packetio

import (
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// errQueue reads the ICMP errors the kernel queues on the UDP socket
// (IP_RECVERR, IPV6_RECVERR; see ip(7) and ipv6(7)). Without them an
// unconnected UDP socket drops every ICMP error, so a dial to a closed
// port waited out its whole budget. With them, an error makes the next
// receive fail once with its errno (ECONNREFUSED for "port
// unreachable"), and the details wait in the socket's error queue:
// recvmsg(MSG_ERRQUEUE) gives the original datagram's destination as
// msg_name and a sock_extended_err. The destination is what ties the
// error to our connections to that address.
type errQueue struct {
	rc syscall.RawConn // nil: not enabled
	// missed is set when a send took the pending error that would have
	// told the reader to read the queue (pendingSendErr).
	missed atomic.Bool
	buf    [64]byte // the start of the offending datagram (unused)
	oob    [128]byte
	sa     unix.RawSockaddrInet6
	msg    unix.Msghdr
	iov    unix.Iovec
	fn     func(fd uintptr) bool
	n      int
	err    error
}

// enable asks the kernel to queue ICMP errors on the socket of rc, whose
// family is domain (-1: unknown).
func (q *errQueue) enable(rc syscall.RawConn, domain int) {
	ok := false
	_ = rc.Control(func(fd uintptr) {
		// IPv4's applies to an IPv4 socket, and to an IPv6 socket
		// carrying IPv4-mapped traffic, which takes IPv6's too; an IPv4
		// socket refuses IPv6's, so it is not asked.
		ok = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_RECVERR, 1) == nil
		if domain != unix.AF_INET {
			ok = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_RECVERR, 1) == nil || ok
		}
	})
	if ok {
		q.rc = rc
		q.fn = q.recvmsg
	}
}

// queuedErr reports whether err, from a receive, announces a queued ICMP
// error rather than a failure of the socket.
func queuedErr(err error) bool {
	return errors.Is(err, unix.ECONNREFUSED) || errors.Is(err, unix.EHOSTUNREACH) ||
		errors.Is(err, unix.ENETUNREACH) || errors.Is(err, unix.EHOSTDOWN) ||
		errors.Is(err, unix.EMSGSIZE) || errors.Is(err, unix.EPROTO)
}

// pendingSendErr reports whether a send's error may be the socket's
// pending error (see udp.sendOne) rather than the datagram's own, so that
// the datagram is worth sending again. A send that takes an ICMP error's
// announcement leaves its details queued: the reader is told to read
// them before its next receive.
func (o *udpOS) pendingSendErr(err error) bool {
	if err == nil {
		return false
	}
	if o.errq.rc == nil || !queuedErr(err) {
		return isMsgSize(err)
	}
	o.errq.missed.Store(true)
	return true
}

// read reads as readOnce does, reading the error queue when a receive
// announces an error there (or a send took that announcement) and going
// on with the next datagram. Unless wait is set, it returns ErrWouldBlock
// when nothing is queued; a yield, given with wait, is ReadYield's.
func (o *udpOS) read(u *net.UDPConn, buf []byte, wait bool, yield func() bool) (n, seg int, from netip.AddrPort, err error) {
	if o.errq.missed.Swap(false) {
		o.errq.drain(o.report)
	}
	for {
		n, seg, from, err = o.readOnce(u, buf, wait, yield)
		if err == nil {
			o.noteRead()
			return n, seg, from, nil
		}
		if o.errq.rc == nil || !queuedErr(err) {
			return n, seg, from, err
		}
		o.errq.drain(o.report)
	}
}

// report passes a queued ICMP error on, if anyone listens.
func (o *udpOS) report(dst netip.AddrPort, errno syscall.Errno) {
	if o.onICMP != nil {
		o.onICMP(canonical(dst), errno)
	}
}

// drain reads every queued error and passes each on: the destination of
// the datagram that caused it, and its errno.
func (q *errQueue) drain(report func(dst netip.AddrPort, errno syscall.Errno)) {
	for range 64 { // bounded: the kernel caps the queue by the receive buffer
		setRecvMsghdr(&q.msg, &q.iov, &q.sa, q.buf[:], q.oob[:])
		if err := q.rc.Control(func(fd uintptr) { q.fn(fd) }); err != nil || q.err != nil {
			return // EAGAIN: the queue is empty
		}
		if errno, ok := extendedErrno(q.oob[:q.msg.Controllen]); ok {
			report(q.destination(), errno)
		}
	}
}

// recvmsg reads one entry of the error queue without blocking.
func (q *errQueue) recvmsg(fd uintptr) bool {
	r, _, e := unix.Syscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&q.msg)), unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
	q.n, q.err = int(r), nil
	if e != 0 {
		q.err = e
	}
	return true
}

// destination decodes msg_name: where the offending datagram was sent.
func (q *errQueue) destination() netip.AddrPort {
	port := uint16(q.sa.Port>>8 | q.sa.Port<<8) // network byte order
	switch q.sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(&q.sa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), port)
	case unix.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16(q.sa.Addr).Unmap(), port)
	}
	return netip.AddrPort{}
}

// extendedErrno finds the IP_RECVERR or IPV6_RECVERR control message in
// oob and returns the errno of its sock_extended_err.
func extendedErrno(oob []byte) (syscall.Errno, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, false
	}
	for _, m := range msgs {
		ip4 := m.Header.Level == unix.SOL_IP && m.Header.Type == unix.IP_RECVERR
		ip6 := m.Header.Level == unix.SOL_IPV6 && m.Header.Type == unix.IPV6_RECVERR
		if (ip4 || ip6) && len(m.Data) >= int(unsafe.Sizeof(unix.SockExtendedErr{})) {
			ee := (*unix.SockExtendedErr)(unsafe.Pointer(&m.Data[0]))
			return syscall.Errno(ee.Errno), true
		}
	}
	return 0, false
}
