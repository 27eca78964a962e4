package utp

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// closedPort returns a UDP address on loopback where nothing listens: a
// port bound a moment ago and released.
func closedPort(t *testing.T, network, addr string) *net.UDPAddr {
	t.Helper()
	pc, err := net.ListenPacket(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	a := pc.LocalAddr().(*net.UDPAddr)
	pc.Close()
	return a
}

// A dial to a UDP port where nothing listens fails with ErrConnRefused,
// learned from the kernel's ICMP "port unreachable" through the socket's
// error queue, instead of waiting out its context (whose 10 s only bound
// the test); a dial in progress to another address is not disturbed.
func TestDialClosedPortRefused(t *testing.T) {
	checkLeaks(t)
	for _, c := range []struct{ network, addr string }{
		{"udp4", "127.0.0.1:0"},
		{"udp6", "[::1]:0"},
		{"udp", "127.0.0.1:0"},
	} {
		t.Run(c.network, func(t *testing.T) {
			s, err := Listen(c.network, c.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			to := closedPort(t, c.network, c.addr)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err = s.DialUTP(ctx, to)
			if !errors.Is(err, ErrConnRefused) {
				t.Fatalf("dial to the closed port %v: %v, want ErrConnRefused", to, err)
			}
			// The Socket goes on working: a dial to a listener succeeds.
			l, err := Listen(c.network, c.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			go func() {
				if c, err := l.Accept(); err == nil {
					c.Close()
				}
			}()
			conn, err := s.DialUTP(ctx, l.Addr())
			if err != nil {
				t.Fatalf("dial after the refusal: %v", err)
			}
			conn.Close()
		})
	}
}

// A send that returns the socket's pending ICMP error, announced by the
// kernel for an earlier datagram to a port that has closed, has sent
// nothing: the datagram is sent again, and the reader is told to read
// the error's details, which that send took the announcement of. A
// server whose clients each use a socket of their own meets this on
// every connection: the last datagrams to a closed client draw "port
// unreachable", and before this the next client's SYN reply was lost
// (its dial then waited 250 ms for the proof request).
func TestSendRetriesPendingICMPError(t *testing.T) {
	u, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	live, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	// A Socket with no reader goroutine, so that nothing else takes the
	// pending error before the send does.
	s := &Socket{udp: u}
	s.errq.enable(u)
	if s.errq.rc == nil {
		t.Fatal("IP_RECVERR refused")
	}
	closed := closedPort(t, "udp4", "127.0.0.1:0").AddrPort()
	if err := s.writeUDP([]byte("to nobody"), closed); err != nil {
		t.Fatal(err)
	}
	waitPendingError(t, u)

	var out outBatch
	out.add(outgoing{b: []byte("to the live peer")})
	if tooBig := s.sendOne(&out, 0, live.LocalAddr().(*net.UDPAddr).AddrPort()); tooBig != 0 {
		t.Fatalf("sendOne reported %d bytes as too big", tooBig)
	}
	if !s.errq.missed.Load() {
		t.Error("the send took the ICMP error's announcement, but the reader is not told to read the queue")
	}
	live.SetReadDeadline(time.Now().Add(5 * time.Second)) // bounds the test; the datagram is there already or never
	buf := make([]byte, 64)
	n, _, err := live.ReadFromUDP(buf)
	if err != nil || string(buf[:n]) != "to the live peer" {
		t.Fatalf("the live peer got %q, %v: the datagram sent after the ICMP error was lost", buf[:n], err)
	}
	// The reader's next receive reads the queued error first.
	var got []netip.AddrPort
	s.errq.missed.Store(false)
	s.errq.drain(func(dst netip.AddrPort, errno syscall.Errno) { got = append(got, dst) })
	if len(got) != 1 || got[0] != closed {
		t.Errorf("the error queue held %v, want the closed port %v", got, closed)
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
