//go:build linux

package pathmtu

import (
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp"
)

// TestPathBelowBaseLatecomer: on a 576-byte IPv4 path whose router's
// ICMP errors are dropped, a second connection joins while the first is
// mid-transfer, from a Socket of its own (nothing cached: it must find
// the size itself, beside a flow that fills the path), and then a third
// from the first's Socket (which starts at the cached size). Every byte
// of each arrives, and each settles on a size the path carries.
func TestPathBelowBaseLatecomer(t *testing.T) {
	requireRoot(t)
	tp := newTopoNamed(t, "audit", 576, false, true)
	srv := utp.NewSocket(listenIn(t, tp.srv, false))
	defer srv.Close()
	to := net.UDPAddrFromAddrPort(netip.AddrPortFrom(tp.srvAddr, uint16(srv.Addr().(*net.UDPAddr).Port)))
	sums := make(chan [32]byte, 3)
	go func() {
		for {
			c, err := srv.AcceptUTP()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(2 * time.Minute))
				h := sha256.New()
				if _, err := io.Copy(h, c); err != nil {
					t.Error(err)
				}
				sums <- [32]byte(h.Sum(nil))
			}()
		}
	}()
	first := utp.NewSocket(listenIn(t, tp.cli, false))
	defer first.Close()
	late := utp.NewSocket(listenIn(t, tp.cli, false))
	defer late.Close()

	fits := 576 - overhead(false)
	send := func(s *utp.Socket, n int, seed byte, mid func()) [32]byte {
		data := make([]byte, n)
		rand.NewChaCha8([32]byte{seed}).Read(data)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var c *utp.Conn
		var err error
		inNetns(t, tp.cli, func() { c, err = s.DialUTP(ctx, to) })
		if err != nil {
			t.Errorf("dial %d: %v", seed, err)
			return [32]byte{}
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Minute))
		const chunk = 256 << 10
		for off := 0; off < n; off += chunk {
			if _, err := c.Write(data[off:min(n, off+chunk)]); err != nil {
				t.Errorf("connection %d: write at %d: %v", seed, off, err)
				return [32]byte{}
			}
			if off == n/4 && mid != nil {
				mid()
			}
		}
		if err := c.CloseWrite(); err != nil {
			t.Error(err)
		}
		// A read to io.EOF: the peer has everything and closed.
		io.Copy(io.Discard, c)
		st := c.Stats()
		t.Logf("connection %d: %d bytes, path MTU %d (fits %d), black holes %d, timeouts %d, retransmits %d",
			seed, n, st.PathMTU, fits, st.PathBlackHoles, st.Timeouts, st.Retransmits)
		if st.PathMTU > fits || st.PathMTU < fits-20 {
			t.Errorf("connection %d settled on %d-byte datagrams; the path carries %d", seed, st.PathMTU, fits)
		}
		return sha256.Sum256(data)
	}
	want := make(map[[32]byte]bool)
	lateDone := make(chan [32]byte, 1)
	want[send(first, 8<<20, 1, func() {
		go func() { lateDone <- send(late, 2<<20, 2, nil) }()
	})] = true
	want[<-lateDone] = true
	want[send(first, 1<<20, 3, nil)] = true
	for range 3 {
		select {
		case sum := <-sums:
			if !want[sum] {
				t.Error("the server read a stream that no client wrote")
			}
			delete(want, sum)
		case <-time.After(time.Minute):
			t.Fatal("the server did not finish reading")
		}
	}
}
