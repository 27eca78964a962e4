package packetio

import (
	"encoding/binary"
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rawReader reads one datagram (or a coalesced run) with recvmsg through
// the socket's RawConn, the same system call as net's ReadMsgUDPAddrPort
// without the layers around it, which cost a loopback round trip of 1-byte
// messages about a tenth of its user time. Conn.Read has one caller at a
// time, so one rawReader serves the socket.
type rawReader struct {
	rc  syscall.RawConn
	msg unix.Msghdr
	iov unix.Iovec
	sa  unix.RawSockaddrInet6 // room for either family
	oob [oobSize]byte
	n   int
	err error
	fn  func(fd uintptr) bool // r.recvmsg, bound once
	try func(fd uintptr) bool // r.tryRecvmsg, bound once
}

// newRawReader returns a reader for the socket of rc.
func newRawReader(rc syscall.RawConn) *rawReader {
	r := &rawReader{rc: rc}
	r.fn, r.try = r.recvmsg, r.tryRecvmsg
	return r
}

// read is udpOS.readOnce by recvmsg: seg is the size of the datagrams the
// kernel coalesced into buf[:n], or 0 for one. Unless wait is set, it
// returns ErrWouldBlock when nothing is queued.
func (r *rawReader) read(buf []byte, wait bool) (n, seg int, from netip.AddrPort, err error) {
	setRecvMsghdr(&r.msg, &r.iov, &r.sa, buf, r.oob[:])
	fn := r.fn
	if !wait {
		fn = r.try
	}
	if err := r.rc.Read(fn); err != nil {
		return 0, 0, from, err
	}
	if r.err == ErrWouldBlock {
		return 0, 0, from, ErrWouldBlock
	}
	if r.err != nil {
		return 0, 0, from, &net.OpError{Op: "read", Net: "udp", Err: r.err}
	}
	return r.n, groSize(r.oob[:r.msg.Controllen]), r.source(), nil
}

// source decodes the sender's address from the raw sockaddr.
func (r *rawReader) source() netip.AddrPort {
	port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&r.sa.Port))[:])
	switch r.sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(&r.sa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), port)
	case unix.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16(r.sa.Addr).Unmap(), port)
	}
	return netip.AddrPort{}
}

// recvmsg is the RawConn.Read callback: false asks the poller to wait
// until the socket is readable.
func (r *rawReader) recvmsg(fd uintptr) bool {
	var done bool
	r.n, done, r.err = msgSyscall(unix.SYS_RECVMSG, fd, &r.msg)
	return done
}

// tryRecvmsg is recvmsg that never asks the poller to wait: an empty
// socket is ErrWouldBlock.
func (r *rawReader) tryRecvmsg(fd uintptr) bool {
	var done bool
	r.n, done, r.err = msgSyscall(unix.SYS_RECVMSG, fd, &r.msg)
	if !done {
		r.err = ErrWouldBlock
	}
	return true
}

// setRecvMsghdr points msg at one buffer, a source-address slot with room
// for either family, and a control buffer, for one recvmsg.
func setRecvMsghdr(msg *unix.Msghdr, iov *unix.Iovec, sa *unix.RawSockaddrInet6, buf, oob []byte) {
	iov.Base = &buf[0]
	iov.SetLen(len(buf))
	*msg = unix.Msghdr{
		Name:    (*byte)(unsafe.Pointer(sa)),
		Namelen: unix.SizeofSockaddrInet6,
		Iov:     iov,
		Control: &oob[0],
	}
	msg.SetIovlen(1)
	msg.SetControllen(len(oob))
}
