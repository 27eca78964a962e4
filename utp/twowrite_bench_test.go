package utp

import (
	"io"
	"math/rand/v2"
	"net"
	"testing"
)

// The shapes small writes take in Go code, beside ping-pong's one Write
// per message: a message written as a header and a body in two Writes
// and then answered, and a stream of tiny Writes nobody answers.

// twoWriteTransports are the transports BenchmarkTwoWriteExchange and
// BenchmarkSmallWrites compare: uTP at default options, uTP with
// WithNoDelay, and TCP (whose Go default is no delay).
var twoWriteTransports = []struct {
	name  string
	pairs func(b *testing.B) (func() net.Conn, func() net.Conn, func())
}{
	{"utp", utpPairs},
	{"utp-nodelay", func(b *testing.B) (func() net.Conn, func() net.Conn, func()) {
		return utpPairsWith(b, WithNoDelay(true))
	}},
	{"tcp", tcpPairs},
}

// BenchmarkTwoWriteExchange measures exchanges of a 10-byte header and a
// 10-byte body, each in its own Write, answered by a 5-byte header and a
// 15-byte body, each in its own Write, and reports their median and 99th
// percentile.
func BenchmarkTwoWriteExchange(b *testing.B) {
	for _, tr := range twoWriteTransports {
		b.Run(tr.name, func(b *testing.B) {
			dial, accept, cleanup := tr.pairs(b)
			defer cleanup()
			go func() {
				c := accept()
				if c == nil {
					return
				}
				defer c.Close()
				serveTwoWrites(c)
			}()
			c := dial()
			defer c.Close()
			req, resp := make([]byte, 20), make([]byte, 20)
			roundTrips(b, func() error {
				if err := twoWrites(c, req, 10); err != nil {
					return err
				}
				_, err := io.ReadFull(c, resp)
				return err
			})
		})
	}
}

// serveTwoWrites answers each 20-byte request on c with a 20-byte reply
// in two Writes (5 and 15 bytes), until c fails.
func serveTwoWrites(c net.Conn) {
	req, resp := make([]byte, 20), make([]byte, 20)
	for {
		if _, err := io.ReadFull(c, req); err != nil {
			return
		}
		if twoWrites(c, resp, 5) != nil {
			return
		}
	}
}

// twoWrites writes p as p[:head] and p[head:], in two Writes.
func twoWrites(c net.Conn, p []byte, head int) error {
	if _, err := c.Write(p[:head]); err != nil {
		return err
	}
	_, err := c.Write(p[head:])
	return err
}

// BenchmarkThreeWriteExchange is BenchmarkTwoWriteExchange with the
// request in three Writes (7, 7 and 6 bytes) while another goroutine
// waits to read the reply, as a client with a reading goroutine does.
func BenchmarkThreeWriteExchange(b *testing.B) {
	for _, tr := range twoWriteTransports {
		b.Run(tr.name, func(b *testing.B) {
			dial, accept, cleanup := tr.pairs(b)
			defer cleanup()
			go serveEach(accept, func(c net.Conn) { serveTwoWrites(c) })
			c := dial()
			defer c.Close()
			replies := readEach(c, 20)
			req := make([]byte, 20)
			roundTrips(b, func() error {
				if err := threeWrites(c, req); err != nil {
					return err
				}
				return <-replies
			})
		})
	}
}

// readEach reads size-byte replies from c in a goroutine of its own and
// sends the error of each (nil for a whole reply) on the channel it
// returns, until a read fails.
func readEach(c net.Conn, size int) <-chan error {
	replies := make(chan error, 1)
	go func() {
		for {
			_, err := io.ReadFull(c, make([]byte, size))
			replies <- err
			if err != nil {
				return
			}
		}
	}()
	return replies
}

// threeWrites writes p (at least 14 bytes) in three Writes: p[:7],
// p[7:14] and p[14:].
func threeWrites(c net.Conn, p []byte) error {
	for _, part := range [][]byte{p[:7], p[7:14], p[14:]} {
		if _, err := c.Write(part); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkWriteWaitElsewhere measures how long a message in two Writes
// (10 and 10 bytes) takes to reach the peer's handler when the writer
// then waits on a channel, not on a Read of its connection: the peer's
// handler signals the channel once it has the whole message.
func BenchmarkWriteWaitElsewhere(b *testing.B) {
	for _, tr := range twoWriteTransports {
		b.Run(tr.name, func(b *testing.B) {
			dial, accept, cleanup := tr.pairs(b)
			defer cleanup()
			got := make(chan error, 1)
			go serveEach(accept, func(c net.Conn) {
				for {
					_, err := io.ReadFull(c, make([]byte, 20))
					got <- err
					if err != nil {
						return
					}
				}
			})
			c := dial()
			defer c.Close()
			msg := make([]byte, 20)
			roundTrips(b, func() error {
				if err := twoWrites(c, msg, 10); err != nil {
					return err
				}
				return <-got
			})
		})
	}
}

// BenchmarkSmallWrites measures a one-way stream of 4 MiB written in
// Writes of 1 to 64 bytes (b.SetBytes: MB/s is the rate), and reports
// the datagrams uTP sent for it.
func BenchmarkSmallWrites(b *testing.B) {
	const total = 4 << 20
	for _, tr := range twoWriteTransports {
		b.Run(tr.name, func(b *testing.B) {
			dial, accept, cleanup := tr.pairs(b)
			defer cleanup()
			done := make(chan int64, 1)
			go func() {
				c := accept()
				if c == nil {
					done <- 0
					return
				}
				defer c.Close()
				n, _ := io.Copy(io.Discard, c)
				done <- n
			}()
			c := dial()
			uc, _ := c.(*Conn)
			var out0 uint64
			if uc != nil {
				out0 = uc.s.Stats().PacketsOut
			}
			buf := make([]byte, 64)
			rng := rand.New(rand.NewPCG(1, 2))
			b.SetBytes(total)
			b.ResetTimer()
			for range b.N {
				for sent := 0; sent < total; {
					n := min(1+rng.IntN(64), total-sent)
					if _, err := c.Write(buf[:n]); err != nil {
						b.Fatal(err)
					}
					sent += n
				}
			}
			c.(interface{ CloseWrite() error }).CloseWrite()
			if got := <-done; got != int64(b.N)*total {
				b.Fatalf("received %d bytes, want %d", got, int64(b.N)*total)
			}
			b.StopTimer()
			if uc != nil {
				b.ReportMetric(float64(uc.s.Stats().PacketsOut-out0)/float64(b.N), "dgrams/op")
			}
			c.Close()
		})
	}
}
