package utp

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"testing/synctest"
	"time"
)

// Writes far larger than the send buffer, several at once: one lends the
// rest of its buffer (proto's PostWrite) and the others wait for room;
// the wake that ends a loan may reach another Write, which passes it on.
// Every byte of every Write arrives, each Write's bytes in order, and
// none is left blocked.
func TestSimConcurrentWritesWithLoan(t *testing.T) {
	withSmallBuffers(t, func(t *testing.T, ca, cb *Conn) {
		const writers, size = 3, 600 << 10
		done := make(chan callResult, writers)
		for w := range writers {
			p := bytes.Repeat([]byte{byte('a' + w)}, size)
			go func() {
				n, err := ca.Write(p)
				done <- callResult{n: n, err: err}
			}()
		}
		got := make(chan []byte, 1)
		go func() {
			data, _ := io.ReadAll(io.LimitReader(cb, writers*size))
			got <- data
		}()
		for range writers {
			if r := <-done; r.err != nil || r.n != size {
				t.Fatalf("Write = %d, %v; want %d", r.n, r.err, size)
			}
		}
		data := <-got
		if len(data) != writers*size {
			t.Fatalf("read %d bytes, want %d", len(data), writers*size)
		}
		for w := range writers {
			if n := bytes.Count(data, []byte{byte('a' + w)}); n != size {
				t.Fatalf("writer %d: %d bytes arrived, want %d", w, n, size)
			}
		}
	})
}

// Close ends a Write whose rest is lent: it returns at once with
// net.ErrClosed and the bytes buffered, the lent ones the buffer took
// included, and the peer receives exactly those.
func TestSimCloseEndsLentWrite(t *testing.T) {
	withSmallBuffers(t, func(t *testing.T, ca, cb *Conn) {
		p := make([]byte, 4<<20)
		for i := range p {
			p[i] = byte(i % 251)
		}
		done := inBackground(func() (int, error) { return ca.Write(p) })
		got := make(chan []byte, 1)
		go func() {
			data, _ := io.ReadAll(cb)
			got <- data
		}()
		time.Sleep(50 * time.Millisecond) // some of the loan taken, not all
		if r, ok := returned(done); ok {
			t.Fatalf("Write of 4 MiB through a 64 KiB buffer returned early: %d, %v", r.n, r.err)
		}
		ca.Close()
		r, ok := returned(done)
		if !ok {
			t.Fatal("Write still blocked after Close")
		}
		if !errors.Is(r.err, net.ErrClosed) || r.n <= 64<<10 || r.n >= len(p) {
			t.Fatalf("Write after Close = %d, %v; want part of the loan taken and net.ErrClosed", r.n, r.err)
		}
		data := <-got
		if !bytes.Equal(data, p[:r.n]) {
			t.Fatalf("the peer read %d bytes, want the %d Write reported, in order", len(data), r.n)
		}
	})
}

// withSmallBuffers runs body in a synctest bubble on a connected pair of
// simulated Sockets whose send and receive buffers are 64 KiB, so that a
// large Write blocks; both Conns are closed after body.
func withSmallBuffers(t *testing.T, body func(t *testing.T, ca, cb *Conn)) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		_, a, b := simNet(t, WithSendBuffer(64<<10), WithRecvBuffer(64<<10))
		ca, cb := dialAccept(t, a, b)
		defer cb.Close()
		defer ca.Close()
		body(t, ca, cb)
	})
}
