package utp

import (
	"context"
	"io"
	"net"
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
