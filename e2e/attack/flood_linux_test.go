package attack

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/internal/stallwatch"
	"github.com/inet256/go-utp/v2/utp"
)

var full = flag.Bool("attack.full", false,
	"run the SYN flood at full size: 200,000 SYNs from 2,000 sources in 20 s (default: a tenth, 20,000 from 200 in 2 s)")

var heapProfile = flag.String("attack.heapprofile", "",
	"write a heap profile taken at the flood's peak live heap to this file")

// floodSize is the flood's shape: syns SYNs from sources forged
// addresses, spread evenly over dur.
type floodSize struct {
	syns, sources int
	dur           time.Duration
}

// flood forges size.syns SYNs towards dst from the victims' addresses,
// round robin, at an even rate, each with a fresh connection id and
// sequence number, and returns the UDP payload bytes sent.
func flood(t *testing.T, sp *spoofer, v *victims, dst netip.AddrPort, size floodSize) int64 {
	const burst = 100 // SYNs per tick
	ticks := size.syns / burst
	tick := size.dur / time.Duration(ticks)
	var sent int64
	next := time.Now()
	for k := range ticks {
		for j := range burst {
			i := k*burst + j
			syn := header(stSyn, uint16(i*7919), uint16(i), 0, 0)
			if err := sp.send(v.addrs[i%len(v.addrs)], dst, syn); err != nil {
				t.Errorf("forging SYN %d: %v", i, err)
				return sent
			}
			sent += int64(len(syn))
		}
		next = next.Add(tick)
		time.Sleep(time.Until(next))
	}
	return sent
}

// heapInUse is the live heap: the bytes of objects that survive two
// collections (the second empties what sync.Pools kept in their victim
// caches through the first, packet buffers mostly).
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// A SYN flood from forged sources over real loopback: Accept returns
// none of the forged connections, the Socket's heap grows by at most
// 32 MiB, every legitimate dial during the flood succeeds, no forged
// source receives more than 3 times the bytes it sent, and a legitimate
// bulk transfer goes on (its rate during the flood against before it is
// logged, not asserted: the machine's speed is not the test's to judge).
func TestSYNFloodSpoofed(t *testing.T) {
	size := floodSize{syns: 20_000, sources: 200, dur: 2 * time.Second}
	if testing.Short() { // still several times the unproven limit
		size = floodSize{syns: 5_000, sources: 100, dur: time.Second}
	}
	if *full {
		size = floodSize{syns: 200_000, sources: 2_000, dur: 20 * time.Second}
	}
	sp := newSpoofer(t)
	v := newVictims(t, size.sources)
	server, err := utp.Listen("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	client, err := utp.Listen("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	saddr := server.Addr().(*net.UDPAddr).AddrPort()

	var forged atomic.Int64
	var served sync.WaitGroup
	sink := make(chan net.Conn, 1)
	served.Add(1)
	go func() { // the server: the first connection is the bulk transfer's, the rest echo a byte
		defer served.Done()
		first := true
		for {
			c, err := server.Accept()
			if err != nil {
				return
			}
			if c.RemoteAddr().(*net.UDPAddr).AddrPort().Addr() != netip.MustParseAddr("127.0.0.1") {
				forged.Add(1)
				c.Close()
				continue
			}
			if first {
				first = false
				sink <- c
				continue
			}
			served.Add(1)
			go func() {
				defer served.Done()
				defer c.Close()
				b := make([]byte, 1)
				if _, err := io.ReadFull(c, b); err == nil {
					c.Write(b)
				}
			}()
		}
	}()

	// The whole test's bound: generous, as each wait below is bounded by
	// progress (stallwatch) rather than by the machine's speed.
	ctx, cancel := context.WithTimeout(context.Background(), size.dur+5*time.Minute)
	defer cancel()
	// The sockets' progress: every packet either of them handled.
	handled := func() uint64 { return server.Stats().PacketsIn + client.Stats().PacketsIn }
	bulk, err := client.DialContext(ctx, server.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer bulk.Close()
	if _, err := bulk.Write([]byte{0}); err != nil { // proves our address
		t.Fatal(err)
	}
	recv := <-sink
	defer recv.Close()
	var received atomic.Int64
	served.Add(1)
	go func() {
		defer served.Done()
		buf := make([]byte, 1<<16)
		for {
			n, err := recv.Read(buf)
			received.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()
	stopBulk := make(chan struct{})
	served.Add(1)
	go func() {
		defer served.Done()
		chunk := make([]byte, 1<<16)
		for {
			select {
			case <-stopBulk:
				return
			default:
			}
			bulk.SetWriteDeadline(time.Now().Add(time.Second))
			if _, err := bulk.Write(chunk); err != nil && !isTimeout(err) {
				return
			}
		}
	}()

	rate := func(d time.Duration) float64 {
		before := received.Load()
		time.Sleep(d)
		return float64(received.Load()-before) / d.Seconds()
	}
	baseRate := rate(time.Second)
	baseHeap := heapInUse()

	var peakHeap atomic.Uint64
	var peakProfile bytes.Buffer
	flooding := make(chan struct{})
	var sent int64
	go func() {
		defer close(flooding)
		sent = flood(t, sp, v, saddr, size)
	}()
	dialErrs := make(chan error, 1000)
	var dials int
	var floodRate float64
	samples := 0
loop:
	for {
		select {
		case <-flooding:
			break loop
		default:
		}
		// A legitimate dial and echo, and a heap sample, every 200 ms.
		// Its SYN queues behind the flood (and the bulk transfer) in the
		// server's 8 MiB kernel receive buffer, which a loaded machine
		// drains slowly: the dial and echo may take as long as that takes,
		// but fail once neither socket has handled a packet for 10 s.
		dials++
		// A failure says when the dial connected and when it failed:
		// under load the server's own queue holds a dialer's proof for
		// seconds, against the 10 s an unproven handshake may wait.
		dialCtx, dialCancel := stallwatch.Context(ctx, 10*time.Second, handled)
		began := time.Now()
		if c, err := client.DialContext(dialCtx, server.Addr()); err != nil {
			dialErrs <- fmt.Errorf("dial: %w after %v (%v)", err, time.Since(began).Round(time.Millisecond), context.Cause(dialCtx))
		} else {
			connected := time.Since(began).Round(time.Millisecond)
			stop := context.AfterFunc(dialCtx, func() { c.SetDeadline(time.Now()) })
			b := []byte{1}
			if _, err := c.Write(b); err != nil {
				dialErrs <- fmt.Errorf("write: %w, connected after %v, failed after %v (%v)%s", err, connected, time.Since(began).Round(time.Millisecond), context.Cause(dialCtx), echoState(c, server, client))
			} else if _, err := io.ReadFull(c, b); err != nil {
				dialErrs <- fmt.Errorf("echo: %w, connected after %v, failed after %v (%v)%s", err, connected, time.Since(began).Round(time.Millisecond), context.Cause(dialCtx), echoState(c, server, client))
			}
			stop()
			c.Close()
		}
		dialCancel()
		if h := heapInUse(); h > peakHeap.Load() {
			peakHeap.Store(h)
			if *heapProfile != "" {
				peakProfile.Reset()
				pprof.Lookup("heap").WriteTo(&peakProfile, 0)
			}
		}
		floodRate += rate(200 * time.Millisecond)
		samples++
	}
	<-flooding
	close(stopBulk)
	if samples > 0 {
		floodRate /= float64(samples)
	}
	v.settle()
	st := server.Stats()
	growth := int64(peakHeap.Load()) - int64(baseHeap)
	t.Logf("flood %d SYNs from %d sources in %v: %+v", size.syns, size.sources, size.dur, st)
	t.Logf("heap %.1f MiB before, peak %.1f MiB (growth %.1f MiB); bulk %.1f MB/s before, %.1f MB/s during (%.2f×); %d legitimate dials",
		float64(baseHeap)/(1<<20), float64(peakHeap.Load())/(1<<20), float64(growth)/(1<<20),
		baseRate/1e6, floodRate/1e6, floodRate/baseRate, dials)
	t.Logf("forged sources sent %d bytes and received %d", sent, v.bytes.Load())
	t.Logf("kernel receive-buffer drops: server %d, client %d",
		socketDrops(uint16(saddr.Port())), socketDrops(uint16(client.Addr().(*net.UDPAddr).Port)))

	if *heapProfile != "" {
		if err := os.WriteFile(*heapProfile, peakProfile.Bytes(), 0o644); err != nil {
			t.Error(err)
		}
	}
	if n := forged.Load(); n != 0 {
		t.Errorf("Accept returned %d connections from forged sources", n)
	}
	if growth > 32<<20 {
		t.Errorf("the heap grew by %.1f MiB during the flood, more than 32 MiB", float64(growth)/(1<<20))
	}
	close(dialErrs)
	for err := range dialErrs {
		t.Errorf("a legitimate dial during the flood failed: %v", err)
	}
	if got := v.bytes.Load(); got > 3*sent {
		t.Errorf("forged sources received %d bytes for the %d they sent, more than 3 times", got, sent)
	}
	// At the bound a SYN either evicts the oldest unproven connection or,
	// while all are younger than a second, is answered statelessly.
	if st.SynsEvicted+st.SynsStateless == 0 {
		if raceEnabled {
			t.Logf("under the race detector the kernel dropped most of the flood: it never reached the bound")
		} else {
			t.Errorf("no unproven connection was evicted and no SYN answered statelessly, so the flood did not reach the bound: %+v", st)
		}
	}
	bulk.Close()
	recv.Close()
	server.Close()
	served.Wait()
}

// echoState describes, for a legitimate dial whose echo failed, what
// each side knew of it at that moment: the dialer's own counters (what
// it sent, retransmitted and received, the RESETs it challenged), the
// server's Socket counters (revived handshakes, unprovable packets,
// RESETs for unknown connections), and the datagrams each kernel dropped
// from a full receive buffer so far, which tell a connection the server
// lost from packets that never reached it.
func echoState(c net.Conn, server, client *utp.Socket) string {
	var dialer utp.Stats
	if uc, ok := c.(*utp.Conn); ok {
		dialer = uc.Stats()
	}
	port := func(s *utp.Socket) uint16 { return uint16(s.Addr().(*net.UDPAddr).Port) }
	return fmt.Sprintf("\n\tdialer %+v\n\tserver %+v\n\tkernel drops: server %d, client %d",
		dialer, server.Stats(), socketDrops(port(server)), socketDrops(port(client)))
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
