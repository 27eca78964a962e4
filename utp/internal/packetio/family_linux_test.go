package packetio

import (
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

// TestFamilyFromLocalAddr checks that the family read from a socket's
// local address is the one the kernel gives (SO_DOMAIN), for IPv4,
// IPv6, dual-stack and IPv4-mapped binds.
func TestFamilyFromLocalAddr(t *testing.T) {
	for _, tc := range []struct{ network, addr string }{
		{"udp4", "127.0.0.1:0"},
		{"udp", "127.0.0.1:0"},
		{"udp", "[::ffff:127.0.0.1]:0"},
		{"udp6", "[::1]:0"},
		{"udp", ":0"},
		{"udp4", ":0"},
	} {
		pc, err := net.ListenPacket(tc.network, tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		u := pc.(*net.UDPConn)
		rc, err := u.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var got, want int
		_ = rc.Control(func(fd uintptr) {
			got = family(u, int(fd))
			want, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_DOMAIN)
		})
		if got != want {
			t.Errorf("%s %s (local %v): family %d, kernel says %d", tc.network, tc.addr, u.LocalAddr(), got, want)
		}
		u.Close()
	}
}
