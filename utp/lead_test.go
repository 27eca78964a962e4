package utp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
)

// A Read that leads the Socket's reads still lets everything else on the
// Socket proceed: a new connection is accepted and a large write to
// another connection is acknowledged, while the Read waits.
func TestUDPLeadingReadServesOthers(t *testing.T) {
	checkLeaks(t)
	a, b := listenUDP(t), listenUDP(t)
	waiter, idle := dialAcceptB(t, a, b) // idle writes one byte: waiter's second Read waits throughout
	defer waiter.Close()
	defer idle.Close()
	readDone := make(chan error, 1)
	go func() {
		// The connection's first wait is served by the reader
		// goroutine; its second leads.
		if _, err := waiter.Read(make([]byte, 1)); err != nil {
			readDone <- err
			return
		}
		_, err := waiter.Read(make([]byte, 1))
		readDone <- err
	}()
	time.Sleep(10 * time.Millisecond)
	if _, err := idle.Write([]byte{1}); err != nil {
		t.Fatal(err)
	}
	// The second Read takes the lead once its goroutine runs: on a loaded
	// machine that can take a while, so the wait is a bound on progress.
	for limit := time.Now().Add(10 * time.Second); a.lead.reading.Load() != waiter; time.Sleep(time.Millisecond) {
		if time.Now().After(limit) {
			t.Fatal("the waiting Read is not reading the socket itself after 10 s")
		}
	}

	c2, s2 := dialAcceptB(t, b, a) // an Accept and a dial on the Socket the Read leads
	defer c2.Close()
	defer s2.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// 8 MiB from a's accepted connection: its Write needs a's reads for
	// the acknowledgements while waiter's Read leads them.
	go io.Copy(io.Discard, c2)
	s2.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := s2.Write(make([]byte, 8<<20)); err != nil {
		t.Fatalf("write while a Read leads: %v", err)
	}
	if err := s2.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if err := s2.Drain(ctx); err != nil {
		t.Fatalf("drain while a Read leads: %v", err)
	}

	// The waiting Read still ends with its deadline.
	waiter.SetReadDeadline(time.Now())
	select {
	case err := <-readDone:
		if !isDeadlineErr(err) {
			t.Fatalf("the leading Read ended with %v, want a deadline error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a deadline in the past did not end the leading Read")
	}
}

// While a Read waits for a long time, holding the lead, the reader
// goroutine stops its standby ticks: an idle connection with a pending
// Read costs no wakeups.
func TestUDPIdleReadStopsTicks(t *testing.T) {
	checkLeaks(t)
	a, b := listenUDP(t), listenUDP(t)
	c, peer := dialAcceptB(t, a, b)
	defer c.Close()
	defer peer.Close()
	// One exchange, so that a Read leads (the reader goroutine has
	// handed over and is in standby).
	go peer.Write([]byte{1})
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		c.Read(make([]byte, 1))
		close(done)
	}()
	time.Sleep(20 * time.Millisecond)
	before := a.lead.ticks.Load()
	time.Sleep(100 * time.Millisecond)
	if n := a.lead.ticks.Load() - before; n > 2 {
		t.Errorf("%d standby ticks in 100 ms while a Read waited; want the reader to stop ticking", n)
	}
	c.SetReadDeadline(time.Now())
	<-done
}

// The reader goroutine yields its P to the goroutines a read woke only
// when its socket is empty: ten DATA packets queued while the
// connection's step is held up are read and applied one after another,
// then the reader yields once. Yielding after each (runtime.Gosched puts
// the reader behind every runnable goroutine) made a churn of 16
// dialers wait on the reader for most of each connection's latency.
func TestUDPReaderYieldsOnlyWhenDrained(t *testing.T) {
	checkLeaks(t)
	s, peer := listenUDP(t), newRawPeer(t)
	c, _, _, ack, from := peer.dial(s, 7, 0)
	defer c.Close()
	const packets = 10
	total := 0
	c.mu.Lock() // the reader waits for it once it has read the first packet
	for i := range packets {
		h := ack
		h.Type, h.SeqNr = wire.Data, uint16(3+i)
		// Each a different size, so that the kernel's receive
		// offload cannot coalesce them into one read.
		payload := bytes.Repeat([]byte{'x'}, 1000+i)
		total += len(payload)
		if _, err := peer.pc.WriteTo(append(h.Append(nil), payload...), from); err != nil {
			c.mu.Unlock()
			t.Fatal(err)
		}
	}
	time.Sleep(20 * time.Millisecond) // only lets the reader reach the lock
	before := s.lead.yields.Load()
	c.mu.Unlock()

	buf := make([]byte, total)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	if y := s.lead.yields.Load() - before; y > 1 {
		t.Errorf("the reader yielded %d times while applying %d queued packets; want at most once, when the socket was empty", y, packets)
	}
}

// On UDP a new Socket's dial leads (awaitDial; the simulations check
// the same in virtual time): the dial connects and the echo goes
// through; a dial to a port that never answers still ends with its
// context, whose end wakes the dial's read. A dial leads only if it
// starts before the Socket's first standby tick (1 ms after NewSocket)
// has started the reader goroutine, which a slow machine (the race
// detector's, a loaded one) can miss: each case takes up to eight
// fresh Sockets, every attempt must work whoever reads, and one must
// have led.
func TestUDPLeadingDial(t *testing.T) {
	checkLeaks(t)
	led := false
	for i := 0; i < 8 && !led; i++ {
		led = echoOnFreshSockets(t)
	}
	if !led {
		t.Errorf("in 8 fresh Sockets the dial never led")
	}

	silent, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	led = false
	for i := 0; i < 8 && !led; i++ {
		lone := listenUDP(t)
		short, cancelShort := context.WithTimeout(context.Background(), 50*time.Millisecond)
		start := time.Now()
		_, err := lone.DialContext(short, silent.LocalAddr())
		cancelShort()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("dial to a silent port: %v, want its context's deadline", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("the dial ended %v after its context's 50 ms deadline", d)
		}
		led = lone.lead.dials.Load() == 1
		lone.Close()
	}
	if !led {
		t.Errorf("in 8 fresh Sockets the dial to a silent port never led")
	}
}

// echoOnFreshSockets dials from a new Socket to another, echoes a byte
// and closes both; it reports whether the dial led.
func echoOnFreshSockets(t *testing.T) bool {
	t.Helper()
	srv, cli := listenUDP(t), listenUDP(t)
	defer srv.Close()
	defer cli.Close()
	c, sc := dialAcceptB(t, cli, srv)
	led := cli.lead.dials.Load() == 1
	c.Write([]byte{7})
	b := make([]byte, 1)
	if _, err := io.ReadFull(sc, b); err != nil || b[0] != 7 {
		t.Fatalf("the server read %v, %v", b, err)
	}
	sc.Write(b)
	if _, err := io.ReadFull(c, b); err != nil || b[0] != 7 {
		t.Fatalf("echo: %v, %v", b, err)
	}
	c.Close()
	sc.Close()
	return led
}
