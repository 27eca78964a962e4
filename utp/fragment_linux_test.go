package utp

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// dfState reads the options a fragmentable send lifts.
func dfState(t *testing.T, u *net.UDPConn, v6 bool) dfOptions {
	t.Helper()
	rc, err := u.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var o dfOptions
	_ = rc.Control(func(fd uintptr) {
		f := int(fd)
		if !v6 {
			o.discover, _ = unix.GetsockoptInt(f, unix.IPPROTO_IP, unix.IP_MTU_DISCOVER)
			return
		}
		o.discover, _ = unix.GetsockoptInt(f, unix.IPPROTO_IPV6, unix.IPV6_MTU_DISCOVER)
		o.dontFrag, _ = unix.GetsockoptInt(f, unix.IPPROTO_IPV6, unix.IPV6_DONTFRAG)
		o.mtu, _ = unix.GetsockoptInt(f, unix.IPPROTO_IPV6, unix.IPV6_MTU)
	})
	return o
}

// TestFragmentableSendRestoresDF sends one datagram fragmentable over
// each family: it arrives whole, and the socket is back to DF on every
// send (the options as NewSocket set them) for the sends that follow.
func TestFragmentableSendRestoresDF(t *testing.T) {
	checkLeaks(t)
	for _, network := range []string{"udp4", "udp6"} {
		v6 := network == "udp6"
		addr := "127.0.0.1:0"
		if v6 {
			addr = "[::1]:0"
		}
		pc, err := net.ListenPacket(network, addr)
		if err != nil {
			t.Fatal(err)
		}
		s := NewSocket(pc)
		rcv, err := net.ListenPacket(network, addr)
		if err != nil {
			t.Fatal(err)
		}
		before := dfState(t, s.udp, v6)
		msg := bytes.Repeat([]byte{0xa5}, 3000)
		s.sendAllowingFragments(msg, netip.MustParseAddrPort(rcv.LocalAddr().String()))
		buf := make([]byte, 4096)
		_ = rcv.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := rcv.ReadFrom(buf)
		if err != nil || !bytes.Equal(buf[:n], msg) {
			t.Errorf("%s: received %d bytes (%v), want the 3,000 sent", network, n, err)
		}
		if after := dfState(t, s.udp, v6); after != before {
			t.Errorf("%s: options %+v after a fragmentable send, %+v before", network, after, before)
		}
		rcv.Close()
		s.Close()
	}
}

// TestExtractFragmentable checks that the datagrams marked fragmentable
// leave a batch, in order, and the others stay in theirs, across the
// batch's inline array and its overflow.
func TestExtractFragmentable(t *testing.T) {
	var out outBatch
	const n = 40
	for i := range n {
		out.add(outgoing{b: []byte{byte(i)}, frag: i%3 == 0})
	}
	if !out.hasFragmentable() {
		t.Fatal("hasFragmentable false")
	}
	var taken []byte
	out.extractFragmentable(func(d *outgoing) { taken = append(taken, d.b[0]) })
	var kept []byte
	for i := range out.n {
		kept = append(kept, out.get(i).b[0])
	}
	var wantTaken, wantKept []byte
	for i := range n {
		if i%3 == 0 {
			wantTaken = append(wantTaken, byte(i))
		} else {
			wantKept = append(wantKept, byte(i))
		}
	}
	if !bytes.Equal(taken, wantTaken) || !bytes.Equal(kept, wantKept) || out.hasFragmentable() {
		t.Errorf("taken %v, kept %v; want %v and %v", taken, kept, wantTaken, wantKept)
	}
}
