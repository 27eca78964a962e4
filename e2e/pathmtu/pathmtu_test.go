//go:build linux

package pathmtu

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp"
)

// transferBytes is what every path must carry byte-exact (issue 13,
// criterion 3).
const transferBytes = 16 << 20

// overhead is the IP and UDP header bytes of a datagram.
func overhead(v6 bool) int {
	if v6 {
		return 48
	}
	return 28
}

// transfer sends transferBytes from a client Socket to a server Socket
// across tp with default options, calls mid (if not nil) after the first
// quarter is written, and checks that the server read every byte and
// that a second connection starts at the size the first confirmed. It
// returns the first connection's statistics.
func transfer(t *testing.T, tp *topo, mid func()) utp.Stats {
	t.Helper()
	srv := utp.NewSocket(listenIn(t, tp.srv, tp.v6))
	defer srv.Close()
	cli := utp.NewSocket(listenIn(t, tp.cli, tp.v6))
	defer cli.Close()
	data := make([]byte, transferBytes)
	rand.NewChaCha8([32]byte{13}).Read(data)
	want := sha256.Sum256(data)

	type result struct {
		n   int64
		sum []byte
		err error
	}
	res := make(chan result, 1)
	go func() {
		c, err := srv.AcceptUTP()
		if err != nil {
			res <- result{err: err}
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(90 * time.Second))
		h := sha256.New()
		n, err := io.Copy(h, c)
		res <- result{n, h.Sum(nil), err}
	}()

	// Each dial has its own 30 s: one context for both let the transfer
	// between them, slow under -race on a loaded machine, spend the
	// second dial's time (it failed with the context's deadline).
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	to := net.UDPAddrFromAddrPort(netip.AddrPortFrom(tp.srvAddr, uint16(srv.Addr().(*net.UDPAddr).Port)))
	var c *utp.Conn
	var err error
	// Dial from the client's namespace: the route lookup that bounds the
	// search happens in the dialing thread.
	inNetns(t, tp.cli, func() { c, err = cli.DialUTP(ctx, to) })
	if err != nil {
		t.Fatalf("first dial: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(90 * time.Second))
	const chunk = 1 << 20
	for off := 0; off < len(data); off += chunk {
		if _, err := c.Write(data[off : off+chunk]); err != nil {
			t.Fatalf("write at %d: %v (%+v)", off, err, c.Stats())
		}
		if off == len(data)/4 && mid != nil {
			mid()
		}
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	r := <-res
	if r.err != nil || r.n != transferBytes || !bytes.Equal(r.sum, want[:]) {
		t.Fatalf("server read %d of %d bytes (digest match %v): %v; client %+v", r.n, transferBytes, bytes.Equal(r.sum, want[:]), r.err, c.Stats())
	}
	st := c.Stats()
	// The next connection to the server starts at the size this one
	// confirmed (the Socket's per-destination cache).
	var c2 *utp.Conn
	ctx2, cancel2 := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel2()
	inNetns(t, tp.cli, func() { c2, err = cli.DialUTP(ctx2, to) })
	if err != nil {
		t.Fatalf("second dial, after the transfer: %v", err)
	}
	defer c2.Close()
	if got := c2.Stats().PathMTU; got != st.PathMTU {
		t.Errorf("a second connection starts at %d bytes; the first confirmed %d", got, st.PathMTU)
	}
	return st
}

// TestPathMTU moves 16 MiB over IPv4 and IPv6 paths whose narrowest hop
// is 1,280, 1,420, 1,492, 1,500 and 9,000 bytes, each with the router's
// ICMP errors delivered and dropped, with default options: every byte
// arrives, and the size discovery confirmed is within 20 bytes of the
// largest datagram the path carries, never above it. -short runs the
// 1,280 and 9,000-byte paths with ICMP dropped.
func TestPathMTU(t *testing.T) {
	requireRoot(t)
	mtus, drops := []int{1280, 1420, 1492, 1500, 9000}, []bool{false, true}
	if testing.Short() {
		// CI's race pass: the extremes, black holes only.
		mtus, drops = []int{1280, 9000}, []bool{true}
	}
	for _, v6 := range []bool{false, true} {
		for _, mtu := range mtus {
			for _, dropICMP := range drops {
				t.Run(pathCase(mtu, v6, dropICMP), func(t *testing.T) { checkPath(t, mtu, v6, dropICMP) })
			}
		}
	}
}

// pathCase names the subtest of a path.
func pathCase(mtu int, v6, dropICMP bool) string {
	name := fmt.Sprintf("ipv4/%d/icmp", mtu)
	if v6 {
		name = fmt.Sprintf("ipv6/%d/icmp", mtu)
	}
	if dropICMP {
		name += "-dropped"
	}
	return name
}

// checkPath moves transferBytes over a new path whose narrowest hop is
// mtu bytes and checks that the size discovery confirmed is within 20
// bytes of the largest datagram the path carries, never above it.
func checkPath(t *testing.T, mtu int, v6, dropICMP bool) {
	tp := newTopo(t, mtu, v6, dropICMP)
	start := time.Now()
	st := transfer(t, tp, nil)
	fits := mtu - overhead(v6)
	t.Logf("%v; path MTU %d (largest datagram %d), packet payload %d; black holes %d, probes %d, lost %d, retransmits %d",
		time.Since(start), st.PathMTU, fits, st.PacketSize, st.PathBlackHoles, st.PathProbes, st.PathProbesLost, st.Retransmits)
	if st.PathMTU > fits || st.PathMTU < fits-20 {
		t.Errorf("discovered %d-byte datagrams; the path carries %d", st.PathMTU, fits)
	}
}

// TestPathMTUShrinks narrows the path from 1,500 to 1,280 bytes after
// a quarter of the transfer, as a route change would, behind a 50 Mbit/s
// bottleneck (tbf) with the router's ICMP errors dropped (a black hole),
// while the server holds data beyond holes: the packets that would fill
// them were sent at the old size and cannot be re-packetized, so they
// must be resent fragmentable. The transfer completes byte-exact, such
// resends happened, and the size found afterwards fits the new path.
func TestPathMTUShrinks(t *testing.T) {
	requireRoot(t)
	// Only with ICMP dropped: our sockets ignore what ICMP says
	// (IP_PMTUDISC_PROBE), so the two cases would run alike.
	for _, v6 := range []bool{false, true} {
		name := "ipv4"
		if v6 {
			name = "ipv6"
		}
		t.Run(name, func(t *testing.T) {
			// Whether the server still holds data beyond a hole when the
			// sender finds the black hole depends on timing (a hole at
			// the tail of a drained window leaves nothing beyond it, and
			// the packets are then re-packetized, as they should be):
			// such a run shows nothing about stranded packets, and the
			// case runs again, at most twelve times. About half the IPv6
			// runs and 4 of 9 IPv4 runs on a quiet machine show nothing,
			// more while other packages' tests run beside it: three
			// attempts failed about one run in ten, and six once failed
			// in CI (IPv4, every run re-packetized after 6 timeouts).
			for attempt := 1; ; attempt++ {
				st, missed := shrinkBehindHolesOnce(t, v6)
				if st.FragmentedResends > 0 {
					return
				}
				if missed == "" && st.Repacketized > 0 {
					missed = "the server held nothing beyond the holes when the black hole was found (re-packetized)"
				}
				if missed == "" || attempt == 12 {
					t.Fatalf("attempt %d: no stranded packet was resent fragmentable (%s): %+v", attempt, missed, st)
				}
				t.Logf("attempt %d: %s; again", attempt, missed)
			}
		})
	}
}

// shrinkBehindHolesOnce is one run of TestPathMTUShrinks on a new
// topology; it checks the transfer and the size found afterwards, and
// returns the client's statistics, and why the run could show nothing
// about stranded packets if the holes never opened.
func shrinkBehindHolesOnce(t *testing.T, v6 bool) (st utp.Stats, missed string) {
	tp := newTopo(t, 1500, v6, true)
	sh(t, "tc", "-n", tp.rtr, "qdisc", "add", "dev", "r1", "root", "tbf", "rate", "50mbit", "burst", "64kb", "latency", "20ms")
	shrunk := make(chan error, 1)
	st = transfer(t, tp, func() {
		// The writer goes on (a pause would drain the window, and a
		// hole at its tail would leave nothing beyond it) while the
		// holes open, and the path changes as soon as the router has
		// dropped four datagrams: holes 64 packets apart, or resends
		// that the server's selective ACKs of the data beyond them
		// prompted.
		go func() { shrunk <- tp.shrinkBehindHoles(1280) }()
	})
	if err := <-shrunk; errors.Is(err, errNoHoles) {
		return st, "the transfer ended before the holes opened"
	} else if err != nil {
		t.Fatalf("%v (client %+v)", err, st)
	}
	fits := 1280 - overhead(v6)
	t.Logf("path MTU %d after the change (fits %d); black holes %d, re-packetized %d, fragmented resends %d, timeouts %d",
		st.PathMTU, fits, st.PathBlackHoles, st.Repacketized, st.FragmentedResends, st.Timeouts)
	if st.PathMTU > fits {
		t.Errorf("path MTU %d after the path narrowed to %d", st.PathMTU, fits)
	}
	return st, ""
}

// TestPathBelowBase moves 16 MiB over IPv4 paths narrower than the
// 1,280-byte base that discovery assumes: 576 bytes, the least every IPv4
// host takes whole (RFC 791), with the router's ICMP errors delivered and
// dropped; 1,000 bytes with them dropped; and a 1,500-byte path that
// narrows to 576 mid-transfer. Every byte arrives, the size found fits
// the path within 20 bytes, and a second connection starts at it. Before
// discovery could fall below the base, such a path carried no data
// packet and the connection timed out after 55 s.
func TestPathBelowBase(t *testing.T) {
	requireRoot(t)
	for _, mtu := range []int{576, 1000} {
		for _, dropICMP := range []bool{false, true} {
			if !dropICMP && (testing.Short() || mtu != 576) {
				// Our sockets ignore what ICMP says (IP_PMTUDISC_PROBE):
				// one path with it delivered shows it; CI's race pass
				// runs black holes only.
				continue
			}
			t.Run(pathCase(mtu, false, dropICMP), func(t *testing.T) { checkPath(t, mtu, false, dropICMP) })
		}
	}
	// A route change from 1,500 to 576 bytes mid-transfer, a black hole:
	// discovery falls to the base, finds that too large, and falls again.
	t.Run("ipv4/1500-to-576/icmp-dropped", func(t *testing.T) {
		tp := newTopo(t, 1500, false, true)
		st := transfer(t, tp, func() {
			if err := tp.setMTU(576); err != nil {
				t.Error(err)
			}
		})
		fits := 576 - overhead(false)
		t.Logf("path MTU %d after the change (fits %d); black holes %d, re-packetized %d, fragmented resends %d, timeouts %d",
			st.PathMTU, fits, st.PathBlackHoles, st.Repacketized, st.FragmentedResends, st.Timeouts)
		if st.PathMTU > fits || st.PathMTU < fits-20 {
			t.Errorf("discovered %d-byte datagrams; the path carries %d", st.PathMTU, fits)
		}
	})
}
