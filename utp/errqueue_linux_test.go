package utp

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
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
