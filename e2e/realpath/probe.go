//go:build linux

package realpath

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"time"
)

// ProbeInterval is how often a probe is sent: 100 samples a second, a
// few hundred bytes per second, nothing next to the flows it measures.
const ProbeInterval = 10 * time.Millisecond

// A Sample is one probe's round trip, by when it was sent.
type Sample struct {
	At  time.Duration // since the probe started
	RTT time.Duration
}

// A Probe sends small UDP datagrams from the sender to an echo socket in
// the receiver, through the bottleneck's queue and back through the delay
// line, each carrying its send time; the round trip less the path's
// smallest is the queueing delay.
type Probe struct {
	start   time.Time
	cli     *net.UDPConn
	echo    *net.UDPConn
	mu      sync.Mutex // guards samples
	samples []Sample
	stop    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
}

// StartProbe starts probing p every ProbeInterval until Stop.
func (p *Path) StartProbe() (*Probe, error) {
	pr := &Probe{start: time.Now(), stop: make(chan struct{})}
	if err := p.In(p.Receiver, func() (err error) {
		pr.echo, err = net.ListenUDP("udp4", &net.UDPAddr{})
		return err
	}); err != nil {
		return nil, err
	}
	if err := p.In(p.Sender, func() (err error) {
		pr.cli, err = net.ListenUDP("udp4", &net.UDPAddr{})
		return err
	}); err != nil {
		pr.echo.Close()
		return nil, err
	}
	to := netip.AddrPortFrom(p.ReceiverAddr, uint16(pr.echo.LocalAddr().(*net.UDPAddr).Port))
	pr.wg.Add(3)
	go pr.runEcho()
	go pr.receive()
	go pr.send(to)
	return pr, nil
}

// runEcho sends every datagram back where it came from.
func (pr *Probe) runEcho() {
	defer pr.wg.Done()
	buf := make([]byte, 64)
	for {
		n, from, err := pr.echo.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		pr.echo.WriteToUDPAddrPort(buf[:n], from)
	}
}

// send writes the time since the start, in nanoseconds, every interval.
func (pr *Probe) send(to netip.AddrPort) {
	defer pr.wg.Done()
	tick := time.NewTicker(ProbeInterval)
	defer tick.Stop()
	var b [8]byte
	for {
		select {
		case <-pr.stop:
			return
		case <-tick.C:
		}
		binary.BigEndian.PutUint64(b[:], uint64(time.Since(pr.start)))
		pr.cli.WriteToUDPAddrPort(b[:], to)
	}
}

// receive records each echo's round trip; lost probes (the tbf dropped
// them) leave no sample.
func (pr *Probe) receive() {
	defer pr.wg.Done()
	buf := make([]byte, 64)
	for {
		n, err := pr.cli.Read(buf)
		if err != nil {
			return
		}
		if n != 8 {
			continue
		}
		sent := time.Duration(binary.BigEndian.Uint64(buf))
		s := Sample{At: sent, RTT: time.Since(pr.start) - sent}
		pr.mu.Lock()
		pr.samples = append(pr.samples, s)
		pr.mu.Unlock()
	}
}

// Stop ends probing and returns the samples in the order they came back.
// Calls after the first return the same samples.
func (pr *Probe) Stop() []Sample {
	pr.once.Do(func() {
		close(pr.stop)
		pr.cli.Close()
		pr.echo.Close()
		pr.wg.Wait()
	})
	pr.mu.Lock()
	defer pr.mu.Unlock()
	return pr.samples
}
