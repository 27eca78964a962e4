package packetio

import (
	"net/netip"

	"golang.org/x/sys/unix"
)

// Fragmentable sends: the resend of a packet stranded by a path that
// shrank under its connection (package proto's fragment.go). Every other
// datagram leaves with DF (setDontFragment), and the options that lift
// it are socket-wide, so a fragmentable send holds udp.df exclusively
// while they are lifted, and every other send holds it shared: no probe
// or ordinary packet can leave fragmentable by accident. libtorrent
// toggles DF around single sends the same way (utp_socket_manager.cpp),
// but the other way round: DF only on its probes.
//
// IPv4: IP_MTU_DISCOVER = IP_PMTUDISC_DONT clears DF; the router before
// the narrow hop fragments. IPv6 routers never fragment, so the source
// must: IPV6_MTU_DISCOVER = IPV6_PMTUDISC_DONT and IPV6_DONTFRAG = 0
// allow it, and IPV6_MTU (the socket's fragment size) cuts fragments of
// the 1,280 bytes every IPv6 link carries. Linux fragments only a
// datagram larger than the route's MTU, whatever IPV6_MTU says (measured
// on Linux 6.18: a 1,406-byte datagram on a 9,000-byte route left whole),
// so the state machine pads such resends past it (proto.Config.FragmentPad).

// minIPv6MTU is the MTU every IPv6 link carries (RFC 8200 section 5):
// the fragment size.
const minIPv6MTU = 1280

// sendFragmentable sends one[0] alone with fragmentation allowed (as
// sendOne sends, retrying a pending error), the socket's options
// restored before any other send.
func (c *udp) sendFragmentable(one []Datagram, to netip.AddrPort, r *SendResult) {
	rc, err := c.u.SyscallConn()
	if err != nil {
		c.sendDF(Addr{AP: to}, one, r)
		return
	}
	v4 := to.Addr().Unmap().Is4()
	c.df.Lock()
	defer c.df.Unlock()
	c.os.df.now() // what is restored below is DF, as for any long datagram
	var saved dfOptions
	_ = rc.Control(func(fd uintptr) { saved = allowFragments(int(fd), v4) })
	c.sendOne(one, to, r)
	_ = rc.Control(func(fd uintptr) { saved.restore(int(fd), v4) })
}

// dfOptions are the socket options a fragmentable send changes, as they
// were.
type dfOptions struct{ discover, dontFrag, mtu int }

// allowFragments lifts DF on fd for the family v4 says and returns the
// options it changed.
func allowFragments(fd int, v4 bool) dfOptions {
	o := readDF(fd, v4)
	if v4 {
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_DONT)
		return o
	}
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MTU_DISCOVER, unix.IPV6_PMTUDISC_DONT)
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_DONTFRAG, 0)
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MTU, minIPv6MTU)
	return o
}

// readDF reads the options allowFragments changes.
func readDF(fd int, v4 bool) dfOptions {
	var o dfOptions
	if v4 {
		o.discover, _ = unix.GetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MTU_DISCOVER)
		return o
	}
	o.discover, _ = unix.GetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MTU_DISCOVER)
	o.dontFrag, _ = unix.GetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_DONTFRAG)
	o.mtu, _ = unix.GetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MTU)
	return o
}

// restore puts back the options allowFragments changed.
func (o dfOptions) restore(fd int, v4 bool) {
	if v4 {
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, o.discover)
		return
	}
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MTU, o.mtu)
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_DONTFRAG, o.dontFrag)
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MTU_DISCOVER, o.discover)
}
