package packetio

import (
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A send that returns the socket's pending ICMP error, announced by the
// kernel for an earlier datagram to a port that has closed, has sent
// nothing: the datagram is sent again, and the next Read reads the
// error's details, whose announcement that send took. A server whose
// clients each use a socket of their own meets this on every connection:
// its last datagrams to a closed client draw "port unreachable", and
// before this the next client's SYN reply was lost (its dial then waited
// 250 ms for package utp's proof request).
func TestSendRetriesPendingICMPError(t *testing.T) {
	pc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	var reported []netip.AddrPort
	c := New(pc, Config{OnICMPError: func(dst netip.AddrPort, errno syscall.Errno) {
		reported = append(reported, dst)
	}})
	defer c.Close()
	live, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	gone, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	closed := gone.LocalAddr().(*net.UDPAddr).AddrPort()
	gone.Close()

	if r := c.Send(Addr{AP: closed}, []Datagram{{Head: []byte("to nobody")}}); r.Datagrams != 1 {
		t.Fatalf("the datagram to the closed port: %+v", r)
	}
	waitPendingError(t, pc)
	liveAP := live.LocalAddr().(*net.UDPAddr).AddrPort()
	if r := c.Send(Addr{AP: liveAP}, []Datagram{{Head: []byte("to the live peer")}}); r.Datagrams != 1 || r.TooBig != 0 {
		t.Errorf("the datagram to the live peer: %+v, want it sent", r)
	}
	// Nothing reads the endpoint but this test: the datagram is there
	// already, or it was lost; the deadline only bounds the test.
	live.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	n, _, err := live.ReadFromUDP(buf)
	if err != nil || string(buf[:n]) != "to the live peer" {
		t.Fatalf("the live peer got %q, %v: the datagram sent after the ICMP error was lost", buf[:n], err)
	}

	// The next Read reads the queued error before the reply.
	if _, err := live.WriteToUDPAddrPort([]byte("reply"), c.LocalAddr().(*net.UDPAddr).AddrPort()); err != nil {
		t.Fatal(err)
	}
	if n, _, _, err := c.Read(buf); err != nil || string(buf[:n]) != "reply" {
		t.Fatalf("Read: %q, %v", buf[:n], err)
	}
	if len(reported) != 1 || reported[0] != closed {
		t.Errorf("ICMP errors reported %v, want the closed port %v", reported, closed)
	}
}

// waitPendingError waits until u has an ICMP error pending (poll reports
// POLLERR), for at most 5 s.
func waitPendingError(t *testing.T, u *net.UDPConn) {
	t.Helper()
	rc, err := u.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var revents int16
	rc.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd)}}
		if _, err := unix.Poll(fds, 5000); err == nil {
			revents = fds[0].Revents
		}
	})
	if revents&unix.POLLERR == 0 {
		t.Fatal("no ICMP error pending after a datagram to a closed port")
	}
}
