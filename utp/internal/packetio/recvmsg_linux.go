package packetio

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sync/atomic"
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
	// yfn is r.yieldRecvmsg, bound once; yield and yielded are its
	// state for one readYield.
	yfn     func(fd uintptr) bool
	yield   func() bool
	yielded bool
	// at and body, when body is set (udpOS.scatter), have the next reads
	// place the bytes at offsets at to at+len(body) in body (Scatterer),
	// through iovs.
	at   int
	body []byte
	iovs [3]unix.Iovec
}

// newRawReader returns a reader for the socket of rc.
func newRawReader(rc syscall.RawConn) *rawReader {
	r := &rawReader{rc: rc}
	r.fn, r.try, r.yfn = r.recvmsg, r.tryRecvmsg, r.yieldRecvmsg
	return r
}

// read is udpOS.readOnce by recvmsg: seg is the size of the datagrams the
// kernel coalesced into buf[:n], or 0 for one. Unless wait is set, it
// returns ErrWouldBlock when nothing is queued.
func (r *rawReader) read(buf []byte, wait bool) (n, seg int, from netip.AddrPort, err error) {
	if !wait {
		return r.readWith(buf, r.try)
	}
	return r.readWith(buf, r.fn)
}

// readYield is read that waits, but, finding nothing queued, first calls
// yield (Yielder.ReadYield), and then waits for the socket to become
// readable without a second recvmsg: the poller's readiness, reset when
// this read began, is set by any datagram that arrived since, so none is
// missed. If yield returns false it returns ErrWouldBlock instead.
func (r *rawReader) readYield(buf []byte, yield func() bool) (n, seg int, from netip.AddrPort, err error) {
	r.yield, r.yielded = yield, false
	defer func() { r.yield = nil }() // keep no caller's closure
	return r.readWith(buf, r.yfn)
}

// readWith reads by fn, one of the RawConn.Read callbacks below.
func (r *rawReader) readWith(buf []byte, fn func(fd uintptr) bool) (n, seg int, from netip.AddrPort, err error) {
	setRecvMsghdr(&r.msg, &r.iov, &r.sa, buf, r.oob[:])
	if r.body != nil {
		r.scatterIovecs(buf)
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
	r.n, done, r.err = r.syscall(fd)
	return done
}

// testRecvmsg, when a test sets it, is told of every recvmsg a
// rawReader makes, with its descriptor.
var testRecvmsg atomic.Pointer[func(fd uintptr)]

// syscall makes one recvmsg into r.msg.
func (r *rawReader) syscall(fd uintptr) (n int, done bool, err error) {
	if f := testRecvmsg.Load(); f != nil {
		(*f)(fd)
	}
	return msgSyscall(unix.SYS_RECVMSG, fd, &r.msg)
}

// tryRecvmsg is recvmsg that never asks the poller to wait: an empty
// socket is ErrWouldBlock.
func (r *rawReader) tryRecvmsg(fd uintptr) bool {
	var done bool
	r.n, done, r.err = r.syscall(fd)
	if !done {
		r.err = ErrWouldBlock
	}
	return true
}

// yieldRecvmsg is recvmsg that, at its first empty read, calls yield
// and then asks the poller to wait (or, if yield said not to, ends with
// ErrWouldBlock). RawConn.Read resets the poller's readiness before its
// first call, so a datagram that arrives during yield wakes the wait at
// once; the recvmsg that would only have found the socket empty again is
// saved.
func (r *rawReader) yieldRecvmsg(fd uintptr) bool {
	var done bool
	r.n, done, r.err = r.syscall(fd)
	if done || r.yielded {
		return done
	}
	r.yielded = true
	if !r.yield() {
		r.err = ErrWouldBlock
		return true
	}
	return false
}

// scatterIovecs points r.msg at three buffers in turn, buf[:at], body
// and the rest of buf, where setRecvMsghdr pointed it at buf alone;
// empty ones are left out.
func (r *rawReader) scatterIovecs(buf []byte) {
	k := 0
	for _, b := range [3][]byte{buf[:r.at], r.body, buf[r.at+len(r.body):]} {
		if len(b) > 0 {
			r.iovs[k].Base = &b[0]
			r.iovs[k].SetLen(len(b))
			k++
		}
	}
	r.msg.Iov = &r.iovs[0]
	r.msg.SetIovlen(k)
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
