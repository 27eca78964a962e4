//go:build linux

package realpath

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Config describes a path: the bottleneck's rate and buffer, and the
// round-trip time the delay line adds.
type Config struct {
	// Rate is the tbf rate in bits per second.
	Rate int64
	// Buffer is the tbf queue expressed as its drain time at Rate (tbf's
	// latency parameter): 400 ms at 10 Mbit/s holds 500 kB.
	Buffer time.Duration
	// RTT is the base round-trip time, added in one piece on the return
	// path by the delay line.
	RTT time.Duration
	// Taps, when set, watches the order of uTP packets at every hop
	// (tap.go; Trace.Taps). It costs the kernel a copy of each packet's
	// headers per hop and the flows' process a reader per hop.
	Taps bool
	// Prefix starts the namespaces' names, before the process id;
	// default "rp". Only "rp" paths of dead processes are removed as
	// stale (removeStale).
	Prefix string
}

// String describes the path as the tables do: rate, buffer, RTT.
func (c Config) String() string {
	return fmt.Sprintf("%s tbf, %v buffer, %v RTT", bitrate(float64(c.Rate)), c.Buffer, c.RTT)
}

// bitrate formats bits per second as Mbit/s.
func bitrate(bps float64) string { return fmt.Sprintf("%.4g Mbit/s", bps/1e6) }

// Path is the three namespaces, the bottleneck and the delay line.
type Path struct {
	Config
	// Sender, Router and Receiver are the namespaces' names.
	Sender, Router, Receiver string
	// ReceiverAddr is the receiver's address, reachable from the sender
	// through the bottleneck.
	ReceiverAddr netip.Addr

	delay line
	taps  []*tap
	made  []string // namespaces to delete
}

var pathSeq atomic.Int64

// Addresses of the two links: sender 10.78.1.1 – 10.78.1.2 router
// 10.78.2.1 – 10.78.2.2 receiver. Each namespace has its own stack, so
// concurrent paths do not clash.
const (
	senderCIDR   = "10.78.1.1/24"
	routerSCIDR  = "10.78.1.2/24"
	routerRCIDR  = "10.78.2.1/24"
	receiverCIDR = "10.78.2.2/24"
	delayTable   = "100"
)

// New builds a path. Close deletes it; New deletes what it made if it
// fails. It needs root.
func New(cfg Config) (p *Path, err error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("realpath: network namespaces need root")
	}
	staleOnce.Do(removeStale)
	prefix := cmp.Or(cfg.Prefix, "rp")
	id := fmt.Sprintf("%s%d-%d", prefix, os.Getpid(), pathSeq.Add(1))
	p = &Path{Config: cfg, Sender: id + "s", Router: id + "r", Receiver: id + "v",
		ReceiverAddr: netip.MustParseAddr("10.78.2.2")}
	defer func() {
		if err != nil {
			p.Close()
			p = nil
		}
	}()
	for _, ns := range []string{p.Sender, p.Router, p.Receiver} {
		if err := run("ip", "netns", "add", ns); err != nil {
			return p, err
		}
		p.made = append(p.made, ns)
		if err := run("ip", "-n", ns, "link", "set", "lo", "up"); err != nil {
			return p, err
		}
	}
	cmds := [][]string{
		{"ip", "link", "add", "s0", "netns", p.Sender, "type", "veth", "peer", "name", "r0", "netns", p.Router},
		{"ip", "link", "add", "r1", "netns", p.Router, "type", "veth", "peer", "name", "v0", "netns", p.Receiver},
		{"ip", "-n", p.Sender, "addr", "add", senderCIDR, "dev", "s0"},
		{"ip", "-n", p.Router, "addr", "add", routerSCIDR, "dev", "r0"},
		{"ip", "-n", p.Router, "addr", "add", routerRCIDR, "dev", "r1"},
		{"ip", "-n", p.Receiver, "addr", "add", receiverCIDR, "dev", "v0"},
		{"ip", "-n", p.Sender, "link", "set", "s0", "up"},
		{"ip", "-n", p.Router, "link", "set", "r0", "up"},
		{"ip", "-n", p.Router, "link", "set", "r1", "up"},
		{"ip", "-n", p.Receiver, "link", "set", "v0", "up"},
		{"ip", "-n", p.Sender, "route", "add", "default", "via", "10.78.1.2"},
		{"ip", "-n", p.Receiver, "route", "add", "default", "via", "10.78.2.1"},
		{"ip", "netns", "exec", p.Router, "sysctl", "-qw", "net.ipv4.ip_forward=1"},
		{"tc", "-n", p.Router, "qdisc", "add", "dev", "r1", "root", "tbf",
			"rate", fmt.Sprint(cfg.Rate) + "bit", "burst", fmt.Sprint(tbfBurst(cfg.Rate)),
			"latency", fmt.Sprintf("%dms", cfg.Buffer.Milliseconds())},
	}
	for _, c := range cmds {
		if err := run(c...); err != nil {
			return p, err
		}
	}
	for _, d := range [][2]string{{p.Sender, "s0"}, {p.Router, "r0"}, {p.Router, "r1"}, {p.Receiver, "v0"}} {
		if err := steerFlows(d[0], d[1]); err != nil {
			return p, err
		}
	}
	if err := p.startDelay(); err != nil {
		return p, err
	}
	if cfg.Taps {
		if err := p.startTaps(); err != nil {
			return p, err
		}
	}
	return p, nil
}

// startTaps watches the data's way (the sender's device, the router's
// two, the receiver's) and the ACKs' through the delay line (tun0: out
// is what the line reads, in what it writes back).
func (p *Path) startTaps() error {
	for _, pt := range []struct{ ns, dev, name string }{
		{p.Sender, "s0", "sender s0"},
		{p.Router, "r0", "router r0"},
		{p.Router, "r1", "router r1"},
		{p.Router, "tun0", "delay line tun0"},
		{p.Receiver, "v0", "receiver v0"},
	} {
		t, err := startTap(pt.ns, pt.dev, pt.name)
		if err != nil {
			return err
		}
		p.taps = append(p.taps, t)
	}
	return nil
}

// tapStats is what each tap saw since the last call.
func (p *Path) tapStats() ([]TapStats, error) {
	var all []TapStats
	for _, t := range p.taps {
		s, err := t.take()
		if err != nil {
			return nil, err
		}
		all = append(all, s)
	}
	return all, nil
}

// tbfBurst is the bucket's depth in bytes: 2 ms at the rate, at least
// 16 KB, so the bucket never throttles below its rate for lack of depth
// (a depth under one timer tick would) and still does not let a burst
// skip the queue for long.
func tbfBurst(rate int64) int64 { return max(rate/8/500, 16<<10) }

// startDelay makes the TUN device in the router, steers everything the
// receiver sends (iif r1) into it, and starts the delay line that puts
// the packets back after RTT. They come back in on tun0, so the rule no
// longer matches and the main table forwards them to the sender.
func (p *Path) startDelay() error {
	var tun *os.File
	err := p.In(p.Router, func() (err error) { tun, err = openTUN("tun0"); return err })
	if err != nil {
		return err
	}
	if childLines {
		proc, err := startDelayProc(tun, p.RTT)
		tun.Close() // the child has its own copy
		if err != nil {
			return err
		}
		p.delay = proc
	} else {
		p.delay = startDelayLine(tun, p.RTT)
	}
	for _, c := range [][]string{
		{"ip", "-n", p.Router, "link", "set", "tun0", "mtu", "9000", "up"},
		// Packets re-enter on tun0 with the receiver's source address,
		// which the router reaches through r1: reverse-path filtering
		// would drop them.
		{"ip", "netns", "exec", p.Router, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0"},
		{"ip", "netns", "exec", p.Router, "sysctl", "-qw", "net.ipv4.conf.tun0.rp_filter=0"},
		{"ip", "-n", p.Router, "route", "add", "default", "dev", "tun0", "table", delayTable},
		{"ip", "-n", p.Router, "rule", "add", "iif", "r1", "lookup", delayTable},
	} {
		if err := run(c...); err != nil {
			return err
		}
	}
	return nil
}

// Close stops the delay line and deletes the namespaces (with them the
// veth pairs and the TUN device).
func (p *Path) Close() error {
	var errs []error
	for _, t := range p.taps {
		t.close()
	}
	p.taps = nil
	if p.delay != nil {
		errs = append(errs, p.delay.close())
		p.delay = nil
	}
	for _, ns := range p.made {
		errs = append(errs, run("ip", "netns", "del", ns))
	}
	p.made = nil
	return errors.Join(errs...)
}

// In runs fn inside namespace ns (InNamespace).
func (p *Path) In(ns string, fn func() error) error { return InNamespace(ns, fn) }

// InNamespace runs fn on an OS thread that has entered the named network
// namespace (ip netns): sockets fn makes belong to it. The thread stays
// locked and is discarded after fn returns, so no other goroutine ever
// runs in the namespace.
func InNamespace(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		f, err := os.Open("/var/run/netns/" + ns)
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// run runs a command and returns its output in the error if it fails.
func run(args ...string) error {
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

var staleOnce sync.Once

// removeStale deletes the namespaces of paths whose process no longer
// runs: a test binary killed by its timeout (or by a signal) cannot run
// its cleanups, and its namespaces would otherwise stay until reboot.
// The process id in each name tells whose it was.
func removeStale() {
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		var pid, seq int
		var role byte
		if n, _ := fmt.Sscanf(e.Name(), "rp%d-%d%c", &pid, &seq, &role); n != 3 || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); errors.Is(err, os.ErrNotExist) {
			exec.Command("ip", "netns", "del", e.Name()).Run()
		}
	}
}
