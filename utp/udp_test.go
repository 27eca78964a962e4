package utp

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"
)

func listenUDP(t testing.TB, opts ...SocketOption) *Socket {
	t.Helper()
	s, err := Listen("udp", "127.0.0.1:0", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// A peer address in IPv4-mapped form (as net.ResolveUDPAddr returns it)
// reaches an IPv4 socket, and the reply is matched to the connection.
func TestUDPMappedIPv4Address(t *testing.T) {
	checkLeaks(t)
	a, b := listenUDP(t), listenUDP(t)
	raddr, err := net.ResolveUDPAddr("udp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if len(raddr.IP) != net.IPv6len {
		t.Fatalf("ResolveUDPAddr gave a %d-byte IP; the test needs the mapped form", len(raddr.IP))
	}
	go func() {
		if c, err := b.Accept(); err == nil {
			c.Write([]byte("hi"))
			c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := a.DialUTP(ctx, raddr)
	if err != nil {
		t.Fatalf("dial to an IPv4-mapped address: %v", err)
	}
	defer c.Close()
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "hi" {
		t.Fatalf("read %q, %v", got, err)
	}
}

// A transfer both ways at once over UDP loopback arrives intact, and both
// sides see EOF after the last byte.
func TestUDPLoopbackTransfer(t *testing.T) {
	checkLeaks(t)
	a, b := listenUDP(t), listenUDP(t)
	const size = 8 << 20
	data := make([]byte, size)
	rand.NewChaCha8([32]byte{1}).Read(data)
	want := sha256.Sum256(data)

	errs := make(chan error, 4)
	check := func(c io.ReadWriteCloser, who string) {
		go func() {
			_, err := c.Write(data)
			if err == nil {
				err = c.(*Conn).CloseWrite()
			}
			errs <- err
		}()
		go func() {
			got, err := io.ReadAll(c)
			if err == nil && sha256.Sum256(got) != want {
				err = io.ErrUnexpectedEOF
				t.Errorf("%s read %d bytes, hash mismatch", who, len(got))
			}
			errs <- err
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	accepted := make(chan *Conn, 1)
	go func() {
		c, err := b.AcceptUTP()
		if err != nil {
			t.Error(err)
		}
		accepted <- c
	}()
	ca, err := a.DialUTP(ctx, b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	cb := <-accepted
	start := time.Now()
	check(ca, "dialer")
	check(cb, "acceptor")
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("8 MiB each way in %v; dialer %+v", time.Since(start), ca.Stats())
	if err := ca.Close(); err != nil {
		t.Errorf("dialer close: %v", err)
	}
	if err := cb.Close(); err != nil {
		t.Errorf("acceptor close: %v", err)
	}
	if _, err := ca.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write after close: %v, want net.ErrClosed", err)
	}
	if _, err := ca.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("read after close: %v, want net.ErrClosed", err)
	}
}

// Reads from several goroutines at once each return bytes of the stream:
// only one of them lends its buffer to the state machine at a time, so
// data placed there is returned by that Read and no other.
func TestUDPConcurrentReads(t *testing.T) {
	checkLeaks(t)
	a, b := listenUDP(t), listenUDP(t)
	src, dst := dialAcceptB(t, a, b)
	defer src.Close()
	defer dst.Close()
	const size = 4 << 20
	var wantSum uint64
	stream := make([]byte, size)
	for i := range stream {
		stream[i] = byte(i % 255) // never 0xff, which fills the readers' buffers
		wantSum += uint64(stream[i])
	}
	go func() {
		for off := 0; off < size; off += 1000 {
			if _, err := src.Write(stream[off:min(off+1000, size)]); err != nil {
				return
			}
		}
		src.CloseWrite()
	}()
	dst.SetReadDeadline(time.Now().Add(30 * time.Second))
	type tally struct {
		n, sum uint64
		err    error
	}
	results := make(chan tally, 4)
	for r := range 4 {
		go func() {
			var tl tally
			buf := make([]byte, 100+r*700)
			for {
				for i := range buf {
					buf[i] = 0xff
				}
				n, err := dst.Read(buf)
				for _, v := range buf[:n] {
					if v == 0xff {
						tl.err = fmt.Errorf("a Read returned a byte it was not given")
					}
					tl.sum += uint64(v)
				}
				tl.n += uint64(n)
				if err != nil {
					if err != io.EOF {
						tl.err = err
					}
					results <- tl
					return
				}
			}
		}()
	}
	var total tally
	for range 4 {
		tl := <-results
		if tl.err != nil {
			t.Fatal(tl.err)
		}
		total.n += tl.n
		total.sum += tl.sum
	}
	if total.n != size || total.sum != wantSum {
		t.Fatalf("read %d bytes summing to %d, want %d summing to %d", total.n, total.sum, size, wantSum)
	}
}

// Datagrams from IPv4 and IPv6 peers, and from IPv4 peers of a
// dual-stack socket (v4-mapped), reach their connections, which report
// the peer's address as the peer sees it.
func TestUDPAddressFamilies(t *testing.T) {
	checkLeaks(t)
	for _, tc := range []struct{ name, srvNet, srvAddr, cliNet, cliAddr string }{
		{"ipv4", "udp4", "127.0.0.1:0", "udp4", "127.0.0.1:0"},
		{"ipv6", "udp6", "[::1]:0", "udp6", "[::1]:0"},
		{"ipv4 to dual-stack", "udp", "[::]:0", "udp4", "127.0.0.1:0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := Listen(tc.srvNet, tc.srvAddr)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			cli, err := Listen(tc.cliNet, tc.cliAddr)
			if err != nil {
				t.Fatal(err)
			}
			defer cli.Close()
			accepted := make(chan net.Addr, 1)
			go func() {
				c, err := srv.Accept()
				if err != nil {
					accepted <- nil
					return
				}
				defer c.Close()
				accepted <- c.RemoteAddr()
				io.Copy(c, c)
			}()
			port := srv.Addr().(*net.UDPAddr).Port
			to := &net.UDPAddr{IP: cli.Addr().(*net.UDPAddr).IP, Port: port}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := cli.DialUTP(ctx, to)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := c.Write([]byte("ping")); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, 4)
			if _, err := io.ReadFull(c, got); err != nil || string(got) != "ping" {
				t.Fatalf("echo %q, %v", got, err)
			}
			ra, _ := (<-accepted).(*net.UDPAddr)
			want := cli.Addr().(*net.UDPAddr)
			if ra == nil || !ra.IP.Equal(want.IP) || ra.Port != want.Port {
				t.Fatalf("the acceptor sees the dialer as %v, want %v", ra, want)
			}
		})
	}
}
