package utp

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestDontFragmentSet checks that a Socket over UDP sets DF for its
// family on every send path (IP_PMTUDISC_PROBE; for IPv6 also
// IPV6_DONTFRAG), and that discovery is on.
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
		s := NewSocket(pc)
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
		if mode != unix.IP_PMTUDISC_PROBE || dontfrag != 1 || !s.pmtud {
			t.Errorf("%s: mtu discover mode %d (want %d), dontfrag %d, discovery %v", network, mode, unix.IP_PMTUDISC_PROBE, dontfrag, s.pmtud)
		}
		s.Close()
	}
}

// TestLoopbackPathFixed checks that over loopback discovery starts and
// ends at the device's size: no base, no probes, the largest packets
// at once.
func TestLoopbackPathFixed(t *testing.T) {
	checkLeaks(t)
	a, b := listenUDP(t), listenUDP(t)
	p := a.pathFor(source{ap: netip.MustParseAddrPort(b.Addr().String())}, time.Now())
	if want := loopbackPacketSize + maxOverhead; !p.on || p.base != p.ceiling || p.start != p.ceiling || p.ceiling != want {
		t.Fatalf("loopback path %+v: want discovery on, base = start = ceiling = %d", p, want)
	}
	ca, cb := dialAcceptB(t, a, b)
	defer ca.Close()
	defer cb.Close()
	st := ca.Stats()
	if st.PathMTU != loopbackPacketSize+maxOverhead || st.PacketSize != loopbackPacketSize {
		t.Fatalf("loopback connection: PathMTU %d, PacketSize %d; want %d and %d", st.PathMTU, st.PacketSize, loopbackPacketSize+maxOverhead, loopbackPacketSize)
	}
}

// TestSendReportsTooBig checks that a datagram the kernel refuses as too
// long (EMSGSIZE: here longer than any IPv4 UDP datagram) is reported
// by its size, for path MTU discovery to take as a ceiling, while the
// datagrams around it still leave.
func TestSendReportsTooBig(t *testing.T) {
	checkLeaks(t)
	a, b := listenUDP(t), listenUDP(t)
	to := source{ap: netip.MustParseAddrPort(b.Addr().String())}
	out := a.getBatch()
	for _, n := range []int{1200, 1200, maxUDPPayload + 1, 1200} {
		buf := a.getBuf()
		out.add(outgoing{b: buf[:n]})
	}
	before := a.Stats()
	if got := a.send(out, to); got != maxUDPPayload+1 {
		t.Fatalf("send reported %d as too big, want %d", got, maxUDPPayload+1)
	}
	a.putBatch(out)
	st := a.Stats()
	if sent := st.PacketsOut - before.PacketsOut; sent != 3 {
		t.Fatalf("%d datagrams sent, want the 3 that fit", sent)
	}
}
