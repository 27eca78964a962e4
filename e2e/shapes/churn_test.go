//go:build linux

package shapes

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp"

	"github.com/inet256/go-utp/v2/e2e/realpath"
)

// Thousands of short connections from many Sockets at once, while one
// bulk transfer runs to the same server Socket, through 10 Mbit/s and
// 40 ms: every short exchange completes with the right bytes, and the
// bulk transfer keeps moving.
func TestShortConnsBesideBulk(t *testing.T) {
	const (
		sockets  = 20
		perSock  = 100
		msgSize  = 1000
		bulkStep = 64 << 10
	)
	p := newPath(t, realpath.Config{Rate: 10e6, Buffer: 100 * time.Millisecond, RTT: 40 * time.Millisecond,
		Prefix: "audit"})
	var server *utp.Socket
	if err := p.In(p.Receiver, func() (err error) {
		server, err = utp.Listen("udp4", "0.0.0.0:0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	to := &net.UDPAddr{IP: p.ReceiverAddr.AsSlice(), Port: server.Addr().(*net.UDPAddr).Port}
	bulkRead := make(chan int64, 1)
	var served sync.WaitGroup
	go func() {
		first := true
		for {
			c, err := server.AcceptUTP()
			if err != nil {
				return
			}
			if first { // the bulk transfer's
				first = false
				go func() {
					defer c.Close()
					n, _ := io.Copy(io.Discard, c)
					bulkRead <- n
				}()
				continue
			}
			served.Go(func() {
				defer c.Close()
				io.Copy(c, c)
			})
		}
	}()
	socks := make([]*utp.Socket, sockets+1)
	for i := range socks {
		if err := p.In(p.Sender, func() (err error) {
			socks[i], err = utp.Listen("udp4", "0.0.0.0:0")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		defer socks[i].Close()
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	bulk, err := socks[sockets].DialUTP(ctx, to)
	if err != nil {
		t.Fatal(err)
	}
	var bulkSent atomic.Int64
	bulkDone := make(chan struct{})
	go func() {
		defer close(bulkDone)
		buf := make([]byte, bulkStep)
		for ctx.Err() == nil {
			n, err := bulk.Write(buf)
			bulkSent.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()
	time.Sleep(2 * time.Second) // the bulk transfer fills the path

	start := time.Now()
	var mu sync.Mutex
	var times []time.Duration
	var failures []error
	var wg sync.WaitGroup
	for i := range sockets {
		wg.Go(func() {
			for j := range perSock {
				t0 := time.Now()
				err := shortExchange(ctx, socks[i], to, msgSize, byte(i*perSock+j))
				mu.Lock()
				if err != nil {
					failures = append(failures, fmt.Errorf("socket %d exchange %d: %w", i, j, err))
				} else {
					times = append(times, time.Since(t0))
				}
				mu.Unlock()
			}
		})
	}
	// The bulk transfer's progress, sampled while the short connections run.
	var worst time.Duration
	last, lastAt := bulkSent.Load(), time.Now()
	stop := make(chan struct{})
	go func() { wg.Wait(); close(stop) }()
	for waiting := true; waiting; {
		select {
		case <-stop:
			waiting = false
		case <-time.After(100 * time.Millisecond):
		}
		if n := bulkSent.Load(); n != last {
			last, lastAt = n, time.Now()
		}
		worst = max(worst, time.Since(lastAt))
	}
	elapsed := time.Since(start)
	bulk.CloseWrite()
	cancel()
	<-bulkDone
	bulk.Close()
	for _, err := range failures[:min(len(failures), 10)] {
		t.Error(err)
	}
	if len(failures) > 0 {
		t.Errorf("%d of %d short exchanges failed", len(failures), sockets*perSock)
	}
	slices.Sort(times)
	if len(times) > 0 {
		t.Logf("%d short exchanges from %d Sockets in %v: p50 %v, p99 %v, max %v; bulk transfer wrote %d MB, longest time without progress %v",
			len(times), sockets, elapsed.Round(time.Millisecond), realpath.Quantile(times, 0.5).Round(time.Millisecond),
			realpath.Quantile(times, 0.99).Round(time.Millisecond), times[len(times)-1].Round(time.Millisecond), last>>20, worst.Round(time.Millisecond))
	}
	if worst > 10*time.Second {
		t.Errorf("the bulk transfer made no progress for %v", worst)
	}
}

// shortExchange dials to from s, writes n bytes of v, reads them back and
// closes.
func shortExchange(ctx context.Context, s *utp.Socket, to net.Addr, n int, v byte) error {
	c, err := s.DialUTP(ctx, to)
	if err != nil {
		return err
	}
	defer c.Close()
	msg := bytes.Repeat([]byte{v}, n)
	if _, err := c.Write(msg); err != nil {
		return err
	}
	got := make([]byte, n)
	if _, err := io.ReadFull(c, got); err != nil {
		return err
	}
	if !bytes.Equal(got, msg) {
		return fmt.Errorf("echo differs")
	}
	return nil
}
