package packetio

import (
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

// TestDontFragmentSet checks that a UDP endpoint sets DF for its
// family on every send path (IP_PMTUDISC_PROBE; for IPv6 also
// IPV6_DONTFRAG), and reports it in its Caps.
func TestDontFragmentSet(t *testing.T) {
	for _, network := range []string{"udp4", "udp6"} {
		addr := "127.0.0.1:0"
		if network == "udp6" {
			addr = "[::1]:0"
		}
		pc, err := net.ListenPacket(network, addr)
		if err != nil {
			t.Fatal(err)
		}
		c := New(pc, Config{})
		rc, err := pc.(*net.UDPConn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var mode, dontfrag int
		_ = rc.Control(func(fd uintptr) {
			if network == "udp4" {
				mode, _ = unix.GetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MTU_DISCOVER)
				dontfrag = 1
				return
			}
			mode, _ = unix.GetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_MTU_DISCOVER)
			dontfrag, _ = unix.GetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_DONTFRAG)
		})
		if mode != unix.IP_PMTUDISC_PROBE || dontfrag != 1 || !c.Caps().DontFragment {
			t.Errorf("%s: mtu discover mode %d (want %d), dontfrag %d, DontFragment %v", network, mode, unix.IP_PMTUDISC_PROBE, dontfrag, c.Caps().DontFragment)
		}
		c.Close()
	}
}
