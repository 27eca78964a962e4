package packetio

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// dfState reads the options a fragmentable send lifts.
func dfState(t *testing.T, u *net.UDPConn, v4 bool) dfOptions {
	t.Helper()
	rc, err := u.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var o dfOptions
	_ = rc.Control(func(fd uintptr) { o = readDF(int(fd), v4) })
	return o
}

// TestFragmentableSend sends three datagrams over each family, the
// middle one fragmentable: all three arrive whole and in order, the
// result counts them, and the socket is back to DF on every send (the
// options as the first long datagram set them, dfAtNeed) afterwards.
func TestFragmentableSend(t *testing.T) {
	for _, network := range []string{"udp4", "udp6"} {
		v4 := network == "udp4"
		addr := "[::1]:0"
		if v4 {
			addr = "127.0.0.1:0"
		}
		pc, err := net.ListenPacket(network, addr)
		if err != nil {
			t.Fatal(err)
		}
		c := New(pc, Config{})
		rcv, err := net.ListenPacket(network, addr)
		if err != nil {
			t.Fatal(err)
		}
		u := pc.(*net.UDPConn)
		msgs := [][]byte{bytes.Repeat([]byte{1}, 1000), bytes.Repeat([]byte{2}, 3000), bytes.Repeat([]byte{3}, 1000)}
		ds := []Datagram{{Head: msgs[0]}, {Head: msgs[1], Fragmentable: true}, {Head: msgs[2]}}
		to := Addr{AP: netip.MustParseAddrPort(rcv.LocalAddr().String())}
		if r := c.Send(to, ds); r.Datagrams != 3 || r.Bytes != 5000 || r.Errors != 0 {
			t.Errorf("%s: Send reported %+v, want 3 datagrams of 5,000 bytes", network, r)
		}
		buf := make([]byte, 4096)
		_ = rcv.SetReadDeadline(time.Now().Add(5 * time.Second))
		for i, want := range msgs {
			n, _, err := rcv.ReadFrom(buf)
			if err != nil || !bytes.Equal(buf[:n], want) {
				t.Errorf("%s: datagram %d: %d bytes (%v), want %d bytes of %d", network, i, n, err, len(want), want[0])
			}
		}
		want := dfOptions{discover: unix.IP_PMTUDISC_PROBE}
		if !v4 {
			want = dfOptions{discover: unix.IPV6_PMTUDISC_PROBE, dontFrag: 1}
		}
		if after := dfState(t, u, v4); after != want {
			t.Errorf("%s: options %+v after a fragmentable send, want %+v", network, after, want)
		}
		rcv.Close()
		c.Close()
	}
}
