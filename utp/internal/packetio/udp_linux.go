package packetio

import (
	"errors"
	"math"
	"net"
	"net/netip"
	"sync"
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
// ICMP error queue; and DF on every datagram it changes (dfAtNeed).
type udpOS struct {
	rc syscall.RawConn // the socket, for the options read or set at first need
	// gso: sends may carry UDP_SEGMENT; probed at the first run to send
	// (gsoProbe), cleared if the kernel refuses.
	gso      atomic.Bool
	gsoProbe sync.Once
	gro      bool // reads may return several datagrams, with their size
	// groWait counts down the datagrams still to read before UDP_GRO is
	// asked for (noteRead); 0: asked. Owned by the one reader at a time.
	groWait int
	sndBuf  int        // the send buffer to ask for with the first run to send
	raw     *rawReader // reads by recvmsg (recvmsg_linux.go)
	vec     *vecSender // sends gathered from several buffers (sendmsg_linux.go); nil if not
	errq    errQueue   // the ICMP errors the kernel queues (errqueue_linux.go)
	// df sets DF at the first datagram that it changes (dfAtNeed).
	df dfAtNeed
	// netns is the socket's network namespace, for route lookups
	// (route_linux.go).
	netns netnsCookie
	// onICMP is told of each queued ICMP error; nil: errors are read and
	// dropped.
	onICMP func(dst netip.AddrPort, errno syscall.Errno)
}

// enable turns on what the socket supports, and records it in caps.
//
// Three options wait for their first need, since a Socket opened for one
// short exchange never has it and each option call costs about a tenth
// of opening the socket: the send buffer is raised with the first run of
// datagrams to send (gsoOn), coalescing is asked for once groAfter
// datagrams have been read (noteRead), and DF is set before the first
// datagram it would change leaves (dfAtNeed).
func (o *udpOS) enable(u *net.UDPConn, cfg Config, caps *Caps) {
	rc, err := u.SyscallConn()
	if err != nil {
		return
	}
	o.rc = rc
	o.raw = newRawReader(rc)
	o.groWait, o.sndBuf = groAfter, cfg.Buffer
	domain := -1 // the socket's family, read once for the options below
	_ = rc.Control(func(fd uintptr) {
		caps.RecvBuffer = raiseRecvBuffer(int(fd), cfg.Buffer)
		domain = family(u, int(fd))
	})
	o.errq.enable(rc, domain)
	o.onICMP = cfg.OnICMPError
	o.vec = newVecSender(rc, &o.gso, domain)
	caps.Gather = o.vec != nil
	// DF waits for the first datagram it changes (dfAtNeed). The
	// options are refused by no Linux IP socket, so whether they will
	// be set is known from the family.
	o.df = dfAtNeed{rc: rc, domain: domain}
	caps.DontFragment = domain == unix.AF_INET || domain == unix.AF_INET6
	caps.Wake = true
	caps.TryRead = true
}

// family returns the address family of u, whose descriptor is fd, as
// the net package recorded it at bind time: its local address holds a
// 4-byte IP exactly for an AF_INET socket (getsockname's sockaddr_in),
// a 16-byte one for AF_INET6, dual-stack and IPv4-mapped binds
// included. That saves a Socket one getsockopt(SO_DOMAIN) of the nine
// calls that open it; the kernel is asked when the address does not
// tell. -1: unknown.
func family(u *net.UDPConn, fd int) int {
	if a, ok := u.LocalAddr().(*net.UDPAddr); ok && a != nil {
		switch len(a.IP) {
		case net.IPv4len:
			return unix.AF_INET
		case net.IPv6len:
			return unix.AF_INET6
		}
	}
	d, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
	if err != nil {
		return -1
	}
	return d
}

// gsoOn reports whether sends may be segmented. The kernel is asked at
// the first run of datagrams to send, not when the socket opens: a
// Socket opened for one short exchange never sends one, and each option
// call costs about a tenth of opening the socket. The send buffer is
// raised at the same moment: until a run, the socket sends one datagram
// at a time, which the default buffer holds.
func (o *udpOS) gsoOn() bool {
	o.gsoProbe.Do(func() {
		if o.rc == nil {
			return
		}
		_ = o.rc.Control(func(fd uintptr) {
			setBuffer(int(fd), syscall.SO_SNDBUFFORCE, syscall.SO_SNDBUF, o.sndBuf)
			// The option is readable exactly when the kernel knows it.
			if _, err := unix.GetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_SEGMENT); err == nil {
				o.gso.Store(true)
			}
		})
	})
	return o.gso.Load()
}

func (o *udpOS) gathers() bool { return o.vec != nil }

// release gives back, at the socket's close, what the sends keep.
func (o *udpOS) release() {
	if o.vec != nil {
		o.vec.release()
	}
}

// dfBefore sets DF before ds leave if one of them needs it (dfAtNeed).
func (o *udpOS) dfBefore(ds []Datagram) { o.df.before(ds) }

// dfBeforeLen is dfBefore for one n-byte datagram.
func (o *udpOS) dfBeforeLen(n int) {
	if n > dfNeedless {
		o.df.now()
	}
}

// sendGathered sends run from its datagrams' buffers with one sendmsg,
// segmented every seg bytes when seg is not 0 (one datagram when it is;
// a small one is joined for sendto, vecSender.sendLone).
func (o *udpOS) sendGathered(run []Datagram, seg int, to netip.AddrPort) (sent bool, err error) {
	return o.vec.send(run, seg, to)
}

// sendMany sends ds, each a datagram of its own, with as few system
// calls as it can (sendmmsg), and returns how many from the first were
// sent, their bytes and the calls that sent several; 0 where it cannot
// gather.
func (o *udpOS) sendMany(ds []Datagram, to netip.AddrPort) (n, bytes, several int) {
	if o.vec == nil {
		return 0, 0, 0
	}
	return o.vec.sendMany(ds, to)
}

// groAfter is how many datagrams a socket reads before it asks for
// coalescing (UDP_GRO): a Socket opened for one short exchange reads a
// handful (a dial, an echo and a close read 3 or 4), a stream of small
// packets hundreds, for which the first few uncoalesced reads are
// nothing.
const groAfter = 16

// noteRead counts a datagram read (or a coalesced run), and asks for
// coalescing at the groAfter-th. Reads have one caller at a time.
func (o *udpOS) noteRead() {
	if o.groWait == 0 {
		return
	}
	if o.groWait--; o.groWait == 0 {
		_ = o.rc.Control(func(fd uintptr) {
			o.gro = unix.SetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_GRO, 1) == nil
		})
	}
}

// raiseRecvBuffer asks for an n-byte kernel receive buffer on fd and
// returns the size granted (0 if unknown). SO_RCVBUF is capped by
// net.core.rmem_max (208 KiB by default); SO_RCVBUFFORCE passes the cap
// when the process has CAP_NET_ADMIN, so it is tried first, unless it
// was refused before (forceRefused). What FORCE grants is known without
// asking: the kernel doubles the size asked for its own overhead
// (socket(7); sock_setsockopt in net/core/sock.c), while what SO_RCVBUF
// grants depends on the cap, and is read back.
func raiseRecvBuffer(fd, n int) (granted int) {
	if setBuffer(fd, syscall.SO_RCVBUFFORCE, syscall.SO_RCVBUF, n) && n >= minForcedBuffer && n <= math.MaxInt32/2 {
		return 2 * n
	}
	granted, _ = syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF)
	return granted
}

// minForcedBuffer is the smallest size whose doubling the kernel grants
// as such: below, it grants its minimum (SOCK_MIN_RCVBUF, about 2 KiB)
// instead.
const minForcedBuffer = 4096

// forceRefused is set once the kernel refused SO_RCVBUFFORCE or
// SO_SNDBUFFORCE for want of CAP_NET_ADMIN (EPERM): most programs run
// without it, and asking again on every socket cost them two system
// calls of the nine that open one. A program that gains the capability
// later keeps buffers capped by net.core.rmem_max, as it had them
// before.
var forceRefused atomic.Bool

// testForceTry, when a test sets it, is told of every attempt at a
// FORCE option.
var testForceTry func()

// setBuffer sets the buffer option force to n, or plain where force is
// refused. It reports whether force was set.
func setBuffer(fd, force, plain, n int) (forced bool) {
	if !forceRefused.Load() {
		if testForceTry != nil {
			testForceTry()
		}
		err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, force, n)
		if err == nil {
			return true
		}
		if errors.Is(err, syscall.EPERM) {
			forceRefused.Store(true)
		}
	}
	_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, plain, n)
	return false
}

// RaiseRecvBuffer asks for an n-byte kernel receive buffer
// (RecvBufferRaiser), by SO_RCVBUFFORCE where the process may, else
// SO_RCVBUF within net.core.rmem_max; either may be set while a read
// waits.
func (c *udp) RaiseRecvBuffer(n int) (granted int) {
	if c.os.rc == nil {
		return 0
	}
	_ = c.os.rc.Control(func(fd uintptr) { granted = raiseRecvBuffer(int(fd), n) })
	return granted
}
