package utp

import (
	"context"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkBulk measures one connection's throughput over UDP loopback
// (b.SetBytes: MB/s is the transfer rate), beside TCP on the same machine.
func BenchmarkBulk(b *testing.B) {
	b.Run("utp", func(b *testing.B) {
		a, s := listenUDP(b), listenUDP(b)
		benchBulk(b, func() (net.Conn, net.Conn) {
			ca, cb := dialAcceptB(b, a, s)
			return ca, cb
		})
	})
	b.Run("tcp", func(b *testing.B) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		benchBulk(b, func() (net.Conn, net.Conn) {
			got := make(chan net.Conn, 1)
			go func() { c, _ := l.Accept(); got <- c }()
			c, err := net.Dial("tcp", l.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			return c, <-got
		})
	})
}

// BenchmarkBulkServer is BenchmarkBulk toward a server that keeps an
// Accept pending while it reads, where the reading connection's Reads
// may lead its Socket's reads as a client's do.
func BenchmarkBulkServer(b *testing.B) {
	for _, tr := range transports {
		b.Run(tr.name, func(b *testing.B) {
			dial, accept, cleanup := tr.pairs(b)
			defer cleanup()
			served, finished := make(chan net.Conn, 1), make(chan struct{})
			defer close(finished)
			go serveEach(accept, func(c net.Conn) {
				served <- c
				<-finished
			})
			benchBulk(b, func() (net.Conn, net.Conn) {
				c := dial()
				return c, <-served
			})
		})
	}
}

func dialAcceptB(b testing.TB, a, s *Socket) (*Conn, *Conn) {
	got := make(chan *Conn, 1)
	go func() { c, _ := s.AcceptUTP(); got <- c }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := a.DialUTP(ctx, s.Addr())
	if err != nil {
		b.Fatal(err)
	}
	return c, <-got
}

const bulkChunk = 1 << 20

func benchBulk(b *testing.B, connect func() (net.Conn, net.Conn)) {
	src, dst := connect()
	defer src.Close()
	defer dst.Close()
	buf := make([]byte, bulkChunk)
	done := make(chan int64)
	go func() {
		n, _ := io.Copy(io.Discard, dst)
		done <- n
	}()
	b.SetBytes(bulkChunk)
	b.ResetTimer()
	for range b.N {
		if _, err := src.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	if cw, ok := src.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	if n := <-done; n != int64(b.N)*bulkChunk {
		b.Fatalf("received %d of %d bytes", n, int64(b.N)*bulkChunk)
	}
}

func utpPairs(b *testing.B) (dial func() net.Conn, accept func() net.Conn, cleanup func()) {
	return utpPairsWith(b)
}

// utpPairsWith is utpPairs with options for both Sockets.
func utpPairsWith(b *testing.B, opts ...SocketOption) (dial func() net.Conn, accept func() net.Conn, cleanup func()) {
	srv, cli := listenUDP(b, opts...), listenUDP(b, opts...)
	return func() net.Conn {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := cli.DialContext(ctx, srv.Addr())
			if err != nil {
				b.Fatal(err)
			}
			return c
		}, func() net.Conn {
			c, err := srv.Accept()
			if err != nil {
				return nil
			}
			return c
		}, func() { srv.Close(); cli.Close() }
}

func tcpPairs(b *testing.B) (dial func() net.Conn, accept func() net.Conn, cleanup func()) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	return func() net.Conn {
			c, err := net.Dial("tcp", l.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			return c
		}, func() net.Conn {
			c, err := l.Accept()
			if err != nil {
				return nil
			}
			return c
		}, func() { l.Close() }
}

var transports = []struct {
	name  string
	pairs func(b *testing.B) (func() net.Conn, func() net.Conn, func())
}{{"utp", utpPairs}, {"tcp", tcpPairs}}

// BenchmarkPingPong measures 1-byte round trips on one connection and
// reports their median and 99th percentile.
func BenchmarkPingPong(b *testing.B) {
	for _, tr := range transports {
		b.Run(tr.name, func(b *testing.B) {
			dial, accept, cleanup := tr.pairs(b)
			defer cleanup()
			go func() {
				c := accept()
				defer c.Close()
				io.Copy(c, c)
			}()
			c := dial()
			defer c.Close()
			pingPong(b, c)
		})
	}
}

// pingPong makes b.N 1-byte round trips on c to an echo server and
// reports their median and 99th percentile.
func pingPong(b *testing.B, c net.Conn) {
	one := []byte{1}
	roundTrips(b, func() error {
		if _, err := c.Write(one); err != nil {
			return err
		}
		_, err := io.ReadFull(c, one)
		return err
	})
}

// roundTrips times b.N runs of exchange and reports their median and
// 99th percentile.
func roundTrips(b *testing.B, exchange func() error) {
	rtts := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if err := exchange(); err != nil {
			b.Fatal(err)
		}
		rtts = append(rtts, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(rtts)
	b.ReportMetric(float64(rtts[len(rtts)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(rtts[len(rtts)*99/100].Nanoseconds())/1e3, "p99-µs")
}

// BenchmarkPingPongServer is BenchmarkPingPong against a server that
// keeps an Accept pending while it answers, as servers do.
func BenchmarkPingPongServer(b *testing.B) {
	for _, tr := range transports {
		b.Run(tr.name, func(b *testing.B) {
			dial, accept, cleanup := tr.pairs(b)
			defer cleanup()
			go serveEach(accept, func(c net.Conn) { io.Copy(c, c) })
			c := dial()
			defer c.Close()
			pingPong(b, c)
		})
	}
}

// serveEach accepts until accept fails, and serves each connection in a
// goroutine of its own, closing it after.
func serveEach(accept func() net.Conn, serve func(net.Conn)) {
	for {
		c := accept()
		if c == nil {
			return
		}
		go func() {
			defer c.Close()
			serve(c)
		}()
	}
}

// BenchmarkSetup measures dial + 1-byte echo + close, one at a time.
func BenchmarkSetup(b *testing.B) {
	for _, tr := range transports {
		b.Run(tr.name, func(b *testing.B) { benchSetup(b, tr.pairs) })
	}
}

// benchSetup dials, echoes one byte and closes, b.N times one after
// another, against a server that accepts in a loop. cpu-µs/conn is the
// process's CPU (user and system, both ends) per setup, from getrusage:
// on a loaded machine the rate follows the load more than the code.
func benchSetup(b *testing.B, pairs func(*testing.B) (func() net.Conn, func() net.Conn, func())) {
	dial, cleanup := echoServer(b, pairs, 1)
	defer cleanup()
	one := []byte{1}
	b.ResetTimer()
	cpu0 := processCPU(b)
	for range b.N {
		c := dial()
		c.Write(one)
		if _, err := io.ReadFull(c, one); err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
	cpu := processCPU(b) - cpu0
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "conns/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/conn")
}

// echoServer opens pairs and serves each connection accepted in a
// goroutine of its own: it reads size bytes, echoes them and closes. It
// returns the dialer and the cleanup.
func echoServer(b *testing.B, pairs func(*testing.B) (func() net.Conn, func() net.Conn, func()), size int) (dial func() net.Conn, cleanup func()) {
	dial, accept, cleanup := pairs(b)
	go serveEach(accept, func(c net.Conn) {
		buf := make([]byte, size)
		if _, err := io.ReadFull(c, buf); err == nil {
			c.Write(buf)
		}
	})
	return dial, cleanup
}

// BenchmarkFanout moves 8 MiB on each of 64 connections at once; MB/s is
// the aggregate. Every connection must deliver all its bytes.
func BenchmarkFanout(b *testing.B) {
	const conns, per = 64, 8 << 20
	for _, tr := range transports {
		b.Run(tr.name, func(b *testing.B) {
			dial, accept, cleanup := tr.pairs(b)
			defer cleanup()
			b.SetBytes(conns * per)
			for range b.N {
				var wg sync.WaitGroup
				received := make(chan int64, conns)
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range conns {
						c := accept()
						go func() {
							n, _ := io.Copy(io.Discard, c)
							c.Close()
							received <- n
						}()
					}
				}()
				buf := make([]byte, per)
				for range conns {
					c := dial()
					wg.Add(1)
					go func() {
						defer wg.Done()
						c.Write(buf)
						if cw, ok := c.(interface{ CloseWrite() error }); ok {
							cw.CloseWrite()
						}
						io.Copy(io.Discard, c) // until the server closes
						c.Close()
					}()
				}
				for range conns {
					if n := <-received; n != per {
						b.Fatalf("a connection delivered %d of %d bytes", n, per)
					}
				}
				wg.Wait()
			}
		})
	}
}
