package utp

import (
	"io"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// A connection with nothing in its send buffer sends headers alone (its
// SYN, ACKs, the confirmation, its FIN), so it takes no whole-datagram
// buffer: a Socket opened for one dial allocates one only once data is
// written. Before, a dialer's SYN took one, 64.5 KiB cleared for a
// 20-byte packet on every new Socket.
func TestHeadersTakeNoWholeDatagramBuffer(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		_, a, b := simNet(t)
		var big atomic.Int32
		count := func(s *Socket) { // before a's first packet
			if s == a {
				big.Add(1)
			}
		}
		testGetBuf.Store(&count)
		defer testGetBuf.Store(nil)
		ca, cb := dialAccept(t, a, b)
		time.Sleep(time.Second) // the confirmation and every ACK
		ca.Close()
		cb.Close()
		time.Sleep(time.Second) // the FINs and their ACKs
		if n := big.Load(); n != 0 {
			t.Errorf("the dialer's Socket allocated %d whole-datagram buffers for a connection that sent no data", n)
		}
		st := a.Stats()
		if st.PacketsOut < 3 {
			t.Fatalf("the dialer sent %d packets, want its SYN, confirmation and FIN at least", st.PacketsOut)
		}
	})
}

// A closed Socket's reader goroutine gives its 64.5 KiB read buffer and
// its inbox back to the package's pools, for the next Socket (a program
// that opens a Socket per dial would otherwise allocate and clear them
// per connection): once Close returns, the Socket holds them no more. A
// connection is used first, so that the buffer has been read into.
func TestCloseReturnsReadBuffer(t *testing.T) {
	checkLeaks(t)
	a, b := listenUDP(t), listenUDP(t)
	defer b.Close()
	ca, cb := dialAcceptB(t, a, b)
	if _, err := ca.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(cb, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	ca.Close()
	cb.Close()
	a.Close()
	if a.lead.buf != nil {
		t.Fatalf("the closed Socket still holds its %d-byte read buffer", len(a.lead.buf))
	}
	if a.lead.in != nil {
		t.Fatal("the closed Socket still holds its inbox")
	}
}
