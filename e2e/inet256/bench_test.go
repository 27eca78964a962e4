package inet256e2e

import (
	"context"
	"flag"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inet256/inet256/pkg/inet256"

	"github.com/inet256/go-utp/v2/inet256adapter"
)

// uTP's header: a full data packet is this much longer than its payload.
const utpHeader = 20

// benchWindow is the window of the benchmark's connections, to compare
// the default with others: 68 packets is the utp package's default 4 MiB
// send buffer, that is no bound below the congestion window.
var benchWindow = flag.Int("window", inet256adapter.DefaultWindow, "packets a connection keeps unacknowledged in BenchmarkGoodput")

// BenchmarkGoodput measures, on each topology, uTP's goodput from one node
// to the other and, beside it, the message rate of an ideal window-of-8
// sender over the same daemons with messages as long as uTP's full
// packets. It reports both and uTP's share of the raw rate:
//
//	go test ./e2e/inet256 -run '^$' -bench Goodput -benchtime 32x [-window 68]
//
// The raw sender keeps 8 messages outstanding (the daemons queue about 8)
// and counts what arrives; it runs on a second pair of nodes on the same
// daemons, before and after the uTP transfer. Keep runs short (32 × 4 MiB
// is about 8 s through two daemons): under sustained saturating load the
// daemons sometimes stop carrying a node's traffic after 20 to 30 s
// (docs/inet256.md), which fails the run.
func BenchmarkGoodput(b *testing.B) {
	for _, tp := range topologies {
		b.Run(tp.name, func(b *testing.B) {
			top := tp.make(b)
			// The Sockets come first, so that the first nodes are drained.
			sa, sb := top.sockets(b, inet256adapter.WithWindow(*benchWindow))
			client, server := dialPair(b, sa, sb, time.Hour)
			raw := newRawLink(b, top.openPair(testContext(b, readyTimeout), b), inet256adapter.DefaultPacketSize+utpHeader)
			rawBefore := raw.rate(8, rawTime)

			const chunk = 4 << 20
			buf := make([]byte, chunk)
			b.SetBytes(chunk)
			b.ResetTimer()
			start := time.Now()
			go func() {
				// The server reads each chunk and acknowledges it with a byte,
				// so that each op ends when its data has arrived.
				rbuf := make([]byte, chunk)
				for {
					if _, err := io.ReadFull(server, rbuf); err != nil {
						return
					}
					if _, err := server.Write([]byte{1}); err != nil {
						return
					}
				}
			}()
			ack := make([]byte, 1)
			for range b.N {
				if _, err := client.Write(buf); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(client, ack); err != nil {
					b.Fatal(err)
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			// The raw rate is measured before and after, so that a change in
			// the machine's load during the run shows in both figures.
			rawRate := (rawBefore + raw.rate(8, rawTime)) / 2
			goodput := float64(b.N) * chunk / elapsed.Seconds()
			packets := goodput / inet256adapter.DefaultPacketSize
			b.ReportMetric(goodput/1e6, "utp-MB/s")
			b.ReportMetric(packets, "utp-pkt/s")
			b.ReportMetric(rawRate, "raw-msg/s")
			b.ReportMetric(rawRate*inet256adapter.DefaultPacketSize/1e6, "raw-MB/s")
			b.ReportMetric(100*packets/rawRate, "%-of-raw")
			st := client.Stats()
			b.Logf("%s: %d packets, %d retransmitted (%d fast), %d timeouts, RTT %v, window %d",
				top.name, st.PacketsSent, st.Retransmits, st.FastRetransmits, st.Timeouts, st.RTT, st.Window)
			b.Logf("adapter: sender %+v; receiver %+v", top.pcs[0].Stats(), top.pcs[1].Stats())
		})
	}
}

// rawTime is how long each measurement of the raw rate lasts.
const rawTime = 3 * time.Second

// rawLink measures the raw message rate between two nodes. Both nodes are
// drained from the start until the test ends, measuring or not: a node
// whose client stops reading stalls its daemon for every node (mesh256
// hands messages on through blocking hubs), which once froze a whole
// benchmark run here.
type rawLink struct {
	src, dst  inet256.Node
	size      int
	delivered atomic.Int64  // full-size messages that reached dst
	acks      chan struct{} // one per acknowledgement src received
}

// newRawLink starts draining pair, for messages of size bytes.
func newRawLink(t testing.TB, pair [2]inet256.Node, size int) *rawLink {
	l := &rawLink{src: pair[0], dst: pair[1], size: size, acks: make(chan struct{}, 64)}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // dst acknowledges every full-size message with one byte
		defer wg.Done()
		for ctx.Err() == nil {
			l.dst.Receive(ctx, func(m inet256.Message) {
				if len(m.Payload) == l.size {
					l.delivered.Add(1)
					l.dst.Send(ctx, l.src.LocalAddr(), []byte{1})
				}
			})
		}
	}()
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			l.src.Receive(ctx, func(m inet256.Message) {
				if len(m.Payload) == 1 {
					select {
					case l.acks <- struct{}{}:
					default:
					}
				}
			})
		}
	}()
	// Receive on a daemon-backed node ignores Close: only ctx ends these.
	t.Cleanup(func() { cancel(); wg.Wait() })
	return l
}

// rate measures, for d, how many messages per second an ideal window-of-w
// sender delivers: it keeps w messages outstanding and refills the window
// if no acknowledgement comes for 200 ms (the daemons dropped some).
func (l *rawLink) rate(w int, d time.Duration) float64 {
	for len(l.acks) > 0 {
		<-l.acks // late ones from an earlier measurement
	}
	msg := make([]byte, l.size)
	ctx := context.Background()
	start := time.Now()
	first := l.delivered.Load()
	inflight := 0
	for time.Since(start) < d {
		for ; inflight < w; inflight++ {
			l.src.Send(ctx, l.dst.LocalAddr(), msg)
		}
		select {
		case <-l.acks:
			inflight--
		case <-time.After(200 * time.Millisecond):
			inflight = 0
		}
	}
	return float64(l.delivered.Load()-first) / time.Since(start).Seconds()
}
