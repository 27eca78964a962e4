package utp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/inet256/go-utp/v2/utp/netsim"
)

// The read lead over netsim, in virtual time: every hand-over of the
// token runs deterministically here, where before only real UDP turned
// the lead on.

// simConns returns two Sockets over netsim (simNet) and a connection
// from a to b, closed at the end of the test.
func simConns(t *testing.T) (a, b *Socket, ca, cb *Conn) {
	t.Helper()
	_, a, b = simNet(t)
	ca, cb = dialAccept(t, a, b)
	t.Cleanup(func() { ca.Close(); cb.Close() })
	return a, b, ca, cb
}

// simEcho answers every byte c reads with the same byte, until c ends.
func simEcho(c *Conn) {
	b := make([]byte, 1)
	for {
		if _, err := io.ReadFull(c, b); err != nil {
			return
		}
		if _, err := c.Write(b); err != nil {
			return
		}
	}
}

// In a ping-pong the client's Reads take the lead from the reader
// goroutine (it hands the token over when a Read wants it) and keep it,
// and the exchange is as fast as the link: each round trip takes exactly
// two link delays of virtual time.
func TestSimPingPongReadsLead(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		a, _, ca, cb := simConns(t)
		go simEcho(cb)
		b1 := make([]byte, 1)
		for i := range 50 {
			start := time.Now()
			if _, err := ca.Write([]byte{byte(i)}); err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(ca, b1); err != nil {
				t.Fatal(err)
			}
			if b1[0] != byte(i) {
				t.Fatalf("round %d: read %d", i, b1[0])
			}
			if d := time.Since(start); d != 20*time.Millisecond {
				t.Fatalf("round %d took %v, want two 10 ms link delays", i, d)
			}
		}
		if n := a.lead.leads.Load(); n < 45 {
			t.Fatalf("the client's Reads led %d times in 50 rounds; want nearly every Read after the first", n)
		}
	})
}

// secondRead starts a Read of c that waits for one byte, after one
// exchange, so that it is the connection's second wait: a first wait
// never takes the lead from the reader goroutine.
func secondRead(t *testing.T, c, peer *Conn) <-chan error {
	t.Helper()
	go peer.Write([]byte{1})
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 1))
		done <- err
	}()
	return done
}

// leadingRead starts secondRead and waits until it is reading the socket
// itself.
func leadingRead(t *testing.T, s *Socket, c, peer *Conn) <-chan error {
	t.Helper()
	done := secondRead(t, c, peer)
	synctest.Wait()
	if s.lead.reading.Load() != c {
		t.Fatal("the waiting Read is not reading the socket itself")
	}
	return done
}

// While a Read leads, an Accept and a dial on the same Socket proceed
// (the leading Read routes their packets, then passes the lead back to
// the reader goroutine, which a waiting call needs), and the Read still
// gets its data.
func TestSimLeadingReadServesAcceptAndDial(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		a, b, ca, cb := simConns(t)
		done := leadingRead(t, a, ca, cb)

		c2, s2 := dialAccept(t, b, a) // an Accept on the Socket the Read leads
		defer c2.Close()
		defer s2.Close()
		c3, s3 := dialAccept(t, a, b) // and a dial from it
		defer c3.Close()
		defer s3.Close()
		go simEcho(s2)
		if _, err := c2.Write([]byte{7}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c2, make([]byte, 1)); err != nil {
			t.Fatal(err)
		}

		if _, err := cb.Write([]byte{2}); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatalf("the leading Read: %v", err)
		}
		synctest.Wait()
		if a.lead.reading.Load() == ca {
			t.Fatal("the Read still leads after it returned")
		}
	})
}

// While a Read holds the lead for long, the reader goroutine stops its
// standby ticks; a read deadline ends the leading Read at its time.
func TestSimIdleLeadingReadStopsTicks(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		a, _, ca, cb := simConns(t)
		done := leadingRead(t, a, ca, cb)
		before := a.lead.ticks.Load()
		time.Sleep(10 * time.Second)
		if n := a.lead.ticks.Load() - before; n > 2 {
			t.Errorf("%d standby ticks in 10 s while a Read led; want the reader parked", n)
		}
		start := time.Now()
		ca.SetReadDeadline(start.Add(time.Second))
		err := <-done
		if !isDeadlineErr(err) || time.Since(start) != time.Second {
			t.Fatalf("leading Read ended with %v after %v; want a deadline error after 1s", err, time.Since(start))
		}
	})
}

// Closing the Socket ends a Read that leads it, and every goroutine the
// Socket started exits.
func TestSimCloseEndsLeadingRead(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		a, _, ca, cb := simConns(t)
		done := leadingRead(t, a, ca, cb)
		a.Close()
		if err := <-done; err == nil {
			t.Fatal("the leading Read returned no error after Socket.Close")
		}
		<-a.readerDone
	})
}

// A Read of another connection, started while one Read leads, waits on
// its channel (a second caller waiting for the network), and the data
// for both arrives.
func TestSimTwoReadsOneLeads(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		a, b, ca, cb := simConns(t)
		c2, s2 := dialAccept(t, a, b)
		defer c2.Close()
		defer s2.Close()
		done := leadingRead(t, a, ca, cb)
		done2 := secondRead(t, c2, s2)
		synctest.Wait()
		if a.lead.reading.Load() != ca {
			t.Fatal("the first Read lost the lead to the second")
		}
		s2.Write([]byte{2})
		cb.Write([]byte{3})
		if err := <-done2; err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// Over netsim a bulk transfer takes the batched paths that Linux UDP
// offers: steps send several datagrams at once (counted as segmented
// sends), and the reader gets queued datagrams of one sender in one
// coalesced read, which the connection applies in one step.
func TestSimBulkBatches(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		_, a, b := simNet(t, WithPacketSize(1200))
		ca, cb := dialAccept(t, a, b)
		defer cb.Close()
		data := make([]byte, 1<<20)
		for i := range data {
			data[i] = byte(i * 7)
		}
		go func() {
			ca.Write(data)
			ca.Close()
		}()
		got, err := io.ReadAll(cb)
		if err != nil || string(got) != string(data) {
			t.Fatalf("read %d bytes (%v), want the %d written", len(got), err, len(data))
		}
		sa, sb := a.Stats(), b.Stats()
		if sa.SegmentedSends == 0 || sb.CoalescedReads == 0 {
			t.Fatalf("segmented sends %d, coalesced reads %d: want both above 0", sa.SegmentedSends, sb.CoalescedReads)
		}
	})
}

// simServe accepts on s until it closes and serves each connection in a
// goroutine of its own, closing it after: a server as most are written,
// with an Accept pending all the time.
func simServe(s *Socket, serve func(*Conn)) {
	for {
		c, err := s.AcceptUTP()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			serve(c)
		}()
	}
}

// simEchoNet is simNet with b serving every connection it accepts as
// an echo.
func simEchoNet(t *testing.T) (*netsim.Network, *Socket, *Socket) {
	t.Helper()
	n, a, b := simNet(t)
	go simServe(b, func(c *Conn) { io.Copy(c, c) })
	return n, a, b
}

// simDial dials b from a, and fails the test if the dial fails.
func simDial(t *testing.T, a, b *Socket) *Conn {
	t.Helper()
	c, err := a.DialUTP(t.Context(), b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// simPing writes one byte on c and reads the echo, and returns how long
// that took.
func simPing(t *testing.T, c *Conn, v byte) time.Duration {
	t.Helper()
	start := time.Now()
	if _, err := c.Write([]byte{v}); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatal(err)
	}
	if b[0] != v {
		t.Fatalf("echo %d, want %d", b[0], v)
	}
	return time.Since(start)
}

// Against a server that accepts in a loop and serves each connection in
// a goroutine of its own, the server's Reads lead too, although an
// Accept is pending throughout, and every round trip takes exactly two
// link delays: none waits for a standby tick.
func TestSimPingPongAcceptingServer(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		_, a, b := simNet(t)
		go simServe(b, simEcho)
		simRounds(t, a, b, 50, 45, func(byte) time.Duration { return 0 })
	})
}

// simRounds dials b from a and makes n round trips, the i-th with byte
// 7i, each of which must take exactly two link delays and pause(byte);
// the server's Reads must then have led at least minLeads times.
func simRounds(t *testing.T, a, b *Socket, n int, minLeads int64, pause func(byte) time.Duration) {
	t.Helper()
	ca, err := a.DialUTP(t.Context(), b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close()
	for i := range n {
		v := byte(i * 7)
		if d, want := simPing(t, ca, v), 20*time.Millisecond+pause(v); d != want {
			t.Errorf("round %d took %v, want %v", i, d, want)
		}
	}
	if got := b.lead.leads.Load(); got < minLeads {
		t.Errorf("the server's Reads led %d times in %d rounds; want at least %d", got, n, minLeads)
	}
}

// A server that accepts in a loop, answering one long connection (with
// pauses before some replies longer than the standby tick, so that the
// token goes back to the reader goroutine and is asked for again) while
// short connections (dial, one echo, close) arrive from another Socket:
// the long connection's round trips take exactly the link delays plus
// the pause, and every short connection completes within its two round
// trips plus two standby ticks, the most a SYN waits when it arrives
// while no Read holds the token and only an Accept waits (lead.go).
func TestSimAcceptingServerLeadsBesideShortConns(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		n, a, b := simNet(t)
		c := NewSocket(n.Listen("c"))
		defer c.Close()
		pause := func(v byte) time.Duration { return time.Duration(v%4) * 700 * time.Microsecond }
		go simServe(b, func(c *Conn) {
			buf := make([]byte, 1)
			for {
				if _, err := io.ReadFull(c, buf); err != nil {
					return
				}
				time.Sleep(pause(buf[0]))
				if _, err := c.Write(buf); err != nil {
					return
				}
			}
		})
		short := make(chan error, 1)
		go func() {
			for j := range 20 {
				time.Sleep(time.Duration(j) * 300 * time.Microsecond)
				start := time.Now()
				cc, err := c.DialUTP(t.Context(), b.Addr())
				if err != nil {
					short <- err
					return
				}
				simPing(t, cc, 4)
				cc.Close()
				if d := time.Since(start); d < 40*time.Millisecond || d > 40*time.Millisecond+2*standbyTick {
					t.Errorf("short connection %d took %v; want 40 ms, plus at most two standby ticks", j, d)
				}
			}
			short <- nil
		}()
		simRounds(t, a, b, 60, 30, pause)
		if err := <-short; err != nil {
			t.Fatal(err)
		}
	})
}

// Short connections (dial, one echo, close) against a server that
// accepts in a loop never ask for the read lead on either side: the
// server's Reads wait twice (the request, the end) and neither asks for
// it, so its reader goroutine reads throughout and never stands by, and
// setups cost what they did before Reads led beside an Accept. On the
// client's Socket, whose token starts free, each dial and each Read
// takes the free token (costing no wakeup) and the reader goroutine
// never hands it over to one that asked.
func TestSimShortConnsNeverMoveLead(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		_, a, b := simEchoNet(t)
		for i := range 20 {
			c := simDial(t, a, b)
			simPing(t, c, byte(i))
			c.Close()
		}
		if n, d, handed := a.lead.leads.Load(), a.lead.dials.Load(), a.lead.handed.Load(); n != 20 || d != 20 || handed != 0 {
			t.Errorf("client: %d Reads and %d dials took the free token, the reader handed it over %d times; want 20, 20 and 0", n, d, handed)
		}
		if n, d, ticks := b.lead.leads.Load(), b.lead.dials.Load(), b.lead.ticks.Load(); n != 0 || d != 0 || ticks != 0 {
			t.Errorf("server: Reads led %d times (and dials %d), the reader stood by for %d ticks; want none", n, d, ticks)
		}
	})
}

// A Socket opened for one dial, as a client that opens a Socket per
// dial has it, is served by its calls alone: the dial reads the reply to
// its SYN itself, the Read its echo, and the reader goroutine, which
// starts standing by, never reads (each of its turns would cost a
// wakeup per datagram and one more for the call it wakes). The exchange
// still takes exactly the link's delays: 20 ms per round trip.
func TestSimSocketPerDialCallsRead(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		n, _, b := simEchoNet(t)
		for i := range 5 {
			a := NewSocket(n.Listen(netsim.Addr(fmt.Sprintf("client%d", i))))
			start := time.Now()
			c := simDial(t, a, b)
			if d := time.Since(start); d != 20*time.Millisecond {
				t.Errorf("dial %d took %v, want 20ms", i, d)
			}
			if d := simPing(t, c, byte(i)); d != 20*time.Millisecond {
				t.Errorf("echo %d took %v, want 20ms", i, d)
			}
			c.Close()
			a.Close()
			if turns, d, leads := a.lead.turns.Load(), a.lead.dials.Load(), a.lead.leads.Load(); turns != 0 || d != 1 || leads != 1 {
				t.Errorf("Socket %d: the reader goroutine took the lead %d times, the dial %d, Reads %d; want 0, 1, 1", i, turns, d, leads)
			}
		}
	})
}

// A dial that leads its Socket's reads (awaitDial) still ends at once
// with its context, and with its Socket's Close, although it waits in a
// read of the network and not on their channels.
func TestSimLeadingDialEnds(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		n := netsim.NewNetwork(1)
		n.SetDefaultLink(netsim.LinkConfig{Delay: 10 * time.Millisecond})
		nobody := netsim.Addr("nobody")

		a := NewSocket(n.Listen("a"))
		defer a.Close()
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(1500*time.Millisecond, cancel)
		start := time.Now()
		if _, err := a.DialUTP(ctx, nobody); !errors.Is(err, context.Canceled) || time.Since(start) != 1500*time.Millisecond {
			t.Errorf("dial cancelled at 1.5 s: %v after %v", err, time.Since(start))
		}

		b := NewSocket(n.Listen("b"))
		time.AfterFunc(1500*time.Millisecond, func() { b.Close() })
		start = time.Now()
		if _, err := b.DialUTP(context.Background(), nobody); !errors.Is(err, net.ErrClosed) || time.Since(start) != 1500*time.Millisecond {
			t.Errorf("dial on a Socket closed at 1.5 s: %v after %v", err, time.Since(start))
		}
		for _, s := range []*Socket{a, b} {
			if d := s.lead.dials.Load(); d != 1 {
				t.Errorf("%v: %d dials led, want 1", s.Addr(), d)
			}
		}
	})
}

// A Socket opened for one short exchange and closed before a standby
// tick has passed never starts its reader goroutine: its dial and its
// Read read the socket, and Close, finding the token free, gives the
// read buffer back to the pool itself. The exchange runs on a link
// without delay, so that it takes no virtual time at all.
func TestSimQuickSocketStartsNoReader(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		n := netsim.NewNetwork(1)
		n.SetDefaultLink(netsim.LinkConfig{})
		b := NewSocket(n.Listen("b"))
		defer b.Close()
		go simServe(b, func(c *Conn) { io.Copy(c, c) })
		for i := range 5 {
			start := time.Now()
			a := NewSocket(n.Listen(netsim.Addr(fmt.Sprintf("client%d", i))))
			c := simDial(t, a, b)
			simPing(t, c, byte(i))
			c.Close()
			a.Close()
			if d := time.Since(start); d != 0 {
				t.Fatalf("exchange %d took %v of virtual time, want none", i, d)
			}
			if runs := a.lead.runs.Load(); runs != 0 {
				t.Errorf("Socket %d started its reader goroutine %d times, want never", i, runs)
			}
			if a.lead.buf != nil || a.lead.in != nil {
				t.Errorf("Socket %d still holds its read buffer or inbox after Close", i)
			}
			if !isClosed(a.readerDone) {
				t.Errorf("Socket %d: readerDone open after Close", i)
			}
		}
	})
}

// A Socket that no call waits on still reads: its reader goroutine
// starts one standby tick after NewSocket, so a dial to a server that
// has not called Accept completes in its round trip, as it did when the
// reader started with the Socket.
func TestSimIdleSocketReaderStarts(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		_, a, b := simNet(t) // 10 ms each way
		start := time.Now()
		c := simDial(t, a, b)
		if d := time.Since(start); d != 20*time.Millisecond {
			t.Errorf("dial to a Socket with no Accept took %v, want 20ms", d)
		}
		c.Close()
		if runs := b.lead.runs.Load(); runs != 1 {
			t.Errorf("the server's reader goroutine started %d times, want once", runs)
		}
	})
}
