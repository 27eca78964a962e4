package packetio

import (
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

// dfMode reads the DF options of pc's socket: the path MTU discovery
// mode of its family and, for IPv6, IPV6_DONTFRAG (1 for IPv4).
func dfMode(t *testing.T, pc net.PacketConn, v4 bool) (mode, dontfrag int) {
	t.Helper()
	rc, err := pc.(*net.UDPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	_ = rc.Control(func(fd uintptr) {
		if v4 {
			mode, _ = unix.GetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MTU_DISCOVER)
			dontfrag = 1
			return
		}
		mode, _ = unix.GetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_MTU_DISCOVER)
		dontfrag, _ = unix.GetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_DONTFRAG)
	})
	return mode, dontfrag
}

// TestDontFragmentSet checks that a UDP endpoint sets DF for its
// family (IP_PMTUDISC_PROBE; for IPv6 also IPV6_DONTFRAG) before its
// first datagram longer than dfNeedless leaves, whichever path sends it,
// and not before: datagrams up to that size leave the same either way,
// and a Socket that sends only those (a handshake, an echo, a close)
// saves the call. Caps reports DF from the start.
func TestDontFragmentSet(t *testing.T) {
	sends := map[string]func(c Conn, to net.Addr, n int){
		"Send": func(c Conn, to net.Addr, n int) {
			c.Send(c.AddrOf(to), []Datagram{{Head: make([]byte, n)}})
		},
		"Send with a tail": func(c Conn, to net.Addr, n int) {
			c.Send(c.AddrOf(to), []Datagram{{Head: make([]byte, 20), Tail: [2][]byte{make([]byte, n-20)}}})
		},
		"Send of a run": func(c Conn, to net.Addr, n int) {
			d := Datagram{Head: make([]byte, n)}
			c.Send(c.AddrOf(to), []Datagram{d, d, d})
		},
		"WriteTo": func(c Conn, to net.Addr, n int) { c.WriteTo(make([]byte, n), to) },
	}
	for _, network := range []string{"udp4", "udp6"} {
		addr := "127.0.0.1:0"
		if network == "udp6" {
			addr = "[::1]:0"
		}
		for name, send := range sends {
			pc, err := net.ListenPacket(network, addr)
			if err != nil {
				t.Fatal(err)
			}
			sink, err := net.ListenPacket(network, addr)
			if err != nil {
				t.Fatal(err)
			}
			c := New(pc, Config{})
			if !c.Caps().DontFragment {
				t.Errorf("%s: Caps().DontFragment false", network)
			}
			send(c, sink.LocalAddr(), dfNeedless)
			if mode, _ := dfMode(t, pc, network == "udp4"); mode == unix.IP_PMTUDISC_PROBE {
				t.Errorf("%s, %s: DF set by a %d-byte datagram, which it does not change", network, name, dfNeedless)
			}
			send(c, sink.LocalAddr(), dfNeedless+1)
			mode, dontfrag := dfMode(t, pc, network == "udp4")
			if mode != unix.IP_PMTUDISC_PROBE || dontfrag != 1 {
				t.Errorf("%s, %s: after a %d-byte datagram: mtu discover mode %d (want %d), dontfrag %d", network, name, dfNeedless+1, mode, unix.IP_PMTUDISC_PROBE, dontfrag)
			}
			c.Close()
			sink.Close()
		}
	}
}
