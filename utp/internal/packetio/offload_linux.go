package packetio

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	// maxSegments bounds the datagrams of one segmented send (the
	// kernel's UDP_MAX_SEGMENTS is 64 before Linux 6.8, 128 since).
	maxSegments = 64
	// maxSegmentedBytes is the most one segmented send may carry: the
	// largest IPv4 UDP payload.
	maxSegmentedBytes = 65507
)

var cmsgHeaderLen = unix.CmsgLen(0)

// oobSize is large enough for the control messages we send and read.
const oobSize = 64

// writeSegmented sends b as datagrams of seg bytes (the last may be
// shorter) in one system call. If the kernel refuses segmentation (EIO
// from a device without checksum offload, say), it turns it off and
// reports false so the caller sends one datagram at a time.
func (o *udpOS) writeSegmented(u *net.UDPConn, b []byte, seg int, to netip.AddrPort) (sent bool, err error) {
	var oob [oobSize]byte
	h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
	h.Level, h.Type = unix.SOL_UDP, unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	binary.NativeEndian.PutUint16(oob[cmsgHeaderLen:], uint16(seg))
	_, _, err = u.WriteMsgUDPAddrPort(b, oob[:unix.CmsgSpace(2)], to)
	if err != nil && (errors.Is(err, unix.EIO) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOPROTOOPT)) {
		o.gso.Store(false)
		return false, nil
	}
	return true, err
}

// scatter has the reads that follow, until scatter(0, nil), place the
// bytes at offsets at to at+len(body) in body (Scatterer), and reports
// whether they can: only by recvmsg.
func (o *udpOS) scatter(at int, body []byte) bool {
	if o.raw == nil {
		return false
	}
	o.raw.at, o.raw.body = at, body
	if body == nil {
		o.raw.iovs = [3]unix.Iovec{} // hold no caller's buffer
	}
	return true
}

// readOnce reads into buf. seg is the size of the datagrams the kernel
// coalesced into buf[:n] (each seg bytes, the last possibly shorter), or
// 0 for one datagram. Unless wait is set, it returns ErrWouldBlock when
// nothing is queued, and always where it has no recvmsg of its own. A
// yield, given with wait, is ReadYield's.
func (o *udpOS) readOnce(u *net.UDPConn, buf []byte, wait bool, yield func() bool) (n, seg int, from netip.AddrPort, err error) {
	if o.raw != nil && yield != nil {
		return o.raw.readYield(buf, yield)
	}
	if o.raw != nil {
		return o.raw.read(buf, wait)
	}
	if !wait || (yield != nil && !yield()) {
		return 0, 0, from, ErrWouldBlock
	}
	if !o.gro {
		n, from, err = u.ReadFromUDPAddrPort(buf)
		return n, 0, from, err
	}
	var oob [oobSize]byte
	n, oobn, _, from, err := u.ReadMsgUDPAddrPort(buf, oob[:])
	if err != nil {
		return n, 0, from, err
	}
	return n, groSize(oob[:oobn]), from, nil
}

// groSize finds the UDP_GRO control message in oob and returns its
// segment size, or 0.
func groSize(oob []byte) int {
	for len(oob) >= cmsgHeaderLen {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < cmsgHeaderLen || l > len(oob) {
			return 0
		}
		if h.Level == unix.SOL_UDP && h.Type == unix.UDP_GRO && l >= cmsgHeaderLen+4 {
			return int(binary.NativeEndian.Uint32(oob[cmsgHeaderLen:]))
		}
		oob = oob[min(len(oob), unix.CmsgSpace(l-cmsgHeaderLen)):]
	}
	return 0
}
