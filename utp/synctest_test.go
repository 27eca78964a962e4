package utp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/inet256/go-utp/v2/utp/internal/wire"
	"github.com/inet256/go-utp/v2/utp/netsim"
)

// simNet builds a Network with a 10 ms, lossless default link and two
// Sockets on it. Must be called inside a synctest bubble.
func simNet(t *testing.T, opts ...SocketOption) (*netsim.Network, *Socket, *Socket) {
	t.Helper()
	n := netsim.NewNetwork(1)
	n.SetDefaultLink(netsim.LinkConfig{Delay: 10 * time.Millisecond})
	a := NewSocket(n.Listen("a"), opts...)
	b := NewSocket(n.Listen("b"), opts...)
	t.Cleanup(func() { a.Close(); b.Close() })
	return n, a, b
}

// dialAccept connects a to b and returns (dialer's conn, acceptor's conn).
func dialAccept(t *testing.T, a, b *Socket) (*Conn, *Conn) {
	t.Helper()
	got := make(chan *Conn, 1)
	go func() {
		c, err := b.AcceptUTP()
		if err != nil {
			t.Error(err)
		}
		got <- c
	}()
	c, err := a.DialUTP(context.Background(), b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	return c, <-got
}

// A read deadline can be set, extended and cleared while a Read is blocked,
// and each change takes effect at once.
func TestSimDeadlinesChangeDuringRead(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		_, a, b := simNet(t)
		ca, cb := dialAccept(t, a, b)
		start := time.Now()
		ca.SetReadDeadline(start.Add(time.Second))
		done := make(chan error, 1)
		go func() {
			buf := make([]byte, 10)
			n, err := ca.Read(buf)
			if err == nil && string(buf[:n]) != "late" {
				err = errors.New("read " + string(buf[:n]))
			}
			done <- err
		}()
		time.Sleep(500 * time.Millisecond)
		ca.SetReadDeadline(start.Add(5 * time.Second)) // extend
		time.Sleep(time.Second)
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("read returned at 1.5 s after its deadline was extended to 5 s: %v", err)
		default:
		}
		ca.SetReadDeadline(time.Time{}) // clear
		time.Sleep(10 * time.Second)
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("read returned with no deadline and no data: %v", err)
		default:
		}
		cb.Write([]byte("late"))
		if err := <-done; err != nil {
			t.Fatal(err)
		}

		// A deadline that passes while blocked ends the Read with a timeout.
		ca.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, err := ca.Read(make([]byte, 1))
		var ne net.Error
		if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("read past deadline: %v", err)
		}
	})
}

// A SYN that finds the backlog full is refused; the dialer sees
// ErrConnRefused, which also matches ECONNREFUSED.
func TestSimBacklogOverflow(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		_, a, b := simNet(t, WithBacklog(2))
		for i := range 2 {
			if _, err := a.DialUTP(context.Background(), b.Addr()); err != nil {
				t.Fatalf("dial %d within the backlog: %v", i, err)
			}
		}
		// Dialers that neither write nor read confirm the handshake after
		// the delayed-ACK interval; until then a new SYN would evict
		// them, as it evicts a flood's.
		time.Sleep(50 * time.Millisecond)
		_, err := a.DialUTP(context.Background(), b.Addr())
		if !errors.Is(err, ErrConnRefused) || !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("dial beyond the backlog: %v, want ErrConnRefused", err)
		}
		if st := b.Stats(); st.SynsRefused != 1 || st.Accepted != 2 {
			t.Fatalf("stats %+v", st)
		}
	})
}

// Both close orders end cleanly: each side reads everything then EOF, and
// the connections leave both Sockets' tables.
func TestSimCloseOrders(t *testing.T) {
	checkLeaks(t)
	for _, dialerFirst := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			_, a, b := simNet(t)
			ca, cb := dialAccept(t, a, b)
			first, second := ca, cb
			if !dialerFirst {
				first, second = cb, ca
			}
			msg := make([]byte, 300<<10)
			if _, err := first.Write(msg); err != nil {
				t.Fatal(err)
			}
			if err := first.Close(); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(second)
			if err != nil || len(got) != len(msg) {
				t.Fatalf("read %d bytes, %v", len(got), err)
			}
			if err := second.Close(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Minute) // past TIME-WAIT
			if a.Stats().Conns != 0 || b.Stats().Conns != 0 {
				t.Fatalf("connections left: %d, %d", a.Stats().Conns, b.Stats().Conns)
			}
		})
	}
}

// The side that closed first stays in TIME-WAIT for 16 s (four times the
// 4 s backoff cap), retired into a record of the Socket's TIME-WAIT table
// served by the Socket's one timer, even with deadlines set (as servers
// do): the Conn has ended (cleanly, its own timer stopped) and left the
// connection table, and its Done closes when the record leaves, at
// most timeWaitSlack late.
func TestSimTimeWaitSharedTimer(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		_, a, b := simNet(t)
		ca, cb := dialAccept(t, a, b)
		ca.SetDeadline(time.Now().Add(10 * time.Second))
		ca.Close()
		if _, err := io.ReadAll(cb); err != nil {
			t.Fatal(err)
		}
		cb.Close()
		time.Sleep(time.Second)
		synctest.Wait()
		if a.Stats().Conns != 1 || b.Stats().Conns != 0 {
			t.Fatalf("after the FINs: %d and %d connections, want 1 in TIME-WAIT and 0", a.Stats().Conns, b.Stats().Conns)
		}
		ca.mu.Lock()
		own := ca.timerAt
		ca.mu.Unlock()
		a.mu.Lock()
		r, retired := a.waiting[ca.key]
		inTable := a.conns[ca.key] != nil
		a.mu.Unlock()
		if !own.IsZero() || !retired || inTable {
			t.Fatalf("in TIME-WAIT: own timer at %v, retired %v, Conn in the table %v; want only the record", own, retired, inTable)
		}
		if !isClosed(ca.closed) || ca.Err() != nil {
			t.Fatalf("the retired Conn: ended %v, Err %v; want a clean end", isClosed(ca.closed), ca.Err())
		}
		end := r.tw.End()
		time.Sleep(time.Until(end) - time.Millisecond)
		synctest.Wait()
		if a.Stats().Conns != 1 || isClosed(ca.Done()) {
			t.Fatal("left before the end of TIME-WAIT")
		}
		time.Sleep(timeWaitSlack + time.Millisecond)
		synctest.Wait()
		if a.Stats().Conns != 0 || !isClosed(ca.Done()) || ca.Err() != nil {
			t.Fatalf("after the end of TIME-WAIT: %d in the table, Done closed %v, Err %v", a.Stats().Conns, isClosed(ca.Done()), ca.Err())
		}
	})
}

// Half-close: after CloseWrite the peer reads EOF and can still answer.
func TestSimHalfClose(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		_, a, b := simNet(t)
		ca, cb := dialAccept(t, a, b)
		ca.Write([]byte("request"))
		ca.CloseWrite()
		req, err := io.ReadAll(cb)
		if err != nil || string(req) != "request" {
			t.Fatalf("server read %q, %v", req, err)
		}
		cb.Write([]byte("response"))
		cb.Close()
		resp, err := io.ReadAll(ca)
		if err != nil || string(resp) != "response" {
			t.Fatalf("client read %q, %v", resp, err)
		}
		if _, err := ca.Write([]byte("more")); err == nil {
			t.Fatal("write after CloseWrite succeeded")
		}
		ca.Close()
	})
}

// A dial to nobody ends with its context, or after the SYN retries (39 s).
func TestSimDialTimeoutAndCancel(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		_, a, _ := simNet(t)
		nobody := netsim.Addr("nobody")

		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		start := time.Now()
		_, err := a.DialUTP(ctx, nobody)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 2*time.Second {
			t.Fatalf("dial with 2 s context: %v after %v", err, time.Since(start))
		}

		ctx, cancel = context.WithCancel(context.Background())
		time.AfterFunc(time.Second, cancel)
		if _, err = a.DialUTP(ctx, nobody); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled dial: %v", err)
		}

		start = time.Now()
		_, err = a.DialUTP(context.Background(), nobody)
		if !errors.Is(err, ErrTimedOut) || !errors.Is(err, syscall.ETIMEDOUT) || time.Since(start) != 39*time.Second {
			t.Fatalf("dial with no deadline: %v after %v, want ErrTimedOut after 39s", err, time.Since(start))
		}
	})
}

// A dial to a peer that never answers sends each connection id two SYNs,
// at 0 and 1 s, and starts over with a fresh id every 3 s (libutp never
// re-sends its reply to a repeated SYN), 13 ids in the 39 s budget, none
// repeated. Drawn from only 16 ids, unrepeated draws would be rare.
func TestSimDialSYNSchedule(t *testing.T) {
	for _, ids := range []int{0, 16} {
		t.Run(fmt.Sprintf("ids=%d", ids), func(t *testing.T) { testDialSYNSchedule(t, ids) })
	}
}

func testDialSYNSchedule(t *testing.T, dialIDs int) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		n, a, _ := simNet(t, withDialIDs(dialIDs))
		mute := n.Listen("mute")
		type syn struct {
			at time.Duration
			id uint16
		}
		start := time.Now()
		got := make(chan []syn)
		go func() {
			var syns []syn
			buf := make([]byte, 2048)
			for {
				k, _, err := mute.ReadFrom(buf)
				if err != nil {
					got <- syns
					return
				}
				if h, _, err := wire.Parse(buf[:k]); err == nil && h.Type == wire.Syn {
					syns = append(syns, syn{time.Since(start), h.ConnID})
				}
			}
		}()
		_, err := a.DialUTP(context.Background(), mute.LocalAddr())
		if !errors.Is(err, ErrTimedOut) {
			t.Fatalf("dial to a silent peer: %v, want ErrTimedOut", err)
		}
		mute.Close()
		syns := <-got
		if len(syns) != 26 {
			t.Fatalf("%d SYNs, want 26 (2 for each of 13 ids): %v", len(syns), syns)
		}
		ids := map[uint16]bool{}
		for i, s := range syns {
			attempt := time.Duration(i/2) * 3 * time.Second
			want := attempt + time.Duration(i%2)*time.Second + 10*time.Millisecond // the link's delay
			if s.at != want {
				t.Errorf("SYN %d at %v, want %v", i, s.at, want)
			}
			if i%2 == 1 && s.id != syns[i-1].id {
				t.Errorf("SYN %d has id %d, its attempt's first %d", i, s.id, syns[i-1].id)
			}
			ids[s.id] = true
		}
		if len(ids) != 13 {
			t.Errorf("%d distinct connection ids, want 13", len(ids))
		}
	})
}

// A peer that vanishes mid-transfer is detected within the documented
// bound, as a timeout error on Write and on Read.
func TestSimPeerVanishes(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		n, a, b := simNet(t)
		ca, cb := dialAccept(t, a, b)
		cb.Write([]byte("hello"))
		io.ReadFull(ca, make([]byte, 5))
		n.Partition("a", "b", true)
		start := time.Now()
		var werr error
		for werr == nil {
			_, werr = ca.Write(make([]byte, 64<<10))
		}
		took := time.Since(start)
		if !errors.Is(werr, ErrTimedOut) {
			t.Fatalf("write to a vanished peer: %v", werr)
		}
		// 16 timeouts, the backoff stopping at 4 s: at most 64 s.
		if took > 70*time.Second {
			t.Fatalf("took %v to notice, documented bound about 64 s", took)
		}
		if _, err := ca.Read(make([]byte, 1)); !errors.Is(err, ErrTimedOut) {
			t.Fatalf("read after the timeout: %v", err)
		}
		// The idle side, with nothing to send, notices by the idle timeout.
		_, err := cb.Read(make([]byte, 1))
		var ne net.Error
		if !errors.Is(err, ErrTimedOut) || !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("idle side: %v", err)
		}
		if time.Since(start) > 100*time.Second {
			t.Fatalf("idle side noticed after %v, documented 90 s", time.Since(start))
		}
	})
}

// Socket.Close ends its connections: local calls get net.ErrClosed, the
// peer gets a reset, Accept returns net.ErrClosed.
func TestSimSocketCloseWithLiveConns(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		_, a, b := simNet(t)
		ca, cb := dialAccept(t, a, b)
		localErr, peerErr := make(chan error, 1), make(chan error, 1)
		go func() { _, err := ca.Read(make([]byte, 1)); localErr <- err }()
		go func() { _, err := cb.Read(make([]byte, 1)); peerErr <- err }()
		acceptErr := make(chan error, 1)
		go func() { _, err := a.Accept(); acceptErr <- err }()
		synctest.Wait()
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-localErr; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read on the closed Socket's connection: %v, want net.ErrClosed", err)
		}
		if err := <-peerErr; !errors.Is(err, ErrConnReset) || !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("read on the peer's connection: %v, want ErrConnReset", err)
		}
		if err := <-acceptErr; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("accept after Close: %v", err)
		}
		if _, err := a.DialUTP(context.Background(), b.Addr()); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("dial after Close: %v", err)
		}
	})
}

// Socket.Close gets its reader goroutine back at once even when the
// PacketConn's ReadFrom does not return on Close, as the inet256 daemon
// client's does: the read deadline Close sets is what wakes it.
func TestSimSocketCloseWithStubbornPacketConn(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		n := netsim.NewNetwork(1)
		n.SetDefaultLink(netsim.LinkConfig{})
		s := NewSocket(n.Listen("s", netsim.WithIgnoreCloseOnRead()))
		// The reader must be blocked in ReadFrom before Close: a ReadFrom
		// that starts after Close fails at once and would prove nothing.
		synctest.Wait()
		start := time.Now()
		s.Close()
		took := time.Since(start)
		if !isClosed(s.readerDone) {
			// Release the reader with a late datagram, so that the bubble
			// can end and report this failure rather than a deadlock.
			poke := n.Listen("poke")
			poke.WriteTo([]byte("x"), s.Addr())
			<-s.readerDone
			poke.Close()
			t.Fatalf("Close returned after %v with the reader still blocked in ReadFrom", took)
		}
		// Virtual time: the reader returned without Close's one-second
		// fallback.
		if took != 0 {
			t.Fatalf("Close took %v", took)
		}
	})
}

// Datagrams that are not uTP come out of ReadFrom; uTP keeps working.
func TestSimNonUTPPassthrough(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		n, a, b := simNet(t, WithNonUTPQueue(2))
		raw := n.Listen("raw")
		for _, m := range []string{"d1:q4:pinge", "second", "dropped: queue of 2"} {
			raw.WriteTo([]byte(m), b.Addr())
		}
		ca, cb := dialAccept(t, a, b)
		buf := make([]byte, 100)
		k, from, err := b.ReadFrom(buf)
		if err != nil || string(buf[:k]) != "d1:q4:pinge" || from.String() != "raw" {
			t.Fatalf("ReadFrom: %q from %v, %v", buf[:k], from, err)
		}
		if st := b.Stats(); st.NonUTP != 2 || st.NonUTPDropped != 1 {
			t.Fatalf("stats %+v", st)
		}
		ca.Write([]byte("utp still works"))
		k, _ = cb.Read(buf)
		if string(buf[:k]) != "utp still works" {
			t.Fatalf("read %q", buf[:k])
		}
		raw.Close()
	})
}

// A flood of spoofed SYNs from many addresses, and of packets for unknown
// connections: the Socket's table stays within its bound for unproven
// connections, Accept returns none of them, a legitimate dial during the
// flood is accepted, RESETs stay within the rate limit, no spoofed source
// gets more than 3 times the bytes it sent, and an established
// connection keeps working.
func TestSimSYNFlood(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		const backlog, unproven = 16, 256 // unproven: over two rounds of the flood, which comes in bursts of 100
		n, a, b := simNet(t, WithBacklog(backlog), WithUnprovenLimit(unproven))
		ca, cb := dialAccept(t, a, b)
		accepted := make(chan *Conn, 100)
		go func() {
			for {
				c, err := b.AcceptUTP()
				if err != nil {
					close(accepted)
					return
				}
				accepted <- c
			}
		}()
		var attackers []*netsim.PacketConn
		for i := range 100 {
			attackers = append(attackers, n.Listen(netsim.Addr(fmt.Sprintf("attacker%d", i))))
		}
		maxConns := 0
		flooded := make(chan struct{})
		go func() {
			defer close(flooded)
			for round := range 20 {
				for i, pc := range attackers {
					id := uint16(round*1000 + i)
					syn := wire.Header{Type: wire.Syn, ConnID: id, SeqNr: 1, WndSize: 1 << 20}
					pc.WriteTo(syn.Append(nil), b.Addr())
					junk := wire.Header{Type: wire.State, ConnID: id ^ 0x5555, SeqNr: 9, AckNr: 9}
					pc.WriteTo(junk.Append(nil), b.Addr())
				}
				time.Sleep(100 * time.Millisecond)
				maxConns = max(maxConns, b.Stats().Conns)
			}
		}()

		data := make([]byte, 4<<20)
		for i := range data {
			data[i] = byte(i * 7)
		}
		go func() { ca.Write(data); ca.CloseWrite() }()
		time.Sleep(time.Second) // amid the flood
		legit, err := a.DialUTP(context.Background(), b.Addr())
		if err != nil {
			t.Fatalf("a legitimate dial during the flood: %v", err)
		}
		legit.Write([]byte("hi")) // proves our address
		got, err := io.ReadAll(cb)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("transfer during the flood: %d bytes, %v", len(got), err)
		}
		<-flooded
		select {
		case c := <-accepted:
			if c.RemoteAddr().String() != a.Addr().String() {
				t.Fatalf("Accept returned a connection from %v, a spoofed source", c.RemoteAddr())
			}
			c.Close()
		case <-time.After(time.Second):
			t.Fatal("the legitimate dial was not accepted")
		}
		synctest.Wait()
		if len(accepted) != 0 {
			c := <-accepted
			t.Fatalf("Accept returned a second connection, from %v", c.RemoteAddr())
		}
		st := b.Stats()
		t.Logf("max table %d, stats %+v", maxConns, st)
		// The unproven ones, plus the established connections.
		if maxConns > unproven+2 {
			t.Errorf("table grew to %d connections, the bound is %d", maxConns, unproven)
		}
		if st.SynsEvicted == 0 {
			t.Errorf("no unproven connection was evicted: %+v", st)
		}
		// 2 s of flood at 100 RESETs per second, plus the initial burst.
		if st.ResetsSent > 100*3+100 {
			t.Errorf("%d RESETs sent, over the rate limit", st.ResetsSent)
		}
		for _, pc := range attackers {
			ps := pc.Stats()
			if ps.BytesReceived+ps.Dropped*wire.HeaderSize > 3*ps.SentBytes {
				t.Errorf("%v sent %d bytes and got %d back", pc.LocalAddr(), ps.SentBytes, ps.BytesReceived)
			}
			pc.Close()
		}
		legit.Close()
		ca.Close()
		cb.Close()
	})
}

// Drain returns once the peer has acknowledged everything written and the
// FIN, and ends with the context when the peer is gone.
func TestSimDrain(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		n, a, b := simNet(t)
		ca, cb := dialAccept(t, a, b)
		go io.Copy(io.Discard, cb)
		ca.Write(make([]byte, 1<<20))
		ca.CloseWrite()
		if err := ca.Drain(context.Background()); err != nil {
			t.Fatalf("drain: %v", err)
		}
		if st := ca.Stats(); st.InFlight != 0 {
			t.Fatalf("drained with %d bytes in flight", st.InFlight)
		}

		cc, _ := dialAccept(t, a, b)
		n.Partition("a", "b", true)
		cc.Write([]byte("lost"))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := cc.Drain(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("drain to a vanished peer: %v", err)
		}
		n.Partition("a", "b", false)
		cb.Close()
		cc.Close()
	})
}
