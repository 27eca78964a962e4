package packetio

import (
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// udpOS is what Linux adds to a UDP socket: segmentation of one large
// send into equal datagrams (UDP_SEGMENT, Linux 4.18) and coalescing of
// received datagrams of one flow into one read (UDP_GRO, Linux 5.0),
// which both cut the system calls of a stream of small packets by up to
// 45 times (quic-go uses the same pair; on loopback the segmented send
// reaches the receiver whole); reads by recvmsg and sends gathered from
// several buffers by sendmsg, both through the socket's RawConn; the
// ICMP error queue; and DF on every datagram.
type udpOS struct {
	gso  atomic.Bool // sends may carry UDP_SEGMENT; cleared if the kernel refuses
	gro  bool        // reads may return several datagrams, with their size
	raw  *rawReader  // reads by recvmsg (recvmsg_linux.go)
	vec  *vecSender  // sends gathered from several buffers (sendmsg_linux.go); nil if not
	errq errQueue    // the ICMP errors the kernel queues (errqueue_linux.go)
	// onICMP is told of each queued ICMP error; nil: errors are read and
	// dropped.
	onICMP func(dst netip.AddrPort, errno syscall.Errno)
}

// enable turns on what the socket supports, and records it in caps.
func (o *udpOS) enable(u *net.UDPConn, cfg Config, caps *Caps) {
	caps.RecvBuffer = raiseBuffers(u, cfg.Buffer)
	rc, err := u.SyscallConn()
	if err != nil {
		return
	}
	o.raw = newRawReader(rc)
	domain := -1 // the socket's family, read once for the options below
	_ = rc.Control(func(fd uintptr) {
		if d, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_DOMAIN); err == nil {
			domain = d
		}
		// The option is readable exactly when the kernel knows it.
		if _, err := unix.GetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_SEGMENT); err == nil {
			o.gso.Store(true)
		}
		o.gro = unix.SetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_GRO, 1) == nil
	})
	o.errq.enable(rc, domain)
	o.onICMP = cfg.OnICMPError
	o.vec = newVecSender(rc, &o.gso, domain)
	caps.Gather = o.vec != nil
	caps.DontFragment = setDontFragment(rc, domain)
	caps.Wake = true
	caps.TryRead = true
}

func (o *udpOS) gsoOn() bool   { return o.gso.Load() }
func (o *udpOS) gathers() bool { return o.vec != nil }

// sendGathered sends run from its datagrams' buffers with one sendmsg,
// segmented every seg bytes when seg is not 0 (one datagram when it is).
func (o *udpOS) sendGathered(run []Datagram, seg int, to netip.AddrPort) (sent bool, err error) {
	return o.vec.send(run, seg, to)
}

// raiseBuffers asks for n-byte kernel buffers and returns the receive
// buffer granted (0 if unknown). SO_RCVBUF is capped by
// net.core.rmem_max (208 KiB by default); SO_RCVBUFFORCE passes the cap
// when the process has CAP_NET_ADMIN, so it is tried first.
func raiseBuffers(u *net.UDPConn, n int) (granted int) {
	rc, err := u.SyscallConn()
	if err != nil {
		return 0
	}
	_ = rc.Control(func(fd uintptr) {
		if syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, n) != nil {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, n)
		}
		if syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUFFORCE, n) != nil {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, n)
		}
		granted, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
	})
	return granted
}
