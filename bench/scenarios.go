package main

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/inet256/go-utp/v2/e2e/relay"
	"github.com/inet256/go-utp/v2/utp"
)

// result is what one run of one scenario measured. A worker prints it as
// JSON; zero fields were not measured.
type result struct {
	Scenario string `json:"scenario"`
	Impl     string `json:"impl"`
	Profile  string `json:"profile,omitempty"` // lossy: the relay's profile; else the usage shape
	Err      string `json:"err,omitempty"`

	Bytes   int64   `json:"bytes,omitempty"`   // delivered and acknowledged
	Seconds float64 `json:"seconds,omitempty"` // wall time of the measured part
	CPU     float64 `json:"cpu,omitempty"`     // user+sys seconds over Seconds
	Drops   int64   `json:"drops,omitempty"`   // UDP receive-buffer drops

	P50 float64 `json:"p50_us,omitempty"`
	P99 float64 `json:"p99_us,omitempty"`

	Count int `json:"count,omitempty"` // round trips, setups, or connections done
	Of    int `json:"of,omitempty"`    // connections attempted

	GoPerConn     float64 `json:"go_per_conn,omitempty"`     // Go heap+stacks per connection end
	RSSPerConn    float64 `json:"rss_per_conn,omitempty"`    // resident memory per connection end
	ActivePerConn float64 `json:"active_per_conn,omitempty"` // Go memory per end after activity
	ActiveSeconds float64 `json:"active_seconds,omitempty"`
	PeakPerConn   float64 `json:"peak_per_conn,omitempty"` // peak RSS growth per connection (both ends)

	// Our senders' recovery in the many-connection shapes, summed over
	// the dialed connections: packets sent again, retransmission
	// timeouts, those found spurious, and tail loss probes.
	Resent     uint64 `json:"resent,omitempty"`
	Timeouts   uint64 `json:"timeouts,omitempty"`
	Spurious   uint64 `json:"spurious_timeouts,omitempty"`
	TailProbes uint64 `json:"tail_probes,omitempty"`
}

// MBps is the throughput in MB/s (10^6 bytes).
func (r result) MBps() float64 {
	if r.Seconds == 0 {
		return 0
	}
	return float64(r.Bytes) / r.Seconds / 1e6
}

// CPUPerGB is CPU seconds per GB moved.
func (r result) CPUPerGB() float64 {
	if r.Bytes == 0 {
		return 0
	}
	return r.CPU / (float64(r.Bytes) / 1e9)
}

func portOf(a net.Addr) int {
	if u, ok := a.(*net.UDPAddr); ok {
		return u.Port
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return 0
	}
	return int(ap.Port())
}

// chunk is the size of every Write and Read in the transfers: large, so
// that system calls per byte do not decide TCP's figures.
const chunk = 1 << 20

// sink reads exactly n bytes from c, counting them in got, hashing them
// if h is set, then acknowledges them with one byte.
func sink(c net.Conn, n int64, got *atomic.Int64, h io.Writer) error {
	buf := make([]byte, chunk)
	for got.Load() < n {
		k, err := c.Read(buf[:min(int64(len(buf)), n-got.Load())])
		if h != nil {
			h.Write(buf[:k])
		}
		got.Add(int64(k))
		if err != nil {
			return fmt.Errorf("receiver: %w after %d of %d bytes", err, got.Load(), n)
		}
	}
	_, err := c.Write([]byte{1})
	return err
}

// source writes n bytes of data (repeated) to c and waits for the
// receiver's one-byte acknowledgement.
func source(c net.Conn, data []byte, n int64) error {
	for sent := int64(0); sent < n; {
		k, err := c.Write(data[:min(int64(len(data)), n-sent)])
		sent += int64(k)
		if err != nil {
			return fmt.Errorf("sender: %w after %d of %d bytes", err, sent, n)
		}
	}
	var ack [1]byte
	if _, err := io.ReadFull(c, ack[:]); err != nil {
		return fmt.Errorf("sender: waiting for the acknowledgement: %w", err)
	}
	return nil
}

func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, 0))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// bulk moves size bytes one way on one connection: throughput, CPU per
// GB and receive-buffer drops.
func bulk(im impl, size int64, limit time.Duration) result {
	r := result{Scenario: "bulk", Impl: im.name}
	p := openPair(im, &r)
	if p == nil {
		return r
	}
	defer p.Close()
	bulkOn(p, im, &r, size, limit, func(ports ...int) int64 { return udpDrops(ports...) })
	return r
}

// vethMTU is the veth scenario's link MTU: Ethernet's.
const vethMTU = 1500

// veth is bulk across a veth pair between two network namespaces at
// Ethernet's MTU (issue 17): a real kernel path with no bottleneck, where
// packets are sized to the MTU rather than to loopback's 64 KiB.
func veth(im impl, size int64, limit time.Duration) result {
	r := result{Scenario: "veth", Impl: im.name}
	v, err := newVethPath(vethMTU)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	defer v.Close()
	p := openPairOn(im, &r, v)
	if p == nil {
		return r
	}
	defer p.Close()
	drops := func(ports ...int) int64 {
		var n int64
		for _, ns := range []string{v.cliNS, v.srvNS} {
			inNetns(ns, func() error {
				n += udpDropsIn("/proc/thread-self/net", ports...)
				return nil
			})
		}
		return n
	}
	bulkOn(p, im, &r, size, limit, drops)
	return r
}

// bulkOn is bulk over the pair p; drops counts the receive-buffer drops
// of the sockets on the given ports.
func bulkOn(p *pair, im impl, r *result, size int64, limit time.Duration, drops func(ports ...int) int64) {
	var got atomic.Int64
	srvErr := make(chan error, 1)
	p.serve(1, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(limit))
		err := sink(c, size, &got, nil)
		if uc, ok := c.(*utp.Conn); ok && debugStats {
			fmt.Fprintf(os.Stderr, "server %+v\n", uc.Stats())
		}
		srvErr <- err
		io.Copy(io.Discard, c) // until the sender closes
	})
	c, err := p.dial()
	if err != nil {
		r.Err = "dial: " + err.Error()
		return
	}
	c.SetDeadline(time.Now().Add(limit))
	data := randomBytes(chunk, 1)
	w := startWatch()
	err = source(c, data, size)
	r.Seconds, r.CPU = w.stop()
	r.Bytes = got.Load()
	if im.udp {
		r.Drops = drops(portOf(p.srv.Addr()), portOf(c.LocalAddr()))
	}
	if uc, ok := c.(*utp.Conn); ok && debugStats {
		fmt.Fprintf(os.Stderr, "%+v\n", uc.Stats())
		fmt.Fprintf(os.Stderr, "srv socket %+v\n", p.srv.(ours).Stats())
		cli := p.cli
		if ns, ok := cli.(nsEndpoint); ok { // veth: the client runs in a namespace
			cli = ns.endpoint
		}
		fmt.Fprintf(os.Stderr, "cli socket %+v\n", cli.(ours).Stats())
	}
	c.Close()
	if err == nil {
		err = <-srvErr
	}
	if err != nil {
		r.Err = err.Error()
	}
}

// pingPong measures 1-byte round trips on one connection for d (at most
// max), after a warm-up, and the CPU they take. With shapeAcceptLoop the
// server keeps an Accept pending while it answers; else it accepts once.
func pingPong(im impl, d time.Duration, maxCount int, shape string) result {
	r := result{Scenario: "pingpong", Impl: im.name, Profile: shape}
	p := openPair(im, &r)
	if p == nil {
		return r
	}
	defer p.Close()
	accepts := 1
	if shape == shapeAcceptLoop {
		accepts = -1
	}
	p.serve(accepts, func(c net.Conn) { io.Copy(c, c) })
	c, err := p.dial()
	if err != nil {
		r.Err = "dial: " + err.Error()
		return r
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(d + 30*time.Second))
	one := []byte{1}
	rtts := make([]time.Duration, 0, maxCount)
	const warm = 500
	var w stopwatch
	start := time.Now()
	for i := 0; len(rtts) < maxCount && time.Since(start) < d+time.Duration(warm)*time.Millisecond; i++ {
		if i == warm {
			w = startWatch()
		}
		t := time.Now()
		if _, err := c.Write(one); err != nil {
			r.Err = err.Error()
			return r
		}
		if _, err := io.ReadFull(c, one); err != nil {
			r.Err = err.Error()
			return r
		}
		if i >= warm {
			rtts = append(rtts, time.Since(t))
		}
	}
	r.Seconds, r.CPU = w.stop()
	slices.Sort(rtts)
	r.Count = len(rtts)
	r.P50, r.P99 = percentile(rtts, 50), percentile(rtts, 99)
	return r
}

// setup measures dial + 1-byte echo + close, one after another, for d (at
// most max connections), and the CPU they take. The shape says where the
// dials go from: the pair's client (shapeShared, or "") or a new client
// endpoint each (shapePerDial), whose opening and closing are then part of
// every setup's cost.
func setup(im impl, d time.Duration, maxCount int, shape string) result {
	r := result{Scenario: "setup", Impl: im.name, Profile: shape}
	p := openPair(im, &r)
	if p == nil {
		return r
	}
	defer p.Close()
	p.serve(-1, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		var b [1]byte
		if _, err := io.ReadFull(c, b[:]); err == nil {
			c.Write(b[:])
		}
	})
	w := startWatch()
	for r.Count < maxCount && time.Since(w.start) < d {
		if err := echoOnce(p, im, shape); err != nil {
			r.Err = fmt.Sprintf("connection %d: %v", r.Count+1, err)
			break
		}
		r.Count++
	}
	r.Seconds, r.CPU = w.stop()
	return r
}

// echoOnce dials the server as shape says, echoes one byte and closes.
func echoOnce(p *pair, im impl, shape string) error {
	c, err := p.dialShape(im, shape)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	b := []byte{1}
	if _, err := c.Write(b); err != nil {
		return err
	}
	_, err = io.ReadFull(c, b)
	return err
}

// fanout moves per bytes on each of n connections at once, all dialed
// from the pair's client; the figure is the aggregate throughput, and every
// connection must complete.
func fanout(im impl, n int, per int64, limit time.Duration) result {
	return manyAtOnce("fanout", "", im, n, per, limit)
}

// conns is fanout in a usage shape: n connections dialed as shape says
// (one shared client Socket, or a Socket each), per bytes each at once,
// with the process's peak memory per connection.
func conns(im impl, shape string, n int, per int64, limit time.Duration) result {
	return manyAtOnce("conns", shape, im, n, per, limit)
}

// manyAtOnce dials n connections as shape says, then has each send per
// bytes at once to a server that serves each in its own goroutine. It
// measures the aggregate throughput, the CPU, the receive-buffer drops
// of every socket involved and the peak resident memory per connection.
func manyAtOnce(scenario, shape string, im impl, n int, per int64, limit time.Duration) result {
	r := result{Scenario: scenario, Impl: im.name, Profile: shape, Of: n}
	rssBase := rss()
	p := openPair(im, &r)
	if p == nil {
		return r
	}
	defer p.Close()
	deadline := time.Now().Add(limit)
	p.serve(n, func(c net.Conn) {
		c.SetDeadline(deadline)
		var got atomic.Int64
		sink(c, per, &got, nil)
		io.Copy(io.Discard, c)
	})
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	ports := []int{portOf(p.srv.Addr()), portOf(p.cli.Addr())}
	for range n {
		c, err := p.dialShape(im, shape)
		if err != nil {
			r.Err = fmt.Sprintf("dial %d: %v", len(conns)+1, err)
			return r
		}
		c.SetDeadline(deadline)
		conns = append(conns, c)
		ports = append(ports, portOf(c.LocalAddr()))
	}
	data := randomBytes(chunk, 2)
	var wg sync.WaitGroup
	var done atomic.Int64
	var firstErr atomic.Value
	w := startWatch()
	for _, c := range conns {
		wg.Go(func() {
			if err := source(c, data, per); err != nil {
				firstErr.CompareAndSwap(nil, err)
				return
			}
			done.Add(1)
		})
	}
	wg.Wait()
	r.Seconds, r.CPU = w.stop()
	if im.udp {
		r.Drops = udpDrops(ports...)
	}
	r.addRecovery(conns)
	if peak := peakRSS(); peak > rssBase {
		r.PeakPerConn = float64(peak-rssBase) / float64(n)
	}
	r.Count = int(done.Load())
	r.Bytes = int64(r.Count) * per
	if err, ok := firstErr.Load().(error); ok {
		r.Err = fmt.Sprintf("%d of %d completed; first failure: %v", r.Count, n, err)
	}
	return r
}

// scale opens n connections between two endpoints of one process, each
// echoing one byte, and measures the memory they hold while idle; then
// active of them echo 256 KiB each at once.
func scale(im impl, n, active int) result {
	r := result{Scenario: "scale", Impl: im.name, Of: n}
	p := openPair(im, &r)
	if p == nil {
		return r
	}
	defer p.Close()
	time.Sleep(100 * time.Millisecond)
	goBase, rssBase := goMemory(), rss()
	accepted := make(chan net.Conn, 1)
	go func() {
		for {
			c, err := p.srv.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	var servers, clients []net.Conn
	defer func() {
		for _, c := range append(servers, clients...) {
			c.Close()
		}
	}()
	b := make([]byte, 1)
	for len(clients) < n {
		c, err := p.dial()
		if err != nil {
			r.Err = fmt.Sprintf("dial %d: %v", len(clients)+1, err)
			return r
		}
		clients = append(clients, c)
		s, err := echoAccepted(c, accepted, b)
		if err != nil {
			r.Err = fmt.Sprintf("connection %d: %v", len(clients), err)
			return r
		}
		servers = append(servers, s)
	}
	time.Sleep(time.Second) // delayed ACKs and handshakes settle
	r.Count = n
	ends := float64(2 * n)
	r.GoPerConn = float64(goMemory()-goBase) / ends
	r.RSSPerConn = float64(rss()-rssBase) / ends
	w := startWatch()
	if err := echoAll(clients[:active], servers[:active], 256<<10); err != nil {
		r.Err = fmt.Sprintf("active phase: %v", err)
	}
	r.ActiveSeconds, _ = w.stop()
	r.ActivePerConn = float64(goMemory()-goBase) / ends
	return r
}

// echoAccepted writes one byte on c, takes the server side from accepted,
// echoes the byte back, and reads it.
func echoAccepted(c net.Conn, accepted <-chan net.Conn, b []byte) (net.Conn, error) {
	if _, err := c.Write(b); err != nil {
		return nil, err
	}
	var s net.Conn
	select {
	case s = <-accepted:
	case <-time.After(10 * time.Second):
		return nil, errors.New("not accepted within 10 s")
	}
	if s == nil {
		return nil, net.ErrClosed
	}
	s.SetDeadline(time.Now().Add(10 * time.Second))
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(s, b); err != nil {
		return s, err
	}
	if _, err := s.Write(b); err != nil {
		return s, err
	}
	_, err := io.ReadFull(c, b)
	return s, err
}

// echoAll has each client write size bytes, which its server echoes, all
// at once; it checks every byte came back.
func echoAll(clients, servers []net.Conn, size int) error {
	data := randomBytes(size, 3)
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(clients))
	deadline := time.Now().Add(60 * time.Second)
	for i := range clients {
		c, s := clients[i], servers[i]
		c.SetDeadline(deadline)
		s.SetDeadline(deadline)
		wg.Go(func() {
			buf := make([]byte, size)
			if _, err := io.ReadFull(s, buf); err != nil {
				errs <- err
				return
			}
			if _, err := s.Write(buf); err != nil {
				errs <- err
			}
		})
		wg.Go(func() {
			if _, err := c.Write(data); err != nil {
				errs <- err
				return
			}
			back := make([]byte, size)
			if _, err := io.ReadFull(c, back); err != nil {
				errs <- err
				return
			}
			if sha256.Sum256(back) != sha256.Sum256(data) {
				errs <- errors.New("echo differs")
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// A lossProfile is a relay configuration for the lossy scenario; both
// directions get it.
type lossProfile struct {
	name string
	link relay.Link
}

var lossProfiles = []lossProfile{
	{"10ms-1%", relay.Link{Delay: 10 * time.Millisecond, Loss: 0.01}},
	{"10ms-3%", relay.Link{Delay: 10 * time.Millisecond, Loss: 0.03}},
	{"10ms-1%-reorder-dup", relay.Link{Delay: 10 * time.Millisecond, Loss: 0.01, Reorder: 0.02, Duplicate: 0.01}},
}

func profileByName(name string) (lossProfile, error) {
	for _, p := range lossProfiles {
		if p.name == name {
			return p, nil
		}
	}
	return lossProfile{}, fmt.Errorf("unknown loss profile %q", name)
}

// lossy moves size bytes through the impairment relay and checks them
// with SHA-256. A run that does not finish within limit reports what
// arrived.
func lossy(im impl, prof lossProfile, size int64, limit time.Duration) result {
	r := result{Scenario: "lossy", Impl: im.name, Profile: prof.name}
	if !im.udp {
		r.Err = "not over UDP"
		return r
	}
	p := openPair(im, &r)
	if p == nil {
		return r
	}
	defer p.Close()
	rl, err := relay.New(addrPort(p.cli.Addr()), addrPort(p.srv.Addr()), relay.Config{AToB: prof.link, BToA: prof.link, Seed: 1})
	if err != nil {
		r.Err = err.Error()
		return r
	}
	defer rl.Close()
	data := randomBytes(int(size), 4)
	want := sha256.Sum256(data)
	var got atomic.Int64
	srvErr := make(chan error, 1)
	p.serve(1, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(limit))
		h := sha256.New()
		err := sink(c, size, &got, h)
		if err == nil && [32]byte(h.Sum(nil)) != want {
			err = errors.New("data differs (SHA-256)")
		}
		srvErr <- err
		io.Copy(io.Discard, c)
	})
	c, err := p.dialTo(rl.Addr(), 2*dialTimeout)
	if err != nil {
		r.Err = "dial: " + err.Error()
		return r
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(limit))
	w := startWatch()
	err = source(c, data, size)
	r.Seconds, r.CPU = w.stop()
	r.Bytes = got.Load()
	if err == nil {
		err = <-srvErr
	}
	if err != nil {
		r.Err = err.Error()
	}
	return r
}

func addrPort(a net.Addr) netip.AddrPort {
	if u, ok := a.(*net.UDPAddr); ok {
		return u.AddrPort()
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}

// debugStats (worker -stats) prints our connections' and Sockets'
// counters, and the veth path's kernel counters, to standard error.
var debugStats bool

// addRecovery sums the recovery counters of our dialed connections (an
// endpoint per dial wraps each in ownedConn); other stacks add nothing.
func (r *result) addRecovery(conns []net.Conn) {
	for _, c := range conns {
		if oc, ok := c.(ownedConn); ok {
			c = oc.Conn
		}
		uc, ok := c.(*utp.Conn)
		if !ok {
			continue
		}
		st := uc.Stats()
		r.Resent += st.Retransmits
		r.Timeouts += st.Timeouts
		r.Spurious += st.SpuriousTimeouts
		r.TailProbes += st.TailProbes
	}
}
