package packetio

import (
	"errors"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// setDontFragment makes every datagram of the socket of rc leave with DF set (IPv4) or
// unfragmented (IPv6), whichever path sent it (one sendto, a gathered
// sendmsg, a UDP_SEGMENT run): a packet too large for the path is then
// dropped, and path MTU discovery (docs/protocol.md) finds the size,
// rather than the kernel or a router splitting every packet in two.
// IP_PMTUDISC_PROBE sets DF but ignores the path MTU the kernel learned
// from ICMP, so sends fail with EMSGSIZE only above the local link's MTU
// and probes above a learned value still go out (RFC 8899 does not trust
// ICMP alone). A dual-stack socket takes both families' options. domain
// is the socket's family (-1: unknown, and nothing is set). It reports
// whether DF is set for the socket's family.
func setDontFragment(rc syscall.RawConn, domain int) bool {
	if domain < 0 {
		return false
	}
	ok := false
	_ = rc.Control(func(fd uintptr) {
		f := int(fd)
		v4 := unix.SetsockoptInt(f, unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_PROBE) == nil
		if domain == unix.AF_INET {
			ok = v4
			return
		}
		ok = unix.SetsockoptInt(f, unix.IPPROTO_IPV6, unix.IPV6_MTU_DISCOVER, unix.IPV6_PMTUDISC_PROBE) == nil &&
			unix.SetsockoptInt(f, unix.IPPROTO_IPV6, unix.IPV6_DONTFRAG, 1) == nil
	})
	return ok
}

// dfNeedless is the longest datagram (UDP payload) that leaves the same
// with or without DF set: Linux learns no path MTU below 552 bytes
// (ip_rt_min_pmtu, net/ipv4/route.c), which leaves 524 after the IPv4
// and UDP headers, and IPv6 links carry 1,280 (RFC 8200 section 5). Up to
// this size the kernel's default (IP_PMTUDISC_WANT: DF on the wire,
// fragments only above a learned path MTU) sends exactly what
// setDontFragment's would. The headers and the small packets of a
// handshake, an echo and a close stay under it.
const dfNeedless = 512

// needDF reports whether ds holds a datagram for which DF makes a
// difference (longer than dfNeedless).
func needDF(ds []Datagram) bool {
	for i := range ds {
		if ds[i].Len() > dfNeedless {
			return true
		}
	}
	return false
}

// dfAtNeed sets DF on the socket (setDontFragment) before the first
// datagram longer than dfNeedless leaves, not when it opens: a Socket
// opened for one short exchange never sends one, and each option call
// costs about a tenth of opening the socket. The caller holds udp.df
// shared, so no fragmentable send, which lifts DF, runs meanwhile.
type dfAtNeed struct {
	done   atomic.Bool
	once   sync.Once
	rc     syscall.RawConn
	domain int
}

// before sets DF, once, if ds needs it.
func (d *dfAtNeed) before(ds []Datagram) {
	if d.done.Load() || !needDF(ds) {
		return
	}
	d.now()
}

// now sets DF, once, whatever the datagrams' size.
func (d *dfAtNeed) now() {
	d.once.Do(func() {
		if d.rc != nil {
			setDontFragment(d.rc, d.domain)
		}
		d.done.Store(true)
	})
}

// isMsgSize reports whether err is EMSGSIZE: the datagram is larger than
// the local link (DF is set, so the kernel does not fragment it).
func isMsgSize(err error) bool { return errors.Is(err, unix.EMSGSIZE) }
