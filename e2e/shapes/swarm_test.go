//go:build linux

package shapes

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/e2e/realpath"
)

// A BitTorrent-like peer: one Socket carries swarmConns connections to
// another peer's one Socket, half dialed by each side, through a
// 10 Mbit/s bottleneck with a 40 ms round trip. On every connection the
// downloader (in the receiver's namespace) keeps swarmPipeline requests
// of swarmBlock bytes outstanding, and the uploader answers each with the
// block, so small requests go one way and blocks the other, on all
// connections at once. Every block's bytes are checked, no connection
// may go longer than swarmStall without a block after the warm-up, and
// the connections share the bottleneck fairly.
const (
	swarmConns    = 30
	swarmPipeline = 4
	swarmBlock    = 16 << 10
	swarmRun      = 20 * time.Second
	swarmWarmup   = 5 * time.Second
	// swarmStall bounds a connection's longest wait for a block: about
	// twelve times a block's time at a fair share (16 KiB at 10 Mbit/s /
	// 30 is 0.4 s). Measured: up to 2.8 s for uTP, 1.85 s for TCP
	// (cubic) on the same path.
	swarmStall = 5 * time.Second
)

func TestSwarmShape(t *testing.T) {
	p := newPath(t, realpath.Config{Rate: 10e6, Buffer: 100 * time.Millisecond, RTT: 40 * time.Millisecond,
		Prefix: "audit"})
	runSwarm(t, p, ours)
}

// runSwarm runs the swarm shape with tr on p.
func runSwarm(t *testing.T, p *realpath.Path, tr realpath.Transport) {
	up, down := openSwarmEndpoints(t, p, tr)
	upAddr := &net.UDPAddr{IP: net.IPv4(10, 78, 1, 1), Port: addrPort(up.Addr())}
	downAddr := &net.UDPAddr{IP: p.ReceiverAddr.AsSlice(), Port: addrPort(down.Addr())}

	ctx, cancel := context.WithTimeout(t.Context(), swarmRun+30*time.Second)
	defer cancel()
	start := time.Now()
	stats := make([]*swarmStats, swarmConns)
	var wg sync.WaitGroup
	var errs swarmErrors
	// Connections the uploader dials: it sends the connection's index
	// first; the downloader accepts and learns it.
	for i := range swarmConns {
		stats[i] = &swarmStats{}
	}
	wg.Go(func() { acceptAll(up, swarmConns/2, func(c net.Conn) { errs.add(serveBlocks(c)) }) })
	wg.Go(func() {
		acceptAll(down, swarmConns/2, func(c net.Conn) {
			var id [4]byte
			if _, err := io.ReadFull(c, id[:]); err != nil {
				errs.add(err)
				return
			}
			i := int(binary.BigEndian.Uint32(id[:]))
			errs.add(download(ctx, c, i, stats[i], start))
		})
	})
	for i := range swarmConns {
		wg.Go(func() {
			if i%2 == 0 { // the downloader dials
				c, err := dialIn(p, p.Receiver, ctx, down, upAddr)
				if err != nil {
					errs.add(fmt.Errorf("connection %d: dial: %w", i, err))
					return
				}
				errs.add(download(ctx, c, i, stats[i], start))
				return
			}
			c, err := dialIn(p, p.Sender, ctx, up, downAddr)
			if err != nil {
				errs.add(fmt.Errorf("connection %d: dial: %w", i, err))
				return
			}
			var id [4]byte
			binary.BigEndian.PutUint32(id[:], uint32(i))
			if _, err := c.Write(id[:]); err != nil {
				errs.add(err)
				return
			}
			errs.add(serveBlocks(c))
		})
	}
	// The heap's growth over what earlier tests left: both peers run
	// in this process.
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapInuse, ms.HeapInuse
	for time.Since(start) < swarmRun {
		time.Sleep(250 * time.Millisecond)
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
	}
	errs.end()
	cancel()
	up.Close()
	down.Close()
	wg.Wait()
	for _, err := range errs.errs {
		t.Error(err)
	}
	if u, ok := up.(socketStats); ok {
		us := u.Stats()
		t.Logf("uploader: %d packets out, %d retransmits, %d timeouts", us.PacketsOut, us.Retransmits, us.Timeouts)
	}
	reportSwarm(t, stats, peak-base)
}

// openSwarmEndpoints opens the uploader's endpoint in the sender's
// namespace and the downloader's in the receiver's.
func openSwarmEndpoints(t *testing.T, p *realpath.Path, tr realpath.Transport) (up, down realpath.Endpoint) {
	t.Helper()
	for _, e := range []struct {
		ns string
		ep *realpath.Endpoint
	}{{p.Sender, &up}, {p.Receiver, &down}} {
		if err := p.In(e.ns, func() (err error) {
			*e.ep, err = tr.Open("0.0.0.0:0")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { (*e.ep).Close() })
	}
	return up, down
}

// dialIn dials from e inside namespace ns: a TCP dial makes its socket
// where it runs.
func dialIn(p *realpath.Path, ns string, ctx context.Context, e realpath.Endpoint, to net.Addr) (c net.Conn, err error) {
	err = p.In(ns, func() (err error) {
		c, err = e.Dial(ctx, to)
		return err
	})
	return c, err
}

// addrPort is the port of a UDP or TCP address.
func addrPort(a net.Addr) int {
	if u, ok := a.(*net.UDPAddr); ok {
		return u.Port
	}
	return a.(*net.TCPAddr).Port
}

// acceptAll accepts n connections on e and serves each in its own
// goroutine, returning when all have ended.
func acceptAll(e realpath.Endpoint, n int, serve func(net.Conn)) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for range n {
		c, err := e.Accept()
		if err != nil {
			return
		}
		wg.Go(func() {
			defer c.Close()
			serve(c)
		})
	}
}

// serveBlocks answers each 8-byte request (connection, block index) on c
// with the block, until c fails.
func serveBlocks(c net.Conn) error {
	defer c.Close()
	req := make([]byte, 8)
	block := make([]byte, swarmBlock)
	for {
		if _, err := io.ReadFull(c, req); err != nil {
			return err
		}
		fillBlock(block, binary.BigEndian.Uint32(req), binary.BigEndian.Uint32(req[4:]))
		if _, err := c.Write(block); err != nil {
			return err
		}
	}
}

// fillBlock fills b with the bytes of block idx of connection conn.
func fillBlock(b []byte, conn, idx uint32) {
	x := conn*2654435761 ^ idx*40503 ^ 0x9e3779b9
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
}

// swarmStats is what one connection's downloader saw: when each block
// arrived, relative to the run's start.
type swarmStats struct {
	mu       sync.Mutex
	arrivals []time.Duration
}

func (s *swarmStats) add(d time.Duration) {
	s.mu.Lock()
	s.arrivals = append(s.arrivals, d)
	s.mu.Unlock()
}

// swarmErrors collects the connections' errors until the run ends;
// after, only corrupt blocks count (the rest is the shutdown's).
type swarmErrors struct {
	mu    sync.Mutex
	ended bool
	errs  []error
}

func (l *swarmErrors) add(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil && (!l.ended || errors.Is(err, errCorrupt)) {
		l.errs = append(l.errs, err)
	}
}

func (l *swarmErrors) end() {
	l.mu.Lock()
	l.ended = true
	l.mu.Unlock()
}

// errCorrupt: a block's bytes differ from what was sent.
var errCorrupt = errors.New("block differs")

// download keeps swarmPipeline requests outstanding on c and checks every
// block, until the context ends or c fails.
func download(ctx context.Context, c net.Conn, conn int, st *swarmStats, start time.Time) error {
	defer c.Close()
	go func() {
		<-ctx.Done()
		c.Close()
	}()
	errc := make(chan error, 1)
	credit := make(chan struct{}, swarmPipeline)
	for range swarmPipeline {
		credit <- struct{}{}
	}
	go func() { // the requester
		req := make([]byte, 8)
		for idx := uint32(0); ; idx++ {
			select {
			case <-credit:
			case <-ctx.Done():
				return
			}
			binary.BigEndian.PutUint32(req, uint32(conn))
			binary.BigEndian.PutUint32(req[4:], idx)
			if _, err := c.Write(req); err != nil {
				errc <- err
				return
			}
		}
	}()
	got, want := make([]byte, swarmBlock), make([]byte, swarmBlock)
	for idx := uint32(0); ; idx++ {
		if _, err := io.ReadFull(c, got); err != nil {
			select {
			case werr := <-errc:
				return errors.Join(err, werr)
			default:
				return err
			}
		}
		fillBlock(want, uint32(conn), idx)
		if !slices.Equal(got, want) {
			return fmt.Errorf("connection %d: block %d: %w", conn, idx, errCorrupt)
		}
		st.add(time.Since(start))
		credit <- struct{}{}
	}
}

// reportSwarm logs each connection's rate and longest gap after the
// warm-up, and fails the test on a stall or an unfair share (not under
// the race detector, which slows our stack several times over).
func reportSwarm(t *testing.T, stats []*swarmStats, heapGrowth uint64) {
	t.Helper()
	rates := make([]float64, len(stats))
	var worstGap time.Duration
	total := 0.0
	for i, st := range stats {
		st.mu.Lock()
		arr := slices.Clone(st.arrivals)
		st.mu.Unlock()
		n, last := 0, time.Duration(swarmWarmup)
		gap, gapEnd := time.Duration(0), time.Duration(0)
		for _, a := range arr {
			if a < swarmWarmup || a > swarmRun {
				continue
			}
			n++
			if a-last > gap {
				gap, gapEnd = a-last, a
			}
			last = a
		}
		gap = max(gap, swarmRun-last)
		rates[i] = float64(n*swarmBlock*8) / (swarmRun - swarmWarmup).Seconds()
		total += rates[i]
		worstGap = max(worstGap, gap)
		if gap > swarmStall && !raceEnabled {
			t.Errorf("connection %d: no block for %v until %v (blocks in total %d)", i, gap.Round(time.Millisecond), gapEnd.Round(time.Millisecond), len(arr))
		}
	}
	var sum, sumSq float64
	for _, r := range rates {
		sum += r
		sumSq += r * r
	}
	jain := sum * sum / (float64(len(rates)) * sumSq)
	slices.Sort(rates)
	t.Logf("%d connections, %v–%v: total %s, per connection min %s median %s max %s, Jain %.3f, longest gap %v, heap in use grew by at most %d MiB",
		len(stats), swarmWarmup, swarmRun, bitrate(total), bitrate(rates[0]), bitrate(rates[len(rates)/2]),
		bitrate(rates[len(rates)-1]), jain, worstGap.Round(time.Millisecond), heapGrowth>>20)
	// 30 connections' buffers, garbage included: a bound on growth, far
	// above the 6-7 MiB measured.
	if heapGrowth > 256<<20 {
		t.Errorf("the heap in use grew by %d MiB", heapGrowth>>20)
	}
	// Measured 0.92-0.97 for uTP and 0.96-0.97 for TCP (cubic).
	if jain < 0.85 && !raceEnabled {
		t.Errorf("Jain index %.3f over %d connections, want at least 0.85", jain, len(stats))
	}
}

// TestSwarmShapeTCP is the swarm shape over TCP (cubic), the reference
// for TestSwarmShape's figures, under the same bounds.
func TestSwarmShapeTCP(t *testing.T) {
	p := newPath(t, realpath.Config{Rate: 10e6, Buffer: 100 * time.Millisecond, RTT: 40 * time.Millisecond,
		Prefix: "audit"})
	runSwarm(t, p, realpath.TCP)
}
