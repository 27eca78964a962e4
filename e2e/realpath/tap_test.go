//go:build linux

package realpath

import (
	"encoding/binary"
	"net"
	"testing"
	"time"
)

// utpHeader is a minimal uTP header (BEP 29) of type typ sent at ts
// microseconds: all the taps read.
func utpHeader(typ uint8, ts uint32) []byte {
	b := make([]byte, 20)
	b[0] = typ<<4 | 1
	binary.BigEndian.PutUint32(b[4:8], ts)
	return b
}

// sendAll sends one datagram per send time, in order, from a socket
// made in namespace ns to addr.
func sendAll(t *testing.T, p *Path, ns string, addr *net.UDPAddr, typ uint8, times []uint32) {
	t.Helper()
	var c *net.UDPConn
	if err := p.In(ns, func() (err error) { c, err = net.ListenUDP("udp4", nil); return err }); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, ts := range times {
		if _, err := c.WriteToUDP(utpHeader(typ, ts), addr); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPathKeepsOrder checks the taps and the path together: a burst of
// 2,000 DATA packets, one of them sent late (with the send time of the
// 500th, after the 1,000th), passes every hop with just that one late,
// 499 µs behind and overtaken by 499; 400 ACKs sent back in order pass
// the delay line and every hop in order. A path that reordered bursts
// (veth's per-CPU backlogs, steer.go) or a delay line that did would
// fail it; a burst from one thread rarely shows the backlogs' reordering,
// so the test checks the taps more than the steering.
func TestPathKeepsOrder(t *testing.T) {
	cfg := Background
	cfg.Taps = true
	p := newPath(t, cfg)
	var sink, back *net.UDPConn
	if err := p.In(p.Receiver, func() (err error) { sink, err = net.ListenUDP("udp4", nil); return err }); err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	if err := p.In(p.Sender, func() (err error) { back, err = net.ListenUDP("udp4", nil); return err }); err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	toSink := &net.UDPAddr{IP: p.ReceiverAddr.AsSlice(), Port: sink.LocalAddr().(*net.UDPAddr).Port}
	toBack := &net.UDPAddr{IP: net.IPv4(10, 78, 1, 1), Port: back.LocalAddr().(*net.UDPAddr).Port}
	// Until a host knows its next hop's link address, the kernel holds
	// what it sends there and releases it once ARP answers, beside what
	// is sent meanwhile: resolve every hop first, with datagrams too
	// short for uTP, which the taps ignore.
	warm(t, p, p.Sender, toSink, sink)
	warm(t, p, p.Receiver, toBack, back)
	// The ACKs are fewer than the TUN device's queue holds (500), so that
	// none is lost however late the line reads (under the race detector
	// it is slow).
	const n, nAcks = 2000, 400
	data, acks := make([]uint32, n), make([]uint32, nAcks)
	for i := range data {
		data[i] = uint32(i)
	}
	for i := range acks {
		acks[i] = uint32(i)
	}
	data[1000] = 500
	p.tapStats() // from here
	sendAll(t, p, p.Sender, toSink, utpData, data)
	sendAll(t, p, p.Receiver, toBack, utpState, acks)
	// The tbf passes the burst in about 150 ms, the line delays the ACKs
	// 40 ms; the wait only bounds the test.
	sum := map[string]TapStats{}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		all, err := p.tapStats()
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range all {
			sum[s.Point] = addTap(sum[s.Point], s)
		}
		if sum["receiver v0"].DataIn.Packets == n && sum["sender s0"].AcksIn.Packets == nAcks {
			break
		}
	}
	wantData := ReorderStats{Packets: n, Late: 1, Episodes: 1, WorstBehind: 499 * time.Microsecond, WorstOvertaken: 499}
	wantAcks := ReorderStats{Packets: nAcks}
	for _, c := range []struct {
		point string
		got   func(TapStats) ReorderStats
		want  ReorderStats
	}{
		{"sender s0", func(s TapStats) ReorderStats { return s.DataOut }, wantData},
		{"router r0", func(s TapStats) ReorderStats { return s.DataIn }, wantData},
		{"router r1", func(s TapStats) ReorderStats { return s.DataOut }, wantData},
		{"receiver v0", func(s TapStats) ReorderStats { return s.DataIn }, wantData},
		{"receiver v0", func(s TapStats) ReorderStats { return s.AcksOut }, wantAcks},
		{"router r1", func(s TapStats) ReorderStats { return s.AcksIn }, wantAcks},
		{"delay line tun0", func(s TapStats) ReorderStats { return s.AcksOut }, wantAcks},
		{"delay line tun0", func(s TapStats) ReorderStats { return s.AcksIn }, wantAcks},
		{"router r0", func(s TapStats) ReorderStats { return s.AcksOut }, wantAcks},
		{"sender s0", func(s TapStats) ReorderStats { return s.AcksIn }, wantAcks},
	} {
		if got := c.got(sum[c.point]); got != c.want {
			t.Errorf("%s: %v, want %v", c.point, got, c.want)
		}
	}
	for _, s := range sum {
		if s.Dropped > 0 {
			t.Errorf("%s: the tap lost %d packets", s.Point, s.Dropped)
		}
	}
}

// warm sends a short datagram from namespace ns to addr until it
// arrives on to, so that every hop on the way knows the next one's
// link address.
func warm(t *testing.T, p *Path, ns string, addr *net.UDPAddr, to *net.UDPConn) {
	t.Helper()
	var c *net.UDPConn
	if err := p.In(ns, func() (err error) { c, err = net.ListenUDP("udp4", nil); return err }); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 64)
	for range 50 {
		if _, err := c.WriteToUDP([]byte("warm"), addr); err != nil {
			t.Fatal(err)
		}
		to.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if _, _, err := to.ReadFromUDP(buf); err == nil {
			return
		}
	}
	t.Fatalf("nothing sent to %v arrived in 10 s", addr)
}

// addTap sums two takes of one tap.
func addTap(a, b TapStats) TapStats {
	return TapStats{Point: b.Point, DataOut: a.DataOut.merge(b.DataOut), DataIn: a.DataIn.merge(b.DataIn),
		AcksOut: a.AcksOut.merge(b.AcksOut), AcksIn: a.AcksIn.merge(b.AcksIn), Dropped: a.Dropped + b.Dropped}
}
