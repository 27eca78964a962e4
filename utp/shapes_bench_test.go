package utp

import (
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The usage shapes of the package benchmarks: programs written the way
// most users write them, beside TCP. The server accepts in a loop and
// serves each connection in a goroutine of its own (serveEach); the
// client either shares one Socket or opens a Socket per dial, closing it
// with its connection, as TCP's connect takes a fresh port. The bench
// module (just bench) measures the same shapes in fresh processes, with
// CPU and memory.

// socketConn is a connection that owns the Socket it was dialed from.
type socketConn struct {
	net.Conn
	s *Socket
}

// Close closes the connection, then its Socket.
func (c socketConn) Close() error {
	err := c.Conn.Close()
	c.s.Close()
	return err
}

// utpPerDial is utpPairs whose dial opens a Socket for each connection.
func utpPerDial(b *testing.B) (dial func() net.Conn, accept func() net.Conn, cleanup func()) {
	srv := listenUDP(b)
	return func() net.Conn {
			cli, err := Listen("udp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := cli.DialContext(ctx, srv.Addr())
			if err != nil {
				cli.Close()
				b.Fatal(err)
			}
			return socketConn{c, cli}
		}, func() net.Conn {
			c, err := srv.Accept()
			if err != nil {
				return nil
			}
			return c
		}, func() { srv.Close() }
}

// shapes are the client shapes beside TCP's, whose connect takes a fresh
// port for every dial either way.
var shapes = []struct {
	name  string
	pairs func(b *testing.B) (func() net.Conn, func() net.Conn, func())
}{{"utp-shared", utpPairs}, {"utp-socket-per-dial", utpPerDial}, {"tcp", tcpPairs}}

// BenchmarkSetupShapes measures dial + 1-byte echo + close, one at a
// time, from one shared Socket and from a Socket per dial (whose creation
// and Close are then part of each setup).
func BenchmarkSetupShapes(b *testing.B) {
	for _, sh := range shapes {
		b.Run(sh.name, func(b *testing.B) { benchSetup(b, sh.pairs) })
	}
}

// BenchmarkConnsShapes moves 2 MiB on each of 64 connections at once,
// dialed from one shared Socket or from a Socket each, to a server that
// accepts in a loop; MB/s is the aggregate. Every connection must deliver
// all its bytes.
func BenchmarkConnsShapes(b *testing.B) {
	const conns, per = 64, 2 << 20
	for _, sh := range shapes {
		b.Run(sh.name, func(b *testing.B) {
			dial, accept, cleanup := sh.pairs(b)
			defer cleanup()
			received := make(chan int64, conns)
			go serveEach(accept, func(c net.Conn) {
				n, _ := io.Copy(io.Discard, c)
				received <- n
			})
			buf := make([]byte, per)
			b.SetBytes(conns * per)
			for range b.N {
				manyAtOnce(b, conns, per, dial, buf, received)
			}
		})
	}
}

// manyAtOnce dials n connections, then has each write buf and close its
// sending side at once; it checks that the server received per bytes on
// each.
func manyAtOnce(b *testing.B, n int, per int64, dial func() net.Conn, buf []byte, received <-chan int64) {
	cs := make([]net.Conn, n)
	for i := range cs {
		cs[i] = dial()
	}
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Go(func() {
			c.Write(buf)
			if cw, ok := c.(interface{ CloseWrite() error }); ok {
				cw.CloseWrite()
			} else if sc, ok := c.(socketConn); ok {
				sc.Conn.(*Conn).CloseWrite()
			}
			io.Copy(io.Discard, c) // until the server closes
			c.Close()
		})
	}
	for range n {
		if got := <-received; got != per {
			b.Fatalf("a connection delivered %d of %d bytes", got, per)
		}
	}
	wg.Wait()
}

// BenchmarkSocketOpenClose measures what a Socket per dial adds to each
// connection before any packet: opening a Socket on a UDP port (its
// socket options, buffers and reader goroutine) and closing it, beside a
// bare UDP socket's open and close. Allocations are reported.
func BenchmarkSocketOpenClose(b *testing.B) {
	b.Run("utp", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			s, err := Listen("udp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			s.Close()
		}
	})
	b.Run("udp", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				b.Fatal(err)
			}
			u.Close()
		}
	})
}

// BenchmarkChurn is issue 12's churn as a benchmark: 16 goroutines dial
// one peer, echo 4 KiB and close, b.N connections in all, through one
// shared client Socket, beside TCP. cpu-µs/conn is the process's CPU
// (user and system, both ends) per connection, from getrusage: the
// figure to compare, since the rate follows the machine's load.
// dgrams/conn, for uTP, is the datagrams the client Socket sent and
// received per connection (on loopback, every datagram of the exchange).
// denied-cores, on Linux, is how many cores' worth of the process's
// threads waited runnable for a CPU (threadSched): well above zero, the
// machine, not the code, decided the rate.
func BenchmarkChurn(b *testing.B) {
	for _, tr := range transports {
		b.Run(tr.name, func(b *testing.B) {
			dial, cleanup := echoServer(b, tr.pairs, 4<<10)
			defer cleanup()
			var next atomic.Int64
			var wg sync.WaitGroup
			probe := dial()
			first, _ := probe.(*Conn) // the client Socket, for its counts
			probe.Close()             // a TCP probe left open kept its handler reading
			b.ResetTimer()
			stats0 := churnDatagrams(first)
			_, waited0, _ := threadSched()
			cpu0 := processCPU(b)
			for range 16 {
				wg.Go(func() {
					msg := make([]byte, 4<<10)
					for next.Add(1) <= int64(b.N) {
						c := dial()
						c.Write(msg)
						_, err := io.ReadFull(c, msg)
						c.Close()
						if err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			cpu := processCPU(b) - cpu0
			if _, waited, ok := threadSched(); ok {
				b.ReportMetric((waited-waited0).Seconds()/b.Elapsed().Seconds(), "denied-cores")
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "conns/s")
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/conn")
			if first != nil {
				b.ReportMetric(float64(churnDatagrams(first)-stats0)/float64(b.N), "dgrams/conn")
			}
		})
	}
}

// churnDatagrams is the datagrams c's Socket has sent and received, 0
// for no Conn.
func churnDatagrams(c *Conn) uint64 {
	if c == nil {
		return 0
	}
	st := c.s.Stats()
	return st.PacketsOut + st.PacketsIn
}
