package packetio

import (
	"errors"
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

// isMsgSize reports whether err is EMSGSIZE: the datagram is larger than
// the local link (DF is set, so the kernel does not fragment it).
func isMsgSize(err error) bool { return errors.Is(err, unix.EMSGSIZE) }
