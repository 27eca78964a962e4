//go:build linux

package pathmtu

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/e2e/realpath"
)

// requireRoot skips a test that needs network namespaces when the
// process cannot make them.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("pathmtu: creating network namespaces needs root (CI runs as root)")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("pathmtu: %s is missing (.ci/run installs iproute2 and nftables): %v", tool, err)
		}
	}
}

// sh runs a command and fails the test with its output if it fails.
func sh(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

var topoSeq atomic.Int64

// topo is client – router – server in three namespaces: c0–r0 a
// 9,000-byte link, r1–s0 the narrow hop.
type topo struct {
	cli, rtr, srv string
	srvAddr       netip.Addr
	v6            bool
}

// newTopo builds the three namespaces, deleted when the test ends
// (whatever happens to it). narrow is the MTU of the router–server hop;
// dropICMP makes the router drop the ICMP errors that would tell the
// client the path's MTU.
func newTopo(t *testing.T, narrow int, v6, dropICMP bool) *topo {
	return newTopoNamed(t, "pm", narrow, v6, dropICMP)
}

// newTopoNamed is newTopo with the namespaces' names starting with
// prefix, then the process id.
func newTopoNamed(t *testing.T, prefix string, narrow int, v6, dropICMP bool) *topo {
	id := fmt.Sprintf("%s%d-%d", prefix, os.Getpid(), topoSeq.Add(1))
	tp := &topo{cli: id + "c", rtr: id + "r", srv: id + "s", v6: v6}
	for _, ns := range []string{tp.cli, tp.rtr, tp.srv} {
		sh(t, "ip", "netns", "add", ns)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
		sh(t, "ip", "-n", ns, "link", "set", "lo", "up")
	}
	sh(t, "ip", "link", "add", "c0", "netns", tp.cli, "type", "veth", "peer", "name", "r0", "netns", tp.rtr)
	sh(t, "ip", "link", "add", "r1", "netns", tp.rtr, "type", "veth", "peer", "name", "s0", "netns", tp.srv)
	for _, l := range []struct {
		ns, dev string
		mtu     int
	}{{tp.cli, "c0", 9000}, {tp.rtr, "r0", 9000}, {tp.rtr, "r1", narrow}, {tp.srv, "s0", narrow}} {
		sh(t, "ip", "-n", l.ns, "link", "set", l.dev, "mtu", fmt.Sprint(l.mtu), "up")
	}
	if v6 {
		for _, a := range []struct{ ns, dev, addr string }{
			{tp.cli, "c0", "fd77:1::1/64"}, {tp.rtr, "r0", "fd77:1::2/64"},
			{tp.rtr, "r1", "fd77:2::1/64"}, {tp.srv, "s0", "fd77:2::2/64"},
		} {
			sh(t, "ip", "-n", a.ns, "-6", "addr", "add", a.addr, "dev", a.dev, "nodad")
		}
		sh(t, "ip", "-n", tp.cli, "-6", "route", "add", "default", "via", "fd77:1::2")
		sh(t, "ip", "-n", tp.srv, "-6", "route", "add", "default", "via", "fd77:2::1")
		sh(t, "ip", "netns", "exec", tp.rtr, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
		tp.srvAddr = netip.MustParseAddr("fd77:2::2")
	} else {
		for _, a := range []struct{ ns, dev, addr string }{
			{tp.cli, "c0", "10.77.1.1/24"}, {tp.rtr, "r0", "10.77.1.2/24"},
			{tp.rtr, "r1", "10.77.2.1/24"}, {tp.srv, "s0", "10.77.2.2/24"},
		} {
			sh(t, "ip", "-n", a.ns, "addr", "add", a.addr, "dev", a.dev)
		}
		sh(t, "ip", "-n", tp.cli, "route", "add", "default", "via", "10.77.1.2")
		sh(t, "ip", "-n", tp.srv, "route", "add", "default", "via", "10.77.2.1")
		sh(t, "ip", "netns", "exec", tp.rtr, "sysctl", "-qw", "net.ipv4.ip_forward=1")
		tp.srvAddr = netip.MustParseAddr("10.77.2.2")
	}
	if dropICMP {
		nft := func(args ...string) { sh(t, append([]string{"ip", "netns", "exec", tp.rtr, "nft"}, args...)...) }
		nft("add", "table", "inet", "pmtud")
		nft("add", "chain", "inet", "pmtud", "out", "{ type filter hook output priority 0 ; }")
		nft("add", "rule", "inet", "pmtud", "out", "icmp", "type", "destination-unreachable", "icmp", "code", "frag-needed", "drop")
		nft("add", "rule", "inet", "pmtud", "out", "icmpv6", "type", "packet-too-big", "drop")
	}
	return tp
}

// setMTU changes the narrow hop's MTU, as a route change would. It may
// run on any goroutine.
func (tp *topo) setMTU(mtu int) error {
	for _, l := range []struct{ ns, dev string }{{tp.rtr, "r1"}, {tp.srv, "s0"}} {
		if out, err := exec.Command("ip", "-n", l.ns, "link", "set", l.dev, "mtu", fmt.Sprint(mtu)).CombinedOutput(); err != nil {
			return fmt.Errorf("set %s mtu %d: %v: %s", l.dev, mtu, err, out)
		}
	}
	return nil
}

// nft runs nft in the router's namespace. It may run on any goroutine.
func (tp *topo) nft(args ...string) error {
	out, err := exec.Command("ip", append([]string{"netns", "exec", tp.rtr, "nft"}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("nft %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// openHoles makes the router drop every large datagram toward the server
// (over 1,000 bytes: full data packets) whose uTP seq_nr is a multiple
// of 64 (the low byte of the big-endian field at offset 16 of the uTP
// header, 8 bytes into the UDP datagram), resends included, until
// closeHoles: holes the sender cannot fill, below data the server
// receives and holds, as a congested queue's losses leave them for a
// round trip. A probe's loss leaves no such hole: it is resent empty.
func (tp *topo) openHoles() error {
	for _, cmd := range [][]string{
		{"add", "table", "inet", "holes"},
		{"add", "chain", "inet", "holes", "toserver", "{ type filter hook forward priority 0 ; }"},
		{"add", "rule", "inet", "holes", "toserver", "oifname", "r1", "meta", "l4proto", "udp", "udp", "length", ">", "1000", "@th,200,8", "&", "0x3f", "==", "0", "counter", "drop"},
	} {
		if err := tp.nft(cmd...); err != nil {
			return err
		}
	}
	return nil
}

// holesDropped returns how many datagrams openHoles' rule has dropped.
func (tp *topo) holesDropped() (int, error) {
	out, err := exec.Command("ip", "netns", "exec", tp.rtr, "nft", "list", "chain", "inet", "holes", "toserver").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("nft list chain: %v: %s", err, out)
	}
	m := regexp.MustCompile(`counter packets (\d+)`).FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no counter in %s", out)
	}
	return strconv.Atoi(string(m[1]))
}

// errNoHoles: the transfer ended before openHoles' rule dropped anything.
var errNoHoles = errors.New("the router dropped nothing in 10 s: no transfer under way")

// shrinkBehindHoles opens holes (openHoles), narrows the path to mtu
// once the rule has dropped four datagrams (polled every 10 ms, for at
// most 10 s), then lifts the rule. It may run on any goroutine.
func (tp *topo) shrinkBehindHoles(mtu int) error {
	if err := tp.openHoles(); err != nil {
		return err
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		n, err := tp.holesDropped()
		if err != nil {
			return err
		}
		if n >= 4 {
			break
		}
		if time.Now().After(deadline) {
			return errNoHoles
		}
		time.Sleep(10 * time.Millisecond)
	}
	return errors.Join(tp.setMTU(mtu), tp.closeHoles())
}

// closeHoles lifts openHoles' rule.
func (tp *topo) closeHoles() error { return tp.nft("delete", "table", "inet", "holes") }

// inNetns runs fn on a thread that has entered namespace ns. Sockets it
// opens stay in ns.
func inNetns(t *testing.T, ns string, fn func()) {
	t.Helper()
	if err := realpath.InNamespace(ns, func() error { fn(); return nil }); err != nil {
		t.Fatal(err)
	}
}

// listenIn opens a UDP socket on an ephemeral port in namespace ns.
func listenIn(t *testing.T, ns string, v6 bool) *net.UDPConn {
	t.Helper()
	network, addr := "udp4", "0.0.0.0:0"
	if v6 {
		network, addr = "udp6", "[::]:0"
	}
	var c *net.UDPConn
	var err error
	inNetns(t, ns, func() { c, err = net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr))) })
	if err != nil {
		t.Fatal(err)
	}
	return c
}
